"""Issue 6: safety stage speed per core (with and without the classifiers), the blocklist's memory per worker,
PII precision/recall per type, and the porn/toxicity classifiers: held-out and human-checked precision/recall
beside the word-list rule and alt-profanity-check, speed against alt-profanity-check on the same texts, and
how many real, clean crawl pages they flag."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MEMORY_PROBE = r"""
import json, resource, sys, time
import numpy as np
def rss(): return int(open('/proc/self/statm').read().split()[1]) * 4096 / 2**20
kind, models, domains_txt = sys.argv[1:4]
before = rss()
t0 = time.perf_counter()
if kind == 'ours':
    from pathlib import Path
    from corpus.safety.blocklist import Blocklist
    bl = Blocklist('adult', Path(models) / 'blocklists/adult.domains.npy')
    hosts = [f'host{i}.example.com' for i in range(100_000)] + ['www.0-1sex.com']
    hits = int(bl.match(hosts, [None] * len(hosts)).sum())
else:  # the obvious alternative: a Python set of the domain strings, as peers load it
    s = set(open(domains_txt, encoding='utf-8', errors='replace').read().split())
    hits = int('0-1sex.com' in s)
print(json.dumps({'kind': kind, 'rss_mb': rss() - before, 'load_and_lookup_s': time.perf_counter() - t0, 'hits': hits}))
"""


def blocklist_memory(models: Path, domains_txt: Path | None) -> list[dict]:
    out = []
    for kind in ("ours", "python-set") if domains_txt else ("ours",):
        proc = subprocess.run([sys.executable, "-c", MEMORY_PROBE, kind, str(models), str(domains_txt or "")],
                              capture_output=True, text=True, check=True, cwd=ROOT)
        out.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return out


def stage_speed(texts: list[dict], **params) -> float:
    import pyarrow as pa

    from filters.safety import Safety, SafetyParams

    step = Safety(SafetyParams(**params))
    step.setup()
    table = pa.Table.from_pylist(texts)
    t0 = time.perf_counter()
    for i in range(0, table.num_rows, 256):
        step(table.slice(i, 256))
    return table.num_rows / (time.perf_counter() - t0)


def main(docs_dir: Path, out_root: Path) -> dict:
    import pyarrow.dataset as ds

    from corpus.safety import pii, pii_cases
    from corpus.models import models_dir

    print("\nsafety stage (blocklist + word lists + classifiers + PII masking)")
    rows = ds.dataset(str(docs_dir), format="parquet").to_table(columns=["url", "domain", "lang", "text"]).to_pylist()
    real = rows
    rows = (rows * (-(-5000 // max(1, len(rows)))))[:5000]
    rate = stage_speed(rows)
    bare = stage_speed(rows, models={})
    print(f"  {rate:,.0f} docs/s on one core over {len(rows):,} curated documents (the spine benchmark's output); "
          f"without the two classifiers {bare:,.0f} docs/s (classifiers cost {bare / rate - 1:.0%} more time)")
    classifiers = classifier_report(real)
    domains_txt = out_root / "ut1-domains.txt"
    if not domains_txt.exists():
        import tarfile
        import zipfile

        wheel = sorted((models_dir() / ".cache").glob("datatrove-*.whl"))
        if wheel:
            with zipfile.ZipFile(wheel[-1]) as z:
                (out_root / "ut1.tar.gz").write_bytes(z.read("datatrove/assets/url_filterblacklistsv0_3_0.tar.gz"))
            with tarfile.open(out_root / "ut1.tar.gz") as tar:
                domains_txt.write_bytes(tar.extractfile(next(m for m in tar.getmembers() if m.name.endswith("domains"))).read())
    mem = blocklist_memory(models_dir(), domains_txt if domains_txt.exists() else None)
    for m in mem:
        print(f"  blocklist, {m['kind']:<10}: +{m['rss_mb']:,.0f} MB resident in the worker, load + 100k lookups {m['load_and_lookup_s']:.2f}s")
    cases = pii_cases.cases(200, seed=2)
    scores = pii_cases.score([pii.find(t) for t, _ in cases], [g for _, g in cases])
    print(f"  PII on {len(cases):,} labelled zh/en cases (seed 2; tests use seed 11):")
    for kind, s in scores.items():
        print(f"    {kind:<10} precision {s['precision']:.3f}  recall {s['recall']:.3f}  ({s['gold']} gold spans)")
    return {"docs_per_s": rate, "docs_per_s_without_classifiers": bare, "blocklist_memory": mem, "pii": scores,
            "classifiers": classifiers}


def classifier_report(real: list[dict]) -> dict:
    """The card's held-out and human-checked numbers, false flags on real clean pages, speed against the teacher."""
    from corpus.quality import fasttext_clf
    from training import teacher
    from corpus.models import models_dir

    card = json.loads((models_dir() / "safety.json").read_text())
    texts = [r["text"] for r in real if r["lang"] in ("en", "zh") and r["text"]]
    out = {}
    for category, c in card.items():
        model = fasttext_clf.load(models_dir() / c["model"], "make models")
        t0 = time.perf_counter()
        got = fasttext_clf.scores(model, texts)
        ours = len(texts) / (time.perf_counter() - t0)
        held, sample = c["held_out"]["metrics_for_flagging"], c["human_checked_sample"]
        print(f"  {category} classifier ({c['model']}):")
        print(f"    held-out constructed data (n={held['n']:,}): precision {held['precision']:.3f} recall {held['recall']:.3f}")
        for judge, m in sample.items():
            if not isinstance(m, dict):
                continue
            print(f"    human-checked sample, {judge:<16} n={m['n']:>3} ({m['positives']} positive): precision {m['precision']:.3f} recall {m['recall']:.3f}")
        flagged = {cut: sum(g >= cut for g in got) / max(1, len(got)) for cut in (0.5, 0.9)}
        print(f"    real crawl pages with nothing {category} in them (n={len(texts):,}): flagged {flagged[0.5]:.2%} at 0.5, {flagged[0.9]:.2%} at 0.9")
        out[category] = {"held_out": held, "human_checked_sample": sample, "clean_pages_flagged": flagged, "docs_per_s": ours}
    t0 = time.perf_counter()
    teacher.predict(texts)
    peer = len(texts) / (time.perf_counter() - t0)
    print(f"  speed on the same {len(texts):,} pages, one core: our toxicity model {out['toxic']['docs_per_s']:,.0f} docs/s, "
          f"alt-profanity-check {peer:,.0f} docs/s (ratio {out['toxic']['docs_per_s'] / peer:.1f}x)")
    out["teacher_docs_per_s"] = peer
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    print(json.dumps(main(Path(sys.argv[1]), ROOT / "out" / "bench"), default=str)[:1500])
