"""Language-aware text units shared by the rule filters: words, sentences, lines, paragraphs.

English words follow the conventions of the tokenizers Gopher-style filters are run with (datatrove uses
spaCy's English rules): text is split on whitespace, leading and trailing punctuation marks become tokens
of their own, "n't"/"'s"-style clitics and hyphens between letters are split off, abbreviations keep their
period. It is a few regexes per chunk, so rules stay near free next to extraction. Chinese has no spaces:
every Han character counts as a word (the unit Chinese corpora report lengths in), runs of Latin text
inside it are tokenised as English, and CJK sentence punctuation ends sentences. A rule never counts
spaces to measure Chinese.
"""

from __future__ import annotations

import re
from functools import lru_cache

_CJK_PUNCT = "。，、；：？！“”‘’（）《》【】「」『』〈〉…—～·"
# spaCy's English prefixes: no "/" (a path "/usr" stays one token with letters) and no "@" (a handle stays whole)
_PREFIX = set("§%=—–+(“\"'[{<*$£€¥#&‘«¿¡\\`^|>!?,;:_" + _CJK_PUNCT)
_SUFFIX = set(")]}”\"'.,:;!?»…%°’>*_([" + _CJK_PUNCT)
_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|www\.)\S+$", re.I)
_CLITIC = re.compile(r"^(.+?)(n['’]t|['’](?:s|m|d|ll|re|ve|S|M|D|LL|RE|VE))$")
_ABBREV = re.compile(r"^(?:[A-Za-z]\.){2,}$|^(?:mr|mrs|ms|dr|prof|st|vs|etc|inc|ltd|co|jr|sr|no|fig|approx)\.$", re.I)
_INFIX = re.compile(
    r"(?<=[^\W_])([-–—])(?=[^\W_])"  # hyphen between letters or digits: e-mail, 3-tuple, 2024-06-12
    r"|(?<=[)\]」』])([-–—])(?=[(\[「『])"  # hyphen between brackets: 「格式」-「字符」
    r"|(\.\.\.+)"  # ellipsis
    r"|(?<=[^\W\d_]),(?=[^\W\d_])"  # comma between letters
    r"|(?<=[^\W_])([:<>=/])(?=[^\W\d_])"  # B2:B6, and/or, a=b
    r"|(?<=[a-z])(\.)(?=[A-Z])"  # oCell.Formula
)
_SPECIAL = {"cannot": ["can", "not"], "Cannot": ["Can", "not"]}
HAN_CLASS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef"  # CJK ideographs, ext. A-F, compatibility
_HAN = re.compile(f"[{HAN_CLASS}]")
_HAN_OR_OTHER = re.compile(f"[{HAN_CLASS}]|[^{HAN_CLASS}]+")
_SENT_MARKS = set(".!?。！？｡．‼⁇⁈⁉؟।")

PUNCTUATION = set("!/—”:％１〈&(、━\\【#%「」，】；+^]~“《„';’{|∶´[=-`*．（–？！：$～«〉,><》)?）。…@_.\"}►»")
PUNCTUATION |= {chr(x) for a, b in ((0, 9), (11, 13), (13, 32), (127, 160)) for x in range(a, b)}

STOP_WORDS = {
    # Gopher's eight English stop words (Rae et al. 2021, §A.1.1)
    "en": {"the", "be", "to", "of", "and", "that", "have", "with"},
    # the most frequent Chinese function characters (People's Daily corpus counts); any prose has several
    "zh": {"的", "了", "是", "在", "和", "有", "也", "不", "这", "就", "与", "而", "之", "为", "对", "中"},
}


def han_count(text: str) -> int:
    """Han characters in ``text``; ASCII text (most text nodes of most pages) skips the scan."""
    return 0 if text.isascii() else len(_HAN.findall(text))


def is_cjk_lang(lang: str | None) -> bool:
    return lang in ("zh", "ja", "wuu", "yue")


@lru_cache(maxsize=2048)  # the rule stages of one batch tokenize the same texts; callers must not mutate
def words(text: str, lang: str | None) -> list[str]:
    if is_cjk_lang(lang):
        out: list[str] = []
        for part in _HAN_OR_OTHER.findall(text):
            if len(part) == 1 and _HAN.match(part):
                out.append(part)
            else:
                out.extend(_en_words(part))
        return out
    return _en_words(text)


