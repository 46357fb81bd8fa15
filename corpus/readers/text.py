"""Text dumps: JSONL (plain, gzip, zstd) and Parquet, with configurable text/url/date fields.

Every input record becomes exactly one row, whatever is wrong with it: a bad value is repaired, coerced or
rejected with a ``read.*`` reason (``corpus.readers.values`` says which and why); a damaged stretch of a
file is one ``Damage``. Only a schema that cannot work at all (no text column, or one that holds no
strings) is an error for the whole file, and ``check`` finds it on the driver before Ray starts.

Lineage: curated Parquet read back (a second pass such as ``pipelines/enrich.yaml``) keeps its ``id``,
``domain`` and every column the curated output declared (``lang``, the WanJuan scores, ``dup_cluster``, …):
``carried_fields`` names them for the run's output schema and ``read_parquet`` passes them through. A
stage that computes one of them again overwrites it.

Rows carry one extra transient column, ``_repaired``: characters replaced with U+FFFD in that row.
"""

from __future__ import annotations

import json
from typing import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpus import storage
from corpus.readers.rows import Damage, InputError, RowBuffer
from corpus.readers import compressed, values
from corpus.recipe import ReadParams
from corpus.schema import CORE_FIELDS, LEDGER_FIELDS, RAW_SCHEMA

CHECK_BYTES = 1 << 20  # decompressed head of a JSONL file that ``check`` looks at
CHECK_LINES = 100
BOM = "\ufeff"
# core columns a curated input may hold that are kept as they are (the reader sets source and shard anew)
KEPT_CORE = ("id", "domain")


class _Rows:
    """A RowBuffer plus what a text dump adds per row: a kept id or domain, the repair count, and the
    carried lineage columns (appended to each flushed table, whose rows are the same input rows)."""

    def __init__(self, buf: RowBuffer) -> None:
        self.buf = buf
        self.kept: dict[str, list[str | None]] = {c: [] for c in KEPT_CORE}
        self.repaired: list[int] = []

    def add(self, *, repaired: int, kept: dict[str, str | None] | None = None, **row) -> None:
        self.buf.add(**row)
        for c in KEPT_CORE:
            self.kept[c].append((kept or {}).get(c))
        self.repaired.append(repaired)

    def flush(self, carried: pa.RecordBatch | None = None) -> pa.Table | None:
        table = self.buf.flush()
        if table is None:
            return None
        for c, vals in self.kept.items():
            if any(v is not None for v in vals):
                i = table.schema.get_field_index(c)
                table = table.set_column(i, c, pc.coalesce(pa.array(vals, pa.string()), table.column(c)))
        table = table.append_column("_repaired", pa.array(self.repaired, pa.int32()))
        if carried is not None:
            for name in carried.schema.names:
                table = table.append_column(carried.schema.field(name), pa.chunked_array([carried.column(name)]))
        self.kept = {c: [] for c in KEPT_CORE}
        self.repaired = []
        return table


# ---- JSONL -------------------------------------------------------------------------------------------------

def _lines(chunks: Iterator[bytes], limit: int) -> Iterator[tuple[bytes | None, int]]:
    """Yield (line or None when longer than ``limit``, decompressed offset just past it). At most ``limit``
    bytes of one line are held, so a huge line or a decompression bomb stays bounded."""
    parts: list[bytes] = []
    held = 0  # bytes of the current line seen so far, kept or not
    pos = 0
    for chunk in chunks:
        *complete, rest = chunk.split(b"\n")
        for piece in complete:
            held += len(piece)
            pos += held + 1
            yield (None if held > limit else b"".join(parts) + piece), pos
            parts, held = [], 0
        held += len(rest)
        if held <= limit:
            parts.append(rest)
        else:
            parts = []
    if held:
        pos += held
        yield (None if held > limit else b"".join(parts)), pos


def read_jsonl(path: str, params: ReadParams, buf: RowBuffer) -> Iterator[pa.Table | Damage]:
    rows = _Rows(buf)
    opts = storage.options_of(params)
    trusted = compressed.trusted_length(path, opts)  # gzip: only output whose CRC-32 checked is trusted
    lineno = unverified = 0
    try:
        for line, end in _lines(compressed.chunks(path, opts), params.max_record_bytes):
            lineno += 1
            ident = f"{path}:{lineno}".encode()
            if line is None:
                rows.add(url=None, date=None, payload=b"", ident=ident, reason="read.too_large", repaired=0)
            elif not line.strip():
                rows.add(url=None, date=None, payload=b"", ident=ident, reason="read.empty", repaired=0)
            else:
                suspect = trusted is not None and end > trusted
                unverified += suspect
                _add_json(line, ident, params, rows, first=lineno == 1, suspect=suspect)
            if buf.full():
                yield rows.flush()  # type: ignore[misc]
    except compressed.StreamDamage as exc:
        last = rows.flush()
        if last is not None:
            yield last
        yield _stream_damage(path, exc, lineno, unverified, opts)
    except storage.Unavailable:  # the store failed every retry: the shard fails and is redone, nothing is quarantined
        raise
    except OSError as exc:
        last = rows.flush()
        if last is not None:
            yield last
        yield Damage(f"read: {path}: cannot be read after line {lineno}: {exc}; fix it and re-run the same command")
    last = rows.flush()
    if last is not None:
        yield last


