"""The labels store: ``DIR/review/labels.parquet``, one row per judgement, append-only.

Why a rewrite-and-rename instead of a database: the labels are a few thousand rows at most, a curator wants a
plain Parquet file to copy into the next run or into ``train-quality --labels``, and a reader must never see half
a file. Every append takes one process-wide lock and an ``flock`` on ``DIR/review/.labels.lock`` (so two servers
on one folder, or two tabs of one server, queue up), reads the current file, adds the new rows, writes a
temporary file, fsyncs it and renames it over the old one. A crash leaves the old file or the new one, never a
torn one, and a restart reads everything that was acknowledged. Nothing is ever deleted: a relabel is a new row,
and the latest row per document is the one the numbers use.

Each row also says what was judged, so that a label is only reused for what it answers (see corpus.review.metrics):
- ``question``: what the curator was asked. A document dropped by ``dedup`` is judged as a duplicate ("does it
  duplicate the kept document shown beside it?"), one dropped by ``decontaminate`` as a leak ("does it quote the
  benchmark item?"); every other document, kept or dropped, as text ("usable pretraining text or not"). Rows
  written before the column existed get it from the stage they were labelled under.
- ``text_hash``: a hash of the text the page showed (whitespace runs collapsed), so a label whose document's text
  has since changed (a new extraction, a changed line filter) is known to be stale. Null for rows written before.
"""

from __future__ import annotations

import datetime
import fcntl
import os
import threading
from pathlib import Path
from typing import Iterable

import pyarrow as pa
import pyarrow.parquet as pq
import xxhash

from corpus.errors import UserError
from corpus.review import LABELS, TAGS
from corpus.rundir import write_parquet

SCHEMA = pa.schema([
    pa.field("doc_id", pa.string(), nullable=False),
    pa.field("label", pa.string(), nullable=False),       # good | bad | skip
    pa.field("tags", pa.list_(pa.string())),
    pa.field("note", pa.string()),
    pa.field("reviewer", pa.string()),
    pa.field("time", pa.timestamp("ms", tz="UTC")),
    pa.field("recipe", pa.string()),                       # the run's recipe fingerprint (manifest key.recipe)
    pa.field("stage", pa.string()),                        # drop_stage when labelled; null = kept
    pa.field("reason", pa.string()),                       # drop_reason when labelled; null = kept
    pa.field("lang", pa.string()),
    pa.field("stratum", pa.string()),                      # the sample stratum the document was drawn from
    pa.field("url", pa.string()),
    pa.field("question", pa.string()),                     # quality | duplicate | leak (QUESTIONS)
    pa.field("text_hash", pa.string()),                    # text_hash() of the text shown; null = not recorded
])

QUALITY, DUPLICATE, LEAK = "quality", "duplicate", "leak"
QUESTIONS = {  # stage -> the question a drop by it asks; every other stage, and a kept document, asks QUALITY
    "dedup": DUPLICATE,          # right when it duplicates the kept document, whatever its text is worth
    "decontaminate": LEAK,       # right when it quotes a benchmark item, however good the text
}

_LOCK = threading.Lock()


class LabelError(UserError, ValueError):
    """A label that cannot be stored (unknown label or tag), or a labels file that is not one."""


def path_of(run_dir: str | Path) -> Path:
    return Path(run_dir) / "review" / "labels.parquet"


def validate(label: str, tags: Iterable[str]) -> list[str]:
    if label not in LABELS:
        raise LabelError(f"label {label!r}: use one of {', '.join(LABELS)}")
    tags = list(dict.fromkeys(tags))
    unknown = [t for t in tags if t not in TAGS]
    if unknown:
        raise LabelError(f"tag(s) {', '.join(map(repr, unknown))}: use any of {', '.join(TAGS)}")
    return tags


def question_of(stage: str | None, reason: str | None = None) -> str:
    """The question a label of a document with this fate answers (by the reason's prefix, ``dedup.url`` ->
    dedup, else the stage); a kept document (no stage, no reason) asks QUALITY."""
    kind = reason.split(".")[0] if reason else stage
    return QUESTIONS.get(kind or "", QUALITY)


def text_hash(text: str | None) -> str:
    """A hash of a text as a reader sees it: runs of whitespace collapsed, so a re-wrap is the same text."""
    return xxhash.xxh3_64_hexdigest(" ".join((text or "").split()).encode("utf-8", "surrogatepass"))


def read(path: str | Path) -> pa.Table:
    """Every label row in ``path`` (a labels.parquet, or a run folder holding review/labels.parquet), oldest first;
    an empty table if there is none yet."""
    p = Path(path)
    if p.is_dir():
        p = path_of(p)
    if not p.exists():
        return SCHEMA.empty_table()
    try:
        table = pq.read_table(p)
    except (pa.ArrowInvalid, OSError) as exc:
        raise LabelError(f"{p}: not a readable labels file ({exc}); give DIR/review/labels.parquet of a `corpus review`") from None
    missing = [n for n in ("doc_id", "label") if n not in table.column_names]
    if missing:
        raise LabelError(f"{p}: no {', '.join(missing)} column; give DIR/review/labels.parquet of a `corpus review`")
    cols = [table.column(f.name).cast(f.type) if f.name in table.column_names else pa.nulls(len(table), f.type) for f in SCHEMA]
    out = pa.Table.from_arrays(cols, schema=SCHEMA)
    q = out.column("question").to_pylist()
    if None in q:  # rows from before the column: the question their stage asks
        stages, reasons = out.column("stage").to_pylist(), out.column("reason").to_pylist()
        q = [x or question_of(s, r) for x, s, r in zip(q, stages, reasons)]
        out = out.set_column(SCHEMA.get_field_index("question"), SCHEMA.field("question"), pa.array(q, pa.string()))
    return out


def latest(table: pa.Table) -> dict[str, dict]:
    """The latest label row per document (a relabel overrides; rows are in append order)."""
    out: dict[str, dict] = {}
    for row in table.to_pylist():
        out[row["doc_id"]] = row
    return out


class LabelStore:
    """Appends label rows to ``DIR/review/labels.parquet`` (see the module docstring for why it is safe)."""

    def __init__(self, run_dir: str | Path) -> None:
        self.path = path_of(run_dir)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lock_path = self.path.parent / ".labels.lock"

    def append(self, rows: list[dict]) -> int:
        """Store ``rows`` (dicts with SCHEMA's keys; time defaults to now). Returns the total number of rows."""
        now = datetime.datetime.now(datetime.timezone.utc)
        for r in rows:
            r["tags"] = validate(r["label"], r.get("tags") or [])
            r.setdefault("time", now)
            if not r.get("question"):
                r["question"] = question_of(r.get("stage"), r.get("reason"))
        new = pa.Table.from_pylist([{f.name: r.get(f.name) for f in SCHEMA} for r in rows], schema=SCHEMA)
        with _LOCK, open(self.lock_path, "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                table = pa.concat_tables([read(self.path), new])
                write_parquet(self.path, table)
                dir_fd = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)  # the rename itself survives a power cut
                finally:
                    os.close(dir_fd)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return len(table)

    def read(self) -> pa.Table:
        with _LOCK:
            return read(self.path)
