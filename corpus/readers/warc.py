"""WARC / ARC / WET records, bounded per record, recovered around damage.

Only HTML ``response`` records (and WET ``conversion`` text) become documents; everything else is kept as a
row with a ``read.*`` reason. Payloads are decoded (HTTP chunking, Content-Encoding) with a byte cap, so a
gzip bomb costs at most ``max_record_bytes``.

Framing is checked by ``warcframe``, never trusted: a record whose length or digest is wrong is a row
rejected as ``read.bad_length`` / ``read.digest_mismatch`` (with its URL, so a curator can find it), and
reading resumes at the next record; bytes no record can be recovered from (a corrupt or cut-off gzip member,
garbage between records, a truncated tail) are one ``Damage`` each, quarantined by the shard with a message
saying where, what and what happened next. So damage costs the damaged record, never the records after it.
"""

from __future__ import annotations

import io
import re
from typing import Iterator

import pyarrow as pa
from warcio.bufferedreaders import BufferedReader, ChunkedDataReader

from corpus import storage
from corpus.readers.rows import Damage, RowBuffer
from corpus.readers.warcframe import Framer, Gap, Record
from corpus.recipe import ReadParams

_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.I)
HTML_TYPES = ("text/html", "application/xhtml+xml")
_HTTP_SCHEMES = ("http:", "https:")
_HTTP_OTHER = re.compile(r"HTTP/\d(\.\d)? ")
_HEAD_ROOM = 1 << 20  # block bytes kept beyond the payload cap, for HTTP headers and chunk framing


def http_charset(content_type: str | None) -> str | None:
    m = _CHARSET.search(content_type or "")
    return m.group(1).lower() if m else None


