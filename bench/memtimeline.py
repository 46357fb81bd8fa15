"""Peak memory of a command's whole process tree, per phase: a 1M-document dedup run's peak could come from the
shard workers, the plan's tasks or Ray itself. ``memwatch.measure`` samples the tree with wall-clock times and
names the largest process (Ray names a worker after its task, ``ray::verify``); this splits its timeline at the
phase boundaries the run leaves behind (its own timings, its files' modification times).
"""

from __future__ import annotations

from memwatch import measure  # noqa: F401 - the sampler, re-exported beside the phase split



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
