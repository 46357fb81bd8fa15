"""Gopher quality and repetition rules (Rae et al. 2021, "Scaling Language Models", Appendix A.1.1), with a
Chinese definition for every rule that is applied to Chinese (the page rules Chinese web pipelines add are
their own stage, ``filters/chinese_web.py``).

Default thresholds are the paper's (and datatrove's); the zh overrides in pipelines/default.yaml say what
they were measured on. Every signal is kept as a column; the first failing rule in the paper's order names
the reason. Where a rule means something else for Chinese, the signal is defined per language:

- ``gq_alpha_words``: the share of words with a letter, where a word is a whitespace-separated token with a
  letter or digit (``alpha_word_ratio``). Gopher states the rule over words ("80% of words contain an
  alphabetic character"); a token made only of punctuation or symbols is not a word: the "|" and "|---|"
  of a table as the extractor writes it, a menu path's "-", a code line's "=" or "+". Counted as words
  (datatrove counts every spaCy token, our whitespace split counted such tokens too) they put usable help
  pages with one table at 0.58-0.79 against Gopher's 0.8: 28 drops on the shared crawl's run, 22 of them
  pages the human review calls good; 47 of bench/alpha_evidence.py's 2,068 documents, 37 usable. Over words
  the rule measures what it was written for, how much of a page is numbers (4 and 5 drops). Chinese has no
  spaces: every Han character is a word, the text between them is split at spaces and Chinese punctuation
  ("，" separates as a space does), so "1998年" is a number and a word.
- Top n-grams count only an n-gram that occurs at least twice: Gopher's "most frequent n-gram" is a
  repetition measure, and on a 30-word page any single 4-gram would otherwise be "the most frequent" one
  (datatrove counts it; 48 of 360 real English help pages were dropped for it). For Chinese, n-grams are
  of characters and their length is counted without the word separators English puts between them.
- Top and duplicate n-grams are n-grams of words with a letter or digit: punctuation tokens are markup and
  code syntax, not repeated prose. datatrove counts them, so an rST heading underline (60 "=" tokens) or a
  table's "|" bars made 53 of 452 real package READMEs and 21 of 76 Python manual pages "repetitive"
  (bench/repetition_evidence.py: 6 and 1 with words only). Characters are still counted over the whole text.
"""

from __future__ import annotations

import dataclasses
import re
from bisect import bisect_left

import numpy as np
import pyarrow as pa

from corpus.registry import register
from filters.rule_step import RuleParams, RuleStep
from corpus.textunits import HAN_CLASS, STOP_WORDS, is_cjk_lang, is_symbol, words


@dataclasses.dataclass
class GopherQualityParams(RuleParams):
    min_doc_words: int | None = 50
    max_doc_words: int | None = 100_000
    min_avg_word_length: float | None = 3
    max_avg_word_length: float | None = 10
    max_symbol_word_ratio: float | None = 0.1
    max_bullet_lines_ratio: float | None = 0.9
    max_ellipsis_lines_ratio: float | None = 0.3
    min_alpha_words_ratio: float | None = 0.8
    min_stop_words: int | None = 2


F32, I32 = pa.float32(), pa.int32()


