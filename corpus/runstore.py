"""Where a run's files live: a local folder, or a prefix on object storage (``s3://bucket/run``) that every node
works through a local cache of its own.

Object stores have no rename, no ``flock`` and no view shared between machines, and a real Ray cluster rarely has
a shared disk. Rather than teach every writer and reader of the engine a second filesystem, a remote run keeps the
engine's local-file code and adds two verbs where files cross machines:

- ``publish``: a file complete in the local cache is uploaded to its key (one PUT: a reader sees the old object or
  the new one, never half, which is what the local rename gave). A shard's files are published by the worker that
  wrote them before the driver writes the shard's commit record, so a record never names a missing object.
- ``fetch``: a file (or folder) another node wrote is downloaded into this node's cache before it is read.

A URL maps to a cache path by a pure function (``CORPUS_CACHE_DIR``, default ``$TMPDIR/corpus-cache``, then
protocol, bucket and key), so anything that crosses nodes (a shard's intermediate, the dedup decisions) is named by
its URL, and each node finds its own copy. For a local run every verb is a no-op and paths stay as they were.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import shutil
import stat
import tempfile
from pathlib import Path

from corpus import storage
from corpus.storage import RETRY, StorageError

CACHE_ENV = "CORPUS_CACHE_DIR"


def cache_base() -> Path:
    """``$CORPUS_CACHE_DIR``, else ``$TMPDIR/corpus-cache-<uid>``, mode 0700 and ours: a cache folder another local
    user could create first would decide where this user's runs write and delete."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser().resolve()
    path = Path(tempfile.gettempdir()) / f"corpus-cache-{os.getuid()}"
    try:
        path.mkdir(mode=0o700, exist_ok=True)
        st = path.lstat()
    except OSError as exc:
        raise StorageError(f"cannot create the cache folder {path} ({exc.strerror}); set {CACHE_ENV} to a folder you own") from None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise StorageError(f"{path} is not a private folder of yours (a symlink, another user's, or open to others); "
                           f"remove it, or set {CACHE_ENV} to a folder you own")
    return path


def _key_parts(url: str) -> list[str]:
    """Protocol, bucket and key parts of ``url``; a part that could climb out of the cache is refused."""
    proto = storage.protocol(url)
    rest = url.split("://", 1)[1]
    parts = [p for p in rest.split("/") if p]
    if not parts or any(p in (".", "..") for p in parts):
        raise StorageError(f"{url}: a run URL needs a bucket and a key without '.' or '..' parts")
    return [proto, *parts]


def local_of(loc: str) -> Path:
    """This node's path for ``loc``: the path itself when local, the cache path of a URL otherwise."""
    return cache_base().joinpath(*_key_parts(loc)) if storage.is_url(loc) else Path(storage.local_path(loc))


def _fs(url: str, options: dict | None):
    return storage.filesystem(url, options)


def fetch(loc: str, options: dict | None = None) -> Path:
    """Download ``loc`` into this node's cache (always: another node may have rewritten it) and return the local
    path; a local ``loc`` is returned as it is."""
    path = local_of(loc)
    if not storage.is_url(loc):
        return path
    fs, key = _fs(loc, options)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        RETRY.call(loc, lambda: fs.get_file(key, str(tmp)))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def listing(loc: str, options: dict | None = None) -> dict[str, int]:
    """Relative key -> size of every object below the prefix ``loc`` (empty when there is none)."""
    if not storage.is_url(loc):
        root = Path(loc)
        return {p.relative_to(root).as_posix(): p.stat().st_size for p in root.rglob("*") if p.is_file()} if root.is_dir() else {}
    fs, key = _fs(loc, options)
    try:
        found = RETRY.call(loc, lambda: fs.find(key, detail=True))
    except FileNotFoundError:
        return {}
    base = key.rstrip("/") + "/"
    return {name[len(base):]: int(info.get("size") or 0) for name, info in found.items()
            if name.startswith(base) and info.get("type") != "directory"}


def fetch_dir(loc: str, options: dict | None = None) -> Path:
    """Mirror the prefix ``loc`` into this node's cache exactly (files no longer in the store are removed there)."""
    path = local_of(loc)
    if not storage.is_url(loc):
        return path
    keys = listing(loc, options)
    if path.is_dir():
        for old in [p for p in path.rglob("*") if p.is_file() and p.relative_to(path).as_posix() not in keys]:
            if not old.name.endswith(".tmp"):  # another process's download in flight is not stale
                old.unlink(missing_ok=True)
    for rel in sorted(keys):
        fetch(f"{loc}/{rel}", options)
    path.mkdir(parents=True, exist_ok=True)
    return path


def publish(path: Path, loc: str, options: dict | None = None) -> None:
    """Upload the complete local file ``path`` to ``loc`` (a no-op when ``loc`` is local)."""
    if storage.is_url(loc):
        fs, key = _fs(loc, options)
        RETRY.call(loc, lambda: fs.put_file(str(path), key))


def remove(loc: str, options: dict | None = None) -> None:
    """Delete the object (or every object below the prefix) ``loc`` from the store; a missing one is fine."""
    if storage.is_url(loc):
        fs, key = _fs(loc, options)
        try:
            RETRY.call(loc, lambda: fs.rm(key, recursive=True))
        except FileNotFoundError:
            pass


