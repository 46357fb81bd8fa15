"""Match documents against the index: the best benchmark item, its overlap, the matched passage, and its removal.

The overlap of an item is the share of its best field's tokens that lie inside n-grams found in the document
(the field's indexed tokens: ``unit_cover``). It is not the share of n-grams found, because one changed word
removes up to n of a field's n-grams but only one of its tokens: a GSM8K question of 45 words with three
words changed keeps about half its 13-grams and over 80% of its covered tokens. Copy-editing a problem is how
it leaks in practice (reformatted, a name or a number changed), so the measure must bend with it.

Every document takes the fast path (normalise the whole text, hash, one binary search per n-gram); only a
document with an item at or above ``min_overlap`` is tokenised again with character offsets
(``normalize.token_spans``) to find the passage: the span of the document between the first and last matched
token, where matched runs closer than n tokens (an edited word) join into one passage.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from corpus.decont.index import Index, covered, group
from corpus.decont.normalize import HAN, ngram_hashes, normalize, token_hashes, token_spans, tokens

MAX_SPAN_CHARS = 2000


@dataclasses.dataclass
class Found:
    item: int  # the item's row in the index
    overlap: float
    units: list[int]  # the item's units at or above the threshold (for the passage)


class Matcher:
    def __init__(self, index: Index, min_overlap: float) -> None:
        self.index = index
        self.min_overlap = min_overlap
        self.char_only = {int(index.meta["char_ngram"])} - {int(index.meta["word_ngram"])}

    def _query(self, toks: list[str], han: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(n-gram hashes, their first token, their n) for every n-gram size the index uses."""
        th = token_hashes(toks)
        hs, starts, ns = [], [], []
        for n in self.index.ngram_sizes:
            if n in self.char_only and not han:
                continue
            h = ngram_hashes(th, n)
            hs.append(h)
            starts.append(np.arange(len(h)))
            ns.append(np.full(len(h), n))
        if not hs:
            return np.empty(0, np.uint64), np.empty(0, np.int64), np.empty(0, np.int64)
        return np.concatenate(hs), np.concatenate(starts), np.concatenate(ns)

    def _hits(self, toks: list[str], han: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(doc start, n, unit, unit position) of every index entry the document's n-grams hit."""
        h, starts, ns = self._query(toks, han)
        q, units, pos = self.index.lookup(h)
        # an n-gram size only counts for the units indexed with it (hashes are seeded with n, so they never mix)
        return starts[q], ns[q], units, pos

    def score(self, toks: list[str], han: bool) -> list[Found]:
        """Items with any overlap, best first (ties: the benchmark listed first, then the earlier item)."""
        _, _, units, pos = self._hits(toks, han)
        best: dict[int, Found] = {}
        idx = self.index
        for unit, grams in group(units, pos):
            cover = int(idx.unit_cover[unit])
            overlap = min(1.0, covered(grams, int(idx.unit_n[unit])) / cover) if cover else 0.0
            item = int(idx.unit_item[unit])
            f = best.setdefault(item, Found(item, 0.0, []))
            f.overlap = max(f.overlap, overlap)
            if overlap >= self.min_overlap:
                f.units.append(unit)
        return sorted(best.values(), key=lambda f: (-f.overlap, f.item))

    def find(self, text: str) -> list[Found]:
        return self.score(tokens(normalize(text)), HAN.search(text) is not None)

    def passages(self, text: str, flagged: list[Found]) -> list[tuple[int, int]]:
        """Character ranges of ``text`` holding the flagged items' matched n-grams, longest first."""
        toks, spans = token_spans(text)
        starts, ns, units, _ = self._hits(toks, HAN.search(text) is not None)
        wanted = np.isin(units, np.array([u for f in flagged for u in f.units], np.uint32))
        runs = sorted(zip(starts[wanted].tolist(), (starts[wanted] + ns[wanted]).tolist()))
        merged: list[list[int]] = []
        for a, b in runs:
            gap = b - a  # n: a run resumes within n tokens after an edited word
            if merged and a <= merged[-1][1] + gap:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        ranges = [(int(spans[a][0]), int(spans[b - 1][1])) for a, b in merged]
        return sorted(ranges, key=lambda r: (r[0] - r[1], r[0]))


def span_text(text: str, rng: tuple[int, int]) -> str:
    a, b = rng
    return text[a:b] if b - a <= MAX_SPAN_CHARS else text[a : a + MAX_SPAN_CHARS - 1] + "…"


_BLANKS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")


def cut(text: str, ranges: list[tuple[int, int]]) -> str:
    """Remove the passages: the whole lines they touch, unless a line is over twice as long as the passage's
    part of it (one quoted problem inside a long paragraph), where only the passage goes."""
    cuts: list[tuple[int, int]] = []
    for a, b in ranges:
        la = text.rfind("\n", 0, a) + 1
        lb = text.find("\n", b)
        lb = len(text) if lb < 0 else lb + 1
        cuts.append((la, lb) if lb - la <= 2 * (b - a) else (a, b))
    out, at = [], 0
    for a, b in sorted(cuts):
        if b <= at:
            continue
        out.append(text[at : max(a, at)])
        at = b
    out.append(text[at:])
    return _BLANKS.sub("\n\n", "".join(out)).strip()
