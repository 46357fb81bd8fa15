"""Readers on real archives (pywb's edge cases, the Common Crawl-shaped sample) and on hostile input."""

import gzip
import json
import zlib
from collections import Counter

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from warcio.archiveiterator import ArchiveIterator

from corpus.readers import Damage, InputError, discover, read
from corpus.recipe import ReadParams


def rows(path, **params):
    """All rows and fatal errors a reader yields for one input."""
    (inp,) = discover([str(path)])
    tables, errors = [], []
    for item in read(inp, ReadParams(**params)):
        if isinstance(item, Damage):
            errors.append(item.message)
        else:
            tables.append(item)
    table = pa.concat_tables(tables) if tables else None
    return table, errors


def reasons(table):
    return Counter(table.column("drop_reason").to_pylist())


def test_iana_every_record_accounted_for(shared_data):
    path = shared_data / "warc-edge" / "iana.warc.gz"
    with open(path, "rb") as fh:
        expected = Counter(r.rec_type for r in ArchiveIterator(fh, arc2warc=True))
    table, errors = rows(path, batch_size=50)
    assert not errors
    assert table.num_rows == sum(expected.values())  # one row per record, nothing silently skipped
    got = reasons(table)
    assert got["read.request_record"] == expected["request"]
    assert got["read.revisit_record"] == expected["revisit"]
    docs = table.filter(pa.compute.is_null(table.column("drop_reason")))
    assert docs.num_rows == 16  # 20 HTML responses in the iana.org crawl, 4 of them 302 redirects
    assert got["read.http_status"] == 4
    assert all(h.lstrip().lower().startswith((b"<!doctype", b"<html")) for h in docs.column("_html").to_pylist())
    assert got["read.non_html"] > 0  # scripts, stylesheets, images


@pytest.mark.parametrize("name", ["dupes.warc.gz", "example.warc.gz", "example-wget-1-14.warc.gz"])
def test_other_edge_archives_do_not_crash(shared_data, name):
    table, errors = rows(shared_data / "warc-edge" / name)
    assert not errors and table.num_rows > 0


def test_shared_crawl_segment_matches_manifest(shared_data):
    manifest = [json.loads(l) for l in (shared_data / "crawl" / "sample_manifest.jsonl").read_text().splitlines()]
    seg = [m for m in manifest if m["segment"] == "segment-00000.warc.gz"]
    table, errors = rows(shared_data / "crawl" / "segment-00000.warc.gz", batch_size=128)
    assert not errors
    docs = table.filter(pa.compute.is_null(table.column("drop_reason")))
    assert sorted(docs.column("url").to_pylist()) == sorted(m["url"] for m in seg)
    assert table.num_rows == 3 * len(seg) + 1  # request + response + metadata per capture, one warcinfo
    # ids are content-derived and unique per capture
    assert len(set(table.column("id").to_pylist())) == table.num_rows


def test_truncated_archive_keeps_what_came_before(shared_data, tmp_path):
    data = (shared_data / "crawl" / "segment-00000.warc.gz").read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[: len(data) // 3])
    table, errors = rows(cut)
    assert len(errors) == 1 and "truncated" in errors[0] and "re-fetch" in errors[0]
    assert table.num_rows > 100


def test_corrupt_gzip_member_is_an_error_not_a_crash(shared_data, tmp_path):
    data = bytearray((shared_data / "crawl" / "segment-00000.warc.gz").read_bytes())
    data[200_000:200_400] = bytes(400)  # zeros in the middle of a gzip member
    bad = tmp_path / "bad.warc.gz"
    bad.write_bytes(bytes(data))
    table, errors = rows(bad)
    assert len(errors) == 1 and "corrupt" in errors[0] and "resumed at the next gzip member" in errors[0]
    whole, _ = rows(shared_data / "crawl" / "segment-00000.warc.gz")
    assert whole.num_rows - 2 <= table.num_rows < whole.num_rows  # only the damaged member's record is lost, not the rest


def test_gzip_bomb_is_capped(tmp_path):
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter
    import io

    bomb = zlib.compress(b"<p>" + b"A" * 50_000_000, 9)
    path = tmp_path / "bomb.warc.gz"
    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=True)
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html"), ("Content-Encoding", "deflate")], protocol="HTTP/1.1")
        w.write_record(w.create_warc_record("http://bomb.example/", "response", payload=io.BytesIO(bomb), http_headers=http))
    table, errors = rows(path, max_record_bytes=1_000_000)
    assert not errors
    assert reasons(table) == Counter({"read.too_large": 1})
    assert table.column("_payload_bytes")[0].as_py() <= 1_000_001