def _stream_damage(path: str, exc: compressed.StreamDamage, lineno: int, unverified: int, opts: dict) -> Damage:
    size = storage.size(path, opts)
    offset = min(exc.offset, size)
    kept = f"lines 1-{lineno} were read" if lineno else "no line could be read"
    if unverified:
        kept += (f"; the last {unverified} of them come from a gzip member whose data check failed, so their text "
                 f"may be altered: they are rejected as read.unverified (kept in rejected/ to inspect)")
    return Damage(f"read: {path}: {exc.detail} near compressed byte {offset:,}; {kept}; the rest "
                  f"({size - offset:,} compressed bytes) is lost: re-fetch this file", offset, size - offset)


def _add_json(line: bytes, ident: bytes, params: ReadParams, rows: _Rows, first: bool, suspect: bool) -> None:
    """One JSONL line as one row: kept, repaired, or rejected with the field that is wrong."""
    s, repaired = values.decode(line)
    if first:
        s = s.removeprefix(BOM)
    try:
        obj = json.loads(s)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
        obj = None
    if not isinstance(obj, dict):
        reason = "read.unverified" if suspect else "read.bad_json"
        rows.add(url=None, date=None, payload=line[:4096], ident=ident, reason=reason, repaired=repaired)
        return
    fields = {"text": obj.get(params.text_key), "url": obj.get(params.url_key), "date": obj.get(params.date_key),
              "title": obj.get("title")}
    _add_record(fields, ident, rows, repaired, line[:4096], suspect)


def _add_record(fields: dict, ident: bytes, rows: _Rows, repaired: int, raw: bytes, suspect: bool = False,
                kept: dict[str, str | None] | None = None, limit: int | None = None) -> None:
    """Check one record's values (JSONL or Parquet alike) and add it as one row. ``limit``: the payload cap in
    bytes where nothing before the reader enforced it (Parquet; a JSONL line is capped as it is read)."""
    text = fields["text"]
    reason = None
    if isinstance(text, (bytes, bytearray)):
        text, n = values.decode(bytes(text))
        repaired += n
    elif isinstance(text, str):
        text, n = values.repair(text)
        repaired += n
    elif text is None:
        reason = "read.no_text"
    else:
        reason, text = "read.bad_text", None
    meta: dict[str, str | None] = {}
    for name in ("url", "date", "title"):
        try:
            meta[name], n = values.as_string(fields[name])
            repaired += n
        except values.Bad:
            meta[name] = None
            reason = reason or f"read.bad_{name}"
    if suspect:
        reason = "read.unverified"
    if text is not None and limit is not None and _utf8_over(text, limit):
        text, reason = None, reason or "read.too_large"
    if text is None:
        rows.add(url=meta["url"], date=meta["date"], title=meta["title"], payload=raw, ident=ident, reason=reason,
                 repaired=repaired, kept=kept)
    else:
        rows.add(url=meta["url"], date=meta["date"], title=meta["title"], payload=text.encode("utf-8"), text=text,
                 reason=reason, repaired=repaired, kept=kept)


def _utf8_over(text: str, limit: int) -> bool:
    """Whether ``text`` is longer than ``limit`` UTF-8 bytes (a character is 1-4 bytes: encode only if unsure)."""
    return len(text) > limit or (4 * len(text) > limit and len(text.encode("utf-8")) > limit)


# ---- Parquet -----------------------------------------------------------------------------------------------

