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
on every page. Then the cost: ``--rounds`` rounds of ``filters.extract.extract_page`` over all pages with
the engine's defaults, before and after in turn (the order alternating round by round, so this shared
machine's load falls on both alike), CPU time of this thread (``time.thread_time``); printed as ms/page, the
range over rounds. Exit 1 when any page differs.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
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


def compare(before: ModuleType, after: ModuleType, ps: list[tuple[str, str]]) -> int:
    """Pages whose result differs in any field, over every setting; each difference printed."""
    base = ExtractParams(engine="resiliparse")
    settings = {"defaults": base, "no fallback": dataclasses.replace(base, fallback=False),
                "max_nodes=100": dataclasses.replace(base, max_nodes=100),
                "max_nodes=1000": dataclasses.replace(base, max_nodes=1000)}
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
    args = ap.parse_args()
    import corpus.resiliparse_extract as after

    before = load_rev(args.before)
    ps = pages()
    bad = compare(before, after, ps)
    cost(before, after, ps, args.rounds)
    print("identical on every page" if not bad else f"{bad} page results differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
