"""The benchmark n-gram index: sorted 64-bit n-gram hashes in memory-mapped .npy files, built once per run.

A Python set of n-gram strings per worker would cost hundreds of MB for 100k items; here one entry is 14 bytes
(hash, unit, position), written once by the driver into the run folder and memory-mapped by every worker, so
the workers of a node share the page-cache pages (the domain blocklist's pattern, corpus/safety/blocklist.py).

A *unit* is one field of one item (a GSM8K question, or its answer): n-grams never span two fields, and an
item's overlap is its best field's, so a page that quotes the problem without its solution scores as high as
one that quotes both. A unit whose text is mostly Han characters gets ``char_ngram``-grams, any other
``word_ngram``-grams (tokens: corpus/decont/normalize.py). A unit shorter than its n has no n-gram and cannot
be matched; the build counts them. An n-gram found in more than ``COMMON_UNITS`` units is a template
(an instruction every item repeats), not evidence, and is left out; the units' ``cover`` (tokens some indexed
n-gram covers) is the denominator of the overlap, so a template does not lower it either.

Files: ``hashes.npy`` (uint64, sorted), ``units.npy`` (uint32) and ``pos.npy`` (uint16, the n-gram's first
token in its unit) aligned with it; per unit ``unit_item.npy`` (uint32), ``unit_cover.npy`` (uint16) and
``unit_n.npy`` (uint8); per item ``item_bench.npy`` (uint16); ``meta.json`` (key, benchmark names, counts) and
``items.json`` (item ids; the report reads texts from ``texts.jsonl``).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from corpus.decont.normalize import is_han_heavy, ngram_hashes, normalize, token_hashes, tokens
from corpus.decont.sources import Benchmark, Item

COMMON_UNITS = 32
MAX_UNIT_TOKENS = 65_535  # positions are uint16; longer fields are indexed up to here
ARRAYS = ("hashes", "units", "pos", "unit_item", "unit_cover", "unit_n", "item_bench")


def strided(count: int, stride: int) -> np.ndarray:
    """Which of a unit's ``count`` n-grams are indexed: every ``stride``-th and the last. With stride <= n the
    indexed n-grams still tile the unit, so a quote of the whole unit covers all of it, and any quoted run of
    n + stride - 1 tokens contains one; an edit costs up to stride - 1 more tokens at each side."""
    return np.unique(np.r_[np.arange(0, count, stride), count - 1]).astype(np.uint16)


def build(benchmarks: list[tuple[Benchmark, list[Item]]], word_ngram: int, char_ngram: int, out: Path, key: str,
          stride: int = 1) -> dict:
    """Write the index for these benchmarks to ``out`` (atomically: a temporary folder, then a rename)."""
    hashes, units, pos = [], [], []
    unit_item, unit_cover, unit_n, item_bench, keys = [], [], [], [], []
    texts: list[str] = []
    short = {b.name: 0 for b, _ in benchmarks}
    items_per = {b.name: len(items) for b, items in benchmarks}
    for b_idx, (bench, items) in enumerate(benchmarks):
        for item in items:
            item_id = len(keys)
            keys.append(item.key)
            item_bench.append(b_idx)
            texts.append(json.dumps({"benchmark": bench.name, "item": item.key, "fields": item.fields}, ensure_ascii=False))
            indexed = False
            for text in item.fields:
                toks = tokens(normalize(text))[:MAX_UNIT_TOKENS]
                n = char_ngram if is_han_heavy(toks) else word_ngram
                h = ngram_hashes(token_hashes(toks), n)
                if not len(h):
                    continue
                unit = len(unit_item)
                unit_item.append(item_id)
                unit_n.append(n)
                unit_cover.append(len(toks))  # recomputed below once templates are known
                keep = strided(len(h), stride)
                hashes.append(h[keep])
                units.append(np.full(len(keep), unit, np.uint32))
                pos.append(keep)
                indexed = True
            short[bench.name] += not indexed
    h = np.concatenate(hashes) if hashes else np.empty(0, np.uint64)
    u = np.concatenate(units) if units else np.empty(0, np.uint32)
    p = np.concatenate(pos) if pos else np.empty(0, np.uint16)
    # one entry per (hash, unit): a unit that repeats an n-gram keeps its first position
    order = np.lexsort((p, u, h))
    h, u, p = h[order], u[order], p[order]
    first = np.ones(len(h), bool)
    first[1:] = (h[1:] != h[:-1]) | (u[1:] != u[:-1])
    h, u, p = h[first], u[first], p[first]
    # templates: n-grams in more than COMMON_UNITS units
    starts = np.flatnonzero(np.r_[True, h[1:] != h[:-1]]) if len(h) else np.empty(0, np.int64)
    counts = np.diff(np.r_[starts, len(h)])
    common = np.repeat(counts > COMMON_UNITS, counts)
    templates = int((counts > COMMON_UNITS).sum())
    h, u, p = h[~common], u[~common], p[~common]
    n_of = np.array(unit_n, np.int64)
    cover = np.zeros(len(unit_item), np.int64)
    for unit, grams in group(u, p):  # tokens covered by the unit's remaining n-grams
        cover[unit] = covered(grams, int(n_of[unit]))
    arrays = {"hashes": h, "units": u, "pos": p, "unit_item": np.array(unit_item, np.uint32),
              "unit_cover": np.minimum(cover, MAX_UNIT_TOKENS).astype(np.uint16), "unit_n": np.array(unit_n, np.uint8),
              "item_bench": np.array(item_bench, np.uint16)}
    meta = {"key": key, "word_ngram": word_ngram, "char_ngram": char_ngram, "stride": stride, "benchmarks": [b.name for b, _ in benchmarks],
            "items": items_per, "unindexed_items": short, "units": len(unit_item), "entries": int(len(h)),
            "template_ngrams": templates, "bytes": int(sum(a.nbytes for a in arrays.values()))}
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, arr in arrays.items():
        np.save(tmp / f"{name}.npy", arr)
    (tmp / "items.json").write_text(json.dumps(keys, ensure_ascii=False), encoding="utf-8")
    (tmp / "texts.jsonl").write_text("\n".join(texts) + "\n", encoding="utf-8")
    (tmp / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")  # last: its presence means complete
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
    return meta


def group(units: np.ndarray, pos: np.ndarray):
    """(unit, its n-gram positions) for each unit present, from arrays in any order."""
    if not len(units):
        return
    order = np.argsort(units, kind="stable")
    u, p = units[order], pos[order]
    bounds = np.flatnonzero(np.r_[True, u[1:] != u[:-1], True])
    for a, b in zip(bounds[:-1], bounds[1:]):
        yield int(u[a]), p[a:b]


def covered(starts: np.ndarray, n: int) -> int:
    """Tokens inside the union of [s, s + n) over the n-gram starts."""
    s = np.unique(starts.astype(np.int64))
    if not len(s):
        return 0
    gaps = np.minimum(np.diff(s), n)
    return int(gaps.sum() + n)


def read_meta(folder: Path) -> dict | None:
    try:
        return json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class Index:
    """The memory-mapped index, as a worker uses it."""

    def __init__(self, folder: str | Path) -> None:
        folder = Path(folder)
        meta = read_meta(folder)
        if meta is None:
            raise FileNotFoundError(f"decontamination index {folder} is missing or incomplete (no meta.json); "
                                    f"it is built by the stage's prepare() at the start of `corpus run`")
        self.meta = meta
        for name in ARRAYS:
            setattr(self, name, np.load(folder / f"{name}.npy", mmap_mode="r"))
        self.keys: list[str] = json.loads((folder / "items.json").read_text(encoding="utf-8"))
        self.benchmarks: list[str] = meta["benchmarks"]
        self.ngram_sizes = sorted({int(n) for n in np.unique(np.asarray(self.unit_n))})

    def lookup(self, query: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For query n-gram hashes: (query index, unit, position in unit) of every index entry they hit."""
        table = self.hashes
        if not len(table) or not len(query):
            return np.empty(0, np.int64), np.empty(0, np.uint32), np.empty(0, np.uint16)
        lo = np.searchsorted(table, query, "left")
        hit = np.flatnonzero(np.asarray(table[lo.clip(max=len(table) - 1)]) == query)
        if not len(hit):
            return np.empty(0, np.int64), np.empty(0, np.uint32), np.empty(0, np.uint16)
        hi = np.searchsorted(table, query[hit], "right")
        lengths = hi - lo[hit]
        q = np.repeat(hit, lengths)
        entry = np.repeat(lo[hit], lengths) + (np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths))
        return q, np.asarray(self.units[entry]), np.asarray(self.pos[entry])
