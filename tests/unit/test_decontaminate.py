"""Benchmark decontamination on real pages of the shared crawl with real GSM8K / MGSM items planted in them:
every planted kind, the Chinese translation by character n-grams, a page about GSM8K that quotes nothing,
normalisation, passage removal, the index (memory-mapped, built once), and the recipe's checks."""

from __future__ import annotations

import dataclasses
import json
import random
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus.decont import planted, sources
from corpus.decont.index import Index
from corpus.decont.normalize import normalize, tokens
from corpus.recipe import RecipeError, parse
from filters.decontaminate import Decontaminate, DecontaminateParams


@pytest.fixture(scope="module")
def bench_dir(shared_data):
    return shared_data / "benchmarks"


@pytest.fixture(scope="module")
def specs(bench_dir) -> list[dict]:
    return [{"name": "gsm8k", "path": str(bench_dir / "gsm8k-test.jsonl"), "fields": ["question", "answer"]},
            {"name": "mgsm_zh", "path": str(bench_dir / "mgsm_zh.tsv"), "fields": [0]}]


@pytest.fixture(scope="module")
def pages(shared_data) -> dict[str, list[str]]:
    """Four real en-US and four real zh-CN help pages, their main text extracted by trafilatura."""
    import trafilatura
    from warcio.archiveiterator import ArchiveIterator

    out: dict[str, list[str]] = {"en": [], "zh": []}
    with open(shared_data / "crawl" / "segment-00000.warc.gz", "rb") as fh:
        for rec in ArchiveIterator(fh):
            url = rec.rec_headers.get_header("WARC-Target-URI") or ""
            lang = "en" if "/en-US/" in url else "zh" if "/zh-CN/" in url else None
            if rec.rec_type != "response" or lang is None or len(out[lang]) >= 4:
                continue
            text = trafilatura.extract(rec.content_stream().read().decode("utf-8", "replace")) or ""
            if len(text) >= 600:
                out[lang].append(text)
            if all(len(v) >= 4 for v in out.values()):
                break
    assert all(len(v) == 4 for v in out.values())
    return out


@pytest.fixture(scope="module")
def gsm(bench_dir) -> list[sources.Item]:
    return sources.load(sources.Benchmark("gsm8k", str(bench_dir / "gsm8k-test.jsonl"), ("question", "answer")))


@pytest.fixture(scope="module")
def mgsm_zh(bench_dir) -> list[sources.Item]:
    return sources.load(sources.Benchmark("mgsm_zh", str(bench_dir / "mgsm_zh.tsv"), (0,)))


def make_step(specs, work, **kw) -> Decontaminate:
    step = Decontaminate(DecontaminateParams(benchmarks=specs, **kw))
    step.prepare(work)
    step.setup()
    return step


@pytest.fixture(scope="module")
def step(specs, tmp_path_factory) -> Decontaminate:
    return make_step(specs, tmp_path_factory.mktemp("decont"))


def run(step: Decontaminate, texts: list[str]) -> list[dict]:
    return step(pa.table({"id": [str(i) for i in range(len(texts))], "text": texts})).to_pylist()


ITEMS = (3, 101, 777)  # GSM8K test rows used below


@pytest.mark.parametrize("kind", ["verbatim", "no_answer", "edited"])
def test_planted_problem_is_flagged_with_its_item(step, pages, gsm, kind):
    rng = random.Random(kind)
    texts = [planted.insert(page, planted.passage(kind, *gsm[i].fields, rng), rng) for i, page in zip(ITEMS, pages["en"])]
    for i, row in zip(ITEMS, run(step, texts)):
        assert row["drop_reason"] == "decontaminate.gsm8k", (kind, i, row["decont_overlap"])
        assert row["decont_item"] == str(i)
        assert row["decont_overlap"] >= 0.5
        assert normalize(gsm[i].fields[0])[:20] in normalize(row["decont_span"]) or kind == "edited"


def test_verbatim_problem_overlaps_fully_and_an_edit_lowers_it(step, pages, gsm):
    rng = random.Random(1)
    q, a = gsm[ITEMS[0]].fields
    whole, edited = run(step, [planted.insert(pages["en"][0], planted.passage("verbatim", q, a, rng), rng),
                               planted.insert(pages["en"][0], planted.edit(q, rng), rng)])
    assert whole["decont_overlap"] == pytest.approx(1.0)
    assert 0.5 <= edited["decont_overlap"] < 1.0


