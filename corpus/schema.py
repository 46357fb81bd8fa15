"""The one flat document schema every stage reads and writes.

Columns are typed and fixed per pipeline (core columns plus what each stage declares), so shards written
by different workers concatenate without schema drift, and counts can always be recomputed from the data.
Columns whose name starts with ``_`` are transient (raw HTML, HTTP charset): they travel between stages
inside a worker and are never written.
"""

from __future__ import annotations

import pyarrow as pa
import xxhash

CORE_FIELDS: list[pa.Field] = [
    pa.field("id", pa.string()),
    pa.field("url", pa.string()),
    pa.field("domain", pa.string()),
    pa.field("date", pa.string()),
    pa.field("source", pa.string()),
    pa.field("shard", pa.string()),
    pa.field("title", pa.string()),
    pa.field("text", pa.string()),
]

TRANSIENT_FIELDS: list[pa.Field] = [
    pa.field("_html", pa.binary()),
    pa.field("_http_charset", pa.string()),
    pa.field("_payload_bytes", pa.int64()),
]

LEDGER_FIELDS: list[pa.Field] = [
    pa.field("drop_stage", pa.string()),
    pa.field("drop_reason", pa.string()),
    pa.field("error", pa.string()),
]

RAW_SCHEMA = pa.schema(CORE_FIELDS + TRANSIENT_FIELDS + [LEDGER_FIELDS[1]])
"""What readers produce: core columns, raw payload, and a read-stage ``drop_reason`` for skipped records."""


def doc_id(url: str | None, date: str | None, payload: bytes) -> str:
    """Content-derived, position-independent id: the same capture gets the same id on every run and node."""
    h = xxhash.xxh3_128()
    h.update((url or "").encode("utf-8", "surrogatepass"))
    h.update(b"\0")
    h.update((date or "").encode("utf-8"))
    h.update(b"\0")
    h.update(payload)
    return h.hexdigest()


def output_schema(stage_outputs: list[pa.Field], carried: list[pa.Field] | tuple[pa.Field, ...] = ()) -> pa.Schema:
    """Persisted schema: core columns, every stage's declared signal columns, the columns the inputs carry
    (a curated corpus read back: ``corpus.readers.text.carried_fields``), then the drop ledger.

    A stage's declaration wins over a carried column of the same name: the stage computes it again and
    writes its own type, so a second pass re-scores instead of keeping the old score."""
    seen = {f.name for f in CORE_FIELDS + LEDGER_FIELDS}
    fields = list(CORE_FIELDS)
    for f in [*stage_outputs, *carried]:
        if f.name not in seen:
            seen.add(f.name)
            fields.append(f)
    return pa.schema(fields + LEDGER_FIELDS)


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Project ``table`` onto ``schema``: missing columns become nulls, transient ones are dropped."""
    n = table.num_rows
    cols = []
    for f in schema:
        if f.name in table.column_names:
            col = table.column(f.name)
            cols.append(col if col.type == f.type else col.cast(f.type))
        else:
            cols.append(pa.nulls(n, f.type))
    return pa.Table.from_arrays(cols, schema=schema)
