"""Issue 8 benchmark: tokens/s per core of `corpus pack` next to the bare tokenizer's batch speed (the
ceiling) and a Megatron preprocess_data-style loop, on the same curated text. Every measurement runs with
RAYON_NUM_THREADS=1 so "per core" means one core."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ONE_CORE = {**os.environ, "RAYON_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


def _measure(corpus: Path) -> None:
    """Runs in a child process (so the thread limit applies before tokenizers loads)."""
    import numpy as np
    import pyarrow.dataset as ds

    from corpus.pack.tokenizer import load

    texts = ds.dataset(str(corpus / "data"), format="parquet").to_table(columns=["text"]).column("text").to_pylist()
    tok = load("deepseek")
    t0 = time.perf_counter()
    n_tokens = 0
    for i in range(0, len(texts), 256):
        n_tokens += sum(len(e.ids) for e in tok.tokenizer.encode_batch(texts[i : i + 256], add_special_tokens=False))
    bare = time.perf_counter() - t0
    # Megatron-LM tools/preprocess_data.py style: one document at a time, Python lists, then one array
    t0 = time.perf_counter()
    stream: list[int] = []
    sizes: list[int] = []
    for text in texts:
        ids = tok.tokenizer.encode(text, add_special_tokens=False).ids + [tok.eos_id]
        stream.extend(ids)
        sizes.append(len(ids))
    np.array(stream, dtype=np.int32).tofile(os.devnull)
    loop = time.perf_counter() - t0
    print(json.dumps({"docs": len(texts), "tokens": n_tokens, "bare_s": bare, "loop_s": loop, "loop_tokens": len(stream)}))


def main(corpus: Path, out: Path) -> dict:
    proc = subprocess.run([sys.executable, __file__, "measure", str(corpus)], env=ONE_CORE, check=True, capture_output=True, text=True)
    base = json.loads(proc.stdout.strip().splitlines()[-1])
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "corpus", "pack", str(corpus), "--out", str(out), "--seq-len", "2048",
                    "--workers", "1"], env=ONE_CORE, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    manifest = json.loads((out / "manifest.json").read_text())
    tokens = manifest["totals"]["tokens"]
    stage = sum(s["stats"]["wall_s"] for s in manifest["shards"])
    rows = [("bare tokenizer encode_batch (ceiling)", base["tokens"] / base["bare_s"]),
            ("corpus pack, end to end (Ray start-up included)", tokens / wall),
            ("corpus pack, shard time only", tokens / stage),
            ("Megatron-style loop (per document, Python lists)", base["loop_tokens"] / base["loop_s"])]
    print(f"\ntokenize-and-pack: {base['docs']:,} curated documents, {tokens:,} tokens (incl. EOS), deepseek tokenizer, "
          f"seq_len 2048, bfd, one core, packed on: {manifest['shards'][0]['stats']['device']}")
    for name, rate in rows:
        print(f"{name:<52}{rate:>14,.0f} tokens/s/core")
    print(f"corpus pack / bare tokenizer: {rows[1][1] / rows[0][1]:.0%} end to end, {rows[2][1] / rows[0][1]:.0%} shard time (target >= 85%)")
    print(f"corpus pack / Megatron-style loop: {rows[1][1] / rows[3][1]:.2f}x end to end")
    return {"baseline": base, "pack_wall_s": wall, "pack_stage_s": stage, "tokens": tokens}


if __name__ == "__main__":
    if sys.argv[1] == "measure":
        _measure(Path(sys.argv[2]))
    else:
        print(json.dumps(main(Path(sys.argv[1]), Path(sys.argv[2]))))
