"""Curator report, run comparison and WanJuan-CC export on the default recipe's run of the demo sample;
the report page is opened in headless Chromium with the network cut off."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from corpus.cli import main
from corpus.export import FIELDS
from corpus.pack.tokenizer import load as load_tokenizer
from corpus.report import build

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = ROOT / "out" / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def report(sample_run):
    out, _ = sample_run
    page = build(out)
    return out, page, json.loads((out / "report" / "report.json").read_text())


def test_report_aggregates_match_the_run(report):
    out, page, r = report
    stats = json.loads((out / "stats.json").read_text())
    assert [s["docs_out"] for s in r["funnel"]] == [s["docs_out"] for s in stats["stages"]]
    assert r["totals"]["kept"] == ds.dataset(str(out / "data")).count_rows()
    assert r["mix"]["languages"] and sum(r["mix"]["languages"].values()) == r["totals"]["kept"]
    assert {"zh", "en"} <= set(r["languages_shown"])  # the funnel per language, from the stats of every shard
    last = r["by_lang"][-1]["langs"]
    assert sum(c.get("out", 0) for c in last.values()) == r["totals"]["kept"] and last["zh"]["out"] and last["en"]["out"]
    by_col = {d["column"]: d for d in r["distributions"]}
    # thresholds come from the recipe, with the measured zh overrides beside the defaults
    assert by_col["gq_words"]["thresholds"]["*"] == {"min_doc_words": 40.0, "max_doc_words": 100000.0}  # the recipe's
    assert by_col["gq_words"]["thresholds"]["zh"]["min_doc_words"] == 64.0  # 40 x 1.6 zh words per en word (bench/zh_length_ratio.py)
    assert by_col["gq_words"]["kept"]["n"] == r["totals"]["kept"]
    rejected_gq = sum(next(s for s in stats["stages"] if s["name"] == "gopher_quality")["rejected"].values())
    assert by_col["gq_alpha_words"]["rejected"]["n"] == rejected_gq
    # one sample block per reason, each document really dropped for that reason
    reasons = {(s["name"], k) for s in stats["stages"] for k in s["rejected"]}
    blocks = r["samples"]["rejected"]
    assert {(b["stage"], b["reason"]) for b in blocks} == reasons
    counts = {(s["name"], k): v for s in stats["stages"] for k, v in s["rejected"].items()}
    per = r["samples"]["per_reason"]
    assert per >= 10
    for b in blocks:
        assert len(b["docs"]) == min(per, counts[(b["stage"], b["reason"])]) and all(d["drop_reason"] == b["reason"] for d in b["docs"])
        beside = [d["beside"] for d in b["docs"] if d.get("beside")]
        assert all(k["lang"] == d["lang"] for d in b["docs"] if (k := d.get("beside")))  # a kept page of the same language
        assert len({k["id"] for k in beside}) == len(beside)  # and a different one beside each sample
        stage_cols = {d["column"] for d in r["distributions"] if d["stage"] == b["stage"]}
        assert all({x["column"] for x in d["signals"]} <= stage_cols for d in b["docs"])
    dedup = [d for b in blocks if b["stage"] == "dedup" for d in b["docs"]]
    assert dedup and all(d["dup_of"] and d["dup_of_text"] for d in dedup)  # the kept duplicate is shown beside
    html = page.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing loaded from the network
    assert html.count("<svg") >= len(r["distributions"]) + 3


def test_report_shows_its_progress_in_a_log_and_nothing_when_quiet(sample_run, tmp_path):
    """Without a terminal (a StringIO is not one) the report's phases write plain progress lines, every ``interval``
    seconds (0 here: at every file or step) and a last one each; the figures are the run's own; quiet writes none."""
    out = tmp_path / "run"
    shutil.copytree(sample_run[0], out, ignore=shutil.ignore_patterns("report"))
    log = io.StringIO()
    build(out, interval=0, stream=log)
    lines = log.getvalue().splitlines()
    assert lines and all(line.startswith("report: ") and "\r" not in line for line in lines)
    for sink in ("data", "rejected"):
        files = sorted((out / sink).glob("*.parquet"))
        rows = ds.dataset([str(f) for f in files], format="parquet").count_rows()
        mine = [line for line in lines if line.startswith(f"report: {sink}/: files ")]
        assert len(mine) >= len(files) + 1  # a line at each file and the last one
        assert mine[-1].startswith(f"report: {sink}/: files {len(files)}/{len(files)} · {rows:,} rows (")
    phases = [line.split(":")[1].strip() for line in lines]
    assert list(dict.fromkeys(phases)) == ["data/", "rejected/", "samples", "pages"]  # in order, each once begun
    assert [line for line in lines if line.startswith("report: samples")][-1].startswith("report: samples: steps 4/4 · ")
    assert [line for line in lines if line.startswith("report: pages")][-1].startswith("report: pages: files 2/2 · ")
    report = (out / "report" / "report.json").read_bytes()
    quiet = io.StringIO()
    build(out, quiet=True, interval=0, stream=quiet)
    assert quiet.getvalue() == "" and (out / "report" / "report.json").read_bytes() == report  # the display changes nothing


