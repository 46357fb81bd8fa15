"""The step protocol that every stage implements.

A step is a plain class: a registry ``name``, a ``Params`` dataclass validated from the YAML recipe, the
signal columns it adds (``outputs``), the resources it needs, ``setup()`` to load models once per worker,
and ``__call__(table) -> table`` over an Arrow batch of *active* rows. A step never imports Ray and never
removes rows: it marks them by setting ``drop_reason`` to a stable ``stage.code`` string, and the runner
moves marked rows to the rejected sink. That keeps every count derivable from the data itself.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc


@dataclasses.dataclass
class NoParams:
    """For steps without parameters."""


class Step:
    name: ClassVar[str]
    Params: ClassVar[type] = NoParams
    outputs: ClassVar[list[pa.Field]] = []
    num_cpus: ClassVar[float] = 1.0
    num_gpus: ClassVar[float] = 0.0
    # signal column -> the parameters that threshold it ("min_x", "top_frac[0]"): what reports draw on plots
    thresholds: ClassVar[dict[str, tuple[str, ...]]] = {}

    def __init__(self, params: Any | None = None, stage_name: str | None = None) -> None:
        self.params = params if params is not None else self.Params()
        self.stage_name = stage_name or self.name

    def setup(self) -> None:
        """Load models or tables; called once per worker before the first batch."""

    def __call__(self, table: pa.Table) -> pa.Table:  # pragma: no cover - interface
        raise NotImplementedError


def set_column(table: pa.Table, name: str, values: Any, type_: pa.DataType | None = None) -> pa.Table:
    """Add or replace a column (steps return the same rows with more columns)."""
    arr = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values, type=type_)
    if type_ is not None and arr.type != type_:
        arr = arr.cast(type_)
    idx = table.schema.get_field_index(name)
    if idx >= 0:
        return table.set_column(idx, name, arr)
    return table.append_column(name, arr)


def mark(table: pa.Table, reasons: list[str | None]) -> pa.Table:
    """Record per-row drop reasons, keeping any reason already set earlier in the same step."""
    if "drop_reason" in table.column_names:
        old = table.column("drop_reason")
        merged = pc.coalesce(old, pa.array(reasons, type=pa.string()))
        return set_column(table, "drop_reason", merged)
    return set_column(table, "drop_reason", reasons, pa.string())


class GlobalStep(Step):
    """A stage that must see every document before it decides about any (dedup).

    It runs in three parts. ``fingerprint(table)`` runs inside the shard workers, on the rows leaving the
    segment before it, and returns one small row per document (the row's position is its ``row``).
    ``plan(executor, sources, work_dir)`` runs once over all fingerprints, as exchange tasks. Then, per
    shard, ``bind(work_dir, shard_index)`` loads that shard's decisions and ``__call__`` applies them like
    any per-document step, so marking, counting and the rejected sink work exactly as for other stages.
    """

    fingerprint_schema: ClassVar[pa.Schema]

    def fingerprint(self, table: pa.Table) -> pa.Table:  # pragma: no cover - interface
        raise NotImplementedError

    def plan(self, executor: Any, fingerprints: list[str], work_dir: Any, cpus: int) -> dict:  # pragma: no cover
        raise NotImplementedError

    def bind(self, work_dir: Any, shard_index: int) -> None:  # pragma: no cover - interface
        raise NotImplementedError
