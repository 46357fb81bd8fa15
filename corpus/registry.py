"""Stage names usable in recipes. Recipes name stages, never class paths, so a recipe cannot import code."""

from __future__ import annotations

import importlib
import pkgutil

from corpus.step import Step

_STAGES: dict[str, type[Step]] = {}

# Every module of this package registers the stages it defines (``@register``): a new filter is one new file.
STAGE_PACKAGE = "filters"


def register(cls: type[Step]) -> type[Step]:
    if cls.name in _STAGES and _STAGES[cls.name] is not cls:
        raise ValueError(f"stage name {cls.name!r} registered twice")
    _STAGES[cls.name] = cls
    return cls


def stages() -> dict[str, type[Step]]:
    package = importlib.import_module(STAGE_PACKAGE)
    for mod in sorted(m.name for m in pkgutil.iter_modules(package.__path__)):
        importlib.import_module(f"{STAGE_PACKAGE}.{mod}")  # a no-op once imported
    return dict(_STAGES)
