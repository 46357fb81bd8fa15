"""Issue 18 benchmark: `corpus mix` + `corpus pack --mix` next to `corpus pack` alone, on the same curated run,
one core each (RAYON_NUM_THREADS=1, --workers 1), end to end (Ray start-up included) and stage time only.

The mixture is zh 50% / en 50% with maths x3 and no budget (the largest mixture no group needs a second pass
for), so its token count is close to the source's. `corpus mix` tokenizes once and keeps the ids, and
`pack --mix` packs from them, so mix + pack should cost about one tokenization plus the Parquet shuffle.

    python bench/mix_bench.py CURATED_RUN OUT_FOLDER
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ONE_CORE = {**os.environ, "RAYON_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
SPEC = {"name": "bench", "seed": 0, "select": {"best": "fluency_score"}, "max_epochs": 4,
        "groups": [{"name": "zh", "where": {"lang": "zh"}, "share": 0.5}, {"name": "en", "where": {"lang": "en"}, "share": 0.5}],
        "boost": [{"where": {"domain_tag": "maths"}, "factor": 3}]}


def _corpus(*args: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "corpus", *args, "--workers", "1"], env=ONE_CORE, check=True, capture_output=True, text=True)
    return time.perf_counter() - t0


def main(corpus: Path, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    for d in ("alone", "mix", "mix-packed"):
        shutil.rmtree(out / d, ignore_errors=True)
    spec = out / "mix-bench.yaml"
    import pyarrow.parquet as pq

    have = set(pq.read_schema(sorted((corpus / "data").glob("*.parquet"))[0]).names)
    doc = {**SPEC, "sources": [str(corpus.resolve())]}
    if "domain_tag" not in have:  # a spine-only run (make bench's) has no domain tags or quality scores
        doc.pop("boost")
    if "fluency_score" not in have:
        doc["select"] = "random"
    spec.write_text(yaml.safe_dump(doc))
    wall_alone = _corpus("pack", str(corpus), "--out", str(out / "alone"), "--seq-len", "2048")
    wall_mix = _corpus("mix", str(spec), "--out", str(out / "mix"))
    wall_pack = _corpus("pack", str(out / "mix"), "--mix", "--out", str(out / "mix-packed"), "--seq-len", "2048")
    alone = json.loads((out / "alone" / "manifest.json").read_text())
    mix = json.loads((out / "mix" / "mix.json").read_text())
    packed = json.loads((out / "mix-packed" / "manifest.json").read_text())
    src_tokens = sum(s["tokens"] for s in mix["sources"])
    mix_tokens = packed["totals"]["tokens"]
    stage_alone = sum(s["stats"]["wall_s"] for s in alone["shards"])
    stage_pack = sum(s["stats"]["wall_s"] for s in packed["shards"])
    stage_mix = mix["wall_s"]["scan"] + mix["wall_s"]["plan"] + mix["wall_s"]["shuffle"]
    rows = [
        ("corpus pack alone, end to end", alone["totals"]["tokens"] / wall_alone),
        ("corpus pack alone, shard time", alone["totals"]["tokens"] / stage_alone),
        ("corpus mix (scan + plan + shuffle), end to end", src_tokens / wall_mix),
        ("corpus pack --mix (from cached ids), end to end", mix_tokens / wall_pack),
        ("corpus pack --mix, shard time", mix_tokens / stage_pack),
        ("mix + pack --mix, end to end", mix_tokens / (wall_mix + wall_pack)),
        ("mix + pack --mix, stage time", mix_tokens / (stage_mix + stage_pack)),
    ]
    shares = ", ".join(f"{g['name']} {g['share']:.1%}" for g in mix["groups"])
    print(f"\nmix + pack: {src_tokens:,} source tokens → mixture of {mix_tokens:,} tokens "
          f"({shares}), deepseek tokenizer, seq_len 2048, one core")
    for name, rate in rows:
        print(f"{name:<52}{rate:>14,.0f} tokens/s/core")
    print(f"mix + pack / pack alone: {rows[5][1] / rows[0][1]:.0%} end to end, {rows[6][1] / rows[1][1]:.0%} stage time "
          f"(mix stages: scan {mix['wall_s']['scan']:.1f}s, plan {mix['wall_s']['plan']:.2f}s, shuffle {mix['wall_s']['shuffle']:.1f}s)")
    return {"source_tokens": src_tokens, "mix_tokens": mix_tokens, "wall_s": {"pack_alone": wall_alone, "mix": wall_mix,
            "pack_mix": wall_pack}, "stage_s": {"pack_alone": stage_alone, "mix": mix["wall_s"], "pack_mix": stage_pack},
            "rates": dict(rows)}


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), Path(sys.argv[2])), indent=1))
