"""Input discovery and streaming readers.

Every reader yields Arrow tables of at most ``batch_size`` rows in RAW_SCHEMA, one row per input record,
so a worker's memory depends on the batch size and the per-record cap, never on the file size. Records
that are not documents (WARC requests, metadata, revisits, images, …) are still rows, marked with a
``read.*`` reason: the read stage's ``docs_in`` is the number of input records, and nothing disappears.

Inputs are local paths or object-store URLs (``s3://``, ``gs://``, ``hf://``, ``https://``), with globs on each,
and Common Crawl path listings (``listing``); ``corpus.storage`` opens them all, so a reader never knows which.
"""

from __future__ import annotations

import errno
import glob
import gzip
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pyarrow as pa

from corpus import storage
from corpus.recipe import ReadParams
from corpus.readers.rows import Damage, InputError, RowBuffer


FORMATS: dict[str, tuple[str, ...]] = {
    "warc": (".warc", ".warc.gz", ".arc", ".arc.gz", ".wet", ".wet.gz"),
    "jsonl": (".jsonl", ".jsonl.gz", ".jsonl.zst", ".json.gz", ".ndjson"),
    "parquet": (".parquet",),
}


# Common Crawl's path listings (warc.paths.gz, wet.paths.gz) name keys relative to the root of its bucket
CC_PREFIX = "s3://commoncrawl/"


@dataclass(frozen=True)
class InputFile:
    path: str  # as given (after glob expansion); recorded in `source`
    format: str  # warc | jsonl | parquet | html_dir
    shard: str  # stable output name for this input
    problem: str = ""  # why it cannot be read (kept only with --skip-unreadable: quarantined as one record)
    nbytes: int = -1  # remote inputs: the size discovery saw (local files are asked each time)
    version: str = ""  # remote inputs: the store's ETag / checksum / mtime (the resume key's input identity)

    def size(self) -> int:
        if self.problem:
            return 0
        if self.nbytes >= 0:
            return self.nbytes
        p = Path(self.path)
        if p.is_dir():
            return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
        return p.stat().st_size


def detect_format(path: str, is_dir: bool | None = None) -> str:
    if is_dir if is_dir is not None else os.path.isdir(path):
        return "html_dir"
    name = path.lower()
    for fmt, suffixes in FORMATS.items():
        if name.endswith(suffixes):
            return fmt
    valid = ", ".join(s for sfx in FORMATS.values() for s in sfx)
    raise InputError(f"{path}: unknown input format; supported suffixes: {valid}, or a folder of .html files")


def unreadable(path: str) -> str:
    """Why ``path`` cannot be read as an input, or "" if it can: checked for every input before Ray starts, so a
    dangling or looping symlink, a permission problem or an empty folder is one message, not a crash at the end."""
    try:
        os.stat(path)
    except OSError as exc:
        if os.path.islink(path):
            kind = "a symlink loop" if exc.errno == errno.ELOOP else f"a dangling symlink (to {os.readlink(path)})"
            return kind
        return exc.strerror or str(exc)
    if os.path.isdir(path):
        if not os.access(path, os.R_OK | os.X_OK):
            return "permission denied"
        from corpus.readers.html_dir import SUFFIXES

        if not any(f.suffix.lower() in SUFFIXES and f.is_file() for f in Path(path).rglob("*")):
            return f"a folder with no readable {'/'.join(sorted(SUFFIXES))} file"
        return ""
    if not os.path.isfile(path):
        return "not a regular file"
    try:
        with open(path, "rb") as fh:
            fh.read(1)
    except OSError as exc:
        return exc.strerror or str(exc)
    return ""


def listing(list_path: str, prefix: str | None = None, limit: int | None = None, options: dict | None = None) -> list[str]:
    """The inputs a path listing names, in its order: one key or path per line, gzip or plain (told by its first
    bytes, not its name), local or remote, as Common Crawl publishes them (``warc.paths.gz``, ``wet.paths.gz``).

    A line that is already a URL or an absolute path is used as it is, but only from a listing on this machine: a
    listing fetched from elsewhere is untrusted, so there every line must be a relative key (no ``..``), or it
    could point the run at local files or at other buckets read with the user's credentials. A relative key is
    joined to ``prefix``
    (default ``s3://commoncrawl/``, the root its keys are relative to; ``https://data.commoncrawl.org/`` reads the
    same files over HTTPS without AWS credentials). ``limit`` keeps the first N lines, so one segment of a dump can
    be tried without reading the rest of the listing's keys."""
    base = CC_PREFIX if prefix is None else prefix
    if base and not base.endswith("/"):
        base += "/"
    try:
        with storage.open_binary(list_path, options) as fh:
            head = fh.read(2)
            fh.seek(0)
            stream = gzip.GzipFile(fileobj=fh) if head == b"\x1f\x8b" else fh
            out: list[str] = []
            for raw in stream:
                line = raw.decode("utf-8", "replace").strip()
                if not line or line.startswith("#"):
                    continue
                absolute = storage.is_url(line) or line.startswith("/")
                if storage.is_url(list_path) and (absolute or ".." in line.split("/")):
                    raise InputError(f"--input-list {list_path}: line {line!r} is not a relative key; a remote listing may "
                                     f"only name keys under --input-prefix")
                out.append(line if absolute else base + line)
                if limit is not None and len(out) >= limit:
                    break
    except storage.StorageError:
        raise
    except FileNotFoundError:
        raise InputError(f"--input-list {list_path}: no such file") from None
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InputError(f"--input-list {list_path}: cannot be read ({exc}); give a path listing, one key per line, "
                         f"plain or gzip") from None
    if not out:
        raise InputError(f"--input-list {list_path}: names no input (an empty listing)")
    return out


