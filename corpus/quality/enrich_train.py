"""`corpus train-quality`: a DCLM-style classifier from a user's high-quality seed set (label 1) against a
sample of the pool to be filtered (label 0), for WanJuan's "high-quality-corpus-driven enrichment".

A tenth of each side (chosen by a hash of the text, so re-runs agree) is held out: it gives the precision
and recall of finding seed-like documents, and the held-out pool's score quantiles, which turn the `enrich`
stage's ``keep_top: 0.1`` into a score cut-off without a second pass over the pool.
"""

from __future__ import annotations

import datetime
import glob
import gzip
import json
from pathlib import Path

import xxhash

from corpus.quality import fasttext_clf
from corpus.errors import UserError


class SeedError(UserError, ValueError):
    pass


def _files(spec: str) -> list[Path]:
    p = Path(spec)
    if p.is_dir():  # a run's output folder (its curated data/), else the files in the folder
        curated = sorted((p / "data").glob("*.parquet"))
        return curated or sorted(p.glob("*.parquet")) + sorted(p.glob("*.jsonl*")) + sorted(p.glob("*.txt"))
    return [Path(f) for f in sorted(glob.glob(spec))] or ([p] if p.exists() else [])


def read_texts(spec: str, limit: int) -> list[str]:
    """Documents from a `corpus run` output folder, Parquet files (a ``text`` column), JSON Lines (a ``text``
    field, .gz allowed) or plain text (documents separated by blank lines); a glob of those works too."""
    files = _files(spec)
    if not files:
        raise SeedError(f"{spec}: no such file or folder (give a corpus run folder, .parquet, .jsonl[.gz] or .txt files, or a glob)")
    out: list[str] = []
    for f in files:
        name = f.name.lower()
        if name.endswith(".parquet"):
            import pyarrow.parquet as pq

            if "text" not in pq.read_schema(f).names:
                raise SeedError(f"{f}: Parquet without a `text` column")
            out += [t for t in pq.read_table(f, columns=["text"]).column("text").to_pylist() if t]
        elif ".jsonl" in name or name.endswith(".json"):
            opener = gzip.open if name.endswith(".gz") else open
            with opener(f, "rt", encoding="utf-8", errors="replace") as fh:
                for n, line in enumerate(fh, 1):
                    if line.strip():
                        try:
                            text = json.loads(line).get("text")
                        except (json.JSONDecodeError, AttributeError):
                            raise SeedError(f"{f}:{n}: not a JSON object per line") from None
                        if text:
                            out.append(text)
        else:
            out += [b.strip() for b in f.read_text(encoding="utf-8", errors="replace").split("\n\n") if b.strip()]
        if len(out) >= limit:
            break
    return out[:limit]


def _held_out(text: str, fraction: float) -> bool:
    return xxhash.xxh3_64_intdigest(text.encode("utf-8", "surrogatepass")) % 10_000 < fraction * 10_000


def read_labelled(spec: str, limit: int) -> tuple[list[str], list[str]]:
    """The texts a curator labelled good and bad with `corpus review` (DIR/review/labels.parquet, or DIR): the
    latest text-quality label per document of the text the run folder holds wins (a "bad" given to a dedup drop
    means "a duplicate", not bad text; a label on a text since re-extracted judged another text:
    corpus.review.metrics.quality_labels), skips are left out, and the texts come from the run folder that holds
    the labels (matched by document id)."""
    from corpus.review import metrics, store
    from corpus.review.evalmodels import _texts
    from corpus.review.rundocs import RunView

    p = Path(spec)
    labels_file = store.path_of(p) if p.is_dir() else p
    run = labels_file.parent.parent
    if not labels_file.is_file():
        raise SeedError(f"--labels {spec}: no such labels file (give DIR/review/labels.parquet of a `corpus review`)")
    labels = store.read(labels_file)
    judged = any(x in ("good", "bad") for x in labels.column("label").to_pylist())
    rows = []
    if (run / "manifest.json").is_file() and (run / "stats.json").is_file():
        rows = [r for r in metrics.quality_labels(labels, RunView(run)).values() if r["label"] in ("good", "bad")]
    texts = _texts(run, [r["doc_id"] for r in rows]) if rows else {}
    if judged and not texts:
        raise SeedError(f"--labels {spec}: the run folder {run} holds none of the labelled documents; keep labels.parquet in DIR/review/")
    good = [texts[r["doc_id"]] for r in rows if r["label"] == "good" and r["doc_id"] in texts][:limit]
    bad = [texts[r["doc_id"]] for r in rows if r["label"] == "bad" and r["doc_id"] in texts][:limit]
    return good, bad


def train_quality(positive: list[str], negative: list[str], out: str, held_out: float = 0.1, max_docs: int = 200_000,
                  labels: list[str] | None = None) -> dict:
    """Train on seed (positive) and pool (negative) documents; ``labels``: curator labels files whose good documents
    join the positives and whose bad documents join the negatives."""
    pos = [t for s in positive or [] for t in read_texts(s, max_docs)]
    neg = [t for s in negative or [] for t in read_texts(s, max_docs)]
    for spec in labels or []:
        good, bad = read_labelled(spec, max_docs)
        pos, neg = pos + good, neg + bad
    for side, texts in (("--positive", pos), ("--negative", neg)):
        if len(texts) < 20:
            raise SeedError(f"{side}: only {len(texts)} document(s); a classifier needs at least 20 per side (hundreds or more to be useful)")
    train_set = [(1, t) for t in pos if not _held_out(t, held_out)] + [(0, t) for t in neg if not _held_out(t, held_out)]
    test_pos = [t for t in pos if _held_out(t, held_out)]
    test_neg = [t for t in neg if _held_out(t, held_out)]
    path = Path(out)
    if path.suffix != ".bin":
        path = path.with_suffix(".bin")
    fasttext_clf.train(train_set, path)
    model = fasttext_clf.load(path, "corpus train-quality")
    s_pos, s_neg = fasttext_clf.scores(model, test_pos), fasttext_clf.scores(model, test_neg)
    tp, fp = sum(s >= 0.5 for s in s_pos), sum(s >= 0.5 for s in s_neg)
    pool = sorted(s_neg) or [0.5]
    card = {
        "model": path.name, "trained": datetime.date.today().isoformat(), "fasttext": fasttext_clf.TRAIN_ARGS,
        "positive": positive, "negative": negative, "labels": labels or [],
        "training": {"positive": sum(1 for lab, _ in train_set if lab), "negative": sum(1 for lab, _ in train_set if not lab)},
        "held_out": {"positive": len(test_pos), "negative": len(test_neg),
                     "precision": round(tp / max(1, tp + fp), 4), "recall": round(tp / max(1, len(test_pos)), 4)},
        # score at 0%, 1%, …, 100% of the held-out pool sample: keep_top f keeps scores >= quantile (1 - f)
        "pool_score_quantiles": [round(pool[min(len(pool) - 1, int(q / 100 * len(pool)))], 6) for q in range(101)],
    }
    fasttext_clf.write_card(path.with_suffix(".json"), card)
    return card
