"""`make models` (safety classifiers): train the default toxicity and porn fastText classifiers on the weak
labels of corpus/safety/classifier_labels.py and write their card into models/safety.json: data, the
teacher's disagreements, held-out precision/recall per kind, and the human-checked sample
(corpus/safety/classifier_cases.py) scored by the model, by the word-list rule and by the teacher."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from corpus.quality import fasttext_clf
from training import quality_labels as labels
from training import safety_cases as classifier_cases, safety_labels as classifier_labels, teacher
from corpus.safety.words import default_lists

MODELS = {"porn": "safety-porn.bin", "toxic": "safety-toxic.bin"}


def sample_report(category: str, model, lists: dict[str, set[str]]) -> dict:
    """Precision/recall on the human-checked sample, for the model (at 0.5 and at the default cut) and, on the same texts, the
    default recipe's word-list rule and the teacher (English only: it knows no Chinese)."""
    from corpus.textunits import tokens
    from corpus.safety.words import Lexicon, word_rule
    from filters.safety import SafetyParams

    default = SafetyParams()
    column = 1 if category == "porn" else 2
    texts = [case[0] for case in classifier_cases.CASES]
    truth = [case[column] for case in classifier_cases.CASES]
    lexicon = Lexicon(lists)
    words = [float(word_rule(lexicon.count(t)[category], len(tokens(t)), default.max_density[category], default.min_hits)[1]) for t in texts]
    en = [i for i, t in enumerate(texts) if t.isascii()]
    got = fasttext_clf.scores(model, texts)
    cut = default.max_score[category]
    return {"n": len(truth), "positives": sum(truth),
            "model": fasttext_clf.metrics(got, truth, bad_label=1).as_dict(),
            f"model_at_{cut}": fasttext_clf.metrics(got, truth, cut, bad_label=1).as_dict(),
            "word_lists": fasttext_clf.metrics(words, truth, bad_label=1).as_dict(),
            "teacher_en_only": fasttext_clf.metrics(teacher.predict([texts[i] for i in en]), [truth[i] for i in en], bad_label=1).as_dict()}


def train(out: Path) -> dict:
    """Per category: a model trained without the held-out documents, families and words gives the held-out
    numbers; the shipped model is then trained the same way on everything."""
    refs = labels.reference_documents(out / ".cache")
    lists = default_lists(out)
    terms = teacher.terms()
    cards = {}
    for category, name in MODELS.items():
        def build(part: str):
            return classifier_labels.examples(category, refs, lists, terms, teacher.predict, part)

        (train_set, overruled), (test_set, _) = build("train"), build("held_out")
        with tempfile.TemporaryDirectory() as tmp:
            card = fasttext_clf.fit(train_set, test_set, Path(tmp) / name, classifier_labels.HELD_OUT, bad_label=1,
                                    labels_doc=classifier_labels.__doc__)
        everything, _ = build("all")
        fasttext_clf.train([(lab, t) for lab, t, _ in everything], out / name)
        model = fasttext_clf.load(out / name, "make models")
        cards[category] = {"column": f"{category}_score", **card, "bytes": (out / name).stat().st_size,
                           "shipped_model_examples": len(everything), "teacher_overruled_comments": overruled,
                           "vocabulary": {lang: len(w) for lang, w in classifier_labels.vocabulary(lists, terms, "all")[category].items()},
                           "human_checked_sample": sample_report(category, model, lists)}
    fasttext_clf.write_card(out / "safety.json", cards)
    return cards


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "models"
    if not (target / "safety.json").exists():
        print(json.dumps({k: {kk: v[kk] for kk in ("model", "training", "held_out", "human_checked_sample")}
                          for k, v in train(target).items()}, indent=1, ensure_ascii=False))
