"""Where inputs live: local paths and object-store URLs (``s3://``, ``gs://``, ``hf://``, ``http(s)://``) behind one
small layer over fsspec, so the readers never care which.

Why a layer of our own and not fsspec's file objects as they are:

- **Bounded memory, streaming.** A remote file is read as ranged GETs of ``BLOCK`` bytes, holding at most the
  block being read, the one before it and one fetched ahead in a background thread (``3 * BLOCK`` per open file),
  so a 1 GB Common Crawl WARC costs 24 MiB however it is read, and the next block's round trip overlaps the
  parsing of this one.
- **Retries that say what happened.** Every data read is retried with exponential backoff and jitter on transient
  errors (timeouts, dropped connections, 5xx, throttling), on top of the client's own retries (botocore's for S3),
  which the other protocols lack. A shard either commits or is redone, so no record-level resume is needed: a read
  that still fails after ``Retry.attempts`` is an ``OSError`` naming the URL and the attempts, and the shard fails
  and is retried by the next run.
- **Mistakes before any work starts.** A missing bucket, credentials the store refuses, an endpoint that cannot be
  reached or a protocol whose package is missing is a ``StorageError``: one line naming the URL and what to do,
  raised on the driver by discovery (exit 2), never twenty seconds into a Ray job.

Credentials and settings come from the standard places of each client: for S3 the environment
(``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``, ``AWS_PROFILE``), ``~/.aws``, an instance or
pod role, and ``AWS_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL_S3``) for an S3-compatible store such as MinIO or Ceph;
``HF_TOKEN`` for the Hugging Face Hub; ``GOOGLE_APPLICATION_CREDENTIALS`` or gcloud's login for GCS. ``options``
(the recipe's ``read.storage_options`` and ``--storage-option KEY=VALUE``) are passed to the filesystem of every
remote input as keyword arguments (``anon``, ``requester_pays``, ``endpoint_url``, ``client_kwargs``, …).

Local paths keep their exact behaviour (``os.pread`` on a descriptor, Python's ``open``): nothing here changes a
local run.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import io
import os
import random
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable, Iterable, TypeVar

from corpus.errors import UserError

BLOCK = 8 << 20  # bytes per ranged GET: a round trip per 8 MiB keeps a single stream near the link's speed
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
# packages fsspec needs for a protocol, named in the one line a user gets when it is missing
PACKAGES = {"s3": "s3fs", "s3a": "s3fs", "gs": "gcsfs", "gcs": "gcsfs", "hf": "huggingface_hub", "http": "aiohttp",
            "https": "aiohttp"}
# errors no retry can fix: the object is not there, the credentials cannot read it, or the call is wrong
PERMANENT: tuple[type[BaseException], ...] = (FileNotFoundError, FileExistsError, PermissionError, IsADirectoryError, NotADirectoryError,
                                              ValueError, TypeError, NotImplementedError, ImportError, KeyError)
T = TypeVar("T")


class StorageError(UserError):
    """A store the run cannot use at all (missing bucket, refused credentials, unreachable endpoint, missing
    package): one line naming the URL, exit 2, before Ray starts."""


def is_url(path: str) -> bool:
    """Whether ``path`` names a remote object (``file://`` is a local path)."""
    m = _URL.match(path)
    return m is not None and m.group(1).lower() not in ("file", "local")


def local_path(path: str) -> str:
    """A local path with a ``file://`` prefix taken off (other paths as given)."""
    m = _URL.match(path)
    return path[m.end():] if m is not None and m.group(1).lower() in ("file", "local") else path


def protocol(url: str) -> str:
    m = _URL.match(url)
    return m.group(1).lower() if m else "file"


def parse_option(text: str) -> tuple[list[str], Any]:
    """``KEY=VALUE`` from the command line: the key may be dotted (``client_kwargs.region_name=us-east-1``) and the
    value is read as YAML (``anon=true`` is a bool, ``max_concurrency=4`` an int), so the CLI says what a recipe can."""
    import yaml

    key, sep, value = text.partition("=")
    if not sep or not key.strip() or any(not k for k in key.strip().split(".")):
        raise UserError(f"--storage-option {text!r}: write KEY=VALUE, e.g. anon=true or client_kwargs.region_name=us-east-1")
    try:
        parsed = yaml.safe_load(value) if value.strip() else ""
    except yaml.YAMLError:
        parsed = value
    return key.strip().split("."), parsed


def merge_options(base: dict | None, pairs: Iterable[str]) -> dict:
    """``base`` (the recipe's ``read.storage_options``) with the CLI's ``KEY=VALUE`` pairs on top."""
    out: dict = _copy(base or {})
    for text in pairs:
        keys, value = parse_option(text)
        node = out
        for k in keys[:-1]:
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                raise UserError(f"--storage-option {text!r}: {k} is already set to a value, not a mapping")
        node[keys[-1]] = value
    return out


def _copy(d: dict) -> dict:
    return {k: _copy(v) if isinstance(v, dict) else v for k, v in d.items()}


def options_of(params: Any) -> dict:
    """The storage options a reader was given with its ``ReadParams`` (``{}`` when none)."""
    return getattr(params, "storage_options", None) or {}


# ---- filesystems and errors ----------------------------------------------------------------------------------

def filesystem(url: str, options: dict | None = None):
    """``(fs, path inside fs)`` for a remote URL; a protocol fsspec does not know, or whose package is missing, is a
    StorageError saying what to install."""
    import fsspec

    proto = protocol(url)
    kwargs = dict(options or {})
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if proto in ("s3", "s3a") and endpoint and "endpoint_url" not in kwargs and "endpoint_url" not in kwargs.get(
            "client_kwargs", {}):
        # botocore reads the variable too; naming it here also keys fsspec's cache of clients by the endpoint
        kwargs["endpoint_url"] = endpoint
    try:
        return fsspec.core.url_to_fs(url, **kwargs)
    except ImportError:
        pkg = PACKAGES.get(proto, f"the fsspec implementation for {proto}://")
        raise StorageError(f"{url}: reading {proto}:// needs {pkg}; install it (.venv/bin/pip install {pkg})") from None
    except ValueError as exc:
        if "Protocol not known" in str(exc):
            raise StorageError(f"{url}: unknown storage protocol {proto}://; use a local path, s3://, gs://, hf:// or "
                               f"https://") from None
        raise StorageError(f"{url}: {exc}") from None
    except TypeError as exc:  # an option the filesystem does not take
        raise StorageError(f"{url}: storage options {sorted(options or {})} do not suit {proto}:// ({exc}); fix "
                           f"read.storage_options in the recipe or --storage-option") from None


def store_of(url: str) -> str:
    """The bucket (or host, repository) part of a URL, for messages: ``s3://bucket``."""
    m = _URL.match(url)
    if m is None:
        return url
    rest = url[m.end():]
    return url[: m.end()] + rest.split("/", 1)[0]


def _is_connection(exc: BaseException) -> bool:
    names = {c.__name__ for c in type(exc).__mro__}
    return bool(names & {"EndpointConnectionError", "ConnectTimeoutError", "ConnectionError", "ClientConnectorError",
                         "ConnectionRefusedError", "ProxyConnectionError", "ServerDisconnectedError"})


def describe(url: str, exc: BaseException) -> str:
    """One line for a failed storage call: what it means and what to do."""
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    proto = protocol(url)
    if isinstance(exc, PermissionError):
        fix = {"s3": "check the credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ~/.aws/credentials "
                     "or the instance role) and that they may read this bucket",
               "hf": "set HF_TOKEN to a token that may read this repository",
               "gs": "check GOOGLE_APPLICATION_CREDENTIALS or `gcloud auth application-default login`"}
        return f"{url}: access denied ({detail}); {fix.get(proto, 'check the credentials for this store')}"
    if type(exc).__name__ == "NoCredentialsError":
        return (f"{url}: no AWS credentials found; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE, use an "
                f"instance role, or --storage-option anon=true for a public bucket (Common Crawl without an AWS account: "
                f"--input-prefix https://data.commoncrawl.org/)")
    if _is_connection(exc):
        where = " (AWS_ENDPOINT_URL=" + os.environ["AWS_ENDPOINT_URL"] + ")" if proto == "s3" and os.environ.get(
            "AWS_ENDPOINT_URL") else ""
        return f"{url}: cannot reach the storage endpoint{where}: {detail}; check the endpoint URL and the network"
    return f"{url}: {type(exc).__name__}: {detail}"


class Unavailable(OSError):
    """A remote read that still failed after every retry: the store is having trouble, the data is not damaged.
    Readers let it through (never quarantine it as damage), so the shard fails and the next run redoes it."""


@dataclass(frozen=True)
class Retry:
    """How data reads are retried: ``attempts`` tries in all, waiting ``base_s * 2**k`` (at most ``cap_s``, times a
    random factor in [0.5, 1] so that many workers throttled together do not come back together)."""
    attempts: int = 6
    base_s: float = 0.5
    cap_s: float = 20.0

    def call(self, what: str, fn: Callable[[], T]) -> T:
        for k in range(self.attempts):
            try:
                return fn()
            except PERMANENT:
                raise
            except Exception as exc:  # noqa: BLE001 - timeouts, resets, 5xx, throttling: each client names them its way
                if k + 1 >= self.attempts:
                    raise Unavailable(f"{what} failed after {self.attempts} attempts: {describe(what, exc)}") from exc
                time.sleep(min(self.cap_s, self.base_s * 2**k) * random.uniform(0.5, 1.0))
        raise AssertionError("unreachable")


RETRY = Retry()


# ---- metadata: discovery on the driver ------------------------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    """One remote object found by discovery: its URL, whether it is a prefix (a "folder"), its size and version."""
    url: str
    is_dir: bool
    size: int
    version: str  # ETag / md5 / generation / blob id / mtime: what changes when the object is replaced


def version_of(info: dict) -> str:
    """What identifies an object's content without reading it: the store's ETag or checksum, else its mtime."""
    for key in ("ETag", "etag", "md5Hash", "md5", "crc32c", "generation", "blob_id", "sha256", "lfs", "last_commit",
                "LastModified", "Last-Modified", "mtime", "updated", "last_modified"):
        value = info.get(key)
        if value:
            return f"{key}={value}"
    return ""


def _entry(fs, name: str, info: dict) -> Entry:
    return Entry(fs.unstrip_protocol(name), info.get("type") == "directory", int(info.get("size") or 0), version_of(info))


def _unknown_store(fs, url: str) -> str | None:
    """Why nothing matched ``url``: its bucket does not exist (or cannot be seen), or None when it does."""
    store = store_of(url)
    root = fs._strip_protocol(store)
    try:
        if fs.exists(root):
            return None
    except Exception:  # noqa: BLE001 - exists() is only asked to tell "no bucket" from "no match"
        return None
    return f"{store}: no such bucket (or these credentials cannot see it); check the URL, AWS_ENDPOINT_URL and the credentials"


def glob(pattern: str, options: dict | None = None) -> list[Entry]:
    """The objects a remote glob matches, sorted; an empty list when none does in a bucket that exists."""
    fs, path = filesystem(pattern, options)
    try:
        found = fs.glob(path, detail=True)
    except FileNotFoundError:
        found = {}
    except Exception as exc:  # noqa: BLE001 - refused credentials, unreachable endpoint: one line, before any work
        raise StorageError(describe(pattern, exc)) from None
    if not found:
        why = _unknown_store(fs, pattern)
        if why:
            raise StorageError(why)
    return sorted((_entry(fs, name, info) for name, info in found.items()), key=lambda e: e.url)


def stat(url: str, options: dict | None = None) -> Entry | None:
    """The object (or prefix) at ``url``, None when there is none in a bucket that exists; a missing bucket, refused
    credentials or an unreachable endpoint is a StorageError."""
    fs, path = filesystem(url, options)
    try:
        info = fs.info(path)
    except FileNotFoundError:
        why = _unknown_store(fs, url)
        if why:
            raise StorageError(why) from None
        return None
    except Exception as exc:  # noqa: BLE001
        raise StorageError(describe(url, exc)) from None
    return Entry(url, info.get("type") == "directory", int(info.get("size") or 0), version_of(info))


def stat_many(urls: list[str], options: dict | None = None, threads: int = 16) -> list[Entry | None]:
    """``stat`` of many URLs at once (a Common Crawl listing names thousands): a round trip each, in parallel."""
    if len(urls) <= 1:
        return [stat(u, options) for u in urls]
    with concurrent.futures.ThreadPoolExecutor(min(threads, len(urls))) as pool:
        return list(pool.map(lambda u: stat(u, options), urls))


def files_under(url: str, options: dict | None = None) -> list[Entry]:
    """Every object below a remote prefix (a "folder" of HTML pages), sorted."""
    fs, path = filesystem(url, options)
    try:
        found = fs.find(path, detail=True)
    except Exception as exc:  # noqa: BLE001
        raise StorageError(describe(url, exc)) from None
    return sorted((_entry(fs, name, info) for name, info in found.items() if info.get("type") != "directory"),
                  key=lambda e: e.url)


# ---- data: the readers on the workers --------------------------------------------------------------------------

class LocalReader:
    """A local file read by offset (``os.pread``): what the WARC framer has always done."""

    def __init__(self, path: str) -> None:
        self.url = path
        self.fd = os.open(path, os.O_RDONLY)
        self.size = os.fstat(self.fd).st_size

    def pread(self, off: int, n: int) -> bytes:
        return os.pread(self.fd, n, off)

    def close(self) -> None:
        os.close(self.fd)


class RemoteReader:
    """A remote object read by offset through ranged GETs of ``block`` bytes, with retries, one block fetched ahead
    when the reads move forward, and at most three blocks held (see the module's docstring)."""

    def __init__(self, url: str, options: dict | None = None, block: int = BLOCK, retry: Retry = RETRY,
                 size: int | None = None) -> None:
        self.url, self.block, self.retry = url, block, retry
        self.fs, self.path = filesystem(url, options)
        if size is None:
            info = retry.call(url, lambda: self.fs.info(self.path))
            size = int(info.get("size") or 0)
        self.size = size
        self._blocks: OrderedDict[int, bytes] = OrderedDict()
        self._ahead: tuple[int, concurrent.futures.Future] | None = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self.fetches = 0  # ranged GETs that succeeded (for tests and benchmarks)

    def _fetch(self, b: int) -> bytes:
        start = b * self.block
        end = min(self.size, start + self.block)

        def get() -> bytes:
            data = self.fs.cat_file(self.path, start=start, end=end)
            if len(data) > end - start and len(data) == self.size:  # no retry helps: every block would be the file
                raise ValueError(f"{self.url}: the server ignores range requests, so this {self.size:,}-byte file cannot "
                                 f"be streamed; copy it to local disk or to an object store first")
            if len(data) != end - start:  # a short body (a dropped connection the client did not notice)
                raise OSError(f"got {len(data)} of {end - start} bytes at {start}")
            return data

        data = self.retry.call(f"{self.url} (bytes {start}-{end})", get)
        with self._lock:
            self.fetches += 1
        return data

    def _get(self, b: int) -> bytes:
        data = self._blocks.get(b)
        if data is None:
            if self._ahead is not None and self._ahead[0] == b:
                data = self._ahead[1].result()
                self._ahead = None
            else:
                data = self._fetch(b)
            self._blocks[b] = data
            while len(self._blocks) > 2:
                self._blocks.popitem(last=False)
        else:
            self._blocks.move_to_end(b)
        nxt = b + 1
        if nxt * self.block < self.size and nxt not in self._blocks and (self._ahead is None or self._ahead[0] != nxt):
            if self._ahead is not None:
                self._ahead[1].cancel()
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="corpus-readahead")
            self._ahead = (nxt, self._pool.submit(self._fetch, nxt))
        return data

    def pread(self, off: int, n: int) -> bytes:
        out = []
        end = min(self.size, off + n)
        while off < end:
            b = off // self.block
            data = self._get(b)
            rel = off - b * self.block
            piece = data[rel : rel + end - off]
            if not piece:
                break
            out.append(piece)
            off += len(piece)
        return b"".join(out)

    def close(self) -> None:
        if self._pool is not None:
            if self._ahead is not None:
                self._ahead[1].cancel()
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._blocks.clear()
        self._ahead = self._pool = None


