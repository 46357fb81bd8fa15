"""Evidence for Gopher's alphabetic-words rule (gopher_quality.alpha_words, issue 19): what it drops on the
seven real sources bench/repetition_evidence.py gathers (2,068 documents: the shared crawl's help pages en/zh,
standard-library docstrings, the Python manual, package READMEs, Wikipedia, People's Daily), before and after
the word definition changed, and how often a drop is a page a reader would not want.

  before  the definition up to commit ad53a50: English, every whitespace token is a word (a table's "|", a menu
          path's "-" and a code line's "=" included), threshold 0.8; Chinese, the share of non-space characters
          that are Han or Latin/Greek/Cyrillic letters (punctuation in the denominator), threshold 0.7.
  after   filters/gopher.alpha_word_ratio: a word is a token with a letter or digit (punctuation and symbol
          tokens are not words); English tokens split at whitespace, Chinese ones are each Han character and
          the runs between them split at whitespace and CJK punctuation; thresholds from the recipe.

Every document either definition drops (signal under its threshold, whatever rule fires first) is labelled in
bench/checkset/alpha_labels.tsv by reading it, with the check set's rule (README there). Printed: per source,
the documents each definition drops, and the labelled drop precision (share of drops not usable); the same at
the candidate thresholds given with --en/--zh; the translated crawl pairs' signals side by side.

    .venv/bin/python bench/alpha_evidence.py [--dump /tmp/alpha_drops.jsonl] [--en 0.7,0.8,0.9] [--zh 0.7,0.8,0.9]
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections import defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from corpus.textunits import han_count  # noqa: E402
from filters.gopher import alpha_word_ratio  # noqa: E402
from repetition_evidence import gather, per_source, load_labels as read_labels  # noqa: E402

LABELS = ROOT / "bench" / "checkset" / "alpha_labels.tsv"
BEFORE_THRESHOLDS = {"en": 0.8, "zh": 0.7}
_HAS_ALPHA = re.compile(r"[^\W\d_]")
_LETTER = re.compile(r"[A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff]")


def before_ratio(text: str, lang: str) -> float:
    """gq_alpha_words as filters/gopher.py computed it up to commit ad53a50."""
    if lang == "zh":
        visible = len(text) - sum(map(text.count, " \n\t")) or 1
        return (han_count(text) + len(_LETTER.findall(text))) / visible
    spaced = text.split()
    return sum(1 for w in spaced if _HAS_ALPHA.search(w)) / (len(spaced) or 1)


def recipe_thresholds(recipe: Path = ROOT / "pipelines" / "default.yaml") -> dict[str, float]:
    cfg = yaml.safe_load(recipe.read_text())
    stage = next(s for s in cfg["stages"] if "gopher_quality" in s)["gopher_quality"] or {}
    en = stage.get("min_alpha_words_ratio", 0.8)
    zh = stage.get("overrides", {}).get("zh", {}).get("min_alpha_words_ratio", en)
    return {"en": en, "zh": zh}


def wilson(k: int, n: int) -> str:
    if not n:
        return "-"
    z, p = 1.96, k / n
    mid, half = (p + z * z / (2 * n)) / (1 + z * z / n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return f"{max(0.0, mid - half):.2f}-{min(1.0, mid + half):.2f}"


def drop_table(docs: list[dict], dropped_if, labels: dict[str, bool], title: str) -> None:
    """Documents ``dropped_if(doc)`` drops, per source, and the labelled precision of those drops (the evidence
    scripts of every rule print this same table)."""
    print(title)
    all_bad = all_lab = all_drop = 0
    for s in sorted({d["source"] for d in docs}):
        ds = [d for d in docs if d["source"] == s]
        dropped = [d for d in ds if dropped_if(d)]
        lab = [labels[d["id"]] for d in dropped if d["id"] in labels]
        bad = sum(not u for u in lab)
        all_bad, all_lab, all_drop = all_bad + bad, all_lab + len(lab), all_drop + len(dropped)
        prec = f"{bad / len(lab):.2f} ({bad}/{len(lab)}, {wilson(bad, len(lab))})" if lab else "-"
        print(f"  {s:18} {len(dropped):4d}/{len(ds):<5d} {len(dropped) / len(ds):6.1%}  precision {prec}")
    prec = f"{all_bad / all_lab:.2f} ({all_bad}/{all_lab}, Wilson 95% {wilson(all_bad, all_lab)})" if all_lab else "-"
    print(f"  {'all':18} {all_drop:4d}/{len(docs):<5d} {all_drop / len(docs):6.1%}  precision {prec}"
          + (f"; {all_drop - all_lab} unlabelled" if all_drop > all_lab else ""))


def table(docs: list[dict], signal: dict[str, float], thr: dict[str, float], labels: dict[str, bool], title: str) -> None:
    drop_table(docs, lambda d: signal[d["id"]] < thr[d["lang"]], labels,
               f"\n{title} (en < {thr['en']:g}, zh < {thr['zh']:g}): drops per source, labelled precision (not usable / labelled)")


def quantiles(docs: list[dict], signal: dict[str, float], title: str) -> None:
    print(f"\n{title}: per source p1 / p5 / median, and the lowest usable value (labelled usable, or unlabelled: above 0.9)")
    labels = read_labels(LABELS)
    for s in sorted({d["source"] for d in docs}):
        v = sorted(signal[d["id"]] for d in docs if d["source"] == s)
        usable = [signal[d["id"]] for d in docs if d["source"] == s and labels.get(d["id"], True)]
        q = lambda f: v[min(len(v) - 1, int(f * len(v)))]  # noqa: E731
        low = f"{min(usable):.3f}" if usable else "-"
        print(f"  {s:18} {q(0.01):.3f} / {q(0.05):.3f} / {q(0.5):.3f}   lowest usable {low}")


def pairs(docs: list[dict], after: dict[str, float]) -> None:
    """The crawl's translated pages (same path in en-US and zh-CN) side by side: a definition that means the
    same in both languages gives a zh page about the value of its en original."""
    by_path: dict[str, dict[str, dict]] = defaultdict(dict)
    for d in docs:
        if d["source"] in ("crawl-en", "crawl-zh"):
            by_path[d["ref"].replace("/en-US/", "/X/").replace("/zh-CN/", "/X/")][d["source"][-2:]] = d
    both = [(v["en"], v["zh"]) for v in by_path.values() if "en" in v and "zh" in v]
    if not both:
        return
    num_en = [1 - after[e["id"]] for e, _ in both]
    num_zh = [1 - after[z["id"]] for _, z in both]
    nz = [(a, b) for a, b in zip(num_en, num_zh) if a > 0]
    ratio = sorted(b / a for a, b in nz)
    print(f"\ntranslated crawl pairs: {len(both)} with both pages extracted; non-alphabetic word share en mean "
          f"{sum(num_en) / len(both):.3f}, zh mean {sum(num_zh) / len(both):.3f}; zh/en per pair (en > 0, {len(ratio)}): "
          f"median {ratio[len(ratio) // 2]:.2f}, IQR {ratio[len(ratio) // 4]:.2f}-{ratio[3 * len(ratio) // 4]:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dump", help="write every document either definition drops (JSONL) for labelling")
    ap.add_argument("--en", default="", help="comma-separated candidate English thresholds for the new definition")
    ap.add_argument("--zh", default="", help="comma-separated candidate Chinese thresholds for the new definition")
    ap.add_argument("--recipe", default=str(ROOT / "pipelines" / "default.yaml"))
    args = ap.parse_args()
    docs = gather()
    labels = read_labels(LABELS)
    print(per_source(docs) + f"; {len(labels)} labelled in {LABELS.relative_to(ROOT)}")
    before = {d["id"]: before_ratio(d["text"], d["lang"]) for d in docs}
    after = {d["id"]: alpha_word_ratio(d["text"], d["lang"]) for d in docs}
    thr = recipe_thresholds(Path(args.recipe))
    table(docs, before, BEFORE_THRESHOLDS, labels, "before: every whitespace token a word (en), Han-or-letter characters (zh)")
    table(docs, after, thr, labels, "after: words with a letter or digit, the recipe's thresholds")
    for en in [float(x) for x in args.en.split(",") if x]:
        table([d for d in docs if d["lang"] == "en"], after, {"en": en, "zh": 0}, labels, "after, candidate")
    for zh in [float(x) for x in args.zh.split(",") if x]:
        table([d for d in docs if d["lang"] == "zh"], after, {"en": 0, "zh": zh}, labels, "after, candidate")
    quantiles(docs, before, "before")
    quantiles(docs, after, "after")
    pairs(docs, after)
    if args.dump:
        cand = [float(x) for x in (args.en + "," + args.zh).split(",") if x]
        hi = {"en": max([thr["en"], *cand]), "zh": max([thr["zh"], *cand])}
        out = [{**d, "before": round(before[d["id"]], 3), "after": round(after[d["id"]], 3)} for d in docs
               if before[d["id"]] < BEFORE_THRESHOLDS[d["lang"]] or after[d["id"]] < hi[d["lang"]]]
        Path(args.dump).write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in out), encoding="utf-8")
        print(f"\n{len(out)} documents dropped by either definition (after up to en {hi['en']:g}, zh {hi['zh']:g}) -> {args.dump}")


if __name__ == "__main__":
    main()