def test_half_a_problem_scores_about_half(step, pages, gsm):
    """Half the question covers about half its tokens: it is found, labelled with its item, and dropped only at
    a threshold below its overlap (the default 0.5 keeps it; the bench reports recall for halves per threshold)."""
    texts = [planted.insert(page, planted.half(gsm[i].fields[0]), random.Random(i)) for i, page in zip(ITEMS, pages["en"])]
    for i, row in zip(ITEMS, run(step, texts)):
        assert row["decont_item"] == str(i) and 0.3 <= row["decont_overlap"] <= 0.6, row["decont_overlap"]
        assert (row["drop_reason"] is not None) == (row["decont_overlap"] >= step.params.min_overlap)


def test_chinese_translation_is_found_by_character_ngrams(step, pages, mgsm_zh):
    rng = random.Random(2)
    chosen = (0, 57, 199)
    texts = [planted.insert(page, planted.passage("zh", mgsm_zh[i].fields[0], "", rng), rng) for i, page in zip(chosen, pages["zh"])]
    for i, row in zip(chosen, run(step, texts)):
        assert row["drop_reason"] == "decontaminate.mgsm_zh" and row["decont_item"] == str(i)
        assert row["decont_overlap"] == pytest.approx(1.0)


def test_a_shared_chinese_phrase_is_not_a_quote(step, pages, mgsm_zh):
    """A phrase of the translation shorter than char_ngram characters (it is everyday Chinese: 'every day at the
    farmers' market she earns') matches nothing; the whole problem does."""
    phrase = "她每天在农贸市场赚"
    assert phrase in mgsm_zh[0].fields[0] and len(phrase) < step.params.char_ngram
    row, = run(step, [planted.insert(pages["zh"][0], f"听说{phrase}不少钱。", random.Random(0))])
    assert row["drop_reason"] is None and row["decont_overlap"] is None


def test_pages_discussing_gsm8k_are_not_flagged(step, pages):
    rng = random.Random(3)
    texts = [planted.insert(p, d, rng) for p in pages["en"] for d in planted.DISCUSSION_EN]
    texts += [planted.insert(p, d, rng) for p in pages["zh"] for d in planted.DISCUSSION_ZH]
    texts += pages["en"] + pages["zh"]
    for row in run(step, texts):
        assert row["drop_reason"] is None and (row["decont_overlap"] or 0) < 0.2, row["decont_span"]


def test_normalisation_width_case_punctuation_numbers_and_calculator_notes(step, pages, gsm):
    q, a = gsm[ITEMS[1]].fields
    assert tokens(normalize("Ｊａｎｅｔ’s ducks lay １６ eggs, $80,000!")) == ["janet", "s", "ducks", "lay", "16", "eggs", "80000"]
    shouted = q.upper().replace(".", " ;").replace(" ", "  ")
    wide = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in q)  # full-width digits
    solution = planted.strip_calculator(a)  # the solution as pages show it, without <<...>>
    assert solution != a
    for text in (shouted, wide, solution):
        row, = run(step, [planted.insert(pages["en"][1], text, random.Random(0))])
        assert row["drop_reason"] == "decontaminate.gsm8k" and row["decont_item"] == str(ITEMS[1]), text[:60]


def test_label_only_fills_columns_and_rejects_nothing(specs, tmp_path, pages, gsm):
    step = make_step(specs, tmp_path, label_only=True)
    row, = run(step, [planted.insert(pages["en"][0], gsm[5].fields[0], random.Random(0))])
    assert row["drop_reason"] is None and row["decont_item"] == "5" and row["decont_span"]


def test_remove_passage_cuts_the_problem_and_keeps_the_page(specs, tmp_path, pages, gsm):
    step = make_step(specs, tmp_path, remove_passage=True)
    q, a = gsm[9].fields
    page = pages["en"][2]
    long_page = planted.insert(page, planted.passage("verbatim", q, a, random.Random(0)), random.Random(0))
    short_page = "Homework help.\n\n" + q
    kept, dropped = run(step, [long_page, short_page])
    assert kept["drop_reason"] is None and kept["decont_item"] == "9"
    assert q[:40] not in kept["text"] and "Answer:" not in kept["text"]
    assert kept["decontaminate_chars_removed"] == len(long_page) - len(kept["text"]) > len(q)
    assert kept["decontaminate_passages_removed"] >= 1
    assert sum(line in kept["text"] for line in page.splitlines() if line.strip()) >= 0.9 * sum(1 for line in page.splitlines() if line.strip())
    assert dropped["drop_reason"] == "decontaminate.gsm8k" and dropped["decontaminate_chars_removed"] == 0


