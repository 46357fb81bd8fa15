"""Every Ray call of the project lives here.

Embedded mode (no address) starts a private Ray that listens on loopback only, with no dashboard or job API
(CVE-2023-48022), and never joins a cluster it was not told about:

- ``address="local"``: a ``ray_current_cluster`` file left in Ray's temp folder by any ``ray start`` (live
  or long dead) is ignored, where a bare ``ray.init()`` would join that cluster or fail trying.
- Ray turns a node address of 127.0.0.1 into the machine's routable address, and every server (GCS,
  raylet, object manager, runtime-env agent, each worker's gRPC server) then listens on all interfaces. It
  keeps loopback when it is not allowed to look for a routable address (what it does on macOS and
  Windows), and then binds every server, agents included, to 127.0.0.1. ``_loopback_only`` asks for that
  during ``ray.init``; the node's address is checked afterwards, so a Ray that ignores the request fails
  the run instead of exposing it.
- Local users can still reach loopback ports, so the instance requires a token: a fresh random one per
  process, passed to Ray's processes in their environment (readable by this user only, never on a command
  line, never written to a file), instead of Ray's default of creating a world-readable ~/.ray/auth_token.
- Ray's temp folder (logs, sockets, spilled objects) goes under a folder only this user can enter; Ray
  makes its own folders world-writable.

With an address (``--address`` or ``RAY_ADDRESS``) we join an existing cluster; the output folder must then
be on storage every node sees. The cluster's auth mode is read from the cluster itself (a probe without a
token: refused means it wants one), so ``RAY_AUTH_MODE`` need not be set, and any failure to join is one
line that says why and what to do.

Shards are processed by a pool of long-lived actors: a model is loaded once per actor, a shard streams
through all per-document stages inside one actor (no object-store round trips per stage), and output
file names come from shard names, so scheduling order never changes the bytes written.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import stat
import sys
import tempfile
from pathlib import Path
from typing import Callable, Iterator

import ray

from corpus import signals
from corpus.errors import UserError

LOOPBACK = "127.0.0.1"
AUTH_ENV = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")
_saved_env: dict[str, str | None] | None = None  # what init() replaced, restored by shutdown()


class ClusterError(UserError):
    """Ray cannot be started or joined as asked: a wrong address, nothing listening there, a token the
    cluster refuses. A configuration problem the user fixes: one line, exit 2."""


def init(address: str | None = None, num_cpus: int | None = None) -> str:
    """Start or join Ray; returns a short description for the log. Reuses a session already initialised."""
    global _saved_env
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if ray.is_initialized():
        return "existing Ray session"
    address = address or os.environ.get("RAY_ADDRESS") or None
    if _saved_env is None:  # both paths set the auth variables; shutdown() puts the user's back
        _saved_env = {k: os.environ.get(k) for k in AUTH_ENV}
    try:
        where = _join(address) if address else _start_embedded(num_cpus)
    except SystemExit as exc:  # ray.init's own SIGTERM handler (sys.exit(15)) fired while Ray was starting
        if exc.code == signal.SIGTERM:
            raise signals.Terminated("SIGTERM while Ray was starting") from None
        raise
    signals.install()  # after ray.init, which replaces the SIGTERM handler with sys.exit(15)
    return where


def shutdown() -> None:
    global _saved_env
    if ray.is_initialized():
        ray.shutdown()
    if _saved_env is not None:  # the embedded token dies with the instance; a later init starts clean
        for key, value in _saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _saved_env = None
        _reload_auth_config()


def _reload_auth_config() -> None:
    """Make this process see RAY_AUTH_MODE / RAY_AUTH_TOKEN as they are now (Ray caches both at import)."""
    from ray._raylet import AuthenticationTokenLoader, Config

    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()


def _start_embedded(num_cpus: int | None) -> str:
    from ray._private.authentication.authentication_token_generator import generate_new_authentication_token

    # token auth even if the user's environment turns it off: loopback is reachable by every local user
    os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=generate_new_authentication_token())
    _reload_auth_config()
    lean = os.environ.get("CORPUS_RAY_FULL") != "1"  # 1: Ray's usual helpers, for before/after measurements only
    with _loopback_only(), (_lean_node() if lean else contextlib.nullcontext()):
        ray.init(
            address="local",
            num_cpus=num_cpus or os.cpu_count(),
            include_dashboard=False,
            _node_ip_address=LOOPBACK,
            _temp_dir=str(private_temp_dir() / "ray"),
            _system_config=LEAN_SYSTEM_CONFIG if lean else None,
            logging_level="WARNING",
            log_to_driver=not lean,
        )
    node_ip = ray._private.worker.global_worker.node.node_ip_address
    if node_ip != LOOPBACK:
        shutdown()
        raise RuntimeError(f"this Ray ({ray.__version__}) put the embedded node on {node_ip}, so it would listen on "
                           f"all interfaces; refusing to run. Pin ray to the version in pyproject.toml")
    return "embedded local Ray (127.0.0.1 only, token auth, no dashboard)"


# Idle workers are started on demand, not one per CPU when the driver connects: `--workers 1` on a 16-core
# machine kept 15 idle Python workers (about 80 MB each) for the whole run.
LEAN_SYSTEM_CONFIG = {"prestart_worker_first_driver": False}


@contextlib.contextmanager
def _lean_node() -> Iterator[None]:
    """While the embedded Ray starts, leave out the helper processes a private single-node run never uses
    (about 260 MB of resident memory, 1 s of start-up and 1 s of shutdown, measured by bench/ray_overhead.py):

    - the autoscaler monitor: nothing to scale on one node;
    - the log monitor, which tails every worker's log files to echo them on the driver: workers report
      through return values and progress counts, and their logs stay in the private temp folder;
    - the "API server" that ``include_dashboard=False`` still starts to run usage statistics alone (which
      are off, RAY_USAGE_STATS_ENABLED=0), and with it the last Python process that could serve HTTP.

    These are private ``RayParams`` fields (``ray start --head`` has ``--no-monitor`` and Ray's own tests
    use ``include_log_monitor``) and a private ``Node`` method, switched for the ``ray.init`` call only; a Ray
    without them fails loudly here, and the pin in pyproject.toml keeps the version that has them."""
    import inspect

    from ray._private import node, parameter

    known = inspect.signature(parameter.RayParams.__init__).parameters
    if not {"no_monitor", "include_log_monitor"} <= set(known) or not hasattr(node.Node, "start_api_server"):
        raise RuntimeError(f"this Ray ({ray.__version__}) has no switch for its monitor processes; pin ray to the "
                           f"version in pyproject.toml")
    params_init, api_server = parameter.RayParams.__init__, node.Node.start_api_server

    def lean_params(self, *args, **kwargs) -> None:
        params_init(self, *args, **kwargs)
        self.no_monitor = True
        self.include_log_monitor = False

    parameter.RayParams.__init__ = lean_params
    node.Node.start_api_server = lambda self, **kwargs: None
    try:
        yield
    finally:
        parameter.RayParams.__init__, node.Node.start_api_server = params_init, api_server


@contextlib.contextmanager
def _loopback_only() -> Iterator[None]:
    """While Ray starts, keep it from replacing 127.0.0.1 with the routable address (see the module doc).
    ENABLE_RAY_CLUSTER is the switch Ray itself reads in ``get_node_ip_address``; it is restored at once."""
    constants = ray._private.ray_constants
    before = constants.ENABLE_RAY_CLUSTER
    constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        constants.ENABLE_RAY_CLUSTER = before


def private_temp_dir() -> Path:
    """``<tmp>/corpus-ray-<uid>``, mode 0700 and ours: Ray's own folders inside it are world-writable, so
    this one is what keeps other users out of the logs, sockets and spilled objects. ``<tmp>`` is Ray's
    (RAY_TMPDIR, then TMPDIR, then /tmp), kept short because Ray's socket paths must fit in 107 bytes."""
    from ray._common.utils import get_default_system_temp_dir

    path = Path(get_default_system_temp_dir()) / f"corpus-ray-{os.getuid()}"
    try:
        path.mkdir(mode=0o700, exist_ok=True)
        st = path.lstat()
    except OSError as exc:
        raise ClusterError(f"cannot create Ray's temp folder {path}: {exc.strerror}; set RAY_TMPDIR to a folder you own") from None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        # someone else made it (or a symlink): never use it; a fresh private folder instead
        return Path(tempfile.mkdtemp(prefix="corpus-ray-", dir=get_default_system_temp_dir()))
    if st.st_mode & 0o077:
        path.chmod(0o700)
    return path


