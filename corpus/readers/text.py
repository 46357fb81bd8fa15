"""Text dumps: JSONL (plain, gzip, zstd) and Parquet, with configurable text/url/date fields."""

from __future__ import annotations

import json
from typing import IO, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from corpus.readers import RowBuffer
from corpus.recipe import ReadParams


def _open(path: str) -> IO[bytes]:
    codec = "gzip" if path.endswith(".gz") else "zstd" if path.endswith(".zst") else None
    raw = pa.OSFile(path, "rb")
    return pa.CompressedInputStream(raw, codec) if codec else raw


def _lines(stream, limit: int) -> Iterator[tuple[bytes, bool]]:
    """Yield (line, too_long) with at most ``limit`` bytes held per line (decompression stays bounded)."""
    pending = b""
    too_long = False
    while True:
        chunk = stream.read(1 << 20)
        if not chunk:
            break
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield (b"", True) if too_long or len(line) > limit else (line, False)
            too_long = False
        if len(pending) > limit:
            pending, too_long = b"", True
    if pending or too_long:
        yield (b"", True) if too_long or len(pending) > limit else (pending, False)


def read_jsonl(path: str, params: ReadParams, buf: RowBuffer) -> Iterator[pa.Table | str]:
    lineno = 0
    try:
        with _open(path) as stream:
            for line, too_long in _lines(stream, params.max_record_bytes):
                lineno += 1
                ident = f"{path}:{lineno}".encode()
                if too_long:
                    buf.add(url=None, date=None, payload=b"", ident=ident, reason="read.too_large")
                elif not line.strip():
                    buf.add(url=None, date=None, payload=b"", ident=ident, reason="read.empty")
                else:
                    _add_json(line, ident, params, buf)
                if buf.full():
                    yield buf.flush()
    except (OSError, pa.ArrowException) as exc:
        last = buf.flush()
        if last is not None:
            yield last
        yield f"read: {path}: corrupt or truncated after line {lineno}: {exc}. Lines before it were kept; re-fetch this file."


def _add_json(line: bytes, ident: bytes, params: ReadParams, buf: RowBuffer) -> None:
    try:
        obj = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        buf.add(url=None, date=None, payload=line[:4096], ident=ident, reason="read.bad_json")
        return
    text = obj.get(params.text_key) if isinstance(obj, dict) else None
    if not isinstance(text, str):
        buf.add(url=None, date=None, payload=line[:4096], ident=ident, reason="read.no_text")
        return
    url, date = obj.get(params.url_key), obj.get(params.date_key)
    url = url if isinstance(url, str) else None
    date = str(date) if date is not None else None
    buf.add(url=url, date=date, payload=text.encode("utf-8", "replace"), text=text, title=obj.get("title") if isinstance(obj.get("title"), str) else None)


def read_parquet(path: str, params: ReadParams, buf: RowBuffer) -> Iterator[pa.Table | str]:
    try:
        pf = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        yield f"read: {path}: not a readable Parquet file: {exc}"
        return
    names = set(pf.schema_arrow.names)
    if params.text_key not in names:
        yield f"read: {path}: no column {params.text_key!r} (columns: {sorted(names)}); set read.text_key in the recipe"
        return
    cols = [c for c in (params.text_key, params.url_key, params.date_key, "title") if c in names]
    for i, batch in enumerate(pf.iter_batches(batch_size=params.batch_size, columns=cols)):
        d = batch.to_pydict()
        for j, text in enumerate(d[params.text_key]):
            url = d.get(params.url_key, [None] * batch.num_rows)[j]
            date = d.get(params.date_key, [None] * batch.num_rows)[j]
            ident = f"{path}:{i}:{j}".encode()
            if not isinstance(text, str):
                buf.add(url=url, date=None, payload=b"", ident=ident, reason="read.no_text")
            elif len(text) > params.max_record_bytes:
                buf.add(url=url, date=None, payload=b"", ident=ident, reason="read.too_large")
            else:
                buf.add(url=url, date=None if date is None else str(date), payload=text.encode("utf-8", "replace"), text=text)
            if buf.full():
                yield buf.flush()
