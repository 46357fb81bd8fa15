"""The embedded Ray is what the README says: loopback only, no dashboard or job API, its own token, and it
never joins a cluster it was not told about. `--address` reads a cluster's auth mode, and every failure to
join is one line."""

from __future__ import annotations

import ipaddress
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import ray

from raycluster import Cluster, clean_env

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]

import psutil  # noqa: E402  (Ray ships it in ray/thirdparty_files, on sys.path once ray is imported)


def is_loopback(ip: str) -> bool:
    addr = ipaddress.ip_address(ip.split("%")[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:  # ::ffff:127.0.0.1 on a dual-stack socket
        addr = addr.ipv4_mapped
    return addr.is_loopback


def session_sockets() -> list[tuple[str, str, int]]:
    """(process name, ip, port) of every listening TCP socket and bound UDP socket of this process and all
    its descendants: the driver, gcs_server, raylet, agents and workers of the test session's Ray."""
    found = []
    me = psutil.Process()
    for proc in [me, *me.children(recursive=True)]:
        try:
            conns = proc.net_connections(kind="inet")
            name = proc.name()
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        for c in conns:
            if c.status == psutil.CONN_LISTEN or (c.type == 2 and not c.raddr):  # 2 = SOCK_DGRAM
                found.append((name, c.laddr.ip, c.laddr.port))
    return found


@ray.remote
class Echo:
    def ping(self) -> int:
        return os.getpid()


def test_every_listener_is_on_loopback(ray_session):
    echo = Echo.remote()  # a live actor and a finished task: worker processes with their own gRPC servers
    assert ray.get(echo.ping.remote()) != os.getpid()
    assert ray.get(ray.remote(lambda: 1).remote()) == 1
    sockets = session_sockets()
    names = {name for name, _, _ in sockets}
    # the check must see Ray's servers, or it proves nothing
    assert {"gcs_server", "raylet"} <= names, sockets
    assert any(name.startswith("ray::") for name in names), sockets
    exposed = [s for s in sockets if not is_loopback(s[1])]
    assert not exposed, f"listening beyond loopback: {exposed}"
    assert ray._private.worker.global_worker.node.node_ip_address == "127.0.0.1"
    ray.kill(echo)


def test_no_dashboard_or_job_api(ray_session):
    ctx = ray.get_runtime_context()
    assert ray.is_initialized() and ctx.gcs_address
    assert ray._private.worker.global_worker.node.address_info.get("webui_url") in (None, "")
    assert 8265 not in {port for _, _, port in session_sockets()}  # dashboard / job submission API
    names = {p.name() for p in psutil.Process().children(recursive=True)}
    assert not any("dashboard" in n for n in names), names


PROBE = """
import sys
import ray._raylet
try:
    ray._raylet.GcsClient(sys.argv[1])
    print("accepted")
except Exception as exc:
    print(type(exc).__name__)
"""


def probe(address: str, **auth: str) -> str:
    """Ask the GCS at ``address`` for a session from a fresh process with only the given auth settings."""
    proc = subprocess.run([sys.executable, "-c", PROBE, address], env=clean_env(**auth), capture_output=True,
                          text=True, timeout=120)
    return proc.stdout.strip()


def test_requires_its_own_token(ray_session):
    address = ray.get_runtime_context().gcs_address
    token = os.environ["RAY_AUTH_TOKEN"]  # ray_exec.init put the instance's token here for its processes
    assert probe(address, RAY_AUTH_MODE="disabled") == "AuthenticationError"
    assert probe(address, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN="0" * 64) == "AuthenticationError"
    assert probe(address, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token) == "accepted"  # the probe can succeed
    # the token is on no command line (world-readable in /proc) and in no file
    for p in psutil.Process().children(recursive=True):
        try:
            assert token not in " ".join(p.cmdline()), p.name()
        except psutil.NoSuchProcess:
            continue
    default_file = Path.home() / ".ray" / "auth_token"
    assert not default_file.exists() or token not in default_file.read_text()
    # logs, sockets and spilled objects sit in a folder only this user can enter
    session_dir = Path(ray._private.worker.global_worker.node.get_session_dir_path())
    private = session_dir.parent.parent
    assert private.name == f"corpus-ray-{os.getuid()}"
    st = private.lstat()
    assert stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and stat.S_IMODE(st.st_mode) == 0o700


DRIVER = """
import os, sys
from corpus import ray_exec
try:
    print(ray_exec.init(num_cpus=1))
except ray_exec.ClusterError as exc:
    print("ClusterError:", exc)
    sys.exit(2)
import ray
print("gcs", ray.get_runtime_context().gcs_address)

@ray.remote
class A:
    def inc(self, x):
        return x + 1

print("actor", ray.get(A.remote().inc.remote(1)))
"""


def driver(environ: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", DRIVER], env=environ, capture_output=True, text=True, timeout=300, cwd=ROOT)


@pytest.mark.cluster
def test_embedded_never_joins_a_cluster_it_was_not_told_about(tmp_path):
    """`ray start --head` writes its address to ray_current_cluster in Ray's temp folder; a bare ray.init()
    joins that cluster while it runs and fails on the stale file once it is gone."""
    base = Path(tempfile.mkdtemp(prefix="st", dir="/tmp"))  # short: Ray's socket paths must fit 107 bytes
    cluster = Cluster(nodes=1, temp=str(base / "ray"))  # RAY_TMPDIR=base makes base/ray the default folder
    pointer = base / "ray" / "ray_current_cluster"
    environ = clean_env(RAY_TMPDIR=str(base))
    try:
        assert pointer.read_text().strip().endswith(f":{cluster.port}")
        live = driver(environ)
    finally:
        cluster.stop()
    try:
        stale = driver(environ)
        assert pointer.exists()  # the stale pointer a crashed or killed cluster leaves behind
        assert (base / f"corpus-ray-{os.getuid()}").is_dir()  # RAY_TMPDIR moved the private folder too
    finally:
        shutil.rmtree(base, ignore_errors=True)
    for proc in (live, stale):
        assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
        assert "embedded local Ray (127.0.0.1 only" in proc.stdout and "actor 2" in proc.stdout
        gcs = next(line.split()[1] for line in proc.stdout.splitlines() if line.startswith("gcs "))
        assert gcs.startswith("127.0.0.1:") and not gcs.endswith(f":{cluster.port}")


def corpus_run(environ: dict, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text("name: tiny\nstages:\n  - extract: {}\n  - format: {}\n")
    return subprocess.run([sys.executable, "-m", "corpus", "run", str(recipe), "--no-report", *args],
                          env=environ, capture_output=True, text=True, timeout=300, cwd=ROOT)


@pytest.mark.cluster
def test_address_works_against_a_default_ray_start(sample_dir, tmp_path):
    """A plain `ray start --head` (no RAY_AUTH_MODE anywhere) on a machine with a ~/.ray/auth_token runs
    with token auth; `corpus run --address` finds that out from the cluster and uses the same token."""
    home = tmp_path / "home"
    (home / ".ray").mkdir(parents=True)
    token_file = home / ".ray" / "auth_token"
    token_file.write_text("ab" * 32)
    token_file.chmod(0o644)  # as Ray writes it
    plain = clean_env(HOME=str(home))
    cluster = Cluster(nodes=1, environ=plain)
    try:
        joined = corpus_run(plain, tmp_path, "--input", str(sample_dir / "sample-dump.jsonl.gz"),
                            "--output", str(tmp_path / "out"), "--address", cluster.address)
        wrong = corpus_run(clean_env(HOME=str(home), RAY_AUTH_TOKEN="cd" * 32), tmp_path, "--input",
                           str(sample_dir / "sample-dump.jsonl.gz"), "--output", str(tmp_path / "o2"),
                           "--address", cluster.address)
        none = corpus_run(clean_env(HOME=str(tmp_path)), tmp_path, "--input", str(sample_dir / "sample-dump.jsonl.gz"),
                          "--output", str(tmp_path / "o3"), "--address", cluster.address)
    finally:
        cluster.stop()
    assert joined.returncode == 0, joined.stderr[-3000:]
    assert f"Ray cluster at {cluster.address} (token auth" in joined.stderr
    assert list((tmp_path / "out" / "data").glob("*.parquet"))
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600  # a token is a password
    for proc in (wrong, none):
        assert proc.returncode == 2, proc.stderr[-3000:]
        lines = proc.stderr.strip().splitlines()
        assert lines[-1].startswith("error: the Ray cluster at") and "RAY_AUTH_MODE=token" in lines[-1], lines
        assert "Traceback" not in proc.stderr
    assert "refused the token from RAY_AUTH_TOKEN" in wrong.stderr
    assert "no token was found" in none.stderr


def test_unreachable_address_is_one_line(sample_dir, tmp_path):
    proc = corpus_run(clean_env(), tmp_path, "--input", str(sample_dir / "sample-dump.jsonl.gz"),
                      "--output", str(tmp_path / "out"), "--address", "127.0.0.1:1")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: nothing answers at 127.0.0.1:1")
    assert "Traceback" not in proc.stderr
