"""Issue 3 benchmark: keep/drop agreement with datatrove per filter (default thresholds, English docs),
and the cost of all rule filters next to extraction per document."""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from pathlib import Path

import pyarrow as pa

from filters.c4 import C4
from filters.fineweb import FineWeb
from filters.gopher import GopherQuality, GopherRepetition
from filters.abnormal import Abnormal

ROOT = Path(__file__).resolve().parent.parent
FILTERS = {"gopher_quality": GopherQuality, "gopher_repetition": GopherRepetition, "c4": C4, "fineweb": FineWeb}


def agreement(docs: list[dict], out: Path, label: str) -> dict:
    path = out / f"agree-{label}.jsonl"
    path.write_text("".join(json.dumps({"id": d["id"], "text": d["text"]}) + "\n" for d in docs))
    proc = subprocess.run([str(ROOT / ".bench-venv/bin/python"), str(ROOT / "bench/peer_rules.py"), str(path)],
                          check=True, capture_output=True, text=True)
    peer = {r["id"]: r for r in map(json.loads, proc.stdout.splitlines())}
    table = pa.table({"id": [d["id"] for d in docs], "text": [d["text"] for d in docs], "lang": ["en"] * len(docs)})
    result = {}
    for name, cls in FILTERS.items():
        step = cls(cls.Params(label_only=True))
        flags = step(table).column(f"{name}_flag").to_pylist()
        pairs = Counter()
        examples = {}
        for d, ours in zip(docs, flags):
            theirs = peer[d["id"]][name]
            key = ("drop" if ours else "keep", "drop" if theirs else "keep")
            pairs[key] += 1
            if key[0] != key[1]:
                examples.setdefault(key, []).append((d["id"], ours, theirs))
        agree = (pairs[("keep", "keep")] + pairs[("drop", "drop")]) / len(docs)
        result[name] = {"agreement": agree, "pairs": {f"ours_{a}/dt_{b}": n for (a, b), n in pairs.items()},
                        "disagreements": {f"ours_{a}/dt_{b}": v[:5] for (a, b), v in examples.items()}}
    return result


def rule_cost(docs: list[dict], extraction_s_per_doc: float) -> tuple[float, float]:
    table = pa.table({"id": [d["id"] for d in docs], "text": [d["text"] for d in docs], "lang": [d["lang"] for d in docs]})
    steps = [cls(cls.Params(label_only=True)) for cls in (*FILTERS.values(), Abnormal)]
    t0 = time.perf_counter()
    for step in steps:
        step(table)
    per_doc = (time.perf_counter() - t0) / len(docs)
    return per_doc, per_doc / extraction_s_per_doc
