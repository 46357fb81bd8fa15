"""`corpus run` over object storage, end to end: the shared crawl in a real S3 API server on 127.0.0.1 (moto_server,
IAM auth enforced), read through ``--input s3://…`` globs and through a Common Crawl-style ``warc.paths.gz`` listing
whose endpoint answers the first data reads with 503 SlowDown, gives the curated corpus of the same run over the
local files; a missing bucket, refused credentials and an unreachable endpoint are one line and exit 2 before Ray
starts. Every run is the real CLI in its own process, so the endpoint and credentials reach the driver and the Ray
workers the way a user's do: through the standard AWS variables.

What differs between the local and the S3 runs, and why: ``source`` holds the input's location (a path, a URL) and
``shard`` the input's stem plus a digest of that location, so both columns (and the file names' digest) differ;
every other column of every row of data/, rejected/ and quarantine/, and every count in stats.json, is the same.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from raycluster import Cluster, clean_env, token_env
from s3server import FlakyProxy, S3Server, free_port, ranged_get

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "pipelines" / "default.yaml"
BUCKET = "corpus-e2e"
SEGMENT = "cc/crawl-data/CC-MAIN-TEST/segments/0000000000000.00/warc"  # laid out as Common Crawl's keys are
LOCATION = ("source", "shard")  # the columns that name where an input was read from
GLOB = f"s3://{BUCKET}/cc/crawl-data/*/segments/*/warc/*.warc.gz"
SINKS = ("data", "rejected", "quarantine")


@pytest.fixture(scope="module")
def store(shared_data):
    server = S3Server()
    try:
        c = server.client()
        c.create_bucket(Bucket=BUCKET)
        keys = []
        for f in sorted((shared_data / "crawl").glob("*.warc.gz")):
            keys.append(f"crawl-data/CC-MAIN-TEST/segments/0000000000000.00/warc/{f.name}")
            c.upload_file(str(f), BUCKET, f"cc/{keys[-1]}")
        # a third key that does not exist: --limit 2 must never look at it
        listing = "\n".join(keys + ["crawl-data/CC-MAIN-TEST/segments/0000000000000.00/warc/missing.warc.gz"]) + "\n"
        c.put_object(Bucket=BUCKET, Key="cc/warc.paths.gz", Body=gzip.compress(listing.encode()))
        yield server
    finally:
        server.stop()


def corpus(args: list[str], env: dict, cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "corpus", "run", str(RECIPE), *args, "--no-report", "--quiet"],
                          env=env, capture_output=True, text=True, timeout=timeout, cwd=cwd)


def outputs(out: Path) -> dict[str, pa.Table]:
    """Every sink's rows in shard order, without the columns that name the input's location."""
    tables = {}
    for sink in ("data", "rejected", "quarantine"):
        files = sorted((out / sink).glob("*.parquet"))
        assert files, f"{out / sink} is empty"
        t = pa.concat_tables([pq.read_table(f) for f in files], promote_options="permissive")
        tables[sink] = t.drop([c for c in LOCATION if c in t.column_names])
    return tables


def counts(out: Path) -> dict:
    s = json.loads((out / "stats.json").read_text())
    for st in s["stages"]:
        st.pop("wall_s")
    for key in ("wall_s", "sources"):  # sources: the fingerprint files' paths, inside each run's own output folder
        s["global"]["dedup"].pop(key)
    return {k: s[k] for k in ("input_records", "kept", "rejected", "quarantined", "failed_shards", "stages", "global")}


@pytest.fixture(scope="module")
def local_run(shared_data, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("local")
    inputs = sorted(str(p) for p in (shared_data / "crawl").glob("*.warc.gz"))
    done = corpus(["--input", *inputs, "--output", str(tmp / "out")], clean_env(), tmp)
    assert done.returncode == 0, done.stderr[-3000:]
    return tmp / "out"


def same_corpus(remote: Path, local: Path) -> None:
    a, b = outputs(remote), outputs(local)
    for sink in a:
        assert a[sink].num_rows == b[sink].num_rows, sink
        assert a[sink].equals(b[sink]), f"{sink}: rows differ beyond {LOCATION}"
    assert a["data"].num_rows > 300
    assert counts(remote) == counts(local)
    sources = set(pq.read_table(sorted((remote / "data").glob("*.parquet"))[0], columns=["source"]).column(0).to_pylist())
    assert len(sources) == 1 and next(iter(sources)).startswith(f"s3://{BUCKET}/cc/")


@pytest.fixture(scope="module")
def s3_input_run(store, tmp_path_factory):
    """The S3 inputs written to a local folder: what a run on object storage must equal byte for byte."""
    tmp = tmp_path_factory.mktemp("s3in")
    done = corpus(["--input", GLOB, "--output", str(tmp / "out")], clean_env(**store.env()), tmp)
    assert done.returncode == 0, done.stderr[-3000:]
    return tmp / "out"


def objects(store: S3Server, prefix: str) -> dict[str, dict]:
    """Key (below ``prefix``) -> {"body", "modified"} of every object in the bucket below it."""
    c, out = store.client(), {}
    for page in c.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        for o in page.get("Contents", []):
            out[o["Key"][len(prefix):]] = {"body": c.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read(),
                                           "modified": o["LastModified"]}
    return out


def same_bytes(got: dict[str, dict], local: Path) -> None:
    """Every curated, rejected and quarantined file of the local run is in the store with the same bytes."""
    for sink in SINKS:
        files = sorted((local / sink).glob("*.parquet"))
        assert files and sorted(k for k in got if k.startswith(f"{sink}/")) == [f"{sink}/{f.name}" for f in files]
        assert all(got[f"{sink}/{f.name}"]["body"] == f.read_bytes() for f in files), sink
    stats = json.loads(got["stats.json"]["body"])
    assert [(s["docs_in"], s["docs_out"], s["rejected"]) for s in stats["stages"]] == \
        [(s["docs_in"], s["docs_out"], s["rejected"]) for s in json.loads((local / "stats.json").read_text())["stages"]]
    digests = {o["path"]: o["sha256"] for o in json.loads(got["manifest.json"]["body"])["outputs"]}
    assert digests == {o["path"]: o["sha256"] for o in json.loads((local / "manifest.json").read_text())["outputs"]}


def test_s3_glob_run_equals_the_local_run(s3_input_run, local_run):
    out = s3_input_run
    same_corpus(out, local_run)
    manifest = json.loads((out / "manifest.json").read_text())
    assert [i["path"].rsplit("/", 1)[1] for i in manifest["inputs"]] == ["segment-00000.warc.gz", "segment-00001.warc.gz"]
    assert all(i["bytes"] > 0 for i in manifest["inputs"])


def test_listing_run_through_a_throttling_endpoint_equals_the_local_run(store, local_run, tmp_path):
    proxy = FlakyProxy(store.port, fail=3, match=ranged_get)  # the first three data reads get 503 SlowDown
    try:
        out = tmp_path / "out"
        done = corpus(["--input-list", f"s3://{BUCKET}/cc/warc.paths.gz", "--input-prefix", f"s3://{BUCKET}/cc/",
                       "--limit", "2", "--output", str(out)], clean_env(**store.env(proxy.url)), tmp_path)
        assert done.returncode == 0, done.stderr[-3000:]
        assert proxy.failed == 3 and proxy.forwarded > 3
    finally:
        proxy.stop()
    same_corpus(out, local_run)


def test_an_unusable_store_is_one_line_before_ray_starts(store, tmp_path):
    ray_tmp = tmp_path / "ray-tmp"
    ray_tmp.mkdir()
    cases = {
        "missing bucket": ([f"s3://no-such-bucket/{SEGMENT}/*.warc.gz"], store.env(),
                           "error: s3://no-such-bucket: no such bucket"),
        "wrong credentials": ([f"s3://{BUCKET}/{SEGMENT}/*.warc.gz"], store.env(AWS_SECRET_ACCESS_KEY="wrong"),
                              f"error: s3://{BUCKET}/{SEGMENT}/*.warc.gz: access denied"),
        "unreachable endpoint": ([f"s3://{BUCKET}/{SEGMENT}/segment-00000.warc.gz"],
                                 store.env(f"http://127.0.0.1:{free_port()}"),
                                 f"error: s3://{BUCKET}/{SEGMENT}/segment-00000.warc.gz: cannot reach the storage endpoint"),
    }
    for case, (inputs, env, expected) in cases.items():
        done = corpus(["--input", *inputs, "--output", str(tmp_path / "out")],
                      clean_env(**env, RAY_TMPDIR=str(ray_tmp), TMPDIR=str(ray_tmp)), tmp_path, timeout=300)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith(expected), (case, done.stderr[-2000:])
        assert not list(ray_tmp.iterdir()), f"{case}: Ray started ({list(ray_tmp.iterdir())})"
    assert not (tmp_path / "out").exists()  # nothing was written either


def test_s3_output_equals_the_local_output_byte_for_byte_and_resumes(store, s3_input_run, tmp_path):
    # the first three uploads of kept rows get 503 SlowDown: the workers retry them
    proxy = FlakyProxy(store.port, fail=3, match=lambda method, path, headers: method == "PUT" and "/data/" in path)
    env = clean_env(**store.env(proxy.url), CORPUS_CACHE_DIR=str(tmp_path / "cache"))
    out = f"s3://{BUCKET}/runs/a"
    try:
        done = corpus(["--input", GLOB, "--output", out], env, tmp_path)
        assert done.returncode == 0, done.stderr[-3000:]
        assert proxy.failed == 3
    finally:
        proxy.stop()
    env = clean_env(**store.env(), CORPUS_CACHE_DIR=str(tmp_path / "cache"))
    got = objects(store, "runs/a/")
    same_bytes(got, s3_input_run)
    assert ".lock" not in got and "owner.json" in got and "README.md" in got  # the lease is given back
    # a second run resumes from the store's commit records: nothing is redone or uploaded again
    again = corpus(["--input", GLOB, "--output", out], clean_env(**store.env(), CORPUS_CACHE_DIR=str(tmp_path / "other")), tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "resuming: 2 of 2 shards already committed, 0 to process" in again.stderr
    after = objects(store, "runs/a/")
    assert all(after[k]["modified"] == got[k]["modified"] for k in got if k.startswith(SINKS)), "committed files were rewritten"
    # the commands that read a finished run take its URL
    stats = subprocess.run([sys.executable, "-m", "corpus", "stats", out, "--json"], env=env, capture_output=True, text=True,
                           timeout=300, cwd=tmp_path)
    assert stats.returncode == 0 and json.loads(stats.stdout)["kept"] == json.loads(got["stats.json"]["body"])["kept"]
    # packed shards from the run on the store, into the store: the bytes of packing the local run
    for src, dest in ((out, f"s3://{BUCKET}/packed"), (str(s3_input_run), str(tmp_path / "packed"))):
        done = subprocess.run([sys.executable, "-m", "corpus", "pack", src, "--out", dest, "--seq-len", "256", "--format",
                               "megatron"], env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-3000:]
    packed = objects(store, "packed/")
    local = sorted(tmp_path.joinpath("packed").glob("*.megatron.*"))
    assert local and all(packed[f.name]["body"] == f.read_bytes() for f in local) and "manifest.json" in packed
    # a run still holding the folder's lease (its last beat is recent) keeps a second one out, before Ray starts
    store.client().put_object(Bucket=BUCKET, Key="runs/a/.lock",
                              Body=json.dumps({"holder": "process 7 on node-b", "beat": time.time()}).encode())
    busy = corpus(["--input", GLOB, "--output", out], env, tmp_path, timeout=300)
    lines = busy.stderr.strip().splitlines()
    assert busy.returncode == 2 and len(lines) == 1 and "is in use by process 7 on node-b" in lines[0], busy.stderr[-2000:]


def test_an_unusable_output_store_is_one_line_before_ray_starts(store, shared_data, tmp_path):
    crawl = str(sorted((shared_data / "crawl").glob("*.warc.gz"))[0])
    cases = {"missing bucket": ("s3://no-such-bucket/run", store.env(), "s3://no-such-bucket: no such bucket"),
             "wrong credentials": (f"s3://{BUCKET}/runs/x", store.env(AWS_SECRET_ACCESS_KEY="wrong"), "access denied")}
    for case, (out, env, expected) in cases.items():
        done = corpus(["--input", crawl, "--output", out], clean_env(**env, CORPUS_CACHE_DIR=str(tmp_path / "c")), tmp_path,
                      timeout=300)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1 and expected in lines[0], (case, done.stderr[-2000:])


@pytest.mark.cluster
def test_two_nodes_without_a_shared_disk_write_the_same_bytes_to_s3(store, s3_input_run, tmp_path):
    """Each node (and the driver) works in a cache folder of its own: what one node wrote reaches another only
    through the store, and the store ends with the bytes of the single-machine run."""
    caches = [tmp_path / "node0", tmp_path / "node1"]
    cluster = Cluster(nodes=2, cpus_per_node=1, environ={**token_env(), **store.env()},
                      node_env=[{"CORPUS_CACHE_DIR": str(c)} for c in caches])
    try:
        env = {**cluster.env, "CORPUS_CACHE_DIR": str(tmp_path / "driver")}
        done = corpus(["--input", GLOB, "--output", f"s3://{BUCKET}/runs/cluster", "--address", cluster.address], env, tmp_path)
        assert done.returncode == 0, done.stderr[-3000:]
    finally:
        cluster.stop()
    got = objects(store, "runs/cluster/")
    same_bytes(got, s3_input_run)
    nodes = {json.loads(v["body"]).get("node") for k, v in got.items() if k.startswith("_shards/") and "plan--" not in k}
    assert len(nodes) == 2  # both nodes processed shards
    # each node worked in its own cache and left no copy of what it uploaded there (a node's disk is not the store)
    assert all((c / "s3" / BUCKET / "runs" / "cluster").is_dir() for c in caches)
    assert not [p for c in caches for p in c.rglob("*.parquet") if p.parent.name in SINKS]
