"""Main-text extraction with trafilatura: per-page fallback when precision loses the page, bounded by size.

``engine: resiliparse`` selects the fast engine instead (corpus/resiliparse_extract.py: resiliparse's C DOM and text
pass plus our own link-block and chrome pruning, with the same visible-prose fallback and size bounds);
``extract_mode`` is then ``resiliparse`` or ``resiliparse_recall``. Everything below is the trafilatura path.

Why a fallback. ``favor_precision`` keeps boilerplate out, but on real pages it also throws whole pages
away: on the shared crawl's LibreOffice help it returned nothing for 52 of 360 zh-CN pages (6 of 360 en-US),
15 of them with 200+ characters of visible prose, and kept less than half of the prose of 44 more.
So each page's *visible prose* is measured on the same lxml tree trafilatura parses (``visible_text``: the
text a browser shows without scripts, minus chrome elements such as nav/header/footer/aside/forms, hidden
elements and link text), and when precision returns nothing, or less than ``min_kept_frac`` of that prose on
a page holding at least ``min_visible_chars`` of it, the page is extracted again in balanced mode, then in
recall mode. The first mode that keeps enough wins (else the one that kept most); ``extract_mode`` records
which (``precision`` / ``balanced`` / ``recall``; null for rows that arrived with text). ``min_kept_frac``
is 0.5: precision is meant to remove boilerplate, and visible prose has already lost the structural
boilerplate, so a mode that drops more than half of what is left is dropping content, not chrome. The
fallback modes run with top-level nav/aside/header/footer pruned (``FALLBACK_PRUNE``): unpruned, balanced
mode brings back the site's header logo on every page. bench/extract_bench.py measures all of this on an
annotated set of 64 real zh/en pages (bench/extract_set/): snippet F1 0.60 -> 0.96 (zh) and 0.84 -> 0.95
(en) against precision alone, precision 0.97/0.96, F1 flat for min_kept_frac between 0.4 and 0.75; every
crawl page with 200+ prose characters yields text; cost +11% CPU per page (fallback runs on 18% of pages).

Prose is counted per script (corpus/extract_units.py): a Han character is worth ``han_char_weight`` = 3
Latin characters (measured on aligned en/zh text, bench/han_char_weight.py). With raw characters a zh page
held a third of the "prose" of its en original, so on short zh pages the 200-character minimum was not met,
the fallback never ran and precision's fragment was kept (the crawl's ``text/scalc/01/07080000.html``: 65
characters of zh against 472 of en). The minimum is counted in Latin-equivalent characters; the kept
fraction in both units. Measured (bench/extract_bench.py): annotated-set F1 unchanged (zh 0.960, en 0.954),
zh crawl paragraph recall 0.778 -> 0.784, the fallback runs on 18 more zh pages; en pages unchanged.

Why no wall-clock bound. A per-page wall-clock timeout made the curated output depend on how busy the
machine was (pages timed out under load and not at rest). Extraction cost is now bounded by the *size* of
the input, which is a property of the page: the decoded page is cut at ``max_html_chars`` and the parsed
tree at ``max_nodes`` elements (nesting is bounded at MAX_DEPTH: see ``parse_deep``). Measured on this machine,
trafilatura costs 25-150 µs per element even on hostile shapes (deep nesting, link farms, nested tables),
so 50,000 elements bound a page to a few CPU seconds per mode. Cuts are edits, counted in
``extract_html_chars_removed`` / ``extract_nodes_removed``. What remains is a last-resort guard against
a bug that loops: ``cpu_limit_s`` of CPU time of the extracting thread (``time.thread_time``, enforced by a
self-re-arming timer) and a generous ``wall_limit_s``. A page that hits it is not a decision about the
page: ``ExtractBudgetExceeded`` is raised and the runner quarantines the row with that error (an error,
not a decision: whether it fires depends on the machine, so a re-run of the shard may well extract it). The guard's exception is a ``BaseException`` while it unwinds through trafilatura, whose
``except Exception`` blocks would otherwise swallow it and return a half-extracted, load-dependent text.

Why each call runs fast first (``fast_first``). trafilatura's own readability/jusText comparison, which runs
inside every call unless ``fast``, is its remedy for the failure the fallback measures: an extraction that
keeps too little. So each call of the chain runs without it first, and only where that keeps too little of
the visible prose is the same mode run again as before, comparison on, before the next mode. Measured
(bench/extract_cost.py; 300 crawl pages x 5 interleaved rounds, CPU ms/page, ranges): bare trafilatura
5.7-6.2, the stage before 7.2-7.8 (79-80% of bare's speed), now 6.5-6.9 (88-91%). Precision: where the
fast call keeps enough the comparison changed no text on the shared crawl's 840 pages nor the annotated
set's 64, and about three pages in five end there. Fallback modes: 28 crawl and 8 annotated pages change;
annotated-set F1 zh 0.960 -> 0.960 (P 0.973 -> 0.956, R 0.947 -> 0.965: one page gains its text and its
"related topics" block), en unchanged; help-paragraph recall zh 0.784 -> 0.791, en 0.790; check-set
decisions unchanged. Turning the comparison off everywhere (``fast: true``, 127-132% of bare) loses text:
paragraph recall zh 0.748, en 0.764, one usable check-set page; off for precision only (105-109%) lost a
usable zh check-set page too, until the rejoin below (now none lost; 121-124% with the fallback calls fast first).

Why fallback lines are rejoined (``join_inline_runs``). When a fallback call's main extractor finds too little
(on short pages its link-density pass drops the whole content div: under 100 characters of text, which a
short zh page is, holding a link), trafilatura's baseline rescue takes the page, and when its paragraphs hold
under 100 characters too, it emits the body one text node per line: every <span> or <a> cuts a sentence into
three lines ("打开「" / "线条箭头" / "」工具栏。"), and chinese_web's mean line length then drops the page. Lines
that are adjacent text nodes of one line box of the page are joined again (in fallback modes only; the
precision call's text is never touched). Measured (bench/extract_splits.py, bench/extract_cost.py): lines
split inside one block of the page on fallback pages 44 (11 of 161 pages) -> 0, 11 of 840 crawl pages
change, annotated-set F1 and check-set decisions unchanged, +0.2 ms per fallback page.

Rows rejected as ``extract.no_content`` keep the first 2,000 characters of the page's visible text in
``extract_visible`` (the raw HTML is transient and never written), so ``corpus inspect --stage extract``
shows what the page held. Rows that already carry text (JSONL, Parquet, WET) pass through untouched.
"""

