"""`make models` (classifier part): train the default fluency and not-ad fastText classifiers on the
labelled examples of corpus/quality/labels.py and write each model's card (data, sizes, date, held-out
precision/recall) into models/quality.json."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from corpus.quality import fasttext_clf
from training import quality_labels as labels

MODELS = {"fluency": "quality-fluency.bin", "not_ad": "quality-not-ad.bin"}


def train(out: Path) -> dict:
    refs = labels.reference_documents(out / ".cache")
    builders = {"fluency": labels.fluency_examples, "not_ad": labels.ad_examples}
    held_out_kinds = {"fluency": labels.FLUENCY_HELD_OUT, "not_ad": labels.AD_HELD_OUT}
    cards = {}
    for name, build in builders.items():
        card = fasttext_clf.fit(build(refs, held_out=False), build(refs, held_out=True), out / MODELS[name],
                                held_out_kinds[name], bad_label=0, labels_doc=labels.__doc__)
        cards[name] = {"column": f"{name}_score", **card}
    fasttext_clf.write_card(out / "quality.json", cards)
    return cards


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "models"
    if not (target / "quality.json").exists():
        print(json.dumps({k: {kk: v[kk] for kk in ("model", "training", "held_out")} for k, v in train(target).items()}, indent=1))
