"""Extraction end to end: the same shard gives the same bytes on an idle and on a loaded machine, and
`corpus inspect --stage extract` shows what a page held when extraction kept nothing."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from corpus.readers import discover
from corpus.recipe import ReadParams
from corpus.schema import output_schema
from corpus.shard import Segment, process
from filters.extract import Extract, ExtractParams


def _run_shard(warc: Path, out: Path) -> tuple[dict[str, str], list[dict]]:
    """The shard worker's own code path (what a Ray actor runs per shard). A node bound low enough to cut
    many of these help pages shows the size bounds are as load-independent as the rest."""
    (inp,) = discover([str(warc)])
    step = Extract(ExtractParams(max_nodes=300))
    stats, files = process(inp, ReadParams(), Segment(0, [step]), output_schema(step.outputs), out)
    digests = {sink: hashlib.sha256(Path(path).read_bytes()).hexdigest() for sink, path in files.items()}
    return digests, stats


def test_same_shard_same_bytes_idle_and_under_load(shared_data, tmp_path):
    warc = shared_data / "crawl" / "segment-00000.warc.gz"
    idle, idle_stats = _run_shard(warc, tmp_path / "idle")
    # twice as many busy loops as cores: every extraction now competes for a core
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2 * (os.cpu_count() or 1))]
    try:
        loaded, loaded_stats = _run_shard(warc, tmp_path / "loaded")
        assert all(h.poll() is None for h in hogs), "the load must last for the whole loaded run"
    finally:
        for h in hogs:
            h.kill()
            h.wait()
    assert loaded == idle
    ext = [s for s in idle_stats if s["name"] == "extract"][0]
    assert ext["docs_out"] > 300 and ext["errors"] == 0 and ext["edits"]["nodes_removed"] > 0
    assert [(s["docs_out"], s["rejected"], s["errors"], s["edits"]) for s in loaded_stats] == \
        [(s["docs_out"], s["rejected"], s["errors"], s["edits"]) for s in idle_stats]


def test_inspect_shows_the_visible_text_of_pages_extraction_emptied(ray_session, shared_data, tmp_path):
    from corpus.inspect import samples
    from corpus.pipeline import run

    recipe = tmp_path / "precision-only.yaml"
    recipe.write_text("name: precision-only\nstages:\n  - extract: {fallback: false}\n")
    out = tmp_path / "run"
    summary = run(str(recipe), [str(shared_data / "crawl" / "segment-00000.warc.gz")], str(out))
    ext = next(s for s in summary["stages"] if s["name"] == "extract")
    assert ext["rejected"].get("extract.no_content", 0) >= 5
    shown = samples(str(out), "extract", "extract.no_content", n=50)
    assert "never reached extraction" not in shown
    assert shown.count("the page's visible text") >= 5
    assert "zh-CN" in shown and "的" in shown  # the zh pages' own prose is what the curator sees
