"""Human review bench: the per-reason drop precision of the shipped curator labels (tests/data/review_labels.parquet,
245 documents of the shared crawl labelled by reading them), and the report's speed at scale.

    .venv/bin/python bench/review_bench.py                       # the precision table from the labels alone
    .venv/bin/python bench/review_bench.py --run out/crawl       # + counts from that run (the shared crawl, default recipe)
    .venv/bin/python bench/review_bench.py --run out/crawl --copies 300   # + report time on the run's Parquet copied 300x
    .venv/bin/python bench/review_bench.py --run out/crawl --copies 1000 --scaled /tmp/x1000 --repeat 3   # keep the copy, time 3x

The scale test copies the run's data/ and rejected/ files (ids, and the dup_of that points at a kept duplicate, made
unique per copy) into a temporary folder (or --scaled DIR, reused when it already holds that many copies) and
times `corpus report` on it: aggregation over every row, plots, samples, per-domain table and length histogram.
The shared crawl's run has 2,972 rows (990 documents, the rest the read ledger's metadata and request records),
so --copies 1000 is about 1M documents in 3M rows.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "data" / "review_labels.parquet"


def scale_copy(run: Path, dest: Path, copies: int) -> int:
    """The run's Parquet, each file written ``copies`` times with ids (and dup_of, so that a dropped duplicate's kept
    one is in the same copy, as in a real run) suffixed; returns the rows written."""
    for name in ("manifest.json", "stats.json"):
        shutil.copy(run / name, dest / name)
    rows = 0
    for sink in ("data", "rejected"):
        (dest / sink).mkdir(parents=True)
        for f in sorted((run / sink).glob("*.parquet")):
            t = pq.read_table(f)
            for k in range(copies):
                c = t
                for col in ("id", "dup_of"):
                    if col in c.schema.names:
                        c = c.set_column(c.schema.get_field_index(col), col, pc.binary_join_element_wise(c.column(col), pa.scalar(f"-{k}"), ""))
                pq.write_table(c, dest / sink / f"{f.stem}-{k:05d}.parquet")
                rows += len(t)
    return rows


def scaled(run: Path, dest: Path, copies: int) -> int:
    """``dest`` holding the run copied ``copies`` times, made unless it already does; returns its rows."""
    stamp = dest / "scaled.json"
    want = {"run": str(run.resolve()), "copies": copies}
    if stamp.is_file() and {k: v for k, v in json.loads(stamp.read_text()).items() if k != "rows"} == want:
        return json.loads(stamp.read_text())["rows"]
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    rows = scale_copy(run, dest, copies)
    stamp.write_text(json.dumps(want | {"rows": rows}))
    return rows


def time_report(folder: Path, rows: int, label: str, repeat: int) -> None:
    """Build the report ``repeat`` times (this machine is shared: the spread says how far one number can be trusted)."""
    from corpus.report import build

    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        build(folder)
        times.append(time.perf_counter() - t0)
    print(f"\nreport over {rows:,} rows ({label}): " + ", ".join(f"{t:.1f}" for t in times) + " s"
          + (f" (best {min(times):.1f} s)" if repeat > 1 else ""))


def main() -> None:
    from corpus.review import metrics, store
    from corpus.review.rundocs import RunView

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--labels", default=str(FIXTURE), help="labels file (default: the shipped fixture)")
    ap.add_argument("--run", default=None, help="a run of the shared crawl with the default recipe (counts, good lost)")
    ap.add_argument("--copies", type=int, default=0, help="time the report on the run copied this many times")
    ap.add_argument("--scaled", default=None, help="keep the copies in this folder (reused by the next call) instead of a temporary one")
    ap.add_argument("--repeat", type=int, default=1, help="build the report this many times and print each time")
    args = ap.parse_args()

    labels = store.read(args.labels)
    view = RunView(args.run) if args.run else None
    summary = metrics.summarize(labels, view)
    print(metrics.text(summary))
    if view is not None:
        from corpus.review import evalmodels

        print()
        print(evalmodels.text(evalmodels.evaluate(args.labels, args.run)))
    if args.run and args.copies:
        label = f"{args.copies} copies of {args.run}"
        if args.scaled:
            time_report(Path(args.scaled), scaled(Path(args.run), Path(args.scaled), args.copies), label, args.repeat)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                time_report(Path(tmp), scale_copy(Path(args.run), Path(tmp), args.copies), label, args.repeat)


if __name__ == "__main__":
    main()
