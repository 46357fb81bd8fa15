"""format's mojibake check skips ftfy's full badness regex when a text cannot match it: same answers."""

import gzip
from pathlib import Path

import ftfy.badness
import pytest

from filters.format import _BADNESS_TRIGGER, looks_bad, normalize

CRAWL = Path("/work/shared/data/crawl")


def _page_texts(limit: int = 60) -> list[str]:
    """Real page text of the shared crawl: the raw WARC bytes of its first records, cut into paragraphs."""
    path = sorted(CRAWL.glob("*.warc.gz"))[0]
    with gzip.open(path, "rb") as fh:
        data = fh.read(3_000_000)
    return [p for p in data.decode("utf-8", "replace").split("\n\n") if p.strip()][:limit]


@pytest.mark.skipif(not CRAWL.is_dir(), reason="needs the shared crawl")
def test_shortcut_agrees_with_ftfy_on_real_text_and_its_mojibake():
    assert _BADNESS_TRIGGER is not None  # the shortcut was derived from ftfy's regex (else every text pays)
    texts = _page_texts()
    # the same real bytes read in the wrong code page: what the check exists to catch
    garbled = [t.encode("utf-8").decode(cp, "replace") for t in texts for cp in ("cp1252", "cp1251", "latin-1")]
    cases = texts + garbled + ["cafÃ© au lait", "â€œquotedâ€\x9d", "Ã\xa0 la carte", "plain ascii", "中文。"]
    assert any(ftfy.badness.is_bad(t) for t in cases) and not all(ftfy.badness.is_bad(t) for t in cases)
    for t in cases:
        assert looks_bad(t) == ftfy.badness.is_bad(t), t[:80]


def test_mojibake_is_still_repaired():
    assert normalize("cafÃ© au lait") == "café au lait"
