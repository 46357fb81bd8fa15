"""Mixture spec and sampling arithmetic: shares, caps, best-first selection, boosts, rehydration, determinism."""

import numpy as np
import pyarrow as pa
import pytest

from corpus.mix.sampling import plan, round_copies
from corpus.mix.spec import FINEWEB2_REHYDRATION, MixError, parse


def corpus(n_zh=300, n_en=900, seed=0):
    """A curated-like table: more English than Chinese, a few maths documents, a fluency score, cluster sizes."""
    rng = np.random.default_rng(seed)
    n = n_zh + n_en
    lang = ["zh"] * n_zh + ["en"] * n_en
    domain = np.where(rng.random(n) < 0.08, "maths", "general").tolist()
    table = pa.table({"id": [f"d{i}" for i in range(n)], "lang": lang, "domain_tag": domain,
                      "fluency_score": rng.random(n), "dup_cluster_size": pa.array([None if x < 2 else int(x) for x in rng.integers(0, 8, n)], pa.int64())})
    tokens = rng.integers(50, 2000, n)
    return table, tokens


def spec(**over):
    doc = {"sources": ["x"], "groups": [{"name": "zh", "where": {"lang": "zh"}, "share": 0.5},
                                        {"name": "en", "where": {"lang": "en"}, "share": 0.5}]}
    doc.update(over)
    return parse(doc, "test.yaml")


def shares(p, tokens):
    mixed = p.copies * tokens
    return {g["name"]: mixed[p.group == i].sum() / mixed.sum() for i, g in enumerate(p.report["groups"])}


@pytest.mark.parametrize("budget", [200_000, 600_000, 1_500_000])
def test_shares_land_within_a_point_of_their_targets(budget):
    table, tokens = corpus()
    p = plan(table, tokens, spec(budget_tokens=budget, max_epochs=8))
    got = shares(p, tokens)
    assert abs(got["zh"] - 0.5) < 0.01 and abs(got["en"] - 0.5) < 0.01
    assert abs(p.report["tokens"] - budget) / budget < 0.01
    assert p.report["targets_met"] and p.report["max_share_error_pp"] < 1
    zh = p.report["groups"][0]
    assert zh["epochs"] == pytest.approx(zh["tokens"] / zh["unique_tokens"], abs=1e-3)
    assert p.copies.max() <= 8


def test_a_short_group_shrinks_the_total_or_is_reported_under_fill():
    table, tokens = corpus()
    zh_tokens = tokens[:300].sum()
    budget = int(zh_tokens * 2 / 0.5 * 1.5)  # zh would need 3 epochs at max_epochs 2
    p = plan(table, tokens, spec(budget_tokens=budget, max_epochs=2))
    assert not p.report["budget"]["met"] and "zh has" in p.report["budget"]["reason"]
    assert p.report["groups"][0]["limits_total"] and p.report["groups"][0]["epochs"] == pytest.approx(2.0)
    got = shares(p, tokens)
    assert abs(got["zh"] - 0.5) < 0.01  # shares still hold, on a smaller total
    f = plan(table, tokens, spec(budget_tokens=budget, max_epochs=2, on_short="fill"))
    zh, en = f.report["groups"]
    assert not zh["met"] and "not enough data" in zh["reason"] and zh["share"] < 0.49
    assert not en["met"] and "on_short: fill" in en["reason"]
    assert abs(f.report["tokens"] - budget) / budget < 0.01


def test_best_first_keeps_the_highest_scores():
    table, tokens = corpus()
    p = plan(table, tokens, spec(budget_tokens=100_000, select={"best": "fluency_score"}))
    score = table.column("fluency_score").to_numpy()
    for i in (0, 1):
        m = p.group == i
        kept, dropped = score[m & (p.copies > 0)], score[m & (p.copies == 0)]
        assert len(dropped) and kept.min() > dropped.max()
    asc = plan(table, tokens, spec(budget_tokens=100_000, select={"best": "fluency_score", "ascending": True}))
    m = asc.group == 0
    assert score[m & (asc.copies > 0)].max() < score[m & (asc.copies == 0)].min()


