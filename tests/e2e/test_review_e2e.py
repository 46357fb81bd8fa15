"""`corpus review` end to end: a real run (real Ray, real Parquet) of translated help-page pairs from the shared
crawl plus hostile documents, the server started as the CLI starts it, and Debian's Chromium driven by Playwright
(no browser download): keyboard labelling that survives a reload and moves the precision numbers, two tabs at
once, the token, escaping, and nothing served or changed outside DIR/review."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

RECIPE = """
name: review-e2e
stages:
  - langid: {languages: [zh, en], min_score: 0.35}
  - gopher_quality:
      min_doc_words: 40
      overrides: {zh: {min_doc_words: 65, min_avg_word_length: null, max_avg_word_length: null, min_alpha_words_ratio: 0.7}}
  - dedup: {url: true, exact: true}
"""
PROSE = ("The review page shows each document with the signals that fired. A curator reads it and decides whether a "
         "reader would learn something coherent from it. Labels are stored with the document id, so a later run reuses "
         "them. This sentence makes the document long enough to pass the word-count rule of the quality stage. ")
HOSTILE_TEXT = ('<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> " onmouseover="window.__pwned=3" x="\n'
                + PROSE * 2)
HOSTILE_TITLE = "<img src=x onerror=window.__pwned=5>Title"


def _inputs(folder: Path) -> Path:
    pairs = [json.loads(line) for line in (ROOT / "tests/data/zh_en_pairs.jsonl").read_text(encoding="utf-8").splitlines() if line]
    rows = []
    for p in pairs:
        for lang in ("en", "zh"):
            rows.append({"text": p[lang], "url": f"https://help.libreoffice.org/7.4/{lang}/{p['path']}", "title": p["path"]})
    rows += [{"text": p["en"], "url": f"https://mirror.example.org/{p['path']}", "title": "mirror"} for p in pairs[:4]]  # dedup.exact
    rows += [{"text": f"Stub page {k}. Nothing else here.", "url": f"https://help.libreoffice.org/stub/{k}", "title": "stub"} for k in range(6)]
    rows.append({"text": HOSTILE_TEXT, "url": "javascript:window.__pwned=4", "title": HOSTILE_TITLE})
    rows.append({"text": 'Short <b onclick="window.__pwned=6">hostile</b> stub.',
                 "url": 'https://example.com/"><script>window.__pwned=7</script>', "title": "</title><script>window.__pwned=8</script>"})
    path = folder / "input.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def review_run(ray_session, tmp_path_factory):
    from corpus.pipeline import run

    folder = tmp_path_factory.mktemp("review")
    (folder / "recipe.yaml").write_text(RECIPE)
    out = folder / "run"
    run(str(folder / "recipe.yaml"), [str(_inputs(folder))], str(out), quiet=True)
    return out


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and "review" not in p.relative_to(folder).parts}


class Server:
    """`corpus review DIR` in its own process, as a curator starts it."""

    def __init__(self, run_dir: Path, reviewer: str = "tester") -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "corpus", "review", str(run_dir), "--reviewer", reviewer],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
        line = self.proc.stdout.readline()
        m = re.search(r"(http://127\.0\.0\.1:(\d+)/\?token=([\w-]+))", line)
        assert m, line + self.proc.stdout.read() if self.proc.poll() is not None else line
        self.url, self.port, self.token = m.group(1), int(m.group(2)), m.group(3)
        self.base = f"http://127.0.0.1:{self.port}"

    def get(self, path: str, headers: dict | None = None) -> tuple[int, bytes]:
        req = urllib.request.Request(self.base + path, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def api(self, path: str) -> dict:
        status, body = self.get(path, {"X-Review-Token": self.token})
        assert status == 200, body
        return json.loads(body)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


@pytest.fixture()
def server(review_run):
    shutil.rmtree(review_run / "review", ignore_errors=True)
    s = Server(review_run)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: `make test` installs Debian's chromium before the tests")
        pytest.skip("Debian's chromium is not installed (`make test` installs it)")
    if os.environ.get("CI"):  # the test extra installs it: on CI a missing playwright is a failure, not a skip
        import playwright.sync_api as playwright
    else:
        playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def _open(page, url: str) -> None:
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(url)
    page.wait_for_selector('body[data-ready="1"]', timeout=30_000)
    assert not errors, errors
    page._review_errors = errors  # checked again by the callers after more actions


def _label_current(page, n_after: int) -> tuple[str, str]:
    """Press g for a kept document and b for a dropped one; wait until the server acknowledged it."""
    doc_id = page.evaluate("document.body.dataset.docId")
    dropped = page.inner_text("#docmeta").startswith("dropped by")
    key = "b" if dropped else "g"
    page.keyboard.press(key)
    page.wait_for_selector(f'body[data-labelled="{n_after}"][data-busy="0"]', timeout=30_000)  # saved, next one shown
    return doc_id, "bad" if dropped else "good"


def test_token_host_and_paths(server, review_run):
    assert server.get("/")[0] == 401
    assert server.get("/api/summary")[0] == 401
    assert server.get("/?token=wrong")[0] == 403
    assert server.get("/api/summary", {"X-Review-Token": "x" * len(server.token)})[0] == 403
    assert server.get("/api/summary", {"X-Review-Token": server.token, "Host": "evil.example:80"})[0] == 403  # DNS rebinding
    ok = {"X-Review-Token": server.token}
    status, body = server.get("/", ok)
    assert status == 200 and b"corpus review" in body
    # nothing is served by path: not the run folder's files, not anything above it
    for path in ("/manifest.json", "/stats.json", "/data/", "/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
                 "/api/../manifest.json", "/review/labels.parquet", "/api/doc/../../stats.json"):
        status, body = server.get(path, ok)
        assert status in (400, 404), (path, status)
        assert b"root:" not in body and b"pipeline" not in body
    status, _ = server.get("/api/doc?id=../../stats.json", ok)
    assert status == 404
    # a write needs the token and JSON, and an id of this run
    req = urllib.request.Request(server.base + "/api/label", data=b'{"id": "x", "label": "good"}', method="POST",
                                 headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=30)
    assert e.value.code == 401
    assert not (review_run / "review" / "labels.parquet").exists()


def test_label_ten_by_keyboard_reload_and_numbers(server, browser, review_run):
    before = _digest(review_run)
    page = browser.new_page()
    _open(page, server.url)
    assert page.locator("#precision-table tr").count() == 1  # header only: nothing labelled yet
    done = [_label_current(page, n) for n in range(1, 11)]
    assert len({d for d, _ in done}) == 10
    page.reload()
    page.wait_for_selector('body[data-ready="1"]', timeout=30_000)
    assert page.evaluate("document.body.dataset.labelled") == "10"
    # persisted: the labels file holds exactly what was pressed, with the run's fate of each document
    t = pq.read_table(review_run / "review" / "labels.parquet").to_pylist()
    assert [(r["doc_id"], r["label"]) for r in t] == done
    assert all(r["reviewer"] == "tester" and r["recipe"] and r["time"] for r in t)
    # the page's precision rows match the labels: every dropped document was pressed bad
    rows = page.locator("#precision-table tr[data-lang='*']")
    expected: dict[str, int] = {}
    for r in t:
        if r["reason"]:
            expected[r["reason"]] = expected.get(r["reason"], 0) + 1
    shown = {rows.nth(i).get_attribute("data-reason"): (int(rows.nth(i).get_attribute("data-bad")), int(rows.nth(i).get_attribute("data-labelled")))
             for i in range(rows.count())}
    assert shown == {k: (v, v) for k, v in expected.items()}
    kept = [r for r in t if not r["reason"]]
    if kept:
        line = page.locator("#falsekeep div[data-lang='*']")
        assert line.get_attribute("data-labelled") == str(len(kept)) and line.get_attribute("data-bad") == "0"
    # relabel the next document the other way round: the numbers follow
    doc_id = page.evaluate("document.body.dataset.docId")
    dropped = page.inner_text("#docmeta").startswith("dropped by")
    page.keyboard.press("2")  # tag "broken"
    page.keyboard.press("g" if dropped else "b")
    page.wait_for_selector('body[data-labelled="11"][data-busy="0"]', timeout=30_000)
    last = pq.read_table(review_run / "review" / "labels.parquet").to_pylist()[-1]
    assert last["doc_id"] == doc_id and last["tags"] == ["broken"]
    assert not page._review_errors, page._review_errors
    assert _digest(review_run) == before  # data/, rejected/, stats: untouched


def test_two_tabs_label_at_once(server, browser, review_run):
    ctx = browser.new_context()
    a, b = ctx.new_page(), ctx.new_page()
    _open(a, server.url)
    _open(b, server.url)
    seen_a, seen_b = [], []
    for _ in range(6):
        ida, idb = a.evaluate("document.body.dataset.docId"), b.evaluate("document.body.dataset.docId")
        assert ida and idb and ida != idb  # each tab holds its own document (a lease), never the same one
        seen_a.append(ida)
        seen_b.append(idb)
        a.keyboard.press("s")
        b.keyboard.press("s")  # both requests in flight together
        a.wait_for_selector(f'body:not([data-doc-id="{ida}"])', timeout=30_000)
        b.wait_for_selector(f'body:not([data-doc-id="{idb}"])', timeout=30_000)
    rows = pq.read_table(review_run / "review" / "labels.parquet").to_pylist()
    assert len(rows) == 12 and {r["doc_id"] for r in rows} == set(seen_a) | set(seen_b)
    assert not set(seen_a) & set(seen_b)
    ctx.close()


def test_hostile_text_url_and_title_stay_text(server, browser, review_run):
    from corpus.review.rundocs import RunView

    view = RunView(review_run)
    ids = {}
    for r in pq.read_table(review_run / "data").to_pylist() + pq.read_table(review_run / "rejected").to_pylist():
        if r["title"] in (HOSTILE_TITLE, "</title><script>window.__pwned=8</script>"):
            ids[r["title"]] = r["id"]
    assert len(ids) == 2, "both hostile documents are in the run"
    for title, doc_id in ids.items():
        page = browser.new_page()
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        _open(page, f"{server.url}&doc={doc_id}")
        assert page.evaluate("document.body.dataset.docId") == doc_id
        page.hover("#doctext")
        page.hover("#doctitle")
        assert page.evaluate("window.__pwned === undefined")
        assert page.locator("#doctext img, #doctext script, #doctitle img, #doctitle script, #docurl script, #doctext b").count() == 0
        assert title in page.inner_text("#doctitle")  # shown as the characters it is
        doc = view.document(doc_id)
        text = "".join(s[0] for s in doc["segments"])
        assert text[:40] in page.inner_text("#doctext")
        links = page.locator("#docurl a")
        if doc["url"].startswith("javascript:"):
            assert links.count() == 0 and doc["url"] in page.inner_text("#docurl")  # not a link at all
        else:
            assert links.count() == 1 and links.get_attribute("rel") == "noopener noreferrer"
            assert "<script>" not in links.get_attribute("href")  # the URL parser escaped it
        assert not dialogs and not page._review_errors
        page.close()


def test_a_dedup_drop_asks_the_duplicate_question(server, browser, review_run):
    """A dedup drop is judged as a duplicate of the kept document shown beside it, not as text; the label records
    the question and the text it judged, so a later run counts it only for a dedup reason and only on that text."""
    rej = pq.read_table(review_run / "rejected").to_pylist()
    dup = next(r for r in rej if (r["drop_reason"] or "").startswith("dedup."))
    kept = pq.read_table(review_run / "data").to_pylist()[0]
    page = browser.new_page()
    _open(page, f"{server.url}&doc={dup['id']}")
    assert page.get_attribute("#question", "data-question") == "duplicate"
    assert "duplicate of the kept document" in page.inner_text("#question")
    assert page.locator("#dup .doc.kept").count() == 1  # the document it duplicates is shown to compare
    page.keyboard.press("b")
    page.wait_for_selector('body[data-labelled="1"][data-busy="0"]', timeout=30_000)
    row = pq.read_table(review_run / "review" / "labels.parquet").to_pylist()[-1]
    assert (row["doc_id"], row["question"], row["reason"]) == (dup["id"], "duplicate", dup["drop_reason"])
    from corpus.review.store import text_hash

    assert row["text_hash"] == text_hash(dup["text"])
    page.close()
    page = browser.new_page()
    _open(page, f"{server.url}&doc={kept['id']}")
    assert page.get_attribute("#question", "data-question") == "quality"
    assert not page._review_errors
    page.close()


def test_sample_is_seeded_stratified_and_extends_in_place(review_run, tmp_path):
    from corpus.review.rundocs import RunView
    from corpus.review.sampling import Sampler

    folder = tmp_path / "copy"
    shutil.copytree(review_run, folder, ignore=shutil.ignore_patterns("review"))
    view = RunView(folder)
    a, b = Sampler(view, seed=3, depth=2), Sampler(view, seed=3, depth=2)
    assert a.queue == b.queue and len(a.queue) == len({d for d, _ in a.queue})
    assert Sampler(view, seed=4, depth=2).queue != a.queue
    stats = json.loads((folder / "stats.json").read_text())
    reasons = {(s["name"], r) for s in stats["stages"] for r in s["rejected"] if s["name"] != "read"}
    drawn = {tuple(k.split(":")[1:3]) for _, k in a.queue if k.startswith("drop:")}
    assert drawn == reasons  # every stage x reason is in the sample
    assert any(k.startswith("kept:zh") for _, k in a.queue) and any(k.startswith("kept:en") for _, k in a.queue)
    assert any(k.startswith("band:gq_words:") for _, k in a.queue)
    first = {k: [d for d, kk in a.queue if kk == k] for _, k in a.queue}
    a.extend(3)
    again = {k: [d for d, kk in a.queue if kk == k] for _, k in a.queue}
    for k, docs in first.items():
        if not k.startswith("band:"):  # a band's document may now be drawn first by a reason's deeper rounds
            assert again[k][: len(docs)] == docs  # extending only appends inside each stratum
    assert {d for d, _ in b.queue} <= {d for d, _ in a.queue}  # nothing drawn before leaves the sample
    assert len(a.queue) > len(b.queue)
    assert json.loads((folder / "review" / "sample.json").read_text()) == {"seed": 3, "depth": 5}


def test_report_escapes_hostile_documents(review_run, browser, tmp_path):
    """The offline report of the same run: script and attribute payloads in text, URL and title stay text."""
    from corpus.report import build

    folder = tmp_path / "copy"
    shutil.copytree(review_run, folder, ignore=shutil.ignore_patterns("review", "report"))
    html = build(folder, n_samples=100).read_text()  # every dropped document is a sample
    for raw in ("<script>window.__pwned", "<img src=x", '<b onclick="', '"><script>', "</title><script>"):
        assert raw not in html, raw
    # the dropped hostile stub is a sample: its text and URL are shown, as text
    assert "&lt;b onclick=&quot;window.__pwned=6&quot;&gt;" in html and "https://example.com/&quot;&gt;&lt;script&gt;" in html
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto((folder / "report" / "index.html").as_uri())
    page.wait_for_selector("body[data-rendered]", timeout=30_000)
    for el in page.locator(".doc").all()[:200]:
        el.hover()
    assert page.evaluate("window.__pwned === undefined") and not errors
    assert page.locator(".doc img, .doc script, .meta img, .meta script").count() == 0
