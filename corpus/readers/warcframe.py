"""Record framing for WARC / ARC / WET files that survives damage.

A damaged archive must cost exactly the damaged bytes: the records after a wrong ``Content-Length``, a corrupt
or cut-off gzip member, or garbage between records are still read. So framing is checked, never trusted:

- a record ends where its ``Content-Length`` says, and there must come ``\\r\\n\\r\\n`` (WARC) and then the next
  record header, the end of its gzip member, or the end of the file; otherwise the record is ``bad_length``
  and reading resumes at the next line that starts a valid record header (``WARC/1.x`` or an ARC header line);
- ``WARC-Block-Digest`` (or, without one, ``WARC-Payload-Digest``) is checked when present: ``digest_mismatch``;
- a gzip member that does not decompress to its end (zlib error, CRC mismatch, file cut off) is a ``Gap``:
  reading resumes at the next offset where a gzip member starts and decompresses to a record header.

Memory is bounded whatever the file: bytes are decompressed 16 KiB of input at a time, a record keeps at most
``keep`` bytes of its block (the rest is only hashed), and a resync scan never holds more than its window.
A record is emitted only once the bytes after it have been seen to be a valid boundary. In a gzip-per-record
file (Common Crawl) that includes its member's CRC, which covers the headers too. In a file with many records
per member (``gzip file.warc``), records are emitted before the member's CRC is reached, so there they rest on
their own framing and digests; the damage report of a member that breaks later says how many were read
before the break (its byte range is the whole member: compressed offsets inside a member are not exact).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import zlib
from dataclasses import dataclass
from typing import Iterator

GZIP_MAGIC = b"\x1f\x8b\x08"
_IN = 1 << 14  # compressed bytes per decompress call: what zlib copies as a member's unused tail stays small
_READ = 1 << 20  # bytes per file read (plain files, resync scans)
_COMPACT = 1 << 20  # consumed buffer bytes dropped once there are this many
HEADER_MAX = 1 << 20  # a header block longer than this is not a record header
CRLF2 = b"\r\n\r\n"
_WS = b"\r\n"
_PROBE = 1 << 16  # compressed bytes tried when checking that a gzip candidate starts a record

_WARC_VERSION = re.compile(rb"WARC/\d+\.\d+")
_WARC_VERSION_STR = re.compile(r"WARC/\d+\.\d+")
_CTRL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # searched with the CRLF line breaks taken out
_UNIQUE = frozenset({"warc-type", "warc-record-id", "warc-date", "content-length", "warc-target-uri", "warc-block-digest"})
_ARC_LINE = re.compile(rb"([A-Za-z][A-Za-z0-9+.\-]*:\S*) (\S+) (\d{12,14}) (\S*)(?: \S+)* (\d+)")
# a candidate record start after a newline: cheap to find, confirmed by parsing the whole header
_WARC_SIG = re.compile(rb"WARC/\d")  # anywhere: garbage before a header need not end with a newline
_ARC_SIG = re.compile(rb"(?<=\n)[A-Za-z][A-Za-z0-9+.\-]*:\S* \S+ \d{12,14} ")
_SCAN_KEEP = 8192  # bytes kept between pulls while scanning, so a candidate split across reads is still found


class Broken(Exception):
    """A gzip member's compressed bytes are corrupt, or the file ends inside it."""

    def __init__(self, why: str, truncated: bool) -> None:
        super().__init__(why)
        self.why, self.truncated = why, truncated


_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")


class Source:
    """The file, read by offset through one window, so resync scans and members share reads.

    A local path (``file://`` allowed) is read with ``os.pread``; a remote object (``s3://``, ``https://``, …)
    through ``corpus.storage``'s ranged, retrying reader with ``options``, imported only then, so reading local
    files needs nothing beyond this module."""

    def __init__(self, path: str, options: dict | None = None) -> None:
        self.path = path
        m = _SCHEME.match(path)
        if m is not None and m.group(1).lower() not in ("file", "local"):
            from corpus import storage

            reader = storage.reader(path, options)
            self.size = reader.size
            self._pread = reader.pread
            self._close = reader.close
        else:
            fd = os.open(path[m.end() :] if m is not None else path, os.O_RDONLY)
            self.size = os.fstat(fd).st_size
            self._pread = lambda off, n: os.pread(fd, n, off)
            self._close = lambda: os.close(fd)
        self._win = b""
        self._off = 0

    def view(self, off: int, n: int) -> memoryview:
        """Up to ``n`` bytes at ``off`` (fewer at the end of the file)."""
        rel = off - self._off
        if rel < 0 or rel + n > len(self._win) and self._off + len(self._win) < self.size:
            self._win = self._pread(off, max(_READ, n))
            self._off, rel = off, 0
        return memoryview(self._win)[rel : rel + n]

    def close(self) -> None:
        self._close()


