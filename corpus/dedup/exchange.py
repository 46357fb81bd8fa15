"""The data exchange that global stages are written against: hash partitioning and a task executor.

A global stage (dedup) is a sequence of map and reduce tasks whose outputs are lists of hash partitions; a
reduce task only ever holds one partition, so its memory is bounded by data size / partitions, whatever
the corpus size. The executor runs the tasks: ``ray_exec.RayExecutor`` on a cluster (partitions travel
through the Ray object store, which spills to disk), ``LocalExecutor`` here, serially, for unit tests.
"""

from __future__ import annotations

import resource
from typing import Any, Callable, Protocol

import numpy as np
import pyarrow as pa

from corpus.dedup.minhash import mix64


class Executor(Protocol):
    def map(self, fn: Callable[..., Any], calls: list[tuple], num_returns: int = 1) -> list[Any]:
        """Run fn(*args) for every args tuple; with num_returns > 1 each result is a list of references."""

    def get(self, refs: list[Any]) -> list[Any]:
        """Materialise references (only used for small results: counts, checksums, summaries)."""


class LocalExecutor:
    def map(self, fn: Callable[..., Any], calls: list[tuple], num_returns: int = 1) -> list[Any]:
        return [fn(*args) for args in calls]

    def get(self, refs: list[Any]) -> list[Any]:
        return list(refs)


def partition(table: pa.Table, key: np.ndarray, parts: int) -> list[pa.Table]:
    """Split rows by hash(key) into ``parts`` compact tables (each a copy, so it serialises on its own)."""
    if parts == 1:
        return [table]
    p = (mix64(key) % np.uint64(parts)).astype(np.int64)
    order = np.argsort(p, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(p, minlength=parts))])
    return [table.take(order[bounds[i] : bounds[i + 1]]) for i in range(parts)]


def concat(tables: tuple[pa.Table, ...] | list[pa.Table]) -> pa.Table:
    tables = [t for t in tables if t is not None]
    return pa.concat_tables(tables).combine_chunks() if tables else pa.table({})


def column(table: pa.Table, name: str) -> np.ndarray:
    return table.column(name).to_numpy()


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def transpose(per_task: list[list], parts: int) -> list[list]:
    """[task][partition] -> [partition][task]: what each reduce task reads from every map task."""
    return [[t[p] for t in per_task] for p in range(parts)]
