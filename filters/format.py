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
import sys
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


def _badness_shortcut(pattern: re.Pattern[str] | None = None) -> tuple[re.Pattern[str] | None, int | None]:
    """A one-character class that every match of ftfy's badness regex (or ``pattern``) must contain, and the
    longest match the regex can make; None for either when unsure.

    Why: ``ftfy.badness.is_bad`` tries its ~40 alternatives at every position of the text and was 70% of this
    stage's time (0.24 ms of 0.33 ms per crawl document); a single character class is ~100x cheaper. Each
    top-level alternative of ``BADNESS_RE`` is a sequence, every top-level item of which must match; we pick
    in each alternative its smallest class made only of non-ASCII characters. A text holding none of the
    union holds no match, so skipping ``is_bad`` then gives the same answer (an ASCII text never matches).

    Why the width: on a text that does hold such a character (quotes, bullets, accented names: 9% of the
    resiliparse engine's pages), every match contains one of them and is at most ``width`` characters long, so
    it lies within ``width - 1`` characters either side of one; the regex only runs there. That is exact
    because the regex looks at nothing outside its match: it has no lookaround or word boundary, and its one
    anchor (``^``, not in MULTILINE mode) matches only at the text's real start under ``search(text, pos,
    endpos)`` too. Derived from the regex itself at import, so an ftfy upgrade cannot make the shortcut wrong:
    any shape it does not recognise returns None and every text gets the full check."""
    try:
        if sys.version_info >= (3, 11):
            import re._constants as C
            import re._parser as P
        else:  # pragma: no cover - older Pythons
            import sre_constants as C
            import sre_parse as P
        pattern = pattern or ftfy.badness.BADNESS_RE
        if pattern.flags & re.IGNORECASE:
            return None, None
        items = P.parse(pattern.pattern, pattern.flags)
        if len(items) != 1 or items[0][0] != C.BRANCH:
            return None, None

        def members(op, av) -> list[tuple[int, int]] | None:
            """The code-point ranges a mandatory item matches when they are all non-ASCII, else None."""
            if op == C.LITERAL:
                return [(av, av)] if av >= 128 else None
            if op != C.IN:
                return None
            out = []
            for o, a in av:
                if o == C.LITERAL and a >= 128:
                    out.append((a, a))
                elif o == C.RANGE and a[0] >= 128:
                    out.append(a)
                else:  # a negation, a category, an ASCII member: not a non-ASCII-only class
                    return None
            return out

        def context_free(seq) -> bool:
            """Every item of ``seq`` only consumes characters of the match (an allowlist: anything else, such as
            a lookaround inside an atomic group, refuses), except ``^`` outside MULTILINE (see above)."""
            for op, av in seq:
                if op == C.AT:
                    if av != C.AT_BEGINNING or pattern.flags & re.MULTILINE:
                        return False
                elif op in (C.BRANCH, C.SUBPATTERN, C.MAX_REPEAT, C.MIN_REPEAT):
                    subs = av[1] if op == C.BRANCH else [av[3]] if op == C.SUBPATTERN else [av[2]]
                    if not all(context_free(sub) for sub in subs):
                        return False
                elif op not in (C.LITERAL, C.NOT_LITERAL, C.IN, C.ANY):
                    return False
            return True

        ranges: list[tuple[int, int]] = []
        for branch in items[0][1][1]:
            options = [m for op, av in branch if (m := members(op, av))]
            if not options:
                return None, None
            ranges += min(options, key=lambda m: sum(b - a + 1 for a, b in m))
        trigger = re.compile("[" + "".join(re.escape(chr(a)) + ("-" + re.escape(chr(b)) if b > a else "")
                                           for a, b in ranges) + "]")
        width = items.getwidth()[1]
        return trigger, (width if context_free(items) and width <= 64 else None)
    except Exception:  # noqa: BLE001 - any surprise: no shortcut, full check
        return None, None


_BADNESS_TRIGGER, _BADNESS_WIDTH = _badness_shortcut()


def looks_bad(text: str) -> bool:
    """``ftfy.badness.is_bad(text)``, answered without the full regex when the text holds no character any
    of its matches needs (most texts: every ASCII text, and zh prose without Latin-1/Cyrillic letters), and
    else with the regex run only around those characters (``_badness_shortcut``)."""
    if _BADNESS_TRIGGER is None:
        return ftfy.badness.is_bad(text)
    if text.isascii():
        return False
    if _BADNESS_WIDTH is None:
        return _BADNESS_TRIGGER.search(text) is not None and ftfy.badness.is_bad(text)
    reach, search = _BADNESS_WIDTH - 1, ftfy.badness.BADNESS_RE.search
    lo, hi = 0, -1  # the window being grown (none yet): overlapping windows are searched as one
    for m in _BADNESS_TRIGGER.finditer(text):
        p = m.start()
        if p - reach > hi:
            if hi >= 0 and search(text, lo, hi):
                return True
            lo = max(0, p - reach)
        hi = min(len(text), p + reach + 1)
    return hi >= 0 and search(text, lo, hi) is not None


def normalize(text: str, fix_encoding: bool = True, max_blank_lines: int = 1) -> str:
    text = _NEWLINES.sub("\n", text)
    if fix_encoding and looks_bad(text):
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
