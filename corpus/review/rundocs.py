"""A finished run seen by document id: where each document ended (kept, or dropped by which stage and reason),
its full row on request, the recipe's threshold on each numeric signal, and what fired.

One scan of the small columns (id, lang, drop_stage, drop_reason) of data/ and rejected/ builds the index; a
document's full row is read from its own row group only when the page asks for it, so a 1M-document run costs an
index of a few tens of MB, not the corpus in memory. Nothing here writes: the review never touches data/.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpus.errors import UserError
from corpus.review import store

SINKS = ("data", "rejected")
TEXT_CAP = 60_000  # characters of a document sent to the page (the rest is cut, and the page says so)


class RunError(UserError, ValueError):
    """The folder is not a finished `corpus run`."""


@dataclass(frozen=True)
class Threshold:
    """A recipe parameter on a signal, and which side of it keeps a document."""

    param: str
    value: float
    keeps: str  # "above" (min_*: keep value >= threshold) or "below" (max_*: keep value <= threshold), "tag" for a cut that tags

    def fired(self, x: float) -> bool:
        return (self.keeps == "above" and x < self.value) or (self.keeps == "below" and x > self.value)


def keeps_side(stage: str, param: str) -> str:
    """Which side of a threshold keeps a document, from the parameter's name: ``min_*`` and FineWeb's line-
    punctuation threshold keep values at or above, domain cuts only tag, everything else keeps values below."""
    if stage.startswith("domain_tags"):
        return "tag"
    name = param.split(".")[0].split("[")[0]
    return "above" if name.startswith("min_") or name == "line_punct_thr" else "below"


def _param(params: Any, expr: str) -> float | None:
    m = re.fullmatch(r"(\w+)(?:\[(\d+)\]|\.(\w+))?", expr)
    value = getattr(params, m.group(1), None)
    if m.group(2) is not None:
        value = value[int(m.group(2))] if isinstance(value, list) and int(m.group(2)) < len(value) else None
    if m.group(3) is not None:
        value = value.get(m.group(3)) if isinstance(value, dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@dataclass
class SignalSpec:
    stage: str
    column: str
    steps_params: Any  # the stage's params (for_lang gives a language's thresholds)
    exprs: tuple[str, ...]

    def thresholds(self, lang: str | None) -> list[Threshold]:
        params = self.steps_params
        if lang and hasattr(params, "for_lang"):
            params = params.for_lang(lang)
        out = []
        for e in self.exprs:
            v = _param(params, e)
            if v is not None:
                out.append(Threshold(e, v, keeps_side(self.stage, e)))
        return out


def signal_specs(manifest: dict) -> list[SignalSpec]:
    """Every numeric signal column of the run's recipe, with the parameters that threshold it."""
    from corpus.recipe import parse

    from corpus.errors import UserError

    try:
        steps = parse(manifest["recipe"], manifest.get("recipe_path") or "recipe").build()
    except UserError:  # a run of an older recipe this code no longer reads: review without thresholds
        return []
    out = []
    for step in steps:
        for f in step.outputs:
            if (pa.types.is_integer(f.type) or pa.types.is_floating(f.type)) and not f.name.endswith("_removed"):
                out.append(SignalSpec(step.stage_name, step.column(f.name), step.params, tuple(step.thresholds.get(f.name, ()))))
    return out


