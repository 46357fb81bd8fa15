"""Abnormal characters and line breaks, the rules WanJuan 1.0 and InternLM2 describe for web text:
replacement characters, private-use code points and noncharacters left after decoding, runs of one
repeated character, garbled character runs (mojibake), too many line breaks for the amount of text, and
over-long lines with no break.

Garbled runs are what a wrong decoding leaves when it does not produce U+FFFD: UTF-8 read as cp1252 or
Latin-1 gives runs of Latin-1 letters and symbols ("ä½ å¥½" for 你好), UTF-8 read as GBK or Big5 gives
runs of rare Han characters, box-drawing characters and private-use code points ("鐐瑰嚮鑿滃崟"). A Han
character is rare outside GB2312's level 1 and Big5's frequent block (``corpus.textunits.han_classes``): edited
Simplified and Traditional text seldom puts two side by side (People's Daily: at most 0.3% of a page),
while wrongly decoded Chinese is 55-80% such runs.
"""

from __future__ import annotations

import dataclasses
import re

import pyarrow as pa

from corpus.registry import register
from filters.rule_step import RuleParams, RuleStep
from corpus.textunits import han_classes

# replacement character, private-use areas, and noncharacters: what broken decoding leaves behind
_BAD = re.compile("[\ufffd\ue000-\uf8ff\ufdd0-\ufdef\ufffe\uffff\U000f0000-\U0010ffff]")
_REPEAT = re.compile(r"(.)\1{19,}")  # one character 20 times or more in a row
# two or more Latin-1/Latin Extended characters in a row, holding a Latin-1 symbol or a cp1252 punctuation
# letter (©, ½, ¤, €, ™, Œ ...): "Ã©", "ä½". Accented words ("Größe", "naïve") have no such symbol.
_LATIN_RUN = re.compile("[\u0080-\u024f\u20ac\u2122\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a]{2,}")
_MOJIBAKE_MARK = re.compile("[\u0080-\u00bf\u20ac\u2122\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192]")


# rare Han (outside GB2312 level 1 and Big5's frequent block), compatibility ideographs, supplementary planes, private use,
# U+FFFD and box drawing, two or more in a row
_ODD_RUN = re.compile(f"[{han_classes()['rare']}\\uf900-\\ufaff\\U00020000-\\U0003134f\\ue000-\\uf8ff\\ufffd\\u2500-\\u259f]{{2,}}")


def garbled_chars(text: str) -> int:
    """Characters inside garbled runs (see the module docs)."""
    if text.isascii():
        return 0
    n = sum(len(run) for run in _LATIN_RUN.findall(text) if _MOJIBAKE_MARK.search(run))
    return n + sum(len(run) for run in _ODD_RUN.findall(text))


@dataclasses.dataclass
class AbnormalParams(RuleParams):
    # U+FFFD or private-use/unassigned characters per character of text
    max_bad_char_ratio: float = 0.01
    # characters inside runs of one repeated character ("!!!!!!…", "======…")
    max_repeat_char_ratio: float = 0.1
    # characters inside garbled runs (mojibake) per character; measured in pipelines/default.yaml
    max_garbled_ratio: float = 0.02
    # line breaks per character: a page that is mostly breaks is a list of fragments
    max_newline_ratio: float = 0.25
    # a single line longer than this (no breaks at all) is usually a dump, not prose
    max_line_chars: int = 20_000


@register
class Abnormal(RuleStep):
    name = "abnormal"
    Params = AbnormalParams
    codes = ("bad_chars", "repeated_chars", "garbled", "line_breaks", "long_line")
    thresholds = {"ab_bad_char_ratio": ("max_bad_char_ratio",), "ab_repeat_char_ratio": ("max_repeat_char_ratio",),
                  "ab_garbled_ratio": ("max_garbled_ratio",),
                  "ab_newline_ratio": ("max_newline_ratio",), "ab_max_line_chars": ("max_line_chars",)}
    signals = [pa.field("ab_bad_char_ratio", pa.float32()), pa.field("ab_repeat_char_ratio", pa.float32()),
               pa.field("ab_garbled_ratio", pa.float32()),
               pa.field("ab_newline_ratio", pa.float32()), pa.field("ab_max_line_chars", pa.int32())]

    def evaluate(self, text, lang, p):
        n = len(text) or 1
        bad = len(_BAD.findall(text)) if not text.isascii() else 0
        s = {
            "ab_bad_char_ratio": bad / n,
            "ab_repeat_char_ratio": sum(len(m.group(0)) for m in _REPEAT.finditer(text)) / n,
            "ab_garbled_ratio": garbled_chars(text) / n,
            "ab_newline_ratio": text.count("\n") / n,
            "ab_max_line_chars": max((len(l) for l in text.split("\n")), default=0),
        }
        checks = [("bad_chars", s["ab_bad_char_ratio"] > p.max_bad_char_ratio),
                  ("repeated_chars", s["ab_repeat_char_ratio"] > p.max_repeat_char_ratio),
                  ("garbled", s["ab_garbled_ratio"] > p.max_garbled_ratio),
                  ("line_breaks", s["ab_newline_ratio"] > p.max_newline_ratio),
                  ("long_line", s["ab_max_line_chars"] > p.max_line_chars)]
        return s, next((f"abnormal.{c}" for c, failed in checks if failed), None), None