def _is_string(t: pa.DataType) -> bool:
    if pa.types.is_dictionary(t):
        t = t.value_type
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _coercible(t: pa.DataType) -> bool:
    """Types whose values have a faithful string form (``values.as_string``)."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    return (_is_string(t) or pa.types.is_null(t) or pa.types.is_integer(t) or pa.types.is_floating(t)
            or pa.types.is_decimal(t) or pa.types.is_timestamp(t) or pa.types.is_date(t)
            or pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t))


def _schema_problem(path: str, schema: pa.Schema, params: ReadParams) -> str | None:
    """One line for a schema that cannot work, or None. Checked by ``check`` and again by the reader."""
    names = schema.names
    if params.text_key not in names:
        return (f"read: {path}: no column {params.text_key!r} (columns: {', '.join(names)}); "
                f"set read.text_key in the recipe to the column that holds the text")
    t = schema.field(params.text_key).type
    if not _is_string(t):
        return (f"read: {path}: column {params.text_key!r} is {t}, not a string; "
                f"set read.text_key in the recipe to the column that holds the text")
    for key, col in (("read.url_key", params.url_key), ("read.date_key", params.date_key), (None, "title")):
        if col in names and not _coercible(schema.field(col).type):
            fix = (f"set {key} in the recipe to the column that holds it (or to a name the file lacks, to read "
                   f"without it)") if key else "rename or drop that column"
            return f"read: {path}: column {col!r} is {schema.field(col).type}, which has no string form; {fix}"
    return None


def _carried(schema: pa.Schema, params: ReadParams) -> list[pa.Field]:
    reserved = {f.name for f in RAW_SCHEMA} | {f.name for f in CORE_FIELDS + LEDGER_FIELDS}
    reserved |= {params.text_key, params.url_key, params.date_key}
    return [f for f in schema if f.name not in reserved and not f.name.startswith("_")]


def carried_fields(paths: list[str], params: ReadParams) -> list[pa.Field]:
    """The columns Parquet inputs carry through a run beyond the core ones (lineage of a curated corpus read
    back), for the run's output schema: every column of theirs except the reader's own and transient ones.
    Two inputs that disagree on a column's type are an InputError: their rows could not share one output."""
    seen: dict[str, tuple[pa.Field, str]] = {}
    for path in paths:
        try:
            schema = _read_schema(path, params)
        except (OSError, pa.ArrowException) as exc:
            raise InputError(f"read: {path}: not a readable Parquet file: {exc}") from None
        for f in _carried(schema, params):
            prior = seen.setdefault(f.name, (f, path))
            if prior[0].type != f.type:
                raise InputError(f"read: column {f.name!r} is {prior[0].type} in {prior[1]} but {f.type} in {path}; "
                                 f"read them in separate runs, or rewrite one with the other's type")
    return [f for f, _ in seen.values()]


def _column(batch: pa.RecordBatch, name: str) -> list:
    """A column as Python values; a value Python cannot hold (a timestamp past year 9999) becomes ``Bad``, and
    a string column that is not valid UTF-8 is read as bytes (``values.decode`` repairs and counts)."""
    if name not in batch.schema.names:
        return [None] * batch.num_rows
    arr = batch.column(name)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    try:
        return arr.to_pylist()
    except UnicodeDecodeError:
        as_bytes = {pa.string(): pa.binary(), pa.large_string(): pa.large_binary(), pa.string_view(): pa.binary_view()}
        return arr.view(as_bytes[arr.type]).to_pylist()
    except (ValueError, OverflowError, pa.ArrowException):
        out: list = []
        for k in range(len(arr)):
            try:
                out.append(arr[k].as_py())
            except (ValueError, OverflowError, pa.ArrowException) as exc:
                out.append(values.Bad(str(exc)))
        return out


def read_parquet(path: str, params: ReadParams, buf: RowBuffer) -> Iterator[pa.Table | Damage]:
    """Row groups in turn: a row group that cannot be decoded is one Damage, and reading goes on."""
    opts = storage.options_of(params)
    source = storage.open_binary(path, opts) if storage.is_url(path) else path
    try:
        yield from _read_parquet(path, source, params, buf)
    finally:
        if not isinstance(source, str):
            source.close()


def _read_schema(path: str, params: ReadParams) -> pa.Schema:
    if not storage.is_url(path):
        return pq.read_schema(path)
    with storage.open_binary(path, storage.options_of(params)) as fh:
        return pq.read_schema(fh)


def _read_parquet(path: str, source, params: ReadParams, buf: RowBuffer) -> Iterator[pa.Table | Damage]:
    try:
        pf = pq.ParquetFile(source)
    except storage.Unavailable:
        raise
    except (OSError, pa.ArrowException) as exc:
        size = storage.size(path, storage.options_of(params))
        yield Damage(f"read: {path}: not a readable Parquet file: {exc}; re-fetch or re-write it", 0, size)
        return
    problem = _schema_problem(path, pf.schema_arrow, params)
    if problem:
        yield Damage(problem)
        return
    schema = pf.schema_arrow
    carried = [f.name for f in _carried(schema, params)]
    kept = [c for c in KEPT_CORE if c in schema.names and _is_string(schema.field(c).type)]
    cols = [c for c in dict.fromkeys([params.text_key, params.url_key, params.date_key, "title", *kept, *carried])
            if c in schema.names]
    rows = _Rows(buf)
    row = 0
    for g in range(pf.num_row_groups):
        rg = pf.metadata.row_group(g)
        batches = pf.iter_batches(batch_size=params.batch_size, row_groups=[g], columns=cols)
        done = 0
        while True:
            try:
                batch = next(batches, None)
            except storage.Unavailable:
                raise
            except (OSError, pa.ArrowException) as exc:
                yield _row_group_damage(path, rg, g, row + done, exc)
                break
            if batch is None:
                break
            _add_batch(batch, path, row + done, params, rows, kept)
            done += batch.num_rows
            yield rows.flush(batch.select(carried))  # type: ignore[misc]
        row += rg.num_rows