def read(path: str, params: ReadParams, buf: RowBuffer) -> Iterator[pa.Table | Damage]:
    cap = params.max_record_bytes
    framer = Framer(path, ("response", "conversion"), cap + cap // 4 + _HEAD_ROOM, storage.options_of(params))
    try:
        for item in framer.items():
            if isinstance(item, Gap):
                end = item.offset + item.length
                yield Damage(f"read: {path}: bytes {item.offset}-{end}: {item.why}; {item.then}", item.offset, item.length)
                continue
            _add_record(item, cap, buf)
            if buf.full():
                yield buf.flush()
    except OSError:  # the file could not be read at all (vanished, I/O error): the shard fails and says so
        raise
    except Exception as exc:  # noqa: BLE001 - a reader bug must still be counted, never lose the rest silently
        at = framer.m.start if framer.m is not None else 0
        yield Damage(
            f"read: {path}: bytes {at}-{framer.src.size}: the reader failed ({type(exc).__name__}: {exc}); the rest of "
            "the file was not read. This is a bug in the reader: please report it with the file.", at, framer.src.size - at)
    finally:
        framer.close()


def _add_record(rec: Record, cap: int, buf: RowBuffer) -> None:
    h = rec.header
    rtype = h.get("warc-type") or "unknown"
    url = h.get("warc-target-uri")
    if url is not None:  # as warcio: wget 1.19 wrote <uri>; spaces are invalid in a URI
        if url.startswith("<") and url.endswith(">"):
            url = url[1:-1]
        url = url.replace(" ", "%20")
    date = h.get("warc-date")
    rec_id = h.get("warc-record-id") or f"{h.fmt}@{rec.offset}"  # ARC has no ids: its position is one
    ident = rec_id.encode() + rtype.encode()
    if rec.reason is not None:  # the body is not what the headers say: never a document
        buf.add(url=url, date=date, payload=b"", ident=ident, reason=f"read.{rec.reason}")
        return
    if rtype == "conversion":  # WET: already plain text
        data = rec.block[: cap + 1]
        if len(data) > cap:
            buf.add(url=url, date=date, payload=data, reason="read.too_large")
            return
        buf.add(url=url, date=date, payload=data, text=data.decode("utf-8", "replace"))
        return
    if rtype != "response":
        buf.add(url=url, date=date, payload=b"", ident=ident, reason=f"read.{rtype}_record")
        return
    if not url or not url.startswith(_HTTP_SCHEMES) or h.length == 0:  # e.g. dns:, not a web page
        buf.add(url=url, date=date, payload=b"", ident=ident, reason="read.not_http")
        return
    http = http_head(rec.block)
    if http is None:  # no HTTP status line: not a response we can read
        buf.add(url=url, date=date, payload=b"", ident=ident, reason="read.bad_http")
        return
    status, headers, body_at = http
    ctype = (headers.get("content-type") or "").lower()
    if not status.startswith("2"):
        buf.add(url=url, date=date, payload=b"", ident=ident, reason="read.http_status")
        return
    if not ctype.startswith(HTML_TYPES):
        buf.add(url=url, date=date, payload=b"", ident=ident, reason="read.non_html")
        return
    try:
        data = _content(headers, io.BytesIO(rec.block[body_at:]), cap) if rec.complete else b""
    except Exception:  # noqa: BLE001 - a body its own Content-Encoding / chunking cannot undo is not a page
        buf.add(url=url, date=date, payload=b"", ident=ident, reason="read.bad_encoding")
        return
    if not rec.complete or len(data) > cap:
        buf.add(url=url, date=date, payload=data[:65536], ident=ident, reason="read.too_large")
        return
    buf.add(url=url, date=date, payload=data, html=data, charset=http_charset(ctype))


def _line(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("iso-8859-1")


def http_head(block: bytes) -> tuple[str, dict[str, str], int] | None:
    """(status code, headers by lower-case name (first wins), body offset) of an HTTP response block.

    The same reading as warcio's ``StatusAndHeadersParser`` (lines end in LF or CRLF, continuation lines, a line
    without a colon ignored, the head ends at the first empty line or the end of the block), without its
    per-line stream reads: this runs once per response record."""
    end = len(block)
    pos = block.find(b"\n")
    first = _line(block[: end if pos < 0 else pos]).rstrip()
    if not first:
        return None if pos < 0 and not block else ("", {}, end if pos < 0 else pos + 1)
    if first.startswith(("HTTP/1.0", "HTTP/1.1")):
        status = first[8:].strip().split(" ", 1)[0]
    elif _HTTP_OTHER.match(first):  # HTTP/2 and later, as browser-based crawlers record them (warcio refuses these)
        status = first.split(None, 2)[1] if len(first.split()) > 1 else ""
    else:
        return None
    headers: dict[str, str] = {}
    last: str | None = None  # the header a continuation line extends (only if it was the first of its name)
    while pos >= 0:
        start = pos + 1
        pos = block.find(b"\n", start)
        line = _line(block[start : end if pos < 0 else pos]).rstrip()
        if not line:
            return status, headers, end if pos < 0 else pos + 1
        if line[0] in " \t":
            if last is not None:
                headers[last] += line
            continue
        name, sep, value = line.partition(":")
        last = None
        if sep:
            key = name.rstrip(" \t").lower()
            if key not in headers:
                headers[key] = value.lstrip()
                last = key
    return status, headers, end


def _content(headers: dict[str, str], stream: io.BytesIO, cap: int) -> bytes:
    """The HTTP payload with transfer and content coding removed, at most ``cap + 1`` bytes (as warcio's
    ``content_stream``: an unknown coding, or data that is not compressed at all, is passed through)."""
    encoding = (headers.get("content-encoding") or "").lower() or None
    if encoding not in BufferedReader.get_supported_decompressors():
        encoding = None
    if headers.get("transfer-encoding") == "chunked":
        body = ChunkedDataReader(stream, decomp_type=encoding)
    elif encoding:
        body = BufferedReader(stream, decomp_type=encoding)
    else:
        body = stream
    return body.read(cap + 1)
