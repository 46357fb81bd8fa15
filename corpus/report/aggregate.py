"""Everything a curator's report shows, aggregated from a run's Parquet in one streaming pass per sink.

Counts are exact (from stats.json and full column scans); distributions come from a deterministic thinned
sample of at most ``SAMPLE_CAP`` values per signal and group, so memory stays flat however large the run.
The full scans read small columns only: ``text`` is turned into its length as each batch arrives and dropped,
and batches are pooled into chunks of at least ``BATCH`` rows so that the per-chunk work (casts, group-bys,
value counts) is paid a few times per million rows rather than once per file. Sample documents are chosen
from those small columns first (their row numbers), and only their rows' text is read back, from their files.

A large run's report can take minutes, so its long phases (the scans of data/ and rejected/, the samples, the human
review's curves) report their progress through ``corpus.progress.CountProgress``, as ``corpus pack`` does: files
(or steps, or curves) done of their total, rows read and an ETA; a line per minute in a log, nothing when quiet.
The display only reads counts: the report is the same with it or without.
"""

from __future__ import annotations

import bisect
import dataclasses
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from corpus.progress import CountProgress
from corpus.stats import load_stats

SAMPLE_CAP = 20_000
N_SAMPLES = 10  # dropped documents shown per reason (collect(n_samples=...)), each beside a kept one of its language and length
POOL_CAP = 4_000  # kept documents per language held as candidates for the side-by-side view
LENGTH_EDGES = np.logspace(0, 7, 57)  # 1 character to 10M, 8 bins per decade: exact counts, any run size
SNIPPET = 1200
BATCH = 64 * 1024
FILE_GROUP = 256  # files per dataset scanned at once (see Sink.batches)
SAMPLE_BATCH = 4096  # the batches the kept side of the samples is looked for in (which kept pages are shown depends on them)
DECONT = ["id", "url", "decont_benchmark", "decont_item", "decont_overlap", "decont_span"]


@dataclasses.dataclass
class Display:
    """Where and how often the report's phases show their progress (``corpus.progress``: a redrawn line on a
    terminal, a plain line every ``interval`` seconds elsewhere, nothing when ``quiet``)."""

    quiet: bool = False
    interval: float | None = None
    stream: TextIO | None = None

    def counter(self, phase: str, units: list[str] | dict[str, int], unit_name: str) -> CountProgress:
        return CountProgress(f"report: {phase}", units, unit_name, stream=self.stream, interval=self.interval, quiet=self.quiet)


def _sizes(files: list[str]) -> dict[str, int]:
    """File -> bytes: a scan's ETA weighs its files by size."""
    return {f: max(1, Path(f).stat().st_size) for f in files}


class Thinned:
    """Every k-th value of a stream, k doubling whenever more than ``cap`` are held: a deterministic,
    evenly spread sample of bounded size. Which values are held depends only on the stream's order, not on how
    it is cut into pieces (value i is held iff k divides i, and k ends as the least power of two that fits)."""

    def __init__(self, cap: int = SAMPLE_CAP) -> None:
        self.cap, self.step, self.seen, self.parts, self.held = cap, 1, 0, [], 0
        self.n = 0
        self.total = 0.0

    def add(self, values: np.ndarray, batch: np.ndarray | None = None) -> None:
        """``batch`` numbers the scan batch each value came in: the sum is taken per batch and added in batch order,
        so the mean is the same float however the batches were pooled into chunks."""
        keep = ~np.isnan(values)
        values = values[keep]
        self.n += len(values)
        if len(values):
            cuts = np.flatnonzero(np.diff(batch[keep])) + 1 if batch is not None else []
            for part in np.split(values, cuts):
                self.total += float(part.sum())
        first = (-self.seen) % self.step
        taken = values[first :: self.step]
        self.parts.append(taken)
        self.held += len(taken)
        self.seen += len(values)
        while self.held > self.cap:
            merged = np.concatenate(self.parts)
            self.parts, self.step = [merged[::2]], self.step * 2
            self.held = len(self.parts[0])

    def values(self) -> np.ndarray:
        return np.concatenate(self.parts) if self.parts else np.empty(0)


