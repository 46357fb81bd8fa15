"""Planted near-duplicates with measured similarity: ground truth for the dedup tests and benchmark.

Each base document gets variants whose 5-gram shingle Jaccard similarity to it is set to a target (0.6,
0.75, …) by replacing words at random positions, searching for the number of replacements that lands
closest to the target; the similarity actually reached is measured exactly and recorded, so precision and
recall are computed against true similarities, not against the targets.
"""

from __future__ import annotations

import random

from corpus.dedup.minhash import shingle_hashes

TARGETS = (0.6, 0.75, 0.85, 0.95)


def jaccard(a: str, b: str, n: int = 5) -> float:
    sa, sb = set(shingle_hashes(a, n).tolist()), set(shingle_hashes(b, n).tolist())
    return len(sa & sb) / max(1, len(sa | sb))


def _mutate(words: list[str], k: int, vocab: list[str], rng: random.Random) -> list[str]:
    out = list(words)
    for pos in rng.sample(range(len(out)), min(k, len(out))):
        out[pos] = rng.choice(vocab)
    return out


def variant(text: str, target: float, vocab: list[str], rng: random.Random, n: int = 5) -> tuple[str, float]:
    """A copy of ``text`` with shingle Jaccard similarity close to ``target``; returns (text, similarity).
    Text without spaces (Chinese) is mutated character by character."""
    sep = " " if " " in text else ""
    words = text.split(" ") if sep else list(text)
    lo, hi = 0, len(words)
    best = (text, 1.0)
    for _ in range(12):  # bisection on the number of replaced words (similarity falls as it grows)
        k = (lo + hi) // 2
        seed = rng.random()
        cand = sep.join(_mutate(words, k, vocab, random.Random(seed)))
        j = jaccard(text, cand, n)
        if abs(j - target) < abs(best[1] - target):
            best = (cand, j)
        if j > target:
            lo = k + 1
        else:
            hi = k
        if lo >= hi:
            break
    return best


def families(bases: list[str], vocab: list[str], seed: int = 0, targets: tuple[float, ...] = TARGETS) -> list[dict]:
    """Rows {id, url, text, family, target, jaccard}: each base (target 1.0) followed by its variants."""
    rng = random.Random(seed)
    rows = []
    for f, base in enumerate(bases):
        rows.append({"id": f"f{f}-base", "url": f"https://planted.example/{f}/base", "text": base, "family": f,
                     "target": 1.0, "jaccard": 1.0})
        for t in targets:
            text, j = variant(base, t, vocab, rng)
            rows.append({"id": f"f{f}-{t}", "url": f"https://planted.example/{f}/{t}", "text": text, "family": f,
                         "target": t, "jaccard": round(j, 4)})
    return rows


def random_documents(count: int, vocab: list[str], words: int, seed: int = 0) -> list[str]:
    """Unrelated documents of random vocabulary words (their pairwise similarity is ~0)."""
    rng = random.Random(seed)
    return [" ".join(rng.choices(vocab, k=words)) for _ in range(count)]


def pair_metrics(rows: list[dict], cluster_of: dict[str, str | None], threshold: float) -> dict:
    """Precision and recall over the planted (variant, base) pairs; a pair is predicted a duplicate when
    both documents ended in the same cluster, and truly one when its measured similarity >= threshold."""
    base = {r["family"]: r["id"] for r in rows if r["target"] == 1.0}
    tp = fp = fn = 0
    by_target: dict[float, list[int]] = {}
    for r in rows:
        if r["target"] == 1.0:
            continue
        c1, c2 = cluster_of.get(r["id"]), cluster_of.get(base[r["family"]])
        predicted = c1 is not None and c1 == c2
        truth = r["jaccard"] >= threshold
        tp += predicted and truth
        fp += predicted and not truth
        fn += truth and not predicted
        by_target.setdefault(r["target"], [0, 0])
        by_target[r["target"]][0] += predicted
        by_target[r["target"]][1] += 1
    return {"precision": tp / max(1, tp + fp), "recall": tp / max(1, tp + fn), "pairs": tp + fp + fn,
            "caught_by_target": {t: round(c / n, 4) for t, (c, n) in sorted(by_target.items())}}
