"""Extraction quality and cost: the annotated set (bench/extract_set/) and the shared crawl's en-US/zh-CN pages.

    .venv/bin/python bench/extract_bench.py [--sweep]

For each configuration it prints, per language:
- snippet precision / recall / F1 on the annotated set (trafilatura's own evaluation style: a "must" snippet
  found is a true positive, missed a false negative; a "must_not" snippet found is a false positive);
- pages with text: share of pages with >= 200 characters of visible prose (``filters.extract.visible_text``)
  that yield any text, on the annotated set and on the whole shared crawl (en-US and zh-CN pages); the
  crawl also in Latin-equivalent characters (``equiv text``: a Han character counts 3, corpus/extract_units.py),
  where a zh page counts as prose exactly when its en original does;
- par recall: on the crawl, the share of the characters of each page's help paragraphs (elements with a
  ``par_id``/``hd_id`` id: the translated content, never the site chrome) found in the extracted text, an
  automatic recall measure over all 720 pages (it cannot see boilerplate: the annotated set's P does);
- docs/s per core: pages per CPU-second of this thread over the crawl pages (decode + parse + extraction).

Configurations: ``precision only`` (the previous behaviour: favor_precision, no fallback), ``trafilatura
fallback`` (the stage's defaults: precision, then balanced, then recall when precision keeps less than half of
the visible prose; precision without trafilatura's internal readability/jusText comparison first, with it
only where that keeps too little, ``fast_first``), the same without ``fast_first`` (before issue 20: same
text, slower) and with ``fast: true`` (the comparison off everywhere), ``trafilatura default`` (balanced mode, no fallback), ``resiliparse plain main_content``
(resiliparse's own main-content mode, the peer), ``resiliparse engine`` (``engine: resiliparse``: ours, with
and without its fallback). The closing table gives each one's F1 difference and speed ratio against the
trafilatura default path, measured in the same run. ``--sweep`` adds other ``min_kept_frac`` values;
``--only a,b`` runs the configurations whose names contain a or b.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import html as htmllib
import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench" / "extract_set"))

from collect import CRAWL, labels, squash  # noqa: E402

from filters.charset import decode  # noqa: E402
from filters.extract import Extracted, ExtractParams, Visible, extract_page  # noqa: E402
from filters.trafilatura_tuning import tune  # noqa: E402

SET = ROOT / "bench" / "extract_set" / "pages"
_PAR = re.compile(r'<(p|h\d|td)[^>]*\bid="((?:par|hd)_id[^"]+)"[^>]*>(.*?)</\1>', re.S)
_TAG = re.compile(r"<[^>]+>")
PROSE_PAGE = 200  # visible prose characters that make a page "a page with prose" (issue 19's target)


def crawl_pages() -> list[tuple[str, str, bytes]]:
    """(lang, url, body) of the first capture of every en-US and zh-CN page in the shared crawl."""
    from warcio.archiveiterator import ArchiveIterator

    seen: dict[str, tuple[str, str, bytes]] = {}
    for warc in sorted(CRAWL.glob("*.warc.gz")):
        with open(warc, "rb") as fh:
            for rec in ArchiveIterator(fh):
                url = rec.rec_headers.get_header("WARC-Target-URI") or ""
                lang = {"/en-US/": "en", "/zh-CN/": "zh"}.get(next((d for d in ("/en-US/", "/zh-CN/") if d in url), ""), "")
                if rec.rec_type == "response" and lang and url not in seen:
                    seen[url] = (lang, url, rec.content_stream().read())
    return list(seen.values())


class PlainResiliparse:
    """resiliparse's own main-content mode, no pruning of ours: the peer the resiliparse engine improves on."""

    def __repr__(self) -> str:
        return "resiliparse main_content=True"


def run(p: "ExtractParams | PlainResiliparse", page: str, url: str | None) -> Extracted:
    if isinstance(p, PlainResiliparse):
        from resiliparse.extract.html2text import extract_plain_text

        text = extract_plain_text(page, preserve_formatting=True, main_content=True, alt_texts=False)
        return Extracted(text, None, None, "plain", Visible("", 0))
    return extract_page(page, url, p)