from __future__ import annotations

import bisect
import dataclasses
import html as htmllib
import re
import signal
import threading
import time
from typing import Any, Callable, ClassVar, TypeVar

import pyarrow as pa
from lxml import etree

from corpus.registry import register
from corpus.step import Step, mark, set_column
from filters.charset import decode, looks_binary
from corpus.extract_units import HAN_CHAR_WEIGHT, keeps_enough, latin_equiv
from corpus.textunits import han_count
from corpus.errors import Transient

_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.I | re.S)
VISIBLE_KEEP_CHARS = 2000  # what extract_visible keeps of a page that yielded nothing
MODES = ("precision", "balanced", "recall")
T = TypeVar("T")


def html_title(page: str) -> str | None:
    """The <title> of a page: what trafilatura's metadata pass would mostly find, at a fraction of its cost."""
    m = _TITLE.search(page, 0, 65536)
    return " ".join(htmllib.unescape(m.group(1)).split()) or None if m else None


# ---------------------------------------------------------------------------------------------------------
# visible text

# Elements whose content a reader does not read as the page's text: code and metadata, site chrome
# (navigation, header, footer, sidebars), and form controls.
CHROME = frozenset({
    "script", "style", "noscript", "template", "head", "title", "meta", "link", "svg", "math", "canvas",
    "iframe", "object", "embed", "nav", "header", "footer", "aside", "form", "button", "select", "option",
    "textarea", "input", "label", "dialog", "menu",
})
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)


def _hidden(el: etree._Element) -> bool:
    # el.get, not el.attrib: no attribute proxy per element (this runs on every element of every page)
    if el.get("hidden") is not None or el.get("aria-hidden") == "true":
        return True
    style = el.get("style")
    return style is not None and bool(_HIDDEN_STYLE.search(style))