def _join(address: str) -> str:
    """Connect to the cluster at ``address``; every failure becomes one ClusterError line."""
    note = ""
    if "://" not in address and address != "auto":  # host:port: check it and read its auth mode first
        _check_reachable(address)
        note = _match_auth_mode(address)
    try:
        ray.init(address=address, log_to_driver=True, logging_level="WARNING")
    except (ConnectionError, RuntimeError, ValueError, ray.exceptions.RayError) as exc:
        raise ClusterError(f"cannot join the Ray cluster at {address}: {_last_line(exc)}") from None
    return f"Ray cluster at {address}{note}"


def _check_reachable(address: str) -> None:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ClusterError(f"--address {address!r} is not host:port (e.g. 10.0.0.5:6379, the head's `ray start --head --port`)")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as exc:
        raise ClusterError(f"nothing answers at {address} ({exc.strerror or exc}): check the address and port, and that "
                           f"`ray start --head` is running there") from None


def _match_auth_mode(address: str) -> str:
    """Set this process's auth mode to the cluster's, which a driver must match (a token-mode driver on a
    cluster without auth loses its actors; the reverse is refused). Ray only reads the mode from the local
    environment (RAY_AUTH_MODE) and, for an explicit address, never enables it on its own, so a default
    ``ray start --head`` on a machine with a ~/.ray/auth_token (token mode) was unreachable without
    RAY_AUTH_MODE=token. Asking the cluster removes the guess. Returns a note for the log."""
    from ray._raylet import AuthenticationTokenLoader

    os.environ["RAY_AUTH_MODE"] = "disabled"
    _reload_auth_config()
    error = _probe(address)
    if error is None:
        return " (no auth token required)"
    if not isinstance(error, ray.exceptions.AuthenticationError):
        raise ClusterError(f"cannot join the Ray cluster at {address}: {_last_line(error)}")
    if not AuthenticationTokenLoader.instance().has_token(ignore_auth_mode=True):
        raise ClusterError(f"the Ray cluster at {address} uses token auth (RAY_AUTH_MODE=token) and no token was found "
                           f"here: copy the head node's ~/.ray/auth_token to this machine, or set RAY_AUTH_TOKEN or "
                           f"RAY_AUTH_TOKEN_PATH")
    os.environ["RAY_AUTH_MODE"] = "token"
    _reload_auth_config()
    error = _probe(address)
    if isinstance(error, ray.exceptions.AuthenticationError):
        raise ClusterError(f"the Ray cluster at {address} uses token auth (RAY_AUTH_MODE=token) and refused the token "
                           f"from {_token_source()}: use the head node's token (its ~/.ray/auth_token) via RAY_AUTH_TOKEN "
                           f"or RAY_AUTH_TOKEN_PATH")
    if error is not None:
        raise ClusterError(f"cannot join the Ray cluster at {address}: {_last_line(error)}")
    return f" (token auth, {_tighten_token_file()})"


