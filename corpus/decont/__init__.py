"""Benchmark decontamination: find evaluation text (GSM8K, MGSM, a user's own test sets) in training documents.

``normalize`` (one normalisation and tokeniser for both sides), ``sources`` (benchmark files), ``index`` (the
memory-mapped n-gram index the driver builds once per run), ``match`` (scoring a document, finding and cutting
the passage), ``planted`` (contamination planted into real pages, for tests and the bench). The stage adapter
is filters/decontaminate.py; this package never imports it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from corpus.decont import index, sources
from corpus.decont.normalize import NORMALISER_VERSION


def index_key(benchmarks: list[sources.Benchmark], shas: list[str], word_ngram: int, char_ngram: int, stride: int = 1) -> str:
    """What the index depends on: the files' content, what is read from them, the n-gram sizes, the code."""
    blob = json.dumps({"normaliser": NORMALISER_VERSION, "common": index.COMMON_UNITS, "word": word_ngram, "char": char_ngram, "stride": stride,
                       "benchmarks": [[b.name, list(b.fields), b.id, sha] for b, sha in zip(benchmarks, shas)]})
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def ensure_index(benchmarks: list[sources.Benchmark], shas: list[str], word_ngram: int, char_ngram: int,
                 work_dir: Path, stride: int = 1) -> tuple[Path, dict, bool]:
    """The index folder for these benchmarks under ``work_dir`` (built unless one with the same key is there):
    (folder, its meta, whether it was built now)."""
    key = index_key(benchmarks, shas, word_ngram, char_ngram, stride)
    folder = Path(work_dir) / f"index-{key}"
    meta = index.read_meta(folder)
    if meta is not None and meta.get("key") == key:
        return folder, meta, False
    loaded = [(b, sources.load(b)) for b in benchmarks]
    return folder, index.build(loaded, word_ngram, char_ngram, folder, key, stride), True