@dataclasses.dataclass
class Visible:
    """What a browser shows of a page without scripts, minus chrome: ``text`` (whitespace collapsed),
    ``prose_chars``, its non-space characters outside links (link text is mostly navigation), and
    ``prose_han``, the Han characters among them, which give ``prose_equiv()``, the prose in Latin-equivalent
    characters (a Han character counts as ``HAN_CHAR_WEIGHT``, corpus/extract_units.py): the unit the fallback
    decides in, so that a zh page and its en original hold the same amount of prose."""
    text: str
    prose_chars: int
    prose_han: int = 0  # Han characters among prose_chars

    def prose_equiv(self, han_weight: float = HAN_CHAR_WEIGHT) -> float:
        return latin_equiv(self.prose_chars, self.prose_han, han_weight)


def visible_text(tree: etree._Element) -> Visible:
    """One pass over the parsed tree (trafilatura's parser has already removed comments)."""
    pieces: list[str] = []
    prose = han = 0
    links = 0  # open <a> elements around the current position
    walk = etree.iterwalk(tree, events=("start", "end"))
    for event, el in walk:
        tag = el.tag  # read once: each read builds a new string
        if event == "start":
            links += tag == "a"
            if tag in CHROME or _hidden(el):
                walk.skip_subtree()  # its "end" still comes, so its tail is counted in the parent's context
                continue
            text = el.text
        else:
            links -= tag == "a"
            text = el.tail if el is not tree else None
        in_link = links > 0
        if text and not text.isspace():
            pieces.append(text)
            if not in_link:
                prose += _chars(text)
                han += han_count(text)
    return Visible(" ".join(" ".join(pieces).split()), prose, han)


def _chars(s: str) -> int:
    return len(s) - sum(s.count(c) for c in " \t\n\r\xa0\u3000")


# ---------------------------------------------------------------------------------------------------------
# size bounds


def cut_nodes(tree: etree._Element, max_nodes: int) -> int:
    """Truncate the document after its ``max_nodes``-th element in document order (what cutting the HTML at
    that element would give) and return how many elements were removed."""
    # XPath counts in C without building an element proxy per node; every node tree.iter() yields (elements,
    # comments, processing instructions) is a node here, and text nodes only raise the count, so below the
    # bound nothing can be cut and the Python walk is skipped (all but the largest pages)
    if tree.xpath("count(descendant-or-self::node())") < max_nodes:
        return 0
    last = None
    for n, el in enumerate(tree.iter(), 1):
        if n == max_nodes:
            last = el
            break
    if last is None:
        return 0
    removed = 0
    for child in list(last):
        removed += sum(1 for _ in child.iter())
        last.remove(child)
    node = last
    while (parent := node.getparent()) is not None:
        for sib in list(node.itersiblings()):
            removed += sum(1 for _ in sib.iter())
            parent.remove(sib)
        node = parent
    return removed


# Nesting. libxml2 stops parsing at 256 levels of nesting and drops the rest of the page without a word (only
# its error log says "Excessive depth"): unclosed <font>, <div> or <table> tags on real pages nest that deep, so
# everything after the deep point, often most of the page, was lost. Such a page is parsed again with libxml2's
# huge-tree option (2,048 levels) and the elements deeper than MAX_DEPTH are unwrapped (their text and children
# move up into their ancestor at that depth): the text stays, and trafilatura's recursive passes see a tree no
# deeper than a normal page's. Only a page deeper than 2,048 levels still loses its rest; its row says so in
# ``extract_too_deep``. MAX_DEPTH stays a little under libxml2's 256, so that a flattened tree trafilatura
# serializes and parses again (its readability port does) is not cut by the normal limit.
MAX_DEPTH = 250
_DEPTH_ERROR = "Excessive depth"


def _too_deep(parser: etree.HTMLParser) -> bool:
    """Whether the parser's last run stopped at its nesting limit."""
    return any(_DEPTH_ERROR in e.message for e in parser.error_log)


