"""Object storage against local disk, end to end (issue 16): the same WARCs and the same recipe, read from and
written to a real S3 API server on 127.0.0.1 (moto, the test suite's) and from and to local disk, in one run,
interleaved, each way ``--reps`` times. Prints wall seconds per way and throughput as a ratio of the local run
(target >= 0.90). The recipe is the default one, so extraction dominates, as it does on real crawls; moto on
loopback has no network latency, so this measures our overhead (uploads, cache, listings), not a link's.

    python bench/storage_bench.py [--reps 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from raycluster import clean_env  # noqa: E402
from s3server import S3Server  # noqa: E402

CRAWL = ROOT.parent / "shared" / "data" / "crawl"
BUCKET = "bench"


def run(args: list[str], env: dict, cwd: Path) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "corpus", "run", str(ROOT / "pipelines/default.yaml"), *args, "--no-report",
                           "--quiet", "--workers", "1"], env=env, cwd=cwd, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(proc.stderr[-3000:])
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    warcs = sorted(CRAWL.glob("*.warc.gz"))
    size = sum(p.stat().st_size for p in warcs)
    tmp = Path(tempfile.mkdtemp(prefix="storage-bench-"))
    server = S3Server()
    try:
        c = server.client()
        c.create_bucket(Bucket=BUCKET)
        for p in warcs:
            c.upload_file(str(p), BUCKET, f"crawl/{p.name}")
        base = clean_env(**server.env(), CORPUS_CACHE_DIR=str(tmp / "cache"))
        ways = {
            "local → local": lambda k: ["--input", *map(str, warcs), "--output", str(tmp / f"local{k}")],
            "s3 → s3": lambda k: ["--input", f"s3://{BUCKET}/crawl/*.warc.gz", "--output", f"s3://{BUCKET}/out{k}"],
        }
        walls: dict[str, list[float]] = {w: [] for w in ways}
        for k in range(a.reps):  # interleaved, so a busy moment costs both ways alike
            for way, argv in ways.items():
                walls[way].append(round(run(argv(k), base, tmp), 2))
        best = {w: min(v) for w, v in walls.items()}
        result = {"input_bytes": size, "files": len(warcs), "wall_s": walls,
                  "mb_per_s": {w: round(size / 1e6 / b, 3) for w, b in best.items()},
                  "s3_over_local_throughput": round(best["local → local"] / best["s3 → s3"], 3)}
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    for way, v in walls.items():
        print(f"{way:14s} wall {v} s  ({result['mb_per_s'][way]} MB/s of WARC, best run)")
    print(f"S3 in and out / local throughput: {result['s3_over_local_throughput']:.2f} (target >= 0.90)")
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
