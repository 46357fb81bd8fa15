"""Issue 3 benchmark: keep/drop agreement with datatrove per filter (default thresholds, English docs),
and the cost of all rule filters next to extraction per document.

`make bench` calls ``agreement`` and ``rule_cost`` from bench/run.py. On its own it prints the agreement
table alone, on the English documents of the spine recipe (read, extract, langid, format) run over the
shared crawl and over the project's own sample, without the rest of the bench:

    .venv/bin/python bench/rules_agreement.py [--out DIR]

It needs datatrove's venv (.bench-venv, bench/setup_peer.sh, which downloads from PyPI).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pyarrow as pa

from filters.c4 import C4
from filters.fineweb import FineWeb
from filters.gopher import GopherQuality, GopherRepetition
from filters.abnormal import Abnormal

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data" / "crawl"
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


def english_docs(inputs: list[str], out: Path) -> list[dict]:
    """The English documents of a spine run (pipelines/spine.yaml) over ``inputs``."""
    import pyarrow.dataset as ds

    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([str(Path(sys.executable).parent / "corpus"), "run", str(ROOT / "pipelines/spine.yaml"), "--input", *inputs,
                    "--output", str(out), "--quiet"], check=True, capture_output=True, text=True)
    rows = ds.dataset(str(out / "data"), format="parquet").to_table(columns=["id", "text", "lang"]).to_pylist()
    return [r for r in rows if r["lang"] == "en"]


def report(out: Path) -> dict:
    """Per filter, keep/drop agreement with datatrove on the English documents of the shared crawl and of the
    project's own sample, printed as a table with an example of each kind of disagreement."""
    from corpus.sample import write_sample

    out.mkdir(parents=True, exist_ok=True)
    sets = {}
    if SHARED.is_dir():
        sets["shared crawl"] = english_docs([str(SHARED / "*.warc.gz")], out / "spine-shared")
    write_sample(str(out / "own-sample"), 400, 7)
    sets["project sample"] = english_docs([str(out / "own-sample" / "*")], out / "spine-sample")
    print("rule filters: agreement with datatrove 0.10.1 (default thresholds, English documents)")
    print(f"{'':<16}{'docs':>6}" + "".join(f"{n:>20}" for n in FILTERS))
    result = {}
    for label, docs in sets.items():
        r = agreement(docs, out, label.replace(" ", "-"))
        result[label] = r
        print(f"{label:<16}{len(docs):>6}" + "".join(f"{r[n]['agreement']:>20.2%}" for n in FILTERS))
    for label, r in result.items():
        for name, v in r.items():
            for kind, examples in v["disagreements"].items():
                n = v["pairs"][kind]
                print(f"  {label} / {name} / {kind}: {n} docs, e.g. {examples[0][0]} ours={examples[0][1]} datatrove={examples[0][2]}")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description="keep/drop agreement with datatrove's rule filters, per filter")
    ap.add_argument("--out", default=str(ROOT / "out" / "rules-agreement"), help="work folder (default: %(default)s)")
    args = ap.parse_args()
    if not (ROOT / ".bench-venv" / "bin" / "python").exists():
        raise SystemExit("datatrove's venv .bench-venv is missing: run bench/setup_peer.sh first (it installs from PyPI)")
    out = Path(args.out)
    (out / "agreement.json").write_text(json.dumps(report(out), indent=1))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
