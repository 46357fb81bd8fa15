"""Damaged WARC files made from real records, for the reader's damage tests.

Every fault is made the way it happens in the wild, on real Common Crawl-shaped records from the shared
crawl: a writer that got the Content-Length wrong, bytes flipped after the digest was computed, a gzip
member corrupted or cut off in transit, junk between records, a download that stopped early. Each builder
returns plain bytes so a test can splice them anywhere and know exactly which records are intact.
"""

from __future__ import annotations

import gzip
import random
import re
import zlib
from pathlib import Path


def records(path: Path, limit: int | None = None) -> list[bytes]:
    """The uncompressed records of a gzip-per-record WARC, one per member, each ending with ``\\r\\n\\r\\n``."""
    data = memoryview(Path(path).read_bytes())
    out, pos = [], 0
    while pos < len(data) and (limit is None or len(out) < limit):
        d, parts = zlib.decompressobj(31), []
        while not d.eof:  # fed in pieces: handing zlib the whole rest would copy it once per member
            piece = data[pos : pos + 65536]
            assert piece, f"{path}: cut off inside a gzip member"
            parts.append(d.decompress(piece))
            pos += len(piece)
        pos -= len(d.unused_data)
        out.append(b"".join(parts))
    return out


def header(rec: bytes, name: str) -> str | None:
    """A WARC header's value (first match, case-insensitive)."""
    head = rec[: rec.index(b"\r\n\r\n")].decode("utf-8", "replace")
    m = re.search(rf"^{re.escape(name)}:\s*(.*?)\s*$", head, re.I | re.M)
    return m.group(1) if m else None


def set_header(rec: bytes, name: str, value: str) -> bytes:
    """The record with one header's value replaced (the block is left alone)."""
    end = rec.index(b"\r\n\r\n")
    head, n = re.subn(rf"(?im)^({re.escape(name)}:[ \t]*)[^\r\n]*", lambda m: m.group(1) + value, rec[:end].decode("utf-8"))
    assert n == 1, f"{name} not in the record"
    return head.encode() + rec[end:]


def content_length(rec: bytes) -> int:
    return int(header(rec, "Content-Length"))


def wrong_length(rec: bytes, delta: int) -> bytes:
    """The record with its Content-Length off by ``delta`` bytes; the bytes themselves are unchanged."""
    return set_header(rec, "Content-Length", str(content_length(rec) + delta))


def flip_body(rec: bytes, at: float = 0.6) -> bytes:
    """One byte of the block changed (same length): the WARC-Block-Digest no longer matches."""
    start = rec.index(b"\r\n\r\n") + 4
    i = start + int((len(rec) - 4 - start) * at)
    return rec[:i] + bytes([rec[i] ^ 0x20]) + rec[i + 1 :]


def member(rec: bytes) -> bytes:
    """One gzip member holding ``rec`` (fixed mtime: the same input makes the same bytes)."""
    return gzip.compress(rec, compresslevel=6, mtime=0)


def random_fault(rng: random.Random, rec: bytes, gz: bool) -> tuple[str, int, int, bytes]:
    """``rec`` (its gzip member when ``gz``) with bytes zeroed, randomised, deleted or inserted at a random place:
    returns the kind, the damaged byte range and the damaged bytes."""
    blob = member(rec) if gz else rec
    a = rng.randrange(len(blob))
    b = min(len(blob), a + rng.choice([1, 4, 40, 400]))
    kind = rng.choice(["zero", "random", "delete", "insert"])
    if kind == "delete" and b - a == len(blob):  # a record cut out whole leaves a valid file: nothing to see
        b -= 1
    filler = {"zero": bytes(b - a), "random": rng.randbytes(b - a), "delete": b"", "insert": rng.randbytes(b - a) + blob[a:b]}[kind]
    return kind, a, b, blob[:a] + filler + blob[b:]


def corrupt(mem: bytes) -> bytes:
    """A gzip member with zeros written over the middle of its compressed data (header intact)."""
    a = max(12, len(mem) // 3)
    return mem[:a] + bytes(max(16, len(mem) // 5)) + mem[a + max(16, len(mem) // 5) :]


def cut(data: bytes, keep: float = 0.5) -> bytes:
    """The first ``keep`` fraction of ``data``: a member or file whose end never arrived."""
    return data[: max(1, int(len(data) * keep))]


GARBAGE = b"\x00\x17 proxy error: connection reset \xff\xfe" * 9 + b"Content-Length: 12\r\n"
"""Bytes that are no record: binary junk and text that looks like a header, so a scanner must not trust it."""
