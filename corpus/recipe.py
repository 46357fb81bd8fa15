"""Pipeline recipes: short YAML files validated against typed parameter dataclasses before anything runs.

A recipe error names the file, the stage and the valid choices, and the CLI exits with code 2, so a typo
costs seconds instead of a cluster hour.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any

import yaml

from corpus.registry import stages
from corpus.step import Step


class RecipeError(ValueError):
    """A recipe that cannot run; the message says where and what to write instead."""


@dataclasses.dataclass
class ReadParams:
    # Records above this many payload bytes are rejected (read.too_large) before they are parsed.
    max_record_bytes: int = 4_000_000
    # Rows per Arrow batch handed to the stages; bounds a worker's memory.
    batch_size: int = 256
    # JSONL / Parquet inputs: which field holds the text, the url, the date.
    text_key: str = "text"
    url_key: str = "url"
    date_key: str = "date"


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
        registry = stages()
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


def build_params(cls: type, values: Any, where: str) -> Any:
    """Instantiate a params dataclass from a YAML mapping, rejecting unknown keys and wrong types."""
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise RecipeError(f"{where}: parameters must be a mapping, got {type(values).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key, value in values.items():
        if key not in fields:
            valid = ", ".join(sorted(fields)) or "(none)"
            raise RecipeError(f"{where}: unknown parameter {key!r}; valid parameters: {valid}")
        if not _type_ok(value, hints[key]):
            raise RecipeError(
                f"{where}: parameter {key!r} must be {_type_name(hints[key])}, got {value!r} ({type(value).__name__})"
            )
    params = cls(**values)
    check = getattr(params, "validate", None)
    if check is not None:
        problem = check()
        if problem:
            raise RecipeError(f"{where}: {problem}")
    return params


def parse(doc: Any, path: str) -> Recipe:
    if not isinstance(doc, dict):
        raise RecipeError(f"{path}: a recipe is a mapping with 'name' and 'stages'")
    unknown = set(doc) - {"name", "description", "read", "stages"}
    if unknown:
        raise RecipeError(f"{path}: unknown top-level key(s) {sorted(unknown)}; valid: description, name, read, stages")
    registry = stages()
    items = doc.get("stages")
    if not isinstance(items, list) or not items:
        raise RecipeError(f"{path}: 'stages' must be a non-empty list; available stages: {', '.join(sorted(registry))}")
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
            name = str(values.pop("as"))
        if name in {s.name for s in specs} or name == "read":
            raise RecipeError(f"{where}: stage name {name!r} used twice; give one of them 'as: OTHER_NAME'")
        specs.append(StageSpec(name, kind, build_params(registry[kind].Params, values, f"{where} ({kind})")))
    read = build_params(ReadParams, doc.get("read"), f"{path}: read")
    return Recipe(str(doc.get("name") or Path(path).stem), path, read, specs, doc)


def load(path: str | Path) -> Recipe:
    p = Path(path)
    if not p.is_file():
        raise RecipeError(f"{p}: recipe file not found (recipes live in pipelines/, e.g. pipelines/default.yaml)")
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise RecipeError(f"{p}: not valid YAML: {exc}") from None
    return parse(doc, str(p))
