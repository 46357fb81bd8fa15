"""Peak memory of a command's whole process tree, per phase: ``memwatch.measure`` keeps only the peaks of a run, and
a 1M-document dedup run's peak could come from the shard workers, the plan's tasks or Ray itself. This samples the
same sums (tree RSS, tree PSS, largest process) as memwatch, with wall-clock times, so that the peaks can be split
afterwards at phase boundaries the run leaves behind (its own timings, its files' modification times); and which
process was the largest (Ray names a worker after its task, ``ray::verify``), so a peak can be put on the driver, a
plan task or Ray itself.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time

from memwatch import _pss, tree_rss





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
    """As ``memwatch.measure`` (wall seconds, stdout, stderr, peak MB of the largest process, the tree's RSS and PSS),
    plus ``started`` (epoch seconds when the command was started) and ``timeline``: (epoch seconds, largest process,
    tree RSS, tree PSS in bytes, the largest process's name), one sample per ``interval``."""
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


def phase_peaks(timeline: list[tuple[float, int, int, int, str]], ends: list[tuple[str, float]]) -> list[dict]:
    """Per phase (name, end in epoch seconds; each begins where the one before ended, the first at the first sample,
    the last ends with the timeline): its wall seconds, samples, peak MB of the largest process (and its name),
    tree RSS and PSS. A phase shorter than the sampling interval may hold no sample: its peaks are then None."""
    out, begin = [], timeline[0][0] if timeline else 0.0
    for name, end in ends:
        inside = [s for s in timeline if begin <= s[0] < end]
        mb = 2**20
        out.append({"phase": name, "wall_s": max(0.0, end - begin), "samples": len(inside),
                    "peak_proc_mb": max(s[1] for s in inside) / mb if inside else None,
                    "largest": max(inside, key=lambda s: s[1])[4] if inside else None,
                    "peak_tree_mb": max(s[2] for s in inside) / mb if inside else None,
                    "peak_tree_pss_mb": max(s[3] for s in inside) / mb if inside else None})
        begin = max(begin, end)
    return out
