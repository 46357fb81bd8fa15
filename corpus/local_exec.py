"""One machine without Ray: shard workers as plain processes, the same worker classes, the same bytes.

Why. On one machine Ray has nothing to distribute and costs a fixed amount that a small run cannot earn back:
about 1.4 s to start and 0.3 s to stop, four processes of its own (GCS, raylet, dashboard agent, runtime-env
agent: about 250 MB resident) and a core worker around every actor (about 125 MB before any model loads). At
one core that was 2.5x datatrove's whole process tree. This is what the peers do on one machine (datatrove's
local executor, Dolma's process pool): each worker is a spawned child that builds its worker class once and
takes one shard at a time over a pipe, so a child that dies (an OOM kill, a crash in a C library) costs exactly
its shard, reported as failed, as with Ray's actors. A global stage's plan runs its tasks in this process (one
worker) or on a pool as wide as the workers and the tasks' memory allow.

What Ray still brings, and when it is used (``--executor ray``, or any ``--address`` / ``RAY_ADDRESS``): many
machines, and object spilling for a dedup plan whose exchange does not fit in one machine's memory. The
curated output is byte-identical either way (``tests/e2e/test_pipeline.py`` compares the two): file names come from shard
names, and every shard is the same pure function of its input.
"""

from __future__ import annotations

import concurrent.futures as cf
import ctypes
import multiprocessing as mp
import multiprocessing.connection as mpc
import os
import signal
import socket
import traceback
from typing import Any, Callable

POOL_ENV = "ARROW_DEFAULT_MEMORY_POOL"
"""Workers allocate with the system allocator unless this says otherwise: pyarrow's default (mimalloc or jemalloc)
keeps the pages of freed batches, 44 MB more per worker after 5,000 pages, at the same speed (measured on the
spine; ray_exec's actors do the same)."""
_CTX = mp.get_context("spawn")  # never fork: the driver holds Arrow's thread pools, and fork copies their locks


def cpus() -> int:
    """The CPUs this process may run on (a container's or a scheduler's CPU set, not the machine's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def gpus_available() -> int:
    """Local workers run on CPUs: sharing GPUs out among workers is what Ray is chosen for (corpus/executor.py)."""
    return 0


def init(address: str | None = None) -> str:
    return f"this machine ({cpus()} CPUs, local processes, no Ray)"


def node() -> str:
    return f"local:{socket.gethostname()}"


def _last_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in traceback.format_exception_only(type(exc), exc) if ln.strip()]
    return (lines[-1] if lines else type(exc).__name__)[:2000]


def _die_with(parent: int) -> None:
    """Linux: SIGKILL this process when its parent dies, even by SIGKILL, so no worker goes on writing into a run
    folder whose lock died with the driver (a resumed run would meet it there). Ray's raylet does the same for
    its workers. Elsewhere the closed pipe ends a child after its current shard."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request was made
        os._exit(1)


def _serve(conn: mpc.Connection, worker_cls: type, init_args: tuple, parent: int) -> None:
    """A child's life: build the worker once, then one task per message until the pipe closes. Ctrl-C reaches
    the whole process group; the driver alone decides what it means (it stops the children), so they ignore it."""
    _die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        impl = worker_cls(*init_args)
    except BaseException as exc:  # noqa: BLE001 - reported to the driver, which fails the shard in one line
        conn.send(("broken", _last_line(exc)))
        return
    while True:
        try:
            msg = conn.recv()
        except EOFError:  # the driver is gone
            return
        if msg is None:
            return
        task_id, task, out_dir = msg

        def report(stats: list[dict], task_id: int = task_id) -> None:
            conn.send(("progress", task_id, stats))

        try:
            result = impl.process(task, out_dir, report)
        except Exception as exc:  # noqa: BLE001 - the shard fails, the worker goes on, as a Ray actor's task would
            conn.send(("failed", _last_line(exc)))
        else:
            conn.send(("done", result))


class _Child:
    def __init__(self, worker_cls: type, init_args: tuple) -> None:
        self.conn, theirs = _CTX.Pipe()
        self.proc = _CTX.Process(target=_serve, args=(theirs, worker_cls, init_args, os.getpid()), daemon=True)
        user = os.environ.get(POOL_ENV)
        os.environ[POOL_ENV] = user or "system"  # the child reads it before its first Arrow allocation
        try:
            self.proc.start()
        finally:
            if user is None:
                del os.environ[POOL_ENV]
        theirs.close()
        self.task: tuple[int, Any] | None = None  # (task id, input) in flight

    def give(self, task_id: int, inp: Any, out_dir: object) -> None:
        self.task = (task_id, inp)
        try:
            self.conn.send((task_id, inp, out_dir))
        except OSError:  # it died already (its worker class failed to build): its sentinel reports the shard
            pass

    def stop(self) -> None:
        if self.proc.is_alive():
            self.proc.terminate()
        self.proc.join(5)
        self.conn.close()


