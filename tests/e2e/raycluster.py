"""A real multi-node Ray cluster on this machine, started with `ray start`, stopped without touching others.

`ray stop` would also kill the test session's embedded Ray, so the cluster gets its own temp dir and is
stopped by killing exactly the processes that carry that dir, and their children.

Its environment is explicit: by default token auth with a token of its own (so nothing depends on a
~/.ray/auth_token left by something else); `Cluster(environ=clean_env(HOME=...))` is a plain `ray start` as a
user would type it, whose auth mode Ray decides from that HOME's ~/.ray/auth_token.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict:
    """This process's environment without any Ray address or auth setting (the test session's embedded
    Ray puts its own token in os.environ), plus ``extra``."""
    e = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")}
    e.update(RAY_USAGE_STATS_ENABLED="0", **extra)
    return e


def token_env() -> dict:
    """Token auth with a fresh token: what a secured cluster and the drivers that join it share."""
    return clean_env(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))


class Cluster:
    def __init__(self, nodes: int = 2, cpus_per_node: int = 1, environ: dict | None = None, temp: str | None = None,
                 node_env: list[dict] | None = None) -> None:
        """``node_env``: variables for each node on top of ``environ`` (its workers inherit them), e.g. a cache
        folder of its own, as machines without a shared disk have."""
        self.env = environ if environ is not None else token_env()  # drivers that join run with self.env
        extra = (node_env or []) + [{}] * nodes
        # short: Ray's socket paths must fit 107 bytes
        self.temp = temp or tempfile.mkdtemp(prefix="rc", dir="/tmp")
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        common = ["--num-cpus", str(cpus_per_node), "--object-store-memory", str(200 * 2**20), "--disable-usage-stats"]
        self._ray("start", "--head", f"--port={self.port}", "--node-ip-address=127.0.0.1", "--include-dashboard=false",
                  f"--temp-dir={self.temp}", *common, env=extra[0])
        for k in range(1, nodes):
            self._ray("start", f"--address={self.address}", *common, env=extra[k])

    def _ray(self, *args: str, env: dict | None = None) -> None:
        proc = subprocess.run([str(BIN / "ray"), *args], env={**self.env, **(env or {})}, capture_output=True, text=True,
                              timeout=120)
        if proc.returncode:
            self.stop()
            raise RuntimeError(f"ray {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")

    def _pids(self) -> set[int]:
        roots, parents = set(), {}
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                if self.temp.encode() in (d / "cmdline").read_bytes():
                    roots.add(int(d.name))
                parents[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
        me = os.getpid()
        while me > 1:  # never the caller or its ancestors, whatever their command line says
            roots.discard(me)
            me = parents.get(me, 1)
        found = set(roots)
        grew = True
        while grew:
            kids = {p for p, pp in parents.items() if pp in found} - found
            found |= kids
            grew = bool(kids)
        return found

    def stop(self) -> None:
        for _ in range(3):
            pids = self._pids()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.5)
