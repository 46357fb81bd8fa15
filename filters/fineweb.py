"""FineWeb's additional rules (Penedo et al. 2024): line-ending punctuation, short lines, duplicated-line
characters, and newline-per-word ("list") ratio. Defaults are FineWeb's; zh overrides live in the recipe."""

from __future__ import annotations

import dataclasses

import pyarrow as pa

from corpus.registry import register
from filters.gopher import duplicates
from filters.rule_step import RuleParams, RuleStep
from corpus.textunits import words

STOP_CHARS = tuple(".!?。！？．｡‼‽⁇⁈⁉।॥؟۔")


@dataclasses.dataclass
class FineWebParams(RuleParams):
    line_punct_thr: float = 0.12
    line_punct_exclude_zero: bool = False
    short_line_thr: float = 0.67
    short_line_length: int = 30
    char_duplicates_ratio: float = 0.01
    new_line_ratio: float = 0.3


@register
class FineWeb(RuleStep):
    name = "fineweb"
    Params = FineWebParams
    codes = ("empty", "line_punct_ratio", "short_line_ratio", "char_dup_ratio", "list_ratio")
    thresholds = {"fw_line_punct_ratio": ("line_punct_thr",), "fw_short_line_ratio": ("short_line_thr",),
                  "fw_char_dup_ratio": ("char_duplicates_ratio",), "fw_list_ratio": ("new_line_ratio",)}
    signals = [pa.field(n, pa.float32()) for n in ("fw_line_punct_ratio", "fw_short_line_ratio", "fw_char_dup_ratio", "fw_list_ratio")]

    def evaluate(self, text, lang, p):
        lines = [l for l in text.split("\n") if l.strip()]
        if not lines:
            return {}, "fineweb.empty", None
        body = len(text.replace("\n", "")) or 1
        s = {
            "fw_line_punct_ratio": sum(l.endswith(STOP_CHARS) for l in lines) / len(lines),
            "fw_short_line_ratio": sum(len(l) <= p.short_line_length for l in lines) / len(lines),
            "fw_char_dup_ratio": duplicates(lines)[1] / body,
            "fw_list_ratio": text.count("\n") / (len(words(text, lang)) or 1),
        }
        punct = s["fw_line_punct_ratio"]
        checks = [
            ("line_punct_ratio", punct < p.line_punct_thr and not (punct == 0 and p.line_punct_exclude_zero)),
            ("short_line_ratio", s["fw_short_line_ratio"] > p.short_line_thr),
            ("char_dup_ratio", s["fw_char_dup_ratio"] > p.char_duplicates_ratio),
            ("list_ratio", s["fw_list_ratio"] > p.new_line_ratio),
        ]
        return s, next((f"fineweb.{c}" for c, failed in checks if failed), None), None
