"""Pipeline recipes: short YAML files validated against typed parameter dataclasses before anything runs.

A recipe error names the file, the stage and the valid choices, and the CLI exits with code 2, so a typo
costs seconds instead of a cluster hour.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from pathlib import Path
from typing import Any, ClassVar

import yaml

from corpus.errors import UserError
from corpus.registry import stages
from corpus.step import SHARED_COLUMNS, Step


class RecipeError(UserError, ValueError):
    """A recipe that cannot run; the message says where and what to write instead."""


@dataclasses.dataclass
class ReadParams:
    ranges: ClassVar[dict[str, tuple[float | None, float | None]]] = {"max_record_bytes": (1, None), "batch_size": (1, 1_000_000)}
    # Records above this many payload bytes are rejected (read.too_large) before they are parsed.
    max_record_bytes: int = 4_000_000
    # Rows per Arrow batch handed to the stages; bounds a worker's memory.
    batch_size: int = 256
    # JSONL / Parquet inputs: which field holds the text, the url, the date.
    text_key: str = "text"
    url_key: str = "url"
    date_key: str = "date"
    # Remote inputs (s3://, gs://, hf://, https://): keyword options for their fsspec filesystem (anon, requester_pays,
    # endpoint_url, client_kwargs, …); --storage-option KEY=VALUE adds to them. Keep secrets out of a recipe: it is
    # recorded in manifest.json; credentials come from the environment, ~/.aws or an instance role.
    storage_options: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class StageSpec:
    name: str  # stage name as written in the recipe (unique within it)
    kind: str  # registry name
    params: Any


@dataclasses.dataclass
class Recipe:
    name: str
    path: str
    read: ReadParams
    stages: list[StageSpec]
    raw: dict

    def build(self) -> list[Step]:
        registry = stages([s.kind for s in self.stages])
        return [registry[s.kind](s.params, stage_name=s.name) for s in self.stages]


def _type_ok(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if hint is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if origin is list:
        (inner,) = typing.get_args(hint) or (Any,)
        return isinstance(value, list) and all(_type_ok(v, inner) for v in value)
    if origin is dict:
        k, v = typing.get_args(hint) or (Any, Any)
        return isinstance(value, dict) and all(_type_ok(a, k) and _type_ok(b, v) for a, b in value.items())
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) if typing.get_origin(hint) is None else str(hint).replace("typing.", "")


# Every numeric parameter has a range, checked when the recipe is parsed. Without a declaration (a ``ranges``
# ClassVar on the params dataclass) a number must be >= 0 (no count, length, density or perplexity is negative:
# a negative threshold silently rejects or keeps everything), and a ratio, fraction, score or threshold must be
# within [0, 1]. The rule applies to numbers inside lists and mappings too, and inside ``overrides:``.
_UNIT = re.compile(r"(ratio|frac|score|threshold|_thr)(\b|_|$)")


def param_range(cls: type, name: str) -> tuple[float | None, float | None]:
    declared = getattr(cls, "ranges", {})
    if name in declared:
        return declared[name]
    return (0, 1) if _UNIT.search(name) else (0, None)


def _numbers(value: Any) -> list[float]:
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float)):
        return [value]
    if isinstance(value, list):
        return [n for v in value for n in _numbers(v)]
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    return []


def _range_problem(cls: type, name: str, value: Any) -> str | None:
    lo, hi = param_range(cls, name)
    for n in _numbers(value):
        if math.isnan(n) or (lo is not None and n < lo) or (hi is not None and n > hi):
            bound = f"within [{lo}, {hi}]" if hi is not None else f">= {lo}"
            return f"{name} must be {bound}, got {value!r}"
    return None


def _check_values(cls: type, values: dict, where: str) -> None:
    """Unknown keys, types and ranges of one mapping of parameters (a stage's, or one language's overrides)."""
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    for key, value in values.items():
        if key not in fields:
            valid = ", ".join(sorted(fields)) or "(none)"
            raise RecipeError(f"{where}: unknown parameter {key!r}; valid parameters: {valid}")
        if not _type_ok(value, hints[key]):
            raise RecipeError(
                f"{where}: parameter {key!r} must be {_type_name(hints[key])}, got {value!r} ({type(value).__name__})"
            )
        problem = _range_problem(cls, key, value) if key != "overrides" else None  # checked per language
        if problem:
            raise RecipeError(f"{where}: {problem}")


def _validated(params: Any, where: str) -> Any:
    check = getattr(params, "validate", None)
    problem = check() if check is not None else None
    if problem:
        raise RecipeError(f"{where}: {problem}")
    return params


def build_params(cls: type, values: Any, where: str) -> Any:
    """Instantiate a params dataclass from a YAML mapping, rejecting unknown keys, wrong types and out-of-range
    numbers. Per-language ``overrides`` get the same checks, and each language's merged parameters are validated
    as a whole, so ``overrides: {zh: {min_doc_words: -1}}`` fails here, not as a silent drop of every zh page."""
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise RecipeError(f"{where}: parameters must be a mapping, got {type(values).__name__}")
    _check_values(cls, values, where)
    params = _validated(cls(**values), where)
    for lang, override in (getattr(params, "overrides", None) or {}).items():
        at = f"{where} overrides.{lang}"
        if not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z]{2,4})?", str(lang)):
            raise RecipeError(f"{at}: overrides are keyed by language code (zh, en, zh-Hant), got {lang!r}")
        if {"overrides", "label_only"} & set(override):
            raise RecipeError(f"{at}: overrides cannot set overrides or label_only")
        _check_values(cls, override, at)
        _validated(dataclasses.replace(params, **override), at)
    return params


_ALIAS = re.compile(r"[a-z][a-z0-9_]{0,63}")


def parse(doc: Any, path: str) -> Recipe:
    if not isinstance(doc, dict):
        raise RecipeError(f"{path}: a recipe is a mapping with 'name' and 'stages'")
    unknown = set(doc) - {"name", "description", "read", "stages"}
    if unknown:
        raise RecipeError(f"{path}: unknown top-level key(s) {sorted(unknown)}; valid: description, name, read, stages")
    items = doc.get("stages")
    if not isinstance(items, list) or not items:
        raise RecipeError(f"{path}: 'stages' must be a non-empty list; available stages: {', '.join(sorted(stages()))}")
    registry = stages([i if isinstance(i, str) else next(iter(i)) for i in items if isinstance(i, (str, dict)) and i])
    specs: list[StageSpec] = []
    for i, item in enumerate(items):
        where = f"{path}: stages[{i}]"
        if isinstance(item, str):
            kind, values = item, {}
        elif isinstance(item, dict) and len(item) == 1:
            kind, values = next(iter(item.items()))
        else:
            raise RecipeError(f"{where}: write each stage as 'NAME' or 'NAME: {{params}}', got {item!r}")
        if kind not in registry:
            raise RecipeError(f"{where}: unknown stage {kind!r}; available stages: {', '.join(sorted(registry))}")
        name = kind
        if isinstance(values, dict) and "as" in values:
            values = dict(values)
            name = values.pop("as")
            if not isinstance(name, str) or not _ALIAS.fullmatch(name):
                raise RecipeError(f"{where}: 'as' must be an identifier (lower-case letters, digits, _), got {name!r}")
        if name in {s.name for s in specs} or name == "read":
            raise RecipeError(f"{where}: stage name {name!r} used twice; give one of them 'as: OTHER_NAME'")
        specs.append(StageSpec(name, kind, build_params(registry[kind].Params, values, f"{where} ({kind})")))
    read = build_params(ReadParams, doc.get("read"), f"{path}: read")
    check_order(specs, registry, path)
    return Recipe(str(doc.get("name") or Path(path).stem), path, read, specs, doc)


# Columns every reader fills; anything else a stage needs must come from a stage before it.
READER_COLUMNS = frozenset({"id", "url", "date", "source", "shard", "title", "text", "_html", "_http_charset", "_payload_bytes"})


def check_order(specs: list[StageSpec], registry: dict[str, type[Step]], path: str) -> None:
    """Each stage's ``requires`` must be produced by the reader or an earlier stage, and no two stages may write
    the same signal column. Without this, a rule placed before ``langid`` sees no language and applies English
    thresholds to every Chinese page, and the domain blocklist without ``format`` matches nothing, silently."""
    have = set(READER_COLUMNS)
    writer: dict[str, str] = {}
    for i, spec in enumerate(specs):
        cls = registry[spec.kind]
        missing = [c for c in cls.requires if c not in have]
        if missing:
            makers = sorted({s.kind for s in specs[i + 1:] if set(missing) & set(registry[s.kind].provides())})
            makers += sorted(k for k, c in stages().items() if set(missing) & set(c.provides()) and k not in makers)
            fix = (f"move '{spec.name}' after '{makers[0]}'" if any(s.kind == makers[0] for s in specs[i + 1:])
                   else f"add a '{makers[0]}' stage before it") if makers else "no stage provides it"
            raise RecipeError(f"{path}: stage '{spec.name}' needs column(s) {missing}, which no earlier stage writes; {fix}")
        for f in cls(spec.params, spec.name).columns():
            if f.name in writer and f.name not in SHARED_COLUMNS and not f.name.startswith("_"):
                raise RecipeError(f"{path}: stages '{writer[f.name]}' and '{spec.name}' both write column {f.name!r}; "
                                  f"name one of them with 'as: OTHER_NAME' (its columns become OTHER_NAME__<column>)")
            writer[f.name] = spec.name
        have.update(cls.provides())


def read_yaml(path: str | Path, error: type[Exception], missing: str) -> Any:
    """A YAML file parsed with ``safe_load`` (no tags that build objects); a missing or unparsable file is one
    ``error`` naming it, ``missing`` saying where such files live."""
    p = Path(path)
    if not p.is_file():
        raise error(f"{p}: {missing}")
    try:
        return yaml.safe_load(p.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise error(f"{p}: not valid YAML: {exc}") from None


def load(path: str | Path) -> Recipe:
    doc = read_yaml(path, RecipeError, "recipe file not found (recipes live in pipelines/, e.g. pipelines/default.yaml)")
    return parse(doc, str(path))
