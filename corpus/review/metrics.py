"""Numbers from human labels: how often each filter is right, and what a threshold would do.

- Drop precision per stage, reason and language: the share of a reason's labelled drops that the curator called
  bad, with a Wilson 95% interval (honest at the small counts a curator labels: it never leaves [0, 1] and is not
  zero-width at 0 or n of n).
- The false-keep rate: the share of labelled kept documents that are bad.
- Good documents lost per reason: the reason's drop count in the run times (1 - precision), with the interval.
- What-if curves: for a numeric signal, as a threshold moves, how many of the run's documents it keeps and how
  the labelled ones among them were judged.

Labels carry across runs by document id (ids are content-derived): when a run is given, each label is counted
under the fate its document has in *that* run, so a re-run with a new threshold reuses every judgement, with two
limits, because a label answers one question about one text:
- *The question.* A drop by ``dedup`` is right when the document duplicates the kept one, whatever its text is
  worth; a text-quality label (good or bad text, given to a kept document or a document dropped for any other
  reason) says nothing about that, and a duplicate label ("yes, a duplicate") says nothing about the text. So a
  document dropped by dedup in this run counts only a label given under a dedup drop, and a kept document or a
  text-quality drop counts only a text-quality label (store.QUESTIONS: decontaminate, "does it quote a benchmark
  item", is apart likewise). A quality label transfers to every text-quality reason and to the kept controls.
- *The text.* A label whose recorded text hash differs from the text the document has in this run (a new
  extraction, a changed line filter) judged a text that no longer exists: it is stale, not counted.
Per document the latest label that answers this run's question about this text wins (older rows without a hash
are taken as judging the current text). A document whose labels are all stale or answer the other question is
counted apart and offered again by the review page. Labels of documents the run does not hold are counted apart
and left out. ``skip`` is counted but never enters a rate.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpus.review import store
from corpus.review.rundocs import RunView

Z95 = 1.959963984540054


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials; (0, 1) when n is 0."""
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (0.0 if k == 0 else max(0.0, mid - half)), (1.0 if k == n else min(1.0, mid + half))  # exact ends, no rounding


def judge(labels: pa.Table, view: RunView | None) -> dict:
    """The label that counts per document, with the fate it counts under (this run's, else the label's own).

    Returns ``rows`` (label rows, stage/reason/lang replaced by this run's), ``missing`` (labelled documents the run
    does not hold), ``stale`` and ``other_question`` ({doc_id: this run's fate}: labelled, but no label answers
    this run's question about this text; the page offers them again)."""
    by_doc: dict[str, list[dict]] = {}
    for r in labels.to_pylist():  # append order: the last applicable row wins
        by_doc.setdefault(r["doc_id"], []).append(r)
    out: dict = {"rows": [], "missing": 0, "stale": {}, "other_question": {}}
    if view is None:
        out["rows"] = [rs[-1] for rs in by_doc.values()]
        return out
    fates = {r["id"]: r for r in view.fates(list(by_doc)).to_pylist()} if by_doc else {}
    hashes = view.text_hashes(list(fates))
    for doc_id, rs in by_doc.items():
        f = fates.get(doc_id)
        if f is None:
            out["missing"] += 1
            continue
        fate = {"stage": f["drop_stage"], "reason": f["drop_reason"], "lang": f["lang"]}
        q = store.question_of(fate["stage"], fate["reason"])
        asked = [r for r in rs if r["question"] == q]
        fresh = _fresh(asked, hashes.get(doc_id))
        if fresh:
            out["rows"].append(dict(fresh[-1], **fate))
        else:
            out["stale" if asked else "other_question"][doc_id] = fate
    return out


def quality_labels(labels: pa.Table, view: RunView) -> dict[str, dict]:
    """doc_id -> the latest text-quality label that judged the text the document has in ``view``, whatever its
    fate there: what a threshold on a text signal, or a text classifier, is measured (or trained) against.
    Duplicate and leak labels, and stale ones, are left out; so are documents the run does not hold."""
    rows: dict[str, list[dict]] = {}
    for r in labels.to_pylist():
        if r["question"] == store.QUALITY and view.has(r["doc_id"]):
            rows.setdefault(r["doc_id"], []).append(r)
    hashes = view.text_hashes(list(rows))
    out = {}
    for doc_id, rs in rows.items():
        fresh = _fresh(rs, hashes.get(doc_id))
        if fresh:
            out[doc_id] = fresh[-1]
    return out


def _fresh(rows: list[dict], current: str | None) -> list[dict]:
    """The rows that judged the text a document has now (rows older than the hash column are taken as judging it)."""
    return [r for r in rows if r["text_hash"] is None or r["text_hash"] == current]


