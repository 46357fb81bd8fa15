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
