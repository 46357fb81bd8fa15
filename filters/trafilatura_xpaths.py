"""trafilatura's pruning XPaths as Python loops over the tree: the same elements, in the same order, for half the CPU.

Why. trafilatura's pruning passes test ids and classes with EXSLT ``re:test``, which lxml runs as one Python callback
per candidate element, through its generic extension-function machinery: two thirds of the XPath time, and the
XPaths were about 45% of a trafilatura call's CPU on the shared crawl. The same test written as a Python loop over
``iterdescendants`` calls the compiled regex directly: ``OVERALL_DISCARD_XPATH[0]`` takes 0.16 s instead of
0.37 s over the crawl's 990 trees.

What is compiled. Only the shape these expressions have, and only what XPath 1.0 defines exactly the same way in
Python: a path ``.//*`` or ``.//NAME`` with predicates built from ``or``, ``and``, ``not()``, ``self::NAME``,
attributes (``@a``, ``@a|@b``), string literals, ``@a='literal'``, ``contains``, ``starts-with``, ``translate``
with literal tables, ``re:test`` with a literal regex and flags, and ``.//NAME`` inside ``not()``; position 1 only as
``(PATH)[1]`` or a last predicate ``[1]``. Anything else (other positions, top-level unions, other functions or
axes) raises ``Unsupported`` and the caller keeps the XPath.

Semantics kept (XPath 1.0 on lxml's HTML trees, which have no namespaces):
- ``.//*`` is every descendant element of the context, in document order; ``self::n`` compares the tag.
- An attribute node set as a string is its first node in document order (source order of the attributes, what
  libxml2 gives and ``el.keys()`` lists), '' when empty; as a boolean, whether it is non-empty; ``= 'lit'`` is
  true when any of its nodes equals the literal.
- ``translate`` maps each character to the one at the same place, removes those past the end of the second
  table, the first occurrence in the table winning; ``re:test`` is lxml's: ``re.compile(R, re.UNICODE |
  re.IGNORECASE if 'i' in flags)`` and ``search``.
"""

from __future__ import annotations

import ast
import re
from typing import Any, Callable

from lxml import etree

_TOKEN = re.compile(r"\s*(?:('[^']*')|(self::[\w-]+)|(@[\w-]+)|(\.//(?:\*|[\w-]+))|(re:test|starts-with|[\w-]+)|([()\[\],|=]))")


class Unsupported(ValueError):
    """The expression is outside what this module compiles exactly."""


def _tokens(path: str) -> list[str]:
    out, pos, path = [], 0, path.strip()
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if not m or m.end() == pos:
            raise Unsupported(path[pos:pos + 20])
        out.append(m.group(m.lastindex))
        pos = m.end()
    return out


def _first(el: Any, names: tuple[str, ...]) -> str:
    """The string value of the node set ``@a|@b...``: the first present attribute in source order."""
    present = [n for n in names if el.get(n) is not None]
    if len(present) > 1:
        present = [k for k in el.keys() if k in names]
    return el.get(present[0]) if present else ""


def _has(el: Any, tag: str) -> bool:
    return next(el.iterdescendants(tag), None) is not None