def _dropped_counts(view: RunView | None) -> dict[tuple[str, str, str], int]:
    """(stage, reason, lang) -> documents the run dropped for it, from stats.json's per-language ledger."""
    out: dict[tuple[str, str, str], int] = {}
    if view is None:
        return out
    for s in view.stats["stages"]:
        for lang, counts in (s.get("by_lang") or {}).items():
            for k, n in counts.items():
                if k.startswith("rejected:"):
                    out[(s["name"], k.removeprefix("rejected:"), lang)] = n
        for reason, n in s.get("rejected", {}).items():
            out[(s["name"], reason, "*")] = n
    return out


def _row(stage, reason, lang, good, bad, skip, tags, dropped) -> dict:
    n = good + bad
    lo, hi = wilson(bad, n)
    prec = bad / n if n else None
    lost = None if dropped is None or prec is None else dropped * (1 - prec)
    return {"stage": stage, "reason": reason, "lang": lang, "dropped": dropped, "labelled": n, "bad": bad, "good": good,
            "skipped": skip, "precision": prec, "low": lo if n else None, "high": hi if n else None,
            "good_lost": lost, "good_lost_range": None if dropped is None or not n else [dropped * (1 - hi), dropped * (1 - lo)],
            "tags": dict(Counter(tags).most_common())}


def summarize(labels: pa.Table, view: RunView | None = None) -> dict:
    """Every number the page, `corpus stats` and the report show. Without a run, the labels' own stage and
    reason are used (a labels file read on its own, as the bench does)."""
    j = judge(labels, view)
    judged, missing = j["rows"], j["missing"]
    dropped = _dropped_counts(view)
    cells: dict[tuple[str, str, str], list] = {}
    kept: dict[str, list] = {}
    for r in judged:
        lab, tags = r["label"], list(r.get("tags") or [])
        if r["reason"]:
            for key in ((r["stage"], r["reason"], r["lang"] or "?"), (r["stage"], r["reason"], "*")):
                c = cells.setdefault(key, [0, 0, 0, []])
                c[0 if lab == "good" else 1 if lab == "bad" else 2] += 1
                c[3] += tags if lab == "bad" else []
        else:
            for key in (r["lang"] or "?", "*"):
                c = kept.setdefault(key, [0, 0, 0, []])
                c[0 if lab == "good" else 1 if lab == "bad" else 2] += 1
                c[3] += tags if lab == "bad" else []
    precision = [_row(*key, *c, dropped.get(key) if view is not None else None) for key, c in cells.items()]
    precision.sort(key=lambda x: (x["stage"], x["reason"], x["lang"] != "*", x["lang"]))
    false_keep = []
    for lang, (good, bad, skip, tags) in sorted(kept.items(), key=lambda kv: (kv[0] != "*", kv[0])):
        n = good + bad
        lo, hi = wilson(bad, n)
        false_keep.append({"lang": lang, "labelled": n, "bad": bad, "good": good, "skipped": skip,
                           "rate": bad / n if n else None, "low": lo if n else None, "high": hi if n else None,
                           "tags": dict(Counter(tags).most_common())})
    lost = [p["good_lost"] for p in precision if p["lang"] == "*" and p["good_lost"] is not None]
    counts = Counter(r["label"] for r in judged)
    return {"labels": len(labels), "documents": len(judged), "good": counts["good"], "bad": counts["bad"], "skip": counts["skip"],
            "not_in_run": missing, "stale": len(j["stale"]), "other_question": len(j["other_question"]), "rule": RULE,
            "precision": precision, "false_keep": false_keep,
            "good_lost_total": sum(lost) if lost else None}


