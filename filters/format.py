"""Formatting into the standard record: one normal form for every text, whatever page it came from.

NFC rather than NFKC: NFKC would turn Chinese full-width punctuation (，。：) into ASCII and change the
text's register. Full-width ASCII letters and digits are folded to ASCII, mojibake is repaired with ftfy
only where ftfy's cheap badness check fires, invisible and control characters are removed, whitespace in a
line is collapsed, and runs of blank lines become one.

``to_simplified`` converts Chinese pages that language ID found written in Traditional characters
(``zh_script == "zh-Hant"``) to Simplified with OpenCC (``opencc`` from PyPI, imported only when asked for);
``zh_script`` keeps the script the page was written in, so a curator can still select or re-weight them.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from urllib.parse import urlsplit

import ftfy
import ftfy.badness
import pyarrow as pa

from corpus.registry import register
from corpus.step import Step, mark, set_column

# Control characters except \t \n, zero-width and bidi marks, BOM, soft hyphen, private-use noise markers.
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\ufffc]")
_SPACES = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_FULLWIDTH_ALNUM = {c: c - 0xFEE0 for c in list(range(0xFF10, 0xFF1A)) + list(range(0xFF21, 0xFF3B)) + list(range(0xFF41, 0xFF5B))}
_NEWLINES = re.compile(r"\r\n?|[\u2028\u2029\x85]")


def normalize(text: str, fix_encoding: bool = True, max_blank_lines: int = 1) -> str:
    text = _NEWLINES.sub("\n", text)
    if fix_encoding and ftfy.badness.is_bad(text):
        text = ftfy.fix_encoding(text)
    text = unicodedata.normalize("NFC", text).translate(_FULLWIDTH_ALNUM)
    text = _INVISIBLE.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    out: list[str] = []
    blanks = 0
    for line in lines:
        if line:
            blanks = 0
            out.append(line)
        elif out:
            blanks += 1
            if blanks <= max_blank_lines:
                out.append("")
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def domain_of(url: str | None) -> str | None:
    if not url or url.startswith("file:"):
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host.removeprefix("www.") if host else None


@dataclasses.dataclass
class FormatParams:
    fix_encoding: bool = True
    max_blank_lines: int = 1
    # Documents shorter than this after normalisation are rejected as format.empty.
    min_chars: int = 1
    # Convert pages detected as Traditional Chinese (zh_script = zh-Hant, from langid) to Simplified.
    to_simplified: bool = False
    # OpenCC configuration: t2s (characters), tw2sp / hk2s (with Taiwan / Hong Kong phrases and variants).
    opencc_config: str = "t2s"

    def validate(self) -> str | None:
        if self.to_simplified:
            try:
                import opencc
            except ImportError:
                return "to_simplified needs the opencc package: add opencc to the environment (pip install 'opencc>=1.1,<2')"
            try:
                opencc.OpenCC(self.opencc_config)
            except Exception as exc:  # noqa: BLE001 - OpenCC raises its own error types per version
                return f"opencc_config {self.opencc_config!r} is not an OpenCC configuration ({exc}); try t2s, tw2sp or hk2s"
        return None


@register
class Format(Step):
    name = "format"
    also_provides = ("domain",)
    Params = FormatParams

    def __call__(self, table: pa.Table) -> pa.Table:
        p: FormatParams = self.params
        texts = [normalize(t or "", p.fix_encoding, p.max_blank_lines) for t in table.column("text").to_pylist()]
        titles = [normalize(t, p.fix_encoding, 0) or None if t else None for t in table.column("title").to_pylist()]
        domains = [domain_of(u) for u in table.column("url").to_pylist()]
        if p.to_simplified:
            texts, titles = self.simplify(table, texts, titles)
        table = set_column(table, "text", texts, pa.string())
        table = set_column(table, "title", titles, pa.string())
        table = set_column(table, "domain", domains, pa.string())
        return mark(table, ["format.empty" if len(t) < p.min_chars else None for t in texts])

    def simplify(self, table: pa.Table, texts: list[str], titles: list[str | None]) -> tuple[list[str], list[str | None]]:
        """Traditional to Simplified for rows langid marked zh-Hant (detected here when langid did not run)."""
        if not hasattr(self, "_cc"):
            import opencc

            self._cc = opencc.OpenCC(self.params.opencc_config)
        if "zh_script" in table.column_names:
            scripts = table.column("zh_script").to_pylist()
        else:
            from corpus.textunits import han_script

            langs = table.column("lang").to_pylist() if "lang" in table.column_names else [None] * len(texts)
            scripts = [han_script(t) if lang == "zh" else None for t, lang in zip(texts, langs)]
        for i, script in enumerate(scripts):
            if script == "zh-Hant":
                texts[i] = self._cc.convert(texts[i])
                titles[i] = self._cc.convert(titles[i]) if titles[i] else titles[i]
        return texts, titles