def configs(sweep: bool) -> dict[str, "ExtractParams | PlainResiliparse"]:
    out = {
        "precision only (before)": ExtractParams(fallback=False),
        "fallback, raw characters (before)": ExtractParams(han_char_weight=1),
        "trafilatura fallback (default)": ExtractParams(),
        "fallback, no fast_first (before)": ExtractParams(fast_first=False),
        "fallback, trafilatura fast=True": ExtractParams(fast=True),
        "trafilatura default": ExtractParams(favor_precision=False, fallback=False),
        "resiliparse plain main_content": PlainResiliparse(),
        "resiliparse engine (ours)": ExtractParams(engine="resiliparse"),
        "resiliparse, raw characters (before)": ExtractParams(engine="resiliparse", han_char_weight=1),
        "resiliparse engine, no fallback": ExtractParams(engine="resiliparse", fallback=False),
    }
    if sweep:
        for frac in (0.25, 0.4, 0.6, 0.75):
            out[f"fallback, min_kept_frac={frac}"] = ExtractParams(min_kept_frac=frac)
        out["fallback on empty only"] = ExtractParams(min_kept_frac=0.0)
    return out


def score_set(p: "ExtractParams | PlainResiliparse") -> dict[str, dict]:
    acc: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    leaks: dict[str, list[str]] = collections.defaultdict(list)
    for r in labels():
        page, _ = decode((SET / f"{r['id']}.html").read_bytes(), None)
        got = run(p, page, r.get("url"))
        text = squash(got.text or "")
        c = acc[r["lang"]]
        found = [squash(s) in text for s in r["must"]]
        c["tp"] += sum(found)
        c["fn"] += len(found) - sum(found)
        bad = [s for s in r["must_not"] if squash(s) in text]
        c["fp"] += len(bad)
        leaks[r["lang"]] += [f"{r['id']}: {s}" for s in bad]
        if got.visible is not None and got.visible.prose_chars >= PROSE_PAGE:
            c["prose_pages"] += 1
            c["prose_pages_text"] += bool(text)
        c["pages"] += 1
        c[f"mode:{got.mode}"] += 1
    out = {}
    for lang, c in acc.items():
        prec = c["tp"] / max(1, c["tp"] + c["fp"])
        rec = c["tp"] / max(1, c["tp"] + c["fn"])
        out[lang] = {"precision": prec, "recall": rec, "f1": 2 * prec * rec / max(1e-9, prec + rec),
                     "pages": c["pages"], "with_text": c["prose_pages_text"] / max(1, c["prose_pages"]),
                     "prose_pages": c["prose_pages"], "boilerplate_found": leaks[lang],
                     "modes": {k[5:]: v for k, v in c.items() if k.startswith("mode:")}}
    return out


def _equiv(v: Visible) -> float:
    """Visible prose in Latin-equivalent characters, a Han character counting 3 whatever the configuration."""
    return v.prose_chars + 2 * getattr(v, "prose_han", 0)


def paragraphs(page: str) -> list[str]:
    """The page's help paragraphs (id par_id… / hd_id…), whitespace removed, 4+ characters."""
    out = [squash(htmllib.unescape(_TAG.sub("", body))) for _, _, body in _PAR.findall(page)]
    return [p for p in out if len(p) >= 4]


def score_crawl(p: "ExtractParams | PlainResiliparse", pages: list[tuple[str, str, bytes]]) -> dict:
    acc: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    paras_of = {url: paragraphs(decode(body, None)[0]) for _, url, body in pages}  # outside the timed loop
    cpu = time.thread_time()
    for lang, url, body in pages:
        page, _ = decode(body, None)
        got = run(p, page, url)
        c = acc[lang]
        c["pages"] += 1
        c["text"] += bool((got.text or "").strip())
        flat = squash(got.text or "")
        paras = paras_of[url]
        c["par_chars"] += sum(len(x) for x in paras)
        c["par_found"] += sum(len(x) for x in paras if x in flat)
        if got.visible is not None and got.visible.prose_chars >= PROSE_PAGE:
            c["prose_pages"] += 1
            c["prose_pages_text"] += bool((got.text or "").strip())
        if got.visible is not None and _equiv(got.visible) >= PROSE_PAGE:
            c["equiv_pages"] += 1
            c["equiv_pages_text"] += bool((got.text or "").strip())
        c[f"mode:{got.mode}"] += 1
    cpu = time.thread_time() - cpu
    return {"docs_per_cpu_s": len(pages) / cpu,
            **{lang: {"pages": c["pages"], "no_text": c["pages"] - c["text"], "prose_pages": c["prose_pages"],
                      "with_text": c["prose_pages_text"] / max(1, c["prose_pages"]),
                      "par_recall": c["par_found"] / max(1, c["par_chars"]),
                      "equiv_pages": c["equiv_pages"], "equiv_with_text": c["equiv_pages_text"] / max(1, c["equiv_pages"]),
                      "modes": {k[5:]: v for k, v in c.items() if k.startswith("mode:")}} for lang, c in acc.items()}}