def test_boost_multiplies_epochs_within_the_group():
    table, tokens = corpus()
    p = plan(table, tokens, spec(budget_tokens=400_000, max_epochs=10, boost=[{"where": {"domain_tag": "maths"}, "factor": 3}]))
    b = p.report["boosts"][0]
    assert b["met"] and set(b["effective_factor"]) == {"zh", "en"}
    assert all(f == pytest.approx(3, rel=0.05) for f in b["effective_factor"].values())
    capped = plan(table, tokens, spec(budget_tokens=1_200_000, max_epochs=2, boost=[{"where": {"domain_tag": "maths"}, "factor": 3}]))
    cb = capped.report["boosts"][0]
    assert not cb["met"] and cb["capped_documents"] and "max_epochs" in cb["reason"] and min(cb["effective_factor"].values()) < 3


def test_rehydration_follows_cluster_sizes():
    table, tokens = corpus()
    p = plan(table, tokens, spec(rehydrate=True, max_epochs=8))
    sizes = np.nan_to_num(table.column("dup_cluster_size").cast(pa.float64()).to_numpy(zero_copy_only=False), nan=1)
    m = p.group == 1
    singles, fives = m & (sizes == 1), m & (sizes >= 5)
    ratio = (p.copies[fives] * tokens[fives]).sum() / tokens[fives].sum() / ((p.copies[singles] * tokens[singles]).sum() / tokens[singles].sum())
    assert ratio == pytest.approx(FINEWEB2_REHYDRATION[5], rel=0.15)


def test_deterministic_with_a_seed():
    table, tokens = corpus()
    a = plan(table, tokens, spec(budget_tokens=300_000, select="random", seed=3)).copies
    assert np.array_equal(a, plan(table, tokens, spec(budget_tokens=300_000, select="random", seed=3)).copies)
    assert not np.array_equal(a, plan(table, tokens, spec(budget_tokens=300_000, select="random", seed=4)).copies)


def test_unassigned_documents_are_counted():
    table, tokens = corpus()
    p = plan(table, tokens, spec(groups=[{"name": "zh", "where": {"lang": "zh"}, "share": 1.0}]))
    assert p.report["unassigned"] == {"documents": 900, "tokens": int(tokens[300:].sum())}
    assert (p.copies[300:] == 0).all()


def test_rounding_misses_by_at_most_half_a_document():
    rng = np.random.default_rng(1)
    tokens = rng.integers(10, 500, 1000)
    r = np.where(rng.random(1000) < 0.5, 0.3, 1.7)
    c = round_copies(r, tokens, rng.permutation(1000))
    assert abs((c * tokens).sum() - (r * tokens).sum()) <= tokens.max() / 2
    assert set(np.unique(c)) <= {0, 1, 2}


@pytest.mark.parametrize("doc, message", [
    ({"sources": ["x"], "groups": [{"name": "a", "where": {"lang": "zh"}, "share": 0.6}]}, "sum to 0.6"),
    ({"sources": ["x"], "groups": [{"name": "a", "where": {"lang": "zh"}, "share": 1}], "max_epochs": 0}, "max_epochs"),
    ({"sources": ["x"], "groups": [{"name": "a", "where": "zh", "share": 1}]}, "where"),
    ({"sources": ["x"], "groups": [{"name": "a", "where": {"lang": "zh"}, "share": 1, "select": "best"}]}, "select"),
    ({"sources": ["x"], "groupz": []}, "unknown key"),
    ({"groups": []}, "sources"),
    ({"sources": ["x"], "groups": [{"name": "a", "where": {"lang": "zh"}, "share": 1}], "on_short": "drop"}, "on_short"),
])
def test_spec_errors_say_what_to_write(doc, message):
    with pytest.raises(MixError, match=message):
        parse(doc, "bad.yaml")


def test_unknown_column_is_named():
    table, tokens = corpus()
    with pytest.raises(MixError, match="column 'langue' is not in the curated data"):
        plan(table, tokens, spec(groups=[{"name": "a", "where": {"langue": "zh"}, "share": 1}]))
