"""The second weak labeller for English: ``alt-profanity-check``, a linear classifier on word counts that its
authors fitted on about 200k human-labelled comments (Wikipedia talk pages and tweets) and ship in the wheel.

It is used only by `make models`, to label training comments and to pick insult vocabulary; the pipeline
never loads it. Its model is a joblib pickle, loaded from the installed, pinned registry package only,
never from a path a user or a crawl supplies.
"""

from __future__ import annotations

import functools


@functools.cache
def _model():
    from profanity_check import profanity_check

    return profanity_check.vectorizer, profanity_check.model


def predict(texts: list[str]) -> list[float]:
    """P(offensive) per text."""
    vectorizer, model = _model()
    return [float(p) for p in model.predict_proba(vectorizer.transform(texts))[:, 1]]


def terms(min_weight: float = 1.5) -> dict[str, float]:
    """The words the teacher weighs as offensive: word -> mean weight over its calibrated folds, strongest first."""
    import numpy as np

    vectorizer, model = _model()
    weights = np.mean([c.estimator.coef_[0] for c in model.calibrated_classifiers_], axis=0)
    vocab = {i: w for w, i in vectorizer.vocabulary_.items()}
    return {vocab[i]: round(float(weights[i]), 3) for i in np.argsort(-weights, kind="stable") if weights[i] >= min_weight}
