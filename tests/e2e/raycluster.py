"""A real multi-node Ray cluster on this machine, started with `ray start`, stopped without touching others.

`ray stop` would also kill the test session's embedded Ray, so the cluster gets its own temp dir and is
stopped by killing exactly the processes that carry that dir, and their children.
"""

from __future__ import annotations

import os
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


def env() -> dict:
    e = dict(os.environ)
    e.update(RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="token")  # `ray start --address` needs the mode spelled out
    e.pop("RAY_ADDRESS", None)
    return e


class Cluster:
    def __init__(self, nodes: int = 2, cpus_per_node: int = 1) -> None:
        self.temp = tempfile.mkdtemp(prefix="rc", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        common = ["--num-cpus", str(cpus_per_node), "--object-store-memory", str(200 * 2**20), "--disable-usage-stats"]
        self._ray("start", "--head", f"--port={self.port}", "--node-ip-address=127.0.0.1", "--include-dashboard=false",
                  f"--temp-dir={self.temp}", *common)
        for _ in range(nodes - 1):
            self._ray("start", f"--address={self.address}", *common)

    def _ray(self, *args: str) -> None:
        proc = subprocess.run([str(BIN / "ray"), *args], env=env(), capture_output=True, text=True, timeout=120)
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
