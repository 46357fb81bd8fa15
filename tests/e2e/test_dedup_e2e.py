"""Dedup through `corpus run` on Ray: the shared crawl's re-crawls (ground truth in its manifest) and
planted near-duplicates from JSONL, with a recipe that is nothing but dedup."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from corpus.dedup import planted
from corpus.pipeline import run
from corpus.sample import english_paragraphs

pytestmark = pytest.mark.e2e


def _rows(out: Path) -> list[dict]:
    cols = ["id", "url", "date", "text", "dup_cluster", "dup_of"]
    kept = ds.dataset(str(out / "data"), format="parquet").to_table(columns=cols).to_pylist()
    rej = ds.dataset(str(out / "rejected"), format="parquet")
    gone = rej.to_table(columns=cols + ["drop_reason"], filter=ds.field("drop_stage") == "dedup").to_pylist()
    return [dict(r, drop_reason=None) for r in kept] + gone


@pytest.fixture(scope="module")
def crawl_runs(ray_session, shared_data, tmp_path_factory):
    out = {}
    for url in (False, True):
        recipe = tmp_path_factory.mktemp("recipe") / "dedup.yaml"
        recipe.write_text("name: crawl-dedup\nstages:\n  - extract\n  - langid: {languages: [en, zh, de, ja, ru]}\n"
                          f"  - format\n  - dedup: {{url: {str(url).lower()}, line_min_docs: 0}}\n")
        dest = tmp_path_factory.mktemp(f"url-{url}")
        run(str(recipe), [str(shared_data / "crawl" / "*.warc.gz")], str(dest))
        out[url] = dest
    manifest = [json.loads(line) for line in (shared_data / "crawl" / "sample_manifest.jsonl").open()]
    return out, manifest


def test_every_recrawl_is_found(crawl_runs):
    """Each re-crawled page reaching dedup is in one cluster with its original: exact re-crawls as exact
    copies, near re-crawls (a banner line added) as near duplicates when the banner leaves their shingle
    Jaccard similarity at or above the threshold (on a 20-word page it does not, and they must stay apart)."""
    runs, manifest = crawl_runs
    rows = _rows(runs[False])
    by_url: dict[str, list[dict]] = {}
    for r in rows:
        by_url.setdefault(r["url"], []).append(r)
    checked = Counter()
    for m in manifest:
        if m["kind"] == "page" or len(by_url.get(m["url"], [])) != 2:
            continue  # an original whose capture did not reach dedup (no text, other language)
        a, b = by_url[m["url"]]
        if m["kind"] == "near_recrawl" and planted.jaccard(a["text"], b["text"]) < 0.7:
            assert a["dup_of"] != b["id"] and b["dup_of"] != a["id"], m["url"]
            checked["near_below_threshold"] += 1
            continue
        assert a["dup_cluster"] is not None and a["dup_cluster"] == b["dup_cluster"], m["url"]
        dropped = [r for r in (a, b) if r["drop_reason"]]
        assert len(dropped) == 1
        # a near copy is usually dropped as fuzzy; as exact when a third page has the very same text
        want = {"dedup.exact"} if m["kind"] == "exact_recrawl" else {"dedup.fuzzy", "dedup.exact"}
        assert dropped[0]["drop_reason"] in want, (m["url"], dropped[0]["drop_reason"])
        checked[m["kind"]] += 1
    assert checked["exact_recrawl"] >= 65 and checked["near_recrawl"] >= 30 and checked["near_below_threshold"] >= 1, checked
    stats = json.loads((runs[False] / "stats.json").read_text())
    dedup = next(s for s in stats["stages"] if s["name"] == "dedup")
    assert dedup["docs_in"] == dedup["docs_out"] + sum(dedup["rejected"].values())
    assert stats["global"]["dedup"]["clusters"] >= checked["exact_recrawl"] + checked["near_recrawl"]


def test_url_dedup_keeps_the_newest_capture(crawl_runs):
    runs, manifest = crawl_runs
    rows = _rows(runs[True])
    recrawled = {m["url"] for m in manifest if m["kind"] != "page"}
    by_url: dict[str, list[dict]] = {}
    for r in rows:
        by_url.setdefault(r["url"], []).append(r)
    pairs = [v for u, v in by_url.items() if u in recrawled and len(v) == 2]
    assert len(pairs) >= 110
    for a, b in pairs:
        old, new = sorted((a, b), key=lambda r: r["date"])
        assert old["drop_reason"] == "dedup.url" and old["dup_of"] == new["id"]
        assert new["drop_reason"] != "dedup.url"  # it may still duplicate a third page's text


def test_planted_near_duplicates_from_jsonl(ray_session, tmp_path):
    words = " ".join(english_paragraphs()).split()
    bases = [" ".join(words[i : i + 200]) for i in range(0, 200 * 30, 200)]
    rows = planted.families(bases, sorted(set(words)), seed=9)
    for i in range(3):
        with (tmp_path / f"part-{i}.jsonl").open("w") as fh:
            for r in rows[i::3]:
                fh.write(json.dumps({"text": r["text"], "url": r["url"], "date": "2024-05-01", "label": r["id"]}) + "\n")
    recipe = tmp_path / "only-dedup.yaml"
    recipe.write_text("name: only-dedup\nstages:\n  - dedup: {line_min_docs: 0}\n")
    summary = run(str(recipe), [str(tmp_path / "*.jsonl")], str(tmp_path / "out"))
    assert summary["input_records"] == len(rows) == summary["kept"] + summary["rejected"]
    by_url = {r["url"]: r for r in _rows(tmp_path / "out")}
    clusters = {r["id"]: by_url[r["url"]]["dup_cluster"] for r in rows}
    m = planted.pair_metrics(rows, clusters, 0.7)
    assert m["precision"] >= 0.98 and m["recall"] >= 0.95, m
