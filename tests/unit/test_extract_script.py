"""Extraction measures prose in Latin-equivalent characters (a Han character counts 3): real zh pages of the
shared crawl whose raw character count hid their prose from the fallback (issue 19)."""

from __future__ import annotations

import pytest

from corpus.extract_units import HAN_CHAR_WEIGHT, keeps_enough
from corpus.textunits import han_count
from corpus.recipe import RecipeError, build_params
from filters.charset import decode
from filters.extract import ExtractParams, _chars, _run_mode, extract_page

SITE = "https://help.libreoffice.org/7.4"
SPLIT = "text/scalc/01/07080000.html"  # "Split Window": three short paragraphs, the same in en-US and zh-CN
CONCAT = "text/scalc/01/func_concat.html"  # CONCAT: zh prose plus untranslated English sentences
RAW = ExtractParams(han_char_weight=1)  # the count before: raw characters


@pytest.fixture(scope="module")
def pages(shared_data) -> dict[str, str]:
    """'en/<path>' / 'zh/<path>' -> decoded page, first capture, for the pages these tests read."""
    from warcio.archiveiterator import ArchiveIterator

    want = {f"{SITE}/{d}/{p}": f"{d[:2]}/{p}" for d, p in (("en-US", SPLIT), ("zh-CN", SPLIT), ("zh-CN", CONCAT))}
    out: dict[str, str] = {}
    for warc in sorted((shared_data / "crawl").glob("*.warc.gz")):
        with open(warc, "rb") as fh:
            for rec in ArchiveIterator(fh):
                url = rec.rec_headers.get_header("WARC-Target-URI")
                if rec.rec_type == "response" and url in want and want[url] not in out:
                    out[want[url]] = decode(rec.content_stream().read(), None)[0]
    assert len(out) == len(want), sorted(set(want.values()) - set(out))
    return out


def test_a_zh_page_holds_as_much_prose_as_its_en_original(pages):
    """The zh "Split Window" page shows 144 raw characters of prose against 428 in English: below the
    200-character minimum, so precision mode's one paragraph (65 characters) was kept and the fallback never
    ran. Counted in Latin-equivalent characters the zh page holds about what the en page holds, the fallback
    runs, and balanced mode brings back the first and last paragraphs, which the en page keeps too."""
    en = extract_page(pages[f"en/{SPLIT}"], f"{SITE}/en-US/{SPLIT}", ExtractParams())
    zh_raw = extract_page(pages[f"zh/{SPLIT}"], f"{SITE}/zh-CN/{SPLIT}", RAW)
    zh = extract_page(pages[f"zh/{SPLIT}"], f"{SITE}/zh-CN/{SPLIT}", ExtractParams())
    v = zh.visible
    assert v.prose_chars < 200 <= v.prose_equiv() and en.visible.prose_chars >= 200
    assert 0.67 < v.prose_equiv() / en.visible.prose_chars < 1.5  # the same content, the same amount
    assert "top left corner" in en.text and "not scrollable" in en.text
    assert zh_raw.mode == "precision" and "左上角" not in zh_raw.text and "不能滚动" not in zh_raw.text
    assert zh.mode == "balanced" and "在活动单元格的左上角分隔当前窗口" in zh.text and "不能滚动" in zh.text
    assert _chars(zh.text) > 2 * _chars(zh_raw.text)


def test_the_kept_fraction_is_checked_in_both_units_on_a_mixed_page(pages):
    """On the zh CONCAT page precision keeps the Han prose and drops the untranslated English sentences: it
    keeps over half of the prose weighted (Latin counts a third of a Han character there) but under half of
    it in raw characters, so the fallback runs and the English sentences stay."""
    page, url = pages[f"zh/{CONCAT}"], f"{SITE}/zh-CN/{CONCAT}"
    p = ExtractParams()
    got = extract_page(page, url, p)
    from trafilatura.utils import load_html

    precision = _run_mode(load_html(page), "precision", url, p).text
    n, han = _chars(precision), han_count(precision)
    v = got.visible
    assert n < p.min_kept_frac * v.prose_chars  # under half in raw characters...
    assert n + (HAN_CHAR_WEIGHT - 1) * han >= p.min_kept_frac * v.prose_equiv()  # ...over half weighted
    assert not keeps_enough(n, han, v.prose_chars, v.prose_han, p.min_kept_frac, p.min_visible_chars)
    assert got.mode == "balanced"
    assert "This function is available since LibreOffice 5.2" not in precision
    assert "This function is available since LibreOffice 5.2" in got.text


def test_keeps_enough_rules():
    # too little prose to judge: any text stops the fallback, none never does
    assert keeps_enough(1, 0, 150, 0, 0.5, 200) and not keeps_enough(0, 0, 150, 0, 0.5, 200)
    # 70 Han characters are 210 Latin-equivalent ones: enough prose to judge, and 30 of them kept is too little
    assert not keeps_enough(30, 30, 70, 70, 0.5, 200) and keeps_enough(35, 35, 70, 70, 0.5, 200)
    assert keeps_enough(30, 30, 70, 70, 0.5, 200, weight=1)  # raw characters: 70 < 200, any text will do
    # weight 1 is the rule before: half of the raw prose
    assert keeps_enough(100, 0, 200, 0, 0.5, 200, weight=1) and not keeps_enough(99, 0, 200, 0, 0.5, 200, weight=1)


def test_han_char_weight_is_a_checked_recipe_parameter():
    assert build_params(ExtractParams, {}, "extract").han_char_weight == HAN_CHAR_WEIGHT == 3
    assert build_params(ExtractParams, {"han_char_weight": 1}, "extract").han_char_weight == 1
    with pytest.raises(RecipeError):
        build_params(ExtractParams, {"han_char_weight": 0.5}, "extract")
