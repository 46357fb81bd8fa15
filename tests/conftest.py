"""Shared fixtures: paths to real data and one Ray instance for the whole test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Tests start their own Ray (embedded, or the 2-node cluster of test_cluster.py): never one the environment names.
for var in ("RAY_ADDRESS", "RAY_NAMESPACE"):
    os.environ.pop(var, None)

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared crawl data not found at {SHARED}; these tests need ../shared/data next to the checkout")
    return SHARED


@pytest.fixture(scope="session")
def crawl_page(shared_data):
    """``crawl_page(folder, path)``: the text of a shared-crawl help page (``("en-US", "text/...html")``, as
    bench/checkset/build.py names them) extracted with the default recipe's extract settings, or with ``params``.
    The crawl is read once per session."""
    import sys

    import yaml

    from filters.extract import ExtractParams, extract_page

    sys.path.insert(0, str(ROOT / "bench" / "checkset"))
    import build

    recipe = yaml.safe_load((ROOT / "pipelines/default.yaml").read_text())
    default = ExtractParams(**next(s["extract"] for s in recipe["stages"] if "extract" in s))
    pages = build.crawl_pages()
    return lambda folder, path, params=default: extract_page(*pages[(folder, path)], params).text


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory) -> Path:
    """The project's own generated demo crawl (the same generator `make demo` uses)."""
    from corpus.sample import write_sample

    out = tmp_path_factory.mktemp("sample")
    write_sample(str(out), n_pages=240, seed=11)
    return out


@pytest.fixture(scope="session")
def ray_session():
    """One embedded Ray for every e2e test: starting Ray costs seconds, so tests share it."""
    from corpus import ray_exec

    ray_exec.init(num_cpus=2)
    yield
    ray_exec.shutdown()


@pytest.fixture(scope="session")
def sample_run(ray_session, sample_dir, tmp_path_factory):
    """The default recipe over the generated sample, on Ray: the curated corpus later stages and tests read
    (test_pipeline.py runs it again on the default local executor and compares the bytes)."""
    from corpus.pipeline import run

    out = tmp_path_factory.mktemp("run")
    summary = run(str(ROOT / "pipelines" / "default.yaml"), [str(sample_dir / "*")], str(out), executor="ray")
    return out, summary
