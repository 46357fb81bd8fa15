"""Issue 4 (so far): KenLM scoring speed per core next to extraction, and the extremes of the score."""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(docs_dir: Path, extract_ms_per_doc: float | None = None) -> dict:
    import pyarrow as pa
    import pyarrow.dataset as ds

    from filters.perplexity import Perplexity, PerplexityParams

    step = Perplexity(PerplexityParams())
    step.setup()
    rows = ds.dataset(str(docs_dir), format="parquet").to_table(columns=["url", "lang", "text"]).to_pylist()
    rows = [r for r in rows if r["lang"] in ("en", "zh")]
    batch = (rows * (-(-3000 // max(1, len(rows)))))[:3000]
    table = pa.Table.from_pylist(batch)
    t0 = time.perf_counter()
    for i in range(0, table.num_rows, 256):
        step(table.slice(i, 256))
    per_doc = (time.perf_counter() - t0) / table.num_rows
    print(f"\nKenLM perplexity: {1 / per_doc:,.0f} docs/s on one core ({per_doc * 1000:.2f} ms/doc"
          + (f" = {per_doc * 1000 / extract_ms_per_doc:.1%} of extraction)" if extract_ms_per_doc else ")"))
    unique = list({r["text"]: r for r in rows}.values())  # the benchmark's input replicates pages
    scored = step(pa.Table.from_pylist(unique)).to_pylist()
    extremes = {}
    for lang in ("en", "zh"):
        ranked = sorted((r for r in scored if r["lang"] == lang), key=lambda r: r["q_ppl"])
        extremes[lang] = {"lowest": [(r["q_ppl"], r["url"], r["text"][:80]) for r in ranked[:10]],
                          "highest": [(r["q_ppl"], r["url"], r["text"][:80]) for r in ranked[-10:]]}
        for kind in ("lowest", "highest"):
            print(f"  {lang} {kind} perplexity:")
            for ppl, url, text in extremes[lang][kind][:10]:
                print(f"    {ppl:>9.1f}  {url[-60:]:<60}  {text[:50]!r}")
    return {"docs_per_s": 1 / per_doc, "ms_per_doc": per_doc * 1000, "extremes": extremes}


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main(Path(sys.argv[1]))