@register
class GopherQuality(RuleStep):
    name = "gopher_quality"
    Params = GopherQualityParams
    codes = ("short_doc", "long_doc", "mean_word_len_low", "mean_word_len_high", "hash_ratio", "ellipsis_ratio", "bullet_lines",
             "ellipsis_lines", "alpha_words", "stop_words")
    thresholds = {"gq_words": ("min_doc_words", "max_doc_words"), "gq_mean_word_len": ("min_avg_word_length", "max_avg_word_length"),
                  "gq_hash_ratio": ("max_symbol_word_ratio",), "gq_ellipsis_ratio": ("max_symbol_word_ratio",),
                  "gq_bullet_lines": ("max_bullet_lines_ratio",), "gq_ellipsis_lines": ("max_ellipsis_lines_ratio",),
                  "gq_alpha_words": ("min_alpha_words_ratio",), "gq_stop_words": ("min_stop_words",)}
    signals = [pa.field("gq_words", I32), pa.field("gq_mean_word_len", F32), pa.field("gq_hash_ratio", F32),
               pa.field("gq_ellipsis_ratio", F32), pa.field("gq_bullet_lines", F32), pa.field("gq_ellipsis_lines", F32),
               pa.field("gq_alpha_words", F32), pa.field("gq_stop_words", I32)]

    def evaluate(self, text, lang, p):
        ws = words(text, lang)
        n = len(ws) or 1
        content = [w for w in ws if not is_symbol(w)]
        lines = text.splitlines() or [""]
        stop = STOP_WORDS.get(lang or "en", STOP_WORDS["en"])
        alpha = alpha_word_ratio(text, lang)
        s = {
            "gq_words": len(content),
            "gq_mean_word_len": sum(map(len, content)) / len(content) if content else 0.0,
            "gq_hash_ratio": text.count("#") / n,
            "gq_ellipsis_ratio": (text.count("...") + text.count("…")) / n,
            "gq_bullet_lines": sum(l.lstrip().startswith(("•", "-")) for l in lines) / len(lines),
            "gq_ellipsis_lines": sum(l.rstrip().endswith(("...", "…")) for l in lines) / len(lines),
            "gq_alpha_words": alpha,
            "gq_stop_words": len(stop.intersection(ws)),
        }
        checks = [
            ("short_doc", p.min_doc_words is not None and s["gq_words"] < p.min_doc_words),
            ("long_doc", p.max_doc_words is not None and s["gq_words"] > p.max_doc_words),
            ("mean_word_len_low", p.min_avg_word_length is not None and content and s["gq_mean_word_len"] < p.min_avg_word_length),
            ("mean_word_len_high", p.max_avg_word_length is not None and s["gq_mean_word_len"] > p.max_avg_word_length),
            ("hash_ratio", p.max_symbol_word_ratio is not None and s["gq_hash_ratio"] > p.max_symbol_word_ratio),
            ("ellipsis_ratio", p.max_symbol_word_ratio is not None and s["gq_ellipsis_ratio"] > p.max_symbol_word_ratio),
            ("bullet_lines", p.max_bullet_lines_ratio is not None and s["gq_bullet_lines"] > p.max_bullet_lines_ratio),
            ("ellipsis_lines", p.max_ellipsis_lines_ratio is not None and s["gq_ellipsis_lines"] > p.max_ellipsis_lines_ratio),
            ("alpha_words", p.min_alpha_words_ratio is not None and s["gq_alpha_words"] < p.min_alpha_words_ratio),
            ("stop_words", p.min_stop_words is not None and s["gq_stop_words"] < p.min_stop_words),
        ]
        reason = next((f"gopher_quality.{code}" for code, failed in checks if failed), None)
        return s, reason, None


@dataclasses.dataclass
class GopherRepetitionParams(RuleParams):
    dup_line_frac: float | None = 0.3
    dup_para_frac: float | None = 0.3
    dup_line_char_frac: float | None = 0.2
    dup_para_char_frac: float | None = 0.2
    # top n-gram character fraction, n = 2, 3, 4
    top_ngram_frac: list[float] = dataclasses.field(default_factory=lambda: [0.2, 0.18, 0.16])
    # duplicated n-gram character fraction, n = 5 … 10
    dup_ngram_frac: list[float] = dataclasses.field(default_factory=lambda: [0.15, 0.14, 0.13, 0.12, 0.11, 0.10])

    def validate(self) -> str | None:
        if len(self.top_ngram_frac) != 3 or len(self.dup_ngram_frac) != 6:
            return "top_ngram_frac takes 3 values (n=2..4) and dup_ngram_frac 6 values (n=5..10)"
        return super().validate()


_HAS_ALPHA = re.compile(r"[^\W\d_]")  # a letter of any script (a Han character is one)
_HAS_ALNUM = re.compile(r"[^\W_]")
# Chinese separates words with its punctuation, not spaces: the clause and sentence marks, brackets and
# quotes ("，" separates as a space does). Not the marks that sit inside numbers: "．" and "·" are decimal
# points in edited text ("２７·６％"), "－" a minus, "／" a fraction bar.
_ZH_SEP = "\\s。，、；：？！“”‘’（）《》【】「」『』〈〉…—～"
_ZH_TOKEN = re.compile(f"[{HAN_CLASS}]|[^{HAN_CLASS}{_ZH_SEP}]+")


