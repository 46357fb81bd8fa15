"""Rebuild (and check) the annotated extraction set: copy each labelled page from where it came from.

    .venv/bin/python bench/extract_set/collect.py          # write pages/<id>.html from the sources
    .venv/bin/python bench/extract_set/collect.py --check  # only check the labels against the stored pages

Sources (``source`` in labels.jsonl): ``crawl`` = the response body for ``url`` in ../shared/data/crawl
(first capture), ``file`` = an HTML file a Debian/npm/rustup package installed on the build machine (``path``),
``sample`` = the page for ``url`` from ``corpus.sample.build_pages(60, Random(5))``. The check asserts that
every "must" snippet is in the page's text and every "must_not" snippet is in the page too (a boilerplate
label that is not on the page could never be violated), both compared without whitespace.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

CRAWL = ROOT.parent / "shared" / "data" / "crawl"


def squash(s: str) -> str:
    """Whitespace-free form used to match snippets: extractors differ in where they break lines."""
    return "".join(s.split())


def labels() -> list[dict]:
    return [json.loads(line) for line in (HERE / "labels.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]


def _crawl_pages(urls: set[str]) -> dict[str, bytes]:
    from warcio.archiveiterator import ArchiveIterator

    found: dict[str, bytes] = {}
    for warc in sorted(CRAWL.glob("*.warc.gz")):
        with open(warc, "rb") as fh:
            for rec in ArchiveIterator(fh):
                url = rec.rec_headers.get_header("WARC-Target-URI")
                if rec.rec_type == "response" and url in urls and url not in found:
                    found[url] = rec.content_stream().read()
    return found


def collect() -> None:
    from corpus.sample import build_pages

    rows = labels()
    crawl = _crawl_pages({r["url"] for r in rows if r["source"] == "crawl"})
    sample = {u: b for u, b, _ in build_pages(60, random.Random(5))}
    out = HERE / "pages"
    out.mkdir(exist_ok=True)
    for r in rows:
        if r["source"] == "crawl":
            data = crawl[r["url"]]
        elif r["source"] == "sample":
            data = sample[r["url"]]
        else:
            data = Path(r["path"]).read_bytes()
        (out / f"{r['id']}.html").write_bytes(data)


def check() -> list[str]:
    from trafilatura.utils import load_html

    from filters.charset import decode

    problems = []
    for r in labels():
        page, _ = decode((HERE / "pages" / f"{r['id']}.html").read_bytes(), None)
        tree = load_html(page)
        for el in tree.iter("script", "style"):
            el.drop_tree()
        text = squash(tree.text_content())
        problems += [f"{r['id']}: must snippet not on the page: {s!r}" for s in r["must"] if squash(s) not in text]
        problems += [f"{r['id']}: must_not snippet not on the page: {s!r}" for s in r["must_not"] if squash(s) not in text]
    return problems


if __name__ == "__main__":
    if "--check" not in sys.argv:
        collect()
    bad = check()
    print("\n".join(bad) or f"{len(labels())} pages, every snippet found on its page")
    sys.exit(1 if bad else 0)
