"""Ray's fixed cost in a `corpus run`, with and without the lean embedded start (corpus/ray_exec.py).

    .venv/bin/python bench/ray_overhead.py [--cpus 1,2] [--repeat 3] [--json FILE]

Each measurement is a fresh child process that imports ray_exec, starts the embedded Ray (``ray_exec.init``),
creates one actor and runs one task on it, runs a zero-CPU task, samples the resident memory of the whole
process tree (driver, GCS, raylet, agents, workers: RSS and PSS, as bench/memwatch.py does), and shuts Ray down. The two
configurations alternate (full, lean, full, lean, ...) so a busy machine weighs on both alike; the table
shows each figure's range. CORPUS_RAY_FULL=1 is the switch that brings Ray's usual helper processes back.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from memwatch import _pss, _tree_pids, _tree_rss  # noqa: E402


def child(cpus: int) -> None:
    t0 = time.perf_counter()
    import ray

    from corpus import ray_exec

    t1 = time.perf_counter()
    ray_exec.init(num_cpus=cpus)
    t2 = time.perf_counter()

    @ray.remote(num_cpus=1)
    class Probe:
        def pid(self) -> int:
            return os.getpid()

    probe = Probe.remote()
    ray.get(probe.pid.remote())
    ray.get(ray.remote(num_cpus=0)(lambda: 1).remote())
    t3 = time.perf_counter()
    time.sleep(2.0)  # let idle workers, if any are prestarted, come up before the sample
    sizes = _tree_rss(os.getpid())
    pss = sum(_pss(pid) for pid in _tree_pids(os.getpid()))
    t4 = time.perf_counter()
    ray_exec.shutdown()
    t5 = time.perf_counter()
    print(json.dumps({"import_s": t1 - t0, "init_s": t2 - t1, "first_actor_s": t3 - t2, "shutdown_s": t5 - t4,
                      "tree_mb": sum(sizes) / 2**20, "tree_pss_mb": pss / 2**20, "processes": len(sizes)}))


def main() -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cpus", default="1,2")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return {}
    results: dict[str, list[dict]] = {}
    for cpus in (int(c) for c in args.cpus.split(",")):
        for _ in range(args.repeat):
            for mode in ("full", "lean"):
                env = {**os.environ, "PYTHONPATH": str(ROOT), "CORPUS_RAY_FULL": "1" if mode == "full" else "0"}
                proc = subprocess.run([sys.executable, __file__, "--child", str(cpus)], capture_output=True, text=True,
                                      env=env, cwd=ROOT, timeout=300)
                if proc.returncode:
                    sys.exit(f"{mode} with {cpus} CPU(s) failed: {proc.stderr.strip()[-2000:]}")
                results.setdefault(f"{mode} cpus={cpus}", []).append(json.loads(proc.stdout.strip().splitlines()[-1]))
    keys = ("init_s", "first_actor_s", "shutdown_s", "tree_mb", "tree_pss_mb", "processes")
    print(f"{'':<16}" + "".join(f"{k:>15}" for k in keys))
    for name, runs in results.items():
        cells = []
        for k in keys:
            lo, hi = min(r[k] for r in runs), max(r[k] for r in runs)
            cells.append(f"{lo:.0f}" + (f"–{hi:.0f}" if round(hi) != round(lo) else "") if k in ("tree_mb", "tree_pss_mb", "processes")
                         else f"{lo:.2f}–{hi:.2f}")
        print(f"{name:<16}" + "".join(f"{c:>15}" for c in cells))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
