"""A real 2-node Ray cluster (`ray start`): same curated bytes as the embedded run, work on both nodes."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from raycluster import Cluster

pytestmark = [pytest.mark.e2e, pytest.mark.cluster]
ROOT = Path(__file__).resolve().parents[2]
CORPUS = str(Path(sys.executable).parent / "corpus")


@pytest.fixture(scope="module")
def cluster():
    c = Cluster(nodes=2, cpus_per_node=1)
    yield c
    c.stop()


def corpus_run(cluster: Cluster, *args: str, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    e = dict(cluster.env)  # the cluster's token (an embedded run ignores it and makes its own)
    e.update(extra_env or {})
    proc = subprocess.run([CORPUS, "run", str(ROOT / "pipelines/default.yaml"), *args], env=e,
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_cluster_run_is_byte_identical_to_local(cluster, sample_dir, tmp_path):
    local, remote = tmp_path / "local", tmp_path / "cluster"
    corpus_run(cluster, "--input", str(sample_dir / "*"), "--output", str(local))
    proc = corpus_run(cluster, "--input", str(sample_dir / "*"), "--output", str(remote), "--address", cluster.address)
    assert f"Ray cluster at {cluster.address}" in proc.stderr
    for sink in ("data", "rejected", "quarantine"):
        a = sorted((local / sink).glob("*.parquet"))
        b = sorted((remote / sink).glob("*.parquet"))
        assert [p.name for p in a] == [p.name for p in b] and a
        assert all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b)), sink
    nodes = {json.loads(p.read_text()).get("node") for p in (remote / "_shards").glob("*.json")} - {None}
    assert len(nodes) == 2  # both nodes processed shards
    # the dedup exchange ran as tasks across the cluster and decided exactly as the embedded run did
    a, b = sorted((local / "global/dedup/decisions").glob("*.parquet")), sorted((remote / "global/dedup/decisions").glob("*.parquet"))
    assert a and [p.name for p in a] == [p.name for p in b] and all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b))
    assert json.loads((local / "stats.json").read_text())["stages"][-1]["docs_out"] == \
        json.loads((remote / "stats.json").read_text())["stages"][-1]["docs_out"]


def test_ray_address_environment_variable(cluster, sample_dir, tmp_path):
    proc = corpus_run(cluster, "--input", str(sample_dir / "sample-dump.jsonl.gz"), "--output", str(tmp_path / "o"),
                      extra_env={"RAY_ADDRESS": cluster.address})
    assert "Ray cluster at" in proc.stderr
