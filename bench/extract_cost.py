"""Extraction cost next to bare trafilatura on the same pages, and what each cheaper configuration changes (issue 20).

    .venv/bin/python bench/extract_cost.py [--pages 300] [--rounds 5] [--quality] [--json out.json]

Cost: every page is extracted by every configuration in turn (the order rotated page by page, so load on
this shared machine falls on all of them alike), ``--rounds`` times; each round gives ms/page per
configuration (CPU time of this thread, ``time.thread_time``: decode excluded, ``<title>`` included, as the
stage does it) and each configuration's speed as a share of bare trafilatura's in that round. Printed: the
range over rounds. ``bare trafilatura`` is what bench/run.py calls the ceiling: ``bare_extraction`` on the
decoded page with our settings (fast=False, favor_precision, tables, no comments, no metadata) plus
``html_title``, with trafilatura as installed; ``bare trafilatura, tuned`` is the same call with
filters/trafilatura_tuning's changes, which every configuration of ours runs with except ``trafilatura
untuned``. A breakdown of our own per-page work outside trafilatura follows (parse, node count,
visible text, the tree copy ``bare_extraction`` makes of a tree it is handed).

Quality (``--quality``), per configuration of ours: snippet F1 per language on the annotated set
(bench/extract_bench.py), the shared crawl's first captures (840 pages, five languages) whose text differs
from the stage as it was (``fast=False``), the mode each ended in, pages left empty, help-paragraph recall
(en-US/zh-CN, bench/extract_bench.py's ``par recall``), and the check set (bench/checkset/): its 135
documents taken from the crawl are re-extracted from their pages by the configuration and run through the
recipe's langid/format/rule/safety stages (bench/checkset_bench.py's ``decide``) with the 78 others
unchanged; ``usable kept`` per language counts documents labelled usable that survive. The crawl's
translated page pairs also go through the recipe's own extract stage and the same stages.

Configurations: trafilatura's ``fast`` (its internal readability/jusText comparison off) for the precision
call and for our fallback calls separately: ``fast=False`` everywhere (before), ``fast=True`` everywhere,
the two mixes, and ``fast_first`` (the stage's default since issue 20): each call with fast=True first, and
where that keeps too little of the visible prose, the same mode with fast=False (the call as before); also
with only the precision call so (``fast_first precision only``: output identical to before on every page
measured); and the precision call with fast=True only, the fallback calls fast first (``fast precision,
fast_first fallback``).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import json
import statistics
import sys
import time
from copy import copy
from pathlib import Path
from typing import Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "bench" / "extract_set"))

import trafilatura  # noqa: E402
from trafilatura.utils import load_html  # noqa: E402

import filters.extract as fx  # noqa: E402
from filters.charset import decode  # noqa: E402
from filters.extract import ExtractParams, cut_nodes, html_title, visible_text  # noqa: E402
from filters.trafilatura_tuning import shipped, tune  # noqa: E402

CRAWL = ROOT.parent / "shared" / "data" / "crawl"


@dataclasses.dataclass(frozen=True)
class Config:
    """Ours with trafilatura's ``fast`` set per call: for the precision call and for the fallback calls, and
    ``fast_first`` (ExtractParams: each call with fast=True first, the call as before only where that keeps
    too little): ``all`` (the default since issue 20), ``precision`` (only the precision call), ``fallback``
    (the precision call fast only, never again with trafilatura's comparison; the fallback calls fast first)
    or off."""
    fast_precision: bool
    fast_fallback: bool
    fast_first: str = ""
    tuned: bool = True  # filters/trafilatura_tuning (the stage's default), or trafilatura as installed

    def params(self) -> ExtractParams:
        return ExtractParams(fast=self.fast_precision, fast_first=bool(self.fast_first))

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """The stage's own code; ``_run_mode`` is wrapped to set ``fast`` per mode for the mixes, and for
        ``fast_first: precision`` to answer the fallback modes' fast calls with nothing (the call as before
        follows at once, as where a fast call keeps too little), and for ``fast_first: fallback`` to answer the
        precision mode's second call with its fast call's result."""
        mixed = self.fast_precision != self.fast_fallback
        if not mixed and self.fast_first not in ("precision", "fallback"):
            yield
            return
        orig = fx._run_mode
        fast_doc: list = [None]  # the precision call's fast result, for ``fast_first: fallback``

        def run_mode(tree, mode, url, p, fast=None):
            if fast and mode != "precision" and self.fast_first == "precision":
                return None
            if mode == "precision" and self.fast_first == "fallback":
                # the precision call runs fast only: its "call as before" is the fast call's result, at no cost
                if fast:
                    fast_doc[0] = orig(tree, mode, url, p, fast=True)
                return fast_doc[0]
            if mixed:
                p = dataclasses.replace(p, fast=self.fast_precision if mode == "precision" else self.fast_fallback)
            return orig(tree, mode, url, p, fast=fast)

        fx._run_mode = run_mode
        try:
            yield
        finally:
            fx._run_mode = orig


CONFIGS = {
    "ours, fast=False (before)": Config(False, False),
    "ours, fast_first precision only": Config(False, False, "precision"),
    "ours, fast_first (default now)": Config(False, False, "all"),
    "ours, default, trafilatura untuned": Config(False, False, "all", tuned=False),
    "ours, fast=True": Config(True, True),
    "ours, fast in fallback only": Config(False, True),
    "ours, fast in precision only": Config(True, False),
    "ours, fast precision, fast_first fallback": Config(False, False, "fallback"),
}
BEFORE = "ours, fast=False (before)"


def crawl_pages() -> list[tuple[str, str]]:
    """(url, decoded page) of the first capture of every page of the shared crawl, in crawl order."""
    from warcio.archiveiterator import ArchiveIterator

    seen: dict[str, str] = {}
    for warc in sorted(CRAWL.glob("*.warc.gz")):
        with open(warc, "rb") as fh:
            for rec in ArchiveIterator(fh):
                url = rec.rec_headers.get_header("WARC-Target-URI") or ""
                if rec.rec_type == "response" and url not in seen:
                    seen[url] = decode(rec.content_stream().read(), None)[0]
    return list(seen.items())


def bare(page: str, url: str) -> object:
    """bench/run.py's ceiling: trafilatura as installed on the page with our settings, plus the stage's <title>."""
    shipped()
    return _bare(page, url)


def bare_tuned(page: str, url: str) -> object:
    """The same call with filters/trafilatura_tuning's changes (what our stage's calls run with)."""
    tune()
    return _bare(page, url)


def _bare(page: str, url: str) -> object:
    doc = trafilatura.bare_extraction(page, url=url, favor_precision=True, include_comments=False, include_tables=True,
                                      with_metadata=False)
    html_title(page)
    return doc


def ours(cfg: Config) -> Callable[[str, str], object]:
    p = cfg.params()

    def run(page: str, url: str) -> object:
        (tune if cfg.tuned else shipped)()
        with cfg.active():
            got = fx.extract_page(page, url, p)
        html_title(page)
        return got

    return run


def parts(page: str, url: str) -> dict[str, float]:
    """Seconds of CPU for our own per-page work outside the trafilatura calls."""
    out = {}
    t = time.thread_time()
    tree = load_html(page)
    out["load_html"] = time.thread_time() - t
    t = time.thread_time()
    cut_nodes(tree, ExtractParams.max_nodes)
    out["cut_nodes"] = time.thread_time() - t
    t = time.thread_time()
    visible_text(tree)
    out["visible_text"] = time.thread_time() - t
    t = time.thread_time()
    copy(tree)
    out["tree copy (per mode)"] = time.thread_time() - t
    return out


def cost(pages: list[tuple[str, str]], rounds: int) -> dict:
    runners: dict[str, Callable[[str, str], object]] = {"bare trafilatura": bare, "bare trafilatura, tuned": bare_tuned}
    runners.update({name: ours(cfg) for name, cfg in CONFIGS.items()})
    names = list(runners)
    per_round: dict[str, list[float]] = collections.defaultdict(list)
    part_s: collections.Counter = collections.Counter()
    for url, page in pages[:10]:  # warm-up: imports, caches, stoplists
        for name in names:
            runners[name](page, url)
    for r in range(rounds):
        spent: collections.Counter = collections.Counter()
        for i, (url, page) in enumerate(pages):
            k = (i + r) % len(names)
            for name in names[k:] + names[:k]:
                t = time.thread_time()
                runners[name](page, url)
                spent[name] += time.thread_time() - t
            if r == 0:
                part_s.update(parts(page, url))
        for name in names:
            per_round[name].append(1000 * spent[name] / len(pages))
        print(f"  round {r + 1}: " + ", ".join(f"{n} {per_round[n][-1]:.2f}" for n in names), flush=True)
    out = {}
    for name in names:
        ms = per_round[name]
        share = [b / o for b, o in zip(per_round["bare trafilatura"], ms)]
        out[name] = {"ms_per_page": ms, "share_of_bare_speed": share}
    print(f"\n{len(pages)} pages x {rounds} rounds, interleaved; CPU ms/page (min-median-max over rounds), "
          "speed as a share of bare trafilatura's (per round)")
    for name in names:
        ms, share = out[name]["ms_per_page"], out[name]["share_of_bare_speed"]
        print(f"  {name:<30} {min(ms):6.2f} {statistics.median(ms):6.2f} {max(ms):6.2f} ms   "
              f"{min(share):5.0%} - {max(share):5.0%} of bare")
    print("  our own work outside trafilatura (ms/page, round 1): "
          + ", ".join(f"{k} {1000 * v / len(pages):.3f}" for k, v in part_s.items()))
    out["parts_ms_per_page"] = {k: 1000 * v / len(pages) for k, v in part_s.items()}
    return out


def checkset_usable(cfg: Config, crawl: dict[str, str]) -> dict:
    """Usable-kept counts on the check set with its crawl documents re-extracted by ``cfg``, and the crawl's
    translated pairs through the recipe's own extract stage (bench/checkset_bench.py)."""
    import checkset_bench as cb

    docs, labels = cb.load_checkset()
    p = cfg.params()
    redone = []
    with cfg.active():
        for d in docs:
            if d["source"] in ("crawl-en-US", "crawl-zh-CN"):
                got = fx.extract_page(crawl[d["url"]], d["url"], p)
                d = {**d, "text": got.text or ""}
            redone.append(d)
        result = cb.decide(ROOT, redone)
        for d in redone:  # an empty extraction never reaches langid: the extract stage rejects it
            if not d["text"].strip():
                result["decisions"][d["id"]] = {"reason": "extract.no_content", "lang": None}
        # the pairs go through the recipe's extract stage: its params come from the recipe, fast set here
        pairs = cb.crawl_pairs()
        with _recipe_fast(cfg):
            pair_line = cb.crawl_pair_summary(pairs, cb.decide(ROOT, pairs))
    s = cb.summary(redone, labels, result)
    return {"usable_kept": {lang: v["usable_kept"] for lang, v in s.items()},
            "usable": {lang: v["usable"] for lang, v in s.items()},
            "kept": {lang: v["kept"] for lang, v in s.items()}, "pairs": pair_line}


