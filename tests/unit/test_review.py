"""The labels store (real Parquet, concurrent writers in threads and processes, restarts) and the numbers from labels,
on the shipped fixture: 245 documents of the shared crawl labelled by reading them (tests/data/review_labels.parquet)."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpus.review import metrics, store
from corpus.review.store import LabelError, LabelStore

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "review_labels.parquet"


def test_wilson_interval_matches_the_closed_form():
    # textbook values (Wilson 1927; Newcombe 1998, table I): 0/10, 5/10, 10/10 at 95%
    assert metrics.wilson(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert metrics.wilson(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert metrics.wilson(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)
    assert metrics.wilson(0, 0) == (0.0, 1.0)
    lo, hi = metrics.wilson(81, 263)
    assert lo < 81 / 263 < hi and hi - lo < 0.12


def _row(i: int, label: str = "bad", reason: str | None = "c4.too_few_sentences") -> dict:
    return {"doc_id": f"d{i}", "label": label, "tags": ["boilerplate"] if label == "bad" else [], "reviewer": "t",
            "stage": reason.split(".")[0] if reason else None, "reason": reason, "lang": "en"}


def test_store_appends_survive_a_restart_and_refuse_unknown_labels(tmp_path):
    s = LabelStore(tmp_path)
    assert s.append([_row(1)]) == 1
    assert s.append([_row(2, "good"), _row(3, "skip")]) == 3
    again = LabelStore(tmp_path).read()  # a new server on the same folder
    assert again.column("doc_id").to_pylist() == ["d1", "d2", "d3"]
    assert again.column("tags").to_pylist() == [["boilerplate"], [], []]
    assert pq.read_table(tmp_path / "review" / "labels.parquet").num_rows == 3  # a plain Parquet file
    with pytest.raises(LabelError, match="use one of"):
        s.append([_row(4, "maybe")])
    with pytest.raises(LabelError, match="tag"):
        s.append([dict(_row(5), tags=["nice"])])
    assert s.read().num_rows == 3  # a refused batch writes nothing
    assert not list((tmp_path / "review").glob(".*.tmp"))


def _append_many(folder: str, start: int, n: int) -> None:
    s = LabelStore(folder)
    for i in range(start, start + n):
        s.append([_row(i)])


def test_concurrent_writers_lose_nothing(tmp_path):
    threads = [threading.Thread(target=_append_many, args=(str(tmp_path), k * 100, 15)) for k in range(4)]
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_append_many, args=(str(tmp_path), 1000 + k * 100, 15)) for k in range(2)]
    for w in procs + threads:  # fork first: a child forked while a thread holds the store's lock would inherit it held
        w.start()
    for w in threads + procs:
        w.join(timeout=120)
    assert all(p.exitcode == 0 for p in procs)
    ids = store.read(tmp_path).column("doc_id").to_pylist()
    assert len(ids) == 90 and len(set(ids)) == 90


def test_latest_label_wins(tmp_path):
    s = LabelStore(tmp_path)
    s.append([_row(1, "bad")])
    s.append([_row(1, "good")])
    summary = metrics.summarize(s.read())
    row = next(p for p in summary["precision"] if p["lang"] == "*")
    assert (row["labelled"], row["bad"], row["good"]) == (1, 0, 1)
    assert summary["labels"] == 2 and summary["documents"] == 1


def test_fixture_labels_and_their_precision_table():
    t = store.read(FIXTURE)
    rows = list(store.latest(t).values())
    assert len(rows) >= 200 and {"zh", "en"} <= {r["lang"] for r in rows}
    assert sum(r["lang"] == "zh" for r in rows) >= 60 and sum(r["lang"] == "en" for r in rows) >= 100
    assert {r["label"] for r in rows} == {"good", "bad"} and all(r["reviewer"] and r["recipe"] for r in rows)
    summary = metrics.summarize(t)
    # the table, recounted by hand from the rows
    by_reason = Counter((r["reason"], r["label"]) for r in rows if r["reason"])
    for p in summary["precision"]:
        if p["lang"] == "*":
            assert (p["bad"], p["good"]) == (by_reason[(p["reason"], "bad")], by_reason[(p["reason"], "good")])
            assert p["low"] <= p["precision"] <= p["high"]
    kept = [r for r in rows if not r["reason"]]
    fk = next(k for k in summary["false_keep"] if k["lang"] == "*")
    assert fk["labelled"] == len(kept) and fk["bad"] == sum(r["label"] == "bad" for r in kept)
    assert "langid.language" in metrics.text(summary)
