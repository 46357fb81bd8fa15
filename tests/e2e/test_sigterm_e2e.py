"""SIGTERM, what a scheduler sends, stops a run like Ctrl-C: one message, exit 143, a state the same command
resumes from to the bytes of an uninterrupted run."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from raycluster import clean_env

pytestmark = pytest.mark.e2e
MESSAGE = "interrupted: committed shards are kept; re-run the same command to resume"
# the rule stages only: the point is the stop and the resume, not the models
RECIPE = """name: sigterm-check
stages:
  - extract: {}
  - langid: {languages: [zh, en]}
  - format: {}
  - gopher_quality: {}
"""


def command(shared_data: Path, recipe: Path, out: Path) -> list[str]:
    inputs = sorted(str(p) for p in (shared_data / "crawl").glob("*.warc.gz"))
    assert len(inputs) >= 2
    # one worker: shards commit one after another, so a stop after the first leaves work to resume
    return [sys.executable, "-m", "corpus", "run", str(recipe), "--input", *inputs, "--output", str(out),
            "--workers", "1", "--no-report"]


def parquet_bytes(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for sink in ("data", "rejected", "quarantine")
            for p in sorted((out / sink).glob("*.parquet"))}


def test_sigterm_is_a_clean_resumable_stop(shared_data, tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE)
    environ = clean_env()
    whole = tmp_path / "whole"
    done = subprocess.run(command(shared_data, recipe, whole), env=environ, capture_output=True, text=True,
                          timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]

    out = tmp_path / "stopped"
    proc = subprocess.Popen(command(shared_data, recipe, out), env=environ, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path)
    seen = []
    for line in proc.stderr:  # wait until a shard is committed, then stop the run as a scheduler would
        seen.append(line)
        if line.startswith("[1/"):
            break
    proc.send_signal(signal.SIGTERM)
    rest = proc.stderr.read()
    code = proc.wait(timeout=300)
    log = "".join(seen) + rest
    assert code == 143, log[-3000:]  # 128 + SIGTERM, as a shell reports it; not 134 (abort) or 1
    assert rest.strip().splitlines()[-1] == MESSAGE, rest[-3000:]
    assert "Traceback" not in rest and "SIGTERM received" not in rest  # no Ray crash dump
    assert not list(tmp_path.glob("core*"))

    again = subprocess.run(command(shared_data, recipe, out), env=environ, capture_output=True, text=True,
                           timeout=600, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "resuming: 1 of" in again.stderr  # the shard committed before the stop was reused, not redone
    assert parquet_bytes(out) == parquet_bytes(whole) and parquet_bytes(whole)
