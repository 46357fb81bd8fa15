"""Safety: PII masking against a labelled zh/en set (realistic and adversarial), the real 4.5M-domain
adult blocklist, word-boundary and density rules for the word lists, and the stage's reasons and columns."""

from __future__ import annotations


import numpy as np
import pyarrow as pa
import pytest

from corpus.safety import pii, pii_cases
from corpus.models import models_dir
from corpus.safety.blocklist import Blocklist, build
from corpus.safety.words import Lexicon, default_lists
from filters.safety import Safety, SafetyParams

MODELS = models_dir()
ADULT = MODELS / "blocklists" / "adult.domains.npy"
needs_models = pytest.mark.skipif(not ADULT.exists(), reason="run `make models` first (make test does)")


def test_pii_precision_and_recall_per_type():
    cases = pii_cases.cases(60, seed=11)
    scores = pii_cases.score([pii.find(t) for t, _ in cases], [g for _, g in cases])
    for kind, s in scores.items():
        assert s["gold"] > 0 and s["precision"] >= 0.99 and s["recall"] >= 0.95, (kind, s)


@pytest.mark.parametrize("text", [
    "证件号 11010119900307663X 校验失败",                  # wrong check digit (the valid one ends in 2)
    "order 4111111111111112 shipped",                       # Visa prefix, Luhn fails
    "see https://example.com/u/13812345678/profile",         # digits inside a URL are ids
    "git clone git@github.com:org/repo.git",                # a git remote, not a mailbox
    "population 1381234567890 (estimate)",                  # a phone-like run inside a longer number
    "version 10.2.3.4.5 and 256.1.1.1",                     # not IP addresses
    "生于 1990-02-30 的记录无效，编号 110101199002301234",      # February 30th is no birth date
])
def test_pii_look_alikes_are_left_alone(text):
    assert pii.find(text) == [], pii.find(text)


def test_pii_masking_keeps_the_text_around_it():
    text = "邮箱：zhang.wei@example.cn，手机138-1234-5678，身份证110101199003076632，卡号4111 1111 1111 1111，IP 10.0.0.1。"
    masked, counts = pii.mask(text)
    assert masked == "邮箱：[EMAIL]，手机[PHONE]，身份证[ID_NUMBER]，卡号[BANK_CARD]，IP [IP]。"
    assert counts == {"email": 1, "phone": 1, "id_number": 1, "ip": 1, "bank_card": 1}


@needs_models
def test_real_adult_blocklist_matches_domains_subdomains_and_urls():
    bl = Blocklist("adult", ADULT, MODELS / "blocklists" / "adult.urls.npy")
    assert len(bl.domains) > 4_000_000 and ADULT.stat().st_size < 40e6  # 8 bytes a domain, memory-mapped
    hits = bl.match(["0-1sex.com", "cdn.www.0-1sex.com", "www.example.org", "docs.python.org", None], [None] * 5)
    assert hits.tolist() == [True, True, False, False, False]
    assert isinstance(bl.domains, np.memmap)


def test_user_blocklist_from_a_plain_domain_file(tmp_path):
    src = tmp_path / "gambling.txt"
    src.write_text("# my list\ncasino.example\nBET.example.net\n")
    assert build(src, "gambling", tmp_path / "out") == {"domains": 2}
    bl = Blocklist("gambling", tmp_path / "out" / "gambling.domains.npy")
    assert bl.match(["www.casino.example", "live.bet.example.net", "example.net"], [None] * 3).tolist() == [True, True, False]


def test_word_lists_whole_words_and_innocent_senses():
    lex = Lexicon({"toxic": {"ass", "傻逼"}, "porn": {"xxx"}})
    assert lex.count("The class passed its assessment.") == {"porn": 0, "toxic": 0}
    assert lex.count("You ass! 你这个傻逼。") == {"porn": 0, "toxic": 2}
    if (MODELS / "wordlists" / "innocent.txt").exists():
        lists = default_lists(MODELS)
        assert "小姐" not in lists["toxic"] and "十三点" not in lists["toxic"]  # everyday senses in People's Daily
        assert "傻逼" in lists["toxic"] and "fuck" in lists["toxic"]


