"""trafilatura with three of its fixed per-call costs taken out, its output unchanged.

Why. Profiling the extract stage on the shared crawl (bench/extract_cost.py, cProfile, and each XPath timed)
found three costs that are not extraction at all, about 40% of the stage's CPU together; datatrove, calling
trafilatura as shipped, pays them all:

- **lxml.html's element class lookup is a Python method** (``HtmlElementClassLookup.lookup``), called each
  time lxml makes a Python object for an element: every XPath result, every ancestor walk. trafilatura's
  pruning XPaths make about a thousand per call. The lookup only picks special classes for ``form``,
  ``input``, ``select``, ``textarea`` and ``label`` (form-field helpers: ``.value``, ``.fields``...), which
  trafilatura, jusText, its readability port and htmldate never use. lxml's C lookup
  (``ElementDefaultClassLookup``) gives every element lxml.html's ``HtmlElement`` with no Python call.
- **jusText hashes a 154,484-word tuple at every call.** It caches its stoplist by the stoplist argument
  (``functools.lru_cache``), and trafilatura passes the union of all languages' stoplists as a tuple, whose
  hash Python recomputes over every item each time: 0.8 ms per jusText call. The same words in a tuple that
  computes its hash once are the same cache key, and the cached stoplist is the same frozenset.
- **Its XPaths call back into Python for every candidate element.** trafilatura's extraction XPaths (about 45%
  of a call's CPU on the crawl) test ids and classes with EXSLT ``re:test(@class, '...')``, which lxml runs
  through its generic extension-function machinery once per candidate element: two thirds of that XPath time.
  filters/trafilatura_xpaths.py compiles each of them into a Python loop over the tree that calls the compiled
  regexes itself: the same elements in the same order, a fifth of the stage's CPU less. An expression outside
  what it compiles exactly stays as trafilatura compiled it.

``tune()`` (the extract stage calls it) puts all three in place for the whole worker process (only extraction
uses lxml.html there); ``shipped()`` restores trafilatura as installed, so tests and benchmarks can compare. Extracted text is
identical on every crawl and annotated page (tests/unit/test_extract.py); speed is in the README (issue 20).
"""

from __future__ import annotations

from typing import Callable

import lxml.html
from lxml import etree

from filters.trafilatura_xpaths import Unsupported, compile_xpath

# per state (False: as shipped, True: tuned) the element-class lookup and the jusText stoplist, made once
_LOOKUP = {False: lxml.html.HtmlElementClassLookup(),
           True: etree.ElementDefaultClassLookup(element=lxml.html.HtmlElement, comment=lxml.html.HtmlComment,
                                                 pi=lxml.html.HtmlProcessingInstruction, entity=lxml.html.HtmlEntity)}
_words: dict[bool, tuple] = {}


class _HashedTuple(tuple):
    """A tuple whose hash is computed once (a plain tuple's is recomputed over all its items at each call)."""

    _hash: int

    def __hash__(self) -> int:
        return self._hash


# the lists of trafilatura.xpaths its extraction evaluates, all of elements (not its metadata ones, which return strings)
XPATH_LISTS = ("BODY_XPATH", "COMMENTS_XPATH", "REMOVE_COMMENTS_XPATH", "REMOVE_COMMENTS_AND_LISTS_XPATH",
               "RAW_TREE_PRUNE_XPATH", "OVERALL_DISCARD_XPATH", "TEASER_DISCARD_XPATH", "PRECISION_DISCARD_XPATH",
               "DISCARD_IMAGE_ELEMENTS", "COMMENTS_DISCARD_XPATH")
_xpaths: dict[bool, dict[str, list]] = {}


def _rewrite(xp: etree.XPath) -> Callable[[etree._Element], list]:
    """The expression as a Python loop (filters/trafilatura_xpaths.py), or as it was where that does not apply."""
    try:
        return compile_xpath(xp)
    except Unsupported:
        return xp


def _set(tuned: bool) -> None:
    import trafilatura.external as ext  # here: the driver validates recipes without importing trafilatura
    import trafilatura.utils
    import trafilatura.xpaths as xpaths

    if not _words:
        _words[False] = ext.JT_STOPLIST or ext.jt_stoplist_init()
        _words[True] = _HashedTuple(_words[False])
        _words[True]._hash = hash(_words[False])
        _xpaths[False] = {name: list(getattr(xpaths, name)) for name in XPATH_LISTS}
        exslt = xpaths.REGEXP_NS == "http://exslt.org/regular-expressions"  # what compile_xpath takes re: for
        _xpaths[True] = {name: [_rewrite(xp) if exslt else xp for xp in xps] for name, xps in _xpaths[False].items()}
    # trafilatura's modules import these lists by name: they are changed in place
    for name, xps in _xpaths[tuned].items():
        getattr(xpaths, name)[:] = xps
    # trafilatura's own parser (load_html) and lxml.html's default one (its readability port parses with it)
    for parser in (trafilatura.utils.HTML_PARSER, lxml.html.html_parser):
        parser.set_element_class_lookup(_LOOKUP[tuned])
    ext.JT_STOPLIST = _words[tuned]


def tune() -> None:
    """All three changes, for the rest of the process. lxml.html's default parser is the process's: any other code in
    the same worker that parses with ``lxml.html.fromstring`` then gets plain ``HtmlElement`` for form, input,
    select, textarea and label too (without their form-field helpers such as ``.value``); no stage here uses
    them."""
    _set(True)


def shipped() -> None:
    """trafilatura as installed again (for comparisons); ``tune()`` puts the changes back."""
    _set(False)
