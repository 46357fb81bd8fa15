"""KenLM scoring as CCNet does it: the text as space-separated units (words; each Han character a unit), each
line scored as one sentence. The training side (`make models`) lives in training/kenlm_train.py and uses the
same ``units``, so a model is queried exactly as it was trained."""

from __future__ import annotations

import math

from corpus.textunits import tokens


def units(text: str) -> str:
    return " ".join(tokens(text))


def perplexity(model, text: str) -> tuple[float, float]:
    """(document perplexity, worst paragraph perplexity), CCNet's way: 10 ^ (-(sum of log10 probabilities) /
    tokens), each line scored as one sentence with its end-of-sentence token."""
    total, n, worst = 0.0, 0, 0.0
    for line in text.split("\n"):
        u = units(line)
        if u:
            lp, k = model.score(u, bos=True, eos=True), len(u.split()) + 1
            total += lp
            n += k
            worst = max(worst, 10 ** (-lp / k))
    return (10 ** (-total / n), worst) if n else (math.inf, math.inf)
