"""Run folders on object storage (corpus.runstore, the lease in corpus.rundir) against a real S3 API server on
127.0.0.1 (moto_server, authentication enforced), and the local no-op path."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from s3server import S3Server  # noqa: E402

from corpus import runstore  # noqa: E402
from corpus.rundir import OutputFolderError, RemoteLease  # noqa: E402
from corpus.storage import StorageError  # noqa: E402

BUCKET = "runstore-unit"


@pytest.fixture(scope="module")
def s3():
    server = S3Server()
    server.client().create_bucket(Bucket=BUCKET)
    saved = {k: os.environ.get(k) for k in server.env()}
    os.environ.update(server.env())
    yield server
    for k, v in saved.items():
        os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    server.stop()


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(runstore.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_url_maps_into_the_cache_and_cannot_climb_out(cache):
    assert runstore.local_of("s3://b/run/data/x.parquet") == cache / "s3" / "b" / "run" / "data" / "x.parquet"
    for bad in ("s3://b/run/../../etc", "s3://b/./x", "s3://"):
        with pytest.raises(StorageError):
            runstore.local_of(bad)
    assert runstore.local_of("/abs/path") == Path("/abs/path")


def test_a_local_run_folder_is_used_in_place(tmp_path):
    store = runstore.RunStore.of(str(tmp_path / "run"))
    assert not store.remote and store.root == tmp_path / "run"
    f = store.root / "data" / "a.parquet"
    f.parent.mkdir(parents=True)
    f.write_bytes(b"x")
    assert store.loc(f) == str(f) and store.rel(f) == "data/a.parquet"
    store.publish(f)  # nothing to upload
    assert store.fetch(f) == f and f.read_bytes() == b"x"
    store.remove(f)
    assert not f.exists()


def test_publish_fetch_and_mirror_through_the_store(s3, cache, tmp_path):
    writer = runstore.RunStore.of(f"s3://{BUCKET}/runs/r1")
    table = pa.table({"row": pa.array(range(1000), pa.uint32())})
    for name in ("a", "b"):
        path = writer.root / "global" / "dedup" / "decisions" / f"{name}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path)
        writer.publish(path)
    keys = writer.keys()
    assert sorted(keys) == ["global/dedup/decisions/a.parquet", "global/dedup/decisions/b.parquet"]
    assert runstore.parquet_metadata(writer.loc("global/dedup/decisions/a.parquet")).num_rows == 1000  # a footer read
    # another node: its own cache; a stale file there goes, another process's download in flight stays
    os.environ[runstore.CACHE_ENV] = str(tmp_path / "node2")
    reader = runstore.RunStore.of(f"s3://{BUCKET}/runs/r1")
    folder = reader.root / "global" / "dedup" / "decisions"
    folder.mkdir(parents=True)
    (folder / "stale.parquet").write_bytes(b"old")
    (folder / ".a.parquet.99-x.tmp").write_bytes(b"downloading")
    got = reader.fetch_dir("global/dedup/decisions")
    assert sorted(p.name for p in got.iterdir()) == [".a.parquet.99-x.tmp", "a.parquet", "b.parquet"]
    assert pq.read_table(got / "b.parquet").equals(table)
    reader.remove("global/dedup/decisions/a.parquet")
    assert sorted(reader.keys()) == ["global/dedup/decisions/b.parquet"]


def test_mirror_refuses_a_prefix_with_no_run(s3, cache):
    with pytest.raises(StorageError, match="no finished run there"):
        runstore.mirror(f"s3://{BUCKET}/nothing-here")


def test_mirror_reads_what_the_commit_records_name_and_drops_what_the_store_lost(s3, cache):
    c, url = s3.client(), f"s3://{BUCKET}/runs/mirrored"
    for key, body in {"stats.json": b"{}", "_shards/a.json": json.dumps({"files": {"data": "data/a.parquet"}}).encode(),
                      "data/a.parquet": b"committed", "data/b.parquet": b"uploaded, then its shard failed: no record",
                      "_work/dedup/a.parquet": b"working file"}.items():
        c.put_object(Bucket=BUCKET, Key=f"runs/mirrored/{key}", Body=body)
    root = runstore.local_of(url)
    (root / "data").mkdir(parents=True)
    (root / "data" / "old.parquet").write_bytes(b"left by an earlier copy of another run")
    runstore.mirror(url)
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == \
        ["_shards/a.json", "data/a.parquet", "stats.json"]
    runstore.mirror(url, documents=False)  # stats: the records only
    assert not (root / "data" / "a.parquet").exists() and (root / "_shards" / "a.json").exists()


def test_the_default_cache_is_private(monkeypatch, tmp_path):
    monkeypatch.delenv(runstore.CACHE_ENV, raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    base = runstore.cache_base()
    assert base == tmp_path / f"corpus-cache-{os.getuid()}" and base.stat().st_mode & 0o777 == 0o700
    base.rmdir()
    (tmp_path / "elsewhere").mkdir()
    base.symlink_to(tmp_path / "elsewhere")  # made by someone else first
    with pytest.raises(StorageError, match="not a private folder of yours"):
        runstore.cache_base()


def test_create_writes_only_where_nothing_is(s3):
    loc = f"s3://{BUCKET}/once/marker"
    assert runstore.create(loc, b"first") is True
    assert runstore.create(loc, b"second") is False
    assert runstore.read_bytes(loc) == b"first"
    assert runstore.read_bytes(f"s3://{BUCKET}/once/absent") is None


def test_a_lease_taken_by_another_run_is_lost_and_not_removed(s3, cache):
    store = runstore.RunStore.of(f"s3://{BUCKET}/runs/stolen")
    lease = RemoteLease(store, beat_s=3600)  # beats by hand: a timed beat could overwrite the take-over (beat_once)
    lease.acquire()
    assert lease.beat_once()
    lease.check()  # still ours
    other = json.dumps({"holder": "process 9 on node-c", "beat": time.time(), "token": "theirs"}).encode()
    s3.client().put_object(Bucket=BUCKET, Key="runs/stolen/.lock", Body=other)
    assert not lease.beat_once()
    with pytest.raises(OutputFolderError, match="lost the run lock to process 9 on node-c"):
        lease.check()
    lease.release()
    assert json.loads(runstore.read_bytes(f"{store.url}/.lock"))["token"] == "theirs"  # the other run's lease stays


def test_a_garbled_lease_is_taken_over_not_a_traceback(s3, cache):
    store = runstore.RunStore.of(f"s3://{BUCKET}/runs/garbled")
    for body in (b"[1, 2]", b'{"beat": "yesterday"}', b"\xff not json"):
        s3.client().put_object(Bucket=BUCKET, Key="runs/garbled/.lock", Body=body)
        lease = RemoteLease(store, settle_s=0.1)
        lease.acquire()
        lease.release()


def test_the_lease_keeps_a_second_run_out_and_a_dead_runs_lease_is_taken_over(s3, cache):
    store = runstore.RunStore.of(f"s3://{BUCKET}/runs/leased")
    first = RemoteLease(store)
    first.acquire()
    try:
        with pytest.raises(OutputFolderError, match=r"is in use by process \d+ on "):
            RemoteLease(store).acquire()
    finally:
        first.release()
    assert runstore.read_bytes(f"{store.url}/.lock") is None  # released: the next run gets it
    dead = json.dumps({"holder": "process 1 on gone", "beat": time.time() - 3600}).encode()
    assert runstore.create(f"{store.url}/.lock", dead)
    again = RemoteLease(store)
    again.acquire()  # a lease with no beat for an hour belonged to a run that died
    held = json.loads(runstore.read_bytes(f"{store.url}/.lock"))
    assert held["holder"] != "process 1 on gone"
    again.release()