def test_jsonl_bad_lines(tmp_path):
    path = tmp_path / "d.jsonl.gz"
    with gzip.open(path, "wb") as gz:
        gz.write(b'{"text": "hello", "url": "u1"}\n{not json}\n\n{"body": 1}\n' + b'{"text": "' + b"x" * 5000 + b'"}\n{"text": "tail"}')
    table, errors = rows(path, max_record_bytes=1000)
    assert not errors
    assert table.column("drop_reason").to_pylist() == [None, "read.bad_json", "read.empty", "read.no_text", "read.too_large", None]
    assert table.column("text").to_pylist()[-1] == "tail"


def test_parquet_and_html_folder(tmp_path):
    pq.write_table(pa.table({"text": ["a doc", None], "url": ["u", "v"]}), tmp_path / "t.parquet")
    table, _ = rows(tmp_path / "t.parquet")
    assert table.column("drop_reason").to_pylist() == [None, "read.no_text"]
    site = tmp_path / "site"
    (site / "sub").mkdir(parents=True)
    (site / "index.html").write_text("<html><body><p>hi</p></body></html>")
    (site / "sub" / "logo.png").write_bytes(b"\x89PNG")
    table, _ = rows(site)
    assert table.column("url").to_pylist() == ["file:index.html", "file:sub/logo.png"]
    assert table.column("drop_reason").to_pylist() == [None, "read.non_html"]


def test_arc_file(tmp_path):
    body = b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html><body><p>An ARC page.</p></body></html>"
    head = b"filedesc://t.arc 0.0.0.0 20240101000000 text/plain 75\n1 0 InternetArchive\nURL IP-address Archive-date Content-type Archive-length\n"
    rec = b"http://arc.example/ 1.2.3.4 20240101000000 text/html %d\n" % len(body) + body + b"\n"
    path = tmp_path / "t.arc"
    path.write_bytes(head + b"\n" + rec)
    table, errors = rows(path)
    assert not errors
    docs = table.filter(pa.compute.is_null(table.column("drop_reason")))
    assert docs.column("url").to_pylist() == ["http://arc.example/"]


def test_unknown_format_is_a_clear_error(tmp_path):
    (tmp_path / "x.docx").write_bytes(b"PK")
    with pytest.raises(InputError, match="unknown input format; supported suffixes"):
        discover([str(tmp_path / "x.docx")])


def test_reading_streams_memory_does_not_grow_with_file_size(tmp_path):
    """Peak memory while reading depends on batch size and record cap, not on how big the file is."""
    import io
    import tracemalloc

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    def make(n: int):
        path = tmp_path / f"w{n}.warc.gz"
        with open(path, "wb") as fh:
            w = WARCWriter(fh, gzip=True)
            for i in range(n):
                body = (f"<html><body><p>page {i} " + "lorem text " * 1500 + "</p></body></html>").encode()
                http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
                w.write_record(w.create_warc_record(f"http://s.example/{i}", "response", payload=io.BytesIO(body), http_headers=http))
        return path

    def peak(path) -> int:
        (inp,) = discover([str(path)])
        tracemalloc.start()
        rows = sum(t.num_rows for t in read(inp, ReadParams(batch_size=32)) if not isinstance(t, str))
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return rows, top

    small_rows, small_peak = peak(make(100))
    large_rows, large_peak = peak(make(1000))  # ~16 MB of pages
    assert (small_rows, large_rows) == (100, 1000)
    assert large_peak < 1.5 * small_peak + 2_000_000, (small_peak, large_peak)
    assert large_peak < 8_000_000


@pytest.mark.parametrize("name", ["crawl/segment-00000.warc.gz", "crawl/segment-00001.warc.gz", "warc-edge/iana.warc.gz",
                                  "warc-edge/dupes.warc.gz", "warc-edge/example.warc.gz", "warc-edge/example-wget-1-14.warc.gz"])
def test_framing_agrees_with_warcio_on_intact_archives(shared_data, name):
    """On intact real archives our damage-tolerant framing must find exactly the records a standard reader finds,
    with the same headers and byte-identical blocks, and judge none of them damaged: checked framing may only
    differ from trusted framing where the file is broken."""
    import hashlib

    from corpus.readers.warcframe import Framer, Gap

    path = shared_data / name
    with open(path, "rb") as fh:
        theirs = [(r.rec_headers.get_header("WARC-Record-ID"), r.rec_type, r.rec_headers.get_header("WARC-Target-URI"),
                   hashlib.sha1(r.raw_stream.read()).hexdigest()) for r in ArchiveIterator(fh, no_record_parse=True)]
    framer = Framer(str(path), ("warcinfo", "request", "response", "metadata", "revisit", "resource"), 1 << 30)
    try:
        items = list(framer.items())
    finally:
        framer.close()
    assert not [i for i in items if isinstance(i, Gap)]
    assert [(i.reason, i.complete) for i in items] == [(None, True)] * len(items)
    ours = [(i.header.get("warc-record-id"), i.header.get("warc-type"), i.header.get("warc-target-uri"),
             hashlib.sha1(i.block).hexdigest()) for i in items]
    assert len(ours) == len(theirs) > 0 and ours == theirs