class Member:
    """The decompressed bytes of one gzip member (or of a whole plain file), read forward through a bounded buffer.

    ``pos`` is the member offset of the next unread byte. ``ended`` means the source is exhausted cleanly: for
    gzip, the member's trailer (CRC and length) was verified and ``end`` is the file offset just past it.
    """

    def __init__(self, src: Source, start: int, gz: bool, pos: int = 0) -> None:
        self.src, self.start, self.gz = src, start, gz
        self.buf = bytearray()
        self.i = 0  # unread bytes are buf[i:]
        self.ended = False
        self.end = src.size
        self.broken: Broken | None = None
        if gz:
            self.cpos = start
            self.pos = 0
            self._d = zlib.decompressobj(31)
            self.skip(pos)
        else:  # a plain file is one member; any position can be reached directly
            self.cpos = start + pos
            self.pos = pos

    def _pull(self) -> None:
        if self.broken is not None:
            raise self.broken
        if not self.gz:
            data = self.src.view(self.cpos, _READ)
            if not data:
                self.ended = True
                return
            self.cpos += len(data)
            self._append(data)
            return
        inp = self.src.view(self.cpos, _IN)
        if not inp:
            self.broken = Broken("the file ends inside this gzip member", truncated=True)
            raise self.broken
        self.cpos += len(inp)
        try:
            out = self._d.decompress(inp)
        except zlib.error as exc:
            self.broken = Broken(f"corrupt gzip data ({exc})", truncated=False)
            raise self.broken from None
        if self._d.eof:
            self.cpos -= len(self._d.unused_data)
            self.end = self.cpos
            self.ended = True
        self._append(out)

    def _append(self, data) -> None:
        if self.i > _COMPACT and self.i * 2 > len(self.buf):
            del self.buf[: self.i]
            self.i = 0
        self.buf += data

    def avail(self) -> int:
        return len(self.buf) - self.i

    def fill(self, n: int) -> bool:
        """Buffer at least ``n`` unread bytes if the member has them."""
        while len(self.buf) - self.i < n and not self.ended:
            self._pull()
        return len(self.buf) - self.i >= n

    def at_end(self) -> bool:
        return not self.fill(1)

    def peek(self, n: int) -> bytes:
        self.fill(n)
        return bytes(self.buf[self.i : self.i + n])

    def skip(self, n: int) -> int:
        """Consume up to ``n`` bytes; returns how many there were."""
        done = 0
        while done < n:
            if not self.fill(1):
                break
            k = min(n - done, len(self.buf) - self.i)
            self.i += k
            self.pos += k
            done += k
        return done

    def skip_ws(self) -> None:
        while self.fill(1):
            j = self.i
            while j < len(self.buf) and self.buf[j] in _WS:
                j += 1
            self.pos += j - self.i
            self.i = j
            if j < len(self.buf):
                return

    def find(self, sub: bytes, limit: int) -> int:
        """Offset of ``sub`` from the read position within the next ``limit`` bytes, or -1."""
        searched = 0
        while True:
            k = self.buf.find(sub, self.i + searched, self.i + limit)
            if k >= 0:
                return k - self.i
            have = len(self.buf) - self.i
            if have >= limit or self.ended:
                return -1
            searched = max(0, have - len(sub) + 1)
            self._pull()

    def search(self, pattern: re.Pattern) -> int:
        """Consume bytes up to the next match of ``pattern`` and return its member offset; -1 at the member end.

        Only ``_SCAN_KEEP`` bytes are kept between reads, so a scan over a multi-GB body stays small."""
        while True:
            m = pattern.search(self.buf, self.i)
            if m is not None:
                self.skip(m.start() - self.i)
                return self.pos
            have = len(self.buf) - self.i
            if self.ended:
                self.skip(have)
                return -1
            if have > _SCAN_KEEP:
                self.skip(have - _SCAN_KEEP)
            self._pull()

    def feed(self, n: int, fn) -> int:
        """Consume the next ``n`` bytes (fewer if the member ends), handing each piece to ``fn`` as a memoryview
        that is valid only during the call; returns how many bytes there were."""
        left = n
        while left > 0 and self.fill(1):
            k = min(left, len(self.buf) - self.i)
            with memoryview(self.buf) as mv, mv[self.i : self.i + k] as piece:
                fn(piece)
            self.i += k
            self.pos += k
            left -= k
        return n - left


