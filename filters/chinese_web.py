"""ChineseWebText 2.0's page rules for Chinese pages: the share of Chinese characters and the mean line length.

A page language ID calls zh (on its prose) can still be mostly code, digits and UI names, and a page of
breadcrumbs and menu items is a column of 2-6 character lines. ChineseWebText 2.0 drops pages under 30%
Chinese characters and pages whose average line is under 10 characters; the recipe sets thresholds measured
on this project's data (its comments say on what). The signals are computed for every page, so a curator sees
their distribution; only the languages in ``languages`` are ever dropped.
"""

from __future__ import annotations

import dataclasses

import pyarrow as pa

from corpus.registry import register
from corpus.textunits import han_count
from filters.rule_step import RuleParams, RuleStep


@dataclasses.dataclass
class ChineseWebParams(RuleParams):
    min_han_ratio: float | None = 0.3       # Han characters per non-space character (ChineseWebText 2.0: 30%)
    min_mean_line_chars: float | None = 10  # non-space characters per non-empty line (ChineseWebText 2.0: 10)
    languages: list[str] = dataclasses.field(default_factory=lambda: ["zh"])


@register
class ChineseWeb(RuleStep):
    name = "chinese_web"
    Params = ChineseWebParams
    codes = ("han_ratio", "mean_line_chars")
    thresholds = {"cw_han_ratio": ("min_han_ratio",), "cw_mean_line_chars": ("min_mean_line_chars",)}
    signals = [pa.field("cw_han_ratio", pa.float32()), pa.field("cw_mean_line_chars", pa.float32())]

    def evaluate(self, text, lang, p):
        visible = len(text) - sum(map(text.count, " \n\t\r")) or 1
        filled = [line for line in text.splitlines() if line.strip()]
        s = {"cw_han_ratio": han_count(text) / visible, "cw_mean_line_chars": (visible if filled else 0) / (len(filled) or 1)}
        if lang not in p.languages:
            return s, None, None
        checks = [("han_ratio", p.min_han_ratio is not None and s["cw_han_ratio"] < p.min_han_ratio),
                  ("mean_line_chars", p.min_mean_line_chars is not None and s["cw_mean_line_chars"] < p.min_mean_line_chars)]
        return s, next((f"chinese_web.{code}" for code, failed in checks if failed), None), None
