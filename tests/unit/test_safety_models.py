"""The trained porn and toxicity classifiers: quality on the hand-written, human-checked sample, what the
word lists miss and the models catch in the stage, how the weak labels are made (held-out words, the
teacher's second opinion), and the stage's settings checks."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from corpus.quality import fasttext_clf
from training import safety_cases as classifier_cases, safety_labels as classifier_labels, teacher
from corpus.models import models_dir
from corpus.safety.words import default_lists
from filters.safety import Safety, SafetyParams

MODELS = models_dir()
needs_models = pytest.mark.skipif(not (MODELS / "safety.json").exists(), reason="run `make models` first (make test does)")


@needs_models
@pytest.mark.parametrize("category, column", [("porn", 1), ("toxic", 2)])
def test_models_on_the_human_checked_sample(category, column):
    model = fasttext_clf.load(MODELS / f"safety-{category}.bin", "make models")
    texts = [c[0] for c in classifier_cases.CASES]
    truth = [c[column] for c in classifier_cases.CASES]
    m = fasttext_clf.metrics(fasttext_clf.scores(model, texts), truth, bad_label=1)
    assert m.precision >= 0.9 and m.recall >= 0.7, m
    card = json.loads((MODELS / "safety.json").read_text())[category]
    assert card["human_checked_sample"]["model"] == m.as_dict()  # the card reports what the shipped model does
    assert card["held_out"]["metrics_for_flagging"]["precision"] >= 0.95


@needs_models
def test_stage_drops_what_word_lists_miss_and_keeps_sensitive_topics():
    step = Safety(SafetyParams())
    step.setup()
    texts = [
        ("en", "Free videos of naked amateurs, 300 new clips every day, full length and in HD.\nHot girls on live cams tonight, join free, no credit card."),
        ("zh", "免费成人视频在线观看，无码高清，每日更新。美女裸聊直播，注册送金币，午夜激情福利。"),
        ("en", "#12 you are a pathetic moron, get lost\n#13 what a stupid idiot, nobody wants you here\n#14 shut up loser"),
        ("en", "Sex education in secondary schools covers puberty, consent and contraception, the ministry said."),
        ("zh", "法院以强奸罪判处被告人有期徒刑十年。王小姐说，鸡肉价格本周上涨了百分之五。"),
        ("de", "Das ist ein ganz normaler deutscher Satz über das Wetter in Berlin."),
    ]
    rows = [{"url": f"https://site{i}.example/p", "domain": f"site{i}.example", "lang": lang, "text": t} for i, (lang, t) in enumerate(texts)]
    out = step(pa.Table.from_pylist(rows)).to_pylist()
    assert [r["drop_reason"] for r in out] == ["safety.porn_model", "safety.porn_model", "safety.toxic_model", None, None, None]
    assert out[0]["safety_porn_hits"] == 0 and out[2]["safety_toxic_hits"] < 3  # the word lists do not fire on them
    assert out[3]["porn_score"] < 0.5 and out[4]["porn_score"] < 0.5 and out[4]["toxic_score"] < 0.5
    assert out[5]["porn_score"] is None and out[5]["toxic_score"] is None  # a language the models never saw
    off = Safety(SafetyParams(models={}))  # classifiers off: word lists and blocklists only, no scores
    off.setup()
    assert all(r["porn_score"] is None and r["drop_reason"] is None for r in off(pa.Table.from_pylist(rows)).to_pylist())


@needs_models
def test_held_out_words_never_reach_training():
    lists, terms = default_lists(MODELS), teacher.terms()
    train, held, every = (classifier_labels.vocabulary(lists, terms, part) for part in ("train", "held_out", "all"))
    for category in ("porn", "toxic"):
        for lang in ("en", "zh"):
            assert held[category][lang] and not set(train[category][lang]) & set(held[category][lang])
            assert sorted(train[category][lang] + held[category][lang]) == every[category][lang]
    assert not set(every["toxic"]["en"]) & classifier_labels.IDENTITY  # identity terms are never used as insults


def test_teacher_second_opinion_keeps_only_agreeing_comments():
    import random

    comments = classifier_labels.Comments(teacher.predict)
    rng = random.Random(0)
    toxic = [comments.draw(classifier_labels.TOXIC_FAMILIES["en_insult"], ["idiot", "moron", "fool", "jerk"], True, "en", rng) for _ in range(30)]
    civil = [comments.draw(classifier_labels.CIVIL_COMMENTS["en"], ["x"], False, "en", rng) for _ in range(30)]
    assert min(teacher.predict(toxic)) >= 0.5 and max(teacher.predict(civil)) < 0.5
    contrarian = classifier_labels.Comments(lambda texts: [1.0] * len(texts))  # a teacher that calls everything offensive
    with pytest.raises(ValueError, match="disagreed"):
        contrarian.draw(classifier_labels.CIVIL_COMMENTS["en"], ["x"], False, "en", rng)
    assert contrarian.overruled["civil"] == classifier_labels.Comments.POOL


@pytest.mark.parametrize("params, message", [
    (SafetyParams(models={"violence": "v.bin"}), "can only name porn and toxic"),
    (SafetyParams(max_score={"porn": 1.5}), r"max_score must be in \(0, 1\]"),
    (SafetyParams(max_score={"violence": 0.9}), "max_score can only name porn and toxic"),
])
def test_settings_errors_say_what_is_wrong(params, message):
    assert params.validate() is not None and __import__("re").search(message, params.validate())


def test_missing_model_is_found_on_the_driver_and_names_the_make_target(tmp_path):
    from corpus.preflight import resolve_files
    from corpus.recipe import RecipeError, parse

    recipe = parse({"stages": ["langid", "format", {"safety": {"models": {"porn": str(tmp_path / "nope.bin")}}}]},
                   str(tmp_path / "r.yaml"))
    with pytest.raises(RecipeError, match=r"stage 'safety', models.porn: .*nope.bin' not found .*`make models`"):
        resolve_files(recipe, recipe.build())
