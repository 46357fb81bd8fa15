"""Run a command and sample the resident memory of its whole process tree (Ray's raylet and workers are
descendants of the driver), so peak memory is measured the same way for us and for a peer tool."""

from __future__ import annotations

import os
import subprocess
import threading
import time


def _tree_rss(root: int) -> list[int]:
    """RSS in bytes of ``root`` and all its descendants."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(name))
            rss[int(name)] = int(fields[21]) * page
        except (OSError, IndexError, ValueError):
            continue
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(rss.get(pid, 0))
        todo += children.get(pid, [])
    return out


def measure(cmd: list[str], env: dict | None = None, interval: float = 0.2) -> dict:
    """Returns wall seconds, stdout, peak RSS of the largest single process and of the tree (MB). The tree
    figure counts shared pages (Ray's object store) once per process that maps them: an upper bound."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = {"proc": 0, "tree": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            sizes = _tree_rss(proc.pid)
            peak["proc"] = max(peak["proc"], max(sizes, default=0))
            peak["tree"] = max(peak["tree"], sum(sizes))
            time.sleep(interval)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    out, err = proc.communicate()
    done.set()
    th.join()
    if proc.returncode:
        raise RuntimeError(f"{cmd[:3]} failed ({proc.returncode}): {err[-3000:]}")
    return {"wall_s": time.perf_counter() - t0, "stdout": out, "stderr": err,
            "peak_proc_mb": peak["proc"] / 2**20, "peak_tree_mb": peak["tree"] / 2**20}
