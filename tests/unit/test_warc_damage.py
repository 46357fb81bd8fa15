"""The WARC/ARC reader on damaged archives built from real crawl records: every intact record is read exactly
as from the undamaged file, each damaged record is rejected with its reason (and URL) or reported as one
Damage, and rows + damages account for every record slot."""

from __future__ import annotations

import gzip
import re

import pyarrow as pa
import pytest

import warcfaults as wf
from corpus.readers import Damage, discover, read
from corpus.recipe import ReadParams

N = 31  # warcinfo + 10 captures (request, response, metadata)
BAD = 14  # a response record in the middle


class Raw(bytes):
    """Bytes spliced into a file as they are (not wrapped in a gzip member)."""


def read_all(path, **params) -> tuple[pa.Table, list[Damage]]:
    (inp,) = discover([str(path)])
    tables, damages = [], []
    for item in read(inp, ReadParams(**params)):
        (damages if isinstance(item, Damage) else tables).append(item)
    return pa.concat_tables(tables), damages


def write(tmp_path, name: str, parts: list[bytes], gz: bool):
    path = tmp_path / name
    path.write_bytes(b"".join(p if isinstance(p, Raw) or not gz else wf.member(p) for p in parts))
    return path


@pytest.fixture(scope="module")
def crawl(shared_data, tmp_path_factory):
    """The first N records of a shared segment and the rows a clean copy of them reads as (per gz / plain)."""
    recs = wf.records(shared_data / "crawl" / "segment-00000.warc.gz", N)
    assert wf.header(recs[BAD], "WARC-Type") == "response"
    tmp = tmp_path_factory.mktemp("clean")
    clean = {gz: read_all(write(tmp, "clean.warc" + ".gz" * gz, recs, gz))[0].drop(["source", "shard"]).to_pylist() for gz in (True, False)}
    assert clean[True] == clean[False] and len(clean[True]) == N
    return recs, clean[True]


def rows_of(table) -> list[tuple]:
    return [(r["id"], r["url"], r["drop_reason"], r["_html"]) for r in table.to_pylist()]


def expect(clean: list[dict], damaged: dict[int, str | None]) -> list[tuple]:
    """Rows the damaged file must read as: the clean rows, with each damaged slot rejected (reason) or gone (None)."""
    out = []
    for i, r in enumerate(clean):
        if i not in damaged:
            out.append((r["id"], r["url"], r["drop_reason"], r["_html"]))
        elif damaged[i] is not None:
            out.append(("*", r["url"], damaged[i], None))
    return out


def same(actual: list[tuple], wanted: list[tuple]) -> None:
    assert len(actual) == len(wanted)
    for a, w in zip(actual, wanted):
        assert a[1:] == w[1:] and (w[0] == "*" or a[0] == w[0]), (a[:3], w[:3])


def spec_url(recs, i) -> str:
    return wf.header(recs[i], "WARC-Target-URI")


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "plain"])
@pytest.mark.parametrize(
    "fault, reason",
    [
        (lambda r: wf.wrong_length(r, -200), "read.bad_length"),  # cut off mid-word if trusted
        (lambda r: wf.wrong_length(r, +300), "read.bad_length"),  # would swallow the next record's start
        (lambda r: wf.wrong_length(r, +10**9), "read.bad_length"),  # would swallow the rest of the file
        (wf.flip_body, "read.digest_mismatch"),
    ],
    ids=["cl_too_short", "cl_too_long", "cl_past_eof", "digest_mismatch"],
)
def test_bad_record_is_rejected_and_the_rest_read(crawl, tmp_path, gz, fault, reason):
    recs, clean = crawl
    parts = list(recs)
    parts[BAD] = fault(recs[BAD])
    table, damages = read_all(write(tmp_path, "d.warc" + ".gz" * gz, parts, gz))
    assert damages == []
    same(rows_of(table), expect(clean, {BAD: reason}))
    bad = table.filter(pa.compute.equal(table.column("drop_reason"), reason)).to_pylist()
    assert [r["url"] for r in bad] == [spec_url(recs, BAD)]  # the curator can find the capture


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "plain"])
def test_garbage_between_records_is_one_damage(crawl, tmp_path, gz):
    recs, clean = crawl
    parts = recs[: BAD + 1] + [Raw(wf.GARBAGE)] + recs[BAD + 1 :]
    path = write(tmp_path, "g.warc" + ".gz" * gz, parts, gz)
    table, damages = read_all(path)
    same(rows_of(table), expect(clean, {}))  # the record before the junk was verified by its digest
    (d,) = damages
    start = sum(len(wf.member(r) if gz else r) for r in recs[: BAD + 1])
    assert (d.offset, d.length) == (start, len(wf.GARBAGE))
    assert str(path) in d.message and f"bytes {start}-{start + len(wf.GARBAGE)}" in d.message
    assert "resumed at the next" in d.message