def _probe(address: str) -> Exception | None:
    """One GCS handshake with the current auth settings: None if accepted, else the error. Ray's C++
    client logs each refusal to stderr; that noise is swallowed, the caller words the outcome."""
    from ray._raylet import GcsClient

    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            try:
                GcsClient(address)
            except Exception as exc:  # AuthenticationError, RpcError, ...: the caller decides
                return exc
            return None
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _token_source() -> str:
    if os.environ.get("RAY_AUTH_TOKEN"):
        return "RAY_AUTH_TOKEN"
    return os.environ.get("RAY_AUTH_TOKEN_PATH") or str(Path.home() / ".ray" / "auth_token")


def _tighten_token_file() -> str:
    """Ray writes ~/.ray/auth_token readable by every local user; a token is a password, so make it 0600
    when it is ours and is the token in use. Returns where the token came from, for the log."""
    source = _token_source()
    path = Path(source)
    if source == "RAY_AUTH_TOKEN" or not path.is_file():
        return f"token from {source}"
    try:
        st = path.stat()
        if st.st_uid == os.getuid() and st.st_mode & 0o077:
            path.chmod(0o600)
            return f"token from {path}, now readable by you only"
    except OSError:
        pass
    return f"token from {path}"


def _last_line(exc: BaseException) -> str:
    """The useful part of a Ray error: its last non-empty line (Ray appends tracebacks and advice)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return (lines[-1] if lines else type(exc).__name__)[:500]


class _Board:
    """Where workers drop their latest in-flight counts and the driver collects them: keys in Ray's GCS
    key-value store under a prefix of this run's own. It used to be an actor, a whole Python worker process
    (about 125 MB resident, one more process to start) for a few kilobytes a second; the GCS is already there,
    on every node's reach, and a put from inside a shard is one small RPC every few seconds."""

    NAMESPACE = "corpus-progress"

    def __init__(self) -> None:
        import uuid

        self.prefix = f"{uuid.uuid4().hex}/"

    def put(self, task_id: int, stats: list[dict]) -> None:
        from ray.experimental.internal_kv import _internal_kv_put

        _internal_kv_put(f"{self.prefix}{task_id}", json.dumps(stats), overwrite=True, namespace=self.NAMESPACE)

    def drain(self, task_ids: list[int]) -> dict[int, list[dict]]:
        """The latest counts of these tasks, each taken (deleted) as it is read: a task that reported nothing new
        since the last drain is absent, as with the actor."""
        from ray.experimental.internal_kv import _internal_kv_del, _internal_kv_get

        out = {}
        for task_id in task_ids:
            key = f"{self.prefix}{task_id}"
            value = _internal_kv_get(key, namespace=self.NAMESPACE)
            if value is not None:
                _internal_kv_del(key, namespace=self.NAMESPACE)
                out[task_id] = json.loads(value)
        return out

    def close(self) -> None:
        from ray.experimental.internal_kv import _internal_kv_del

        with contextlib.suppress(Exception):  # Ray already gone (Ctrl-C during shutdown): nothing left to clean
            _internal_kv_del(self.prefix, del_by_prefix=True, namespace=self.NAMESPACE)


