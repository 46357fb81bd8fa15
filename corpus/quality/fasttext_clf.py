"""Binary fastText classifiers: one input normalisation for training and scoring, held-out precision/recall,
and a card beside every model so a stage can say what it loaded and how good it was.

Text is cut into the units the other stages use (lower-cased words, each Han character a token), and
punctuation and line breaks are kept as tokens: broken or boilerplate text shows itself in its punctuation
and line structure as much as in its words. Only the first ``MAX_TOKENS`` count, which bounds the cost of a
huge document.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from corpus.textunits import HAN_CLASS
from corpus.errors import UserError

MAX_TOKENS = 1500
_UNIT = re.compile(f"[{HAN_CLASS}]|[^\\W_{HAN_CLASS}]+|[^\\w\\s]|\\n")
POSITIVE, NEGATIVE = "__label__1", "__label__0"
TRAIN_ARGS = {"epoch": 10, "lr": 0.2, "wordNgrams": 2, "dim": 32, "bucket": 100_000, "minCount": 2, "thread": 1, "seed": 1}


class ModelError(UserError, ValueError):
    pass


def features(text: str) -> str:
    # "<doc>" is always there: a line whose every token is rarer than minCount would otherwise be empty,
    # and fastText turns an empty input into NaN and aborts training
    toks = ["<doc>"]
    for m in _UNIT.finditer(text.lower()):
        toks.append("<nl>" if m.group() == "\n" else m.group())
        if len(toks) >= MAX_TOKENS:
            break
    return " ".join(toks)


def train(examples: list[tuple[int, str]], path: Path, **overrides) -> None:
    """Train on (label 0/1, text) pairs. One thread and a fixed seed: the same data give the same model.

    Each model trains in a child process: fasttext-numpy2 0.10 keeps state between trainings in one
    process, and a second training there stops with "Encountered NaN" on data that trains cleanly alone."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as fh:
        for label, text in examples:
            fh.write(f"{POSITIVE if label else NEGATIVE} {features(text)}\n")
    try:
        proc = subprocess.run([sys.executable, "-m", "corpus.quality.fasttext_clf", fh.name, str(path),
                               json.dumps({**TRAIN_ARGS, **overrides})], capture_output=True, text=True)
    finally:
        os.unlink(fh.name)
    if proc.returncode:
        raise ModelError(f"fastText training of {path} failed: {proc.stderr.strip().splitlines()[-1:]}")


def load(path: Path, make_target: str):
    """Load a model, naming the file and the command that builds it when it is missing or unreadable."""
    import fasttext

    if not path.is_file():
        raise ModelError(f"{path} not found; build it with `{make_target}`")
    try:
        return fasttext.load_model(str(path))
    except ValueError as exc:
        raise ModelError(f"{path} is not a readable fastText model ({exc}); rebuild it with `{make_target}`") from None


def scores(model, texts: list[str], prepared: bool = False) -> list[float]:
    """P(positive) per text, in [0, 1] (``prepared``: the texts are already ``features()``, shared by models)."""
    labels, probs = model.predict(texts if prepared else [features(t) for t in texts], k=1)
    return [min(1.0, max(0.0, float(p[0]) if lab[0] == POSITIVE else 1.0 - float(p[0]))) for lab, p in zip(labels, probs)]


@dataclass
class Metrics:
    n: int
    positives: int
    precision: float  # of the negative class: what the classifier flags is really bad
    recall: float
    accuracy: float

    def as_dict(self) -> dict:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in self.__dict__.items()}


def metrics(got: list[float], truth: list[int], threshold: float = 0.5, bad_label: int = 0) -> Metrics:
    """Precision/recall of flagging the ``bad_label`` class: a quality score flags below the threshold
    (bad_label 0), a safety score above it (bad_label 1)."""
    flagged = [(s >= threshold) == bool(bad_label) for s in got]
    bad = [label == bad_label for label in truth]
    tp = sum(f and b for f, b in zip(flagged, bad))
    precision = tp / max(1, sum(flagged))
    recall = tp / max(1, sum(bad))
    accuracy = sum(f == b for f, b in zip(flagged, bad)) / max(1, len(truth))
    return Metrics(len(truth), sum(truth), precision, recall, accuracy)


def fit(train_set: list[tuple[int, str, str]], test_set: list[tuple[int, str, str]], path: Path,
        held_out_kinds: tuple[str, ...], bad_label: int, labels_doc: str) -> dict:
    """Train on (label, text, kind) examples and return the model's card: data sizes, training settings, and
    held-out precision/recall overall and the share flagged per kind (kinds never trained on marked)."""
    import datetime

    train([(lab, t) for lab, t, _ in train_set], path)
    got = scores(load(path, "make models"), [t for _, t, _ in test_set])
    flagged_by_kind = {}
    for kind in sorted({k for _, _, k in test_set}):
        flagged = [(g >= 0.5) == bool(bad_label) for g, (_, _, k) in zip(got, test_set) if k == kind]
        flagged_by_kind[kind] = {"n": len(flagged), "flagged": round(sum(flagged) / len(flagged), 4),
                                 "trained_on": kind not in held_out_kinds}
    return {"model": path.name, "bytes": path.stat().st_size, "trained": datetime.date.today().isoformat(),
            "fasttext": TRAIN_ARGS, "labels": labels_doc.strip(),
            "training": {"examples": len(train_set), "positives": sum(lab for lab, _, _ in train_set)},
            "held_out": {"metrics_for_flagging": metrics(got, [lab for lab, _, _ in test_set], bad_label=bad_label).as_dict(),
                         "flagged_by_kind": flagged_by_kind}}


def write_card(path: Path, card: dict) -> None:
    path.write_text(json.dumps(card, indent=1, ensure_ascii=False))


if __name__ == "__main__":  # the child process of train()
    import fasttext

    fasttext.train_supervised(input=sys.argv[1], verbose=0, **json.loads(sys.argv[3])).save_model(sys.argv[2])