@pytest.mark.parametrize("damage", [wf.corrupt, wf.cut], ids=["corrupt_member", "cut_member"])
def test_damaged_gzip_member_in_the_middle(crawl, tmp_path, damage):
    recs, clean = crawl
    parts = list(recs)
    parts[BAD] = Raw(damage(wf.member(recs[BAD])))
    path = write(tmp_path, "m.warc.gz", parts, True)
    table, damages = read_all(path)
    same(rows_of(table), expect(clean, {BAD: None}))
    (d,) = damages
    start = sum(len(wf.member(r)) for r in recs[:BAD])
    assert (d.offset, d.length) == (start, len(parts[BAD]))
    assert spec_url(recs, BAD) in d.message  # names the record it held
    assert f"resumed at the next gzip member at byte {start + len(parts[BAD])}" in d.message


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "plain"])
@pytest.mark.parametrize("keep", [0.7, 0.01], ids=["in_body", "in_header"])
def test_truncated_tail_is_a_damage_never_half_a_record(crawl, tmp_path, gz, keep):
    recs, clean = crawl
    last = wf.member(recs[-1]) if gz else recs[-1]
    path = write(tmp_path, "t.warc" + ".gz" * gz, recs[:-1] + [Raw(wf.cut(last, keep))], gz)
    table, damages = read_all(path)
    same(rows_of(table), expect(clean, {N - 1: None}))
    (d,) = damages
    assert d.offset + d.length == path.stat().st_size
    assert "truncated" in d.message and "re-fetch" in d.message


def test_every_kind_at_once_accounts_for_every_slot(crawl, tmp_path):
    """Several faults in one plain file: each costs only its own record, and they do not interfere."""
    recs, clean = crawl
    parts = list(recs)
    parts[5] = wf.wrong_length(recs[5], -50)
    parts[8] = wf.wrong_length(recs[8], +5000)
    parts[11] = wf.flip_body(recs[11])
    parts.insert(21, Raw(wf.GARBAGE))
    table, damages = read_all(write(tmp_path, "all.warc", parts, False))
    same(rows_of(table), expect(clean, {5: "read.bad_length", 8: "read.bad_length", 11: "read.digest_mismatch"}))
    assert len(damages) == 1 and table.num_rows + len(damages) == N + 1


def test_records_without_digest_are_rejected_when_their_end_cannot_be_confirmed(crawl, tmp_path):
    """With no digest to vouch for it, a record followed by junk may have lost its tail to a wrong length."""
    recs, clean = crawl
    bare = [re.sub(rb"WARC-(Block|Payload)-Digest: [^\r]*\r\n", b"", r) for r in recs]
    parts = bare[: BAD + 1] + [Raw(wf.GARBAGE)] + bare[BAD + 1 :]
    table, damages = read_all(write(tmp_path, "nd.warc", parts, False))
    assert damages == []  # the junk is counted in the rejected record it follows
    same(rows_of(table), expect(clean, {BAD: "read.bad_length"}))


def test_one_gzip_member_holding_every_record(crawl, tmp_path):
    """``gzip file.warc`` makes one member for the whole file; it is read like per-record gzip."""
    recs, clean = crawl
    path = tmp_path / "whole.warc.gz"
    path.write_bytes(gzip.compress(b"".join(recs), mtime=0))
    table, damages = read_all(path)
    assert damages == []
    same(rows_of(table), expect(clean, {}))


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
def test_arc_record_with_wrong_length(tmp_path, gz):
    def rec(url: str, text: str, delta: int = 0) -> bytes:
        body = b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html><body><p>" + text.encode() + b"</p></body></html>"
        return f"{url} 1.2.3.4 20240101000000 text/html {len(body) + delta}\n".encode() + body + b"\n"

    info = b"1 0 InternetArchive\nURL IP-address Archive-date Content-type Archive-length\n"
    head = b"filedesc://t.arc 0.0.0.0 20240101000000 text/plain %d\n" % len(info) + info + b"\n"
    pages = [("http://arc.example/a", "first page"), ("http://arc.example/b", "second page"), ("http://arc.example/c", "third")]
    path = write(tmp_path, "t.arc" + ".gz" * gz, [head, rec(*pages[0]), rec(*pages[1], delta=-7), rec(*pages[2])], gz)
    table, damages = read_all(path)
    assert damages == []
    got = [(r["url"], r["drop_reason"]) for r in table.to_pylist()]
    assert got == [("filedesc://t.arc", "read.warcinfo_record"), (pages[0][0], None), (pages[1][0], "read.bad_length"), (pages[2][0], None)]
    assert b"third" in table.column("_html")[3].as_py()