@needs_models
def test_stage_density_reasons_scores_and_masking():
    step = Safety(SafetyParams())
    step.setup()
    article = " ".join(["The committee reviewed the budget and approved the new library building."] * 40)
    rows = [
        {"url": "https://news.example.org/a", "domain": "news.example.org", "lang": "en", "text": article + " What the hell. Contact j.smith@example.com."},
        {"url": "https://forum.example.net/t", "domain": "forum.example.net", "lang": "en", "text": "fuck this shit, you stupid bastard, fuck off " * 5},
        {"url": "https://www.0-1sex.com/x", "domain": "www.0-1sex.com", "lang": "en", "text": article},
    ]
    out = step(pa.Table.from_pylist(rows)).to_pylist()
    assert out[0]["drop_reason"] is None and out[0]["safety_toxic_words"] < 0.2  # one stray word in a long article
    assert out[0]["toxic_score"] < 0.5 and out[0]["porn_score"] < 0.5  # nor does the classifier flag it
    assert "[EMAIL]" in out[0]["text"] and out[0]["safety_pii_email_masked"] == 1
    assert out[1]["drop_reason"] == "safety.toxic_words" and out[1]["safety_toxic_words"] > 0.5 and out[1]["safety_toxic_hits"] >= 10
    assert out[1]["toxic_score"] > 0.9  # the classifier agrees, but the word list fired first
    assert out[2]["drop_reason"] == "safety.blocklist_adult" and out[2]["safety_blocklist"] == "adult"
    assert all(0 <= r["porn_score"] <= 1 and 0 <= r["safety_porn_words"] <= 1 for r in out)


def test_missing_blocklist_names_the_make_target(tmp_path, monkeypatch):
    step = Safety(SafetyParams(blocklists=["nosuchlist"]))
    with pytest.raises(FileNotFoundError, match="make models"):
        step.setup()


def test_word_rule_needs_a_second_signal_co_occurrence():
    """Without classifiers only co-occurrence confirms: one word repeated in an article (a health page's
    "fat") is dense but not abuse; different list words side by side are."""
    from corpus.safety.words import cooccur

    health = " ".join(["Saturated fat raises cholesterol, and trans fat is worse than other fat in a diet."] * 20)
    abuse = " ".join(["fuck this shit, you stupid bastard, fuck off"] * 5)
    lex = Lexicon({"toxic": {"fat", "fuck", "shit", "bastard"}})
    assert not cooccur(health, lex.find(health)["toxic"], 12, 3)
    assert cooccur(abuse, lex.find(abuse)["toxic"], 12, 3)
    assert cooccur("这个傻逼，你他妈的混蛋", Lexicon({"toxic": {"傻逼", "他妈的", "混蛋"}}).find("这个傻逼，你他妈的混蛋")["toxic"], 12, 3)


@needs_models
def test_real_article_dense_in_list_words_is_kept_without_a_second_signal():
    """A real Wikipedia article (gensim's dump, in bench/checkset) that the density rule alone dropped: the
    classifier scores it far below word_confirm_score and its list words never cluster, so it stays."""
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    docs = [json.loads(x) for x in (root / "bench/checkset/docs.jsonl").read_text(encoding="utf-8").split("\n") if x]
    article = next(d["text"] for d in docs if d["text"].startswith("An android is a robot"))
    step = Safety(SafetyParams())
    step.setup()
    row = {"url": "https://en.wikipedia.org/wiki/Android", "domain": "en.wikipedia.org", "lang": "en", "text": article}
    out = step(pa.Table.from_pylist([row])).to_pylist()[0]
    assert out["safety_toxic_words"] > 0.5  # the density rule alone would drop it
    assert out["drop_reason"] is None and out["toxic_score"] < SafetyParams().word_confirm_score