def test_corpus_report_quiet_writes_no_progress(sample_run, tmp_path, capsys):
    out = tmp_path / "run"
    shutil.copytree(sample_run[0], out, ignore=shutil.ignore_patterns("report"))
    assert main(["report", str(out), "--quiet"]) == 0
    assert "report: " not in capsys.readouterr().err
    assert main(["report", str(out)]) == 0
    assert "report: pages: files 2/2" in capsys.readouterr().err


def test_report_renders_in_headless_chromium_offline(report, tmp_path):
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: `make test` installs Debian's chromium before the tests")
        pytest.skip("Debian's chromium is not installed (`make test` installs it)")
    out, page, r = report
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTEFACTS / "report.png"
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
             "--enable-logging=stderr", "--v=0", "--window-size=1400,6000"]
    dom = subprocess.run(flags + ["--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, console
    m = re.search(r'data-sections="(\d+)" data-rendered="(\d+)"', dom.stdout)
    assert m and m.group(1) == m.group(2) == "14", m and m.groups()  # every section rendered content
    shotrun = subprocess.run(flags + [f"--screenshot={shot}", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert shotrun.returncode == 0 and shot.stat().st_size > 50_000


def test_compare_two_runs(sample_run, ray_session, sample_dir, tmp_path, capsys):
    from corpus.pipeline import run

    a, _ = sample_run
    recipe = (ROOT / "pipelines" / "default.yaml").read_text().replace("min_score: 0.35", "min_score: 0.9")
    recipe = recipe.replace("min_num_sentences: 3", "min_num_sentences: 3\n      remove_citations: false")  # default True
    (tmp_path / "strict.yaml").write_text(recipe)
    b = tmp_path / "strict"
    run(str(tmp_path / "strict.yaml"), [str(sample_dir / "*")], str(b))
    assert main(["report", "--compare", str(a), str(b)]) == 0
    text = capsys.readouterr().out
    assert "stages[langid].min_score: 0.35 → 0.9" in text
    assert "stages[c4].remove_citations: True → False" in text  # the default, not a dash
    fates = re.findall(r"^  kept → (langid\.\w+): (\d+)", text, re.M)
    assert fates and all(int(n) > 0 for _, n in fates)  # documents the stricter langid now drops, by reason
    langid = re.search(r"^langid\s+(\d+)\s+(\d+)", text, re.M)
    assert int(langid.group(2)) < int(langid.group(1))  # a stricter threshold keeps fewer
    page = (b / "report" / "compare.html").read_text()
    assert "Documents whose fate changed" in page and "kept</td><td>langid." in page


def test_export_wanjuan_records(sample_run, tmp_path, capsys):
    out, _ = sample_run
    assert main(["export", str(out), "--out", str(tmp_path / "wj"), "--shard-docs", "50"]) == 0
    assert ": null" not in capsys.readouterr().out  # every WanJuan-CC score has a stage in the default recipe
    files = sorted((tmp_path / "wj").glob("part-*.jsonl.gz"))
    recs = [json.loads(line) for f in files for line in gzip.open(f, "rt", encoding="utf-8")]
    data = {r["id"]: r for r in ds.dataset(str(out / "data")).to_table(columns=["id", "text", "lang", "date", "title"]).to_pylist()}
    assert len(files) == -(-len(data) // 50) and len(recs) == len(data)
    tok = load_tokenizer("deepseek").tokenizer
    for rec in recs:
        assert tuple(rec) == FIELDS
        src = data[rec["id"]]
        assert rec["content"] == src["text"] and rec["language"] == src["lang"] and rec["date"] == src["date"]
        assert rec["char_num"] == len(src["text"]) and rec["cbytes_num"] == len(src["text"].encode())
        assert rec["line_num"] == src["text"].count("\n") + 1
        assert 0 <= rec["toxic_score"] <= 1 and 0 <= rec["porn_score"] <= 1  # from the safety stage
        assert 0 <= rec["fluency_score"] <= 1 and 0 <= rec["not_ad_score"] <= 1  # from the quality_model stage
    first = recs[0]
    assert first["token_num"] == len(tok.encode(first["content"], add_special_tokens=False).ids)
    manifest = json.loads((tmp_path / "wj" / "manifest.json").read_text())
    assert manifest["records"] == len(recs) and manifest["null_scores"] == {}


@pytest.fixture(scope="module")
def crawl_run(ray_session, shared_data, tmp_path_factory):
    """The default recipe over the shared crawl, and the labels a curator made on another run of it."""
    from corpus.pipeline import run

    out = tmp_path_factory.mktemp("crawl")
    run(str(ROOT / "pipelines" / "default.yaml"), [str(shared_data / "crawl" / "*.warc.gz")], str(out), quiet=True)
    (out / "review").mkdir()
    shutil.copy(ROOT / "tests" / "data" / "review_labels.parquet", out / "review" / "labels.parquet")
    page = build(out)
    return out, page, json.loads((out / "report" / "report.json").read_text())


def _counted(out: Path, labels, question: str | None = None) -> dict[str, tuple[dict, dict]]:
    """doc_id -> (the latest label that answers this run's question about the document's current text, its fate);
    with ``question``, the latest label that answered that question about the current text, whatever the fate."""
    from corpus.review import store
    from corpus.review.rundocs import RunView, shown_text

    view = RunView(out)
    fates = {x["id"]: x for x in view.fates(labels.column("doc_id").to_pylist()).to_pylist()}
    out_: dict[str, tuple[dict, dict]] = {}
    for x in labels.to_pylist():
        f = fates[x["doc_id"]]
        if (x["question"] == (question or store.question_of(f["drop_stage"], f["drop_reason"]))
                and x["text_hash"] == store.text_hash(shown_text(view.row(x["doc_id"]))[0])):
            out_[x["doc_id"]] = (x, f)
    return out_


def test_report_sections_on_the_shared_crawl(crawl_run):
    import pyarrow.compute as pc

    from corpus.review import store

    out, page, r = crawl_run
    html = page.read_text()
    stats = json.loads((out / "stats.json").read_text())
    documents = next(s for s in stats["stages"] if s["name"] == "read")["docs_out"]
    # per domain: every document that left the reader is counted in its domain; kept + why the rest fell add up
    table = r["domain_table"]
    assert sum(d["in"] for d in table) == documents and sum(d["kept"] for d in table) == r["totals"]["kept"]
    for d in table:
        assert d["kept"] + sum(d["reasons"].values()) <= d["in"]
    assert "help.libreoffice.org" in html
    # length plot: kept documents and dropped documents with text, exact counts
    rejected = ds.dataset(str(out / "rejected")).to_table(columns=["text"])
    with_text = pc.sum(pc.greater(pc.fill_null(pc.utf8_length(rejected.column("text")), 0), 0)).as_py()
    assert sum(r["lengths"]["kept"]) == r["totals"]["kept"] and sum(r["lengths"]["rejected"]) == with_text
    assert "log scale" in html
    # every reason bar links to its samples, and every link lands
    links = set(re.findall(r'<a href="#(s-[^"]+)"', html))
    anchors = set(re.findall(r'id="(s-[^"]+)"', html))
    reasons = {(s["name"], k) for s in stats["stages"] for k in s["rejected"]}
    assert len(links) == len(reasons) and links <= anchors
    # samples: ten per reason where there are ten, each dropped page beside a different kept page of its language
    big = [b for b in r["samples"]["rejected"] if len(b["docs"]) >= 10 and b["stage"] != "dedup" and {d["lang"] for d in b["docs"]} <= {"zh", "en"}]
    assert big and all(len({d["beside"]["id"] for d in b["docs"]}) == len(b["docs"]) for b in big)
    # human review: labels made on another run of this crawl carry over by document id, each only where it answers
    # the question this run asks of its document (a dedup drop: is it a duplicate; the rest: is the text usable) and
    # only on the text it judged (corpus.review.metrics)
    labels = store.read(out)
    rv = r["review"]
    counted = _counted(out, labels)
    assert rv["documents"] == len(counted) >= 200 and rv["not_in_run"] == 0
    assert rv["documents"] + rv["stale"] + rv["other_question"] == len(store.latest(labels))
    by_reason: dict[str, list[int]] = {}
    for x, f in counted.values():  # counted under this run's fate of each document (a recipe change moves them)
        if f["drop_reason"]:
            by_reason.setdefault(f["drop_reason"], [0, 0])[x["label"] == "bad"] += 1
    shown = {p["reason"]: [p["labelled"] - p["bad"], p["bad"]] for p in rv["precision"] if p["lang"] == "*"}
    assert shown == by_reason
    assert "Human review" in html and "Wilson" in html and rv["whatif"]


def test_labels_evaluate_the_models_and_train_one(crawl_run, tmp_path, capsys):
    from corpus.review import store

    out, _, _ = crawl_run
    labels = out / "review" / "labels.parquet"
    texts = {r["id"]: r["text"] for sink in ("data", "rejected") for r in ds.dataset(str(out / sink)).to_table(columns=["id", "text"]).to_pylist()}
    # text-quality labels of the current text only: "bad" on a dedup drop means "a duplicate", not bad text
    judged = [x for x, _ in _counted(out, store.read(labels), "quality").values() if x["label"] in ("good", "bad") and texts.get(x["doc_id"])]
    assert main(["eval-models", "--labels", str(labels), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["documents"] == len(judged)
    models = {m["model"]: m for m in report["models"]}
    assert set(models) == {"fluency", "not_ad", "porn", "toxic"}
    assert models["fluency"]["human_positives"] == sum(r["label"] == "bad" for r in judged)
    assert models["fluency"]["held_out"]["precision"] > 0  # the constructed numbers beside the human ones
    assert main(["eval-models", "--labels", str(tmp_path / "none.parquet")]) == 2
    # train-quality: good labels are positives, bad ones negatives
    assert main(["train-quality", "--labels", str(labels), "--out", str(tmp_path / "m.bin")]) == 0
    card = json.loads((tmp_path / "m.json").read_text())
    h = card["held_out"]
    assert card["training"]["positive"] + h["positive"] == sum(r["label"] == "good" for r in judged)
    assert card["training"]["negative"] + h["negative"] == sum(r["label"] == "bad" for r in judged)
