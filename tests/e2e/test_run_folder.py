"""The output folder belongs to one run, inputs and model files are checked before Ray starts, and resume
redoes exactly what changed (real Ray, real inputs, real models, the real CLI)."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpus.cli import main
from corpus.rundir import RunLock

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
RECIPE = "stages:\n  - langid: {languages: [zh, en], min_score: 0.5}\n  - format\n"


@pytest.fixture()
def inputs(sample_dir, tmp_path) -> Path:
    """Two real JSONL shards (the demo dump, split in two)."""
    lines = gzip.decompress((sample_dir / "sample-dump.jsonl.gz").read_bytes()).splitlines()
    folder = tmp_path / "in"
    folder.mkdir()
    half = len(lines) // 2
    for name, part in (("a", lines[:half]), ("b", lines[half:])):
        (folder / f"{name}.jsonl").write_bytes(b"\n".join(part) + b"\n")
    return folder


def recipe(tmp_path: Path, text: str = RECIPE, name: str = "r.yaml") -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def corpus_run(*args: str) -> int:
    return main(["run", *args, "--no-report"])


def test_a_locked_folder_is_refused_with_its_holder(ray_session, inputs, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    lock = RunLock(out)
    lock.acquire()
    try:
        assert corpus_run(recipe(tmp_path), "--input", str(inputs / "*"), "--output", str(out)) == 2
    finally:
        lock.release()
    err = capsys.readouterr().err
    assert f"is in use by process {os.getpid()}" in err and err.count("\n") == 1
    assert not (out / "data").exists()  # refused before any work


def test_another_recipe_is_refused_then_overwrite_clears_only_our_files(ray_session, inputs, tmp_path, capsys):
    out = tmp_path / "out"
    assert corpus_run(recipe(tmp_path), "--input", str(inputs / "*"), "--output", str(out)) == 0
    (out / "notes.txt").write_text("the user's own file")
    other = recipe(tmp_path, RECIPE.replace("min_score: 0.5", "min_score: 0.9"), "other.yaml")
    capsys.readouterr()
    assert corpus_run(other, "--input", str(inputs / "*"), "--output", str(out)) == 2
    assert "holds a run of another recipe" in capsys.readouterr().err
    assert corpus_run(other, "--input", str(inputs / "a.jsonl"), "--output", str(out), "--overwrite") == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(p.name for p in (out / "data").glob("*.parquet")) == sorted(
        Path(o["path"]).name for o in manifest["outputs"] if o["sink"] == "data")  # nothing of the first run left
    assert manifest["recipe_path"] == other and (out / "notes.txt").read_text() == "the user's own file"


def _data_files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "data").glob("*.parquet"))}


def test_resume_redoes_exactly_the_changed_input_then_the_changed_model(ray_session, inputs, tmp_path):
    shutil.copy(ROOT / "models" / "kenlm-en.bin", tmp_path / "lm.bin")
    r = recipe(tmp_path, RECIPE + "  - perplexity: {models: {en: lm.bin, zh: lm.bin}}\n")
    out = tmp_path / "out"
    args = [r, "--input", str(inputs / "*"), "--output", str(out)]
    assert corpus_run(*args) == 0
    first = _data_files(out)

    logs: list[str] = []
    from corpus.pipeline import run

    run(r, [str(inputs / "*")], str(out), log=logs.append)
    assert any("resuming: 2 of 2 shards already committed, 0 to process" in m for m in logs)

    # repair-style edit of one input: that shard, and only it, is redone
    extra = json.dumps({"text": "这是一段新加入的中文文本，用来检查断点续跑是否注意到输入文件的变化。" * 3, "url": "http://x/new"})
    with open(inputs / "b.jsonl", "a") as fh:
        fh.write(extra + "\n")
    logs.clear()
    run(r, [str(inputs / "*")], str(out), log=logs.append)
    assert any("resuming: 1 of 2 shards already committed, 1 to process" in m for m in logs)
    assert any("reprocessed: input (1 shard(s))" in m for m in logs)
    second = _data_files(out)
    a, b = sorted(first)
    assert second[a] == first[a] and second[b] != first[b]
    assert "http://x/new" in pq.read_table(out / "data" / b).column("url").to_pylist()

    # a rebuilt model under the same name: every shard it scores is redone, with the new model's scores
    shutil.copy(ROOT / "models" / "kenlm-zh.bin", tmp_path / "lm.bin")
    logs.clear()
    run(r, [str(inputs / "*")], str(out), log=logs.append)
    assert any("reprocessed: models (2 shard(s))" in m for m in logs)
    third = _data_files(out)
    assert third[a] != second[a] and third[b] != second[b]


def test_inputs_are_checked_before_any_work(ray_session, inputs, tmp_path, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    os.symlink(bad / "gone.jsonl", bad / "dangling.jsonl")
    os.symlink(bad / "loop.jsonl", bad / "loop.jsonl")
    (bad / "empty_site").mkdir()
    out = tmp_path / "out"
    pattern = [str(inputs / "*"), str(bad / "*")]
    assert corpus_run(recipe(tmp_path), "--input", *pattern, "--output", str(out)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "3 input(s) cannot be read" in err
    assert "dangling symlink" in err and "symlink loop" in err and "no readable" in err and "--skip-unreadable" in err
    assert not out.exists()

    assert corpus_run(recipe(tmp_path), "--input", str(tmp_path / "nothing*.jsonl"), "--output", str(out)) == 2
    assert "no such file or folder" in capsys.readouterr().err

    assert corpus_run(recipe(tmp_path), "--input", *pattern, "--output", str(out), "--skip-unreadable") == 0
    stats = json.loads((out / "stats.json").read_text())
    assert len(stats["skipped_inputs"]) == 3 and stats["stages"][0]["errors"] == 3
    quarantined = pq.read_table(out / "quarantine").column("error").to_pylist()
    assert sum("cannot be read" in e for e in quarantined) == 3


@pytest.mark.parametrize("ref, message", [
    ("../../../../../../etc/passwd", "outside the folders a recipe may read"),
    ("no-such-model.bin", "not found (looked for"),
])
def test_model_files_are_resolved_on_the_driver(ray_session, inputs, tmp_path, capsys, ref, message):
    r = recipe(tmp_path, RECIPE + f"  - perplexity: {{models: {{en: '{ref}'}}}}\n")
    assert corpus_run(r, "--input", str(inputs / "*"), "--output", str(tmp_path / "out")) == 2
    err = capsys.readouterr().err
    assert message in err and "stage 'perplexity', models.en" in err and err.count("\n") == 1


def test_an_unwritable_output_is_one_line(ray_session, inputs, tmp_path, capsys):
    assert corpus_run(recipe(tmp_path), "--input", str(inputs / "*"), "--output", "/proc/corpus-out") == 2
    err = capsys.readouterr().err
    assert "cannot write the output folder" in err and err.count("\n") == 1


def test_progress_lines_in_a_log(ray_session, inputs, tmp_path, capsys):
    """Not a terminal (pytest captures stderr): plain progress lines at the interval, with the final figures."""
    assert main(["run", recipe(tmp_path), "--input", str(inputs / "*"), "--output", str(tmp_path / "out"), "--no-report",
                 "--progress-interval", "0.05"]) == 0
    err = capsys.readouterr().err
    lines = [l for l in err.splitlines() if " · " in l and "shards" in l]
    assert lines and "\r" not in err
    assert "langid → format: shards 2/2 · 42 records" in lines[-1] and "documents, kept" in lines[-1]
    assert main(["run", recipe(tmp_path), "--input", str(inputs / "*"), "--output", str(tmp_path / "o2"), "--no-report", "-q"]) == 0
    assert " · " not in capsys.readouterr().err