def run_shards(
    worker_cls: type,
    init_args: tuple,
    inputs: list,
    out_dir: object,
    workers: int | None,
    num_cpus: float,
    num_gpus: float,
    on_done: Callable[..., None],
    on_failed: Callable[..., None],
    on_progress: Callable[[object, list[dict]], None] | None = None,
) -> None:
    """``ray_exec.run_shards`` on this machine: ``on_done(*worker.process(...), node)`` per shard, ``on_failed(input,
    error)`` for a shard whose worker raised or died (a dead child is replaced), ``on_progress`` as the workers
    report. A single worker is a child process too: crawled bytes are parsed by C libraries (lxml, lexbor,
    fastText), and a crash or an OOM kill there must cost its shard, not the run."""
    if not inputs:
        return
    n = max(1, min(len(inputs), workers or max(1, int(cpus() // max(num_cpus, 0.01)))))
    queue = list(enumerate(inputs))
    children = [_Child(worker_cls, init_args) for _ in range(n)]
    try:
        for child in children:
            if queue:
                child.give(*queue.pop(0), out_dir)
        while any(c.task for c in children):
            busy = {c.conn: c for c in children if c.task} | {c.proc.sentinel: c for c in children if c.task}
            for ready in mpc.wait(list(busy)):
                child = busy[ready]
                if child.task is None:  # already handled through its other handle in this round
                    continue
                _, inp = child.task
                try:  # a ready pipe holds a message or the end; a ready sentinel with nothing to read: it died
                    msg = child.conn.recv() if child.conn.poll() else None
                except (EOFError, OSError):
                    msg = None
                if msg is not None and msg[0] == "progress":
                    if on_progress is not None:
                        on_progress(inputs[msg[1]], msg[2])
                    continue
                child.task = None
                if msg is None or msg[0] == "broken":  # it died with the shard (a crash, an OOM kill) or never started
                    child.proc.join(1)
                    on_failed(inp, msg[1] if msg else
                              f"the worker process died while processing this shard (exit code {child.proc.exitcode})")
                    child.stop()
                    children[children.index(child)] = child = _Child(worker_cls, init_args)
                elif msg[0] == "done":
                    on_done(*msg[1], node())
                else:
                    on_failed(inp, msg[1])
                if queue:
                    child.give(*queue.pop(0), out_dir)
    finally:  # Ctrl-C, SIGTERM or a bug: no child outlives the run (and its lock on the folder)
        for child in children:
            child.stop()


class _Part:
    """Item ``k`` of a pool task's list of returns (Ray's ``num_returns``)."""

    def __init__(self, future: cf.Future, k: int) -> None:
        self.future, self.k = future, k

    def result(self) -> Any:
        return self.future.result()[self.k]


def _resolve(arg: Any) -> Any:
    return arg.result() if isinstance(arg, (cf.Future, _Part)) else arg


class PoolExecutor:
    """A global stage's tasks (``corpus.dedup.exchange.Executor``) on a pool of spawned processes, or here, in
    order, when ``width`` is 1. A task's arguments that are other tasks' results are waited for and sent with it:
    partitions pass through this process, as they pass through Ray's object store. ``width`` is bounded so that
    ``memory_mb`` per task fits in the machine's available memory. ``progress`` counts each phase's tasks."""

    def __init__(self, width: int, memory_mb: int, progress=None) -> None:
        free_mb = _available_mb()
        self.width = max(1, min(width, free_mb // max(memory_mb, 1) if free_mb else width))
        self.pool = (cf.ProcessPoolExecutor(self.width, mp_context=_CTX, initializer=_die_with, initargs=(os.getpid(),))
                     if self.width > 1 else None)
        self.progress = progress
        self.tasks: dict[str, list] = {}  # phase -> its unfinished futures (results run here are done at once)
        self.done: dict[str, int] = {}  # phase -> tasks finished

    def map(self, fn: Callable, calls: list[tuple], num_returns: int = 1) -> list:
        if self.pool is None:
            out = [fn(*args) for args in calls]
        else:
            out = [self.pool.submit(fn, *[_resolve(a) for a in args]) for args in calls]
        if self.progress is not None and out:
            self.tasks.setdefault(fn.__name__, []).extend(out)
            self.progress.submitted(fn.__name__, len(out))
            self._count()
        if self.pool is None or num_returns == 1:
            return out
        return [[_Part(f, k) for k in range(num_returns)] for f in out]

    def get(self, refs: list) -> list:
        pending = {r.future if isinstance(r, _Part) else r for r in refs if isinstance(r, (cf.Future, _Part))}
        while pending:
            _, pending = cf.wait(pending, timeout=min(1.0, self.progress.interval) if self.progress else None)
            if self.progress is not None:
                self._count()
        return [_resolve(r) for r in refs]

    def _count(self) -> None:
        for phase, fs in self.tasks.items():  # only unfinished futures are kept: finished outputs can be freed
            self.tasks[phase] = [f for f in fs if isinstance(f, cf.Future) and not f.done()]
            self.done[phase] = self.done.get(phase, 0) + len(fs) - len(self.tasks[phase])
        self.progress.finished(dict(self.done))

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)


def task_executor(width: int, memory_mb: int, progress=None) -> PoolExecutor:
    return PoolExecutor(width, memory_mb, progress)


def _available_mb() -> int:
    """MemAvailable from /proc/meminfo (0 where there is none: no bound is then applied)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0