def create(loc: str, data: bytes, options: dict | None = None) -> bool:
    """Write ``data`` to ``loc`` only if no object is there (S3's conditional PUT); False when one already is."""
    fs, key = _fs(loc, options)
    try:
        RETRY.call(loc, lambda: fs.pipe_file(key, data, mode="create"))
    except FileExistsError:
        return False
    return True


def parquet_metadata(loc: str, options: dict | None = None):
    """A Parquet file's footer (row counts, sizes), read in place: ranged reads of a remote file, not a download."""
    import pyarrow.parquet as pq

    if not storage.is_url(loc):
        return pq.read_metadata(loc)
    fs, key = _fs(loc, options)

    def footer():
        with fs.open(key, "rb") as fh:
            return pq.read_metadata(fh)

    return RETRY.call(loc, footer)


def read_bytes(loc: str, options: dict | None = None) -> bytes | None:
    """The object's bytes, None when there is none."""
    if not storage.is_url(loc):
        p = Path(loc)
        return p.read_bytes() if p.is_file() else None
    fs, key = _fs(loc, options)
    try:
        return RETRY.call(loc, lambda: fs.cat_file(key))
    except FileNotFoundError:
        return None


def mirror(url: str, options: dict | None = None, documents: bool = True) -> Path:
    """This machine's copy of the run folder at ``url``, for the commands that read a finished run (stats,
    inspect, report, export, pack, review): its records, and with ``documents`` the files its commit records name
    and its plans. An object no commit record names (a shard that failed while uploading) is left in the store, a
    file the store no longer holds is removed here, and working files (``_work/``, fingerprints) stay in the store."""
    keys = listing(url, options)
    if "stats.json" not in keys:
        raise StorageError(f"{url}: no finished run there (no stats.json); give the --output of a `corpus run`")
    records = {k for k in keys if k.startswith("_shards/") or "/" not in k}
    for rel in sorted(records):
        fetch(f"{url}/{rel}", options)
    root = local_of(url)
    named = {f for rel in records if rel.startswith("_shards/") for f in _named(root / rel)}

    def wanted(rel: str) -> bool:
        top = rel.split("/", 1)[0]
        if rel in records:
            return True
        if not documents or top == "_work" or "/fingerprints/" in rel:
            return False
        return rel in named if top in SINK_DIRS else True

    for rel in sorted(k for k in keys if wanted(k) and k not in records):
        fetch(f"{url}/{rel}", options)
    for old in [p for p in root.rglob("*") if p.is_file() and not p.name.endswith(".tmp") and p.name != ".lock"]:
        if not (old.relative_to(root).as_posix() in keys and wanted(old.relative_to(root).as_posix())):
            old.unlink()
    return root


SINK_DIRS = ("data", "rejected", "quarantine")


def _named(marker: Path) -> list[str]:
    try:
        return [str(f) for f in json.loads(marker.read_text()).get("files", {}).values()]
    except (OSError, ValueError, AttributeError):
        return []


@dataclasses.dataclass(frozen=True)
class RunStore:
    """A run folder: ``url`` is an absolute local path or an object-store URL without a trailing slash, and
    ``options`` the storage options of its filesystem. Workers get this object, not a path: each maps it to its own
    ``root``."""
    url: str
    options: dict = dataclasses.field(default_factory=dict, hash=False, compare=False)

    @staticmethod
    def of(output: str, options: dict | None = None) -> "RunStore":
        if storage.is_url(output):
            _key_parts(output)
            return RunStore(output.rstrip("/"), dict(options or {}))
        return RunStore(str(Path(storage.local_path(output)).resolve()), dict(options or {}))

    @property
    def remote(self) -> bool:
        return storage.is_url(self.url)

    @property
    def root(self) -> Path:
        return local_of(self.url)

    def rel(self, path: Path | str) -> str:
        """``path`` (under this node's root) relative to the run folder."""
        return Path(path).relative_to(self.root).as_posix()

    def loc(self, path: Path | str) -> str:
        """The location that names ``path`` on every node: its URL for a remote run, the path itself otherwise."""
        p = self.root / path  # a relative path is under the root; an absolute one stays as it is
        return f"{self.url}/{self.rel(p)}" if self.remote else str(p)

    def publish(self, path: Path | str) -> None:
        publish(self.root / path, self.loc(path), self.options)

    def publish_tree(self, path: Path | str) -> None:
        """Every file below ``path`` (a folder under the root), in sorted order."""
        base = self.root / path
        if self.remote and base.is_dir():
            for f in sorted(p for p in base.rglob("*") if p.is_file() and not p.name.endswith(".tmp")):
                self.publish(f)

    def fetch(self, path: Path | str) -> Path:
        return fetch(self.loc(path), self.options)

    def fetch_dir(self, path: Path | str) -> Path:
        return fetch_dir(self.loc(path), self.options)

    def remove(self, path: Path | str) -> None:
        """Delete ``path`` here and in the store."""
        p = self.root / path
        if p.is_dir():
            shutil.rmtree(p)
        else:
            p.unlink(missing_ok=True)
        remove(self.loc(path), self.options)

    def keys(self) -> dict[str, int]:
        """Relative key -> size of every file of the run, in the store (a remote run) or on disk."""
        return listing(self.url, self.options)