def test_index_is_memory_mapped_and_built_once(specs, tmp_path):
    step = make_step(specs, tmp_path)
    folder = step.params.index_dir
    assert isinstance(step.index.hashes, np.memmap) and np.all(np.diff(step.index.hashes) >= 0)
    stamp = (tmp_path / folder / "meta.json").stat().st_mtime_ns
    again = Decontaminate(DecontaminateParams(benchmarks=specs))
    again.prepare(tmp_path)
    assert again.params.index_dir == folder and (tmp_path / folder / "meta.json").stat().st_mtime_ns == stamp
    other = Decontaminate(DecontaminateParams(benchmarks=specs, char_ngram=13))
    other.prepare(tmp_path)
    assert other.params.index_dir != folder
    meta = Index(folder).meta
    assert meta["items"] == {"gsm8k": 1319, "mgsm_zh": 250} and meta["unindexed_items"] == {"gsm8k": 0, "mgsm_zh": 0}


def test_benchmark_formats_headerless_tsv_csv_parquet_jsonl_with_ids(tmp_path, bench_dir, gsm):
    rows = [json.loads(line) for line in open(bench_dir / "gsm8k-test.jsonl", encoding="utf-8")][:20]
    pq.write_table(pa.table({"qid": [f"q{i}" for i in range(20)], "problem": [r["question"] for r in rows]}), tmp_path / "b.parquet")
    (tmp_path / "b.csv").write_text("problem,qid\n" + "".join(f'"{r["question"]}",c{i}\n' for i, r in enumerate(rows)), encoding="utf-8")
    (tmp_path / "b.jsonl").write_text("".join(json.dumps({"q": r["question"], "k": i}) + "\n" for i, r in enumerate(rows)))
    shutil.copy(bench_dir / "mgsm_en.tsv", tmp_path / "en.tsv")
    cases = [("b.parquet", ["problem"], "qid", "q7"), ("b.csv", ["problem"], "qid", "c7"), ("b.jsonl", ["q"], "k", "7"),
             ("en.tsv", [0], None, "7")]
    for name, fields, id_, key in cases:
        items = sources.load(sources.Benchmark("x", str(tmp_path / name), tuple(fields), id_))
        assert items[7].key == key
        assert items[7].fields[0] == (gsm[7].fields[0] if name != "en.tsv" else items[7].fields[0])
    with pytest.raises(sources.BenchmarkError, match="no column"):
        sources.load(sources.Benchmark("x", str(tmp_path / "b.csv"), ("question",)))
    with pytest.raises(sources.BenchmarkError, match="position"):
        sources.load(sources.Benchmark("x", str(tmp_path / "en.tsv"), (5,)))


def test_a_missing_field_fails_on_the_driver(specs):
    step = Decontaminate(DecontaminateParams(benchmarks=[dict(specs[0], fields=["question", "solution"])]))
    with pytest.raises(sources.BenchmarkError, match=r"no field\(s\) \['solution'\]"):
        step.files(lambda where, ref: ref)


@pytest.mark.parametrize("params, message", [
    ({}, "name at least one"),
    ({"benchmarks": [{"name": "GSM 8K", "path": "x.jsonl", "fields": ["q"]}]}, "identifier"),
    ({"benchmarks": [{"name": "a", "path": "x.jsonl", "fields": []}]}, "non-empty list"),
    ({"benchmarks": [{"name": "a", "path": "x.jsonl", "fields": ["q"]}] * 2}, "unique"),
    ({"benchmarks": [{"name": "a", "path": "x.jsonl", "fields": ["q"]}], "min_overlap": 1.5}, "within"),
    ({"benchmarks": [{"name": "a", "path": "x.jsonl", "fields": ["q"]}], "word_ngram": 1}, "word_ngram"),
    ({"benchmarks": [{"name": "a", "path": "x.jsonl", "fields": ["q"]}], "index_dir": "/tmp/x"}, "set by the run"),
    ({"benchmarks": [{"name": "a", "path": "x.jsonl", "fields": ["q"]}], "index_stride": 9}, "must not exceed"),
])
def test_recipe_checks(params, message):
    with pytest.raises(RecipeError, match=message):
        parse({"name": "t", "stages": [{"decontaminate": params}]}, "t.yaml")


def test_setup_without_prepare_says_so(specs):
    with pytest.raises(RuntimeError, match="prepare"):
        Decontaminate(dataclasses.replace(DecontaminateParams(benchmarks=specs))).setup()
