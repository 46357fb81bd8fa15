"""WARC / ARC / WET records via warcio, bounded per record.

Only HTML ``response`` records (and WET ``conversion`` text) become documents; everything else is kept as a
row with a ``read.*`` reason. Payloads are read with a byte cap after HTTP de-chunking and decompression,
so a gzip bomb costs at most ``max_record_bytes``. A corrupt or truncated file ends with one quarantined
row that says where it broke; the records before it are kept.
"""

from __future__ import annotations

import re
from typing import Iterator

import pyarrow as pa
from warcio.archiveiterator import ArchiveIterator

from corpus.readers import RowBuffer
from corpus.recipe import ReadParams

_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.I)
HTML_TYPES = ("text/html", "application/xhtml+xml")


def http_charset(content_type: str | None) -> str | None:
    m = _CHARSET.search(content_type or "")
    return m.group(1).lower() if m else None


class TruncatedRecord(Exception):
    pass


def _drain(rec) -> None:
    """Consume what is left of the record; a shortfall against its Content-Length means the file was cut."""
    url = rec.rec_headers.get_header("WARC-Target-URI") or "(no url)"
    if not hasattr(rec.raw_stream, "limit"):  # warcio found no usable Content-Length (mandatory in WARC)
        raise TruncatedRecord(f"{rec.rec_type} record for {url} has no valid Content-Length: its headers are cut off or corrupt")
    while rec.raw_stream.read(1 << 16):
        pass
    if rec.raw_stream.limit:
        raise TruncatedRecord(f"{rec.rec_type} record for {url} is {rec.raw_stream.limit} bytes short of its Content-Length")


def read(path: str, params: ReadParams, buf: RowBuffer) -> Iterator[pa.Table | str]:
    count = 0
    offset = 0
    try:
        with open(path, "rb") as fh:
            records = ArchiveIterator(fh, arc2warc=True, ensure_http_headers=False)
            for rec in records:
                count += 1
                offset = records.offset
                _add_record(rec, params, buf)
                if buf.full():
                    yield buf.flush()
    except Exception as exc:  # warcio raises many types for corrupt input; all end this file the same way
        last = buf.flush()
        if last is not None:
            yield last
        yield (
            f"read: {path}: corrupt or truncated archive after {count} records (byte offset {offset}): "
            f"{type(exc).__name__}: {exc}. The records before it were kept; re-fetch or repair this file."
        )


def _add_record(rec, params: ReadParams, buf: RowBuffer) -> None:
    h = rec.rec_headers
    rtype = rec.rec_type
    data = rec.content_stream().read(params.max_record_bytes + 1) if rtype in ("response", "conversion") else b""
    _drain(rec)  # before the row is added, so a cut-off record is quarantined, never kept half or counted twice
    url = h.get_header("WARC-Target-URI")
    date = h.get_header("WARC-Date")
    ident = (h.get_header("WARC-Record-ID") or "").encode() + rtype.encode()
    if rtype == "conversion":  # WET: already plain text
        if len(data) > params.max_record_bytes:
            buf.add(url=url, date=date, payload=data, reason="read.too_large")
            return
        buf.add(url=url, date=date, payload=data, text=data.decode("utf-8", "replace"))
        return
    if rtype != "response":
        buf.add(url=url, date=date, payload=b"", ident=ident, reason=f"read.{rtype}_record")
        return
    http = rec.http_headers
    if http is None:  # a response without HTTP headers (e.g. dns:) is not a web page
        buf.add(url=url, date=date, payload=b"", ident=ident, reason="read.not_http")
        return
    status = http.get_statuscode() or ""
    ctype = (http.get_header("Content-Type") or "").lower()
    if not status.startswith("2"):
        buf.add(url=url, date=date, payload=b"", ident=ident, reason="read.http_status")
        return
    if not ctype.startswith(HTML_TYPES):
        buf.add(url=url, date=date, payload=b"", ident=ident, reason="read.non_html")
        return
    if len(data) > params.max_record_bytes:
        buf.add(url=url, date=date, payload=data[:65536], ident=ident, reason="read.too_large")
        return
    buf.add(url=url, date=date, payload=data, html=data, charset=http_charset(ctype))
