"""The fast extraction engine: resiliparse's DOM and text pass plus our own boilerplate pruning.

Why a second engine. trafilatura is most of the pipeline's CPU time (issue 20: 80% of a default run), while
resiliparse (lexbor's C parser and a C text pass) parses and extracts a page in well under a millisecond. Its
own main-content heuristic (class/id names, hidden elements, a few tags) keeps the site chrome that is
*marked up* as chrome out, but not chrome that is only recognisable by its shape: link lists ("Related
Topics", tables of contents, site menus in plain divs) and keyboard/cookie pop-ups. So before resiliparse
writes the text we prune the DOM ourselves with block-level signals that do not depend on one site:

- **chrome**: the same elements ``visible_text`` skips (nav, aside, forms, dialogs; header/footer unless
  inside an article or main element, where they are the article's own title and byline), hidden elements
  (``hidden``, ``aria-hidden``, inline ``display:none``), ARIA landmark roles of chrome, and pop-ups/modals
  named as such in their id or class (readability's "unlikely candidate" names);
- **link blocks**: an element with at least ``LINK_BLOCK_MIN`` links whose visible text is at least
  ``LINK_DENSITY`` link text is a list of pointers to other pages, not content, and goes whole (with its
  heading when the heading is inside it);
- **link runs**: ``LINK_BLOCK_MIN`` or more consecutive block-level siblings that are each only a link
  (LibreOffice's "Related Topics" entries are each their own paragraph) go, with the short title line
  right before the run ("Related Topics" / "相关主题").

A page's main text must survive this: the page's *visible prose* (non-link text outside chrome, counted in
the same walk) is the yardstick, as in the trafilatura path, counted in Latin-equivalent characters (a Han
character is worth 3: corpus/extract_units.py). When the pruned main-content text keeps less
than ``min_kept_frac`` of it on a page with ``min_visible_chars`` of it (or nothing at all), the page is
extracted again without resiliparse's main-content heuristic (our chrome and link pruning still apply):
``extract_mode`` records ``resiliparse`` or ``resiliparse_recall``.

Everything here is a pure function of the page (no time, no randomness), so the output is byte-identical
across runs and machines. The thresholds were set on principle (a block that is 80% link text with three
links is a menu; three pointers in a row are a list) and then checked, not fitted, on the annotated set
(bench/extract_set/, bench/extract_bench.py): see the README for the numbers.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import weakref

import resiliparse.parse.html.node as _resiliparse_node
from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.html import HTMLTree, NodeType

from corpus.extract_units import HAN_CHAR_WEIGHT, keeps_enough, latin_equiv
from corpus.textunits import han_count

LINK_BLOCK_MIN = 3  # links in a block (or link-only blocks in a run) that make it a link list
LINK_DENSITY = 0.8  # share of a block's visible characters that are link text for it to be a link list
RUN_TITLE_MAX = 40  # characters of the title line before a link run that goes with the run
# Nesting bound: elements deeper than this below <body> are cut (counted in nodes_removed); the rest of the page
# stays. lexbor has no cap, and unclosed tags (<font>, <div>) on real pages can nest thousands deep: the walk,
# one Python frame per level, would raise RecursionError and the page would be quarantined instead of
# extracted. (The trafilatura path's libxml2 stops at about 256 levels too, but loses the rest of the page.)
MAX_DEPTH = 256

CHROME_TAGS = frozenset({
    "script", "style", "noscript", "template", "head", "title", "meta", "link", "svg", "math", "canvas",
    "iframe", "object", "embed", "nav", "aside", "form", "button", "select", "option", "textarea", "input",
    "label", "dialog", "menu",
})
# header/footer are chrome at page level; inside these they belong to the article
CONTENT_ROOTS = frozenset({"article", "main"})
CHROME_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "dialog", "alertdialog",
                          "search", "menu", "menubar", "toolbar"})
POPUP = re.compile(r"(?:^|[-_\s])(?:popup|modal|cookie|consent|overlay)(?:$|[-_\s])", re.I)
HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
# elements that lay out as blocks: only these count as members of a link run (inline links inside a
# sentence never do)
BLOCKS = frozenset({
    "p", "div", "li", "dd", "dt", "tr", "td", "section", "ul", "ol", "dl", "table", "tbody", "blockquote",
    "h1", "h2", "h3", "h4", "h5", "h6", "center", "pre", "address", "figure",
})
KEEP = frozenset({"html", "body", "main", "article"})  # never removed as a link block
TEXT, ELEMENT = NodeType.TEXT, NodeType.ELEMENT


def _chars(s: str) -> int:
    """Non-space characters (str.split's notion of space covers \\xa0 and the ideographic space)."""
    return len("".join(s.split()))


class Stats:
    """One surviving element: its wrapper and tag; its visible non-space characters (all text in its subtree
    once its chrome is gone), those inside links, and its links; ``direct``: the part of ``chars`` in its own
    text children (text between its child elements); ``kids``: the Stats of its surviving child elements in
    order; ``removed`` once a link run takes it. Holding the wrapper keeps resiliparse's node cache giving the
    same object for the same node. (A plain class with slots: one is made per element of every page.)"""

    __slots__ = ("el", "tag", "chars", "link_chars", "links", "direct", "kids", "removed")

    def __init__(self, el, tag: str) -> None:
        self.el = el
        self.tag = tag
        self.chars = self.link_chars = self.links = self.direct = 0
        self.kids: list[Stats] = []
        self.removed = False

    def link_only(self) -> bool:
        return self.chars > 0 and self.links > 0 and self.link_chars >= LINK_DENSITY * self.chars


def _is_chrome(el, tag: str, in_content: bool) -> bool:
    if tag in CHROME_TAGS or (tag in ("header", "footer") and not in_content):
        return True
    attrs = el.attrs  # one call for the names; most elements have none of the ones that matter
    return bool(attrs) and _chrome_attrs(el, attrs)


def _chrome_attrs(el, attrs: tuple) -> bool:
    """Hidden, a chrome landmark role, or a pop-up by its id/class (``attrs``: the element's attribute names)."""
    if "hidden" in attrs or ("aria-hidden" in attrs and el.getattr("aria-hidden") == "true"):
        return True
    if "style" in attrs:
        style = el.getattr("style")
        if style and HIDDEN_STYLE.search(style):
            return True
    if "role" in attrs:
        role = el.getattr("role")
        if role and role.lower() in CHROME_ROLES:
            return True
    if "id" not in attrs and "class" not in attrs:
        return False
    name = f"{el.id or ''} {el.class_name or ''}"
    return bool(name.strip()) and bool(POPUP.search(name))


class Pruner:
    """One walk over the DOM: removes chrome, cuts the tree after ``max_nodes`` elements, and records each
    surviving element's Stats; then removes link blocks and link runs top-down.

    Why the walk only visits elements. Every node wrapper resiliparse hands out costs a few microseconds
    (its Python-level weak-value node cache), and most nodes of a page are text nodes, most of them only
    the white space between tags. So the walk steps from element to element, and an element's characters
    come from its text content (one C call that concatenates the text nodes of its subtree) read after its
    chrome children are gone: the same characters the text nodes hold, since counting non-space characters
    adds up over any split of the text. Text nodes are visited one by one only where their position matters:
    between the members of a possible link run (``_sequence``), which few elements hold."""

    def __init__(self, max_nodes: int) -> None:
        self.max_nodes = max_nodes
        self.seen = 0
        self.nodes_removed = 0
        self.link_han = 0  # Han characters inside links (prose_han is the page's Han characters less these)

    @staticmethod
    def _count(el) -> int:
        """Elements in ``el``'s subtree, ``el`` included (element steps only: no wrapper per text node)."""
        n = 0
        stack = [el]
        while stack:
            node = stack.pop()
            n += 1
            child = node.first_element_child
            while child is not None:
                stack.append(child)
                child = child.next_element_sibling
        return n

    def walk(self, el, tag: str, in_content: bool, in_link: bool, outer_link: bool = False, depth: int = 0) -> Stats:
        """Post-order: the element's Stats after its chrome children are removed (``outer_link``: el is a link
        not inside another, whose Han characters are counted once for the page; ``depth``: levels below the
        walk's root, cut at MAX_DEPTH)."""
        st = Stats(el, tag)
        kids = st.kids
        kid_chars = link_chars = links = 0
        child = el.first_element_child
        if depth >= MAX_DEPTH:  # nesting bound: the element keeps its own text, its child elements go
            while child is not None:
                nxt = child.next_element_sibling
                self.nodes_removed += self._count(child)
                child.decompose()
                child = nxt
        while child is not None:
            nxt = child.next_element_sibling
            self.seen += 1
            if self.seen > self.max_nodes:  # size bound: drop this element, its subtree and all after it
                if child.type is not None:  # (an element an earlier cut took has no type any more)
                    self._cut_from(child)
                break
            ctag = child.tag
            if ctag in CHROME_TAGS or (ctag in ("header", "footer") and not in_content):
                child.decompose()
            else:
                attrs = child.attrs
                if attrs and _chrome_attrs(child, attrs):
                    child.decompose()
                else:
                    is_link = ctag == "a" and "href" in attrs
                    sub = self.walk(child, ctag, in_content or ctag in CONTENT_ROOTS, in_link or is_link,
                                    is_link and not in_link, depth + 1)
                    kids.append(sub)
                    kid_chars += sub.chars
                    link_chars += sub.link_chars
                    links += sub.links + is_link
            child = nxt
        text = el.text
        n = _chars(text) if text else 0
        st.chars = n
        st.direct = n - kid_chars
        st.link_chars = n if in_link else link_chars
        st.links = links
        if outer_link and n:
            self.link_han += han_count(text)
        return st

    def _cut_from(self, node) -> None:
        """Remove ``node``, its following siblings and the following siblings of every ancestor (cutting
        the document in document order, as the trafilatura path does)."""
        while node is not None:
            parent = node.parent
            while node is not None:
                nxt = node.next
                if node.type == ELEMENT:
                    self.nodes_removed += self._count(node)
                node.decompose()
                node = nxt
            node = parent.next if parent is not None and parent.type == ELEMENT else None

    def prune_links(self, st: Stats) -> None:
        """Top-down: remove link blocks, then link runs among the element's block children (text children
        with visible characters break a run)."""
        kids = []
        members = 0
        for c in st.kids:
            if c.tag not in KEEP and c.links >= LINK_BLOCK_MIN and c.link_only():
                c.el.decompose()
            else:
                kids.append(c)
                if c.tag in BLOCKS and c.link_only():
                    members += 1
        if members >= LINK_BLOCK_MIN:
            run: list[Stats] = []
            for c in self._sequence(st, kids) if st.direct else kids + [None]:
                if c is not None and c.tag in BLOCKS and c.link_only():
                    run.append(c)
                    continue
                if c is not None and c.chars == 0:  # empty anchors and spacers do not break a run
                    continue
                if len(run) >= LINK_BLOCK_MIN:
                    self._drop_run(st, run)
                run = []
        for c in kids:
            if not c.removed:
                self.prune_links(c)

    @staticmethod
    def _sequence(st: Stats, kids: list[Stats]) -> list[Stats | None]:
        """The element's surviving children in document order: each child element's Stats (``kids``: the
        element children the DOM still holds, in order), None for each text child with visible characters,
        and a closing None."""
        out: list[Stats | None] = []
        i = 0
        node = st.el.first_child
        while node is not None:
            t = node.type
            if t == ELEMENT:
                out.append(kids[i])  # an IndexError here would be a DOM changed behind the walk's back
                i += 1
            elif t == TEXT and _chars(node.text or ""):
                out.append(None)
            node = node.next
        out.append(None)
        return out

    @staticmethod
    def _drop_run(parent: Stats, run: list[Stats]) -> None:
        title = run[0].el.prev
        while title is not None and not (title.type == ELEMENT or _chars(title.text or "")):
            title = title.prev
        if title is not None and title.type == ELEMENT:
            st = next((k for k in parent.kids if k.el is title), None)
            if st is not None and 0 < st.chars <= RUN_TITLE_MAX and st.tag in BLOCKS:
                title.decompose()
                st.removed = True
        for c in run:
            c.el.decompose()
            c.removed = True


@dataclasses.dataclass
class FastResult:
    """The text and its mode; ``visible_text`` only when there is no text (it is what extract_visible keeps)."""
    text: str | None
    mode: str | None
    visible_text: str
    prose_chars: int
    nodes_removed: int
    prose_han: int = 0  # Han characters among prose_chars


def _text(tree: HTMLTree, main_content: bool) -> str:
    return extract_plain_text(tree, preserve_formatting=True, main_content=main_content, alt_texts=False,
                              links=False, form_fields=False, noscript=False, comments=False)


# resiliparse's node-wrapper cache as shipped (a WeakValueDictionary), and the lock that makes its per-page swap
# one page at a time (extract_fast)
_WEAK_CACHE = getattr(_resiliparse_node, "_node_cache", None)
_SWAP = isinstance(_WEAK_CACHE, weakref.WeakValueDictionary)
_PAGE_LOCK = threading.Lock()


def extract_fast(page: str, max_nodes: int, min_kept_frac: float, min_visible_chars: int,
                 fallback: bool = True, han_weight: float = HAN_CHAR_WEIGHT) -> FastResult:
    """Parse, prune and extract one decoded page (already cut at max_html_chars).

    Why resiliparse's node cache is a plain dict during the page. resiliparse keeps one Python wrapper per DOM
    node in a module-level ``WeakValueDictionary`` (so the same node gives the same object, which the walk relies
    on); each wrapper it hands out costs a weak reference, a callback and two Python-level dict operations: 15%
    of this engine's extraction CPU on the shared crawl. A fresh plain dict keyed the same way gives the same
    objects without them; it holds the page's wrappers (and so its tree) until the page is done, and then the
    weak cache is back (bench/resiliparse_identity.py: identical output). The cache is the process's, so pages
    are extracted one at a time (a lock: a second thread waits instead of losing wrapper identity mid-page), and
    a fresh dict per page means an exception raised anywhere (the stage's CPU guard fires from a signal) leaves
    a stale dict in place at most until the next page. With a resiliparse whose cache is something else,
    nothing is swapped."""
    if not _SWAP:
        return _extract_fast(page, max_nodes, min_kept_frac, min_visible_chars, fallback, han_weight)
    with _PAGE_LOCK:
        _resiliparse_node._node_cache = {}
        try:
            return _extract_fast(page, max_nodes, min_kept_frac, min_visible_chars, fallback, han_weight)
        finally:
            _resiliparse_node._node_cache = _WEAK_CACHE


def _extract_fast(page: str, max_nodes: int, min_kept_frac: float, min_visible_chars: int, fallback: bool,
                  han_weight: float) -> FastResult:
    tree = HTMLTree.parse(page)
    body = tree.body
    if body is None:
        return FastResult(None, None, "", 0, 0)
    pr = Pruner(max_nodes)
    top = pr.walk(body, body.tag, body.tag in CONTENT_ROOTS, False)
    prose = top.chars - top.link_chars  # the text outside links, before the link pruning
    prose_han = han_count(body.text or "") - pr.link_han if prose else 0
    pr.prune_links(top)
    # the minimum in Latin-equivalent characters, the fraction in both units (corpus/extract_units.py)
    best: tuple[float, str, str] | None = None
    for mode, main in (("resiliparse", True), ("resiliparse_recall", False))[: 2 if fallback else 1]:
        text = _text(tree, main).strip()
        n, han = _chars(text), han_count(text)
        kept = latin_equiv(n, han, han_weight)
        if n and (best is None or kept > best[0]):
            best = (kept, mode, text)
        if keeps_enough(n, han, prose, prose_han, min_kept_frac, min_visible_chars, han_weight):
            best = (kept, mode, text)
            break
    if best is None:  # what the page showed (after chrome and link pruning), for extract_visible
        return FastResult(None, None, " ".join(_text(tree, False).split()), prose, pr.nodes_removed,
                          prose_han)
    return FastResult(best[2], best[1], "", prose, pr.nodes_removed, prose_han)
