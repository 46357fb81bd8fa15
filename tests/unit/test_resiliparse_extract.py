"""The resiliparse engine's pruning walk (corpus/resiliparse_extract.py): its element-only counting and the link
runs it decides on node by node. The engine's output on the crawl is tested in tests/unit/test_extract.py."""

from __future__ import annotations

import pytest
from resiliparse.parse.html import HTMLTree, NodeType

from corpus.resiliparse_extract import Pruner, Stats, _chars, extract_fast
from corpus.textunits import han_count
from filters.charset import decode


@pytest.fixture(scope="module")
def pages(shared_data) -> list[str]:
    """The decoded first captures of segment 0 of the shared crawl (every language)."""
    from warcio.archiveiterator import ArchiveIterator

    seen: dict[str, str] = {}
    with open(shared_data / "crawl" / "segment-00000.warc.gz", "rb") as fh:
        for rec in ArchiveIterator(fh):
            url = rec.rec_headers.get_header("WARC-Target-URI") or ""
            if rec.rec_type == "response" and url not in seen:
                seen[url] = decode(rec.content_stream().read(), None)[0]
    return list(seen.values())


def _text_nodes(el, in_link: bool = False) -> tuple[int, int, int]:
    """(characters, characters inside links, Han characters outside links) of the text nodes under ``el``,
    counted node by node, the way the walk counted before it read whole elements."""
    chars = link = han = 0
    node = el.first_child
    while node is not None:
        if node.type == NodeType.TEXT:
            n = _chars(node.text)
            chars += n
            link += n if in_link else 0
            han += 0 if in_link or not n else han_count(node.text)
        elif node.type == NodeType.ELEMENT:
            c, k, h = _text_nodes(node, in_link or (node.tag == "a" and node.hasattr("href")))
            chars, link, han = chars + c, link + k, han + h
        node = node.next
    return chars, link, han


def _check(st: Stats, in_link: bool = False) -> int:
    """Every element's counts against its text nodes; returns the elements checked."""
    in_link = in_link or (st.tag == "a" and st.el.hasattr("href"))
    chars, link, _ = _text_nodes(st.el, in_link)
    assert (st.chars, st.link_chars) == (chars, link), st.tag
    assert st.direct == st.chars - sum(k.chars for k in st.kids)
    return 1 + sum(_check(k, in_link) for k in st.kids)


def test_element_counts_are_the_text_nodes_counts(pages):
    """The walk reads an element's text content once instead of visiting its text nodes: after the chrome is
    gone, every element's characters and link characters, and the page's prose and its Han characters, are
    what the text nodes hold (on real pages, zh and en, with their chrome)."""
    checked = prose_pages = han_pages = 0
    for page in pages[:150]:
        body = HTMLTree.parse(page).body
        pr = Pruner(50_000)
        top = pr.walk(body, body.tag, False, False)
        checked += _check(top)
        chars, link, han = _text_nodes(body)
        assert top.chars - top.link_chars == chars - link
        got = extract_fast(page, 50_000, 0.5, 200)
        assert (got.prose_chars, got.prose_han) == (chars - link, han)
        prose_pages += chars > link
        han_pages += han > 0
    assert checked > 10_000 and prose_pages > 100 and han_pages > 10


BODY_PROSE = "<p>" + "This paragraph is the page's own prose, long enough to be its main text. " * 4 + "</p>"


def _page(between: str) -> str:
    links = between.join(f'<p><a href="/{i}">Entry {i}</a></p>' for i in range(3))
    return f"<html><body><article>{BODY_PROSE}<div><p>Related Topics</p>{links}</div>{BODY_PROSE}</article></body></html>"


@pytest.mark.parametrize("between", ["", "\n  ", "<!-- x -->", '<a href="#"></a>'])
def test_a_link_run_goes_with_its_title(between):
    """Three paragraphs that are each one link are a run: they go, with the short title line before them;
    white space, comments and empty anchors between them do not break the run."""
    got = extract_fast(_page(between), 50_000, 0.5, 200)
    assert "This paragraph" in got.text
    assert "Entry" not in got.text and "Related Topics" not in got.text


def test_visible_text_between_links_breaks_the_run():
    """Text between the link paragraphs (their parent's own text, which the walk does not visit node by node)
    breaks the run: no three in a row, nothing goes."""
    got = extract_fast(_page(" and "), 50_000, 0.5, 200)
    assert all(f"Entry {i}" in got.text for i in range(3)) and "Related Topics" in got.text


@pytest.mark.parametrize("tag", ["div", "font"])
def test_deep_nesting_is_cut_at_the_depth_bound_not_quarantined(tag):
    """Unclosed tags nest a real page thousands deep; lexbor keeps every level. The walk cuts below MAX_DEPTH
    and counts the cut elements, instead of raising RecursionError (the stage would quarantine the page)."""
    from corpus.resiliparse_extract import MAX_DEPTH

    levels = 5000
    page = "<html><body><p>这是一个嵌套很深的页面。 A page nested deep.</p>" + f"<{tag}>深 deep " * levels + "</body></html>"
    got = extract_fast(page, 50_000, 0.5, 200)
    kept = got.text.count("深 deep")
    assert got.nodes_removed == levels - MAX_DEPTH, got.nodes_removed
    assert MAX_DEPTH - 1 <= kept <= MAX_DEPTH + 1 and "A page nested deep." in got.text


def test_the_node_cache_is_a_plain_dict_during_a_page_only(pages, monkeypatch):
    """extract_fast swaps resiliparse's weak node cache for a fresh plain dict during each page: the walk sees the
    dict, and after the page (also one that raises mid-walk, as the stage's CPU guard does) the weak cache is back
    and holds none of the page's wrappers; the next page swaps again. (With the dict left in, every wrapper and
    tree of every later page would stay alive.)"""
    import weakref

    import resiliparse.parse.html.node as node

    weak = node._node_cache
    assert isinstance(weak, weakref.WeakValueDictionary)
    seen = []
    walk = Pruner.walk

    def spy(self, el, *args):
        seen.append(type(node._node_cache).__name__)
        return walk(self, el, *args)

    monkeypatch.setattr(Pruner, "walk", spy)
    for page in pages[:5]:
        assert extract_fast(page, 50_000, 0.5, 200).text
        assert node._node_cache is weak and len(weak) == 0
    assert seen and set(seen) == {"dict"}

    def boom(self, el, *args):
        raise KeyboardInterrupt  # what a signal handler raises, at any point of the walk

    monkeypatch.setattr(Pruner, "walk", boom)
    with pytest.raises(KeyboardInterrupt):
        extract_fast(pages[0], 50_000, 0.5, 200)
    assert node._node_cache is weak and len(weak) == 0
    monkeypatch.setattr(Pruner, "walk", walk)
    assert extract_fast(pages[1], 50_000, 0.5, 200).text and node._node_cache is weak
