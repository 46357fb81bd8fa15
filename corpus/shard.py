"""Run every stage of a recipe over one input shard, streaming batch by batch (no Ray in here).

A stage that raises on a batch is retried row by row, so one hostile record is quarantined with its error
and the other rows of the batch go on. Rows a stage marks leave for the rejected sink at once, so later
stages only see live rows and each stage's counters balance exactly.
"""

from __future__ import annotations

import dataclasses
import json
import time
import traceback
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpus import readers, rundir, runstore
from corpus.errors import Transient
from corpus.preflight import localizer, sha256_file
from corpus.readers import InputFile
from corpus.recipe import ReadParams, Recipe
from corpus.runstore import RunStore
from corpus.sinks import SINKS, ShardSinks, sink_schema
from corpus.stats import StageStats, mix_of
from corpus.step import GlobalStep, Step, set_column

MARKERS = "_shards"
TRANSIENT = "transient "  # prefixes the quarantine message of an error that depends on the machine


def _bytes(table: pa.Table) -> int:
    if table.num_rows == 0:
        return 0
    return int(pc.sum(pc.binary_length(table.column("text"))).as_py() or 0)


def _payload(table: pa.Table) -> int:
    return int(pc.sum(table.column("_payload_bytes")).as_py() or 0) if table.num_rows else 0


def _count_by_lang(table: pa.Table, st: StageStats, key: str) -> None:
    """Add this table's rows to the stage's per-language counts under ``key`` (or ``rejected:<reason>``)."""
    if not table.num_rows:
        return
    langs = table.column("lang") if "lang" in table.column_names else pa.nulls(table.num_rows, pa.string())
    reasons = table.column("drop_reason") if key == "rejected" else pa.nulls(table.num_rows, pa.string())
    groups = pa.table({"lang": langs, "reason": reasons}).group_by(["lang", "reason"], use_threads=False).aggregate([([], "count_all")])
    for lang, reason, n in zip(*(groups.column(c).to_pylist() for c in ("lang", "reason", "count_all"))):
        st.count_lang(lang, f"rejected:{reason}" if reason else key, n)


def _split(table: pa.Table, stage: str, st: StageStats) -> tuple[pa.Table, pa.Table]:
    """Count and separate the rows this stage marked; return (live rows, rejected rows)."""
    if "drop_reason" not in table.column_names:
        _count_by_lang(table, st, "out")
        return table, table.slice(0, 0)
    dropped = pc.is_valid(table.column("drop_reason"))
    rejected = table.filter(dropped)
    for reason, n in zip(*pc.value_counts(rejected.column("drop_reason")).flatten()):
        st.rejected[reason.as_py()] += n.as_py()
    _count_by_lang(rejected, st, "rejected")
    rejected = set_column(rejected, "drop_stage", [stage] * rejected.num_rows, pa.string())
    live = table.filter(pc.invert(dropped)).drop_columns(["drop_reason"])
    _count_by_lang(live, st, "out")
    return live, rejected


def _errors_table(rows: list[pa.Table], stage: str, messages: list[str]) -> pa.Table:
    table = pa.concat_tables(rows, promote_options="default")
    table = set_column(table, "drop_stage", [stage] * table.num_rows, pa.string())
    return set_column(table, "error", messages, pa.string())


def run_step(step: Step, table: pa.Table) -> tuple[pa.Table, pa.Table | None]:
    """Apply a step; on failure isolate the failing rows. Returns (output, quarantined rows or None)."""
    try:
        out = step.apply(table)
        if out.num_rows != table.num_rows:
            raise RuntimeError(f"stage {step.stage_name} returned {out.num_rows} rows for {table.num_rows}: steps mark rows, never remove them")
        return out, None
    except Exception:
        pass  # isolate the failing rows below; a one-row batch ends up quarantined the same way
    good, bad, messages = [], [], []
    for i in range(table.num_rows):
        row = table.slice(i, 1)
        try:
            good.append(step.apply(row))
        except Exception as exc:
            bad.append(row)
            tb = traceback.extract_tb(exc.__traceback__)[-1]
            kind = f"{TRANSIENT}{type(exc).__name__}" if isinstance(exc, Transient) else type(exc).__name__
            messages.append(f"{kind}: {exc} (at {Path(tb.filename).name}:{tb.lineno})")
    out = pa.concat_tables(good, promote_options="default") if good else table.slice(0, 0)
    return out, _errors_table(bad, step.stage_name, messages) if bad else None