def test_resync_scan_memory_is_bounded(crawl, tmp_path):
    """A 40 MB run of junk (no newline, nothing that looks like a record) is scanned, not loaded."""
    import tracemalloc

    recs, _ = crawl
    junk = Raw(bytes(range(1, 256)).replace(b"\n", b"") * 160_000)
    path = write(tmp_path, "junk.warc", recs[:4] + [junk] + recs[4:7], False)
    tracemalloc.start()
    table, damages = read_all(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert table.num_rows == 7 and len(damages) == 1 and damages[0].length == len(junk)
    assert peak < 12_000_000, peak


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "plain"])
def test_random_damage_costs_only_the_damaged_record(crawl, tmp_path, gz):
    """Random faults (zeroed, random, deleted or inserted bytes) inside one record's bytes, 60 seeds: the reader
    never raises, every other record reads exactly as from the clean file, and in gzip (whose CRC covers the
    headers too) nothing that differs from the clean file is ever kept as a document."""
    import random

    recs, clean = crawl
    clean_rows = rows_of(pa.Table.from_pylist(clean))
    clean_docs = {r[0] for r in clean_rows if r[2] is None}
    for seed in range(60):
        rng = random.Random(seed)
        k = rng.randrange(1, N)
        kind, a, b, damaged = wf.random_fault(rng, recs[k], gz)
        parts = list(recs)
        parts[k] = Raw(damaged)
        table, damages = read_all(write(tmp_path, f"f{seed}.warc" + ".gz" * gz, parts, gz))
        got, case = rows_of(table), (seed, kind, k, a, b)
        after = N - 1 - k  # records after the damaged one
        assert got[:k] == clean_rows[:k] and got[len(got) - after :] == clean_rows[k + 1 :], case
        middle = got[k : len(got) - after]  # what became of record k: itself, one rejected row, or nothing
        assert len(middle) <= 1 and len(middle) + len(damages) >= 1 or middle == [clean_rows[k]], case
        if gz:  # the gzip CRC covers headers too: a kept document is always the clean one
            assert all(r[0] in clean_docs for r in middle if r[2] is None), case


def test_wet_conversion_records_with_a_wrong_length(tmp_path):
    """WET (Common Crawl's extracted text): conversion records are documents; one with a wrong length is rejected."""
    import io

    from warcio.warcwriter import WARCWriter

    texts = [f"Plain text of page {i}. " * 40 for i in range(5)]
    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=False)
    for i, t in enumerate(texts):
        w.write_record(w.create_warc_record(f"http://wet.example/{i}", "conversion", payload=io.BytesIO(t.encode()),
                                            warc_content_type="text/plain"))
    recs = re.findall(rb"WARC/1\.\d.*?(?=WARC/1\.\d|\Z)", buf.getvalue(), re.S)
    assert len(recs) == 5 and wf.header(recs[2], "WARC-Block-Digest")
    recs[2] = wf.wrong_length(recs[2], -30)
    for gz in (False, True):
        table, damages = read_all(write(tmp_path, "t.wet" + ".gz" * gz, recs, gz))
        assert damages == []
        got = [(r["url"], r["drop_reason"], r["text"]) for r in table.to_pylist()]
        assert got == [(f"http://wet.example/{i}", "read.bad_length" if i == 2 else None, None if i == 2 else t) for i, t in enumerate(texts)]


def test_http_status_lines(crawl, tmp_path):
    """A response recorded with an HTTP/2 status line is a page; one whose block is not HTTP is rejected, not fatal."""
    recs, clean = crawl

    def with_status(rec: bytes, line: bytes) -> bytes:
        head, block = rec.split(b"\r\n\r\n", 1)
        block = line + block[block.index(b"\r\n") :]
        return re.sub(rb"WARC-(Block|Payload)-Digest: [^\r]*\r\n", b"", head) + b"\r\n\r\n" + block

    parts = list(recs)
    parts[BAD] = wf.wrong_length(with_status(recs[BAD], b"HTTP/2 200"), -len(b"HTTP/1.1 200 OK") + len(b"HTTP/2 200"))
    parts[BAD + 3] = wf.wrong_length(with_status(recs[BAD + 3], b"ICY 200 OK"), -len(b"HTTP/1.1 200 OK") + len(b"ICY 200 OK"))
    table, damages = read_all(write(tmp_path, "h.warc.gz", parts, True))
    assert damages == []
    want = expect(clean, {BAD + 3: "read.bad_http"})
    want[BAD] = ("*",) + want[BAD][1:]  # the same page, from a block with another status line
    same(rows_of(table), want)
