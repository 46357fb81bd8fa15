"""The resume key's parts, the run folder's defences, and untrusted path listings (real files, a real HTTP server)."""

from __future__ import annotations

import http.server
import shutil
import threading
from pathlib import Path

import pytest

from corpus import preflight
from corpus.readers import InputError, listing
from corpus.rundir import OutputFolderError, RunLock, claim

ROOT = Path(__file__).resolve().parents[2]


def test_code_hash_follows_what_workers_run_not_the_commands_around_a_run(tmp_path):
    for folder in ("corpus", "filters"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    before = preflight.code_hash(tmp_path)
    (tmp_path / "corpus/report/page.py").write_text((tmp_path / "corpus/report/page.py").read_text() + "\n# a typo fixed\n")
    (tmp_path / "corpus/cli.py").write_text((tmp_path / "corpus/cli.py").read_text() + "\n# help text\n")
    assert preflight.code_hash(tmp_path) == before  # a report fix does not re-extract a crawl
    (tmp_path / "filters/c4.py").write_text((tmp_path / "filters/c4.py").read_text() + "\n# a rule changed\n")
    assert preflight.code_hash(tmp_path) != before


def test_overwrite_never_deletes_a_folder_corpus_did_not_write(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "crawl.jsonl").write_text("{}\n")
    with pytest.raises(OutputFolderError, match="no owner.json, so corpus did not write them"):
        claim(tmp_path, {"recipe": "r", "inputs": []}, overwrite=True)
    assert (tmp_path / "data" / "crawl.jsonl").exists()


def test_a_folder_resumes_with_more_inputs_but_not_with_fewer_or_others(tmp_path):
    """--limit 2, then the whole segment: the first two shards are this run's too. Fewer or other inputs would
    leave shards in data/ that the run does not own."""
    claim(tmp_path, {"recipe": "r", "inputs": ["a", "b"]}, overwrite=False)
    (tmp_path / "data").mkdir()
    claim(tmp_path, {"recipe": "r", "inputs": ["a", "b", "c"]}, overwrite=False)
    for inputs in (["a", "b"], ["a", "c", "d"]):
        with pytest.raises(OutputFolderError, match="holds a run of another input set"):
            claim(tmp_path, {"recipe": "r", "inputs": inputs}, overwrite=False)
    with pytest.raises(OutputFolderError, match="holds a run of another recipe"):
        claim(tmp_path, {"recipe": "s", "inputs": ["a", "b", "c"]}, overwrite=False)


def test_symlinks_in_the_output_folder_are_refused(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    out = tmp_path / "out"
    out.mkdir()
    (out / ".lock").symlink_to(victim)
    with pytest.raises(OutputFolderError, match="cannot open the run lock"):
        RunLock(out).acquire()
    assert victim.read_text() == "keep me"
    (out / ".lock").unlink()
    (out / "data").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(OutputFolderError, match="data is a symlink"):
        claim(out, {"recipe": "r", "inputs": []}, overwrite=False)


def test_a_remote_listing_may_only_name_relative_keys(tmp_path):
    (tmp_path / "good.paths").write_text("crawl-data/a.warc.gz\ncrawl-data/b.warc.gz\n")
    (tmp_path / "bad.paths").write_text("crawl-data/a.warc.gz\n/home/alice/private\n")
    (tmp_path / "up.paths").write_text("crawl-data/../../etc/x.warc.gz\n")
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path))  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert listing(f"{base}/good.paths", "s3://commoncrawl/") == ["s3://commoncrawl/crawl-data/a.warc.gz",
                                                                       "s3://commoncrawl/crawl-data/b.warc.gz"]
        for name in ("bad.paths", "up.paths"):
            with pytest.raises(InputError, match="not a relative key"):
                listing(f"{base}/{name}", "s3://commoncrawl/")
        assert listing(str(tmp_path / "bad.paths"), "s3://commoncrawl/")[1] == "/home/alice/private"  # a local listing is the user's own
    finally:
        server.shutdown()


def _moved(value, old: str, new: str):
    """``value`` (params: strings, lists, dicts) with paths under ``old`` said as under ``new``."""
    if isinstance(value, str):
        return new + value[len(old):] if value.startswith(old + "/") else value
    if isinstance(value, list):
        return [_moved(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: _moved(v, old, new) for k, v in value.items()}
    return value


def test_a_worker_finds_the_models_at_its_own_checkout_and_refuses_other_bytes(sample_dir, tmp_path):
    """A cluster node that installed the project in another folder than the driver's: the driver's checked model
    paths are not there, the same files are at the node's own checkout, and a file with other bytes is refused."""
    import dataclasses
    import hashlib

    import pyarrow.parquet as pq

    from corpus.pipeline import prepare
    from corpus.recipe import RecipeError
    from corpus.runstore import RunStore
    from corpus.shard import ShardTask, ShardWorker

    prep = prepare(str(ROOT / "pipelines" / "default.yaml"), [str(sample_dir / "sample-dump.jsonl.gz")], str(tmp_path / "a"))
    for spec, step in zip(prep.recipe.stages, prep.steps):  # what `corpus run` does before the workers start
        step.prepare(tmp_path / "global" / step.stage_name)
        spec.params = step.params
    task = ShardTask(prep.inputs[0], 0, 0)
    here = ShardWorker(prep.recipe, prep.schema, prep.model_files, str(preflight.PACKAGE_ROOT))
    _, _, files, _ = here.process(task, RunStore.of(str(tmp_path / "a")))

    driver = "/elsewhere/checkout"  # where the driver had the project: nothing exists there on this node
    for spec in prep.recipe.stages:
        spec.params = dataclasses.replace(spec.params, **{f.name: _moved(getattr(spec.params, f.name), str(preflight.PACKAGE_ROOT), driver)
                                                          for f in dataclasses.fields(spec.params)})
    checked = {_moved(p, str(preflight.PACKAGE_ROOT), driver): sha for p, sha in prep.model_files.items()}
    assert checked != prep.model_files and not any(Path(p).exists() for p in checked)
    node = ShardWorker(prep.recipe, prep.schema, checked, driver)
    _, _, moved_files, _ = node.process(task, RunStore.of(str(tmp_path / "b")))
    assert pq.read_table(tmp_path / "b" / moved_files["data"]).equals(pq.read_table(tmp_path / "a" / files["data"]))

    kenlm = next(p for p in checked if p.endswith("kenlm-en.bin"))
    wrong = {**checked, kenlm: hashlib.sha256(b"another model").hexdigest()}
    with pytest.raises(RecipeError, match="differs from .* on the driver"):
        ShardWorker(prep.recipe, prep.schema, wrong, driver)
