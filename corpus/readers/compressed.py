"""Decompressed bytes of a text dump (plain, gzip, zstd), with the place where it stops being readable.

A damaged compressed file must never turn into documents whose text is silently wrong, and must never cost
the documents before the damage. The two codecs differ in when they notice damage:

- zstd checks every block as it decodes it (entropy tables, sizes), so output before the error comes from
  intact blocks and is kept; the decoder stops at the damaged block.
- gzip (deflate) has no per-block check: zeros or flipped bits in the middle of a member usually decode
  into plausible but altered text, and only the CRC-32 at the end of the member says so. Measured here on a
  100,000-line JSONL: 200 zeroed bytes in the middle gave 49,500 altered lines that were still valid JSON,
  all before any error. So gzip input is decoded twice: ``trusted_length`` first checks every member's CRC
  (streaming, bounded memory; decompression costs a fraction of parsing the JSON), and the reader then
  trusts only the output of members that passed. A file that is merely cut short keeps everything decoded
  before the cut: a truncation alters nothing before it.
"""

from __future__ import annotations

import zlib
from typing import IO, Iterator

import pyarrow as pa

from corpus import storage

CHUNK = 1 << 14  # compressed bytes decoded at a time: output before an error in them is lost, and offsets are this precise
MAX_OUT = 1 << 20  # decompressed bytes produced per step (a gzip bomb is decoded in bounded pieces)


class StreamDamage(Exception):
    """The stream cannot be decoded past compressed byte ``offset``; ``truncated`` when it simply ends."""

    def __init__(self, offset: int, detail: str, truncated: bool) -> None:
        super().__init__(detail)
        self.offset, self.detail, self.truncated = offset, detail, truncated


def codec(path: str) -> str | None:
    return "gzip" if path.endswith(".gz") else "zstd" if path.endswith(".zst") else None


def chunks(path: str, options: dict | None = None) -> Iterator[bytes]:
    """Decompressed chunks of ``path`` (local or a URL); raises StreamDamage where decoding stops (output before it
    is yielded)."""
    kind = codec(path)
    if kind == "gzip":
        yield from _gzip(path, options)
        return
    raw = pa.PythonFile(storage.open_binary(path, options), "r") if storage.is_url(path) else pa.OSFile(path, "rb")
    stream: IO[bytes] = pa.CompressedInputStream(raw, kind) if kind else raw
    with stream:
        while True:
            try:
                chunk = stream.read(CHUNK)
            except storage.Unavailable:  # the store failed every retry: not damage, the shard is redone
                raise
            except (OSError, pa.ArrowException) as exc:
                raise StreamDamage(raw.tell(), str(exc), "runcated" in str(exc)) from None
            if not chunk:
                return
            yield chunk


def _gzip(path: str, options: dict | None = None) -> Iterator[bytes]:
    """Every gzip member in turn (concatenated members are one stream, as ``gzip -d`` treats them). An empty
    chunk marks the end of a member whose CRC-32 and length zlib has just checked."""
    with storage.open_binary(path, options) as fh:
        pos = 0  # compressed bytes consumed
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        fresh = True  # no byte of the current member seen yet
        data = b""
        while True:
            if not data:
                data = fh.read(CHUNK)
                if not data:
                    if not fresh:
                        raise StreamDamage(pos, "the file ends inside a gzip member (cut short)", True)
                    return
            if fresh and not data.strip(b"\0"):  # zero padding after a member (tape/block writers), as gzip -d allows
                pos, data = pos + len(data), b""
                continue
            try:
                out = d.decompress(data, MAX_OUT)
            except zlib.error as exc:
                raise StreamDamage(pos, f"gzip data error ({exc})", False) from None
            pos += len(data) - len(d.unconsumed_tail) - (len(d.unused_data) if d.eof else 0)
            fresh = False
            if out:
                yield out
            if d.eof:
                data, d, fresh = d.unused_data, zlib.decompressobj(16 + zlib.MAX_WBITS), True
                yield b""
            else:
                data = d.unconsumed_tail


def trusted_length(path: str, options: dict | None = None) -> int | None:
    """Decompressed bytes that can be trusted, or None when the whole file decodes and checks cleanly.

    For gzip: the output of the members whose CRC-32 matched; a cut-short member counts too (a truncation
    alters nothing before it). Other codecs check as they go and need no first pass."""
    if codec(path) != "gzip":
        return None
    verified = pending = 0
    try:
        for out in _gzip(path, options):
            if out:
                pending += len(out)
            else:
                verified, pending = verified + pending, 0
    except StreamDamage as exc:
        return verified + pending if exc.truncated else verified
    return None