def _row_group_damage(path: str, rg: pq.RowGroupMetaData, g: int, first: int, exc: Exception) -> Damage:
    cols = [rg.column(k) for k in range(rg.num_columns)]
    offset = min((c.dictionary_page_offset or c.data_page_offset) for c in cols) if cols else 0
    length = sum(c.total_compressed_size for c in cols)
    last = first + rg.num_rows - 1 if rg.num_rows else first
    return Damage(f"read: {path}: row group {g} (rows {first:,}-{last:,}) cannot be decoded: {exc}; the other row "
                  f"groups were read; re-fetch or re-write this file", offset, length)


def _add_batch(batch: pa.RecordBatch, path: str, first_row: int, params: ReadParams, rows: _Rows, kept: list[str]) -> None:
    data = {name: _column(batch, col) for name, col in
            (("text", params.text_key), ("url", params.url_key), ("date", params.date_key), ("title", "title"))}
    own_cols = {c: _column(batch, c) for c in kept}
    for j in range(batch.num_rows):
        own: dict[str, str | None] = {}
        repaired = 0
        for c, vals in own_cols.items():
            v = vals[j]
            if isinstance(v, bytes):
                v, n = values.decode(v)
            elif isinstance(v, str):
                v, n = values.repair(v)
            else:
                v, n = None, 0
            own[c] = v or None  # an empty or missing id is derived, as for any other input
            repaired += n
        _add_record({k: vals[j] for k, vals in data.items()}, f"{path}:{first_row + j}".encode(), rows, repaired,
                    b"", kept=own, limit=params.max_record_bytes)


def check(path: str, params: ReadParams) -> None:
    """Raise InputError, one line naming the column or field, its type and the recipe key to set, for a text
    dump whose schema cannot work. Reads the Parquet footer or the first records of a JSONL file only, so the
    driver can run it over every input before Ray starts; a bad value in some rows is not the file's problem."""
    if path.endswith(".parquet"):
        try:
            schema = _read_schema(path, params)
        except (OSError, pa.ArrowException) as exc:
            raise InputError(f"read: {path}: not a readable Parquet file: {exc}; re-fetch or re-write it") from None
        problem = _schema_problem(path, schema, params)
        if problem:
            raise InputError(problem)
        return
    objs, examined = _head_objects(path, storage.options_of(params))
    if examined and not objs:
        raise InputError(f"read: {path}: none of the first {examined} lines is a JSON object; a JSONL file holds one "
                         f"object per line (check the file, or its suffix)")
    if not objs:
        return
    key = params.text_key
    if not any(key in o for o in objs):
        fields = sorted({k for o in objs for k in o})[:20]
        raise InputError(f"read: {path}: none of the first {len(objs)} records has a field {key!r} (fields: "
                         f"{', '.join(fields)}); set read.text_key in the recipe to the field that holds the text")
    types = {type(o[key]).__name__ for o in objs if key in o and o[key] is not None}
    if types and "str" not in types:
        raise InputError(f"read: {path}: field {key!r} holds {'/'.join(sorted(types))}, not a string, in the first "
                         f"{len(objs)} records; set read.text_key in the recipe to the field that holds the text")


def _head_objects(path: str, opts: dict | None = None) -> tuple[list[dict], int]:
    """The JSON objects among the first lines of a JSONL file and how many non-empty lines were looked at
    (its head must decode, or InputError)."""
    head = bytearray()
    try:
        for chunk in compressed.chunks(path, opts):
            head += chunk
            if len(head) >= CHECK_BYTES or head.count(b"\n") >= CHECK_LINES:
                break
    except compressed.StreamDamage as exc:
        if not head:
            raise InputError(f"read: {path}: cannot be decoded from its start ({exc.detail}); re-fetch it, or check "
                             f"that its suffix names its compression") from None
    except OSError as exc:
        raise InputError(f"read: {path}: cannot be read: {exc}") from None
    lines = bytes(head).split(b"\n")
    if len(head) >= CHECK_BYTES:
        lines = lines[:-1]  # the last one may be cut
    objs = []
    examined = 0
    for k, line in enumerate(lines[:CHECK_LINES]):
        if not line.strip():
            continue
        examined += 1
        s, _ = values.decode(line)
        try:
            obj = json.loads(s.removeprefix(BOM) if k == 0 else s)
        except (ValueError, RecursionError):
            continue
        if isinstance(obj, dict):
            objs.append(obj)
    return objs, examined