@dataclasses.dataclass
class Segment:
    """A run of per-document steps between global stages (dedup). Segment 0 reads the raw input; a later
    one reads the rows the previous segment emitted and starts with its global stage's decisions."""
    index: int
    steps: list[Step]
    entering: GlobalStep | None = None  # applied first: its decisions are bound per shard
    leaving: GlobalStep | None = None  # fingerprints the rows this segment emits

    def suffix(self) -> str:
        return f"--{self.entering.stage_name}" if self.entering else ""


def segments(steps: list[Step]) -> list[Segment]:
    cuts = [i for i, s in enumerate(steps) if isinstance(s, GlobalStep)]
    bounds = [0] + cuts + [len(steps)]
    return [Segment(k, steps[bounds[k]:bounds[k + 1]], steps[bounds[k]] if k else None,  # type: ignore[arg-type]
                    steps[bounds[k + 1]] if k < len(cuts) else None)  # type: ignore[arg-type]
            for k in range(len(bounds) - 1)]


@dataclasses.dataclass(frozen=True)
class ShardTask:
    inp: InputFile
    segment: int
    index: int  # the shard's position among the run's inputs: the high bits of its dedup node ids


def global_dir(out_dir: Path, stage: str) -> Path:
    """Where a global stage keeps fingerprints, decisions and its plan (read again by later runs' ``against``)."""
    return out_dir / "global" / stage


def _intermediate(out_dir: Path, stage: str, shard: str) -> Path:
    return out_dir / "_work" / stage / f"{shard}.parquet"


def _batches(inp: InputFile, read: ReadParams, seg: Segment, out_dir: Path) -> Iterator[pa.Table | readers.Damage]:
    if seg.entering is None:
        yield from readers.read(inp, read)
        return
    row = 0
    for batch in pq.ParquetFile(_intermediate(out_dir, seg.entering.stage_name, inp.shard)).iter_batches(read.batch_size):
        t = pa.Table.from_batches([batch])
        yield t.append_column("_row", pa.array(np.arange(row, row + t.num_rows, dtype=np.uint32)))
        row += t.num_rows


def _sinks(out_dir: Path, shard: str, schema: pa.Schema, seg: Segment) -> ShardSinks:
    name = shard + seg.suffix()  # each segment rejects into its own file; kept rows keep the shard's name
    paths = {s: (out_dir / s / f"{shard if s == 'data' else name}.parquet", sink_schema(schema, s)) for s in SINKS}
    if seg.leaving is not None:
        paths["data"] = (_intermediate(out_dir, seg.leaving.stage_name, shard), paths["data"][1])
        fp = global_dir(out_dir, seg.leaving.stage_name) / "fingerprints" / f"{shard}.parquet"
        paths["fingerprints"] = (fp, pa.schema([pa.field("row", pa.uint32())] + list(seg.leaving.fingerprint_schema)))
    return ShardSinks(paths)


def _quarantine_damage(damage: readers.Damage, inp: InputFile, st: StageStats, sinks: ShardSinks) -> None:
    """An unreadable byte range: one quarantined record says where and why, and its bytes are counted."""
    st.docs_in += 1
    st.errors += 1
    st.count_lang(None, "errors")
    st.edits["corrupt_bytes"] += damage.length
    st.edits["corrupt_ranges"] += 1
    sinks.write("quarantine", pa.table({"source": [inp.path], "shard": [inp.shard], "drop_stage": ["read"], "error": [damage.message]}))


def _read_stage(raw: pa.Table, st: StageStats, sinks: ShardSinks) -> pa.Table:
    """Count the raw records and send the ones the reader already rejected (requests, non-HTML, …) away."""
    st.docs_in += raw.num_rows
    st.bytes_in += _payload(raw)
    if "_repaired" in raw.column_names:  # characters a text reader replaced with U+FFFD (lone surrogates, bad UTF-8)
        fixed = raw.column("_repaired")
        st.edits["chars_repaired"] += int(pc.sum(fixed).as_py() or 0)
        st.edits["docs_repaired"] += int(pc.sum(pc.greater(fixed, 0)).as_py() or 0)
    live, rejected = _split(raw, "read", st)
    sinks.write("rejected", rejected)
    st.docs_out += live.num_rows
    st.bytes_out += _payload(live)
    return live