def main() -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sweep", action="store_true", help="also other min_kept_frac values")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--only", help="comma-separated substrings: run only the configurations whose names match")
    args = ap.parse_args()
    tune()  # trafilatura as the extract stage runs it (filters/trafilatura_tuning.py: same text, less time)
    crawl = crawl_pages() if CRAWL.is_dir() else []
    rows = labels()
    print(f"annotated set: {len(rows)} pages ({sum(r['lang'] == 'zh' for r in rows)} zh, "
          f"{sum(r['lang'] == 'en' for r in rows)} en); shared crawl: {len(crawl)} en-US/zh-CN pages\n")
    results = {}
    head = (f"{'configuration':<32} {'lang':<4} {'P':>5} {'R':>5} {'F1':>5} {'set text':>9} "
            f"{'crawl text':>11} {'equiv text':>11} {'crawl empty':>11} {'par recall':>10} {'docs/s/core':>11}")
    print(head)
    print("-" * len(head))
    chosen = configs(args.sweep)
    if args.only:
        chosen = {k: v for k, v in chosen.items() if any(w in k for w in args.only.split(","))}
    for name, p in chosen.items():
        s = score_set(p)
        c = score_crawl(p, crawl) if crawl else {}
        results[name] = {"params": dataclasses.asdict(p) if isinstance(p, ExtractParams) else repr(p),
                         "set": s, "crawl": c}
        for lang in ("zh", "en"):
            cl = c.get(lang, {})
            crawl_txt = f"{cl['with_text']:.1%}" if cl else "-"
            equiv_txt = f"{cl['equiv_with_text']:.1%} ({cl['equiv_pages'] - round(cl['equiv_with_text'] * cl['equiv_pages'])})" if cl else "-"
            print(f"{name:<32} {lang:<4} {s[lang]['precision']:5.3f} {s[lang]['recall']:5.3f} {s[lang]['f1']:5.3f} "
                  f"{s[lang]['with_text']:9.1%} {crawl_txt:>11} {equiv_txt:>11} {cl.get('no_text', '-'):>11} {cl.get('par_recall', 0):10.3f} "
                  f"{c.get('docs_per_cpu_s', 0):11.1f}")
    print("\n'set text' / 'crawl text': pages with >= 200 visible prose characters that yield text "
          "(annotated set / whole crawl); 'equiv text': the same with >= 200 Latin-equivalent characters (a Han "
          "character counts 3), in brackets how many such pages yield none; 'crawl empty': crawl pages with no text at all")
    for name, r in results.items():
        modes = {lang: r["crawl"].get(lang, {}).get("modes") for lang in ("zh", "en")}
        print(f"\n{name}: modes on the crawl {json.dumps(modes)}")
        for lang in ("zh", "en"):
            if r["set"][lang]["boilerplate_found"]:
                print(f"  {lang} boilerplate found: " + "; ".join(r["set"][lang]["boilerplate_found"]))
    ref = "trafilatura fallback (default)"
    if ref in results:
        r0 = results[ref]
        print(f"\nagainst {ref} (same run): F1 difference per language, docs/s ratio on the crawl")
        for name, r in results.items():
            d = {lang: r["set"][lang]["f1"] - r0["set"][lang]["f1"] for lang in ("zh", "en")}
            speed = (r["crawl"].get("docs_per_cpu_s", 0) / r0["crawl"]["docs_per_cpu_s"]) if r0["crawl"] else 0
            print(f"  {name:<32} zh {d['zh']:+.3f}  en {d['en']:+.3f}  speed x{speed:.1f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, ensure_ascii=False))
    return results


if __name__ == "__main__":
    main()