def reader(path: str, options: dict | None = None) -> LocalReader | RemoteReader:
    """A positional reader for a local path or a remote URL."""
    return RemoteReader(path, options) if is_url(path) else LocalReader(local_path(path))


class _Stream(io.RawIOBase):
    """A seekable binary stream over a positional reader (for gzip/zstd decoders and Parquet)."""

    def __init__(self, r: LocalReader | RemoteReader) -> None:
        self.r, self.pos = r, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, off: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.r.size}[whence]
        self.pos = max(0, base + off)
        return self.pos

    def readinto(self, buf) -> int:
        data = self.r.pread(self.pos, len(buf))
        buf[: len(data)] = data
        self.pos += len(data)
        return len(data)

    def readall(self) -> bytes:
        data = self.r.pread(self.pos, max(0, self.r.size - self.pos))
        self.pos += len(data)
        return data

    def close(self) -> None:
        if not self.closed:
            self.r.close()
        super().close()


def open_binary(path: str, options: dict | None = None) -> BinaryIO:
    """A readable, seekable binary file: Python's own for a local path, a retrying ranged reader for a URL."""
    if not is_url(path):
        return open(local_path(path), "rb")
    return io.BufferedReader(_Stream(RemoteReader(path, options)), 1 << 20)  # type: ignore[return-value]


def size(path: str, options: dict | None = None) -> int:
    if not is_url(path):
        return os.path.getsize(local_path(path))
    fs, p = filesystem(path, options)
    return int(RETRY.call(path, lambda: fs.info(p)).get("size") or 0)


def read_bytes(url: str, options: dict | None = None, retry: Retry = RETRY) -> bytes:
    """A whole (small) remote object, with retries: one HTML page of a remote folder."""
    fs, p = filesystem(url, options)
    return retry.call(url, lambda: fs.cat_file(p))


def sample_identity(path: str, options: dict | None = None, sample: int = 1 << 20) -> str:
    """The first and last MiB of a remote object whose store gives no version (a plain HTTP server)."""
    h = hashlib.sha256()
    try:
        r = RemoteReader(path, options, block=sample)
        try:
            h.update(f"{path}\0{r.size}\0".encode())
            h.update(r.pread(0, sample))
            if r.size > 2 * sample:
                h.update(r.pread(r.size - sample, sample))
        finally:
            r.close()
    except ValueError as exc:  # e.g. a server that ignores range requests: one line, before any work
        raise StorageError(str(exc)) from None
    except OSError as exc:
        raise StorageError(describe(path, exc)) from None
    return h.hexdigest()
