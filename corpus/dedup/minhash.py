"""Document fingerprints for dedup, computed in vectorised batches: MinHash band keys, text and URL keys, line hashes.

MinHash follows datasketch 2.0's default ``affine32`` family bit for bit (same seeded permutations, the
MurmurHash3 finalizer, arithmetic modulo 2^32), so a signature here equals ``datasketch.MinHash.update_batch``
over the same shingle hashes (a unit test checks it). What differs is the loop: the shingles of a whole batch
form one matrix, the permutations are applied to it at once and ``np.minimum.reduceat`` takes each document's
minimum, instead of one Python ``MinHash`` object per document.

Shingles: tokens are runs of letters/digits, except that every Han character is a token of its own, so
English gets word n-grams and Chinese character n-grams from one rule (InternLM2: 5-grams).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from urllib.parse import urlsplit

import numpy as np
import xxhash

from corpus.textunits import tokens

_DIGITS = re.compile(r"\d")
_SPACE = re.compile(r"\s+")
_CHUNK = 1 << 16  # shingles per permutation matrix: 64K x 128 x 4 bytes = 32 MB

M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads structured 64-bit keys (node ids, folded bands) over all bits."""
    x = np.asarray(x, dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _fmix32(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


@lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's own seeded permutation parameters (a, b) for the affine32 scheme."""
    from datasketch import MinHash

    a, b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
    return a.astype(np.uint32), b.astype(np.uint32)


def shingle_hashes(text: str, n: int) -> np.ndarray:
    """32-bit hashes of the distinct token n-grams (one shingle of all tokens when a text has fewer than n)."""
    toks = tokens(text)
    if not toks:
        return np.empty(0, dtype=np.uint32)
    th = np.fromiter((xxhash.xxh3_64_intdigest(t.encode("utf-8", "surrogatepass")) for t in toks), dtype=np.uint64, count=len(toks))
    k = min(n, len(toks))
    h = th[: len(th) - k + 1].copy()
    with np.errstate(over="ignore"):
        for j in range(1, k):
            h = h * np.uint64(0x100000001B3) + th[j : len(th) - k + 1 + j]
    return np.unique((mix64(h) >> np.uint64(32)).astype(np.uint32))


def signatures(per_doc: list[np.ndarray], num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """MinHash signatures (rows x num_perm, uint32) of shingle-hash sets, and a mask of non-empty sets."""
    a, b = permutations(num_perm, seed)
    sig = np.full((len(per_doc), num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)
    sizes = np.array([len(s) for s in per_doc], dtype=np.int64)
    has = sizes > 0
    if not has.any():
        return sig, has
    docs = np.flatnonzero(has)
    allh = _fmix32(np.concatenate([per_doc[i] for i in docs]))
    starts = np.concatenate([[0], np.cumsum(sizes[docs])[:-1]])
    ends = starts + sizes[docs]
    # process whole documents per chunk so reduceat segments never straddle chunks
    lo = 0
    while lo < len(docs):
        hi = int(np.searchsorted(ends, starts[lo] + _CHUNK, side="right"))
        hi = max(hi, lo + 1)
        s0, s1 = starts[lo], ends[hi - 1]
        with np.errstate(over="ignore"):
            mat = allh[s0:s1, None] * a[None, :] + b[None, :]
        sig[docs[lo:hi]] = np.minimum.reduceat(mat, starts[lo:hi] - s0, axis=0)
        lo = hi
    return sig, has


def band_keys(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One 64-bit key per (document, band): equal keys mean the band's rows are all equal (up to 2^-64)."""
    out = np.empty((sig.shape[0], bands), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for i in range(bands):
            h = np.full(sig.shape[0], np.uint64(i + 1) * np.uint64(0x9E3779B97F4A7C15), dtype=np.uint64)
            for j in range(i * rows, (i + 1) * rows):
                h = mix64(h ^ sig[:, j].astype(np.uint64))
            out[:, i] = h
    return out


def optimal_bands(threshold: float, num_perm: int, false_positive_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows) minimising datasketch's weighted false positive + false negative area for ``threshold``."""
    from datasketch.lsh import _optimal_param

    return _optimal_param(threshold, num_perm, false_positive_weight, 1 - false_positive_weight)


def normalize_line(line: str) -> str:
    """CCNet's line normalisation: case, digits and spacing do not make a boilerplate line unique."""
    return _SPACE.sub(" ", _DIGITS.sub("0", unicodedata.normalize("NFC", line).lower())).strip()


def text_hash(text: str) -> int:
    """Exact-duplicate key: the non-empty lines after normalisation (a changed date, case or blank line still matches)."""
    lines = (normalize_line(ln) for ln in text.split("\n"))
    return xxhash.xxh3_64_intdigest("\n".join(ln for ln in lines if ln).encode("utf-8", "surrogatepass"))


def line_hash(line: str) -> int:
    return xxhash.xxh3_64_intdigest(normalize_line(line).encode("utf-8", "surrogatepass"))


def line_hashes(text: str) -> list[int]:
    """Distinct hashes of a document's non-empty lines (a line counts once per document)."""
    return sorted({line_hash(ln) for ln in text.split("\n") if ln.strip()})


def url_key(url: str | None) -> int:
    """Same page across crawls: scheme, 'www.', fragment, default port and a trailing slash do not count."""
    if not url:
        return 0
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:  # unparseable URL or port: the raw string is its own key
        return xxhash.xxh3_64_intdigest(url.encode("utf-8", "surrogatepass"))
    host = (parts.hostname or "").lower().removeprefix("www.")
    port = f":{port}" if port and port not in (80, 443) else ""
    path = parts.path.rstrip("/") or "/"
    query = f"?{parts.query}" if parts.query else ""
    return xxhash.xxh3_64_intdigest(f"{host}{port}{path}{query}".encode("utf-8", "surrogatepass"))