def alpha_word_ratio(text: str, lang: str | None) -> float:
    """Share of words that contain a letter (Gopher's alphabetic-words rule); 0 when there is no word.

    A word is a token with a letter or digit: punctuation and symbol tokens (table bars, menu-path dashes,
    arrows, code operators) are layout, and counting them made the rule measure how the extractor writes a
    table instead of how much of a page is numbers. English tokens are split at whitespace, as Gopher's are;
    Chinese ones are each Han character and the runs between them split at whitespace and CJK punctuation."""
    toks = _ZH_TOKEN.findall(text) if is_cjk_lang(lang) else text.split()
    alpha = alnum = 0
    for w in toks:
        if _HAS_ALPHA.search(w):
            alpha += 1
            alnum += 1
        elif _HAS_ALNUM.search(w):
            alnum += 1
    return alpha / alnum if alnum else 0.0


_PARA = re.compile(r"\n{2,}")
_LINES = re.compile(r"\n+")


def duplicates(items: list[str]) -> tuple[int, int]:
    """(number of repeated elements, characters in the repeats), first occurrences not counted."""
    seen: set[str] = set()
    n = chars = 0
    for x in items:
        if x in seen:
            n += 1
            chars += len(x)
        else:
            seen.add(x)
    return n, chars


_MULT = np.uint64(0x9E3779B97F4A7C15)


def ngram_hashes(ids: np.ndarray, n: int, prev: np.ndarray | None = None) -> np.ndarray:
    """64-bit polynomial hash of every n-gram of word ids, vectorised (collisions are ~2^-64 per pair).
    Given the (n-1)-gram hashes, one multiply-add extends them."""
    with np.errstate(over="ignore"):
        if prev is not None:
            return prev[:-1] * _MULT + ids[n - 1 :]
        h = np.zeros(len(ids) - n + 1, dtype=np.uint64)
        for k in range(n):
            h = h * _MULT + ids[k : len(ids) - n + 1 + k]
    return h


def top_ngram_chars(h: np.ndarray, csum: np.ndarray, n: int, sep: int = 1) -> int:
    """Characters covered by the most frequent n-gram times its count, 0 unless it occurs at least twice;
    ties go to the n-gram seen first, as a Counter's most_common would. ``h`` holds the n-gram hashes;
    ``sep`` is the separator counted between the words of an n-gram (1 for a space, 0 for Chinese)."""
    if not len(h):
        return 0
    order = np.argsort(h, kind="stable")  # equal hashes adjacent, earliest position first
    hs = h[order]
    starts = np.flatnonzero(np.r_[True, hs[1:] != hs[:-1]])
    counts = np.diff(np.r_[starts, len(hs)])
    best = counts.max()
    if best < 2:
        return 0
    pos = int(order[starts[counts == best]].min())
    return int(csum[pos + n] - csum[pos] + sep * (n - 1)) * int(best)


def dup_ngram_chars(h: np.ndarray, csum: np.ndarray, n: int) -> int:
    """Characters in repeated n-grams, scanning left to right and jumping past each repeat (Gopher).
    Only positions whose n-gram occurred earlier can be repeats; the scan hops between those, and every
    position it passes on the way is new by construction. ``h`` holds the n-gram hashes."""
    if not len(h):
        return 0
    order = np.argsort(h, kind="stable")  # within a run of equal hashes, every position after the first repeats
    hs = h[order]
    cands = np.sort(order[1:][hs[1:] == hs[:-1]]).tolist()
    if not cands:
        return 0
    hashes = h.tolist()
    seen: set[int] = set()
    chars = idx = 0
    k = 0
    while k < len(cands):
        c = cands[k]
        seen.update(hashes[idx:c])
        if hashes[c] in seen:
            chars += int(csum[c + n] - csum[c])
            idx = c + n
            k = bisect_left(cands, idx, k)
        else:
            seen.add(hashes[c])
            idx = c + 1
            k += 1
    return chars