@dataclass
class Header:
    fmt: str  # "warc" | "arc"
    fields: dict[str, str]  # lower-case names
    length: int  # declared block length
    size: int  # bytes of the header block, terminator included

    def get(self, name: str) -> str | None:
        return self.fields.get(name)


@dataclass
class Record:
    """One framed record: its headers, up to ``keep`` bytes of its block, and whether it can be trusted."""

    header: Header
    offset: int  # file offset of the record (of its gzip member when compressed)
    block: bytes = b""
    complete: bool = True  # ``block`` is the whole block
    reason: str | None = None  # None, "bad_length" or "digest_mismatch"
    problem: str = ""  # what was wrong, for messages
    verified: bool = False  # a digest was present and matched
    short: bool = False  # the member or file ended before ``Content-Length`` bytes


@dataclass
class Gap:
    """Bytes no record can be recovered from."""

    offset: int
    length: int
    why: str
    then: str  # what happened next
    truncated: bool = False


def _decode(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("iso-8859-1")


def parse_warc_header(raw: bytes) -> dict[str, str] | None:
    """Header fields of a ``WARC/x.y`` header block (without its blank line), or None if it is not one."""
    if _CTRL.search(raw.replace(b"\r\n", b"")):  # a header is text: NULs, stray CR/LF, controls mean damage
        return None
    try:
        lines = raw.decode("utf-8").split("\r\n")
    except UnicodeDecodeError:  # as warcio: each line UTF-8 if it can be, else Latin-1
        lines = [_decode(line) for line in raw.split(b"\r\n")]
    if not _WARC_VERSION_STR.fullmatch(lines[0]):
        return None
    fields: dict[str, str] = {}
    last = None
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and last is not None:
            fields[last] += " " + line.strip()
            continue
        name, sep, value = line.partition(":")
        name = name.strip().lower()
        if not sep or not name or " " in name:
            return None
        if name in fields and name in _UNIQUE:  # two records' headers run together
            return None
        fields[name] = value.strip()
        last = name
    return fields


def _arc_date(ts: str) -> str:
    ts = (ts + "00000000000000")[:14]
    return f"{ts[0:4]}-{ts[4:6]}-{ts[6:8]}T{ts[8:10]}:{ts[10:12]}:{ts[12:14]}Z"


def parse_arc_line(line: bytes) -> dict[str, str] | None:
    """ARC v1/v2 record header line (URL IP date type [v2 fields] length), as WARC-style fields."""
    m = _ARC_LINE.fullmatch(line.rstrip(b"\r"))
    if m is None:
        return None
    url = _decode(m.group(1))
    rtype = "warcinfo" if url.startswith("filedesc://") else "response"
    return {
        "warc-type": rtype,
        "warc-target-uri": url,
        "warc-date": _arc_date(m.group(3).decode()),
        "content-type": "application/http; msgtype=response" if rtype == "response" else _decode(m.group(4)),
        "content-length": m.group(5).decode(),
    }


_DIGESTS = {"sha1": 20, "sha256": 32, "sha512": 64, "md5": 16}


_B32_CHARS = re.compile(r"[A-Za-z2-7]+")
_B32 = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567abcdefghijklmnopqrstuvwxyz", "0123456789abcdefghijklmnopqrstuv0123456789abcdefghijklmnop")


def _b32(v: str, size: int) -> bytes | None:
    """RFC 4648 base32 through ``int`` (C speed; ``base64.b32decode`` is pure Python and this runs per record)."""
    body = v.rstrip("=")
    bits = len(body) * 5
    if bits < size * 8 or bits - size * 8 >= 5 or not _B32_CHARS.fullmatch(body):
        return None
    return (int(body.translate(_B32), 32) >> (bits - size * 8)).to_bytes(size, "big")


def _digest_bytes(value: str, size: int) -> bytes | None:
    """A digest value in base32 (WARC's usual), hex or base64."""
    v = value.strip()
    out = _b32(v, size)
    if out is not None:
        return out
    for decode in (
        lambda s: base64.b32decode(s.upper() + "=" * (-len(s) % 8)),
        lambda s: bytes.fromhex(s),
        lambda s: base64.b64decode(s + "=" * (-len(s) % 4), validate=True),
    ):
        try:
            out = decode(v)
        except (ValueError, binascii.Error):
            continue
        if len(out) == size:
            return out
    return None


def _expected(spec: str | None) -> tuple[str, bytes] | None:
    """(algorithm, digest) of a ``WARC-*-Digest`` value we can check, else None."""
    if not spec or ":" not in spec:
        return None
    alg, _, value = spec.partition(":")
    alg = alg.strip().lower().replace("-", "")
    if alg not in _DIGESTS:
        return None
    want = _digest_bytes(value, _DIGESTS[alg])
    return (alg, want) if want is not None else None


def dechunk(data: bytes) -> bytes | None:
    """HTTP chunked transfer coding removed, or None if ``data`` is not validly chunked."""
    out, i = bytearray(), 0
    while True:
        j = data.find(b"\r\n", i)
        if j < 0:
            return None
        try:
            size = int(data[i:j].split(b";")[0].strip(), 16)
        except ValueError:
            return None
        if size == 0:
            return bytes(out)
        out += data[j + 2 : j + 2 + size]
        i = j + 4 + size


class Framer:
    """Records and gaps of one archive file, in file order."""

    def __init__(self, path: str, keep_types: tuple[str, ...], keep: int, options: dict | None = None) -> None:
        self.src = Source(path, options)
        self.keep_types, self.keep = keep_types, keep
        self.gz = bytes(self.src.view(0, 2)) == b"\x1f\x8b"
        lower = path.lower()
        self.fmt = "arc" if lower.endswith((".arc", ".arc.gz")) else "warc"
        self.m: Member | None = None
        self.current: Header | None = None  # the record being read, named when its member breaks
        self.emitted = 0  # records emitted from the current member

    def close(self) -> None:
        self.src.close()

    # -- headers ---------------------------------------------------------------------------------------
    def _header(self, m: Member) -> Header | None:
        """The record header at the read position (not consumed), or None if none starts there."""
        first = m.peek(5)
        if first.startswith(b"WARC/"):
            k = m.find(CRLF2, HEADER_MAX)
            if k < 0:
                return None
            fields = parse_warc_header(m.peek(k))
            fmt, size = "warc", k + 4
        elif first[:1].isalpha() and self.fmt == "arc" or first == b"filed":
            k = m.find(b"\n", 8192)
            if k < 0:
                return None
            fields = parse_arc_line(m.peek(k))
            fmt, size = "arc", k + 1
        else:
            return None
        if fields is None:
            return None
        cl = fields.get("content-length", "")
        if not cl.isdigit() or "warc-type" not in fields:
            return None
        self.fmt = fmt
        return Header(fmt, fields, int(cl), size)

    def _scan(self, m: Member) -> Header | None:
        """Consume bytes up to the next valid record header (returned, not consumed), or to the member end."""
        pattern = _ARC_SIG if self.fmt == "arc" else _WARC_SIG
        while m.search(pattern) >= 0:
            hdr = self._header(m)
            if hdr is not None:
                return hdr
            m.skip(1)
        return None

    # -- one record ------------------------------------------------------------------------------------
    def _block(self, m: Member, hdr: Header, offset: int) -> Record:
        """Read the block: keep what rows need, hash what the digests cover; consumes ``hdr.length`` bytes."""
        rtype = hdr.get("warc-type") or ""
        rec = Record(hdr, offset)
        keep = self.keep if rtype in self.keep_types else 0
        block_d = _expected(hdr.get("warc-block-digest"))
        payload_d = None
        if block_d is None and rtype != "revisit" and "warc-segment-number" not in hdr.fields:
            payload_d = _expected(hdr.get("warc-payload-digest"))  # a revisit's names the original's payload
        http = (hdr.get("content-type") or "").lower().startswith("application/http")
        bh = hashlib.new(block_d[0]) if block_d else None
        ph = hashlib.new(payload_d[0]) if payload_d else None
        kept = bytearray()
        head = bytearray()  # the block's start until its HTTP header end is seen (payload digest only)
        state = {"payload": ph is not None and not http}

        def eat(piece: memoryview) -> None:
            if bh is not None:
                bh.update(piece)
            if len(kept) < keep:
                kept.extend(piece[: keep - len(kept)])
            if ph is not None:
                if state["payload"]:
                    ph.update(piece)
                elif len(head) < HEADER_MAX:
                    head.extend(piece)
                    e = head.find(CRLF2)
                    if e >= 0:
                        ph.update(head[e + 4 :])
                        state["payload"] = True

        got = m.feed(hdr.length, eat)
        rec.block = bytes(kept)
        rec.complete = got <= keep
        if got < hdr.length:
            rec.reason = "bad_length"
            rec.problem = f"its Content-Length is {hdr.length} but only {got} bytes follow"
            rec.short = True
            return rec
        if bh is not None:
            rec.verified = bh.digest() == block_d[1]
            if not rec.verified:
                rec.reason, rec.problem = "digest_mismatch", "its WARC-Block-Digest does not match its block"
        elif ph is not None and state["payload"]:
            rec.verified = ph.digest() == payload_d[1]
            if not rec.verified and http and rec.complete:  # some writers hash the de-chunked payload
                e = rec.block.find(CRLF2)
                body = dechunk(rec.block[e + 4 :]) if e >= 0 else None
                rec.verified = body is not None and hashlib.new(payload_d[0], body).digest() == payload_d[1]
            if not rec.verified:
                rec.reason, rec.problem = "digest_mismatch", "its WARC-Payload-Digest does not match its payload"
        return rec

    # -- one member ------------------------------------------------------------------------------------
    def _garbage(self, m: Member, g0: int, head: bytes, hdr: Header | None) -> Gap:
        """The gap from member offset ``g0`` to the read position (the next header, or the member's end)."""
        n = m.pos - g0
        kind = self.fmt.upper()
        if not self.gz:
            off, length = g0, n
            what = f"{n} bytes that belong to no {kind} record (they start {head[:24]!r})"
        elif g0 == 0 and hdr is None:  # the whole member: say it in file bytes
            off, length = m.start, m.end - m.start
            what = f"a gzip member that holds no {kind} record ({n} bytes decompressed, starting {head[:24]!r})"
        else:
            off, length = m.start, n
            what = f"{n} bytes at offset {g0} inside the gzip member that belong to no record (starting {head[:24]!r})"
        if hdr is not None:
            then = f"resumed at the next record (byte {g0 + n})" if not self.gz else "resumed at the next record in the member"
        elif self.gz:
            then = "resumed at the next gzip member"
        elif head[:5] == b"WARC/"[: len(head[:5])] or self.fmt == "arc":  # a header (or its first bytes) at the end
            what = f"a record header cut off by the end of the file ({n} bytes from byte {g0}): the file is truncated"
            then = "re-fetch the file to recover the rest"
        else:
            then = "they run to the end of the file"
        return Gap(off, length, what, then, truncated=then.startswith("re-fetch"))

    def _member(self, m: Member) -> Iterator[Record | Gap]:
        """Records and gaps of one gzip member (or of a plain file); ``Broken`` ends it."""
        self.m = m
        m.skip_ws()
        if m.at_end():
            return
        hdr = self._header(m)
        while True:
            if hdr is None:  # not a record start: skip to the next one
                g0, head = m.pos, m.peek(24)
                m.skip(1)
                hdr = self._scan(m)
                yield self._garbage(m, g0, head, hdr)
                if hdr is None:
                    return
            self.current = hdr
            rec_pos = m.pos
            m.skip(hdr.size)
            body_pos = m.pos
            rec = self._block(m, hdr, m.start if self.gz else rec_pos)
            nxt: Header | None = None
            boundary = False
            term = b""
            if rec.reason != "bad_length":
                term = m.peek(4) if hdr.fmt == "warc" else b""
                if term == CRLF2 or hdr.fmt == "arc":
                    m.skip(len(term))
                    m.skip_ws()
                    nxt = None if m.at_end() else self._header(m)
                    boundary = nxt is not None or m.at_end()
            if boundary or (rec.verified and rec.reason is None and term == CRLF2):
                # a digest-verified record followed by garbage is intact: the garbage is a gap at the loop top
                self.emitted += 1
                yield rec
                if m.at_end():
                    return
                hdr = nxt
                continue
            if rec.reason != "bad_length" or not rec.problem:
                rec.problem = (
                    f"its Content-Length ({hdr.length}) is not followed by the record end and the next record"
                    if hdr.fmt == "warc" else f"its length ({hdr.length}) is not followed by the next record"
                )
            rec.reason = "bad_length"
            # the true end of a record with a wrong length is the next record header after its own header
            m = Member(self.src, m.start, self.gz, pos=body_pos)
            self.m = m
            nxt = self._scan(m)
            if nxt is None and not self.gz and rec.short:
                url = hdr.get("warc-target-uri") or "(no url)"
                yield Gap(
                    rec_pos, self.src.size - rec_pos,
                    f"the {hdr.get('warc-type')} record for {url} is cut off by the end of the file ({rec.problem}): "
                    "the file is truncated (or the record's length is wrong)",
                    "re-fetch the file to recover the rest", truncated=True,
                )
                return
            self.emitted += 1
            yield rec
            if nxt is None:
                return
            hdr = nxt

    # -- the file --------------------------------------------------------------------------------------
    def _probe(self, at: int) -> bool:
        """Does a gzip member start at ``at`` and decompress to the start of a record?"""
        d = zlib.decompressobj(31)
        out = b""
        try:
            for off in range(at, min(at + _PROBE, self.src.size), _IN):
                out += d.decompress(self.src.view(off, _IN))
                if len(out) >= 512 or d.eof:
                    break
        except zlib.error:
            return False
        line = out.split(b"\n", 1)[0]
        if out.startswith(b"WARC/"):
            return _WARC_VERSION.fullmatch(line.rstrip(b"\r")) is not None
        return parse_arc_line(line) is not None or (d.eof and not out.strip())

    def _next_member(self, frm: int) -> int:
        """File offset of the next valid gzip member at or after ``frm``, or the file size."""
        pos = frm
        while pos < self.src.size:
            win = bytes(self.src.view(pos, _READ))
            k = win.find(GZIP_MAGIC)
            while k >= 0:
                if self._probe(pos + k):
                    return pos + k
                k = win.find(GZIP_MAGIC, k + 1)
            if len(win) < _READ:
                break
            pos += len(win) - len(GZIP_MAGIC) + 1
        return self.src.size

    def _salvage(self, start: int, end: int) -> dict[str, str] | None:
        """The header fields at the start of a broken member, decoded in small steps up to the break (zlib drops
        the output of the call that fails, so one big call would lose them)."""
        d = zlib.decompressobj(31)
        out = bytearray()
        try:
            for off in range(start, min(end, start + HEADER_MAX), 256):
                out += d.decompress(self.src.view(off, 256))
                if b"\n" in out and not out.startswith(b"WARC/") or CRLF2 in out or d.eof:
                    break
        except zlib.error:
            pass
        if out.startswith(b"WARC/"):  # the whole header block, or its complete lines when the break cut it
            k = out.find(CRLF2)
            return parse_warc_header(bytes(out[: k if k > 0 else out.rfind(b"\r\n")]))
        return parse_arc_line(bytes(out.split(b"\n", 1)[0])) if b"\n" in out else None

    def items(self) -> Iterator[Record | Gap]:
        """Every record and gap of the file, in order."""
        start = 0
        while start < self.src.size:
            m = Member(self.src, start, self.gz)
            self.current, self.emitted = None, 0
            try:
                yield from self._member(m)
            except Broken as exc:
                nxt = self._next_member(start + 1)
                why = exc.why
                if bytes(self.src.view(start, 3)) != GZIP_MAGIC:
                    why = "bytes that are not a gzip member"
                else:
                    h = self.current.fields if self.current is not None else self._salvage(start, nxt)
                    if h is not None and h.get("warc-target-uri"):
                        why += f"; it held the {h.get('warc-type') or 'WARC'} record for {h['warc-target-uri']}"
                    elif h is not None and h.get("warc-type"):
                        why += f"; it held a {h['warc-type']} record whose URL is lost with it"
                if self.emitted:
                    why += f" (the {self.emitted} records before it in this member were read)"
                if nxt < self.src.size:
                    then = f"resumed at the next gzip member at byte {nxt}"
                elif exc.truncated:
                    then = "the file is truncated: re-fetch it to recover the rest"
                else:
                    then = "no readable gzip member follows: the file is damaged to its end; re-fetch or repair it"
                yield Gap(start, nxt - start, why, then, truncated=exc.truncated)
                start = nxt
                continue
            if not self.gz:
                return
            start = self.m.end
