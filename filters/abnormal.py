"""Abnormal characters and line breaks, the rules WanJuan 1.0 and InternLM2 describe for web text:
replacement characters, private-use code points and noncharacters left after decoding, runs of one
repeated character, too many line breaks for the amount of text, and over-long lines with no break."""

from __future__ import annotations

import dataclasses
import re

import pyarrow as pa

from corpus.registry import register
from filters.rule_step import RuleParams, RuleStep

# replacement character, private-use areas, and noncharacters: what broken decoding leaves behind
_BAD = re.compile("[\ufffd\ue000-\uf8ff\ufdd0-\ufdef\ufffe\uffff\U000f0000-\U0010ffff]")
_REPEAT = re.compile(r"(.)\1{19,}")  # one character 20 times or more in a row


@dataclasses.dataclass
class AbnormalParams(RuleParams):
    # U+FFFD or private-use/unassigned characters per character of text
    max_bad_char_ratio: float = 0.01
    # characters inside runs of one repeated character ("!!!!!!…", "======…")
    max_repeat_char_ratio: float = 0.1
    # line breaks per character: a page that is mostly breaks is a list of fragments
    max_newline_ratio: float = 0.25
    # a single line longer than this (no breaks at all) is usually a dump, not prose
    max_line_chars: int = 20_000


@register
class Abnormal(RuleStep):
    name = "abnormal"
    Params = AbnormalParams
    thresholds = {"ab_bad_char_ratio": ("max_bad_char_ratio",), "ab_repeat_char_ratio": ("max_repeat_char_ratio",),
                  "ab_newline_ratio": ("max_newline_ratio",), "ab_max_line_chars": ("max_line_chars",)}
    signals = [pa.field("ab_bad_char_ratio", pa.float32()), pa.field("ab_repeat_char_ratio", pa.float32()),
               pa.field("ab_newline_ratio", pa.float32()), pa.field("ab_max_line_chars", pa.int32())]

    def evaluate(self, text, lang, p):
        n = len(text) or 1
        bad = len(_BAD.findall(text)) if not text.isascii() else 0
        s = {
            "ab_bad_char_ratio": bad / n,
            "ab_repeat_char_ratio": sum(len(m.group(0)) for m in _REPEAT.finditer(text)) / n,
            "ab_newline_ratio": text.count("\n") / n,
            "ab_max_line_chars": max((len(l) for l in text.split("\n")), default=0),
        }
        checks = [("bad_chars", s["ab_bad_char_ratio"] > p.max_bad_char_ratio),
                  ("repeated_chars", s["ab_repeat_char_ratio"] > p.max_repeat_char_ratio),
                  ("line_breaks", s["ab_newline_ratio"] > p.max_newline_ratio),
                  ("long_line", s["ab_max_line_chars"] > p.max_line_chars)]
        return s, next((f"abnormal.{c}" for c, failed in checks if failed), None), None
