"""Run a command and sample the resident memory of its whole process tree (Ray's raylet and workers are
descendants of the driver), so peak memory is measured the same way for us and for a peer tool.

Two sums: RSS, which counts a page shared by several processes (the Python interpreter, numpy, Ray's 40 MB
_raylet.so mapped by every Ray process, the object store) once per process, an upper bound that penalises a tree
of many processes; and PSS (proportional set size, /proc/PID/smaps_rollup), which splits each shared page among
the processes that map it, so the tree's PSS is what it really holds in memory."""

from __future__ import annotations

import os
import subprocess
import threading
import time


def _tree_pids(root: int) -> list[int]:
    """``root`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as fh:
                children.setdefault(int(fh.read().rsplit(")", 1)[1].split()[1]), []).append(int(name))
        except (OSError, IndexError, ValueError):
            continue
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def _pss(pid: int) -> int:
    """Proportional set size in bytes (0 if the process is gone or the kernel has no smaps_rollup)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _tree_rss(root: int) -> list[int]:
    """RSS in bytes of ``root`` and all its descendants."""
    return list(tree_rss(root).values())


def tree_rss(root: int) -> dict[int, int]:
    """pid -> RSS in bytes of ``root`` and all its descendants."""
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
    out, todo = {}, [root]
    while todo:
        pid = todo.pop()
        out[pid] = rss.get(pid, 0)
        todo += children.get(pid, [])
    return out


def _name(pid: int) -> str:
    """A short name for a process: a Ray worker's title (``ray::verify``, ``ray::IDLE``), else its script or program."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = [a.decode(errors="replace") for a in fh.read().split(b"\0") if a]
    except OSError:
        return "?"
    if not argv:
        return "?"
    if argv[0].startswith("ray::"):
        return argv[0].split()[0]
    prog = os.path.basename(argv[0])
    if prog.startswith("python") and len(argv) > 1:
        script = next((a for a in argv[1:] if not a.startswith("-")), argv[1])
        return f"{prog} {os.path.basename(script)}"[:40]
    return prog[:40]


def measure(cmd: list[str], env: dict | None = None, interval: float = 0.2) -> dict:
    """Wall seconds, stdout, stderr, peak MB of the largest single process and of the tree (RSS: shared pages counted
    once per process that maps them, an upper bound; PSS: split), ``started`` (epoch seconds) and ``timeline``:
    (epoch seconds, largest process, tree RSS, tree PSS in bytes, the largest process's name) per ``interval``, so
    peaks can be split by phase afterwards (bench/memtimeline.py)."""
    started, t0 = time.time(), time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    timeline: list[tuple[float, int, int, int, str]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            sizes = tree_rss(proc.pid)
            largest = max(sizes, key=sizes.__getitem__)
            pss = sum(_pss(pid) for pid in sizes)
            timeline.append((time.time(), sizes[largest], sum(sizes.values()), pss, _name(largest)))
            time.sleep(interval)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    out, err = proc.communicate()
    done.set()
    th.join()
    if proc.returncode:
        raise RuntimeError(f"{cmd[:3]} failed ({proc.returncode}): {err[-3000:]}")
    mb = 2**20
    return {"wall_s": time.perf_counter() - t0, "stdout": out, "stderr": err, "started": started, "timeline": timeline,
            "peak_proc_mb": max((s[1] for s in timeline), default=0) / mb,
            "peak_tree_mb": max((s[2] for s in timeline), default=0) / mb,
            "peak_tree_pss_mb": max((s[3] for s in timeline), default=0) / mb}
