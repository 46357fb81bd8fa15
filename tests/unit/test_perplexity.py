"""KenLM perplexity: models trained by `make models` on reference text score held-out fluent text far below
the same text scrambled, per language; the stage buckets, labels and errors clearly."""

from __future__ import annotations

import json
import random

import pyarrow as pa
import pytest

from corpus.quality.kenlm_score import perplexity
from training.kenlm_train import chinese_reference, english_reference
from corpus.models import models_dir
from filters.perplexity import Perplexity, PerplexityParams

MODELS = models_dir()
pytestmark = pytest.mark.skipif(not (MODELS / "kenlm.json").exists(), reason="run `make models` first (make test does)")


@pytest.fixture(scope="module")
def step():
    s = Perplexity(PerplexityParams())
    s.setup()
    return s


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_held_out_prose_beats_scrambled_text(step, lang):
    docs = english_reference(MODELS / ".cache") if lang == "en" else chinese_reference()
    held = docs[::10][:60]  # the split training never saw
    rng = random.Random(1)
    wins = 0
    for d in held:
        units = d.split(" ") if lang == "en" else list(d)
        rng.shuffle(units)
        scrambled = (" " if lang == "en" else "").join(units)
        wins += perplexity(step.models[lang], d)[0] * 2 < perplexity(step.models[lang], scrambled)[0]
    assert wins >= 0.95 * len(held), wins


def test_stage_scores_buckets_and_labels(step):
    card = json.loads((MODELS / "kenlm.json").read_text())
    rows = [
        {"text": "The committee approved the budget for the new public library after a long debate.", "lang": "en"},
        {"text": "library the budget after debate long a approved committee new public the for", "lang": "en"},
        {"text": "国务院总理主持召开常务会议，研究部署进一步做好农业和农村工作。", "lang": "zh"},
        {"text": "Der Ausschuss hat den Haushalt genehmigt.", "lang": "de"},
    ]
    out = step(pa.Table.from_pylist(rows)).to_pylist()
    assert out[0]["q_ppl"] < out[1]["q_ppl"] and out[0]["q_ppl_para_max"] >= out[0]["q_ppl"] * 0.99
    assert out[2]["q_ppl_bucket"] in ("head", "middle", "tail") and out[3]["q_ppl"] is None and out[3]["q_ppl_bucket"] is None
    assert all(r["drop_reason"] is None for r in out)  # label only by default
    assert (out[2]["q_ppl_bucket"] == "head") == (out[2]["q_ppl"] < card["zh"]["buckets"]["head_below"])
    strict = Perplexity(PerplexityParams(max_ppl={"en": out[0]["q_ppl"] * 1.01}))
    strict.models, strict.cuts = step.models, step.cuts
    marked = strict(pa.Table.from_pylist(rows[:2])).column("drop_reason").to_pylist()
    assert marked == [None, "perplexity.too_high"]


def test_missing_model_names_the_make_target():
    with pytest.raises(FileNotFoundError, match="make models"):
        Perplexity(PerplexityParams(models={"en": "no-such-model.bin"})).setup()