def parse_deep(page: str) -> tuple[etree._Element | None, bool]:
    """The page parsed again without libxml2's 256-level limit (2,048), its elements deeper than MAX_DEPTH
    unwrapped; and whether even that parse stopped at its limit (the rest of the page is then lost)."""
    import lxml.html

    parser = lxml.html.HTMLParser(collect_ids=False, default_doctype=False, encoding="utf-8", remove_comments=True,
                                  remove_pis=True, huge_tree=True)  # trafilatura's parser options, plus huge_tree
    try:
        tree = lxml.html.fromstring(page.encode("utf-8", "surrogatepass"), parser=parser)
    except etree.ParserError:
        return None, False
    deep = []
    depth = 0
    for event, el in etree.iterwalk(tree, events=("start", "end")):
        depth += 1 if event == "start" else -1
        if event == "start" and depth > MAX_DEPTH:
            deep.append(el)
    for el in reversed(deep):  # innermost first
        el.drop_tag()
    return tree, _too_deep(parser)


# ---------------------------------------------------------------------------------------------------------
# last-resort guard


class ExtractBudgetExceeded(Transient):
    """A page used more CPU or wall time than any page of bounded size should: a bug or a hostile page the size
    bounds did not foresee. Raised so the runner quarantines the row (an error, retried by a re-run), never
    recorded as a decision about the page, since whether it fires depends on the machine."""


class _Expired(BaseException):
    """Raised from the timer while trafilatura runs; a BaseException so its ``except Exception`` cannot keep it."""