class Pool:
    """Every k-th (id, length) of a language's kept documents, k doubling past ``cap``: evenly spread candidates to
    put beside a dropped document of similar length, in bounded memory (held as :class:`Thinned` holds values)."""

    def __init__(self, cap: int = POOL_CAP) -> None:
        self.cap, self.step, self.seen = cap, 1, 0
        self.ids: list[str] = []
        self.lens: list[int] = []

    def add(self, ids: pa.Array, lens: np.ndarray) -> None:
        first = (-self.seen) % self.step
        take = np.arange(first, len(lens), self.step)
        self.ids += ids.take(pa.array(take, pa.int64())).to_pylist()
        self.lens += lens[take].tolist()
        self.seen += len(lens)
        while len(self.ids) > self.cap:
            self.ids, self.lens, self.step = self.ids[::2], self.lens[::2], self.step * 2

    def closest(self, n: int, used: set[str]) -> str | None:
        """The candidate nearest to ``n`` characters on a log scale, not already shown in this block."""
        if not self.ids:
            return None
        d = np.abs(np.log1p(np.asarray(self.lens, np.float64)) - np.log1p(n))
        for k in np.argsort(d, kind="stable"):
            if self.ids[k] not in used:
                return self.ids[k]
        return None


@dataclasses.dataclass
class Signal:
    stage: str
    column: str
    thresholds: dict[str, dict[str, float]]  # language ("*" = default) -> {param: value}
    kept: Thinned = dataclasses.field(default_factory=Thinned)
    rejected: Thinned = dataclasses.field(default_factory=Thinned)  # rows this signal's stage dropped


