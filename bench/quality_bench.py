"""Issue 4: speed per core of the model-based stages (KenLM perplexity; the fastText fluency and not-ad
classifiers with the domain tagger, together) next to extraction; the classifiers' held-out precision and
recall; and the ten highest- and lowest-scored documents of the shared sample per model, to judge by eye."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _time(steps, table) -> float:
    t0 = time.perf_counter()
    for i in range(0, table.num_rows, 256):
        part = table.slice(i, 256)
        for step in steps:
            part = step(part)
    return (time.perf_counter() - t0) / table.num_rows


def main(docs_dir: Path, extract_ms_per_doc: float | None = None) -> dict:
    import pyarrow as pa
    import pyarrow.dataset as ds

    from corpus.models import models_dir
    from filters.domain_tags import DomainTags
    from filters.perplexity import Perplexity
    from filters.quality_model import QualityModel

    steps = {"perplexity": Perplexity(), "quality_model": QualityModel(), "domain_tags": DomainTags()}
    for s in steps.values():
        s.setup()
    rows = ds.dataset(str(docs_dir), format="parquet").to_table(columns=["url", "lang", "text"]).to_pylist()
    rows = [r for r in rows if r["lang"] in ("en", "zh")]
    table = pa.Table.from_pylist((rows * (-(-3000 // max(1, len(rows)))))[:3000])
    timings = {"KenLM perplexity": _time([steps["perplexity"]], table),
               "fluency + not-ad classifiers + domain tags": _time([steps["quality_model"], steps["domain_tags"]], table),
               "all model-based stages": _time(list(steps.values()), table)}
    print(f"\nmodel-based quality on {len(rows):,} real pages of the shared crawl (en/zh), one core:")
    for name, per_doc in timings.items():
        share = f" = {per_doc * 1000 / extract_ms_per_doc:.1%} of extraction" if extract_ms_per_doc else ""
        print(f"  {name:<44}{1 / per_doc:>9,.0f} docs/s  ({per_doc * 1000:.2f} ms/doc{share})")
    card = json.loads((models_dir() / "quality.json").read_text())
    print("held-out precision/recall of flagging (broken text / advertising), documents and some kinds never trained on:")
    for name, c in card.items():
        m = c["held_out"]["metrics_for_flagging"]
        unseen = ", ".join(f"{k} {v['flagged']:.0%}" for k, v in c["held_out"]["flagged_by_kind"].items() if not v["trained_on"])
        print(f"  {name:<8} precision {m['precision']:.3f}  recall {m['recall']:.3f}  (n={m['n']:,}; caught among unseen kinds: {unseen}; "
              f"prose wrongly flagged: {c['held_out']['flagged_by_kind']['prose']['flagged']:.1%})")
    unique = pa.Table.from_pylist(list({r["text"]: r for r in rows}.values()))  # the benchmark's input replicates pages
    for step in steps.values():
        unique = step(unique)
    scored = unique.to_pylist()
    for lang in ("en", "zh"):
        docs = [r for r in scored if r["lang"] == lang]
        ads = sum(r["not_ad_score"] < 0.5 for r in docs) / max(1, len(docs))
        broken = sum(r["fluency_score"] < 0.5 for r in docs) / max(1, len(docs))
        print(f"  shared crawl {lang} ({len(docs)} help pages, none of them advertising): scored as ads {ads:.1%}, as broken {broken:.1%}")
    tags = Counter((r["lang"], r["domain_tag"]) for r in scored)
    print("domain tags on the shared sample: " + ", ".join(f"{lang}/{t} {n}" for (lang, t), n in sorted(tags.items())))
    extremes = {}
    for col in ("q_ppl", "fluency_score", "not_ad_score"):
        for lang in ("en", "zh"):
            ranked = sorted((r for r in scored if r["lang"] == lang and r[col] is not None), key=lambda r: r[col])
            extremes[f"{col}/{lang}"] = {"lowest": [(r[col], r["url"], r["text"][:80]) for r in ranked[:10]],
                                         "highest": [(r[col], r["url"], r["text"][:80]) for r in ranked[-10:]]}
            for kind in ("lowest", "highest"):
                print(f"  {col} {lang} {kind}:")
                for score, url, text in extremes[f"{col}/{lang}"][kind]:
                    print(f"    {score:>9.3f}  {url[-55:]:<55}  {text[:50]!r}")
    return {"ms_per_doc": {k: v * 1000 for k, v in timings.items()}, "card": {k: c["held_out"] for k, c in card.items()},
            "domain_tags": {f"{lang}/{t}": n for (lang, t), n in tags.items()}, "extremes": extremes}


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main(Path(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else None)