@contextlib.contextmanager
def _recipe_fast(cfg: Config) -> Iterator[None]:
    """The recipe's extract stage with the configuration's ``fast`` and ``fast_first`` whatever
    pipelines/default.yaml says (the mixes' fallback calls are set by Config.active)."""
    orig = fx.extract_page

    def extract_page(page, url, p):
        return orig(page, url, dataclasses.replace(p, fast=cfg.fast_precision, fast_first=bool(cfg.fast_first)))

    fx.extract_page = extract_page
    try:
        yield
    finally:
        fx.extract_page = orig


def quality(pages: list[tuple[str, str]], checkset: bool) -> dict:
    import extract_bench as eb

    crawl = dict(pages)
    en_zh = eb.crawl_pages()
    annotated = [(r["id"], decode((eb.SET / f"{r['id']}.html").read_bytes(), None)[0], r.get("url")) for r in eb.labels()]
    texts: dict[str, dict[str, object]] = {}
    set_texts: dict[str, dict[str, str]] = {}
    out = {}
    for name, cfg in CONFIGS.items():
        p = cfg.params()
        with cfg.active():
            got = {url: fx.extract_page(page, url, p) for url, page in pages}
            set_texts[name] = {i: fx.extract_page(page, url, p).text or "" for i, page, url in annotated}
            s = eb.score_set(p)
            c = eb.score_crawl(p, en_zh)
        texts[name] = got
        base = texts[BEFORE]
        changed = [u for u in got if (got[u].text or "") != (base[u].text or "")]
        mode_changed = sum(got[u].mode != base[u].mode for u in got)
        set_changed = sum(set_texts[name][i] != set_texts[BEFORE][i] for i, _, _ in annotated)
        row = {"f1": {lang: s[lang]["f1"] for lang in ("zh", "en")},
               "precision": {lang: s[lang]["precision"] for lang in ("zh", "en")},
               "recall": {lang: s[lang]["recall"] for lang in ("zh", "en")},
               "boilerplate_found": {lang: s[lang]["boilerplate_found"] for lang in ("zh", "en")},
               "changed_pages": len(changed), "changed_examples": changed[:5], "mode_changed": mode_changed,
               "annotated_changed": set_changed,
               "mode_changes": dict(collections.Counter(f"{base[u].mode}->{got[u].mode}" for u in changed)),
               "modes": dict(collections.Counter(str(g.mode) for g in got.values())),
               "empty": sum(not (g.text or "").strip() for g in got.values()),
               "par_recall": {lang: c[lang]["par_recall"] for lang in ("zh", "en")}}
        if checkset:
            row["checkset"] = checkset_usable(cfg, crawl)
        out[name] = row
        print(f"\n{name}: F1 zh {row['f1']['zh']:.4f} en {row['f1']['en']:.4f} (P zh {row['precision']['zh']:.3f} "
              f"en {row['precision']['en']:.3f}, R zh {row['recall']['zh']:.3f} en {row['recall']['en']:.3f}); "
              f"annotated pages changed text {set_changed}/{len(annotated)}; crawl: {len(changed)}/{len(pages)} pages changed "
              f"text {row['mode_changes']}, mode {mode_changed}, empty {row['empty']}, "
              f"modes {row['modes']}, par recall zh {row['par_recall']['zh']:.3f} en {row['par_recall']['en']:.3f}", flush=True)
        for lang in ("zh", "en"):
            if row["boilerplate_found"][lang]:
                print(f"  {lang} boilerplate found: " + "; ".join(row["boilerplate_found"][lang]))
        if checkset:
            cs = row["checkset"]
            print("  check set usable kept: " + ", ".join(f"{lang} {cs['usable_kept'][lang]}/{cs['usable'][lang]}"
                                                          for lang in sorted(cs["usable"]))
                  + f"; kept {cs['kept']}; crawl pairs: {cs['pairs']}", flush=True)
    return out


def main() -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, default=300, help="crawl pages timed (first captures, crawl order)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--quality", action="store_true", help="also F1, changed pages and the check set per configuration")
    ap.add_argument("--no-cost", action="store_true", help="skip the timing")
    ap.add_argument("--no-checkset", action="store_true", help="quality without the check set (faster)")
    ap.add_argument("--only", help="comma-separated substrings: only the configurations of ours whose names match "
                    "(the before configuration always runs)")
    ap.add_argument("--json", help="write the numbers here")
    args = ap.parse_args()
    if args.only:
        for name in [n for n in CONFIGS if n != BEFORE and not any(w in n for w in args.only.split(","))]:
            del CONFIGS[name]
    if not CRAWL.is_dir():
        raise SystemExit(f"{CRAWL} is missing: this bench measures on the shared crawl")
    pages = crawl_pages()
    result = {}
    if not args.no_cost:
        # every other page: all five languages and both crawl segments in the timed sample
        sample = pages[:: max(1, len(pages) // args.pages)][: args.pages]
        result["cost"] = cost(sample, args.rounds)
    if args.quality:
        result["quality"] = quality(pages, not args.no_checkset)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, ensure_ascii=False))
    return result


if __name__ == "__main__":
    main()
