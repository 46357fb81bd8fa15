"""`make models` (classifier part): train the default fluency and not-ad fastText classifiers on the
labelled examples of corpus/quality/labels.py and write each model's card (data, sizes, date, held-out
precision/recall) into models/quality.json."""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path

from corpus.quality import fasttext_clf, labels

MODELS = {"fluency": "quality-fluency.bin", "not_ad": "quality-not-ad.bin"}


def train(out: Path) -> dict:
    refs = labels.reference_documents(out / ".cache")
    builders = {"fluency": labels.fluency_examples, "not_ad": labels.ad_examples}
    held_out_kinds = {"fluency": labels.FLUENCY_HELD_OUT, "not_ad": labels.AD_HELD_OUT}
    cards = {}
    for name, build in builders.items():
        train_set, test_set = build(refs, held_out=False), build(refs, held_out=True)
        path = out / MODELS[name]
        fasttext_clf.train([(lab, t) for lab, t, _ in train_set], path)
        model = fasttext_clf.load(path, "make models")
        got = fasttext_clf.scores(model, [t for _, t, _ in test_set])
        flagged_by_kind = {}
        for kind in sorted({k for _, _, k in test_set}):
            flagged = [g < 0.5 for g, (_, _, k) in zip(got, test_set) if k == kind]
            flagged_by_kind[kind] = {"n": len(flagged), "flagged": round(sum(flagged) / len(flagged), 4),
                                    "trained_on": kind == "prose" or kind not in held_out_kinds[name]}
        cards[name] = {
            "model": path.name, "column": f"{name}_score", "bytes": path.stat().st_size,
            "trained": datetime.date.today().isoformat(), "fasttext": fasttext_clf.TRAIN_ARGS,
            "labels": labels.__doc__.strip(),
            "training": {"examples": len(train_set), "positives": sum(lab for lab, _, _ in train_set)},
            "held_out": {"metrics_for_flagging": fasttext_clf.metrics(got, [lab for lab, _, _ in test_set]).as_dict(),
                         "flagged_by_kind": flagged_by_kind},
        }
    fasttext_clf.write_card(out / "quality.json", cards)
    return cards


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "models"
    if not (target / "quality.json").exists():
        print(json.dumps({k: {kk: v[kk] for kk in ("model", "training", "held_out")} for k, v in train(target).items()}, indent=1))