@ray.remote
class _Host:
    """A long-lived actor around a plain worker class (``corpus.shard.ShardWorker``, ``corpus.pack.run.PackWorker``):
    the worker loads its models once, and its ``process(task, out_dir, report)`` knows nothing of Ray."""

    def __init__(self, worker_cls: type, init_args: tuple, board) -> None:
        import pyarrow as pa

        if not os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):  # the system allocator, as local workers (local_exec.POOL_ENV)
            pa.set_memory_pool(pa.system_memory_pool())
        self.impl = worker_cls(*init_args)
        self.board = board

    def process(self, task_id: int, task, out_dir) -> tuple:
        report = (lambda stats: self.board.put(task_id, stats)) if self.board is not None else None
        return (*self.impl.process(task, out_dir, report), ray.get_runtime_context().get_node_id())


class RayExecutor:
    """Runs a global stage's exchange tasks as Ray tasks; partitions stay in the object store (spilling to
    disk when it fills), and each task reserves ``memory_mb`` so Ray never packs more onto a node than fits.

    With ``progress`` (a ``corpus.progress.TaskProgress``) every task is counted under its function's name when
    submitted, and ``get`` waits in steps of at most a second, counting the finished ones, so a plan that runs
    for minutes shows its phases the way shards show theirs."""

    def __init__(self, memory_mb: int, progress=None) -> None:
        self.options = {"num_cpus": 1, "memory": memory_mb * 2**20}
        self.remotes: dict[Callable, object] = {}
        self.progress = progress
        self.tasks: dict[str, list] = {}  # phase -> one ref per unfinished task (a task's returns are ready together)
        self.done: dict[str, int] = {}  # phase -> tasks finished

    def map(self, fn: Callable, calls: list[tuple], num_returns: int = 1) -> list:
        if fn not in self.remotes:
            self.remotes[fn] = ray.remote(fn)
        remote = self.remotes[fn].options(num_returns=num_returns, **self.options)
        out = [remote.remote(*args) for args in calls]
        if self.progress is not None and out:
            self.tasks.setdefault(fn.__name__, []).extend(o[0] if isinstance(o, list) else o for o in out)
            self.progress.submitted(fn.__name__, len(out))
        return out

    def get(self, refs: list) -> list:
        refs = list(refs)
        if self.progress is None:
            return ray.get(refs)
        waiting = list(dict.fromkeys(refs))  # ray.wait refuses a ref listed twice
        while True:
            _, waiting = ray.wait(waiting, num_returns=len(waiting), timeout=min(1.0, self.progress.interval), fetch_local=False)
            self._count()
            if not waiting:
                return ray.get(refs)

    def _count(self) -> None:
        for phase, refs in self.tasks.items():  # only the unfinished refs are kept: finished outputs can be freed
            ready, self.tasks[phase] = ray.wait(refs, num_returns=len(refs), timeout=0, fetch_local=False)
            self.done[phase] = self.done.get(phase, 0) + len(ready)
        self.progress.finished(dict(self.done))

    def close(self) -> None:
        """Nothing to release: the tasks' outputs go when their references do."""


