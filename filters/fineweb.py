"""FineWeb's additional rules (Penedo et al. 2024): line-ending punctuation, short lines, duplicated-line
characters, and newline-per-word ("list") ratio. Defaults are FineWeb's; zh overrides live in the recipe.

FineWeb computes them on trafilatura's blocks, one per line, and asks of them: do the text's lines end like
sentences (not a menu, a link list, navigation)? Are its lines boilerplate repeated? Three kinds of line
answer a different question, and are read here as what they are (issue 19, bench/fineweb_evidence.py,
measured on 2,068 documents of 7 real sources, every drop labelled):

- a table row that extraction writes as ``| cell | cell |`` is read as its cells: the frame bars are
  extraction's markup (FineWeb-2 strips them after filtering), so "| F2 | Add or edit text. |" ends with a
  full stop. Before, every row of a table of explanations counted as an unpunctuated line.
- a code line (a statement, an assignment, a call, a comment, a prompt, a brace) is not prose: it counts
  neither for nor against line-ending punctuation unless it ends with a sentence mark, and its repeats are
  not duplicated boilerplate ("End Sub", "Call Show(JStr, Split1(JStr))" repeat because programs do). A
  page that is nothing but code has no counted line and a ratio of 0, as before.
- a line the next line continues (it starts with a lowercase letter: hard-wrapped plain text, a sentence
  broken before a code span) does not end a block, so its last character says nothing about punctuation.

Repeated table rows are not counted as duplicates either: a table repeats its header and its values (a
column of zeros) as data, not as boilerplate. Repeated prose or UI lines still count.
"""

from __future__ import annotations

import dataclasses
import re

import pyarrow as pa

from corpus.registry import register
from corpus.textunits import words
from filters.rule_step import RuleParams, RuleStep

STOP_CHARS = tuple(".!?。！？．｡‼‽⁇⁈⁉।॥؟۔")

# Code syntax a prose line does not have. Kept to forms that mean code in any language a help page, a README
# or a manual quotes (Basic, Python, shell, C-like); prose that merely mentions a function, "SUM(A1:A3)
# returns ...", does not match: a call counts only as the whole line.
_CODE = re.compile(
    r"""^\s*(?:\#|//|/\*|\*/|'|REM\b|>>>|\.\.\.\s|\$\s)"""                                     # comment, prompt
    r"""|[;{}\\]\s*$|^\s*[{}\])]"""                                                          # statement end, brace
    r"""|^\s*(?:Set\s+)?[A-Za-z_][\w.$]*(?:\[[^\]]*\]|\([^()]*\))?\s*(?:[-+*/&|]?=|::=)(?!=)"""  # assignment, grammar
    r"""|^\s*[A-Za-z_][\w.$]*\s*\(.*\)\s*$"""                                                 # a bare call
    r"""|^\s*(?:def|class|import|from|return|raise|elif|else:|try:|except|finally:|with|lambda|Sub|End\s+\w+"""
    r"""|Dim|ReDim|Function|Next|Print|Call|Const|Option|MsgBox|Loop|Wend|Case|Select|Exit|GoTo|On\s+Error)\b""")
_TABLE_SEPARATOR = set("-: ")


def is_table_row(line: str) -> bool:
    s = line.strip()
    return len(s) >= 2 and s[0] == "|" and s[-1] == "|"


def row_text(line: str) -> str:
    """A markdown table row's non-empty cells joined by " | " without the frame (a separator row, ``|---|``,
    has none); any other line unchanged."""
    if not is_table_row(line):
        return line
    cells = (c.strip() for c in line.strip()[1:-1].split("|"))
    return " | ".join(c for c in cells if c and set(c) - _TABLE_SEPARATOR)


def is_code_line(line: str) -> bool:
    return bool(_CODE.search(line))


def line_punct_ratio(lines: list[str]) -> float:
    """Share of the counted lines that end with a sentence mark (table rows by their last cell). Not counted:
    code lines without a mark, and lines the next line continues (next starts with a lowercase letter)."""
    rows = [row_text(l).rstrip() for l in lines]
    counted = ends = 0
    for i, (line, row) in enumerate(zip(lines, rows)):
        if row.endswith(STOP_CHARS):
            counted += 1
            ends += 1
        elif is_code_line(line):
            continue
        elif i + 1 < len(rows) and rows[i + 1][:1].isascii() and rows[i + 1][:1].islower() and not is_code_line(lines[i + 1]):
            continue
        else:
            counted += 1
    return ends / counted if counted else 0.0


def duplicate_line_chars(lines: list[str]) -> int:
    """Characters in repeats of a line seen before (first occurrences not counted), code lines and table
    rows left out: their repeats are a program's and a table's structure, not boilerplate."""
    seen: set[str] = set()
    chars = 0
    for line in lines:
        if line in seen:
            if not (is_code_line(line) or is_table_row(line)):
                chars += len(line)
        else:
            seen.add(line)
    return chars


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
            "fw_line_punct_ratio": line_punct_ratio(lines),
            "fw_short_line_ratio": sum(len(row_text(l)) <= p.short_line_length for l in lines) / len(lines),
            "fw_char_dup_ratio": duplicate_line_chars(lines) / body,
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
