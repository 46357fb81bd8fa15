"""fastText quality classifiers trained by `make models`, enrichment from a seed set, and domain tags, each
checked on real text the models never trained on."""

from __future__ import annotations

import inspect
import json
import random

import pyarrow as pa
import pytest

from corpus.cli import main
from corpus.quality import domain, fasttext_clf
from training import quality_labels as labels
from training.kenlm_train import english_reference
from corpus.models import models_dir
from corpus.sample import english_paragraphs
from filters.quality_model import Enrich, EnrichParams, QualityModel, QualityModelParams

MODELS = models_dir()
pytestmark = pytest.mark.skipif(not (MODELS / "quality.json").exists(), reason="run `make models` first (make test does)")


@pytest.fixture(scope="module")
def refs():
    return labels.reference_documents(MODELS / ".cache")


@pytest.fixture(scope="module")
def step():
    s = QualityModel(QualityModelParams(min_score={"not_ad": 0.5}))
    s.setup()
    return s


def test_features_keep_line_structure_and_are_bounded():
    assert fasttext_clf.features("Hello, World!\n你好") == "<doc> hello , world ! <nl> 你 好"
    assert len(fasttext_clf.features("word " * 10_000).split()) == fasttext_clf.MAX_TOKENS


@pytest.mark.parametrize("name,builder,min_precision,min_recall", [
    ("fluency", labels.fluency_examples, 0.95, 0.7), ("not_ad", labels.ad_examples, 0.95, 0.9)])
def test_default_classifiers_on_held_out_documents(step, refs, name, builder, min_precision, min_recall):
    held = builder(refs, held_out=True, seed=123)  # held-out documents; fresh draws of every kind
    got = fasttext_clf.scores(step.models[name], [t for _, t, _ in held])
    m = fasttext_clf.metrics(got, [lab for lab, _, _ in held])
    assert m.precision >= min_precision and m.recall >= min_recall, m
    prose = [g for g, (lab, _, _) in zip(got, held) if lab == 1]
    assert sorted(prose)[len(prose) // 2] > 0.9  # real prose scores high, not merely above one half


def test_stage_writes_wanjuan_columns_and_drops_only_on_request(step, refs):
    _, test_docs = labels.split(refs["zh"])
    ad = "今日下单手机立减99元，点击立即购买！\n加微信abc123456了解详情，假一赔十，包邮到家！\n限时特价，欲购从速！"
    table = pa.table({"text": [test_docs[0], ad, "Bonjour tout le monde, ceci est un texte."], "lang": ["zh", "zh", "fr"]})
    out = step(table)
    assert out.column("not_ad_score")[0].as_py() > 0.5 > out.column("not_ad_score")[1].as_py()
    assert out.column("fluency_score")[2].as_py() is None  # languages the models were not trained on: null
    assert out.column("drop_reason").to_pylist() == [None, "quality_model.low_not_ad", None]


def test_score_names_must_be_output_columns():
    from corpus.recipe import RecipeError, build_params

    with pytest.raises(RecipeError, match=r"can only name \['fluency', 'not_ad'\].*`enrich` stage"):  # at parse, not in an actor
        build_params(QualityModelParams, {"models": {"density": "quality-fluency.bin"}}, "r")


def test_missing_model_names_the_file_and_the_make_target(tmp_path):
    s = QualityModel(QualityModelParams(models={"fluency": str(tmp_path / "nope.bin")}))
    with pytest.raises(ValueError, match=r"nope\.bin not found; build it with `make models`"):
        s.setup()
    (tmp_path / "bad.bin").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a readable fastText model"):
        QualityModel(QualityModelParams(models={"fluency": str(tmp_path / "bad.bin")})).setup()


def test_train_quality_finds_seed_like_documents_and_keep_top_keeps_that_share(tmp_path, capsys):
    wiki = english_reference(MODELS / ".cache")  # seed: encyclopedic prose
    docs = english_paragraphs()  # pool: Python's documentation prose
    (tmp_path / "seed.txt").write_text("\n\n".join(wiki[:2000]))
    with open(tmp_path / "pool.jsonl", "w") as fh:
        for d in docs:
            fh.write(json.dumps({"text": d}) + "\n")
    assert main(["train-quality", "--positive", str(tmp_path / "seed.txt"), "--negative", str(tmp_path / "pool.jsonl"),
                 "--out", str(tmp_path / "m.bin")]) == 0
    assert "held out: precision" in capsys.readouterr().out
    card = json.loads((tmp_path / "m.json").read_text())
    assert card["held_out"]["precision"] >= 0.9 and card["held_out"]["recall"] >= 0.9, card["held_out"]
    step = Enrich(EnrichParams(model=str(tmp_path / "m.bin"), keep_top=0.3))
    step.setup()
    unseen_wiki = wiki[2000:2200]
    out = step(pa.table({"text": unseen_wiki + docs}))
    kept = [r is None for r in out.column("drop_reason").to_pylist()]
    assert sum(kept[: len(unseen_wiki)]) >= 0.9 * len(unseen_wiki)  # unseen seed-like documents stay
    pool_kept = sum(kept[len(unseen_wiki):]) / len(docs)
    assert 0.2 <= pool_kept <= 0.4, pool_kept  # about the top 30% of the pool (its held-out tenth set the cut)


def test_train_quality_errors_are_clear(tmp_path, capsys):
    (tmp_path / "few.txt").write_text("one document\n\nanother")
    assert main(["train-quality", "--positive", str(tmp_path / "few.txt"), "--negative", str(tmp_path / "few.txt"),
                 "--out", str(tmp_path / "m.bin")]) == 2
    assert "only 2 document(s)" in capsys.readouterr().err
    assert main(["train-quality", "--positive", str(tmp_path / "missing*"), "--negative", str(tmp_path / "few.txt"),
                 "--out", str(tmp_path / "m.bin")]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_domain_tags_on_real_code_maths_encyclopedia_and_news(refs):
    import json.decoder
    import sympy.integrals.integrals as integrals

    code = inspect.getsource(json.decoder.JSONObject)
    maths = "\n".join(line for line in inspect.getdoc(integrals.integrate).split("\n") if not line.startswith((">>>", "...")))
    wiki = [d for d in english_reference(MODELS / ".cache") if " is a " in d][:40]
    news = labels.split(refs["zh"])[1][:100]
    assert domain.tag(domain.scores(code)) == "code"
    assert domain.tag(domain.scores(maths)) == "maths"
    assert sum(domain.tag(domain.scores(w)) == "knowledge" for w in wiki) >= 0.5 * len(wiki)
    assert sum(domain.tag(domain.scores(n)) == "general" for n in news) >= 0.95 * len(news)
    zh_maths = "设函数f(x)=x^2+2x+1，求证：对任意实数x，不等式f(x)≥0成立。证明：由于f(x)=(x+1)^2，根据平方的性质解得结论。"
    assert domain.tag(domain.scores(zh_maths)) == "maths"
    rng = random.Random(0)
    shuffled = list(code)
    rng.shuffle(shuffled)
    assert domain.tag(domain.scores("".join(shuffled).replace("\n", " "))) != "code"