class _Parser:
    """Recursive descent over one predicate; each node is (kind, Python source), kind in bool, str (computed), lit
    (a string literal, as its repr), attrs (names joined by |), desc (a tag)."""

    def __init__(self, tokens: list[str], env: dict[str, Any]) -> None:
        self.t, self.i, self.env = tokens, 0, env

    def peek(self) -> str | None:
        return self.t[self.i] if self.i < len(self.t) else None

    def take(self, want: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (want is not None and tok != want):
            raise Unsupported(f"expected {want!r}, got {tok!r}")
        self.i += 1
        return tok

    def name(self, value: Any) -> str:
        key = f"_c{len(self.env)}"
        self.env[key] = value
        return key

    def expr(self) -> tuple[str, str]:
        return self.binary("or", self.conj)

    def conj(self) -> tuple[str, str]:
        return self.binary("and", self.equality)

    def binary(self, op: str, operand: Callable[[], tuple[str, str]]) -> tuple[str, str]:
        parts = [operand()]
        while self.peek() == op:
            self.take()
            parts.append(operand())
        if len(parts) == 1:
            return parts[0]
        return "bool", "(" + f" {op} ".join(self.boolean(p) for p in parts) + ")"

    def equality(self) -> tuple[str, str]:
        left = self.primary()
        if self.peek() != "=":
            return left
        self.take()
        right = self.primary()
        if left[0] == "lit" and right[0] == "attrs":
            left, right = right, left
        if left[0] != "attrs" or right[0] != "lit":
            raise Unsupported("= other than attribute = literal")
        return "bool", "(" + " or ".join(f"el.get({n!r}) == {right[1]}" for n in left[1].split("|")) + ")"

    def primary(self) -> tuple[str, str]:
        tok = self.take()
        if tok == "(":
            inner = self.expr()
            self.take(")")
            return inner
        if tok.startswith("'"):
            return "lit", repr(tok[1:-1])
        if tok.startswith("self::"):
            return "bool", f"(el.tag == {tok[6:]!r})"
        if tok.startswith(".//") and tok != ".//*":  # .//* would need lxml's element-only filter here too
            return "desc", tok[3:]
        if tok.startswith("@"):
            names = [tok[1:]]
            while self.peek() == "|":
                self.take()
                nxt = self.take()
                if not nxt.startswith("@"):
                    raise Unsupported("union of non-attributes")
                names.append(nxt[1:])
            return "attrs", "|".join(names)
        if self.peek() == "(":
            return self.call(tok)
        raise Unsupported(tok)

    def call(self, fn: str) -> tuple[str, str]:
        self.take("(")
        args = [self.expr()]
        while self.peek() == ",":
            self.take()
            args.append(self.expr())
        self.take(")")
        if fn == "not" and len(args) == 1:
            return "bool", f"(not {self.boolean(args[0])})"
        if fn == "contains" and len(args) == 2:
            return "bool", f"({self.string(args[1])} in {self.string(args[0])})"
        if fn == "starts-with" and len(args) == 2:
            return "bool", f"{self.string(args[0])}.startswith({self.string(args[1])})"
        if fn == "translate" and len(args) == 3 and args[1][0] == args[2][0] == "lit":
            src, dst = ast.literal_eval(args[1][1]), ast.literal_eval(args[2][1])
            table: dict[int, int | None] = {}
            for k, ch in enumerate(src):
                table.setdefault(ord(ch), ord(dst[k]) if k < len(dst) else None)
            return "str", f"{self.string(args[0])}.translate({self.name(table)})"
        if fn == "re:test" and len(args) in (2, 3) and all(a[0] == "lit" for a in args[1:]):
            flags = ast.literal_eval(args[2][1]) if len(args) == 3 else ""
            try:
                rx = re.compile(ast.literal_eval(args[1][1]), re.UNICODE | (re.IGNORECASE if "i" in flags else 0))
            except re.error as exc:  # lxml raises at evaluation: keep its behaviour
                raise Unsupported(f"regex: {exc}") from None
            return "bool", f"({self.name(rx)}.search({self.string(args[0])}) is not None)"
        raise Unsupported(f"{fn}/{len(args)}")

    def boolean(self, node: tuple[str, str]) -> str:
        kind, src = node
        if kind == "bool":
            return src
        if kind in ("str", "lit"):
            return f"bool({src})"
        if kind == "attrs":
            return "(" + " or ".join(f"el.get({n!r}) is not None" for n in src.split("|")) + ")"
        return f"_has(el, {src!r})"

    def string(self, node: tuple[str, str]) -> str:
        kind, src = node
        if kind in ("str", "lit"):
            return src
        if kind == "attrs":
            names = src.split("|")
            return f"(el.get({names[0]!r}) or '')" if len(names) == 1 else f"_first(el, {tuple(names)!r})"
        raise Unsupported(f"{kind} as a string")


class CompiledXPath:
    """A callable with the XPath's call signature; ``path`` is the original expression. The loop runs from an
    element; anything else (a document) goes to ``xpath``, the expression as lxml compiled it."""

    def __init__(self, xpath: etree.XPath, select: Callable[[Any], list]) -> None:
        self.path, self._xpath, self._select = xpath.path, xpath, select

    def __call__(self, tree: Any) -> list:
        return self._select(tree) if isinstance(tree, etree._Element) else self._xpath(tree)


def compile_xpath(xpath: etree.XPath) -> CompiledXPath:
    """``xpath`` as a Python loop; ``Unsupported`` when it is not of the shape described in the module's docstring.
    A ``re:`` prefix is taken to be EXSLT's regular expressions, as in trafilatura's expressions."""
    path = xpath.path
    tokens = _tokens(path)
    # (PATH)[1]: the first match in document order; PATH[1]: each parent's first matching child (what the
    # abbreviation .//X[P][1], descendant-or-self::node()/child::X[P][1], means)
    first_only = tokens[:1] == ["("] and tokens[-4:] == [")", "[", "1", "]"]
    tokens = tokens[1:-4] if first_only else tokens
    per_parent = tokens[-3:] == ["[", "1", "]"]
    tokens = tokens[:-3] if per_parent else tokens
    if len(tokens) < 1 or not tokens[0].startswith(".//"):
        raise Unsupported("not a descendant path")
    tag, i, spans, preds = tokens[0][3:], 1, [], []
    env: dict[str, Any] = {"_first": _first, "_has": _has}
    while i < len(tokens):  # predicates: a nested [ ends up inside one and the parser refuses it
        if tokens[i] != "[" or "]" not in tokens[i:]:
            raise Unsupported(tokens[i])
        j = tokens.index("]", i)
        parser = _Parser(tokens[i + 1:j], env)
        node = parser.expr()
        if parser.peek() is not None:
            raise Unsupported(f"trailing {parser.peek()!r}")
        spans.append(tokens[i + 1:j])
        preds.append(parser.boolean(node))
        i = j + 1
    tags: tuple = (tag,)
    if tag == "*":
        tags = (etree.Element,)
        # a first predicate that only names tags becomes the iteration's own tag filter
        first = spans[0] if spans else []
        names = first[::2]
        if first and all(n.startswith("self::") for n in names) and all(o == "or" for o in first[1::2]):
            tags, preds = tuple(n[6:] for n in names), preds[1:]
    test = " and ".join(preds) or "True"
    env["_tags"] = tags
    if first_only:
        body = f"    for el in tree.iterdescendants(*_tags):\n        if {test}:\n            return [el]\n    return []\n"
    elif per_parent:  # document order meets each parent's children in order: its first match comes first
        body = (f"    out, seen = [], set()\n    for el in tree.iterdescendants(*_tags):\n        if {test}:\n"
                "            parent = el.getparent()\n            if parent not in seen:\n"
                "                seen.add(parent)\n                out.append(el)\n    return out\n")
    else:
        body = f"    return [el for el in tree.iterdescendants(*_tags) if {test}]\n"
    src = "def _select(tree):\n" + body
    exec(compile(src, f"<xpath {path.strip()[:60]}>", "exec"), env)  # noqa: S102 - source built above
    return CompiledXPath(xpath, env["_select"])
