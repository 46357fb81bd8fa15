"""Where a `corpus run` spends its time: fixed start-up cost against stage time, ms/doc per stage, docs/s by workers.

    .venv/bin/python bench/perf_bench.py [--recipe pipelines/default.yaml] [--input 'GLOB'] [--workers 1,2]
    .venv/bin/python bench/perf_bench.py --stats DIR/stats.json     # only the per-stage table of a finished run

For each worker count the run happens in a fresh child process (as `corpus run` would), timed in phases:
interpreter + imports, Ray start-up (``ray_exec.init``, with ``--executor ray``), ``pipeline.run`` (workers'
creation, shards, global stages, commit) and Ray shutdown; the parent adds the process's own wall time and samples the peak RSS of the
child's whole process tree (driver, Ray's daemons, workers; bench/memwatch.py). Stage time is the sum of the
stages' ``wall_s`` in the summary (per-document stages summed over shards, so with two workers it can exceed
the run's wall time); the fixed cost of a run is its wall time minus ``pipeline.run``'s, plus whatever
``pipeline.run`` spends outside stages. Default input: the shared crawl's two WARC segments.

Per-stage table: ms/doc = stage wall_s / docs_in (CPU time of the worker that ran it: the stage's share of
one core per document), with the drop rate, so the next bottleneck is visible. No report is built
(``pipeline.run`` does not build it; the CLI does).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from memwatch import measure  # noqa: E402
CRAWL = ROOT.parent / "shared" / "data" / "crawl" / "segment-*.warc.gz"


def child(recipe: str, inputs: str, output: str, workers: int, executor: str) -> None:
    """The measured run; prints one JSON line of phase timings and the run's summary."""
    t0 = time.perf_counter()
    from corpus.pipeline import run

    t1 = time.perf_counter()
    if executor == "ray":  # imported only when used, as `corpus run` does
        from corpus import ray_exec

        ray_exec.init(num_cpus=workers)
    t2 = time.perf_counter()
    summary = run(recipe, [inputs], output, workers=workers, resume=False, log=lambda m: None, quiet=True,
                  executor=executor)
    t3 = time.perf_counter()
    if executor == "ray":
        ray_exec.shutdown()
    t4 = time.perf_counter()
    print(json.dumps({"import_s": t1 - t0, "ray_init_s": t2 - t1, "run_s": t3 - t2, "shutdown_s": t4 - t3,
                      "input_records": summary["input_records"], "kept": summary["kept"],
                      "stages": summary["stages"], "global": summary["global"]}, default=str))


def stage_table(stages: list[dict], glob: dict | None = None) -> list[dict]:
    """ms/doc and drop rate per stage from a run's summary or stats.json ``stages`` list."""
    rows = []
    for s in stages:
        n = s.get("docs_in") or 0
        wall = s.get("wall_s") or 0.0
        out = s.get("docs_out", n)
        rows.append({"stage": s.get("name") or s.get("stage"), "docs_in": n, "wall_s": wall,
                     "ms_per_doc": 1000 * wall / n if n else 0.0, "drop_rate": 1 - out / n if n else 0.0})
    for name, g in (glob or {}).items():
        if isinstance(g, dict) and "wall_s" in g:
            n = g.get("docs_in") or 0
            rows.append({"stage": f"{name} (global)", "docs_in": n, "wall_s": g["wall_s"],
                         "ms_per_doc": 1000 * g["wall_s"] / n if n else 0.0, "drop_rate": None})
    return rows


def print_stages(rows: list[dict]) -> None:
    print(f"  {'stage':<24}{'docs in':>9}{'wall s':>9}{'ms/doc':>9}{'dropped':>9}")
    for r in rows:
        drop = f"{r['drop_rate']:.1%}" if r["drop_rate"] is not None else "-"
        print(f"  {r['stage']:<24}{r['docs_in']:>9,}{r['wall_s']:>9.2f}{r['ms_per_doc']:>9.2f}{drop:>9}")


def main() -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recipe", default=str(ROOT / "pipelines" / "default.yaml"))
    ap.add_argument("--input", default=str(CRAWL))
    ap.add_argument("--workers", default="1,2", help="comma-separated worker (CPU) counts")
    ap.add_argument("--executor", default="local", choices=["local", "ray"], help="where shards run (default local)")
    ap.add_argument("--out", default=str(ROOT / "out" / "bench" / "perf"))
    ap.add_argument("--stats", help="print the per-stage table of this stats.json and stop")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.child[2], int(args.child[3]), args.child[4])
        return {}
    if args.stats:
        d = json.loads(Path(args.stats).read_text())
        print_stages(stage_table(d.get("stages", []), d.get("global")))
        return d
    results = {}
    for w in (int(x) for x in args.workers.split(",")):
        out = Path(args.out) / f"w{w}"
        shutil.rmtree(out, ignore_errors=True)
        try:
            m = measure([sys.executable, __file__, "--child", args.recipe, args.input, str(out), str(w), args.executor],
                        env={**os.environ, "PYTHONPATH": str(ROOT)})
        except RuntimeError as exc:
            sys.exit(f"run with {w} workers failed: {str(exc).strip().splitlines()[-1:]}")
        wall = m["wall_s"]
        r = json.loads(m["stdout"].strip().splitlines()[-1])
        rows = stage_table(r["stages"], r["global"])
        stage_s = sum(x["wall_s"] for x in rows)
        n = r["input_records"]
        fixed = wall - r["run_s"]
        r.update(workers=w, wall_s=wall, stage_s=stage_s, fixed_s=fixed, rows=rows, peak_tree_mb=m["peak_tree_mb"],
                 peak_tree_pss_mb=m["peak_tree_pss_mb"], peak_proc_mb=m["peak_proc_mb"])
        results[w] = r
        print(f"\n{w} worker(s), {args.executor}: {n:,} input records, {r['kept']:,} kept; wall {wall:.1f} s = interpreter+imports "
              f"{r['import_s']:.1f} + Ray start {r['ray_init_s']:.1f} + pipeline.run {r['run_s']:.1f} + Ray stop "
              f"{r['shutdown_s']:.1f} + process exit {wall - r['import_s'] - r['ray_init_s'] - r['run_s'] - r['shutdown_s']:.1f}")
        print(f"  stage time {stage_s:.1f} s (summed over shards); docs/s end to end {n / wall:.1f}, "
              f"on stage time {n / max(stage_s, 1e-9):.1f}; process tree peak RSS {m['peak_tree_mb']:.0f} MB, "
              f"PSS {m['peak_tree_pss_mb']:.0f} MB (largest process {m['peak_proc_mb']:.0f} MB)")
        print_stages(rows)
    if len(results) > 1:
        base = min(results)
        print("\nscaling (docs/s end to end, ratio to the smallest worker count):")
        for w, r in results.items():
            rate = r["input_records"] / r["wall_s"]
            print(f"  {w} worker(s): {rate:.1f} docs/s, x{rate / (results[base]['input_records'] / results[base]['wall_s']):.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    return results


if __name__ == "__main__":
    main()