def _expand_local(pattern: str) -> list[str]:
    matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
    matches = [m for m in matches if os.path.lexists(m)]
    if not matches:
        raise InputError(f"{pattern}: no such file or folder (check the path, or quote a glob so the shell leaves it to us)")
    return [os.path.normpath(m) for m in matches]


def _expand_remote(patterns: list[str], options: dict | None) -> dict[str, list[storage.Entry]]:
    """Pattern -> the objects it names (a glob's matches, sorted; a literal's own entry), asking the store; a glob
    that matches nothing or a literal that does not exist is an InputError."""
    found: dict[str, list[storage.Entry]] = {}
    for pattern in (p for p in patterns if glob.has_magic(p)):
        entries = storage.glob(pattern, options)
        if not entries:
            raise InputError(f"{pattern}: matches no object (check the prefix and the pattern)")
        found[pattern] = entries
    literal = [p for p in patterns if not glob.has_magic(p)]
    missing = []
    for url, entry in zip(literal, storage.stat_many(literal, options)):
        if entry is None:
            missing.append(url)
        else:
            found[url] = [entry if not entry.is_dir else storage.Entry(url.rstrip("/"), True, 0, "")]
    if missing:
        raise InputError(f"{len(missing)} input(s) do not exist: {'; '.join(missing[:5])}{' …' if len(missing) > 5 else ''} "
                         f"(check the URL; for a listing, --input-prefix)")
    return found


def _remote_dir(url: str, options: dict | None) -> tuple[str, int, str]:
    """(problem, bytes, version) of a remote prefix read as a folder of HTML pages."""
    from corpus.readers.html_dir import SUFFIXES

    files = storage.files_under(url, options)
    if not any(Path(e.url).suffix.lower() in SUFFIXES for e in files):
        return f"a folder with no {'/'.join(sorted(SUFFIXES))} file", 0, ""
    version = hashlib.sha256("\0".join(f"{e.url}\0{e.size}\0{e.version}" for e in files).encode()).hexdigest()[:16]
    return "", sum(e.size for e in files), version


def discover(patterns: list[str], skip_unreadable: bool = False, options: dict | None = None,
             listed: list[str] | tuple[str, ...] = (), limit: int | None = None) -> list[InputFile]:
    """Expand paths and globs into a sorted, de-duplicated list with stable shard names, every one checked.

    ``listed`` are inputs named by a path listing (taken as they are, never as globs), placed before ``patterns``;
    ``limit`` keeps the first N of listed-then-expanded inputs. Remote URLs are checked with the store (every object
    exists, its bucket exists, the credentials may read it) in parallel. Nothing matched, an unknown format, or an
    unreadable entry is an InputError listing all of them; a store that cannot be used at all is a StorageError;
    with ``skip_unreadable`` unreadable entries are kept as inputs whose one record is quarantined with the reason."""
    named = list(dict.fromkeys(p for p in list(listed) + list(patterns) if storage.is_url(p)))
    expanded = _expand_remote(named, options) if named else {}
    remote = {e.url: e for entries in expanded.values() for e in entries}
    ordered: list[str] = []
    for pattern in list(listed) + list(patterns):
        if storage.is_url(pattern):
            ordered.extend(e.url for e in expanded[pattern])
        else:
            ordered.extend(_expand_local(storage.local_path(pattern)))
    ordered = list(dict.fromkeys(ordered))
    if limit is not None:
        ordered = ordered[:limit]
    paths = sorted(ordered)
    out, bad = [], []
    for p in paths:
        stem = Path(p).name.split(".")[0] or "input"
        digest = hashlib.sha1(p.encode()).hexdigest()[:8]
        if p in remote:
            entry = remote[p]
            problem, nbytes, version = _remote_dir(p, options) if entry.is_dir else ("", entry.size, entry.version)
            fmt = detect_format(p, entry.is_dir)
        else:
            problem, nbytes, version = unreadable(p), -1, ""
            fmt = detect_format(p)
        if problem:
            bad.append(f"{p} ({problem})")
        out.append(InputFile(p, fmt, f"{stem}-{digest}", problem, nbytes, version))
    if bad and not skip_unreadable:
        raise InputError(f"{len(bad)} input(s) cannot be read: {'; '.join(bad[:10])}{' …' if len(bad) > 10 else ''}. "
                         f"Fix them, or pass --skip-unreadable to quarantine them and go on")
    return out


def check(inp: InputFile, params: ReadParams) -> None:
    """Raise InputError (one line naming the column, its type and the recipe key) for a text dump whose schema
    cannot work, before Ray starts; a bad value in one row is the row's problem, not the file's."""
    from corpus.readers import text

    text.check(inp.path, params)


def read(inp: InputFile, params: ReadParams) -> Iterator[pa.Table | Damage]:
    """Yield raw batches, and a ``Damage`` for every unreadable byte range (quarantined, reading goes on)."""
    from corpus.readers import html_dir, text, warc

    impl: dict[str, Callable] = {
        "warc": warc.read,
        "jsonl": text.read_jsonl,
        "parquet": text.read_parquet,
        "html_dir": html_dir.read,
    }
    if inp.problem:
        yield Damage(f"read: {inp.path}: cannot be read: {inp.problem}; fix it and re-run the same command")
        return
    buf = RowBuffer(inp.path, inp.shard, params.batch_size)
    yield from impl[inp.format](inp.path, params, buf)
    last = buf.flush()
    if last is not None:
        yield last
