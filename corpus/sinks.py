"""Per-shard Parquet sinks written atomically: files appear under their final name only when complete.

Layout: ``data/`` (kept), ``rejected/`` (with ``drop_stage``/``drop_reason``), ``quarantine/`` (rows that
made a stage raise, with ``error``). One file per input shard, sink and segment (``<shard>--dedup`` after a
global stage), named after the shard, so reruns and cluster runs produce the same file names and bytes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from corpus.rundir import tmp_name
from corpus.schema import conform

SINKS = ("data", "rejected", "quarantine")
LEDGER = ("drop_stage", "drop_reason", "error")


def sink_schema(schema: pa.Schema, sink: str) -> pa.Schema:
    if sink == "data":
        return pa.schema([f for f in schema if f.name not in LEDGER])
    if sink == "rejected":
        return pa.schema([f for f in schema if f.name != "error"])
    return schema


class ShardSinks:
    """One atomic Parquet file per named sink: ``paths`` maps a sink name to (path, schema)."""

    def __init__(self, paths: dict[str, tuple[Path, pa.Schema]]) -> None:
        self.paths = {s: p for s, (p, _) in paths.items()}
        self.schemas = {s: schema for s, (_, schema) in paths.items()}
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.tmps = {s: tmp_name(p) for s, p in self.paths.items()}  # unique: two writers never share one
        for s, p in self.paths.items():
            p.parent.mkdir(parents=True, exist_ok=True)
            self.writers[s] = pq.ParquetWriter(self.tmps[s], self.schemas[s], compression="zstd")

    def write(self, sink: str, table: pa.Table) -> None:
        if table.num_rows:
            self.writers[sink].write_table(conform(table, self.schemas[sink]))

    def commit(self) -> dict[str, str]:
        for s, p in self.paths.items():
            self.writers[s].close()
            os.replace(self.tmps[s], p)
        return {s: str(p) for s, p in self.paths.items()}

    def abort(self) -> None:
        for s, p in self.paths.items():
            self.writers[s].close()
            self.tmps[s].unlink(missing_ok=True)
