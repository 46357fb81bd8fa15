"""The mixture spec (``corpus mix MIX.yaml``): which curated runs, which groups and what share of tokens each.

A spec is short YAML, parsed with ``yaml.safe_load`` and checked completely before any data is read, so a
typo costs a second. Every error names the key and what to write instead (exit 2).

Semantics, chosen so a spec reads the way a data engineer says it ("zh 50%, en 50%; maths x3"):

- ``groups`` are disjoint: a document belongs to the first group whose ``where`` matches it (list specific
  groups before general ones). Documents in no group are counted in the manifest as ``unassigned``.
- ``share`` is the group's fraction of the mixture's tokens; shares sum to 1.
- ``boost`` multiplies the weight of matching documents inside their group (maths x3: a maths document is
  drawn three times as often as a plain one of the same group); the group is then scaled to its share.
- ``rehydrate`` (FineWeb-2) multiplies a document's weight by a factor read from its dedup cluster size.
- ``max_epochs`` caps how many times any one document appears. A group that cannot reach its share under the
  cap is *short*; ``on_short: shrink`` (default) shrinks the total so every share still holds, ``fill`` keeps
  the budget and gives the missing tokens to the other groups in proportion to their shares.
- ``select`` decides which documents a group keeps when it needs fewer tokens than it has (and which get
  the extra copy of a fractional epoch): ``random`` (seeded) or ``{best: COLUMN}`` (highest first; add
  ``ascending: true`` for a score where lower is better, such as ``q_ppl``).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any


from corpus.errors import UserError

# FineWeb-2's published rehydration weights: cluster size (lower bound) -> copies of the kept document.
# Singletons once, small clusters N times, 5-99 five times, 100+ eight times, 1000+ once (likely spam).
FINEWEB2_REHYDRATION = {1: 1.0, 2: 2.0, 3: 3.0, 4: 3.0, 5: 5.0, 100: 8.0, 1000: 1.0}
TOP_KEYS = {"name", "sources", "tokenizer", "seed", "budget_tokens", "on_short", "max_epochs", "select", "groups",
            "boost", "rehydrate", "shards"}


class MixError(UserError, ValueError):
    """A mixture spec or source that `corpus mix` cannot work with; the message says what to write instead."""


Condition = dict[str, Any]  # column -> scalar | list of scalars | {min: x, max: y}


@dataclasses.dataclass(frozen=True)
class Select:
    by: str | None = None  # None: random
    ascending: bool = False

    def describe(self) -> str:
        return "random" if self.by is None else f"best by {self.by} ({'lowest' if self.ascending else 'highest'} first)"


@dataclasses.dataclass(frozen=True)
class Group:
    name: str
    where: Condition
    share: float
    max_epochs: int
    select: Select


@dataclasses.dataclass(frozen=True)
class Boost:
    where: Condition
    factor: float


@dataclasses.dataclass(frozen=True)
class Rehydrate:
    column: str
    weights: tuple[tuple[int, float], ...]  # (cluster size lower bound, factor), ascending

    def factor(self, sizes):
        """Factor per cluster size (null = a singleton: dedup writes no size for a document without duplicates)."""
        import numpy as np

        sizes = np.where(np.isnan(sizes), 1, sizes)
        bounds = np.array([b for b, _ in self.weights], dtype=np.float64)
        values = np.array([v for _, v in self.weights], dtype=np.float64)
        k = np.searchsorted(bounds, sizes, side="right") - 1
        return np.where(k >= 0, values[np.clip(k, 0, None)], 1.0)


@dataclasses.dataclass(frozen=True)
class MixSpec:
    name: str
    path: str
    sources: tuple[str, ...]
    tokenizer: str
    seed: int
    budget_tokens: int | None
    on_short: str
    groups: tuple[Group, ...]
    boosts: tuple[Boost, ...]
    rehydrate: Rehydrate | None
    shards: int | None
    raw: dict

    def columns(self) -> set[str]:
        """Every column the spec reads (checked against the data before any tokenizing)."""
        cols = {c for g in self.groups for c in g.where} | {c for b in self.boosts for c in b.where}
        cols |= {g.select.by for g in self.groups if g.select.by}
        if self.rehydrate:
            cols.add(self.rehydrate.column)
        return cols


def _err(path: str, msg: str) -> MixError:
    return MixError(f"{path}: {msg}")


def _condition(path: str, where: object, key: str) -> Condition:
    if not isinstance(where, dict) or not where:
        raise _err(path, f"{key}: 'where' must be a mapping of column to value, list of values or {{min: x, max: y}}, "
                         f"e.g. where: {{lang: zh, domain_tag: [maths, code]}}")
    for col, val in where.items():
        if isinstance(val, dict):
            if not val or set(val) - {"min", "max"} or not all(isinstance(v, (int, float)) for v in val.values()):
                raise _err(path, f"{key}: where.{col}: a range is {{min: NUMBER, max: NUMBER}} (either may be left out)")
        elif isinstance(val, list):
            if not val or any(isinstance(v, (dict, list)) for v in val):
                raise _err(path, f"{key}: where.{col}: a list must hold plain values, e.g. [maths, code]")
    return dict(where)


def _select(path: str, raw: object, key: str, default: Select) -> Select:
    if raw is None:
        return default
    if raw == "random":
        return Select()
    if isinstance(raw, dict) and set(raw) <= {"best", "ascending"} and isinstance(raw.get("best"), str):
        return Select(raw["best"], bool(raw.get("ascending", False)))
    raise _err(path, f"{key}: select is 'random' or {{best: COLUMN}} (add ascending: true when lower is better, e.g. q_ppl)")


def _epochs(path: str, raw: object, key: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        raise _err(path, f"{key}: max_epochs must be a whole number >= 1 (how many times one document may appear), got {raw!r}")
    return raw


def _rehydrate(path: str, raw: object) -> Rehydrate | None:
    if raw in (None, False):
        return None
    if raw is True:
        raw = {}
    if not isinstance(raw, dict) or set(raw) - {"column", "weights"}:
        raise _err(path, "rehydrate: true (FineWeb-2's weights on dup_cluster_size) or {column: COL, weights: {SIZE: FACTOR, ...}}")
    weights = raw.get("weights", FINEWEB2_REHYDRATION)
    try:
        pairs = tuple(sorted((int(k), float(v)) for k, v in weights.items()))
    except (AttributeError, TypeError, ValueError):
        raise _err(path, "rehydrate.weights: a mapping of cluster size lower bound to factor, e.g. {1: 1, 2: 2, 5: 5, 1000: 1}") from None
    if any(k < 1 or v <= 0 for k, v in pairs):
        raise _err(path, "rehydrate.weights: sizes are >= 1 and factors > 0")
    return Rehydrate(str(raw.get("column", "dup_cluster_size")), pairs)


def parse(doc: object, path: str = "<mix>") -> MixSpec:
    if not isinstance(doc, dict):
        raise _err(path, "a mixture spec is a YAML mapping with sources: and groups: (see pipelines/mix-example.yaml)")
    unknown = set(doc) - TOP_KEYS
    if unknown:
        raise _err(path, f"unknown key(s) {sorted(unknown)}; valid: {', '.join(sorted(TOP_KEYS))}")
    sources = doc.get("sources")
    if isinstance(sources, str):
        sources = [sources]
    if not sources or not all(isinstance(s, str) for s in sources):
        raise _err(path, "sources: a list of curated run folders (the --output of `corpus run`)")
    on_short = doc.get("on_short", "shrink")
    if on_short not in ("shrink", "fill"):
        raise _err(path, f"on_short must be shrink (keep every share, smaller total) or fill (keep the budget), got {on_short!r}")
    budget = doc.get("budget_tokens")
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int) or budget < 1):
        raise _err(path, f"budget_tokens: a whole number of tokens >= 1 (or leave it out), got {budget!r}")
    seed = doc.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise _err(path, f"seed must be an integer, got {seed!r}")
    shards = doc.get("shards")
    if shards is not None and (isinstance(shards, bool) or not isinstance(shards, int) or shards < 1):
        raise _err(path, f"shards: the number of output Parquet shards, a whole number >= 1, got {shards!r}")
    default_epochs = _epochs(path, doc.get("max_epochs", 4), "max_epochs")
    default_select = _select(path, doc.get("select"), "select", Select())
    raw_groups = doc.get("groups")
    if not isinstance(raw_groups, list) or not raw_groups:
        raise _err(path, "groups: a list of {name, where, share}, e.g. - {name: zh, where: {lang: zh}, share: 0.5}")
    groups, names = [], set()
    for i, g in enumerate(raw_groups):
        key = f"groups[{i}]"
        if not isinstance(g, dict) or set(g) - {"name", "where", "share", "max_epochs", "select"}:
            raise _err(path, f"{key}: a group has name, where, share and optionally max_epochs, select")
        name = g.get("name")
        if not isinstance(name, str) or not name or name in names:
            raise _err(path, f"{key}: every group needs a unique name")
        names.add(name)
        share = g.get("share")
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
            raise _err(path, f"{key} ({name}): share is the group's fraction of the mixture's tokens, in (0, 1], got {share!r}")
        groups.append(Group(name, _condition(path, g.get("where"), f"{key} ({name})"), float(share),
                            _epochs(path, g.get("max_epochs", default_epochs), f"{key} ({name})"),
                            _select(path, g.get("select"), f"{key} ({name})", default_select)))
    total = sum(g.share for g in groups)
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        raise _err(path, f"group shares sum to {total:g}; they must sum to 1")
    boosts = []
    for i, b in enumerate(doc.get("boost") or []):
        factor = b.get("factor") if isinstance(b, dict) else None
        if not isinstance(b, dict) or set(b) - {"where", "factor"} or isinstance(factor, bool) \
                or not isinstance(factor, (int, float)) or factor <= 0:
            raise _err(path, f"boost[{i}]: {{where: {{domain_tag: maths}}, factor: 3}} (factor > 0)")
        boosts.append(Boost(_condition(path, b.get("where"), f"boost[{i}]"), float(factor)))
    tokenizer = doc.get("tokenizer", "deepseek")
    if not isinstance(tokenizer, str):
        raise _err(path, "tokenizer: a tokenizer.json path or a shipped name (deepseek); use the one `corpus pack` will use")
    name = doc.get("name", Path(path).stem)
    return MixSpec(str(name), path, tuple(sources), tokenizer, seed, budget, on_short, tuple(groups), tuple(boosts),
                   _rehydrate(path, doc.get("rehydrate")), shards, doc)


def load(path: str) -> MixSpec:
    from corpus.recipe import read_yaml

    return parse(read_yaml(path, MixError, "mixture spec not found (an example: pipelines/mix-example.yaml)"), str(path))
