"""An output folder owned by one run: an exclusive lock, an owner record, atomic files, and `--overwrite`.

Two runs writing into one folder used to corrupt each other (shared temp names; stats describing one run while
`data/` held another's shards), and re-using a folder with another recipe or input set left the old shards
where `export`, `pack` and `report` would mix them in. So a run takes an exclusive ``flock`` on ``DIR/.lock``
for its whole life, and ``DIR/owner.json`` records which recipe and which input set the folder's files belong
to: a later run with the same recipe and inputs resumes; any other is refused unless told to clear the folder.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shutil
import socket
import threading
import time
from pathlib import Path
from typing import IO

from corpus import runstore, storage
from corpus.errors import UserError

OWNED = ("data", "rejected", "quarantine", "_shards", "_work", "global", "report", "review", "stats.json", "manifest.json",
         "README.md", "owner.json")


class OutputFolderError(UserError, ValueError):
    """The output folder cannot be used for this run (exit 2, before any work starts)."""


def write_atomic(path: Path, text: str) -> None:
    """Write under a unique temporary name, then rename: a reader sees the old file or the new one, never half,
    and two writers never share a temporary file."""
    tmp = tmp_name(path)
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_parquet(path: Path, table, **options) -> None:
    """``pq.write_table`` under a unique temporary name, synced, then renamed: a reader (or a run resuming after a
    power cut) sees the old file or the whole new one."""
    import pyarrow.parquet as pq

    tmp = tmp_name(path)
    try:
        pq.write_table(table, tmp, **options)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: Path, payload: object) -> None:
    write_atomic(path, json.dumps(payload, indent=1, ensure_ascii=False, default=str))


def tmp_name(path: Path) -> Path:
    """A temporary name for ``path`` unique to this process (sinks write there, then rename)."""
    return path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")


class RunLock:
    """``flock`` on DIR/.lock, held until ``release()``; the file names the holder for the next one to come."""

    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / ".lock"
        self.fh: IO[str] | None = None

    def acquire(self) -> None:
        try:  # never through a symlink: a planted DIR/.lock -> ~/file would be truncated
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            raise OutputFolderError(f"{self.path}: cannot open the run lock ({exc.strerror}); is it a symlink?") from None
        fh = open(fd, "a+", encoding="utf-8")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise OutputFolderError(f"{self.path.parent} is in use by {holder}; wait for that run to finish, or choose "
                                    f"another --output") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"process {os.getpid()} on {socket.gethostname()} (since {time.strftime('%Y-%m-%d %H:%M:%S')})")
        fh.flush()
        self.fh = fh

    def check(self) -> None:
        """An flock cannot be lost while its file is open."""

    def release(self) -> None:
        if self.fh is not None:
            self.fh.close()  # closing drops the lock; the file stays (removing it would race a waiting run)
            self.fh = None


def claim(out_dir: Path, owner: dict, overwrite: bool) -> None:
    """Make ``out_dir`` this run's: refuse a folder holding another recipe's or input set's results (or clear
    what we wrote there with ``overwrite``), and remove temporary files a killed run left behind."""
    record = out_dir / "owner.json"
    ours = [name for name in OWNED if os.path.lexists(out_dir / name)]
    links = [name for name in ours if (out_dir / name).is_symlink()]
    if links:  # outputs written through a symlink would land outside the folder
        raise OutputFolderError(f"{out_dir}: {', '.join(links)} is a symlink; corpus writes only inside its output folder, "
                                f"so remove the link or choose another --output")
    try:
        prior = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        prior = None
    if ours and prior is None:  # not a run folder: never delete what corpus did not write, --overwrite or not
        raise OutputFolderError(f"{out_dir} already holds {', '.join(ours)} and no owner.json, so corpus did not write "
                                f"them; choose another --output")
    if overwrite:
        for name in ours:
            target = out_dir / name
            shutil.rmtree(target) if target.is_dir() else target.unlink()
    elif ours:
        _refuse_other_run(str(out_dir), prior, owner)
    for sub in ("data", "rejected", "quarantine", "_shards", "_work", "global"):
        for stale in (out_dir / sub).rglob(".*.tmp") if (out_dir / sub).is_dir() else ():
            stale.unlink(missing_ok=True)
    write_json(record, owner)


def _refuse_other_run(where: str, prior: dict, owner: dict) -> None:
    """A folder holding another recipe's run, or inputs this run does not have, is not resumed. More inputs than
    before are fine (``--limit 2`` first, then the whole segment): every shard already there is one of this run's,
    and the global stages are replanned over the larger set."""
    changed = (["recipe"] if prior.get("recipe") != owner["recipe"] else []) + \
              (["input set"] if not set(prior.get("inputs", [])) <= set(owner["inputs"]) else [])
    if changed:
        raise OutputFolderError(f"{where} holds a run of another {' and '.join(changed)} "
                                f"(recipe {prior.get('recipe_path')}, {len(prior.get('inputs', []))} inputs); resuming would "
                                f"mix the two. Pass --overwrite to clear it, or choose another --output")


def check_writable(out_dir: Path) -> None:
    """Fail before any work if the output folder cannot be created or written (read-only mount, no space)."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = tmp_name(out_dir / "probe")
        probe.write_bytes(b"0" * 4096)
        probe.unlink()
    except OSError as exc:
        raise OutputFolderError(f"{out_dir}: cannot write the output folder ({exc.strerror or exc}); choose a writable --output") from None


