"""Issue 8, GPU path: the packing arithmetic on the GPU against the CPU on the same windows, and
`corpus pack --device cuda` against `--device cpu` end to end on all cores, with every output file compared
byte for byte. Runs anywhere; without a CUDA GPU it measures the CPU side and says so.

    python bench/pack_gpu.py CURATED_DIR WORK_DIR [--copies N] [--shards N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.dataset as ds
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from corpus.pack import packing  # noqa: E402
from corpus.pack.tokenizer import load  # noqa: E402


def _timed(fn, repeat: int = 3) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return best, out


def arithmetic(docs: list[np.ndarray], seq_len: int, windows: list[int]) -> list[dict]:
    """Time pack_bfd/pack_concat per window size on each device; the outputs must be identical."""
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows = []
    for w in windows:
        window = (docs * (w // len(docs) + 1))[:w]
        n_tokens = sum(len(d) for d in window)
        for mode in ("bfd", "concat"):
            def run(dev):
                return (packing.pack_bfd(window, seq_len + 1, 0, dev) if mode == "bfd"
                        else packing.pack_concat(window, seq_len + 1, dev))
            if "cuda" in devices:
                run("cuda")  # CUDA context and kernels warm before timing
            results = {dev: _timed(lambda: run(dev)) for dev in devices}
            cpu = results["cpu"][1]
            same = all(r[1].tokens.tobytes() == cpu.tokens.tobytes() and r[1].segments == cpu.segments
                       for r in results.values())
            rows.append({"window_docs": w, "mode": mode, "tokens": n_tokens, "identical": same,
                         **{f"{dev}_ms": round(r[0] * 1e3, 2) for dev, r in results.items()}})
    return rows


def end_to_end(curated: Path, work: Path, copies: int, shards: int, seq_len: int) -> dict:
    """`corpus pack` over ``copies`` copies of the curated documents cut into ``shards`` shards, once per
    device, on all cores."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    src = work / "pack-gpu-input" / "data"
    shutil.rmtree(src.parent, ignore_errors=True)
    src.mkdir(parents=True)
    table = ds.dataset(str(curated / "data"), format="parquet").to_table(columns=["id", "text"])
    table = pa.concat_tables([table] * copies)
    per = -(-table.num_rows // shards)
    for k in range(shards):
        pq.write_table(table.slice(k * per, per), src / f"part-{k:05d}.parquet")
    out: dict = {}
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for dev in devices:
        dest = work / f"packed-{dev}"
        shutil.rmtree(dest, ignore_errors=True)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "corpus", "pack", str(src.parent), "--out", str(dest), "--seq-len",
                        str(seq_len), "--device", dev], check=True, cwd=ROOT)
        wall = time.perf_counter() - t0
        m = json.loads((dest / "manifest.json").read_text())
        out[dev] = {"wall_s": round(wall, 2), "tokens": m["totals"]["tokens"], "samples": m["totals"]["samples"],
                    "shard_s": round(sum(s["stats"]["wall_s"] for s in m["shards"]), 2),
                    "devices_seen": sorted({s["stats"]["device"] for s in m["shards"]}),
                    "files": {n: f["sha256"] for s in m["shards"] for n, f in s["files"].items()}}
    if "cuda" in out:
        out["identical_files"] = out["cpu"]["files"] == out["cuda"]["files"]
        out["n_files"] = len(out["cpu"]["files"])
    for dev in devices:
        out[dev].pop("files")
    return out


def bare_all_cores(texts: list[str], copies: int) -> float:
    """The ceiling for all cores: one process, the tokenizer's own thread pool, the same documents."""
    tok = load("deepseek")
    t0, n = time.perf_counter(), 0
    for _ in range(copies):
        for i in range(0, len(texts), 256):
            n += sum(len(e.ids) + 1 for e in tok.tokenizer.encode_batch(texts[i : i + 256], add_special_tokens=False))
    return n / (time.perf_counter() - t0)


def main(curated: Path, work: Path, copies: int = 16, shards: int = 64, seq_len: int = 2048) -> dict:
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    print(f"\ntokenize-and-pack on every core: GPU {gpu}; {os.cpu_count()} CPU cores; torch {torch.__version__}")
    texts = ds.dataset(str(curated / "data"), format="parquet").to_table(columns=["text"]).column("text").to_pylist()
    tok = load("deepseek")
    docs = [np.array(e.ids + [tok.eos_id], dtype=np.int64) for e in tok.tokenizer.encode_batch(texts, add_special_tokens=False)]
    print(f"{len(docs):,} curated documents, {sum(map(len, docs)):,} tokens; seq_len {seq_len}")
    rows = arithmetic(docs, seq_len, [4096, 32768])
    print(f"packing arithmetic alone:\n{'window docs':>11} {'mode':>6} {'tokens':>11} {'cpu ms':>9} {'cuda ms':>9} {'identical':>9}")
    for r in rows:
        print(f"{r['window_docs']:>11,} {r['mode']:>6} {r['tokens']:>11,} {r['cpu_ms']:>9} {r.get('cuda_ms', '-'):>9} {str(r['identical']):>9}")
    ceiling = bare_all_cores(texts, copies)
    e2e = end_to_end(curated, work, copies, shards, seq_len)
    print(f"corpus pack end to end on all cores, {copies} copies in {shards} shards (Ray start-up included):")
    print(f"  bare encode_batch, one process, all cores (ceiling): {ceiling:,.0f} tokens/s")
    for dev in ("cpu", "cuda"):
        if dev in e2e:
            d = e2e[dev]
            rate = d["tokens"] / d["wall_s"]
            print(f"  --device {dev:<5} {d['tokens']:,} tokens in {d['wall_s']} s = {rate:,.0f} tokens/s = {rate / ceiling:.0%} of the "
                  f"ceiling (packed on {d['devices_seen']})")
    if "identical_files" in e2e:
        print(f"  all {e2e['n_files']} output files byte-identical between cpu and cuda: {e2e['identical_files']}")
    if not all(r["identical"] for r in rows) or e2e.get("identical_files") is False:
        sys.exit("GPU and CPU outputs differ")
    return {"gpu": gpu, "arithmetic": rows, "ceiling_tokens_per_s": ceiling, "end_to_end": e2e}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("curated", type=Path)
    ap.add_argument("work", type=Path)
    ap.add_argument("--copies", type=int, default=16, help="copies of the curated documents (default 16)")
    ap.add_argument("--shards", type=int, default=64, help="shards they are cut into (default 64)")
    ap.add_argument("--seq-len", type=int, default=2048)
    a = ap.parse_args()
    print(json.dumps(main(a.curated, a.work, a.copies, a.shards, a.seq_len)))
