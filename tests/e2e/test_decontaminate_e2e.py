"""Decontamination through `corpus run` on Ray: a JSONL of real crawl pages (en-US and zh-CN help pages, text
extracted by trafilatura) with GSM8K and MGSM zh problems planted in some of them, and a recipe
`[langid, format, decontaminate]` whose benchmark files sit next to it. Long pages lose the quoted problem (an
edit), pages that are little more than a problem are rejected per benchmark, clean pages pass untouched, counts
balance, and the index is built once inside the run folder and reused by a re-run."""

from __future__ import annotations

import json
import random
import shutil

import pyarrow.dataset as ds
import pytest

from corpus.decont import planted, sources
from corpus.pipeline import run

pytestmark = pytest.mark.e2e


def real_pages(shared_data, per_lang: int) -> dict[str, list[tuple[str, str]]]:
    import trafilatura
    from warcio.archiveiterator import ArchiveIterator

    out: dict[str, list[tuple[str, str]]] = {"en": [], "zh": []}
    with open(shared_data / "crawl" / "segment-00001.warc.gz", "rb") as fh:
        for rec in ArchiveIterator(fh):
            url = rec.rec_headers.get_header("WARC-Target-URI") or ""
            lang = "en" if "/en-US/" in url else "zh" if "/zh-CN/" in url else None
            if rec.rec_type != "response" or lang is None or len(out[lang]) >= per_lang or any(u == url for u, _ in out[lang]):
                continue
            text = trafilatura.extract(rec.content_stream().read().decode("utf-8", "replace")) or ""
            if len(text) >= 1200 and (lang == "en" or sum("\u4e00" <= c <= "\u9fff" for c in text) > 300):
                out[lang].append((url, text))
            if all(len(v) >= per_lang for v in out.values()):
                break
    return out