class RemoteLease:
    """The run lock of a folder on object storage, which has no ``flock``: ``DIR/.lock`` created with a
    conditional PUT (only if absent), so of two runs one gets it. The holder rewrites it every ``beat_s`` with a
    token of its own; a lease not rewritten for ``stale_s`` belonged to a run that died, and is taken over (then
    read back after ``settle_s``, since two runs may take over the same dead lease at once). A holder that finds
    another token in its lease has lost it, and ``check`` says so before the run writes its results."""

    def __init__(self, store: runstore.RunStore, beat_s: float = 30.0, stale_s: float = 300.0, settle_s: float = 2.0) -> None:
        self.store, self.loc = store, f"{store.url}/.lock"
        self.beat_s, self.stale_s, self.settle_s = beat_s, stale_s, settle_s
        self.token = secrets.token_hex(8)
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        self.lost: dict | None = None

    def _body(self) -> bytes:
        return json.dumps({"holder": f"process {os.getpid()} on {socket.gethostname()}", "beat": time.time(),
                           "token": self.token}).encode()

    def _held(self) -> dict:
        try:
            held = json.loads(runstore.read_bytes(self.loc, self.store.options) or b"{}")
        except ValueError:
            return {}
        return held if isinstance(held, dict) else {}

    def _busy(self, held: dict) -> OutputFolderError:
        return OutputFolderError(f"{self.store.url} is in use by {held.get('holder', 'another run')}; wait for that run to "
                                 f"finish, or choose another --output (if that run is dead, its lease expires "
                                 f"{self.stale_s:.0f}s after its last beat)")

    def acquire(self) -> None:
        for took_over in (False, True):
            # a PUT whose reply was lost and was retried finds our own lease: that is ours
            if runstore.create(self.loc, self._body(), self.store.options) or self._held().get("token") == self.token:
                break
            held = self._held()
            try:
                beat = float(held.get("beat", 0))
            except (TypeError, ValueError):
                beat = 0.0
            if took_over or time.time() - beat < self.stale_s:
                raise self._busy(held)
            runstore.remove(self.loc, self.store.options)  # a dead run's lease
        if took_over:
            time.sleep(self.settle_s)
            held = self._held()
            if held.get("token") != self.token:
                raise self._busy(held)
        self.thread = threading.Thread(target=self._beat, daemon=True)
        self.thread.start()

    def _beat(self) -> None:
        while not self.stop.wait(self.beat_s) and self.beat_once():
            pass

    def beat_once(self) -> bool:
        """Rewrite the lease if it is still ours; False once it is lost. A read and a write, not one atomic step:
        a take-over written between them is overwritten, and the taker's read-back (``settle_s``) then finds
        this run's token and backs off, so one run still holds the folder."""
        try:
            held = self._held()
            if held.get("token") != self.token:
                self.lost = held
                return False
            fs, key = storage.filesystem(self.loc, self.store.options)
            fs.pipe_file(key, self._body())
        except Exception:  # noqa: BLE001 - a missed beat only shortens the lease; the next one may pass
            pass
        return True

    def check(self) -> None:
        """Raise if another run took the lease (this one looked dead to it): its results must not be written."""
        if self.lost is not None:
            raise OutputFolderError(f"{self.store.url}: lost the run lock to {self.lost.get('holder', 'another run')} "
                                    f"(this run's beats stopped reaching the store); re-run the same command when it is done")

    def release(self) -> None:
        if self.thread is not None:
            self.stop.set()
            self.thread.join()
            self.thread = None
            if self._held().get("token") == self.token:  # never another run's lease
                runstore.remove(self.loc, self.store.options)


def claim_remote(store: runstore.RunStore, owner: dict, overwrite: bool) -> None:
    """``claim`` for a folder on object storage: the same refusals, then this node's cache of the folder is
    rebuilt from the store (the commit records only: a cache may be stale or from another run)."""
    keys = store.keys()
    ours = sorted({k.split("/", 1)[0] for k in keys} & set(OWNED))
    try:
        prior = json.loads(runstore.read_bytes(f"{store.url}/owner.json", store.options) or b"null")
    except ValueError:
        prior = None
    if ours and prior is None:
        raise OutputFolderError(f"{store.url} already holds {', '.join(ours)} and no owner.json, so corpus did not write "
                                f"them; choose another --output")
    if overwrite:
        for name in ours:
            runstore.remove(f"{store.url}/{name}", store.options)
    elif ours:
        _refuse_other_run(store.url, prior, owner)
    root = store.root
    if any(p.is_symlink() for p in [root, *root.parents] if p.is_relative_to(runstore.cache_base())):
        raise OutputFolderError(f"{root}: this run's cache folder goes through a symlink; corpus writes only inside its own "
                                f"cache, so remove the link or set {runstore.CACHE_ENV} to another folder")
    for name in OWNED:
        target = root / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif os.path.lexists(target):
            target.unlink()
    if not overwrite and "_shards" in ours:
        store.fetch_dir("_shards")
    write_json(root / "owner.json", owner)
    store.publish("owner.json")


def check_writable_store(store: runstore.RunStore) -> None:
    """A missing bucket, refused credentials or an unreachable endpoint: one line naming the URL, before Ray."""
    probe = f"{store.url}/.probe-{secrets.token_hex(4)}"
    try:
        fs, key = storage.filesystem(probe, store.options)
        fs.pipe_file(key, b"0")
        fs.rm(key)
    except storage.StorageError:
        raise
    except FileNotFoundError:
        raise OutputFolderError(f"{storage.store_of(store.url)}: no such bucket (or these credentials cannot see it); "
                                f"create it, or check the URL, AWS_ENDPOINT_URL and the credentials") from None
    except Exception as exc:  # noqa: BLE001 - refused credentials, unreachable endpoint: one line, before any work
        raise OutputFolderError(f"cannot write the output: {storage.describe(store.url, exc)}") from None
    check_writable(store.root)