def task_executor(width: int, memory_mb: int, progress=None) -> RayExecutor:
    """A global stage's task executor (``corpus.local_exec.task_executor`` on one machine without Ray): Ray packs
    tasks by their reserved memory, so ``width`` needs no bound here."""
    return RayExecutor(memory_mb, progress)


def cpus() -> int:
    return int(ray.cluster_resources().get("CPU", 1))


def gpus_available() -> int:
    return int(ray.cluster_resources().get("GPU", 0))


def run_shards(
    worker_cls: type,
    init_args: tuple,
    inputs: list,
    out_dir: object,  # passed to each worker as it is: a Path, or a RunStore
    workers: int | None,
    num_cpus: float,
    num_gpus: float,
    on_done: Callable[..., None],
    on_failed: Callable[..., None],
    on_progress: Callable[[object, list[dict]], None] | None = None,
) -> None:
    """Process shards on a pool of actors. A shard whose worker crashes (a bug, an OOM kill) is reported
    through ``on_failed`` and its actor replaced; the other shards go on. With ``on_progress``, the workers'
    in-flight counts reach it about once a second."""
    if not inputs:
        return
    free = ray.available_resources()
    available = int(free.get("CPU", 1) // max(num_cpus, 0.01)) or 1
    if num_gpus:  # an actor that cannot get its GPU would wait forever, and so would the shards queued on it
        available = min(available, int(free.get("GPU", 0) // num_gpus)) or 1
    n = max(1, min(len(inputs), workers or available))
    opts = {"num_cpus": num_cpus, "num_gpus": num_gpus}
    board = _Board() if on_progress is not None else None

    def start():
        return _Host.options(**opts).remote(worker_cls, init_args, board)

    actors = [start() for _ in range(n)]
    queue = list(enumerate(inputs))
    pending: dict[ray.ObjectRef, tuple[ray.actor.ActorHandle, object, int]] = {}

    def submit(actor) -> None:
        if queue:
            task_id, inp = queue.pop(0)
            pending[actor.process.remote(task_id, inp, out_dir)] = (actor, inp, task_id)

    try:
        for actor in actors:
            submit(actor)
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1, timeout=1.0 if board is not None else None)
            if board is not None:
                for task_id, stats in board.drain([t for _, _, t in pending.values()]).items():
                    on_progress(inputs[task_id], stats)
            if not done:
                continue
            actor, inp, _ = pending.pop(done[0])
            try:
                on_done(*ray.get(done[0]))
            except ray.exceptions.RayError as exc:
                on_failed(inp, str(exc).strip().splitlines()[-1][:2000])
                ray.kill(actor)
                actors.remove(actor)
                actor = start()
                actors.append(actor)
            submit(actor)
    finally:  # Ctrl-C, SIGTERM or a bug: no actor outlives the run (and its lock on the folder)
        for actor in actors:
            ray.kill(actor)
        if board is not None:
            board.close()
