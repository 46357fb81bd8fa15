"""corpus.storage and the readers over a real S3 API (moto_server on 127.0.0.1, IAM auth enforced): remote reads give
the bytes and rows of the local files, listings and globs expand as documented, a store that cannot be used is one
StorageError naming the URL, and a 5xx is retried by our own layer (a proxy answers 503 to the first reads)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus import preflight, readers, storage
from corpus.readers import InputFile
from corpus.recipe import ReadParams
from s3server import UNAVAILABLE, FlakyProxy, S3Server, free_port, ranged_get

BUCKET = "corpus-unit"


@pytest.fixture(scope="module")
def s3(shared_data):
    server = S3Server()
    try:
        c = server.client()
        c.create_bucket(Bucket=BUCKET)
        for f in sorted((shared_data / "crawl").glob("*.warc.gz")):
            c.upload_file(str(f), BUCKET, f"crawl/{f.name}")
        yield server
    finally:
        server.stop()


@pytest.fixture
def aws(s3, monkeypatch):
    """The standard variables pointing every S3 client of this process at the test server."""
    _fresh_clients()
    for k, v in s3.env().items():
        monkeypatch.setenv(k, v)
    yield s3
    _fresh_clients()


def _fresh_clients() -> None:
    """fsspec keeps one client per set of arguments; a test that changes the credentials in the environment (as a
    new process would see them) must not get the client made for the earlier ones."""
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()


def crawl(shared_data: Path) -> list[Path]:
    files = sorted((shared_data / "crawl").glob("*.warc.gz"))
    assert len(files) == 2
    return files


# ---- bytes --------------------------------------------------------------------------------------------------

def test_remote_reader_gives_the_local_bytes_in_bounded_blocks(aws, shared_data):
    local = crawl(shared_data)[0]
    data = local.read_bytes()
    r = storage.RemoteReader(f"s3://{BUCKET}/crawl/{local.name}", block=64 << 10)
    try:
        assert r.size == len(data)
        got, off, rng = bytearray(), 0, random.Random(5)
        while off < r.size:  # forward, in uneven pieces, as the WARC framer reads
            n = rng.randint(1, 200_000)
            piece = r.pread(off, n)
            assert piece == data[off : off + n]
            got += piece
            off += len(piece)
            assert len(r._blocks) <= 2  # bounded: the block being read and the one before it (+ one fetched ahead)
        assert bytes(got) == data
        for _ in range(20):  # and back and forth, as a resync scan does
            at = rng.randrange(0, r.size)
            assert r.pread(at, 70_000) == data[at : at + 70_000]
        assert r.pread(r.size, 10) == b"" and r.pread(r.size - 3, 10) == data[-3:]
    finally:
        r.close()


def test_open_binary_streams_and_seeks(aws, shared_data):
    local = crawl(shared_data)[1]
    with storage.open_binary(f"s3://{BUCKET}/crawl/{local.name}") as fh:
        assert gzip.GzipFile(fileobj=fh).read() == gzip.decompress(local.read_bytes())
        fh.seek(-100, io.SEEK_END)
        assert fh.read() == local.read_bytes()[-100:]


# ---- readers --------------------------------------------------------------------------------------------------

def _rows(inp: InputFile, params: ReadParams) -> pa.Table:
    items = list(readers.read(inp, params))
    assert not [i for i in items if isinstance(i, readers.Damage)]
    return pa.concat_tables(items).drop(["source", "shard"])


def test_warc_rows_from_s3_equal_the_local_rows(aws, shared_data):
    params = ReadParams()
    for local in crawl(shared_data):
        remote = readers.discover([f"s3://{BUCKET}/crawl/{local.name}"], options={})[0]
        assert (remote.format, remote.nbytes) == ("warc", local.stat().st_size)
        here = readers.discover([str(local)])[0]
        assert _rows(remote, params).equals(_rows(here, params))


def test_text_dumps_from_s3_equal_the_local_rows(aws, tmp_path):
    """JSONL (plain, gzip: CRC-checked first, zstd) and Parquet are read through the same layer."""
    recs = [{"text": f"document {i} " + "文本" * (i % 7), "url": f"https://example.com/{i}", "date": "2024-01-02"}
            for i in range(3000)]
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs).encode()
    files = {"d.jsonl": body, "d.jsonl.gz": gzip.compress(body)}
    files["d.jsonl.zst"] = pa.compress(body, "zstd", asbytes=True)  # a raw zstd frame, as `zstd` writes
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(recs), sink, row_group_size=700)
    files["d.parquet"] = sink.getvalue()
    c = aws.client()
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        c.put_object(Bucket=BUCKET, Key=f"text/{name}", Body=data)
    params = ReadParams(batch_size=500)
    for name in files:
        remote = readers.discover([f"s3://{BUCKET}/text/{name}"])[0]
        readers.check(remote, params)
        local_rows, remote_rows = _rows(readers.discover([str(tmp_path / name)])[0], params), _rows(remote, params)
        assert remote_rows.num_rows == len(recs), name
        # JSONL ids are derived from the path and line (no URL+date there): everything else must be equal
        cols = [c for c in remote_rows.column_names if c != "id" or name.endswith(".parquet")]
        assert remote_rows.select(cols).equals(local_rows.select(cols)), name


def test_html_folder_on_s3(aws, tmp_path):
    c = aws.client()
    pages = {"a.html": b"<html><body><p>one</p></body></html>", "sub/b.htm": b"<html><body><p>two</p></body></html>",
             "notes.txt": b"not a page"}
    for rel, data in pages.items():
        c.put_object(Bucket=BUCKET, Key=f"site/{rel}", Body=data)
        (tmp_path / "site" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "site" / rel).write_bytes(data)
    remote = readers.discover([f"s3://{BUCKET}/site/"])
    assert [(i.format, i.path, i.nbytes) for i in remote] == [("html_dir", f"s3://{BUCKET}/site", sum(map(len, pages.values())))]
    here = readers.discover([str(tmp_path / "site")])[0]
    assert _rows(remote[0], ReadParams()).equals(_rows(here, ReadParams()))


# ---- discovery, listings, identity ------------------------------------------------------------------------------

def test_glob_and_listing(aws, shared_data, tmp_path):
    names = [f.name for f in crawl(shared_data)]
    found = readers.discover([f"s3://{BUCKET}/crawl/*.warc.gz"])
    assert [i.path for i in found] == [f"s3://{BUCKET}/crawl/{n}" for n in names]
    assert all(i.version.startswith("ETag=") for i in found)

    keys = [f"crawl/{n}" for n in reversed(names)]
    plain = tmp_path / "warc.paths"
    plain.write_text("\n".join(keys) + "\n\n")
    packed = tmp_path / "warc.paths.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    aws.client().put_object(Bucket=BUCKET, Key="lists/warc.paths.gz", Body=packed.read_bytes())
    want = [f"s3://{BUCKET}/{k}" for k in keys]
    for listing in (str(plain), str(packed), f"s3://{BUCKET}/lists/warc.paths.gz"):
        assert readers.listing(listing, f"s3://{BUCKET}") == want
        assert readers.listing(listing, f"s3://{BUCKET}/", limit=1) == want[:1]  # the listing's first line, not a sort
    assert readers.listing(str(plain)) == [f"s3://commoncrawl/{k}" for k in keys]  # Common Crawl's own root
    absolute = tmp_path / "mixed.paths"
    absolute.write_text(f"{shared_data / 'crawl' / names[0]}\ns3://elsewhere/x.warc.gz\n")
    assert readers.listing(str(absolute), "s3://ignored/") == [str(shared_data / "crawl" / names[0]), "s3://elsewhere/x.warc.gz"]
    # listed inputs come first and --limit takes the first N of them
    got = readers.discover([], listed=readers.listing(str(plain), f"s3://{BUCKET}"), limit=1)
    assert [i.path for i in got] == want[:1]
    with pytest.raises(readers.InputError, match="do not exist"):
        readers.discover([], listed=readers.listing(str(plain), f"s3://{BUCKET}/wrong-prefix"))


def test_remote_identity_follows_the_object_version(aws, shared_data):
    c = aws.client()
    data = crawl(shared_data)[0].read_bytes()
    c.put_object(Bucket=BUCKET, Key="ident/x.warc.gz", Body=data)
    first = readers.discover([f"s3://{BUCKET}/ident/x.warc.gz"])[0]
    again = readers.discover([f"s3://{BUCKET}/ident/x.warc.gz"])[0]
    assert preflight.input_identity(first) == preflight.input_identity(again)
    c.put_object(Bucket=BUCKET, Key="ident/x.warc.gz", Body=data[:-1] + bytes([data[-1] ^ 1]))  # same size, new bytes
    changed = readers.discover([f"s3://{BUCKET}/ident/x.warc.gz"])[0]
    assert changed.nbytes == first.nbytes and preflight.input_identity(changed) != preflight.input_identity(first)


# ---- a store that cannot be used: one line naming the URL ------------------------------------------------------

def test_missing_bucket_bad_credentials_unreachable_endpoint(aws, monkeypatch):
    for pattern in ("s3://no-such-bucket/crawl/*.warc.gz", "s3://no-such-bucket/crawl/a.warc.gz"):
        with pytest.raises(storage.StorageError, match=r"^s3://no-such-bucket: no such bucket") as e:
            readers.discover([pattern])
        assert "\n" not in str(e.value)
    with pytest.raises(readers.InputError, match="matches no object"):
        readers.discover([f"s3://{BUCKET}/nothing-here/*.warc.gz"])

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    _fresh_clients()
    for pattern in (f"s3://{BUCKET}/crawl/*.warc.gz", f"s3://{BUCKET}/crawl/segment-00000.warc.gz"):
        with pytest.raises(storage.StorageError, match=rf"^s3://{BUCKET}/crawl/\S+: access denied .*AWS_ACCESS_KEY_ID"):
            readers.discover([pattern])

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", aws.secret)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    _fresh_clients()
    with pytest.raises(storage.StorageError, match=rf"^s3://{BUCKET}/crawl/\*.warc.gz: cannot reach the storage endpoint"):
        readers.discover([f"s3://{BUCKET}/crawl/*.warc.gz"], options={"config_kwargs": {"retries": {"total_max_attempts": 1}}})


def test_unknown_protocol_and_missing_package():
    with pytest.raises(storage.StorageError, match="unknown storage protocol zz://"):
        readers.discover(["zz://bucket/x.warc.gz"])
    try:
        import gcsfs  # noqa: F401
    except ImportError:
        with pytest.raises(storage.StorageError, match=r"gs://b/x.warc.gz: reading gs:// needs gcsfs"):
            readers.discover(["gs://b/x.warc.gz"])


# ---- retries ----------------------------------------------------------------------------------------------------

def test_a_5xx_is_retried_with_backoff_then_reported(aws, shared_data, monkeypatch):
    """botocore is told to try once (total_max_attempts), and s3fs does not retry ServiceUnavailable: only our layer retries here."""
    local = crawl(shared_data)[0]
    data = local.read_bytes()
    once = {"config_kwargs": {"retries": {"total_max_attempts": 1}}}
    url = f"s3://{BUCKET}/crawl/{local.name}"
    proxy = FlakyProxy(aws.port, fail=3, match=ranged_get, error=UNAVAILABLE)
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        _fresh_clients()
        r = storage.RemoteReader(url, once, block=1 << 20, retry=storage.Retry(attempts=5, base_s=0.01))
        got = r.pread(0, len(data))
        r.close()
        assert got == data and proxy.failed == 3
        assert hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest()

        proxy.fail, proxy.failed = 10**6, 0  # a store that keeps failing: the read says so, naming the URL
        r = storage.RemoteReader(url, once, retry=storage.Retry(attempts=3, base_s=0.01))
        with pytest.raises(storage.Unavailable, match=rf"^{url} \(bytes 0-\d+\) failed after 3 attempts"):
            r.pread(0, 10)
        r.close()
        assert proxy.failed == 3
    finally:
        proxy.stop()


def test_storage_options_from_the_command_line():
    base = {"anon": False, "client_kwargs": {"region_name": "eu-west-1"}}
    got = storage.merge_options(base, ["anon=true", "client_kwargs.region_name=us-east-1", "max_concurrency=4",
                                       "requester_pays=yes", "profile=my-profile"])
    assert got == {"anon": True, "client_kwargs": {"region_name": "us-east-1"}, "max_concurrency": 4,
                   "requester_pays": True, "profile": "my-profile"}
    assert base["client_kwargs"]["region_name"] == "eu-west-1"  # the recipe's mapping is not changed
    for bad in ("anon", "=1", "a..b=1"):
        with pytest.raises(storage.UserError, match="KEY=VALUE"):
            storage.merge_options({}, [bad])


def test_plain_https_style_server(shared_data, tmp_path):
    """http(s):// goes through fsspec's HTTP filesystem; Python's own server answers whole files (no Range): a file
    within one block is read, a larger one is refused with one line instead of being fetched whole per block."""
    import functools
    import http.server
    import threading

    page = crawl(shared_data)[0]
    (tmp_path / page.name).write_bytes(page.read_bytes())
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/{page.name}"
    try:
        inp = readers.discover([url])[0]
        assert (inp.format, inp.nbytes) == ("warc", page.stat().st_size)
        assert _rows(inp, ReadParams()).equals(_rows(readers.discover([str(page)])[0], ReadParams()))
        assert inp.version.startswith("Last-Modified=")  # what identifies it for resume (no ETag here)
        r = storage.RemoteReader(url, block=1 << 16)
        with pytest.raises(ValueError, match="the server ignores range requests"):
            r.pread(1 << 16, 10)
        r.close()
    finally:
        server.shutdown()
        server.server_close()


def test_no_credentials_at_all(aws, monkeypatch, tmp_path):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    _fresh_clients()
    with pytest.raises(storage.StorageError, match=rf"^s3://{BUCKET}/crawl/a.warc.gz: no AWS credentials found"):
        readers.discover([f"s3://{BUCKET}/crawl/a.warc.gz"])
