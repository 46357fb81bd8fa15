"""Input discovery and streaming readers.

Every reader yields Arrow tables of at most ``batch_size`` rows in RAW_SCHEMA, one row per input record,
so a worker's memory depends on the batch size and the per-record cap, never on the file size. Records
that are not documents (WARC requests, metadata, revisits, images, …) are still rows, marked with a
``read.*`` reason: the read stage's ``docs_in`` is the number of input records, and nothing disappears.
"""

from __future__ import annotations

import errno
import glob
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pyarrow as pa

from corpus.recipe import ReadParams
from corpus.readers.rows import Damage, InputError, RowBuffer


FORMATS: dict[str, tuple[str, ...]] = {
    "warc": (".warc", ".warc.gz", ".arc", ".arc.gz", ".wet", ".wet.gz"),
    "jsonl": (".jsonl", ".jsonl.gz", ".jsonl.zst", ".json.gz", ".ndjson"),
    "parquet": (".parquet",),
}


@dataclass(frozen=True)
class InputFile:
    path: str  # as given (after glob expansion); recorded in `source`
    format: str  # warc | jsonl | parquet | html_dir
    shard: str  # stable output name for this input
    problem: str = ""  # why it cannot be read (kept only with --skip-unreadable: quarantined as one record)

    def size(self) -> int:
        if self.problem:
            return 0
        p = Path(self.path)
        if p.is_dir():
            return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
        return p.stat().st_size


def detect_format(path: str) -> str:
    if os.path.isdir(path):
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


def discover(patterns: list[str], skip_unreadable: bool = False) -> list[InputFile]:
    """Expand paths and globs into a sorted, de-duplicated list with stable shard names, every one checked.

    Nothing matched, an unknown format, or an unreadable entry is an InputError listing all of them; with
    ``skip_unreadable`` unreadable entries are kept as inputs whose one record is quarantined with the reason."""
    paths: list[str] = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        matches = [m for m in matches if os.path.lexists(m)]
        if not matches:
            raise InputError(f"{pattern}: no such file or folder (check the path, or quote a glob so the shell leaves it to us)")
        paths.extend(os.path.normpath(m) for m in matches)
    paths = sorted(dict.fromkeys(paths))
    out, bad = [], []
    for p in paths:
        stem = Path(p).name.split(".")[0] or "input"
        digest = hashlib.sha1(p.encode()).hexdigest()[:8]
        problem = unreadable(p)
        if problem:
            bad.append(f"{p} ({problem})")
        out.append(InputFile(p, detect_format(p), f"{stem}-{digest}", problem))
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
