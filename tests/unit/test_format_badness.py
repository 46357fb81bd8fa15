"""format's mojibake check skips ftfy's full badness regex when a text cannot match it: same answers."""

import gzip
import random
from pathlib import Path

import ftfy.badness
import pytest

import re

from filters.format import _BADNESS_TRIGGER, _BADNESS_WIDTH, _badness_shortcut, looks_bad, normalize

CRAWL = Path("/work/shared/data/crawl")


def _page_texts(limit: int = 60) -> list[str]:
    """Real page text of the shared crawl: the raw WARC bytes of its first records, cut into paragraphs."""
    path = sorted(CRAWL.glob("*.warc.gz"))[0]
    with gzip.open(path, "rb") as fh:
        data = fh.read(3_000_000)
    return [p for p in data.decode("utf-8", "replace").split("\n\n") if p.strip()][:limit]


@pytest.mark.skipif(not CRAWL.is_dir(), reason="needs the shared crawl")
def test_shortcut_agrees_with_ftfy_on_real_text_and_its_mojibake():
    assert _BADNESS_TRIGGER is not None and _BADNESS_WIDTH  # derived from ftfy's regex (else every text pays)
    texts = _page_texts()
    # the same real bytes read in the wrong code page: what the check exists to catch
    garbled = [t.encode("utf-8").decode(cp, "replace") for t in texts for cp in ("cp1252", "cp1251", "latin-1")]
    cases = texts + garbled + ["cafÃ© au lait", "â€œquotedâ€\x9d", "Ã\xa0 la carte", "plain ascii", "中文。"]
    assert any(ftfy.badness.is_bad(t) for t in cases) and not all(ftfy.badness.is_bad(t) for t in cases)
    for t in cases:
        assert looks_bad(t) == ftfy.badness.is_bad(t), t[:80]


def test_mojibake_is_still_repaired():
    assert normalize("cafÃ© au lait") == "café au lait"


def test_windowed_check_agrees_with_ftfy_on_random_text():
    """The regex run only around trigger characters gives ftfy's answer: random texts made of trigger
    characters, the characters ftfy's alternatives pair them with, ASCII and newlines, at every length up to
    well past the window; a trigger at the very start and after a newline (ftfy's one ``^`` alternative)."""
    rnd = random.Random(11)
    alphabet = ("ÃÂâ€œ\x9d\xa0¡©•“”Œœ°ÉéСв™×" + "aZ \n.,;'" + "中文")
    cases = ["Ã a", "x Ã a", "x\nÃ a", "Ã", "œ", "œa", "œ1"]
    # one match of each of ftfy's alternatives, alone and padded: the longest ones end as far from their trigger
    # character as a match can
    for example in _alternative_examples():
        cases += [example, "..." + example, example + "...", "中" + example + " a"]
    for _ in range(20000):
        n = rnd.choice([1, 2, 3, 5, 8, 13, 40, 200])
        cases.append("".join(rnd.choice(alphabet) for _ in range(n)))
    bad = 0
    for t in cases:
        expected = ftfy.badness.is_bad(t)
        assert looks_bad(t) == expected, repr(t)
        bad += expected
    assert 1000 < bad < len(cases) - 1000  # both answers are well represented


def _alternative_examples() -> list[str]:
    """A text matching each top-level alternative of ftfy's badness regex (the first member of each class, a
    repeat at its most), where that gives a match."""
    import re._constants as C
    import re._parser as P

    def text(seq) -> str:
        out = ""
        for op, av in seq:
            if op == C.LITERAL:
                out += chr(av)
            elif op == C.IN:
                o, a = av[0]
                out += chr(a) if o == C.LITERAL else chr(a[0]) if o == C.RANGE else "!" if o == C.NEGATE else "a"
            elif op == C.ANY:
                out += "x"
            elif op == C.SUBPATTERN:
                out += text(av[3])
            elif op in (C.MAX_REPEAT, C.MIN_REPEAT):
                out += text(av[2]) * min(av[1], 3)
        return out

    pattern = ftfy.badness.BADNESS_RE
    branches = P.parse(pattern.pattern, pattern.flags)[0][1][1]
    found = [t for t in map(text, branches) if pattern.search(t)]
    assert len(found) > len(branches) // 2
    return found


def test_windows_only_for_a_regex_that_looks_at_nothing_outside_its_match():
    """The width is given only where every item consumes characters of the match: lookarounds, boundaries and
    anchors other than a non-MULTILINE ^ refuse it, also inside groups, atomic groups and possessive repeats."""
    assert _badness_shortcut(re.compile("é.|^ü[a-z]{2}"))[1] == 3
    for refused in ["é(?!x)|ü", "é(?>(?!x))|ü", "é(?!x)++|ü", r"é\b|ü", "é$|ü", "(?:é(?<=a))|ü"]:
        trigger, width = _badness_shortcut(re.compile(refused))
        assert trigger is not None and width is None, refused
    assert _badness_shortcut(re.compile("^ü", re.MULTILINE))[1] is None
