"""One normalisation and one tokenisation for both sides: benchmark items and documents.

A quoted benchmark problem rarely survives byte for byte: a page lower-cases it, re-spaces it, swaps curly
quotes for straight ones, writes ``１６`` or ``16``, ``80,000`` or ``80000``, and drops GSM8K's calculator
annotations (``<<16-3-4=9>>``). So both sides go through the same steps:

- NFKC (full-width letters, digits and punctuation become ASCII; compatibility forms fold) and case-folding;
- GSM8K calculator annotations ``<<...>>`` are blanked (a page quoting a solution keeps or drops them);
- tokens are runs of letters or digits, except that every Han character is a token of its own (the dedup
  rule: English gets word n-grams and Chinese character n-grams from one tokeniser);
- punctuation and spacing are not tokens, so they never break a match; digits are kept as tokens, because the
  numbers are what a maths benchmark leaks; a thousands separator inside a number (``80,000``) is dropped so
  ``80,000`` and ``80000`` are one token.

Tokens are hashed with xxh3-64 (stable across processes and machines, unlike ``hash()``), and n-grams are a
polynomial of their token hashes in wrapping uint64 arithmetic, finished with splitmix64, computed for a whole
document in ``n`` vector operations. The n-gram length is part of the seed, so a 13-gram and an 8-gram never
share a hash.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import xxhash

from corpus.dedup.minhash import mix64
from corpus.textunits import HAN_CLASS

HAN = re.compile(f"[{HAN_CLASS}]")
# a number with thousands separators is one token (the commas are stripped before hashing), then a Han
# character alone, then a run of letters/digits
TOKEN = re.compile(f"\\d{{1,3}}(?:,\\d{{3}})+(?!\\d)|[{HAN_CLASS}]|[^\\W_{HAN_CLASS}]+")
CALC = re.compile(r"<<[^<>\n]{0,200}>>")
NORMALISER_VERSION = "1"  # part of the index key: a change here rebuilds every index
_P = np.uint64(0x100000001B3)  # FNV prime: the polynomial's base


def normalize(text: str) -> str:
    """NFKC, case-folded, calculator annotations blanked with spaces (so lengths stay comparable)."""
    out = unicodedata.normalize("NFKC", text).casefold()
    return CALC.sub(lambda m: " " * len(m.group()), out) if "<<" in out else out


def tokens(text: str) -> list[str]:
    """Tokens of an already normalised text."""
    return [t.replace(",", "") for t in TOKEN.findall(text)]


def token_spans(text: str) -> tuple[list[str], np.ndarray]:
    """Tokens of ``text`` (original, not normalised) with their (start, end) character offsets in it.

    The normalisation is applied character by character, so every normalised character maps back to the
    original one it came from. Slower than ``tokens(normalize(text))`` (a Python loop over characters): used
    only for the rare documents that matched, to find and cut the passage."""
    pieces, owner = [], []
    for i, ch in enumerate(text):
        n = ch if ch.isascii() else unicodedata.normalize("NFKC", ch)
        n = n.casefold()
        pieces.append(n)
        owner.extend([i] * len(n))
    norm = "".join(pieces)
    if "<<" in norm:
        norm = CALC.sub(lambda m: " " * len(m.group()), norm)
    owner.append(len(text))
    toks, spans = [], []
    for m in TOKEN.finditer(norm):
        toks.append(m.group().replace(",", ""))
        spans.append((owner[m.start()], owner[m.end() - 1] + 1))
    return toks, np.array(spans, dtype=np.int64).reshape(-1, 2)


def token_hashes(toks: list[str]) -> np.ndarray:
    h = xxhash.xxh3_64_intdigest
    return np.fromiter((h(t.encode("utf-8", "surrogatepass")) for t in toks), dtype=np.uint64, count=len(toks))


def ngram_hashes(th: np.ndarray, n: int) -> np.ndarray:
    """Hash of every n-gram of a token-hash array (position i -> tokens i..i+n-1); empty if shorter than n."""
    count = len(th) - n + 1
    if count <= 0:
        return np.empty(0, np.uint64)
    acc = np.full(count, n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(n):
            acc = acc * _P + th[j : j + count]
    return mix64(acc)


def is_han_heavy(toks: list[str]) -> bool:
    """Chinese-script text: at least half its tokens are Han characters (it gets character n-grams)."""
    return bool(toks) and sum(1 for t in toks if len(t) == 1 and HAN.match(t)) * 2 >= len(toks)