def whatif(view: RunView, labels: pa.Table, column: str, lang: str | None = None, points: int = 24) -> dict:
    """As a threshold on ``column`` moves over the run's values: documents at or above it (all, and labelled
    good / bad among them: text-quality labels of the text the run holds, quality_labels). Below = total - above. The recipe's thresholds and which side each keeps come along."""
    spec = next((s for s in view.signals if s.column == column), None)
    if spec is None:
        return {}
    vals, ids = [], []
    for f in view.files:
        names = pq.ParquetFile(f).schema_arrow.names
        if column in names:
            cols = ["id", column] + (["lang"] if lang and "lang" in names else [])
            t = pq.read_table(f, columns=cols)
            if lang and "lang" in names:
                t = t.filter(pc.fill_null(pc.equal(t.column("lang"), lang), False))
            ids += t.column("id").to_pylist()
            vals.append(pc.cast(t.column(column), pa.float64()).to_numpy(zero_copy_only=False))
    if not vals:
        return {}
    v = np.concatenate(vals)
    ok = ~np.isnan(v)
    v, ids = v[ok], [i for i, good in zip(ids, ok) if good]
    if not len(v):
        return {}
    latest = {k: r["label"] for k, r in quality_labels(labels, view).items()}
    lab = np.array([latest.get(i, "") for i in ids])
    good, bad = v[lab == "good"], v[lab == "bad"]
    grid = np.unique(np.quantile(v, np.linspace(0, 1, points)))
    th = spec.thresholds(lang)
    grid = np.unique(np.concatenate([grid, [t.value for t in th]]))
    s_all, s_good, s_bad = np.sort(v), np.sort(good), np.sort(bad)
    above = lambda arr, t: int(len(arr) - np.searchsorted(arr, t, side="left"))  # noqa: E731
    return {"column": column, "stage": spec.stage, "lang": lang or "*", "total": int(len(v)), "good": int(len(good)), "bad": int(len(bad)),
            "thresholds": [{"param": t.param, "value": t.value, "keeps": t.keeps} for t in th],
            "curve": [{"t": float(t), "all": above(s_all, t), "good": above(s_good, t), "bad": above(s_bad, t)} for t in grid]}


RULE = ("A label counts where it answers the question: a dedup drop is right when the document duplicates the kept "
        "one, so only labels given to dedup drops (is it a duplicate?) count for dedup reasons; a text-quality label "
        "(usable text or not, given to a kept document or any other drop) counts for every other reason and the kept "
        "controls. A label given to a text the document no longer has (changed extraction or line filters) is stale "
        "and not counted; the review page offers such documents again.")


def set_apart(summary: dict) -> str:
    """The labels a summary leaves out, in words ('' when none)."""
    parts = []
    if summary.get("not_in_run"):
        parts.append(f"{summary['not_in_run']:,} for documents not in this run")
    if summary.get("stale"):
        parts.append(f"{summary['stale']:,} stale (the document's text changed since)")
    if summary.get("other_question"):
        parts.append(f"{summary['other_question']:,} answering another question than this run asks of the document "
                     "(a text label on a dedup drop, or a duplicate label on a text)")
    return "not counted: documents with labels " + "; ".join(parts) if parts else ""


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


def text(summary: dict) -> str:
    """The labels' numbers as plain text (for `corpus stats` and the closing notes)."""
    if not summary["documents"]:
        return "human review: no labels yet (corpus review DIR)"
    apart = set_apart(summary)
    lines = [f"human review: {summary['documents']:,} documents labelled ({summary['good']:,} good, {summary['bad']:,} bad, "
             f"{summary['skip']:,} skipped)" + (f"; {apart}" if apart else ""),
             f"{'stage':<18}{'reason':<34}{'lang':<5}{'dropped':>8}{'labelled':>9}{'bad':>5}{'precision':>10}  {'Wilson 95%':<12}{'good lost':>10}"]
    for p in summary["precision"]:
        lost = "–" if p["good_lost"] is None else f"{p['good_lost']:.0f}"
        ci = "–" if p["low"] is None else f"{100 * p['low']:.0f}–{100 * p['high']:.0f}%"
        lines.append(f"{p['stage']:<18}{p['reason']:<34}{p['lang']:<5}{'–' if p['dropped'] is None else p['dropped']:>8}"
                     f"{p['labelled']:>9}{p['bad']:>5}{_pct(p['precision']):>10}  {ci:<12}{lost:>10}")
    for k in summary["false_keep"]:
        ci = "–" if k["low"] is None else f"{100 * k['low']:.0f}–{100 * k['high']:.0f}%"
        lines.append(f"kept, lang {k['lang']}: {k['bad']} of {k['labelled']} labelled bad (false-keep rate {_pct(k['rate'])}, {ci})")
    if summary["good_lost_total"] is not None:
        lines.append(f"estimated good documents lost to all labelled reasons: {summary['good_lost_total']:.0f}")
    lines.append("(dedup reasons count only labels given to dedup drops, 'bad' = a true duplicate; the other reasons and "
                 "the kept documents count only text-quality labels of the text the document has now)")
    return "\n".join(lines)


def for_run(run_dir: str | Path, extra: list[str] | None = None) -> dict:
    """The summary of a run's own labels plus any other labels files (earlier runs), by document id."""
    view = RunView(run_dir)
    tables = [store.read(run_dir)] + [store.read(p) for p in extra or []]
    return summarize(pa.concat_tables(tables), view)
