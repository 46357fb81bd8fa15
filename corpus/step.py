"""The step protocol that every stage implements.

A step is a plain class: a registry ``name``, a ``Params`` dataclass validated from the YAML recipe, the
signal columns it adds (``outputs``), the resources it needs, ``setup()`` to load models once per worker,
and ``__call__(table) -> table`` over an Arrow batch of *active* rows. A step never imports Ray and never
removes rows: it marks them by setting ``drop_reason`` to a stable ``stage.code`` string, and the runner
moves marked rows to the rejected sink. That keeps every count derivable from the data itself.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable, ClassVar

import pyarrow as pa
import pyarrow.compute as pc


@dataclasses.dataclass
class NoParams:
    """For steps without parameters."""


# Columns that stages write for the stages after them (not signals of their own): never prefixed by ``as:``.
SHARED_COLUMNS = frozenset({"id", "url", "domain", "date", "source", "shard", "title", "text", "lang", "lang_score",
                            "drop_reason"})


class Step:
    name: ClassVar[str]
    Params: ClassVar[type] = NoParams
    outputs: ClassVar[list[pa.Field]] = []
    # columns this stage reads that the reader or an earlier stage must write; the recipe's order is checked
    # against them when it is parsed (``corpus.recipe.check_order``)
    requires: ClassVar[tuple[str, ...]] = ("text",)
    # columns it fills besides its declared outputs (``format`` fills ``domain``, a core column)
    also_provides: ClassVar[tuple[str, ...]] = ()
    # parameters that name model or list files (str, list[str] or dict[str, str]): preflight resolves them on
    # the driver before Ray starts, and their sha256 joins the resume key
    file_params: ClassVar[tuple[str, ...]] = ()
    num_cpus: ClassVar[float] = 1.0
    num_gpus: ClassVar[float] = 0.0
    # signal column -> the parameters that threshold it ("min_x", "top_frac[0]"): what reports draw on plots
    thresholds: ClassVar[dict[str, tuple[str, ...]]] = {}

    def __init__(self, params: Any | None = None, stage_name: str | None = None) -> None:
        self.params = params if params is not None else self.Params()
        self.stage_name = stage_name or self.name

    @classmethod
    def provides(cls) -> tuple[str, ...]:
        return tuple(f.name for f in cls.outputs) + cls.also_provides

    def column(self, name: str) -> str:
        """Where an output lands: an aliased instance (``as: strict``) writes ``strict__<column>`` for its own
        signals, so two instances of one stage never overwrite each other's columns."""
        return name if self.stage_name == self.name or name in SHARED_COLUMNS else f"{self.stage_name}__{name}"

    def columns(self) -> list[pa.Field]:
        return [pa.field(self.column(f.name), f.type) for f in self.outputs]

    def files(self, resolve: Callable[[str, str], str]) -> list[str]:
        """Resolve the files this stage reads (``resolve(param, reference) -> absolute path`` raises with a clear
        message if one is missing or not allowed), rewrite ``params`` to the resolved paths so every worker loads
        exactly the checked file, and return them for the resume key. Runs on the driver, before Ray."""
        resolved: list[str] = []

        def walk(where: str, value: Any) -> Any:
            if isinstance(value, str):
                if value:
                    resolved.append(resolve(where, value))
                    return resolved[-1]
                return value
            if isinstance(value, list):
                return [walk(where, v) for v in value]
            return {k: walk(f"{where}.{k}", v) for k, v in value.items()}

        for name in self.file_params:
            self.params = dataclasses.replace(self.params, **{name: walk(name, getattr(self.params, name))})
        return resolved

    def prepare(self, work_dir: Path) -> None:
        """Driver-side, once per run, after preflight and before Ray starts: build what every worker will
        memory-map (an index of benchmark n-grams, say) under ``work_dir`` (``DIR/global/<stage>``, inside the
        run's folder) and point ``params`` at it. Most stages need nothing here."""

    def setup(self) -> None:
        """Load models or tables; called once per worker before the first batch."""

    def apply(self, table: pa.Table) -> pa.Table:
        """Run the step as the runner does: an aliased instance sees no earlier instance's columns under its own
        names (they are hidden while it runs) and its signals come back prefixed."""
        if self.stage_name == self.name:
            return self(table)
        own = {f.name for f in self.outputs} - SHARED_COLUMNS
        hidden = {c: f"__hidden__{c}" for c in table.column_names if c in own}
        out = self(table.rename_columns([hidden.get(c, c) for c in table.column_names]))
        back = {v: k for k, v in hidden.items()}
        return out.rename_columns([back.get(c) or (self.column(c) if c in own else c) for c in out.column_names])

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
    ``plan(executor, fingerprints, work_dir, cpus, store)`` runs once over all fingerprints, as exchange tasks.
    Then, per shard, ``bind(work_dir, shard_index)`` loads that shard's decisions and ``__call__`` applies them
    like any per-document step, so marking, counting and the rejected sink work exactly as for other stages.

    ``fingerprints`` pairs each shard's index among the run's inputs (what ``bind`` gets: a shard that failed
    leaves a gap) with its fingerprint file. On a cluster the exchange tasks run on any node, so those files are
    locations every node can open (paths, or URLs of a run on object storage: ``corpus.runstore.fetch``), and what a task writes under ``work_dir`` it
    publishes through ``store`` (a ``corpus.runstore.RunStore``). Files written directly in ``work_dir`` by
    ``plan`` itself are published by the engine; ``bind`` finds the whole folder but the fingerprints fetched.
    """

    fingerprint_schema: ClassVar[pa.Schema]

    def fingerprint(self, table: pa.Table) -> pa.Table:  # pragma: no cover - interface
        raise NotImplementedError

    def plan(self, executor: Any, fingerprints: list[tuple[int, str]], work_dir: Any, cpus: int, store: Any = None) -> dict:  # pragma: no cover
        raise NotImplementedError

    def bind(self, work_dir: Any, shard_index: int) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def task_memory_mb(self) -> int:
        """Memory one exchange task of ``plan`` reserves on a node (Ray packs no more tasks onto it than fit)."""
        return int(getattr(self.params, "memory_mb", 1024))

    def describe(self, summary: dict) -> str:
        """One line for the run's log about what ``plan`` decided (the engine never reads a plan's fields)."""
        return ", ".join(f"{k}: {v}" for k, v in summary.items() if isinstance(v, (int, float, str)))