def _stage(step: Step, st: StageStats, live: pa.Table, sinks: ShardSinks) -> pa.Table:
    """One stage over one batch: run it (isolating rows that raise), count edits, split off what it marked."""
    t0 = time.perf_counter()
    st.docs_in += live.num_rows
    st.bytes_in += _bytes(live)
    out, errors = run_step(step, live)
    if errors is not None:
        st.errors += errors.num_rows
        st.transient += sum(m.startswith(TRANSIENT) for m in errors.column("error").to_pylist())
        _count_by_lang(errors, st, "errors")
        sinks.write("quarantine", errors)
    for f in step.outputs:  # edits inside kept documents: <stage>_lines_removed, <stage>_pii_email_masked, …
        col = step.column(f.name)
        if f.name.startswith(f"{step.name}_") and f.name.endswith(("_removed", "_masked")) and col in out.column_names:
            st.edits[f.name[len(step.name) + 1 :]] += int(pc.sum(out.column(col)).as_py() or 0)
    live, rejected = _split(out, step.stage_name, st)
    sinks.write("rejected", rejected)
    st.docs_out += live.num_rows
    st.bytes_out += _bytes(live)
    st.wall_s += time.perf_counter() - t0
    return live


def process(inp: InputFile, read: ReadParams, seg: Segment, schema: pa.Schema, out_dir: Path, shard_index: int = 0,
            report: Callable[[list[dict]], None] | None = None, every_s: float = 2.0) -> tuple[list[dict], dict[str, str]]:
    """Stream one input through one segment; returns per-stage stats and the files committed. ``report`` gets
    the stats so far every ``every_s`` seconds, for the run's live progress."""
    first = [] if seg.entering else [StageStats("read")]
    stats = first + [StageStats(s.stage_name) for s in seg.steps]
    # the next global stage's fingerprinting runs here; its time is that stage's (it has no documents yet)
    signing = StageStats(seg.leaving.stage_name) if seg.leaving is not None else None
    if seg.entering is not None:
        seg.entering.bind(global_dir(out_dir, seg.entering.stage_name), shard_index)
    sinks = _sinks(out_dir, inp.shard, schema, seg)
    emitted = 0
    reported = time.monotonic()
    try:
        it = _batches(inp, read, seg, out_dir)
        while True:
            t0 = time.perf_counter()
            item = next(it, None)
            if first:
                stats[0].wall_s += time.perf_counter() - t0
            if item is None:
                break
            if isinstance(item, readers.Damage):
                _quarantine_damage(item, inp, stats[0], sinks)
                continue
            live = _read_stage(item, stats[0], sinks) if first else item
            for step, st in zip(seg.steps, stats[len(first):]):
                if live.num_rows == 0:
                    break
                live = _stage(step, st, live, sinks)
            sinks.write("data", live)
            if signing is not None and live.num_rows:
                t0 = time.perf_counter()
                rows = pa.array(np.arange(emitted, emitted + live.num_rows, dtype=np.uint32))
                sinks.write("fingerprints", seg.leaving.fingerprint(live).add_column(0, "row", rows))
                emitted += live.num_rows
                signing.wall_s += time.perf_counter() - t0
            if report is not None and time.monotonic() - reported >= every_s:
                report([s.to_dict() for s in stats])
                reported = time.monotonic()
    except BaseException:
        sinks.abort()
        raise
    files = sinks.commit()
    return [s.to_dict() for s in stats + ([signing] if signing else [])], files


