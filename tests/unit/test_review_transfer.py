"""How labels carry to another run (corpus.review.metrics): a label counts only where it answers the question the run
asks of its document, and only while the document has the text that was labelled. On real data: the shipped labels
(tests/data/review_labels.parquet; the first 245 made on an earlier run of the shared crawl) and a later real run of
the same crawl cut to those documents (tests/data/review_run: another extraction of some zh pages, changed Gopher
repetition thresholds)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from corpus.review import metrics, store
from corpus.review.rundocs import RunView, shown_text

DATA = Path(__file__).resolve().parents[1] / "data"
LABELS = DATA / "review_labels.parquet"
RUN = DATA / "review_run"
EARLIER = "e56603bcf8b78e5a"  # the recipe key of the run the first 245 labels were made on
STALE_ZH = ("shared/02/blockarrows", "swriter/01/04190000", "sbasic/shared/03010000", "sbasic/shared/03080502")


@pytest.fixture(scope="module")
def view() -> RunView:
    return RunView(RUN)


@pytest.fixture(scope="module")
def labels() -> pa.Table:
    return store.read(LABELS)


def _earlier(labels: pa.Table) -> pa.Table:
    return labels.filter(pc.equal(labels.column("recipe"), EARLIER))


def _cell(summary: dict, reason: str, lang: str = "*") -> dict:
    return next(p for p in summary["precision"] if p["reason"] == reason and p["lang"] == lang)


def _fates(view: RunView, ids) -> dict[str, dict]:
    return {r["id"]: r for r in view.fates(list(ids)).to_pylist()}


def test_the_fixture_records_what_each_label_answered(labels, view):
    rows = labels.to_pylist()
    assert {r["question"] for r in rows} == {"quality", "duplicate"}
    assert all(r["question"] == ("duplicate" if (r["reason"] or "").startswith("dedup.") else "quality") for r in rows)
    assert all(r["text_hash"] for r in rows)
    later = [r for r in rows if r["recipe"] == view.recipe_key]  # the relabels made on this run
    assert len(later) == 39 and all(r["reviewer"] == "claude-curator" for r in later)
    # a relabel judged the text this run holds
    hashes = view.text_hashes([r["doc_id"] for r in later])
    assert all(hashes[r["doc_id"]] == r["text_hash"] for r in later)


def test_dedup_reasons_count_only_labels_that_judged_duplication(labels, view):
    earlier = _earlier(labels)
    latest = store.latest(earlier)
    fates = _fates(view, latest)
    url_drops = [d for d, f in fates.items() if f["drop_reason"] == "dedup.url"]
    asked = [d for d in url_drops if (latest[d]["reason"] or "").startswith("dedup.")]
    other = [d for d in url_drops if d not in asked]
    # the documents the old rule (any label, by id) counted as dedup.url's wrong drops: text judged good when they
    # were sampled under a Gopher repetition reason, never a judgement on duplication
    assert len(other) == 9 and all(latest[d]["label"] == "good" and latest[d]["stage"] == "gopher_repetition" for d in other)
    s = metrics.summarize(earlier, view)
    cell = _cell(s, "dedup.url")
    assert (cell["labelled"], cell["bad"], cell["good"]) == (len(asked), sum(latest[d]["label"] == "bad" for d in asked), 0)
    assert cell["labelled"] == 20 and cell["precision"] == 1.0 and cell["good_lost"] == 0  # the old rule: 29, 0.69, 33 lost
    assert s["other_question"] == len(other)
    # the 9 relabelled as duplicates on this run count there now
    full = _cell(metrics.summarize(labels, view), "dedup.url")
    assert (full["labelled"], full["bad"]) == (29, 29)


def test_a_text_label_carries_to_every_text_reason(labels, view):
    """A document labelled under one text-quality reason and dropped by another in this run counts under the new
    one (same question, same text); kept controls count text labels given under a drop."""
    earlier = _earlier(labels)
    latest = store.latest(earlier)
    fates = _fates(view, latest)
    hashes = view.text_hashes(list(fates))
    moved = {d: f for d, f in fates.items() if f["drop_reason"] and not f["drop_reason"].startswith("dedup.")
             and latest[d]["reason"] != f["drop_reason"] and not (latest[d]["reason"] or "").startswith("dedup.")}
    assert len(moved) >= 10  # e.g. top_4_gram drops of the earlier run that gopher_quality.short_doc drops now
    s = metrics.summarize(earlier, view)
    for reason in {f["drop_reason"] for f in moved.values()}:
        expect = [d for d, f in fates.items() if f["drop_reason"] == reason and latest[d]["question"] == "quality"
                  and latest[d]["text_hash"] == hashes[d]]
        assert _cell(s, reason)["labelled"] == len(expect), reason


def test_labels_of_a_changed_text_are_stale(labels, view):
    earlier = _earlier(labels)
    by_url = {r["url"]: r for r in earlier.to_pylist()}
    four = {next(u for u in by_url if u.endswith(f"/zh-CN/text/{p}.html")) for p in STALE_ZH}
    ids = {by_url[u]["doc_id"] for u in four}
    assert all(by_url[u]["label"] == "bad" for u in four)  # the old extraction's fragments: stub, stub, 62 chars, code
    fates = _fates(view, ids)
    assert all(f["drop_reason"] is None and f["lang"] == "zh" for f in fates.values())  # kept now, with longer text
    for d in ids:
        row = view.row(d)
        assert store.text_hash(shown_text(row)[0]) != next(r["text_hash"] for r in earlier.to_pylist() if r["doc_id"] == d)
    j = metrics.judge(earlier, view)
    assert ids <= set(j["stale"]) and not ids & {r["doc_id"] for r in j["rows"]}
    kept_zh = [r for r in j["rows"] if r["reason"] is None and r["lang"] == "zh"]
    fk = next(k for k in metrics.summarize(earlier, view)["false_keep"] if k["lang"] == "zh")
    assert (fk["labelled"], fk["bad"]) == (len(kept_zh), sum(r["label"] == "bad" for r in kept_zh))
    # with the relabels made on this text: counted again, as judged now (three usable, the code page still not)
    full = metrics.judge(labels, view)
    now = {r["doc_id"]: r for r in full["rows"]}
    assert ids <= set(now) and not full["stale"] and not full["other_question"]
    assert sorted(now[d]["label"] for d in ids) == ["bad", "good", "good", "good"]


def test_labels_without_a_hash_still_answer_only_their_question(labels, view, tmp_path):
    """Labels written before the question and text_hash columns: the question comes from the stage they were made
    under; without a hash they are taken as judging the current text."""
    legacy = tmp_path / "labels.parquet"
    pq.write_table(_earlier(labels).drop_columns(["question", "text_hash"]), legacy)
    t = store.read(legacy)
    assert t.column("question").to_pylist() == _earlier(labels).column("question").to_pylist()
    s = metrics.summarize(t, view)
    assert s["stale"] == 0 and s["other_question"] == 9 and _cell(s, "dedup.url")["labelled"] == 20


def test_whatif_and_model_truth_use_text_labels_only(labels, view):
    q = metrics.quality_labels(labels, view)
    assert all(r["question"] == "quality" for r in q.values())
    dup_only = {r["doc_id"] for r in labels.to_pylist() if r["question"] == "duplicate"} - {
        r["doc_id"] for r in labels.to_pylist() if r["question"] == "quality"}
    assert dup_only and not dup_only & set(q)  # "bad" = a duplicate says nothing about the text
    w = metrics.whatif(view, labels, "gq_words")
    text_only = metrics.whatif(view, labels.filter(pc.equal(labels.column("question"), "quality")), "gq_words")
    assert (w["good"], w["bad"]) == (text_only["good"], text_only["bad"]) and w["good"] + w["bad"] > 50


def test_the_page_offers_stale_and_other_question_documents_first(labels, tmp_path):
    from corpus.review.server import Review

    run = tmp_path / "run"
    shutil.copytree(RUN, run)
    earlier = tmp_path / "earlier.parquet"
    pq.write_table(_earlier(labels), earlier)
    r = Review(run, "tester", extra_labels=[str(earlier)])
    j = metrics.judge(_earlier(labels), r.view)
    again = set(j["stale"]) | set(j["other_question"])
    assert len(again) == 39
    first = r.next("tab", 50, None)
    assert {d["id"] for d in first[:39]} == again and all(d["stratum"].startswith("again:") for d in first[:39])
    assert not {d["id"] for d in first[39:]} & ({row["doc_id"] for row in j["rows"]})  # labels that count are not asked again
    dup = next(d for d in first if d["stratum"].startswith("again:question:dedup.url"))
    assert r.view.document(dup["id"])["question"] == "duplicate"
    r.label({"id": dup["id"], "label": "bad", "stratum": dup["stratum"]})
    row = store.read(run).to_pylist()[-1]
    assert (row["question"], row["reason"]) == ("duplicate", "dedup.url")
    assert row["text_hash"] == r.view.text_hashes([dup["id"]])[dup["id"]]
    s = r.summary()
    assert s["other_question"] == len(j["other_question"]) - 1 and _cell(s, "dedup.url")["labelled"] == 21
    assert dup["id"] not in {d["id"] for d in r.next("tab2", 50, None)}
