"""How long the same content is in Chinese and in English, in the units the length rules count (issue 19).

The zh thresholds of ``gopher_quality.min_doc_words`` and ``c4.min_num_sentences`` are the English ones times
these ratios, so that a zh translation meets the zh threshold exactly when its English original meets the
English one. Measured on aligned real parallel text on this machine, never on page lengths (extraction keeps
different parts of the two language versions of a page):

  crawl  paragraphs of the shared crawl's LibreOffice help pages (../shared/data/crawl) present under en-US and
         zh-CN with the same element id (``par_id3150084``): the help is translated paragraph by paragraph,
         and a zh paragraph with Han characters is a human translation of the en one
  gettext  the zh_CN message catalogs installed on this machine (/usr/share/locale/zh_CN, vim's), msgid and
         its human translation msgstr, messages of 8+ English words (UI labels aside)

Units: words as gopher_quality counts them (``words()`` without punctuation: an English word, a Han
character, a Latin word inside Chinese) and sentences as C4 counts them (``sentence_count`` per line).

    .venv/bin/python bench/zh_length_ratio.py
"""

from __future__ import annotations

import gettext
import re
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench" / "checkset"))

from corpus.textunits import han_count, is_symbol, sentence_count, words  # noqa: E402

_PAR = re.compile(r'<(p|h\d|td)[^>]*\bid="([^"]+)"[^>]*>(.*?)</\1>', re.S)
_TAG = re.compile(r"<[^>]+>")


def units(text: str, lang: str) -> tuple[int, int]:
    """(words, sentences) as the length rules count them."""
    n_words = sum(1 for w in words(text, lang) if not is_symbol(w))
    return n_words, sum(sentence_count(line, lang) for line in text.splitlines() if line.strip())


def crawl_paragraphs() -> list[tuple[str, str]]:
    import html

    import build

    pages = build.crawl_pages()
    out = []
    for (lang, path), (page, _) in pages.items():
        if lang != "en-US" or ("zh-CN", path) not in pages:
            continue
        en = {pid: html.unescape(_TAG.sub("", body)).strip() for _, pid, body in _PAR.findall(page)}
        zh = {pid: html.unescape(_TAG.sub("", body)).strip() for _, pid, body in _PAR.findall(pages[("zh-CN", path)][0])}
        for pid, text in en.items():
            other = zh.get(pid)
            if other and text and han_count(other) >= 2 and text != other:
                out.append((text, other))
    return out


def gettext_messages() -> list[tuple[str, str]]:
    out = []
    files = sorted(Path("/usr/share/locale/zh_CN/LC_MESSAGES").glob("*.mo"))
    files += sorted(Path("/usr/share/vim").glob("vim*/lang/zh_CN.UTF-8/LC_MESSAGES/vim.mo"))
    for mo in files:
        try:
            with open(mo, "rb") as fh:
                catalog = gettext.GNUTranslations(fh)._catalog  # noqa: SLF001 - the parsed msgid -> msgstr table
        except Exception:  # noqa: BLE001 - a catalog in another encoding is skipped
            continue
        for key, zh in catalog.items():
            if not isinstance(key, str) or not key or not isinstance(zh, str):
                continue
            en = re.sub(r"%[-#0 +]*\d*(?:\.\d+)?[hlLqjzt]*[a-zA-Z]|\{[^}]*\}", "", key)
            zh = re.sub(r"%[-#0 +]*\d*(?:\.\d+)?[hlLqjzt]*[a-zA-Z]|\{[^}]*\}", "", zh)
            if len(en.split()) >= 8 and han_count(zh) >= 4:
                out.append((en, zh))
    return out


def ratios(pairs: list[tuple[str, str]]) -> dict:
    en_w = zh_w = en_s = zh_s = 0
    per = []
    same_sent = 0
    for en, zh in pairs:
        ew, es = units(en, "en")
        zw, zs = units(zh, "zh")
        en_w, zh_w, en_s, zh_s = en_w + ew, zh_w + zw, en_s + es, zh_s + zs
        if ew:
            per.append(zw / ew)
        same_sent += es == zs
    q = statistics.quantiles(per, n=4)
    return {"pairs": len(pairs), "en_words": en_w, "zh_words": zh_w, "words_ratio": zh_w / en_w,
            "median": statistics.median(per), "iqr": (q[0], q[2]), "en_sentences": en_s, "zh_sentences": zh_s,
            "sentences_ratio": zh_s / en_s, "same_sentence_count": same_sent / len(pairs)}


def main() -> None:
    for name, pairs in (("crawl", crawl_paragraphs()), ("gettext", gettext_messages())):
        r = ratios(pairs)
        print(f"{name:8} {r['pairs']:6d} aligned pairs: zh words / en words = {r['words_ratio']:.2f} (per pair median "
              f"{r['median']:.2f}, IQR {r['iqr'][0]:.2f}-{r['iqr'][1]:.2f}); sentences zh/en = {r['sentences_ratio']:.2f} "
              f"({r['zh_sentences']}/{r['en_sentences']}; same count in {r['same_sentence_count']:.0%} of pairs)")


if __name__ == "__main__":
    main()
