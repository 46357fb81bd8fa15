"""Lines of extracted text split inside one source paragraph: how often, in which mode, from which path.

    .venv/bin/python bench/extract_splits.py [--config NAME] [--json out.json] [--show N]

Every first capture of the shared crawl (840 pages) goes through the stage's ``extract_page``. For each
pair of consecutive non-empty output lines (a, b) the page's *leaf blocks* (p, li, dd, dt, td, th, h1-h6,
caption, figcaption, pre, blockquote with no block element inside; cut at <br> and, in pre/code, at
newlines, where the page itself breaks the line; whitespace collapsed) are searched for
``a + b`` or ``a + " " + b``: found, the two lines are one block of the page cut in two (a split). A split
is *mid-sentence* when ``a`` does not end in sentence-final punctuation. Counted per mode the page ended in
(precision / balanced / recall), with the trafilatura path that produced the text of split pages: the
baseline rescue's last tier (the page body's text nodes joined one per line), its paragraph tier, or the
main extractor (with or without wild-text recovery, or the readability/jusText comparison).
"""

from __future__ import annotations

import argparse
import collections
import copy
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import trafilatura.core as tcore  # noqa: E402
from trafilatura.utils import load_html  # noqa: E402

import filters.extract as fx  # noqa: E402
from filters.extract import ExtractParams  # noqa: E402

LEAF_BLOCKS = {"p", "li", "dd", "dt", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "caption", "figcaption",
               "pre", "blockquote"}
ANY_BLOCK = LEAF_BLOCKS | {"div", "ul", "ol", "dl", "table", "tr", "section", "article", "main", "body", "br",
                           "header", "footer", "nav", "aside", "form", "hr", "address", "figure", "details", "summary"}
DEFAULT = "ours, fast_first (default now)"
SENTENCE_END = set(".!?。！？:：;；…")
CLOSERS = set("」』）)\"'”’]】》")


def leaf_texts(page: str) -> list[str]:
    """The page's leaf blocks' texts, each cut at its hard line breaks (<br>; newlines inside pre/code/textarea,
    where the page itself shows them), whitespace collapsed within each piece."""
    tree = load_html(page)
    if tree is None:
        return []
    out = []
    for el in tree.iter(*LEAF_BLOCKS):
        if any(d.tag in ANY_BLOCK for d in el.iterdescendants() if isinstance(d.tag, str)):
            continue
        el = copy.deepcopy(el)
        el.tail = None
        for br in el.iter("br"):
            br.tail = "\x00" + (br.tail or "")
        keep_newlines = el.tag == "pre" or any(a.tag in ("pre", "code", "textarea") for a in el.iterancestors()) \
            or el.find(".//code") is not None
        text = el.text_content()
        for piece in text.split("\x00"):
            for line in (piece.split("\n") if keep_newlines else [piece]):
                t = " ".join(line.split())
                if t:
                    out.append(t)
    return out


def mid_sentence(a: str) -> bool:
    a = a.rstrip()
    while a and a[-1] in CLOSERS:
        a = a[:-1]
    return bool(a) and a[-1] not in SENTENCE_END


def splits(text: str, blocks: list[str]) -> list[tuple[str, str]]:
    """Consecutive line pairs that are one leaf block of the page cut in two."""
    lines = [" ".join(x.split()) for x in text.split("\n")]
    lines = [x for x in lines if x]
    found = []
    for a, b in zip(lines, lines[1:]):
        if any((a + b) in t or (a + " " + b) in t for t in blocks):
            found.append((a, b))
    return found


class PathProbe:
    """Which trafilatura path gave a call's text: trafilatura.core.baseline is wrapped to remember its result."""

    def __init__(self) -> None:
        self.last: tuple[str, str] | None = None
        self.orig = tcore.baseline

    def __enter__(self) -> "PathProbe":
        def baseline(tree):
            body, text, n = self.orig(tree)
            tier = "baseline dump (body text nodes, one per line)" if len(body) == 1 and "\n" in text else "baseline paragraphs"
            self.last = (text, tier)
            return body, text, n
        tcore.baseline = baseline
        return self

    def __exit__(self, *exc) -> None:
        tcore.baseline = self.orig

    def source(self, text: str) -> str:
        if self.last and self.last[0] and self.last[0] in text:
            return self.last[1]
        return "main extractor / comparison"


def measure(params: ExtractParams, pages: list[tuple[str, str]], show: int = 0) -> dict:
    by_mode: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    sources: collections.Counter = collections.Counter()
    examples = []
    texts = {}
    for url, page in pages:
        probe = PathProbe()
        orig_run = fx._run_mode
        last_src = {}

        def run_mode(tree, mode, url_, p, fast=None):
            probe.last = None
            doc = orig_run(tree, mode, url_, p, fast=fast)
            last_src[id(doc)] = probe.source(doc.text or "") if doc is not None else None
            return doc

        fx._run_mode = run_mode
        try:
            with probe:
                got = fx.extract_page(page, url, params)
        finally:
            fx._run_mode = orig_run
        texts[url] = got.text or ""
        c = by_mode[str(got.mode)]
        c["pages"] += 1
        if not got.text:
            continue
        sp = splits(got.text, leaf_texts(page))
        mid = [s for s in sp if mid_sentence(s[0])]
        c["splits"] += len(sp)
        c["mid_sentence_splits"] += len(mid)
        c["pages_with_split"] += bool(sp)
        c["pages_with_mid_sentence_split"] += bool(mid)
        if sp:
            # the source of the winning call is the last one recorded for that text
            src = next((s for s in reversed(list(last_src.values())) if s), "?")
            sources[f"{got.mode}: {src}"] += 1
            if len(examples) < show:
                examples.append((url, mid[:3] or sp[:3]))
    return {"by_mode": {k: dict(v) for k, v in by_mode.items()}, "sources": dict(sources), "examples": examples,
            "texts": texts}


def main() -> dict:
    from extract_cost import CONFIGS, crawl_pages

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default=DEFAULT, help="a configuration of bench/extract_cost.py (its CONFIGS)")
    ap.add_argument("--show", type=int, default=5, help="example split pages printed")
    ap.add_argument("--json", help="write the numbers (and every page's text) here")
    args = ap.parse_args()
    pages = crawl_pages()
    cfg = CONFIGS[args.config]
    with cfg.active():
        r = measure(cfg.params(), pages, args.show)
    print(f"{args.config}: {len(pages)} crawl pages; per final mode: pages, pages with a split line (mid-sentence), splits (mid-sentence)")
    for mode, c in sorted(r["by_mode"].items()):
        print(f"  {mode:<10} {c.get('pages', 0):4d} pages, {c.get('pages_with_split', 0):3d} with a split "
              f"({c.get('pages_with_mid_sentence_split', 0)}), {c.get('splits', 0)} splits ({c.get('mid_sentence_splits', 0)})")
    print("  split pages by source: " + "; ".join(f"{k} {v}" for k, v in sorted(r["sources"].items())))
    for url, ex in r["examples"]:
        print(f"  e.g. {url}: " + " | ".join(f"{a!r} / {b!r}" for a, b in ex))
    if args.json:
        Path(args.json).write_text(json.dumps(r, ensure_ascii=False, indent=1))
    return r


if __name__ == "__main__":
    main()