class RunView:
    """Read-only access to one run folder by document id."""

    def __init__(self, run_dir: str | Path) -> None:
        self.dir = Path(run_dir).resolve()
        mpath = self.dir / "manifest.json"
        if not mpath.is_file() or not (self.dir / "stats.json").is_file():
            raise RunError(f"{self.dir}: no manifest.json/stats.json; give the --output folder of a finished `corpus run`")
        self.manifest = json.loads(mpath.read_text())
        self.stats = json.loads((self.dir / "stats.json").read_text())
        self.recipe_key = str((self.manifest.get("key") or {}).get("recipe", ""))
        self.signals = signal_specs(self.manifest)
        self.files: list[Path] = []
        parts = []
        for sink in SINKS:
            for f in sorted((self.dir / sink).glob("*.parquet")):
                pf = pq.ParquetFile(f)
                names = pf.schema_arrow.names
                cols = [c for c in ("id", "lang", "drop_stage", "drop_reason") if c in names]
                t = pf.read(columns=cols)
                n = len(t)
                fidx = len(self.files)
                self.files.append(f)
                get = lambda c, t=t, n=n: t.column(c).cast(pa.string()) if c in t.column_names else pa.nulls(n, pa.string())  # noqa: E731
                parts.append(pa.table({"id": get("id"), "lang": get("lang"), "drop_stage": get("drop_stage"),
                                       "drop_reason": get("drop_reason"), "file": pa.array(np.full(n, fidx, np.int32)),
                                       "row": pa.array(np.arange(n, dtype=np.int64))}))
        self.index = pa.concat_tables(parts) if parts else pa.table({
            "id": pa.array([], pa.string()), "lang": pa.array([], pa.string()), "drop_stage": pa.array([], pa.string()),
            "drop_reason": pa.array([], pa.string()), "file": pa.array([], pa.int32()), "row": pa.array([], pa.int64())})
        ids = self.index.column("id").to_pylist()
        self._pos = {i: k for k, i in enumerate(ids) if i is not None}
        self._hashes: dict[str, str] = {}  # text_hashes' answers: a view's run does not change under it
        self._meta: dict[int, pq.FileMetaData] = {}

    # -- where a document ended ---------------------------------------------------------------------------------
    def has(self, doc_id: str) -> bool:
        return doc_id in self._pos

    def fate(self, doc_id: str) -> dict | None:
        k = self._pos.get(doc_id)
        if k is None:
            return None
        row = self.index.slice(k, 1).to_pylist()[0]
        return {"stage": row["drop_stage"], "reason": row["drop_reason"], "lang": row["lang"]}

    def fates(self, doc_ids: list[str]) -> pa.Table:
        """id, lang, drop_stage, drop_reason of the given ids that are in this run."""
        return self.index.filter(pc.is_in(self.index.column("id"), pa.array(list(doc_ids), pa.string())))

    # -- a document's full row -----------------------------------------------------------------------------------
    def row(self, doc_id: str) -> dict | None:
        k = self._pos.get(doc_id)
        if k is None:
            return None
        fidx = int(self.index.column("file")[k].as_py())
        r = int(self.index.column("row")[k].as_py())
        pf = pq.ParquetFile(self.files[fidx])
        start = 0
        for g in range(pf.metadata.num_row_groups):
            n = pf.metadata.row_group(g).num_rows
            if r < start + n:
                return pf.read_row_group(g).slice(r - start, 1).to_pylist()[0]
            start += n
        return None

    def text_hashes(self, doc_ids: list[str]) -> dict[str, str]:
        """store.text_hash of the text the page shows for each given id this run holds. Only the row groups that
        hold them are read (text and extract_visible columns), so a few thousand labels cost a few reads, not a
        scan of the corpus. Remembered, so the report's what-if curves (one per signal) read them once."""
        want: dict[int, list[tuple[int, str]]] = {}
        file_col, row_col = self.index.column("file"), self.index.column("row")
        for d in dict.fromkeys(doc_ids):
            k = self._pos.get(d) if d not in self._hashes else None
            if k is not None:
                want.setdefault(int(file_col[k].as_py()), []).append((int(row_col[k].as_py()), d))
        out = self._hashes
        for fidx, rows in want.items():
            pf = pq.ParquetFile(self.files[fidx])
            cols = [c for c in ("text", "extract_visible") if c in pf.schema_arrow.names]
            starts = np.cumsum([0] + [pf.metadata.row_group(g).num_rows for g in range(pf.metadata.num_row_groups)])
            by_group: dict[int, list[tuple[int, str]]] = {}
            for r, d in rows:
                g = int(np.searchsorted(starts, r, side="right")) - 1
                by_group.setdefault(g, []).append((r - int(starts[g]), d))
            for g, members in by_group.items():
                t = pf.read_row_group(g, columns=cols)
                for r, d in members:
                    row = {c: t.column(c)[r].as_py() for c in cols}
                    out[d] = store.text_hash(shown_text(row)[0])
        return {d: out[d] for d in doc_ids if d in out}

    def document(self, doc_id: str) -> dict | None:
        """What the review page shows about one document: text (with what fired marked), signals beside the
        recipe's thresholds, url, title, language, fate, and for a dedup drop the document it duplicates."""
        from corpus.report.highlight import highlight_pattern

        row = self.row(doc_id)
        if row is None:
            return None
        reason = row.get("drop_reason")
        text, shown_from = shown_text(row)
        text_full = text
        cut = len(text) > TEXT_CAP
        text = text[:TEXT_CAP]
        lang = row.get("lang")
        signals = []
        for spec in self.signals:
            v = row.get(spec.column)
            if v is None or (isinstance(v, float) and np.isnan(v)):
                continue
            ths = spec.thresholds(lang)
            signals.append({"stage": spec.stage, "column": spec.column, "value": float(v),
                            "thresholds": [{"param": t.param, "value": t.value, "keeps": t.keeps} for t in ths],
                            "fired": any(t.fired(float(v)) for t in ths)})
        dup = None
        if row.get("dup_of") and reason and reason.startswith("dedup."):
            other = self.row(row["dup_of"])
            dup = {"id": row["dup_of"], "url": other and other.get("url"), "text": ((other or {}).get("text") or "")[:TEXT_CAP],
                   "dropped": other and other.get("drop_reason"), "in_run": other is not None}
        return {"id": doc_id, "url": row.get("url"), "title": row.get("title"), "lang": lang, "domain": row.get("domain"),
                "stage": row.get("drop_stage"), "reason": reason, "shown_from": shown_from, "cut": cut,
                "question": store.question_of(row.get("drop_stage"), reason), "text_hash": store.text_hash(text_full),
                "segments": segments(text, highlight_pattern(reason) if reason else None),
                "signals": signals, "dup": dup, "chars": len(row.get("text") or "")}


def shown_text(row: dict) -> tuple[str, str]:
    """The text a curator judges, and the column it comes from: the document's text, or for a page extraction
    kept nothing of (extract.no_content) the page's visible text. Labels hash this (store.text_hash)."""
    text = row.get("text") or ""
    if not text.strip() and row.get("extract_visible"):
        return row["extract_visible"], "extract_visible"
    return text, "text"


def segments(text: str, pattern: str | None) -> list[list]:
    """The text as [piece, marked] pairs: the page builds text nodes from them (never HTML), so nothing a document
    holds can become markup, and marks do not depend on how the browser counts characters."""
    if not pattern:
        return [[text, False]]
    out, last = [], 0
    for m in re.finditer(pattern, text):
        if m.end() == m.start():
            continue
        if m.start() > last:
            out.append([text[last:m.start()], False])
        out.append([m.group(0), True])
        last = m.end()
    if last < len(text):
        out.append([text[last:], False])
    return out or [["", False]]