def _param(params: Any, expr: str) -> float | None:
    m = re.fullmatch(r"(\w+)(?:\[(\d+)\]|\.(\w+))?", expr)  # "x", "x[0]" (list item) or "x.key" (dict item)
    value = getattr(params, m.group(1), None)
    if m.group(2) is not None and isinstance(value, list):
        value = value[int(m.group(2))] if int(m.group(2)) < len(value) else None
    if m.group(3) is not None:
        value = value.get(m.group(3)) if isinstance(value, dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def signals_of(manifest: dict) -> list[Signal]:
    """The numeric signal columns of the run's recipe, with the thresholds the recipe set on each."""
    from corpus.recipe import parse

    from corpus.errors import UserError

    try:
        steps = parse(manifest["recipe"], manifest.get("recipe_path") or "recipe").build()
    except UserError:  # a run of an older recipe this code no longer reads: counts and samples, no thresholds
        return []
    out = []
    for step in steps:
        langs = ["*"] + sorted(getattr(step.params, "overrides", {}) or {})
        for f in step.outputs:
            if not (pa.types.is_integer(f.type) or pa.types.is_floating(f.type)) or f.name.endswith("_removed"):
                continue
            th: dict[str, dict[str, float]] = {}
            for lang in langs:
                params = step.params.for_lang(lang) if lang != "*" else step.params
                values = {e: _param(params, e) for e in step.thresholds.get(f.name, ())}
                values = {k: v for k, v in values.items() if v is not None}
                if values and (lang == "*" or values != th.get("*")):
                    th[lang] = values
            out.append(Signal(step.stage_name, f.name, th))
    return out


class Sink:
    """One sink's Parquet files (data/, rejected/, quarantine/), scanned in file order with the first file's schema
    (as one dataset of them all would be). Every scan numbers the rows (the same numbers whatever the columns or
    batch size) and notes where each file starts, so that a few rows chosen from small columns can be read back in
    full, from their files' row groups only."""

    def __init__(self, out: Path, name: str) -> None:
        self.files = sorted(str(p) for p in (out / name).glob("*.parquet"))
        self.schema = ds.dataset(self.files[0], format="parquet").schema if self.files else None
        self.names = set(self.schema.names) if self.schema is not None else set()
        self.first_row: dict[str, int] = {}  # file -> number of its first row, in file order, from every scan so far

    def batches(self, columns: list[str], batch_size: int,
                done: Callable[[str, int], None] | None = None) -> Iterator[tuple[int, pa.RecordBatch]]:
        """(number of the batch's first row, batch) in file order. A dataset keeps every scanned file's metadata
        (about 0.3 MB a file with this many columns: 1.6 GB for 6,000 files), so files are scanned FILE_GROUP at a time.
        ``done(file, rows)`` is called as the scan leaves each file (every file of a group, empty ones too, by the
        group's end), for the progress display."""
        row = 0
        for g in range(0, len(self.files), FILE_GROUP):
            paths = self.files[g : g + FILE_GROUP]
            group = ds.dataset(paths, schema=self.schema, format="parquet")
            current, n, seen = None, 0, set()
            for tagged in group.scanner(columns=columns, batch_size=batch_size, use_threads=False).scan_batches():
                path = tagged.fragment.path
                self.first_row.setdefault(path, row)  # a scan stopped early keeps what the others found
                if path != current:
                    if done is not None and current is not None:
                        done(current, n)
                    current, n = path, 0
                    seen.add(path)
                n += tagged.record_batch.num_rows
                yield row, tagged.record_batch
                row += tagged.record_batch.num_rows
            if done is not None:
                if current is not None:
                    done(current, n)
                for path in paths:  # files that gave no batch (no rows)
                    if path not in seen:
                        done(path, 0)

    def chunks(self, columns: list[str], done: Callable[[str, int], None] | None = None) -> Iterator[pa.Table]:
        """The columns in chunks of at least ``BATCH`` rows, ``text`` replaced by its length in characters (``_chars``,
        null where the text is), with each row's number (``_row``) and the number of the scan batch it came in
        (``_batch``, for the sums and first-seen orders that must not depend on the chunking). ``done``: as for
        :meth:`batches`."""
        pending: list[pa.RecordBatch] = []
        held, schema = 0, None
        for k, (row, b) in enumerate(self.batches(columns, BATCH, done)):
            arrays = [pc.utf8_length(c) if n == "text" else c for n, c in zip(b.schema.names, b.columns)]
            arrays += [pa.array(np.arange(row, row + b.num_rows, dtype=np.int64)), pa.array(np.full(b.num_rows, k, np.int32))]
            if schema is None:  # one schema object for every batch: concatenating then costs no schema comparisons
                names = ["_chars" if n == "text" else n for n in b.schema.names] + ["_row", "_batch"]
                schema = pa.schema([pa.field(n, a.type) for n, a in zip(names, arrays)])
            pending.append(pa.RecordBatch.from_arrays(arrays, schema=schema))
            held += b.num_rows
            if held >= BATCH:
                yield pa.Table.from_batches([pa.concat_batches(pending)])
                pending, held = [], 0
        if pending:
            yield pa.Table.from_batches([pa.concat_batches(pending)])

    def fetch(self, rows: Iterable[int], columns: list[str]) -> dict[int, dict]:
        """Rows by number (as the scans numbered them) as dicts of ``columns`` (None where a file lacks one)."""
        paths, starts = list(self.first_row), list(self.first_row.values())
        by_file: dict[int, list[int]] = defaultdict(list)
        for r in sorted(set(rows)):
            k = bisect.bisect_right(starts, r) - 1
            by_file[k].append(r - starts[k])
        out: dict[int, dict] = {}
        for k, offsets in by_file.items():
            pf = pq.ParquetFile(paths[k])
            md = pf.metadata
            sizes = [md.row_group(g).num_rows for g in range(md.num_row_groups)]
            ends = np.cumsum(sizes)
            group_of = {o: int(np.searchsorted(ends, o, "right")) for o in offsets}
            groups = sorted(set(group_of.values()))
            read_at = dict(zip(groups, np.cumsum([0] + [sizes[g] for g in groups[:-1]]).tolist()))  # a group's first row in t
            have = set(pf.schema_arrow.names)
            cols = [c for c in columns if c in have]
            t = pf.read_row_groups(groups, columns=cols)
            idx = [read_at[g] + o - int(ends[g] - sizes[g]) for o, g in group_of.items()]
            for o, rec in zip(offsets, t.take(pa.array(idx, pa.int64())).to_pylist()):
                out[starts[k] + o] = {c: rec.get(c) for c in columns}
        return out


class Picker:
    """The first ``n`` rows (in file order) of each (stage, reason): the dropped documents shown as samples, chosen
    from the drop_stage and drop_reason columns while the full scan passes; their text is read afterwards."""

    def __init__(self, wanted: set[tuple[str, str]], n: int) -> None:
        self.n = n
        self.rows: dict[tuple[str, str], list[int]] = {k: [] for k in sorted(wanted)}

    def see(self, chunk: pa.Table) -> None:
        open_keys = {k for k, v in self.rows.items() if len(v) < self.n}
        if not open_keys or "drop_reason" not in chunk.schema.names:
            return
        stage, reason = chunk.column("drop_stage"), chunk.column("drop_reason")
        pairs = pa.table({"s": stage, "r": reason}).group_by(["s", "r"], use_threads=False).aggregate([])
        for key in sorted(open_keys & set(zip(pairs.column("s").to_pylist(), pairs.column("r").to_pylist()))):
            mask = pc.fill_null(pc.and_(pc.equal(stage, key[0]), pc.equal(reason, key[1])), False)
            hits = chunk.column("_row").filter(mask).slice(0, self.n - len(self.rows[key]))
            self.rows[key] += hits.to_pylist()


def _col(t: pa.Table, name: str) -> pa.Array:
    return t.column(name).combine_chunks()


def _num(t: pa.Table, name: str) -> np.ndarray:
    return pc.cast(_col(t, name), pa.float64()).to_numpy(zero_copy_only=False)


def _batches_of(t: pa.Table) -> np.ndarray:
    return _col(t, "_batch").to_numpy()


def _scan(sink: Sink, columns: list[str], display: Display) -> Iterator[pa.Table]:
    """A full scan of a sink's ``columns`` in chunks (:meth:`Sink.chunks`), its progress shown by file."""
    progress = display.counter(f"{Path(sink.files[0]).parent.name}/", _sizes(sink.files), "files")
    yield from sink.chunks(columns, lambda f, n: progress.commit(f, {"rows": n}))
    progress.close()


def _scan_kept(data: Sink, signals: list[Signal], pools: dict[str, Pool], lengths: np.ndarray, decont: list[int],
               display: Display | None = None) -> dict:
    langs, domains, tags = Counter(), Counter(), Counter()
    chars = Counter()
    if not data.files:
        return {"languages": {}, "domains": {}, "domain_tags": {}, "chars_by_language": {}, "all_domains": {}}
    names = data.names
    cols = [s.column for s in signals if s.column in names] + [c for c in ("id", "lang", "domain", "domain_tag", "text") if c in names]
    if "decont_benchmark" in names:
        cols.append("decont_benchmark")
    for chunk in _scan(data, list(dict.fromkeys(cols)), display or Display(quiet=True)):
        if "lang" in names:
            lang = _col(chunk, "lang")
            langs.update({r["values"]: r["counts"] for r in pc.value_counts(lang).to_pylist()})
            if "text" in names:
                lens = _col(chunk, "_chars")
                for r in pa.table({"lang": lang, "n": lens}).group_by("lang", use_threads=False).aggregate([("n", "sum")]).to_pylist():
                    chars[r["lang"]] += r["n_sum"] or 0
                n = pc.fill_null(lens, 0).to_numpy(zero_copy_only=False)
                lengths += np.histogram(np.maximum(n, 1), LENGTH_EDGES)[0]
                if "id" in names:  # pools per language, unnamed ("" or null) as "?"
                    key = pc.fill_null(lang, "")
                    enc = pc.if_else(pc.equal(key, ""), "?", key).dictionary_encode()
                    codes, ids = enc.indices.to_numpy(zero_copy_only=False), _col(chunk, "id")
                    for k, lg in enumerate(enc.dictionary.to_pylist()):
                        at = np.flatnonzero(codes == k)
                        pools.setdefault(lg, Pool()).add(ids.take(pa.array(at)), n[at])
        for col, counter in (("domain", domains), ("domain_tag", tags)):
            if col in names:
                counter.update({r["values"]: r["counts"] for r in pc.value_counts(_col(chunk, col)).to_pylist()})
        batch = _batches_of(chunk)
        for s in signals:
            if s.column in names:
                s.kept.add(_num(chunk, s.column), batch)
        if "decont_benchmark" in names:  # the rows that quote a benchmark, read in full afterwards
            decont += chunk.column("_row").filter(pc.is_valid(chunk.column("decont_benchmark"))).to_pylist()
    return {"languages": dict(langs.most_common()), "domains": dict(domains.most_common(25)),
            "domain_tags": dict(tags.most_common()), "chars_by_language": dict(chars.most_common()), "all_domains": dict(domains)}


class DomainReasons:
    """(domain, reason) counts of dropped documents, kept in the order each pair was first met by a scan that went
    batch by batch, taking a batch's rows with a domain before those whose domain comes from the URL: the order
    decides ties in a domain's top reasons, so it must not change with how batches are pooled."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()
        self.first: dict[tuple, tuple[int, int, int]] = {}

    def _note(self, key: tuple, n: int, first: tuple[int, int, int]) -> None:
        self.counts[key] += n
        self.first[key] = min(self.first.get(key, first), first)

    def see(self, chunk: pa.Table, names: set[str]) -> None:
        dom, reason = _col(chunk, "domain"), _col(chunk, "drop_reason")
        where = {"row": _col(chunk, "_row"), "b": _col(chunk, "_batch")}
        agg = [("row", "min"), ("b", "min"), ("row", "count")]
        t = pa.table({"d": dom, "r": reason, **where}).filter(pc.is_valid(dom))
        for g in t.group_by(["d", "r"], use_threads=False).aggregate(agg).to_pylist():
            self._note((g["d"], g["r"]), g["row_count"], (g["b_min"], 0, g["row_min"]))
        if "url" in names:  # dropped before `format` filled the domain (extract, langid): take it from the URL
            url = _col(chunk, "url")
            ok = pc.and_(pc.and_(pc.is_null(dom), pc.not_equal(url, "")), pc.and_(pc.not_equal(reason, ""), pc.invert(pc.starts_with(reason, "read."))))
            rest = pa.table({"u": url, "r": reason, **where}).filter(pc.fill_null(ok, False))
            for g in rest.group_by(["u", "r"], use_threads=False).aggregate(agg).to_pylist():
                d = (urlsplit(g["u"]).hostname or "").removeprefix("www.")
                if d:
                    self._note((d, g["r"]), g["row_count"], (g["b_min"], 1, g["row_min"]))

    def counter(self) -> Counter:
        return Counter({k: self.counts[k] for k in sorted(self.counts, key=self.first.__getitem__)})


def _scan_rejected(rejected: Sink, signals: list[Signal], lengths: np.ndarray, domain_reasons: DomainReasons,
                   picker: Picker, decont: list[int], display: Display | None = None) -> None:
    """Signal values of each stage's drops, the lengths of dropped documents that have text, (domain, reason)
    counts, the rows to show as samples and the passages that quote a benchmark; records that never became
    documents (``read.*``) carry no domain and no text and are left out of the domain and length counts."""
    if not rejected.files:
        return
    names = rejected.names
    by_stage: dict[str, list[Signal]] = {}
    for s in signals:
        if s.column in names:
            by_stage.setdefault(s.stage, []).append(s)
    extra = [c for c in ("text", "domain", "url", "drop_reason") if c in names]
    cols = sorted({s.column for group in by_stage.values() for s in group} | set(extra) | {"drop_stage"})
    if "decont_benchmark" in names:
        cols.append("decont_benchmark")
    for chunk in _scan(rejected, cols, display or Display(quiet=True)):
        if "text" in names:
            n = pc.fill_null(_col(chunk, "_chars"), 0).to_numpy(zero_copy_only=False)
            lengths += np.histogram(n[n > 0], LENGTH_EDGES)[0]
        if "domain" in names and "drop_reason" in names:
            domain_reasons.see(chunk, names)
        stage_col = _col(chunk, "drop_stage")
        for stage, group in by_stage.items():
            mask = pc.fill_null(pc.equal(stage_col, stage), False)
            if not pc.any(mask).as_py():
                continue
            sub = chunk.filter(mask)
            batch = _batches_of(sub)
            for s in group:
                s.rejected.add(_num(sub, s.column), batch)
        picker.see(chunk)
        if "decont_benchmark" in names:
            decont += chunk.column("_row").filter(pc.is_valid(chunk.column("decont_benchmark"))).to_pylist()


def _snippet(text: str | None) -> str:
    text = text or ""
    return text[:SNIPPET] + (" …" if len(text) > SNIPPET else "")


def _signal_values(row: dict, stage: str, signals: list[Signal]) -> list[dict]:
    """The dropping stage's signals of one document, beside the recipe's thresholds for its language."""
    out = []
    for sig in signals:
        if sig.stage != stage or row.get(sig.column) is None:
            continue
        v = float(row[sig.column])
        if np.isnan(v):
            continue
        th = sig.thresholds.get(row.get("lang") or "", sig.thresholds.get("*", {}))
        out.append({"column": sig.column, "value": round(v, 6), "thresholds": th})
    return out


SAMPLE_STEPS = ["dropped pages", "kept pages", "keepers dropped later", "quarantine"]


def _samples(sinks: dict[str, Sink], stats: dict, picker: Picker, signals: list[Signal] | None = None,
             pools: dict[str, Pool] | None = None, display: Display | None = None) -> dict:
    """Up to ``n_samples`` dropped documents per (stage, reason) with their stage's signal values, each beside a kept
    document of the same language and the nearest length (a different one for each sample of a reason, so the
    kept side is not one page over and over); quarantined ones per stage; a few kept ones per language.
    Rows are chosen from small columns (the picker during the full scan, ids and languages here), then read in full;
    the progress display counts the rows each of ``SAMPLE_STEPS`` read."""
    signals, pools = signals or [], pools or {}
    progress = (display or Display(quiet=True)).counter("samples", SAMPLE_STEPS, "steps")
    read = 0
    n_samples = picker.n
    found: dict[tuple[str, str], list[dict]] = {k: [] for k in picker.rows}
    rejected = sinks["rejected"]
    if rejected.files and found:
        names = rejected.names
        cols = [c for c in ("id", "url", "lang", "title", "text", "extract_visible", "drop_stage", "drop_reason", "dup_of") if c in names]
        cols += sorted({sig.column for sig in signals if sig.column in names} - set(cols))
        full = rejected.fetch((r for rows in picker.rows.values() for r in rows), cols)
        read = len(full)
        for key, rows in picker.rows.items():
            for r in rows:
                row = full[r]
                sample = {k: row.get(k) for k in ("id", "url", "lang", "title", "drop_stage", "drop_reason", "dup_of")}
                sample["chars"] = len(row.get("text") or "")
                sample["text"] = _snippet(row.get("text"))
                sample["extract_visible"] = _snippet(row.get("extract_visible"))
                sample["signals"] = _signal_values(row, key[0], signals)
                found[key].append(sample)
    progress.commit(SAMPLE_STEPS[0], {"rows": read})
    read = 0
    # a kept document beside each dropped one: same language, nearest length, none twice in a reason's block
    beside: dict[str, str] = {}
    for key, rows in found.items():
        used: set[str] = set()
        for r in rows:
            pool = pools.get(r.get("lang") or "?")
            if pool is None or r.get("dup_of"):
                continue
            pick = pool.closest(r["chars"], used)
            if pick is not None:
                used.add(pick)
                r["beside"] = pick
                beside[pick] = ""
    keepers = {r["dup_of"] for rows in found.values() for r in rows if r.get("dup_of")}
    kept_by_lang: dict[str, list[dict]] = {}
    keeper_text: dict[str, str] = {}
    kept_rows: dict[str, dict] = {}
    data = sinks["data"]
    if data.files:
        # which rows: the keepers and kept pages asked for, and the first three pages of each language met in the
        # first 64 rows of a batch, found from ids and languages alone; then the text of those rows only
        cols = [c for c in ("id", "url", "lang", "title", "text") if c in data.names]
        small = [c for c in ("id", "lang") if c in data.names]
        wanted_ids = pa.array(sorted(keepers | set(beside)), pa.string())
        keeper_at: dict[str, int] = {}
        beside_at: dict[str, int] = {}
        by_lang: dict[str, list[tuple[str, int]]] = {}
        for start, batch in data.batches(small, SAMPLE_BATCH):
            read += batch.num_rows
            hits = pc.indices_nonzero(pc.fill_null(pc.is_in(batch.column("id"), wanted_ids), False)).to_numpy()
            at = hits.tolist()
            if "lang" in batch.schema.names and not (by_lang and all(len(v) >= 3 for v in by_lang.values())):
                at += range(min(64, batch.num_rows))
            ids = batch.column("id").take(pa.array(at, pa.int64())).to_pylist()
            langs = batch.column("lang").take(pa.array(at, pa.int64())).to_pylist() if "lang" in batch.schema.names else [None] * len(at)
            for i, row_id, lang in zip(at, ids, langs):
                if row_id in keepers:
                    keeper_at[row_id] = start + i
                if row_id in beside:
                    beside_at[row_id] = start + i
                lst = by_lang.setdefault(lang or "?", [])
                if len(lst) < 3 and all(x != row_id for x, _ in lst):
                    lst.append((row_id, start + i))
            if (len(keeper_at) == len(keepers) and len(beside_at) == len(beside) and by_lang
                    and all(len(v) >= 3 for v in by_lang.values())):
                break
        full = data.fetch([*keeper_at.values(), *beside_at.values(), *(r for v in by_lang.values() for _, r in v)], cols)
        read += len(full)
        for row_id, r in keeper_at.items():
            keeper_text[row_id] = _snippet(full[r].get("text"))
        for row_id, r in beside_at.items():
            kept_rows[row_id] = dict(full[r], chars=len(full[r].get("text") or ""), text=_snippet(full[r].get("text")))
        kept_by_lang = {lang: [dict(full[r], text=_snippet(full[r].get("text"))) for _, r in v] for lang, v in by_lang.items()}
    progress.commit(SAMPLE_STEPS[1], {"rows": read})
    read = 0
    keeper_dropped: dict[str, str] = {}
    missing = keepers - set(keeper_text)
    if missing and rejected.files:  # a cluster's survivor can still be dropped by a later stage (safety, quality)
        ids = pa.array(sorted(missing), pa.string())
        at = []
        for start, batch in rejected.batches(["id"], BATCH):
            read += batch.num_rows
            at += (start + pc.indices_nonzero(pc.fill_null(pc.is_in(batch.column("id"), ids), False)).to_numpy()).tolist()
        for _, row in sorted(rejected.fetch(at, ["id", "drop_reason", "text"]).items()):
            keeper_text[row["id"]], keeper_dropped[row["id"]] = _snippet(row.get("text")), row["drop_reason"]
    progress.commit(SAMPLE_STEPS[2], {"rows": read})
    for rows in found.values():
        for r in rows:
            if r.get("dup_of"):
                r["dup_of_text"] = keeper_text.get(r["dup_of"])
                r["dup_of_dropped"] = keeper_dropped.get(r["dup_of"])
            if r.get("beside"):
                r["beside"] = kept_rows.get(r["beside"])
    quarantine = []
    q = sinks["quarantine"]
    if q.files:
        cols = [c for c in ("id", "url", "source", "drop_stage", "error") if c in q.names]
        quarantine = ds.dataset(q.files, format="parquet").head(20, columns=cols).to_pylist()
    progress.commit(SAMPLE_STEPS[3], {"rows": len(quarantine)})
    progress.close()
    return {"rejected": [{"stage": k[0], "reason": k[1], "docs": v} for k, v in sorted(found.items())],
            "kept": kept_by_lang, "quarantine": quarantine, "per_reason": n_samples}


def _domains(mix: dict, domain_reasons: Counter, n: int = 25) -> list[dict]:
    """The top domains by documents in (kept + dropped after they became documents): kept, and why the rest fell."""
    kept = mix.pop("all_domains", {})
    total = Counter(kept)
    why: dict[str, Counter] = {}
    for (d, r), c in domain_reasons.items():
        if r and r.startswith("read."):
            continue
        total[d] += c
        why.setdefault(d, Counter())[r] += c
    return [{"domain": d, "in": c, "kept": kept.get(d, 0), "reasons": dict(why.get(d, Counter()).most_common(4))}
            for d, c in sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def _histogram(sig: Signal, bins: int = 40) -> dict:
    k, r = sig.kept.values(), sig.rejected.values()
    both = np.concatenate([k, r])
    if not len(both):
        return {}
    lo, hi = np.quantile(both, [0.005, 0.995])
    for th in sig.thresholds.values():
        for v in th.values():
            lo, hi = min(lo, v), max(hi, v)
    if hi <= lo:
        hi = lo + 1
    edges = np.linspace(lo, hi, bins + 1)
    clip = lambda a: np.clip(a, lo, hi)  # noqa: E731 - values outside the shown range fall in the end bins
    return {"edges": edges.round(6).tolist(),
            "kept": np.histogram(clip(k), edges)[0].tolist(), "rejected": np.histogram(clip(r), edges)[0].tolist()}


def _main_languages(stages: list[dict], n: int = 4) -> list[str]:
    """The languages with most documents leaving any stage (zh and en first in a WanJuan run)."""
    totals: dict[str, int] = {}
    for s in stages:
        for lang, c in s.get("by_lang", {}).items():
            totals[lang] = totals.get(lang, 0) + c.get("out", 0)
    return sorted(totals, key=lambda k: (-totals[k], k))[:n]


def collect(out_dir: str | Path, n_samples: int = N_SAMPLES, display: Display | None = None) -> dict:
    """The report's aggregates (also written as report.json); ``display``: where its phases show their progress
    (none by default)."""
    display = display or Display(quiet=True)
    out = Path(out_dir)
    stats = load_stats(str(out))
    manifest = json.loads((out / "manifest.json").read_text())
    signals = signals_of(manifest)
    sinks = {name: Sink(out, name) for name in ("data", "rejected", "quarantine")}
    pools: dict[str, Pool] = {}
    kept_len, rej_len = np.zeros(len(LENGTH_EDGES) - 1, np.int64), np.zeros(len(LENGTH_EDGES) - 1, np.int64)
    domain_reasons = DomainReasons()
    picker = Picker({(s["name"], r) for s in stats["stages"] for r in s["rejected"]}, n_samples)
    decont_kept: list[int] = []
    decont_rejected: list[int] = []
    mix = _scan_kept(sinks["data"], signals, pools, kept_len, decont_kept, display)
    _scan_rejected(sinks["rejected"], signals, rej_len, domain_reasons, picker, decont_rejected, display)
    used = np.flatnonzero(kept_len + rej_len)
    lengths = ({"edges": LENGTH_EDGES[used[0]: used[-1] + 2].round(2).tolist(), "kept": kept_len[used[0]: used[-1] + 1].tolist(),
                "rejected": rej_len[used[0]: used[-1] + 1].tolist()} if len(used) else {})
    domains = _domains(mix, domain_reasons.counter())
    dists = []
    for s in signals:
        if not s.kept.n and not s.rejected.n:
            continue
        kv, rv = s.kept.values(), s.rejected.values()
        dists.append({
            "stage": s.stage, "column": s.column, "thresholds": s.thresholds,
            "kept": {"n": s.kept.n, "mean": s.kept.total / s.kept.n if s.kept.n else None,
                     "quantiles": np.quantile(kv, [0.05, 0.25, 0.5, 0.75, 0.95]).round(6).tolist() if len(kv) else []},
            "rejected": {"n": s.rejected.n, "mean": s.rejected.total / s.rejected.n if s.rejected.n else None},
            "histogram": _histogram(s), "sampled": {"kept": len(kv), "rejected": len(rv)},
        })
    stages = stats["stages"]
    samples = _samples(sinks, stats, picker, signals, pools, display)
    review = _review(out, display)
    looked = any("decont_benchmark" in sinks[k].names for k in ("data", "rejected"))
    return {
        "pipeline": stats["pipeline"], "dir": str(out.resolve()), "recipe": manifest["recipe"],
        "recipe_path": manifest.get("recipe_path"), "started_at": manifest.get("started_at"), "wall_s": manifest.get("wall_s"),
        "inputs": len(manifest.get("inputs", [])), "versions": manifest.get("versions", {}),
        "totals": {k: stats[k] for k in ("input_records", "kept", "rejected", "quarantined")},
        "failed_shards": stats.get("failed_shards", []),
        "funnel": [{k: s[k] for k in ("name", "docs_in", "docs_out", "errors", "bytes_in", "bytes_out", "wall_s")}
                   | {"rejected": sum(s["rejected"].values()), "edits": s.get("edits", {})} for s in stages],
        "reasons": {s["name"]: s["rejected"] for s in stages if s["rejected"]},
        "by_lang": [{"name": s["name"], "langs": s.get("by_lang", {})} for s in stages],
        "languages_shown": _main_languages(stages),
        "errors": {s["name"]: s["errors"] for s in stages if s["errors"]},
        "mix": mix, "global": stats.get("global", {}),
        "safety": {s["name"]: s for s in stages if s["name"].startswith("safety")},
        "distributions": dists,
        "score_columns": [s.column for s in signals if s.column.endswith("_score")],
        "samples": samples,
        "lengths": lengths, "domain_table": domains, "review": review,
        "decontamination": _decontamination(out, [dict(r, kept=True) for r in _rows(sinks["data"], decont_kept, DECONT)]
                                            + [dict(r, kept=False) for r in _rows(sinks["rejected"], decont_rejected, DECONT)])
        if looked else None,
    }


def _rows(sink: Sink, rows: list[int], columns: list[str]) -> list[dict]:
    """The given rows of a scanned sink, in their order."""
    got = sink.fetch(rows, columns)
    return [got[r] for r in rows]


def _decontamination(out: Path, found: list[dict], n_top: int = 20, n_examples: int = 5) -> dict:
    """Benchmark items found in the run's pages (``found``: the rows with a decont_benchmark, kept ones first, as the
    scans met them): documents per benchmark, the items leaked and how often, and example passages beside the
    benchmark item (its text from the index the run built under global/<stage>/)."""
    items = Counter((r["decont_benchmark"], str(r["decont_item"])) for r in found)
    texts: dict[tuple[str, str], str] = {}
    wanted = set(items)
    for path in sorted(out.glob("global/*/index-*/texts.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            t = json.loads(line)
            if (t["benchmark"], str(t["item"])) in wanted:
                texts[(t["benchmark"], str(t["item"]))] = "\n".join(map(str, t["fields"]))
    examples = sorted(found, key=lambda r: (-(r["decont_overlap"] or 0), r["id"]))[:n_examples]
    return {
        "documents": dict(Counter(r["decont_benchmark"] for r in found)),
        "passages_kept": sum(r["kept"] for r in found),
        "items": {b: sum(1 for bb, _ in items if bb == b) for b in sorted({b for b, _ in items})},
        "top": [[b, i, n] for (b, i), n in items.most_common(n_top)],
        "examples": [{**r, "item_text": _snippet(texts.get((r["decont_benchmark"], str(r["decont_item"]))))} for r in examples],
    }


def _review(out: Path, display: Display | None = None) -> dict | None:
    """The human review's numbers when DIR/review/labels.parquet exists (see corpus.review), with what-if curves
    for the thresholded signals that have labels on them (each a pass over the labelled documents: the progress
    display counts them)."""
    from corpus.review import metrics, store
    from corpus.review.rundocs import RunView

    if not store.path_of(out).is_file():
        return None
    view = RunView(out)
    labels = store.read(out)
    summary = metrics.summarize(labels, view)
    curves = []
    specs = [spec for spec in view.signals if spec.exprs and not spec.stage.startswith("domain_tags")]
    progress = (display or Display(quiet=True)).counter("review", [spec.column for spec in specs], "what-if curves")
    for spec in specs:
        c = metrics.whatif(view, labels, spec.column, points=16)
        if c and c["good"] + c["bad"] >= 5:
            curves.append(c)
        progress.commit(spec.column)
    progress.close()
    summary["whatif"] = curves
    return summary