def _en_words(text: str) -> list[str]:
    out: list[str] = []
    for chunk in text.split():
        if chunk.isalnum():  # the common case, no punctuation at all
            out.extend(_SPECIAL.get(chunk, (chunk,)))
            continue
        if chunk[-1] in ",;:!?)" and chunk[:-1].isalnum():  # next most common: a word and one mark
            out.extend(_SPECIAL.get(chunk[:-1], (chunk[:-1],)))
            out.append(chunk[-1])
            continue
        head: list[str] = []
        while len(chunk) > 1 and chunk[0] in _PREFIX:
            head.append(chunk[0])
            chunk = chunk[1:]
        tail: list[str] = []
        while len(chunk) > 1:
            if chunk.endswith("...") and len(chunk) > 3:
                tail.append("...")
                chunk = chunk[:-3]
            elif chunk[-1] in _SUFFIX and not (chunk[-1] == "." and _ABBREV.match(chunk)):
                tail.append(chunk[-1])
                chunk = chunk[:-1]
            else:
                m = _CLITIC.match(chunk)
                if not m:
                    break
                tail.append(m.group(2))
                chunk = m.group(1)
        out.extend(head)
        out.extend((chunk,) if _URL.match(chunk) else (p for p in _INFIX.split(chunk) if p))
        out.extend(reversed(tail))
    return out


def sentence_count(line: str, lang: str | None) -> int:
    """Sentences as a rule-based sentencizer sees them: after a sentence mark, the next token that is not
    punctuation starts a new sentence (closing quotes and brackets stay with the sentence they close)."""
    count, seen_mark = 0, True
    for tok in words(line, lang):
        if tok in _SENT_MARKS:
            seen_mark = True
        elif seen_mark and not is_symbol(tok):
            count += 1
            seen_mark = False
    return count


_PUNCTUATION_CHARS = "".join(sorted(PUNCTUATION))


def is_symbol(word: str) -> bool:
    return not word.strip(_PUNCTUATION_CHARS)


# --- Han character classes by legacy character set -------------------------------------------------------
# GB2312 is the Simplified repertoire, Big5 the Traditional one: a character only GB2312 has (们, 书) is
# Simplified, one only Big5 has (們, 書) Traditional; one in neither's frequent block (GB2312 level 1, Big5's
# 5,401 frequent characters) is rare, and edited text seldom puts two rare ones side by side. The
# classes are built once per process from Python's codecs (~0.1 s), no data file.


def _encodable(c: str, codec: str) -> bool:
    try:
        c.encode(codec)
        return True
    except UnicodeEncodeError:
        return False


def _class_of(pred) -> str:
    """A regex character class body for the CJK Unified Ideographs (ext. A + URO) that satisfy ``pred``."""
    ranges, start = [], None
    for o in range(0x3400, 0xA001):
        hit = o < 0xA000 and pred(chr(o))
        if hit and start is None:
            start = o
        elif not hit and start is not None:
            ranges.append(f"\\u{start:04x}-\\u{o - 1:04x}" if o - 1 > start else f"\\u{start:04x}")
            start = None
    return "".join(ranges)


def _frequent(c: str) -> bool:
    """In GB2312's level 1 (the 3,755 most used Simplified characters, rows 16-55) or Big5's frequent
    block (5,401 Traditional characters, A440-C67E)."""
    try:
        b = c.encode("gb2312")
        if 0xB0 <= b[0] <= 0xD7:
            return True
    except UnicodeEncodeError:
        pass
    try:
        b = c.encode("big5")
        return 0xA440 <= (b[0] << 8 | b[1]) <= 0xC67E
    except UnicodeEncodeError:
        return False


@lru_cache(maxsize=1)
def han_classes() -> dict[str, re.Pattern]:
    gb = lambda c: _encodable(c, "gb2312")  # noqa: E731
    big5 = lambda c: _encodable(c, "big5")  # noqa: E731
    return {"simplified": re.compile(f"[{_class_of(lambda c: gb(c) and not big5(c))}]"),
            "traditional": re.compile(f"[{_class_of(lambda c: big5(c) and not gb(c))}]"),
            "rare": _class_of(lambda c: not _frequent(c))}


def han_script(text: str) -> str | None:
    """'zh-Hant' when a text uses more Traditional-only than Simplified-only characters, else 'zh-Hans';
    None without Han characters. Shared characters (人, 大, 中) say nothing and are not counted."""
    if not _HAN.search(text):
        return None
    c = han_classes()
    trad, simp = len(c["traditional"].findall(text)), len(c["simplified"].findall(text))
    return "zh-Hant" if trad > simp else "zh-Hans"


_TOKEN = re.compile(f"[{HAN_CLASS}]|[^\\W_{HAN_CLASS}]+")


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens with each Han character a token of its own: the unit of dedup shingles, word-list
    densities and the quality classifiers' features (the rules' ``words`` follow each paper's own definition)."""
    return _TOKEN.findall(text.lower())
