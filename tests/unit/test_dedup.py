"""Dedup: fingerprints equal datasketch's, components equal union-find, planted near-duplicates are caught
on the right side of the threshold, URL/exact/line rules, keep rules and incremental runs (no Ray here:
the exchange runs on the serial executor; tests/e2e/test_dedup_e2e.py runs it on Ray)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasketch import MinHash

from corpus.dedup import minhash, planted
from corpus.dedup.components import components, edges
from corpus.dedup.exchange import LocalExecutor, concat
from corpus.dedup.plan import partitions_for
from corpus.sample import chinese_sentences, english_paragraphs
from filters.dedup import Dedup, DedupParams


def run_dedup(root: Path, shards: list[list[dict]], indices: list[int] | None = None, **params) -> tuple[list[pa.Table], dict]:
    """Fingerprint each shard, plan, then apply per shard: what the pipeline does, without Ray. ``indices``: the
    shards' positions among the run's inputs (a failed shard leaves a gap)."""
    indices = indices or list(range(len(shards)))
    step = Dedup(DedupParams(**params))
    work = root / "global" / "dedup"
    fps = []
    tables = [pa.Table.from_pylist([{k: r.get(k) for k in ("id", "url", "date", "text")} for r in rows]) for rows in shards]
    for i, t in enumerate(tables):
        fp = step.fingerprint(t).add_column(0, "row", pa.array(np.arange(t.num_rows, dtype=np.uint32)))
        path = work / "fingerprints" / f"s{i}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(fp, path)
        fps.append((indices[i], str(path)))
    summary = step.plan(LocalExecutor(), fps, work, 2)
    out = []
    for i, t in enumerate(tables):
        step.bind(work, indices[i])
        out.append(step(t.append_column("_row", pa.array(np.arange(t.num_rows, dtype=np.uint32)))))
    return out, summary


def _by_id(tables: list[pa.Table]) -> dict[str, dict]:
    return {r["id"]: r for t in tables for r in t.to_pylist()}


@pytest.fixture(scope="module")
def english_bases() -> list[str]:
    words = " ".join(english_paragraphs()).split()
    return [" ".join(words[i : i + 250]) for i in range(0, 250 * 60, 250)]


@pytest.fixture(scope="module")
def chinese_bases() -> list[str]:
    text = "".join(chinese_sentences(4000))
    return [text[i : i + 400] for i in range(0, 400 * 40, 400)]


def test_signatures_equal_datasketch():
    texts = ["The quick brown fox jumps over the lazy dog, again and again.", "人民日报今天发表社论，强调经济发展。", "a b"]
    sig, has = minhash.signatures([minhash.shingle_hashes(t, 5) for t in texts], 128, 1)
    assert has.all()
    for text, row in zip(texts, sig):
        ref = MinHash(num_perm=128, seed=1, hashfunc=lambda x: x)
        ref.update_batch([int(h) for h in minhash.shingle_hashes(text, 5)])
        assert np.array_equal(ref.hashvalues, row)
    sig, has = minhash.signatures([minhash.shingle_hashes(t, 5) for t in ["", "..."]], 128, 1)
    assert not has.any()  # no tokens: no band keys, so empty texts never form a cluster


def test_components_equal_union_find():
    rng = random.Random(3)
    for parts in (2, 5):
        n = 500
        pairs = [(rng.randrange(n), rng.randrange(n)) for _ in range(400)] + [(i, i + 1) for i in range(100, 180)]
        parent = list(range(n))

        def find(x):
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for a, b in pairs:
            ra, rb = find(a), find(b)
            parent[max(ra, rb)] = min(ra, rb)
        members: dict[int, list[int]] = {}
        for x in range(n):
            members.setdefault(find(x), []).append(x)
        want = {x: min(c) for c in members.values() if len(c) > 1 for x in c}
        chunks = [pairs[i::3] for i in range(3)]
        refs = [edges(np.array([a for a, _ in c], np.uint64), np.array([b for _, b in c], np.uint64)) for c in chunks]
        labels, rounds = components(LocalExecutor(), refs, parts)
        t = concat(labels)
        got = dict(zip(t.column("node").to_pylist(), t.column("root").to_pylist()))
        assert got == want and rounds >= 2  # the 80-node path needs several rounds


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_planted_near_duplicates_split_at_the_threshold(tmp_path, lang, english_bases, chinese_bases):
    bases = english_bases if lang == "en" else chinese_bases
    vocab = sorted(set(" ".join(bases).split())) if lang == "en" else sorted(set("".join(bases)))
    rows = planted.families(bases, vocab, seed=5)
    for r in rows:
        r["date"] = "2024-01-01"
    out, summary = run_dedup(tmp_path, [rows[0::2], rows[1::2]], url=False, line_min_docs=0)
    docs = _by_id(out)
    m = planted.pair_metrics(rows, {i: d["dup_cluster"] for i, d in docs.items()}, 0.7)
    assert m["precision"] >= 0.98 and m["recall"] >= 0.95, m
    assert m["caught_by_target"][0.95] == 1.0 and m["caught_by_target"][0.85] == 1.0, m
    assert m["caught_by_target"][0.6] <= 0.05, m
    # one document per cluster survives, and every dropped one names a kept one
    kept = {i for i, d in docs.items() if d.get("drop_reason") is None}
    for i, d in docs.items():
        if d.get("drop_reason"):
            assert d["drop_reason"] == "dedup.fuzzy" and d["dup_of"] in kept and d["dup_of"] == d["dup_cluster"]
    assert summary["duplicates"]["dedup.fuzzy"] == len(docs) - len(kept)


def test_url_newest_capture_wins_and_exact_copies_cluster(tmp_path, english_bases):
    a, b = english_bases[:2]
    rows = [
        {"id": "old", "url": "http://www.site.example/page/", "date": "2023-01-01", "text": a},
        {"id": "new", "url": "https://site.example/page", "date": "2024-06-01", "text": a + " Updated."},
        {"id": "copy", "url": "https://mirror.example/x", "date": "2022-01-01", "text": b.upper()},
        {"id": "orig", "url": "https://origin.example/y", "date": "2021-01-01", "text": b + "\n"},
    ]
    out, summary = run_dedup(tmp_path, [rows[:2], rows[2:]], line_min_docs=0, keep="oldest")
    d = _by_id(out)
    assert d["old"]["drop_reason"] == "dedup.url" and d["old"]["dup_of"] == "new"
    assert d["new"]["drop_reason"] is None
    assert d["copy"]["drop_reason"] == "dedup.exact" and d["copy"]["dup_of"] == "orig"  # case/space-insensitive
    assert d["orig"]["drop_reason"] is None and d["orig"]["dup_cluster_size"] == 2


def test_decisions_reach_their_shards_when_a_failed_shard_left_a_gap(tmp_path, english_bases):
    """Shard 1 of 3 failed: the plan runs over shards 0 and 2, and shard 2 (index 2, not position 1) gets its own
    decisions; planning by position would hand them to nobody and let its duplicate through."""
    a, b = english_bases[4:6]
    first = [{"id": "keep", "url": "u1", "date": "2021", "text": a}, {"id": "other", "url": "u2", "date": "2021", "text": b}]
    third = [{"id": "dup", "url": "u3", "date": "2024", "text": a.upper()}]
    out, _ = run_dedup(tmp_path, [first, third], indices=[0, 2], line_min_docs=0, keep="oldest")
    d = _by_id(out)
    assert d["dup"]["drop_reason"] == "dedup.exact" and d["dup"]["dup_of"] == "keep"
    assert d["keep"]["drop_reason"] is None and d["other"]["drop_reason"] is None


def test_keep_rule_longest(tmp_path, english_bases):
    base = english_bases[3]
    rows = [{"id": "short", "url": "u1", "date": "2024-01-01", "text": base},
            {"id": "long", "url": "u2", "date": "2020-01-01", "text": base + " And one more closing sentence here."}]
    out, _ = run_dedup(tmp_path, [rows], line_min_docs=0)
    d = _by_id(out)
    assert d["long"]["drop_reason"] is None and d["short"]["drop_reason"] == "dedup.fuzzy" and d["short"]["dup_of"] == "long"


def test_repeated_lines_are_cut_and_short_leftovers_dropped(tmp_path, english_bases):
    banner = "We use cookies to improve your experience. Accept all cookies"
    rows = [{"id": f"d{i}", "url": f"u{i}", "date": "2024", "text": f"{banner}\n{english_bases[i]}\nShare on 12 networks"}
            for i in range(12)]
    rows.append({"id": "thin", "url": "u-thin", "date": "2024", "text": f"{banner}\nShare on 3 networks\nShort."})
    out, summary = run_dedup(tmp_path, [rows], line_min_docs=10, min_chars=50)
    d = _by_id(out)
    assert summary["frequent_lines"] == 2  # digits normalised: "Share on 12/3 networks" is one line
    assert banner not in d["d0"]["text"] and "networks" not in d["d0"]["text"]
    assert d["d0"]["dedup_lines_removed"] == 2 and d["d0"]["drop_reason"] is None
    assert d["thin"]["drop_reason"] == "dedup.too_short_after_lines"


def test_incremental_run_against_an_earlier_corpus(tmp_path, english_bases):
    first = [{"id": f"a{i}", "url": f"https://a.example/{i}", "date": "2023", "text": english_bases[i]} for i in range(10)]
    run_dedup(tmp_path / "snap1", [first], line_min_docs=0)
    second = [{"id": "b-copy", "url": "https://b.example/1", "date": "2024", "text": english_bases[2] + " extra words at the end"},
              {"id": "b-new", "url": "https://b.example/2", "date": "2024", "text": english_bases[20]},
              {"id": "b-recrawl", "url": "https://a.example/5", "date": "2025", "text": "entirely rewritten " * 30}]
    out, summary = run_dedup(tmp_path / "snap2", [second], line_min_docs=0, against=[str(tmp_path / "snap1")])
    d = _by_id(out)
    assert d["b-copy"]["drop_reason"] == "dedup.fuzzy" and d["b-copy"]["dup_of"] == "a2"  # the earlier corpus wins
    assert d["b-new"]["drop_reason"] is None
    assert d["b-recrawl"]["drop_reason"] == "dedup.url" and d["b-recrawl"]["dup_of"] == "a5"
    assert summary["documents"] == 13 and summary["references"]
    with pytest.raises(ValueError, match="fingerprinted with"):
        run_dedup(tmp_path / "snap3", [second], line_min_docs=0, ngram=3, against=[str(tmp_path / "snap1")])


def test_partitions_follow_the_memory_budget():
    assert partitions_for(1_000_000, 1024, 2) == 2
    assert partitions_for(10**10, 1024, 2) > partitions_for(10**10, 4096, 2) > 2


def test_recipe_rejects_bad_dedup_settings():
    from corpus.recipe import RecipeError, parse

    with pytest.raises(RecipeError, match="keep must be one of"):
        parse({"stages": [{"dedup": {"keep": "biggest"}}]}, "r.yaml")
    with pytest.raises(RecipeError, match="bands x rows"):
        parse({"stages": [{"dedup": {"bands": 20, "rows": 10}}]}, "r.yaml")


def test_url_keep_oldest(tmp_path, english_bases):
    rows = [{"id": "old", "url": "https://site.example/p", "date": "2023-01-01", "text": english_bases[5]},
            {"id": "new", "url": "https://site.example/p/", "date": "2024-01-01", "text": english_bases[6]}]
    out, _ = run_dedup(tmp_path, [rows], line_min_docs=0, url_keep="oldest")
    d = _by_id(out)
    assert d["new"]["drop_reason"] == "dedup.url" and d["new"]["dup_of"] == "old" and d["old"]["drop_reason"] is None