@pytest.fixture(scope="module")
def decont_run(ray_session, shared_data, tmp_path_factory):
    bench = shared_data / "benchmarks"
    gsm = sources.load(sources.Benchmark("g", str(bench / "gsm8k-test.jsonl"), ("question", "answer")))
    zh = sources.load(sources.Benchmark("z", str(bench / "mgsm_zh.tsv"), (0,)))
    pages = real_pages(shared_data, 7)
    rng = random.Random(17)
    rows, truth = [], {}

    def add(url: str, text: str, expect: str) -> None:
        rows.append({"url": url, "text": text})
        truth[url] = expect

    for k, (url, text) in enumerate(pages["en"][:3]):  # long pages quoting a problem: the problem is cut
        add(url + "?quote", planted.insert(text, planted.passage("verbatim", *gsm[40 + k].fields, rng), rng), f"cut:gsm8k:{40 + k}")
    for k, (url, text) in enumerate(pages["zh"][:2]):
        add(url + "?quote", planted.insert(text, planted.passage("zh", zh[10 + k].fields[0], "", rng), rng), f"cut:mgsm_zh:{10 + k}")
    for k in range(2):  # little more than a problem: rejected
        add(f"https://homework.example/q{k}", "Homework help for grade 4.\n\n" + gsm[200 + k].fields[0], "drop:gsm8k")
    add("https://zuoye.example/t0", "四年级数学作业：\n\n" + zh[30].fields[0], "drop:mgsm_zh")
    for url, text in pages["en"][3:] + pages["zh"][2:]:  # clean pages, two of them about GSM8K
        add(url, text, "clean")
    add(pages["en"][6][0] + "?about", planted.insert(pages["en"][6][1], planted.DISCUSSION_EN[0], rng), "clean")
    add(pages["zh"][6][0] + "?about", planted.insert(pages["zh"][6][1], planted.DISCUSSION_ZH[0], rng), "clean")

    folder = tmp_path_factory.mktemp("decont-recipe")
    shutil.copy(bench / "gsm8k-test.jsonl", folder / "gsm8k-test.jsonl")
    shutil.copy(bench / "mgsm_zh.tsv", folder / "mgsm_zh.tsv")
    (folder / "pages.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    recipe = folder / "decont.yaml"
    recipe.write_text(
        "name: decont-e2e\nstages:\n  - langid: {languages: [en, zh]}\n  - format\n  - decontaminate:\n"
        "      remove_passage: true\n      min_chars_left: 300\n      benchmarks:\n"
        "        - {name: gsm8k, path: gsm8k-test.jsonl, fields: [question, answer]}\n"
        "        - {name: mgsm_zh, path: mgsm_zh.tsv, fields: [0]}\n", encoding="utf-8")
    out = tmp_path_factory.mktemp("decont-out")
    summary = run(str(recipe), [str(folder / "pages.jsonl")], str(out))
    return out, summary, truth, {r["url"]: r["text"] for r in rows}, recipe, folder


def _rows(out, sink: str) -> list[dict]:
    return ds.dataset(str(out / sink), format="parquet").to_table().to_pylist()


def test_every_page_meets_its_fate(decont_run):
    out, _, truth, _, _, _ = decont_run
    kept = {r["url"]: r for r in _rows(out, "data")}
    rejected = {r["url"]: r for r in _rows(out, "rejected")}
    assert set(kept) | set(rejected) == set(truth) and not set(kept) & set(rejected)
    for url, expect in truth.items():
        if expect == "clean":
            assert url in kept and kept[url]["decontaminate_chars_removed"] == 0 and kept[url]["decont_span"] is None, url
            assert kept[url]["decont_benchmark"] is None or kept[url]["decont_overlap"] < 0.2, url
        elif expect.startswith("cut:"):
            _, bench, item = expect.split(":")
            row = kept[url]
            assert (row["decont_benchmark"], row["decont_item"]) == (bench, item), url
            assert row["decont_overlap"] == pytest.approx(1.0) and row["decont_span"]
            assert row["decontaminate_chars_removed"] > 0 and row["decontaminate_passages_removed"] >= 1
            assert row["decont_span"][:30] not in row["text"], url
        else:
            assert rejected[url]["drop_reason"] == f"decontaminate.{expect.split(':')[1]}", url
            assert rejected[url]["drop_stage"] == "decontaminate"


def test_counts_balance_and_edits_are_the_cut_characters(decont_run):
    out, summary, truth, _, _, _ = decont_run
    stage = next(s for s in summary["stages"] if s["name"] == "decontaminate")
    assert stage["docs_in"] == stage["docs_out"] + sum(stage["rejected"].values()) + stage["errors"] == len(truth)
    assert stage["rejected"] == {"decontaminate.gsm8k": 2, "decontaminate.mgsm_zh": 1}
    kept = _rows(out, "data")
    assert stage["edits"]["chars_removed"] == sum(r["decontaminate_chars_removed"] for r in kept) > 0
    assert stage["edits"]["passages_removed"] == sum(r["decontaminate_passages_removed"] for r in kept) >= 5


def test_index_lives_in_the_run_folder_and_a_rerun_reuses_it(decont_run):
    out, _, _, _, recipe, folder = decont_run
    (index,) = sorted((out / "global" / "decontaminate").glob("index-*"))
    meta = json.loads((index / "meta.json").read_text())
    assert meta["items"] == {"gsm8k": 1319, "mgsm_zh": 250}
    stamp = (index / "meta.json").stat().st_mtime_ns
    summary = run(str(recipe), [str(folder / "pages.jsonl")], str(out))
    assert (index / "meta.json").stat().st_mtime_ns == stamp
    assert sorted((out / "global" / "decontaminate").glob("index-*")) == [index]
    assert next(s for s in summary["stages"] if s["name"] == "decontaminate")["rejected"] == {"decontaminate.gsm8k": 2, "decontaminate.mgsm_zh": 1}


def test_report_lists_leaked_items_beside_their_benchmark_text(decont_run):
    """The report's decontamination section: documents per benchmark (dropped and cut), the items leaked, and each
    example passage beside the benchmark item's own text from the run's index."""
    from corpus.report import build
    from corpus.report.aggregate import collect

    out, _, truth, _, _, _ = decont_run
    d = collect(out)["decontamination"]
    leaked = [v for v in truth.values() if v != "clean"]
    assert sum(d["documents"].values()) == len(leaked) and d["passages_kept"] == sum(v.startswith("cut:") for v in leaked)
    assert {(b, i) for b, i, _ in d["top"]} == {tuple(v.split(":")[1:]) for v in leaked if v.startswith("cut:")} | {
        (r["decont_benchmark"], r["decont_item"]) for r in _rows(out, "rejected") if r["drop_stage"] == "decontaminate"}
    for x in d["examples"]:
        assert x["item_text"] and x["decont_span"]
        words = x["item_text"].split()[:3] if x["decont_benchmark"] == "gsm8k" else [x["item_text"][:4]]
        assert all(w.lower() in x["decont_span"].lower() for w in words)  # the passage quotes the item shown beside it
    assert "Items found most often" in build(out).read_text(encoding="utf-8")
