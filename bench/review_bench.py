"""Human review bench: the per-reason drop precision of the shipped curator labels (tests/data/review_labels.parquet,
245 documents of the shared crawl labelled by reading them), and the report's speed at scale.

    .venv/bin/python bench/review_bench.py                       # the precision table from the labels alone
    .venv/bin/python bench/review_bench.py --run out/crawl       # + counts from that run (the shared crawl, default recipe)
    .venv/bin/python bench/review_bench.py --run out/crawl --copies 300   # + report time on the run's Parquet copied 300x

The scale test copies the run's data/ and rejected/ files (ids made unique per copy) into a temporary folder and
times `corpus report` on it: aggregation over every row, plots, samples, per-domain table and length histogram.
"""

from __future__ import annotations

import argparse
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
    """The run's Parquet, each file written ``copies`` times with ids suffixed; returns the rows written."""
    for name in ("manifest.json", "stats.json"):
        shutil.copy(run / name, dest / name)
    rows = 0
    for sink in ("data", "rejected"):
        (dest / sink).mkdir(parents=True)
        for f in sorted((run / sink).glob("*.parquet")):
            t = pq.read_table(f)
            for k in range(copies):
                ids = pc.binary_join_element_wise(t.column("id"), pa.scalar(f"-{k}"), "")
                pq.write_table(t.set_column(t.schema.get_field_index("id"), "id", ids), dest / sink / f"{f.stem}-{k:05d}.parquet")
                rows += len(t)
    return rows


def main() -> None:
    from corpus.review import metrics, store
    from corpus.review.rundocs import RunView

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--labels", default=str(FIXTURE), help="labels file (default: the shipped fixture)")
    ap.add_argument("--run", default=None, help="a run of the shared crawl with the default recipe (counts, good lost)")
    ap.add_argument("--copies", type=int, default=0, help="time the report on the run copied this many times")
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
        from corpus.report import build

        with tempfile.TemporaryDirectory() as tmp:
            rows = scale_copy(Path(args.run), Path(tmp), args.copies)
            t0 = time.perf_counter()
            build(tmp)
            print(f"\nreport over {rows:,} rows ({args.copies} copies of {args.run}): {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
