"""The unit extraction measures prose in: Latin-equivalent characters, a Han character counting as three.

Why. Both extraction engines decide from a character count whether a page holds prose (``min_visible_chars``)
and whether the first mode kept enough of it (``min_kept_frac``). A Han character carries about as much as
three Latin letters, so with raw characters the same help page was "prose" in English (428 visible
characters) and "no prose" in Chinese (144): the fallback never ran on the zh page and precision mode's 65
characters were kept, while its en original kept 472 (the shared crawl's ``text/scalc/01/07080000.html``).

``HAN_CHAR_WEIGHT`` = 3 was measured on aligned human translations on this machine
(bench/han_char_weight.py, non-space en characters = other zh characters + N x Han characters): 420 help
paragraphs of the shared crawl with the same element id under en-US and zh-CN, pooled 3.02 (per-paragraph
median 3.00, IQR 2.61-3.40), and 11,454 zh_CN gettext messages, pooled 2.84 (median 2.92, IQR 2.50-3.35).
Latin words, digits and punctuation inside Chinese text (full-width marks correspond one to one to English
ones) count as themselves; kana and Hangul are not weighted (not measured here; such pages keep the raw count).

Where the unit applies (``keeps_enough``). The *minimum* (does the page hold ``min_visible_chars`` of prose?)
is an absolute amount of content, so it is counted in Latin-equivalent characters only: that is the fix. The
*fraction* (did the mode keep ``min_kept_frac`` of it?) is a ratio, the same in either unit on a page in one
script; on a zh page with Latin runs (untranslated sentences, function syntax, menu paths) the two units
disagree, and the mode must keep the fraction in both: raw characters catch a mode that keeps the Han prose
and drops the Latin runs (weighted, those count a third of a Han character), Latin-equivalent characters
catch one that keeps the Latin runs and drops the Han prose. On the shared crawl's 54 zh pages where the
variants differ (recall of the pages' ``par_id`` help paragraphs in the extracted text, as
bench/extract_bench.py's ``par recall`` measures it; the two alternatives measured once with a patched
copy of the stage): raw count 0.834, weighted minimum + raw fraction 0.848, weighted for both 0.847,
weighted minimum + fraction in both units 0.857; en pages unchanged.
"""

from __future__ import annotations

HAN_CHAR_WEIGHT = 3


def latin_equiv(nonspace: int, han: int, weight: float = HAN_CHAR_WEIGHT) -> float:
    """Latin-equivalent characters of a text with ``nonspace`` non-space characters, ``han`` of them Han."""
    return nonspace + (weight - 1) * han


def keeps_enough(kept: int, kept_han: int, prose: int, prose_han: int, min_kept_frac: float,
                 min_visible_chars: float, weight: float = HAN_CHAR_WEIGHT) -> bool:
    """Whether a mode that kept ``kept`` non-space characters (``kept_han`` of them Han) of a page whose visible
    prose is ``prose`` non-space characters (``prose_han`` Han) kept enough to stop the fallback: any text on a
    page with less than ``min_visible_chars`` Latin-equivalent characters of prose, else ``min_kept_frac`` of
    the prose counted both ways (see the module's docstring)."""
    if kept <= 0:
        return False
    held = latin_equiv(prose, prose_han, weight)
    if held < min_visible_chars:
        return True
    return kept >= min_kept_frac * prose and latin_equiv(kept, kept_han, weight) >= min_kept_frac * held
