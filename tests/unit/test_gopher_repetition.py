"""Gopher's n-gram repetition rules on formulaic-but-good text (issue 19): n-grams of words, not of
punctuation, and recipe thresholds above every usable page of bench/repetition_evidence.py's seven sources,
that still drop a real page of repeated notices. Real data: Python's reference manual (pydoc_data) and the
shared crawl's LibreOffice help pages, extracted with the recipe's own extract stage."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from pydoc_data.topics import topics

from corpus.recipe import load
from filters.extract import ExtractParams
from filters.gopher import GopherRepetition

ROOT = Path(__file__).resolve().parents[2]


def repetition(step, texts: list[str], lang: str = "en") -> pa.Table:
    return step(pa.table({"text": texts, "lang": [lang] * len(texts)}))


def test_ngrams_are_of_words_not_punctuation():
    """An rST heading underline ("*****") and grammar productions made the "if" statement's manual page
    "repetitive" at the paper's thresholds when each "*" was a word; counted over words it repeats nothing."""
    g = GopherRepetition(GopherRepetition.Params(label_only=True))
    out = repetition(g, [topics["if"], "spam eggs " * 200])
    assert out.column("gopher_repetition_flag").to_pylist() == [None, "gopher_repetition.top_2_gram"]
    assert out.column("gr_top4")[0].as_py() < 0.16


@pytest.fixture(scope="module")
def help_pages(crawl_page):
    want = {"formulaic": "text/shared/01/05030500.html", "notices": "text/sbasic/shared/03/avail_release.html"}
    return {k: crawl_page("en-US", path, ExtractParams()) for k, path in want.items()}


def test_recipe_keeps_formulaic_help_and_drops_repeated_notices(help_pages):
    """"Enter the distance ... between the left/right/top/bottom border and the contents" is usable help that
    the paper's dup 5-gram value (0.15) drops; a page of "This method/property is (not) available ..."
    notices (45% of its characters in repeated 5-grams) is not, and the recipe still drops it."""
    steps = {s.stage_name: s for s in load(ROOT / "pipelines/default.yaml").build()}
    out = repetition(steps["gopher_repetition"], [help_pages["formulaic"], help_pages["notices"]])
    assert out.column("drop_reason").to_pylist() == [None, "gopher_repetition.dup_5_gram"]
    paper = repetition(GopherRepetition(GopherRepetition.Params(label_only=True)), [help_pages["formulaic"]])
    assert paper.column("gopher_repetition_flag")[0].as_py() is not None  # what the recipe's values fix
