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

from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.html import HTMLTree, NodeType

from corpus.extract_units import HAN_CHAR_WEIGHT, keeps_enough, latin_equiv
from corpus.textunits import han_count

LINK_BLOCK_MIN = 3  # links in a block (or link-only blocks in a run) that make it a link list
LINK_DENSITY = 0.8  # share of a block's visible characters that are link text for it to be a link list
RUN_TITLE_MAX = 40  # characters of the title line before a link run that goes with the run

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
    """Visible non-space characters of an element, those inside links, and its links; ``kids``: surviving
    children in order, an element or None for a text node with visible characters. (A plain class with slots:
    one is made per element of every page.)"""

    __slots__ = ("chars", "link_chars", "links", "kids")

    def __init__(self) -> None:
        self.chars = self.link_chars = self.links = 0
        self.kids: list = []

    def link_only(self) -> bool:
        return self.chars > 0 and self.links > 0 and self.link_chars >= LINK_DENSITY * self.chars


def _is_chrome(el, tag: str, in_content: bool) -> bool:
    if tag in CHROME_TAGS or (tag in ("header", "footer") and not in_content):
        return True
    attrs = el.attrs  # one call for the names; most elements have none of the ones that matter
    if not attrs:
        return False
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
    surviving element's Stats; then removes link blocks and link runs top-down."""

    def __init__(self, max_nodes: int) -> None:
        self.max_nodes = max_nodes
        self.seen = 0
        self.nodes_removed = 0
        self.stats: dict[int, Stats] = {}  # keyed by id() of the element wrapper kept alive in self.keep
        self.keep: list = []
        self.removed: set[int] = set()
        self.prose = 0  # visible characters outside links: the yardstick of a page's main text
        self.prose_han = 0  # Han characters among them (a Han character is worth 3 Latin ones: extract_units)

    def _count(self, el) -> int:
        n = 0
        stack = [el]
        while stack:
            node = stack.pop()
            n += 1
            stack.extend(c for c in node.child_nodes if c.type == NodeType.ELEMENT)
        return n

    def walk(self, el, in_content: bool, in_link: bool) -> Stats:
        """Post-order: the element's Stats after its chrome children are removed."""
        st = Stats()
        self.keep.append(el)
        self.stats[id(el)] = st
        child = el.first_child
        while child is not None:
            nxt = child.next
            t = child.type
            if t == TEXT:
                text = child.text
                n = 0 if text.isspace() else _chars(text)
                if n:
                    st.chars += n
                    st.kids.append(None)
                    if in_link:
                        st.link_chars += n
                    else:
                        self.prose += n
                        self.prose_han += han_count(text)
            elif t == ELEMENT:
                self.seen += 1
                if self.seen > self.max_nodes:  # size bound: drop this element, its subtree and all after it
                    self._cut_from(child)
                    break
                tag = child.tag
                if _is_chrome(child, tag, in_content):
                    child.decompose()
                else:
                    is_link = tag == "a" and child.hasattr("href")
                    sub = self.walk(child, in_content or tag in CONTENT_ROOTS, in_link or is_link)
                    st.kids.append(child)
                    st.chars += sub.chars
                    st.link_chars += sub.link_chars
                    st.links += sub.links + is_link
            child = nxt
        return st

    def _cut_from(self, node) -> None:
        """Remove ``node``, its following siblings and the following siblings of every ancestor (cutting
        the document in document order, as the trafilatura path does)."""
        while node is not None:
            parent = node.parent
            while node is not None:
                nxt = node.next
                if node.type == NodeType.ELEMENT:
                    self.nodes_removed += self._count(node)
                node.decompose()
                node = nxt
            node = parent.next if parent is not None and parent.type == NodeType.ELEMENT else None

    def prune_links(self, el) -> None:
        """Top-down: remove link blocks, then link runs among the element's block children."""
        kids = []
        for c in self.stats[id(el)].kids:
            st = self.stats[id(c)] if c is not None else None
            if st is not None and c.tag not in KEEP and st.links >= LINK_BLOCK_MIN and st.link_only():
                c.decompose()
            else:
                kids.append((c, st))
        run: list = []
        for c, st in kids + [(None, None)]:
            if st is not None and c.tag in BLOCKS and st.link_only():
                run.append(c)
                continue
            if st is not None and st.chars == 0:  # empty anchors and spacers do not break a run
                continue
            if len(run) >= LINK_BLOCK_MIN:
                self._drop_run(run)
            run = []
        for c, st in kids:
            if st is not None and id(c) not in self.removed:
                self.prune_links(c)

    def _drop_run(self, run: list) -> None:
        title = run[0].prev
        while title is not None and not (title.type == NodeType.ELEMENT or _chars(title.text or "")):
            title = title.prev
        if title is not None and title.type == NodeType.ELEMENT:
            st = self.stats.get(id(title))
            if st is not None and 0 < st.chars <= RUN_TITLE_MAX and title.tag in BLOCKS:
                title.decompose()
                self.removed.add(id(title))
        for c in run:
            c.decompose()
            self.removed.add(id(c))


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


def extract_fast(page: str, max_nodes: int, min_kept_frac: float, min_visible_chars: int,
                 fallback: bool = True, han_weight: float = HAN_CHAR_WEIGHT) -> FastResult:
    """Parse, prune and extract one decoded page (already cut at max_html_chars)."""
    tree = HTMLTree.parse(page)
    body = tree.body
    if body is None:
        return FastResult(None, None, "", 0, 0)
    pr = Pruner(max_nodes)
    pr.walk(body, body.tag in CONTENT_ROOTS, False)
    pr.prune_links(body)
    # the minimum in Latin-equivalent characters, the fraction in both units (corpus/extract_units.py)
    best: tuple[float, str, str] | None = None
    for mode, main in (("resiliparse", True), ("resiliparse_recall", False))[: 2 if fallback else 1]:
        text = _text(tree, main).strip()
        n, han = _chars(text), han_count(text)
        kept = latin_equiv(n, han, han_weight)
        if n and (best is None or kept > best[0]):
            best = (kept, mode, text)
        if keeps_enough(n, han, pr.prose, pr.prose_han, min_kept_frac, min_visible_chars, han_weight):
            best = (kept, mode, text)
            break
    if best is None:  # what the page showed (after chrome and link pruning), for extract_visible
        return FastResult(None, None, " ".join(_text(tree, False).split()), pr.prose, pr.nodes_removed,
                          pr.prose_han)
    return FastResult(best[2], best[1], "", pr.prose, pr.nodes_removed, pr.prose_han)
