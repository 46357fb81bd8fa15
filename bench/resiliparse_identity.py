"""The resiliparse engine before and after a change to corpus/resiliparse_extract.py: same output, and its cost.

    .venv/bin/python bench/resiliparse_identity.py [--before REV] [--rounds 5]

Why. corpus/resiliparse_extract.py is tuned for speed (issue 20), and a speed change must not change a single
page. The ``before`` side is the module as committed at ``--before`` (default: the version before the
element-only walk), loaded from git next to the working tree's; both extract every page:

- the shared crawl's first captures (bench/extract_cost.py's ``crawl_pages``, 840 pages, five languages) and
  the annotated set's pages (bench/extract_set/pages/);
- under the stage's defaults, without the fallback, and cut at ``max_nodes`` 100 and 1,000 (the size bound's
  path: which nodes go and how many are counted);

and every field of the result (text, mode, visible text, prose and Han counts, nodes removed) must be equal
on every page. The crawl never puts visible text between the members of a link run, nor cuts inside a link
list, so ``--fuzz`` random pages (seeded, so the same every run) built from the shapes the pruning decides on
(link paragraphs and list items, titles, text and comments between them, nested links, chrome by tag, role,
attribute and class, header/footer in and out of an article, zh and en text) go through both modules too,
each also cut at a few ``max_nodes``. Then the cost: ``--rounds`` rounds of ``filters.extract.extract_page`` over all pages with
the engine's defaults, before and after in turn (the order alternating round by round, so this shared
machine's load falls on both alike), CPU time of this thread (``time.thread_time``); printed as ms/page, the
range over rounds. Exit 1 when any page differs.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from extract_cost import crawl_pages  # noqa: E402

from filters.charset import decode  # noqa: E402
from filters.extract import ExtractParams, extract_page  # noqa: E402

MODULE = "corpus/resiliparse_extract.py"
NAME = "corpus.resiliparse_extract"
BEFORE = "58c02e3"  # the last commit before the element-only walk
SET = ROOT / "bench" / "extract_set" / "pages"


def pages() -> list[tuple[str, str]]:
    """(name, decoded page): the crawl's first captures, then the annotated set's pages."""
    out = list(crawl_pages())
    out += [(f.name, decode(f.read_bytes(), None)[0]) for f in sorted(SET.glob("*.html"))]
    return out


def load_rev(rev: str) -> ModuleType:
    """The module as committed at ``rev``, imported under a name of its own."""
    src = subprocess.run(["git", "show", f"{rev}:{MODULE}"], cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout
    path = Path(tempfile.mkdtemp()) / "resiliparse_extract_before.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("resiliparse_extract_before", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def fuzz_pages(n: int, seed: int = 20) -> list[tuple[str, str]]:
    """``n`` random pages of link runs, titles, text between them and chrome (see the module docstring)."""
    rng = random.Random(seed)
    words = ["Related Topics", "相关主题", "Open the file", "打开文件", "x", "  ", "\n", "a longer sentence of prose here",
             "这是一段较长的正文内容，用来计算字符。", "\u3000", "\xa0"]

    def text() -> str:
        return rng.choice(words)

    def link() -> str:
        inner = text() if rng.random() < 0.8 else f"<span>{text()}</span>"
        return f'<a href="/{rng.randrange(99)}">{inner}</a>' if rng.random() < 0.9 else f"<a>{inner}</a>"

    def sep() -> str:
        return rng.choice(["", " ", "\n  ", "<!-- c -->", "<!-- Related -->", "<a href='#'></a>", "<span></span>", "<br>",
                           text(), "<b>see</b>"])

    def link_run() -> str:
        """A title, then link blocks with what may or may not break the run between them."""
        title = rng.choice(["", "<p>Related Topics</p>", "<h3>相关主题</h3>", "<div>x</div>", "<span>Related</span>",
                            f"<p>{'a long title line, far longer than forty characters in all'}</p>", "Related:"])
        block = rng.choice(["p", "li", "div", "td", "span"])
        items = [f"<{block}>{link()}</{block}>" for _ in range(rng.randrange(2, 7))]
        body = "".join(item + (sep() if rng.random() < 0.5 else "") for item in items)
        return title + sep() + body

    def node(depth: int) -> str:
        r = rng.random()
        if r < 0.15:
            return link_run()
        if depth > 4 or r < 0.35:
            return rng.choice([text(), link(), "<!-- c -->", "<!-- Related -->", " ", "<br>", "<a href='#'></a>"])
        tag = rng.choice(["p", "div", "li", "ul", "span", "section", "h3", "td", "b", "nav", "header", "footer",
                          "article", "main", "aside", "table", "script", "i"])
        attr = rng.choice(["", "", "", ' class="cookie-banner"', ' id="modal"', ' role="navigation"', ' hidden',
                           ' style="display: none"', ' aria-hidden="true"', ' aria-hidden="false"', ' class="content"',
                           ' role="Menu"', ' class="popupx"'])
        kids = "".join(node(depth + 1) for _ in range(rng.randrange(1, 7)))
        if tag in ("p", "li", "div") and rng.random() < 0.4:
            kids = link()
        return f"<{tag}{attr}>{kids}</{tag}>"

    out = []
    for i in range(n):
        body = "".join(node(0) for _ in range(rng.randrange(1, 8)))
        out.append((f"fuzz-{i}", f"<html><head><title>t</title></head><body>{body}</body></html>"))
    return out


def compare(before: ModuleType, after: ModuleType, ps: list[tuple[str, str]], cuts: tuple[int, ...] = (100, 1000)) -> int:
    """Pages whose result differs in any field, over every setting; each difference printed."""
    base = ExtractParams(engine="resiliparse")
    settings = {"defaults": base, "no fallback": dataclasses.replace(base, fallback=False)}
    settings |= {f"max_nodes={n}": dataclasses.replace(base, max_nodes=n) for n in cuts}
    bad = 0
    for label, p in settings.items():
        diff = cut = 0
        for name, page in ps:
            args = (page[: p.max_html_chars], p.max_nodes, p.min_kept_frac, p.min_visible_chars, p.fallback,
                    p.han_char_weight)
            a, b = dataclasses.asdict(before.extract_fast(*args)), dataclasses.asdict(after.extract_fast(*args))
            cut += a["nodes_removed"] > 0
            if a != b:
                diff += 1
                print(f"  DIFF {label} {name}: " + ", ".join(k for k in a if a[k] != b[k]))
        print(f"{label:15s} {len(ps)} pages, {cut} cut by max_nodes, {diff} differ")
        bad += diff
    return bad


def cost(before: ModuleType, after: ModuleType, ps: list[tuple[str, str]], rounds: int) -> None:
    """extract_page's CPU ms/page with each module in turn (extract_page imports the engine by name)."""
    p = ExtractParams(engine="resiliparse")
    times: dict[str, list[float]] = {"before": [], "after": []}
    for r in range(rounds):
        order = [("before", before), ("after", after)]
        for label, mod in order if r % 2 == 0 else order[::-1]:
            sys.modules[NAME] = mod
            t0 = time.thread_time()
            for name, page in ps:
                extract_page(page, name, p)
            times[label].append((time.thread_time() - t0) * 1e3 / len(ps))
    sys.modules[NAME] = after
    print(f"extract_page, engine resiliparse, {len(ps)} pages, {rounds} rounds (CPU ms/page, min-max):")
    for label, ts in times.items():
        print(f"  {label:7s} {min(ts):.3f}-{max(ts):.3f}  (median {sorted(ts)[len(ts) // 2]:.3f})")
    ratios = sorted(a / b for a, b in zip(times["after"], times["before"]))
    print(f"  after/before per round: {ratios[0]:.2f}-{ratios[-1]:.2f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", default=BEFORE, help="git revision of the module to compare against")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--fuzz", type=int, default=3000, help="random pages to compare as well")
    args = ap.parse_args()
    import corpus.resiliparse_extract as after

    before = load_rev(args.before)
    ps = pages()
    bad = compare(before, after, ps)
    print(f"random pages (--fuzz {args.fuzz}):")
    bad += compare(before, after, fuzz_pages(args.fuzz), cuts=(3, 10, 30))
    cost(before, after, ps, args.rounds)
    print("identical on every page" if not bad else f"{bad} page results differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