class ShardWorker:
    """Builds a recipe's steps once (models loaded in ``setup``) and runs shard tasks through them; hosted in a
    long-lived Ray actor by ``corpus.ray_exec.run_shards``, so a model is loaded once per worker."""

    def __init__(self, recipe: Recipe, schema: pa.Schema, files: dict[str, str] | None = None,
                 driver_root: str | None = None) -> None:
        """``files``: the model and list files the driver checked (path -> sha256), under ``driver_root`` (its
        checkout): found at this node's own checkout when the node keeps the project elsewhere."""
        self.recipe, self.schema = recipe, schema
        steps = recipe.build()
        elsewhere = driver_root is not None and any(not Path(f).is_file() for f in files or {})
        for step in steps:
            if elsewhere:  # only then: the common cluster keeps one path everywhere, and nothing is re-read
                step.files(localizer(files or {}, driver_root))
            step.setup()
        self.segments = segments(steps)

    def process(self, task: ShardTask, store: RunStore, report: Callable[[list[dict]], None] | None = None) -> tuple:
        """Run the task in this node's copy of the run folder. For a run on object storage, what other nodes wrote
        (the previous segment's rows, the global stage's decisions) is fetched first, and every file written is
        published before the task returns, so the driver's commit record, written after, never names a missing
        object. Returns the files as paths relative to the run folder, and what the commit record keeps of them: each
        file's size and sha256, and the kept documents' characters by language and domain (for the dataset card,
        which so never reads the corpus again)."""
        seg, root = self.segments[task.segment], store.root
        if store.remote and seg.entering is not None:
            store.fetch(_intermediate(root, seg.entering.stage_name, task.inp.shard))
            fetch_shared(store, seg.entering.stage_name)
        stats, files = process(task.inp, self.recipe.read, seg, self.schema, root, task.index, report)
        rel = {s: store.rel(p) for s, p in files.items()}
        record: dict = {"digests": {s: [Path(p).stat().st_size, sha256_file(p)] for s, p in files.items()}}
        if rel.get("data", "").startswith("data/"):
            by_lang, by_domain, _ = mix_of([Path(files["data"])])
            record["mix"] = {"lang": dict(by_lang), "domain": dict(by_domain)}
        published: list[str] = []
        try:
            for path in files.values():
                store.publish(path)
                published.append(path)
        except BaseException:  # no object without a commit record: what did go up comes down again
            for path in published:
                store.remove(path)
            raise
        if store.remote:  # this node's copies are not read again (the record has their digests and mix)
            for path in [*files.values(), *([_intermediate(root, seg.entering.stage_name, task.inp.shard)] if seg.entering else [])]:
                Path(path).unlink(missing_ok=True)
        return task, stats, rel, record


def fetch_shared(store: RunStore, stage: str) -> None:
    """What every shard of a global stage reads (its decisions and other plan outputs), not the per-shard
    fingerprints the plan was made from."""
    work = global_dir(store.root, stage)
    keys = runstore.listing(store.loc(work), store.options)
    for sub in sorted({k.split("/", 1)[0] for k in keys if "/" in k} - {"fingerprints"}):
        store.fetch_dir(work / sub)
    for name in sorted(k for k in keys if "/" not in k):
        store.fetch(work / name)


def marker_path(out_dir: Path, shard: str) -> Path:
    return out_dir / MARKERS / f"{shard}.json"


def write_marker(out_dir: Path, shard: str, payload: dict, store: RunStore | None = None) -> None:
    """The shard's commit record; written last, so a shard with a marker is complete."""
    p = marker_path(out_dir, shard)
    p.parent.mkdir(parents=True, exist_ok=True)
    rundir.write_json(p, payload)
    if store is not None:
        store.publish(p)


def forget(out_dir: Path, shard: str, store: RunStore | None = None) -> None:
    """Un-commit a shard before it is redone: its marker first (so it no longer counts as done), then the files it
    committed inside the run folder."""
    p = marker_path(out_dir, shard)
    try:
        files = json.loads(p.read_text()).get("files", {}).values()
    except (OSError, ValueError):
        return
    store.remove(p) if store is not None else p.unlink(missing_ok=True)
    for f in files:
        path = out_dir / f  # relative in a commit record (absolute in those of older versions)
        if path.resolve().is_relative_to(out_dir.resolve()):
            store.remove(path) if store is not None else path.unlink(missing_ok=True)


def read_marker(out_dir: Path, shard: str, fingerprint: str, present: dict[str, int] | None = None) -> dict | None:
    """The shard's commit record if it was made under ``fingerprint`` and its files are all there: on disk, or
    among ``present`` (key -> size of a run on object storage) with the size its worker recorded."""
    p = marker_path(out_dir, shard)
    try:
        payload = json.loads(p.read_text())
    except (OSError, ValueError):
        return None
    sizes = {sink: d[0] for sink, d in payload.get("digests", {}).items()}

    def there(sink: str, f: str) -> bool:
        if present is None:
            return (out_dir / f).exists()
        return f in present and present[f] == sizes.get(sink, present[f])

    if payload.get("fingerprint") != fingerprint or not all(there(s, f) for s, f in payload.get("files", {}).items()):
        return None
    return payload