@register
class GopherRepetition(RuleStep):
    name = "gopher_repetition"
    Params = GopherRepetitionParams
    codes = ("empty", "dup_para_frac", "dup_para_char_frac", "dup_line_frac", "dup_line_char_frac",
             *(f"top_{n}_gram" for n in (2, 3, 4)), *(f"dup_{n}_gram" for n in range(5, 11)))
    thresholds = {"gr_dup_para_frac": ("dup_para_frac",), "gr_dup_para_char_frac": ("dup_para_char_frac",),
                  "gr_dup_line_frac": ("dup_line_frac",), "gr_dup_line_char_frac": ("dup_line_char_frac",),
                  **{f"gr_top{n}": (f"top_ngram_frac[{n - 2}]",) for n in (2, 3, 4)},
                  **{f"gr_dup{n}": (f"dup_ngram_frac[{n - 5}]",) for n in range(5, 11)}}
    signals = [pa.field(n, F32) for n in ("gr_dup_para_frac", "gr_dup_para_char_frac", "gr_dup_line_frac", "gr_dup_line_char_frac",
                                           "gr_top2", "gr_top3", "gr_top4", "gr_dup5", "gr_dup6", "gr_dup7", "gr_dup8", "gr_dup9", "gr_dup10")]

    def evaluate(self, text, lang, p):
        if not text:
            return {}, "gopher_repetition.empty", None
        size = len(text)
        paras = _PARA.split(text.strip())
        lines = _LINES.split(text)
        pn, pc = duplicates(paras)
        ln, lc = duplicates(lines)
        # n-grams of words that carry a letter or digit: punctuation tokens are markup and code syntax, not
        # repeated prose (an rST heading underline is 60 "=" tokens, a table row a run of "|")
        ws = [w for w in words(text, lang) if not is_symbol(w)]
        # word ids from Python's cached string hash: only compared within this document, so the per-process
        # hash seed cannot change a result (a 64-bit collision between two words of one page aside)
        ids = np.fromiter(map(hash, ws), dtype=np.int64, count=len(ws)).view(np.uint64)
        csum = np.concatenate(([0], np.cumsum([len(w) for w in ws])))
        sep = 0 if is_cjk_lang(lang) else 1
        s = {"gr_dup_para_frac": pn / len(paras), "gr_dup_para_char_frac": pc / size,
             "gr_dup_line_frac": ln / len(lines), "gr_dup_line_char_frac": lc / size}
        h = None
        for n in (2, 3, 4):
            h = ngram_hashes(ids, n, h) if len(ids) >= n else None
            s[f"gr_top{n}"] = (top_ngram_chars(h, csum, n, sep) if h is not None else 0) / size
        for n in range(5, 11):
            # an n-gram can only repeat where its (n-1)-gram prefix repeats: once none does, all larger are 0
            h = ngram_hashes(ids, n, h) if h is not None and len(ids) >= n else None
            dup = dup_ngram_chars(h, csum, n) if h is not None and (n == 5 or s[f"gr_dup{n - 1}"]) else 0
            s[f"gr_dup{n}"] = dup / size
        checks = [("dup_para_frac", "gr_dup_para_frac", p.dup_para_frac), ("dup_para_char_frac", "gr_dup_para_char_frac", p.dup_para_char_frac),
                  ("dup_line_frac", "gr_dup_line_frac", p.dup_line_frac), ("dup_line_char_frac", "gr_dup_line_char_frac", p.dup_line_char_frac)]
        checks += [(f"top_{n}_gram", f"gr_top{n}", p.top_ngram_frac[n - 2]) for n in (2, 3, 4)]
        checks += [(f"dup_{n}_gram", f"gr_dup{n}", p.dup_ngram_frac[n - 5]) for n in range(5, 11)]
        reason = next((f"gopher_repetition.{code}" for code, key, limit in checks if limit is not None and s[key] > limit), None)
        return s, reason, None
