"""Stage names usable in recipes. Recipes name stages, never class paths, so a recipe cannot import code."""

from __future__ import annotations

import importlib

from corpus.step import Step

_STAGES: dict[str, type[Step]] = {}

# Modules whose import registers stages; listed here so the registry is explicit and greppable.
STAGE_MODULES = (
    "filters.extract", "filters.langid", "filters.format",
    "filters.abnormal", "filters.gopher", "filters.c4", "filters.fineweb", "filters.dedup",
    "filters.safety", "filters.perplexity", "filters.quality_model", "filters.domain_tags",
)


def register(cls: type[Step]) -> type[Step]:
    if cls.name in _STAGES and _STAGES[cls.name] is not cls:
        raise ValueError(f"stage name {cls.name!r} registered twice")
    _STAGES[cls.name] = cls
    return cls


def stages() -> dict[str, type[Step]]:
    for mod in STAGE_MODULES:
        importlib.import_module(mod)
    return dict(_STAGES)
