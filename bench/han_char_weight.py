"""How many Latin characters one Han character is worth, for the same content (issue 19, extraction).

Extraction decides whether a page "holds prose" and whether precision mode kept enough of it by counting
visible characters (filters/extract.py ``min_visible_chars``, ``min_kept_frac``). A Han character carries
about as much as a few Latin letters, so a raw count calls a zh page short that its en original is not.
The extract stage therefore counts a Han character as ``HAN_CHAR_WEIGHT`` characters
(corpus/extract_units.py, the stage's ``han_char_weight``); this script measures that weight on aligned real parallel text
on this machine, the same two sources as bench/zh_length_ratio.py:

  crawl    paragraphs of the shared crawl's LibreOffice help pages present under en-US and zh-CN with the
           same element id (a human translation, paragraph by paragraph)
  gettext  the zh_CN message catalogs on this machine (msgid and its human translation, 8+ English words)

Per pair: weight = (non-space characters of the English text - non-space non-Han characters of the Chinese
text) / Han characters of the Chinese text, i.e. the N that makes ``other + N x Han`` of the zh text equal the
en text's character count (untranslated Latin words and punctuation inside the zh text count as themselves).
Printed: the pooled ratio (sums over all pairs), the per-pair median and IQR.

    .venv/bin/python bench/han_char_weight.py
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "bench" / "checkset"))

from corpus.textunits import han_count  # noqa: E402
from zh_length_ratio import crawl_paragraphs, gettext_messages  # noqa: E402


def nonspace(s: str) -> int:
    return len("".join(s.split()))


def weights(pairs: list[tuple[str, str]], min_han: int = 4) -> dict:
    """Pooled and per-pair weight over pairs whose zh side has ``min_han`` Han characters or more."""
    en_sum = other_sum = han_sum = 0
    per = []
    for en, zh in pairs:
        han = han_count(zh)
        if han < min_han:
            continue
        e, other = nonspace(en), nonspace(zh) - han
        en_sum, other_sum, han_sum = en_sum + e, other_sum + other, han_sum + han
        per.append((e - other) / han)
    q = statistics.quantiles(per, n=4)
    return {"pairs": len(per), "pooled": (en_sum - other_sum) / han_sum, "median": statistics.median(per),
            "iqr": (q[0], q[2]), "raw_ratio": en_sum / (other_sum + han_sum)}


def main() -> None:
    for name, pairs in (("crawl", crawl_paragraphs()), ("gettext", gettext_messages())):
        r = weights(pairs)
        print(f"{name:8} {r['pairs']:6d} aligned pairs: one Han character = {r['pooled']:.2f} Latin characters pooled "
              f"(per pair median {r['median']:.2f}, IQR {r['iqr'][0]:.2f}-{r['iqr'][1]:.2f}); raw en/zh non-space "
              f"characters {r['raw_ratio']:.2f}")


if __name__ == "__main__":
    main()