class Guard:
    """CPU time of this thread (``time.thread_time``) and wall time, per page.

    In the main thread a wall-clock timer wakes the handler, which compares the thread's CPU time with the
    budget and re-arms for what is left (CPU time never runs ahead of wall time, so it cannot overshoot).
    Elsewhere signals are unavailable and the budget is checked when the page is done, so the outcome (a
    quarantined row) is the same, only later. In the main thread a page that ends before the first alarm cannot
    be over (its wall time, and so its CPU time, is under both budgets): the CPU clock is read once per page,
    not three times (a thread's CPU clock is a system call, 0.1 ms after a busy page in some sandboxes)."""

    def __init__(self, cpu_s: float, wall_s: float) -> None:
        self.cpu_s, self.wall_s = cpu_s, wall_s
        self.timer = (cpu_s > 0 or wall_s > 0) and threading.current_thread() is threading.main_thread()

    def _left(self) -> float:
        left = [b - used for b, used in ((self.cpu_s, time.thread_time() - self.cpu0),
                                         (self.wall_s, time.monotonic() - self.wall0)) if b > 0]
        return min(left)

    def _over(self) -> str | None:
        cpu, wall = time.thread_time() - self.cpu0, time.monotonic() - self.wall0
        if self.cpu_s > 0 and cpu >= self.cpu_s:
            return f"page used {cpu:.1f} s of CPU (cpu_limit_s={self.cpu_s:g})"
        if self.wall_s > 0 and wall >= self.wall_s:
            return f"page took {wall:.1f} s of wall time (wall_limit_s={self.wall_s:g})"
        return None

    def _on_alarm(self, signum, frame) -> None:
        if not self.armed:  # a late alarm after the page finished: nothing to bound any more
            return
        self.expired = self._over()
        if self.expired:
            raise _Expired()
        signal.setitimer(signal.ITIMER_REAL, max(self._left(), 0.001))

    def _disarm(self, old: Any) -> None:
        self.armed = False  # first: from here on the handler cannot raise
        if self.timer:
            signal.setitimer(signal.ITIMER_REAL, 0)
            if old is not None:
                signal.signal(signal.SIGALRM, old)

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` under the budget; raises ExtractBudgetExceeded when it is spent, whatever ``fn`` caught.

        The timer's exception can surface anywhere, even inside the cleanup below, so the whole call sits in
        one outer ``except _Expired``; the handler raises only while armed and re-arms only when it does not
        raise, so once it has raised no further alarm can come."""
        self.expired: str | None = None
        self.armed = False
        self.cpu0, self.wall0 = time.thread_time(), time.monotonic()
        old = None
        try:
            try:
                if self.timer:
                    old = signal.signal(signal.SIGALRM, self._on_alarm)
                    self.armed = True
                    signal.setitimer(signal.ITIMER_REAL, max(min(b for b in (self.cpu_s, self.wall_s) if b > 0), 1e-6))  # 0 disarms
                result = fn(*args)
            finally:
                self._disarm(old)
        except _Expired:
            self._disarm(old)
            raise ExtractBudgetExceeded(self.expired or "page over its budget") from None
        # also when the library swallowed the timer's exception (the handler set expired), or when no timer could
        # run (not main thread)
        why = self.expired if self.timer else self._over() if (self.cpu_s > 0 or self.wall_s > 0) else None
        if why:
            raise ExtractBudgetExceeded(why)
        return result


# ---------------------------------------------------------------------------------------------------------
# the stage


ENGINES = ("trafilatura", "resiliparse")


@dataclasses.dataclass
class ExtractParams:
    # trafilatura: the careful path (precision mode with per-page fallback); resiliparse: resiliparse's C DOM
    # and text pass plus our own boilerplate pruning (corpus/resiliparse_extract.py), many times faster. The
    # fallback, min_kept_frac, min_visible_chars and size bounds apply to both; the trafilatura options
    # (fast, favor_precision, include_tables, metadata) only to trafilatura.
    engine: str = "trafilatura"
    # trafilatura options; fast=True skips trafilatura's own fallback extractors (faster, a little less recall).
    fast: bool = False
    # With fast false, each call of the precision-first chain runs with trafilatura's fast=True first, and only where
    # that keeps too little (keeps_enough, the fallback's own test) again as before, with trafilatura's
    # readability/jusText comparison, trafilatura's remedy for the failure our fallback measures (a short
    # extraction). Measured in the module docstring: 79% -> 88-91% of bare trafilatura's speed, F1 and check set
    # unchanged, the precision call's text unchanged on every page measured. Not when the recipe starts in
    # balanced mode (favor_precision false: there the comparison changed 112 of 904 pages the fast call handled,
    # unmeasured for quality), nor with metadata (fast also changes trafilatura's date search).
    fast_first: bool = True
    favor_precision: bool = True
    include_tables: bool = True
    # trafilatura's metadata pass (title/date/author detection, htmldate) costs about a third of extraction
    # time. Off: title from <title>, date = capture date (WARC-Date). On: the page's own title and date.
    metadata: bool = False
    # Per-page fallback (balanced, then recall) when the first mode returns nothing, or less than
    # min_kept_frac of the page's visible prose on a page with at least min_visible_chars of it. Both count
    # Latin-equivalent characters: a Han character is worth han_char_weight = 3 (corpus/extract_units.py,
    # measured on aligned en/zh help paragraphs and gettext catalogs), so the same prose holds the same count
    # in zh and en. 1 counts raw characters (the behaviour before: zh pages needed 3x the content).
    fallback: bool = True
    min_kept_frac: float = 0.5
    min_visible_chars: int = 200
    han_char_weight: float = HAN_CHAR_WEIGHT
    # Size bounds (deterministic): the decoded page is cut at max_html_chars, the parsed tree after
    # max_nodes elements. They bound extraction cost by the page itself, not by the machine's load.
    max_html_chars: int = 2_000_000
    max_nodes: int = 50_000
    # Last-resort guard, per page, for pages the size bounds did not foresee: over it the row is quarantined
    # with an error (and retried by a re-run), never rejected. 0 turns a limit off.
    cpu_limit_s: float = 60.0
    wall_limit_s: float = 600.0
    # Deprecated: the old wall-clock bound. If set, it is read as cpu_limit_s (its hits are quarantined).
    timeout_s: float | None = None

    ranges: ClassVar[dict[str, tuple[float | None, float | None]]] = {
        "max_html_chars": (1_000, None), "max_nodes": (100, None), "han_char_weight": (1, None)}

    def validate(self) -> str | None:
        if self.engine not in ENGINES:
            return f"engine must be one of {', '.join(ENGINES)}, not {self.engine!r}"
        if self.engine == "resiliparse" and self.metadata:
            return "metadata: true needs engine: trafilatura (resiliparse takes the title from <title>)"
        if self.timeout_s is not None and self.cpu_limit_s != ExtractParams.cpu_limit_s:
            return "timeout_s is the old name of cpu_limit_s: set only cpu_limit_s"
        if self.wall_limit_s and self.cpu_limit_s > self.wall_limit_s:
            return "cpu_limit_s must not exceed wall_limit_s (a thread's CPU time never exceeds its wall time)"
        return None

    def cpu_budget(self) -> float:
        return self.timeout_s if self.timeout_s is not None else self.cpu_limit_s


@dataclasses.dataclass
class Extracted:
    text: str | None
    title: str | None
    date: str | None
    mode: str | None
    visible: Visible | None
    chars_removed: int = 0
    nodes_removed: int = 0
    too_deep: bool = False  # nested past 2,048 levels: the rest of the page could not be parsed (parse_deep)


# Site chrome the fallback modes must not let back in: balanced and recall modes keep what precision would
# drop, including a header's logo line or a footer. Headers and footers inside an article or main element
# are the article's own (title, byline) and stay.
FALLBACK_PRUNE = ["//nav", "//aside", "//header[not(ancestor::article or ancestor::main)]",
                  "//footer[not(ancestor::article or ancestor::main)]"]


def _run_mode(tree: etree._Element, mode: str, url: str | None, p: ExtractParams, fast: bool | None = None):
    """One trafilatura call in ``mode``; ``fast`` overrides ``p.fast`` (the fast-first call)."""
    import trafilatura  # here, not at the top: the driver validates the recipe without trafilatura's 20 MB

    return trafilatura.bare_extraction(
        tree, url=url, fast=p.fast if fast is None else fast, favor_precision=mode == "precision",
        favor_recall=mode == "recall",
        include_comments=False, include_tables=p.include_tables, with_metadata=p.metadata,
        date_extraction_params={"extensive_search": False, "original_date": True},
        prune_xpath=FALLBACK_PRUNE if mode != "precision" and p.fallback else None,
    )


# Elements that end a line box where they start and end (CSS block and list items, table cells, <br>): text on
# either side of one is never the same line of the page. Everything else (span, a, b, em, font, ...) is inline.
LINE_BREAKING = frozenset({
    "address", "article", "aside", "blockquote", "body", "br", "caption", "center", "dd", "details", "dialog", "div",
    "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "html", "legend", "li", "main", "menu", "nav", "ol", "p", "section", "summary", "table", "tbody",
    "td", "tfoot", "th", "thead", "tr", "ul",
})
_VERBATIM = frozenset({"pre", "code", "textarea", "listing", "xmp", "plaintext"})  # newlines there are the page's


def _runs(tree: etree._Element) -> tuple[list[str], list[tuple[int, bool, bool]]]:
    """The page's text nodes in document order, each trimmed as trafilatura trims them (whitespace collapsed),
    with the id of the line box it sits in (a new id at every line-breaking element's start and end; every
    node of verbatim text is a line box of its own) and whether whitespace precedes / follows it there."""
    texts: list[str] = []
    info: list[tuple[int, bool, bool]] = []  # (line box, space before, space after)
    run = 0
    space = False  # whitespace since the last kept text node, in this line box
    verbatim = 0  # open verbatim elements

    def emit(text: str | None) -> None:
        nonlocal run, space
        if not text:
            return
        if text.isspace():
            space = True
            return
        if verbatim:
            run += 1
        texts.append(" ".join(text.split()))
        info.append((run, space or text[0].isspace(), text[-1].isspace()))
        space = text[-1].isspace()

    walk = etree.iterwalk(tree, events=("start", "end"))
    for event, el in walk:
        tag = el.tag
        if not isinstance(tag, str):  # comments, processing instructions: only their tail is text
            if event == "end":
                emit(el.tail)
            continue
        breaks = tag in LINE_BREAKING
        if event == "start":
            if tag in CHROME:  # never text a reader sees, and never a line of ours (trafilatura drops it too)
                walk.skip_subtree()
                continue
            if breaks:
                run, space = run + 1, False
            verbatim += tag in _VERBATIM
            emit(el.text)
        else:
            verbatim -= tag in _VERBATIM and tag not in CHROME
            if breaks:
                run, space = run + 1, False
            if el is not tree:
                emit(el.tail)
    return texts, info


def join_inline_runs(text: str, tree: etree._Element) -> str:
    """Rejoin the lines of ``text`` that are consecutive pieces of one line of the page.

    trafilatura's baseline rescue, the path a fallback call takes when its main extractor finds too little
    (short pages: under 100 characters of paragraph text, i.e. most short zh pages), ends by emitting the
    page body one text node per line; so every inline element (span, a, b, em) cuts its sentence into
    three lines ("打开「" / "线条箭头" / "」工具栏。"). Here each output line is matched, in document order, to
    a text node of the page (trimmed as trafilatura trims), and two consecutive output lines matched to two
    adjacent text nodes of the same line box (no block element, list item, cell or <br> between them on the
    page) become one line again, joined by a space where the page has whitespace between them: the joined
    line is then a piece of the page's own line, whatever occurrence of a repeated text was matched. Lines that match
    no single text node (a whole paragraph, a table row) are never joined, so text that already reads like
    the page is left as it is; only newlines are removed, so what the fallback counted is unchanged."""
    lines = text.split("\n")
    if len(lines) < 2:
        return text
    texts, info = _runs(tree)
    where: dict[str, list[int]] = {}
    for i, t in enumerate(texts):
        where.setdefault(t, []).append(i)
    out: list[str] = []
    prev = -1  # the text node the previous line matched, -1 if it matched none
    pos = -1  # document-order position reached so far
    for line in lines:
        key = " ".join(line.split())
        cands = where.get(key) if key else None
        cur = -1
        if cands:
            k = bisect.bisect_right(cands, pos)
            if k < len(cands):
                cur = cands[k]
                pos = cur
        if cur == prev + 1 and prev >= 0 and info[cur][0] == info[prev][0]:
            sep = " " if info[prev][2] or info[cur][1] else ""
            out[-1] = out[-1] + sep + line.strip()
        else:
            out.append(line)
        prev = cur
    return "\n".join(out)


def _kept(doc: Any, vis: Visible, p: ExtractParams) -> tuple[float, bool]:
    """What a call kept, in Latin-equivalent characters, and whether that is enough to end the fallback."""
    text = (doc.text or "") if doc is not None else ""
    n, han = _chars(text), han_count(text)
    enough = keeps_enough(n, han, vis.prose_chars, vis.prose_han, p.min_kept_frac, p.min_visible_chars,
                          p.han_char_weight)
    return latin_equiv(n, han, p.han_char_weight), enough


def extract_page(page: str, url: str | None, p: ExtractParams) -> Extracted:
    """Extract one decoded page under the size bounds, with the per-page fallback. Pure and deterministic:
    the guard around it only ever raises."""
    chars_removed = max(0, len(page) - p.max_html_chars)
    if p.engine == "resiliparse":
        from corpus.resiliparse_extract import extract_fast

        got = extract_fast(page[: p.max_html_chars], p.max_nodes, p.min_kept_frac, p.min_visible_chars,
                           p.fallback, p.han_char_weight)
        return Extracted(got.text, None, None, got.mode, Visible(got.visible_text, got.prose_chars, got.prose_han),
                         chars_removed, got.nodes_removed)
    from trafilatura.utils import HTML_PARSER, load_html

    tree = load_html(page[: p.max_html_chars])  # trafilatura's own parse (repairs, encoding checks)
    too_deep = False
    if tree is not None and _too_deep(HTML_PARSER):
        tree, too_deep = parse_deep(page[: p.max_html_chars])
    if tree is None:
        return Extracted(None, None, None, None, None, chars_removed)
    nodes_removed = cut_nodes(tree, p.max_nodes)
    vis = visible_text(tree)
    first = "precision" if p.favor_precision else "balanced"
    chain = MODES[MODES.index(first):] if p.fallback else (first,)
    # the minimum in Latin-equivalent characters, the fraction in both units (corpus/extract_units.py)
    best = None  # (Latin-equivalent characters, mode, doc)
    fast_first = p.fast_first and p.favor_precision and not p.fast and not p.metadata
    for mode in chain:
        if fast_first:
            # trafilatura's comparison off first (ExtractParams.fast_first); where that keeps too little, the
            # call as it always was replaces this one
            doc = _run_mode(tree, mode, url, p, fast=True)
            kept, enough = _kept(doc, vis, p)
            if enough:
                best = (kept, mode, doc)
                break
        doc = _run_mode(tree, mode, url, p)
        kept, enough = _kept(doc, vis, p)
        if kept and (best is None or kept > best[0]):
            best = (kept, mode, doc)
        if enough:
            best = (kept, mode, doc)
            break
    if best is None:
        return Extracted(None, None, None, None, vis, chars_removed, nodes_removed, too_deep)
    _, mode, doc = best
    text = doc.text
    if mode != "precision" and text:  # a fallback mode's text: inline runs cut into lines are rejoined
        text = join_inline_runs(text, tree)
    return Extracted(text, doc.title if p.metadata else None, doc.date if p.metadata else None, mode, vis,
                     chars_removed, nodes_removed, too_deep)


@register
class Extract(Step):
    name = "extract"
    Params = ExtractParams
    outputs = [pa.field("title", pa.string()), pa.field("date", pa.string()),
               pa.field("extract_mode", pa.string()), pa.field("extract_visible", pa.string()),
               pa.field("extract_html_chars_removed", pa.int64()), pa.field("extract_nodes_removed", pa.int64()),
               pa.field("extract_too_deep", pa.bool_())]
    requires = ("_html",)
    also_provides = ("text",)

    def __call__(self, table: pa.Table) -> pa.Table:
        p: ExtractParams = self.params
        html = table.column("_html").to_pylist()
        charset = table.column("_http_charset").to_pylist()
        urls = table.column("url").to_pylist()
        texts = table.column("text").to_pylist()
        titles = table.column("title").to_pylist()
        dates = table.column("date").to_pylist()
        n = table.num_rows
        reasons: list[str | None] = [None] * n
        modes: list[str | None] = [None] * n
        shown: list[str | None] = [None] * n
        chars_cut, nodes_cut, too_deep = [0] * n, [0] * n, [False] * n
        guard = Guard(p.cpu_budget(), p.wall_limit_s)
        if p.engine == "trafilatura":
            from filters.trafilatura_tuning import tune  # here, as trafilatura: not in the driver

            tune()  # trafilatura without three fixed costs, same output (filters/trafilatura_tuning.py)
        for i, data in enumerate(html):
            if data is None:
                if not texts[i]:
                    reasons[i] = "extract.no_content"
                continue
            if looks_binary(data):
                reasons[i] = "extract.binary_payload"
                continue
            page, _ = decode(data, charset[i])
            got = guard.run(extract_page, page, urls[i], p)
            chars_cut[i], nodes_cut[i], too_deep[i] = got.chars_removed, got.nodes_removed, got.too_deep
            if not (got.text or "").strip():
                reasons[i] = "extract.no_content"
                shown[i] = got.visible.text[:VISIBLE_KEEP_CHARS] if got.visible and got.visible.text else None
                continue
            texts[i] = got.text
            modes[i] = got.mode
            titles[i] = got.title or html_title(page) or titles[i]
            dates[i] = got.date or dates[i]
        table = set_column(table, "text", texts, pa.string())
        table = set_column(table, "title", titles, pa.string())
        table = set_column(table, "date", dates, pa.string())
        table = set_column(table, "extract_mode", modes, pa.string())
        table = set_column(table, "extract_visible", shown, pa.string())
        table = set_column(table, "extract_html_chars_removed", chars_cut, pa.int64())
        table = set_column(table, "extract_nodes_removed", nodes_cut, pa.int64())
        table = set_column(table, "extract_too_deep", too_deep, pa.bool_())
        return mark(table.drop_columns(["_html"]), reasons)
