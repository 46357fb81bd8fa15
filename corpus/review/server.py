"""`corpus review DIR`: the labelling page as a local web app.

Security, because a run folder holds crawled (hostile) text and the page can write:
- it binds 127.0.0.1 only and checks the Host header (a DNS-rebinding page cannot reach it by another name);
- every request needs the random token printed with the URL (query ``token=`` or header ``X-Review-Token``),
  compared in constant time: none gives 401, a wrong one 403;
- it serves one page and a JSON API, never a file by path, so nothing outside (or inside) the run folder can be
  fetched by a crafted path; documents are looked up by id in the run's index;
- document text, URLs and titles travel as JSON and the page inserts them as text nodes (never HTML); a link is
  made only for http(s) URLs; a Content-Security-Policy with a per-process nonce forbids any other script, and
  no-referrer keeps the token from leaking to a site a curator opens;
- it writes only DIR/review/ (labels.parquet, sample.json); data/ and rejected/ are opened read-only.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from corpus.review import LABELS, TAGS, metrics
from corpus.review.app import page
from corpus.review.rundocs import RunView, shown_text
from corpus.review.sampling import Sampler
from corpus.review.store import LabelError, LabelStore, question_of, text_hash

LEASE_S = 600        # a document shown in one tab is not offered to another for this long
MAX_BODY = 64 * 1024  # a label is a few hundred bytes
MAX_NOTE = 2000


class Review:
    """The state behind the page: the run, its sample, the labels, and which tab holds which document."""

    def __init__(self, run_dir: str | Path, reviewer: str, seed: int | None = None, extra_labels: list[str] | None = None) -> None:
        self.view = RunView(run_dir)
        self.store = LabelStore(self.view.dir)
        self.sampler = Sampler(self.view, seed)
        self.reviewer = reviewer
        self.extra = list(extra_labels or [])
        self.lock = threading.Lock()
        self.leases: dict[str, tuple[str, float]] = {}
        # labelled = a label answers this run's question about this text (metrics.judge); a document whose labels
        # are all stale or answer another question is offered again, first: it was worth a look once already
        j = metrics.judge(self._labels(), self.view)
        self.labelled = {r["doc_id"] for r in j["rows"]}
        again = {**j["stale"], **j["other_question"]}
        self.sampler.first = [(d, f"again:{'stale' if d in j['stale'] else 'question'}:"
                                  f"{f['reason'] or 'kept'}:{f['lang'] or '?'}") for d, f in sorted(again.items())]

    def _labels(self):
        import pyarrow as pa

        from corpus.review import store

        return pa.concat_tables([self.store.read()] + [store.read(p) for p in self.extra])

    def next(self, client: str, n: int, focus: str | None) -> list[dict]:
        with self.lock:
            now = time.monotonic()
            self.leases = {k: v for k, v in self.leases.items() if v[1] > now and k not in self.labelled}
            taken = {k for k, (c, _) in self.leases.items() if c != client}
            picked = self.sampler.next(self.labelled | taken, n, focus)
            for doc_id, _ in picked:
                self.leases[doc_id] = (client, now + LEASE_S)
        return [{"id": d, "stratum": s} for d, s in picked]

    def label(self, body: dict) -> dict:
        doc_id, label = str(body.get("id", "")), str(body.get("label", ""))
        fate = self.view.fate(doc_id)
        if fate is None:
            raise LabelError("no such document in this run")
        note = str(body.get("note") or "")[:MAX_NOTE]
        tags = [str(t) for t in body.get("tags") or []][:len(TAGS)]
        doc = self.view.row(doc_id) or {}
        row = {"doc_id": doc_id, "label": label, "tags": tags, "note": note or None, "reviewer": self.reviewer,
               "recipe": self.view.recipe_key, "stage": fate["stage"], "reason": fate["reason"], "lang": fate["lang"],
               "stratum": str(body.get("stratum") or "")[:300] or None, "url": doc.get("url"),
               "question": question_of(fate["stage"], fate["reason"]), "text_hash": text_hash(shown_text(doc)[0])}
        total = self.store.append([row])
        with self.lock:
            self.labelled.add(doc_id)
            self.leases.pop(doc_id, None)
        return {"ok": True, "labels": total}

    def summary(self) -> dict:
        s = metrics.summarize(self._labels(), self.view)
        queue = self.sampler.first + self.sampler.queue
        s["queue"] = {"sampled": len({d for d, _ in queue}), "depth": self.sampler.depth,
                      "left": len({d for d, _ in queue if d not in self.labelled})}
        s["reviewer"], s["run"] = self.reviewer, self.view.dir.name
        s["signals"] = sorted({sp.column for sp in self.view.signals})
        return s

    def whatif(self, column: str, lang: str | None) -> dict:
        return metrics.whatif(self.view, self._labels(), column, lang or None)


class Handler(BaseHTTPRequestHandler):
    server_version = "corpus-review"
    sys_version = ""
    review: Review
    token: str
    nonce: str
    hosts: frozenset[str]

    def log_message(self, fmt: str, *args) -> None:  # quiet: the token is in every request line
        pass

    # -- plumbing -------------------------------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        self.send_header("Content-Security-Policy",
                         f"default-src 'none'; script-src 'nonce-{self.nonce}'; style-src 'nonce-{self.nonce}'; "
                         "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, payload: object, status: int = 200) -> None:
        self._send(status, json.dumps(payload, ensure_ascii=False, default=str).encode(), "application/json; charset=utf-8")

    def _error(self, status: int, message: str) -> None:
        self._json({"error": message}, status)

    def _authorised(self, query: dict) -> bool:
        if self.headers.get("Host", "") not in self.hosts:
            self._error(HTTPStatus.FORBIDDEN, "unknown host")
            return False
        given = self.headers.get("X-Review-Token") or (query.get("token") or [""])[0]
        if not given:
            self._error(HTTPStatus.UNAUTHORIZED, "missing token: open the URL `corpus review` printed")
            return False
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            self._error(HTTPStatus.FORBIDDEN, "wrong token")
            return False
        return True

    # -- routes ----------------------------------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        url = urlsplit(self.path)
        q = parse_qs(url.query)
        if not self._authorised(q):
            return
        arg = lambda k, d="": (q.get(k) or [d])[0]  # noqa: E731
        r = self.review
        try:
            if url.path == "/":
                self._send(200, page(self.nonce).encode(), "text/html; charset=utf-8")
            elif url.path == "/api/next":
                self._json({"docs": r.next(arg("client")[:64], max(1, min(50, int(arg("n", "1") or 1))), arg("focus") or None)})
            elif url.path == "/api/doc":
                doc = r.view.document(arg("id"))
                self._json(doc) if doc else self._error(HTTPStatus.NOT_FOUND, "no such document in this run")
            elif url.path == "/api/summary":
                self._json(r.summary())
            elif url.path == "/api/whatif":
                self._json(r.whatif(arg("column"), arg("lang") or None))
            elif url.path == "/api/meta":
                self._json({"labels": LABELS, "tags": TAGS, "reviewer": r.reviewer, "run": r.view.dir.name,
                            "strata": r.sampler.strata})
            else:
                self._error(HTTPStatus.NOT_FOUND, "not found")
        except ValueError:
            self._error(HTTPStatus.BAD_REQUEST, "bad request")

    do_HEAD = do_GET

    def do_POST(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        if not self._authorised(parse_qs(url.query)):
            return
        if not (self.headers.get("Content-Type") or "").startswith("application/json"):
            return self._error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send application/json")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 < length <= MAX_BODY:
            return self._error(HTTPStatus.BAD_REQUEST, "bad body length")
        try:
            body = json.loads(self.rfile.read(length))
            if not isinstance(body, dict):
                raise ValueError
        except ValueError:
            return self._error(HTTPStatus.BAD_REQUEST, "body is not a JSON object")
        try:
            if url.path == "/api/label":
                out = self.review.label(body)
                out["summary"] = self.review.summary()
                self._json(out)
            elif url.path == "/api/more":
                self._json({"depth": self.review.sampler.extend(), "sampled": len(self.review.sampler.queue)})
            else:
                self._error(HTTPStatus.NOT_FOUND, "not found")
        except LabelError as exc:
            self._error(HTTPStatus.BAD_REQUEST, str(exc))


def make_server(run_dir: str | Path, port: int = 0, reviewer: str | None = None, seed: int | None = None,
                extra_labels: list[str] | None = None) -> tuple[ThreadingHTTPServer, str]:
    """A ready server (not yet serving) and the URL with its token."""
    review = Review(run_dir, reviewer or os.environ.get("USER") or "curator", seed, extra_labels)
    token = secrets.token_urlsafe(24)
    handler = type("ReviewHandler", (Handler,), {"review": review, "token": token, "nonce": secrets.token_urlsafe(16)})
    httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
    httpd.daemon_threads = True
    real_port = httpd.server_address[1]
    handler.hosts = frozenset({f"127.0.0.1:{real_port}", f"localhost:{real_port}"})
    return httpd, f"http://127.0.0.1:{real_port}/?token={token}"
