"""`corpus mix MIX.yaml --out MIXDIR`: a training mixture from curated runs, as shuffled Parquet shards.

Four passes, each a pool of workers over shards (an executor's ``run_shards``: local processes, or Ray actors
on a cluster; corpus/executor.py), the driver holding only
small columns:

1. scan (per source shard): tokenize every document with the tokenizer `corpus pack` will use; keep its
   token ids (``MIXDIR/_scan/``), so pack does not tokenize again, and its count. Resumable per shard.
2. plan (driver): read the columns the spec names, assign groups, and compute copies per document
   (``corpus.mix.sampling``). Copy j of a document with c copies gets the shuffle key (j + u) / c, u uniform
   from the seed: every copy falls in its own stratum of the order, so repeats of a document are spread
   over the whole mixture rather than landing in one batch, and any stretch of the order holds the groups
   in the manifest's proportions.
3. scatter (per source shard): route each copy to output shard floor(key * shards).
4. gather (per output shard): sort its copies by key and write ``MIXDIR/data/part-NNNNN.parquet``.

Shards concatenated in order are one global permutation, so every packed shard interleaves the groups.
``MIXDIR/mix.json`` is the manifest (per group: documents, tokens, epochs, effective share, and why a target
was not met); ``MIXDIR/README.md`` is its dataset card. The same spec and sources give the same bytes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpus.mix import sampling
from corpus.mix.spec import MixError, MixSpec, load as load_spec
from corpus.preflight import sha256_file
from corpus.rundir import tmp_name, write_json, write_parquet
from corpus.shard import read_marker, write_marker

# columns a mixture row keeps when the source has them (what a trainer or a card may want); the spec's own
# columns are added to these
KEEP = ("id", "url", "domain", "date", "source", "title", "text", "lang", "lang_score", "domain_tag", "q_ppl",
        "q_ppl_bucket", "fluency_score", "not_ad_score", "porn_score", "toxic_score", "dup_cluster_size")
SCAN = pa.schema([("n_tokens", pa.int32()), ("input_ids", pa.list_(pa.int32()))])


@dataclasses.dataclass(frozen=True)
class Source:
    key: str  # unique name of the source shard inside MIXDIR (runs may share shard names)
    run: str
    path: str


@dataclasses.dataclass(frozen=True)
class Task:
    kind: str  # scan | scatter | gather
    name: str
    source: Source | None = None
    buckets: int = 0
    columns: tuple[str, ...] = ()


def scan(source: Source, out_dir: Path, tok, batch_size: int = 256) -> tuple[dict, dict[str, str]]:
    """Token ids of every document of one source shard, in row order."""
    path = out_dir / "_scan" / f"{source.key}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_name(path)
    docs = tokens = 0
    t0 = time.perf_counter()
    try:
        with pq.ParquetWriter(tmp, SCAN, compression="zstd") as w:
            for batch in pq.ParquetFile(source.path).iter_batches(batch_size=batch_size, columns=["text"]):
                enc = tok.tokenizer.encode_batch([t or "" for t in batch.column("text").to_pylist()], add_special_tokens=False)
                ids = [e.ids + [tok.eos_id] for e in enc]  # counted as pack counts them: with the EOS
                n = [len(x) for x in ids]
                w.write_table(pa.table({"n_tokens": pa.array(n, pa.int32()), "input_ids": pa.array(ids, pa.list_(pa.int32()))},
                                       schema=SCAN))
                docs += len(n)
                tokens += sum(n)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return {"docs": docs, "tokens": tokens, "wall_s": round(time.perf_counter() - t0, 3)}, {"scan": str(path)}


def scatter(task: Task, out_dir: Path) -> tuple[dict, dict[str, str]]:
    """Route this source shard's copies to their output shards."""
    src = task.source
    plan = pq.read_table(out_dir / "_plan" / f"{src.key}.parquet")
    rows = plan.column("row")
    table = pq.read_table(src.path, columns=list(task.columns)).take(rows)
    ids = pq.read_table(out_dir / "_scan" / f"{src.key}.parquet", columns=["input_ids"]).column(0).take(rows)
    table = table.append_column("mix_group", plan.column("group")).append_column("mix_copy", plan.column("copy"))
    table = table.append_column("mix_source", pa.array([src.run] * table.num_rows, pa.string()))
    table = table.append_column("input_ids", ids).append_column("_key", plan.column("key"))
    bucket = np.minimum((plan.column("key").to_numpy() * task.buckets).astype(np.int64), task.buckets - 1)
    files = {}
    for b in np.unique(bucket):
        folder = out_dir / "_shuffle" / f"part-{b:05d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{src.key}.parquet"
        write_parquet(path, table.filter(pa.array(bucket == b)), compression="zstd")
        files[f"part-{b:05d}"] = str(path)
    return {"copies": table.num_rows}, files


def gather(task: Task, out_dir: Path) -> tuple[dict, dict[str, str]]:
    """One output shard: its copies from every source, in key order."""
    folder = out_dir / "_shuffle" / task.name
    pieces = [pq.read_table(p) for p in sorted(folder.glob("*.parquet"))]
    table = pa.concat_tables(pieces, promote_options="permissive")
    table = table.take(pc.sort_indices(table.column("_key"))).drop_columns(["_key"])
    path = out_dir / "data" / f"{task.name}.parquet"
    path.parent.mkdir(exist_ok=True)
    write_parquet(path, table, compression="zstd")
    groups = pc.value_counts(table.column("mix_group")).to_pylist()
    tokens = pc.sum(pc.list_value_length(table.column("input_ids"))).as_py() or 0
    by_group = {}
    for name in (g["values"] for g in groups):
        m = pc.equal(table.column("mix_group"), name)
        by_group[name] = pc.sum(pc.list_value_length(pc.filter(table.column("input_ids"), m))).as_py() or 0
    shutil.rmtree(folder)
    return {"rows": table.num_rows, "tokens": tokens, "group_tokens": by_group}, {"data": str(path)}


class MixWorker:
    """Hosted by an executor's ``run_shards``; the tokenizer is loaded on the first scan only."""

    def __init__(self, tokenizer: str, threads: int) -> None:
        os.environ.setdefault("RAYON_NUM_THREADS", str(threads))
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
        self.spec, self.tok = tokenizer, None

    def process(self, task: Task, out_dir: Path, report=None) -> tuple[Task, dict, dict[str, str]]:
        if task.kind == "scan":
            if self.tok is None:
                from corpus.pack.tokenizer import load

                self.tok = load(self.spec)
            return (task, *scan(task.source, out_dir, self.tok))
        return (task, *(scatter(task, out_dir) if task.kind == "scatter" else gather(task, out_dir)))


def sources_of(spec: MixSpec) -> list[Source]:
    out, seen = [], set()
    for i, run in enumerate(spec.sources):
        folder = Path(run).resolve()
        if folder in seen:  # listed twice (or one folder by two names): its documents would count twice
            raise MixError(f"{spec.path}: source {run} is listed more than once; list each curated run once")
        seen.add(folder)
        files = sorted(folder.glob("data/*.parquet"))
        if not files:
            raise MixError(f"{spec.path}: source {run}: no data/*.parquet there; is it the --output of a finished `corpus run`?")
        out += [Source(f"s{i}-{f.stem}", str(folder), str(f)) for f in files]
    return out


def _check_columns(spec: MixSpec, sources: list[Source]) -> None:
    need = spec.columns() | {"id", "text"}
    for s in sources:
        have = set(pq.read_schema(s.path).names)
        if need - have:
            raise MixError(f"{spec.path}: {s.path} has no column(s) {sorted(need - have)}; the spec can name any of: "
                           f"{', '.join(sorted(c for c in have if not c.startswith('_')))}")


def _run_pool(backend, tasks: list[Task], out_dir: Path, worker_args: tuple, workers: int | None, on_done, what: str) -> None:
    failed: list[str] = []
    backend.run_shards(MixWorker, worker_args, tasks, out_dir, workers, 1.0, 0.0, on_done,
                        lambda task, error: failed.append(f"{task.name}: {error}"))
    if failed:
        raise MixError(f"mix {what} failed for {len(failed)} shard(s) (re-run the same command to retry): {failed[0]}")


def _fingerprint(source: Source, tok_sha: str) -> str:
    st = os.stat(source.path)
    return hashlib.sha256(json.dumps([source.path, st.st_size, st.st_mtime_ns, tok_sha]).encode()).hexdigest()[:16]


def mix(spec_path: str, out: str, address: str | None = None, workers: int | None = None,
        log: Callable[[str], None] = lambda m: print(m, file=sys.stderr, flush=True), executor: str = "auto") -> dict:
    from corpus import executor as executor_mod
    from corpus.pack.tokenizer import load as load_tokenizer

    backend = executor_mod.choose(executor, address)
    t_start = time.perf_counter()
    spec = load_spec(spec_path)
    tok = load_tokenizer(spec.tokenizer)  # fail fast, before Ray starts
    sources = sources_of(spec)
    _check_columns(spec, sources)
    out_dir = Path(out).resolve()
    for stale in ("data", "_plan", "_shuffle"):  # a mixture is rebuilt whole; only the token scan is resumed
        shutil.rmtree(out_dir / stale, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    where = backend.init(address)
    threads = max(1, backend.cpus() // max(1, min(len(sources), workers or backend.cpus())))
    args = (spec.tokenizer, threads)
    log(f"mix {spec.name}: {len(sources)} source shard(s), {len(spec.groups)} group(s), tokenizer {tok.path}, on {where}")

    # 1. scan
    scanned: dict[str, dict] = {}
    todo = []
    for s in sources:
        done = read_marker(out_dir, f"scan-{s.key}", _fingerprint(s, tok.sha256))
        if done:
            scanned[s.key] = done["stats"]
        else:
            todo.append(Task("scan", s.key, s))

    def scan_done(task, stats, files, node):
        write_marker(out_dir, f"scan-{task.name}", {"fingerprint": _fingerprint(task.source, tok.sha256), "stats": stats, "files": files})
        scanned[task.name] = stats
        log(f"[scan {len(scanned)}/{len(sources)}] {task.name}: {stats['docs']:,} docs, {stats['tokens']:,} tokens")

    t0 = time.perf_counter()
    _run_pool(backend, todo, out_dir, args, workers, scan_done, "token scan")
    t_scan = time.perf_counter() - t0

    # 2. plan
    t0 = time.perf_counter()
    cols = sorted(spec.columns() | {"id"})
    tables, tokens, owner = [], [], []
    for k, s in enumerate(sources):
        t = pq.read_table(s.path, columns=cols)
        n = pq.read_table(out_dir / "_scan" / f"{s.key}.parquet", columns=["n_tokens"]).column(0).to_numpy()
        if len(n) != t.num_rows:
            raise MixError(f"{s.path} changed since its token scan ({t.num_rows} rows, {len(n)} scanned); re-run to rescan")
        tables.append(t)
        tokens.append(n)
        owner.append(np.full(t.num_rows, k, dtype=np.int32))
    table = pa.concat_tables(tables, promote_options="permissive")
    tok_per_row = np.concatenate(tokens).astype(np.int64)
    owner_row = np.concatenate(owner)
    local_row = np.concatenate([np.arange(len(n)) for n in tokens])
    p = sampling.plan(table, tok_per_row, spec)
    n_buckets = spec.shards or len(sources)
    # copies in canonical order (source, row, copy); keys from one seeded stream
    rows = np.repeat(np.arange(len(p.copies)), p.copies)
    copy_idx = np.arange(len(rows)) - np.repeat(np.cumsum(p.copies) - p.copies, p.copies)
    u = np.random.default_rng([spec.seed, 1]).random(len(rows))
    key = (copy_idx + u) / p.copies[rows]
    names = np.array([g.name for g in spec.groups], dtype=object)
    (out_dir / "_plan").mkdir(exist_ok=True)
    scatter_tasks = []
    keep = tuple(c for c in dict.fromkeys((*KEEP, *cols)) if c in set(pq.read_schema(sources[0].path).names))
    for k, s in enumerate(sources):
        m = owner_row[rows] == k
        if not m.any():
            continue
        write_parquet(out_dir / "_plan" / f"{s.key}.parquet",
                      pa.table({"row": pa.array(local_row[rows[m]], pa.int64()), "copy": pa.array(copy_idx[m], pa.int32()),
                                "key": pa.array(key[m], pa.float64()),
                                "group": pa.array(names[p.group[rows[m]]].tolist(), pa.string())}), compression="zstd")
        present = set(pq.read_schema(s.path).names)
        scatter_tasks.append(Task("scatter", s.key, s, n_buckets, tuple(c for c in keep if c in present)))
    t_plan = time.perf_counter() - t0

    # 3-4. scatter, gather
    t0 = time.perf_counter()
    _run_pool(backend, scatter_tasks, out_dir, args, workers, lambda *a: None, "scatter")
    shards: dict[str, dict] = {}

    def gather_done(task, stats, files, node):
        shards[task.name] = {"path": f"data/{task.name}.parquet", **stats}

    buckets = sorted(d.name for d in (out_dir / "_shuffle").iterdir()) if (out_dir / "_shuffle").is_dir() else []
    _run_pool(backend, [Task("gather", b) for b in buckets], out_dir, args, workers, gather_done, "gather")
    shutil.rmtree(out_dir / "_shuffle", ignore_errors=True)
    t_shuffle = time.perf_counter() - t0

    report = p.report
    manifest = {
        "name": spec.name, "spec_path": str(Path(spec.path).resolve()), "spec": spec.raw, "seed": spec.seed,
        "tokenizer": {"spec": spec.tokenizer, "path": tok.path, "sha256": tok.sha256, "vocab_size": tok.vocab_size, "eos_id": tok.eos_id},
        "sources": [{"key": s.key, "run": s.run, "path": s.path, **scanned[s.key]} for s in sources],
        **report,
        "shards": [dict(shards[b], sha256=sha256_file(out_dir / shards[b]["path"])) for b in sorted(shards)],
        "wall_s": {"scan": round(t_scan, 3), "plan": round(t_plan, 3), "shuffle": round(t_shuffle, 3),
                   "total": round(time.perf_counter() - t_start, 3)},
    }
    write_json(out_dir / "mix.json", manifest)
    from corpus.card import write_mix_card

    write_mix_card(out_dir)
    return manifest


def summary_lines(m: dict) -> list[str]:
    """What `corpus mix` prints: one line per group, then what could not be met."""
    lines = [f"mixture {m['name']}: {m['tokens']:,} tokens in {m['copies']:,} copies of {m['documents']:,} documents, "
             f"{len(m['shards'])} shard(s)"]
    lines.append(f"{'group':<16}{'target':>8}{'share':>8}{'tokens':>12}{'docs used':>11}{'epochs':>8}")
    for g in m["groups"]:
        lines.append(f"{g['name']:<16}{g['target_share']:>8.1%}{g['share']:>8.1%}{g['tokens']:>12,}"
                     f"{g['documents_used']:>6,}/{g['documents']:<5,}{g['epochs']:>7.2f}")
    for b in m["boosts"]:
        lines.append(f"boost {json.dumps(b['where'], ensure_ascii=False)} x{b['factor']:g}: effective {', '.join(f'{k} x{v:g}' for k, v in b['effective_factor'].items())}"
                     + (f" ({b['capped_documents']} document(s) at max_epochs)" if b["capped_documents"] else "")
                     + f" ({b['documents']:,} documents, {b['epochs']:.2f} epochs)")
    if m["unassigned"]["documents"]:
        lines.append(f"unassigned (in no group, not in the mixture): {m['unassigned']['documents']:,} documents, "
                     f"{m['unassigned']['tokens']:,} tokens")
    if not m["budget"]["met"]:
        lines.append(f"budget not met: {m['budget']['reason']}")
    for g in m["groups"]:
        if not g["met"]:
            lines.append(f"not met: {g['name']}: {g['reason']}")
    for b in m["boosts"]:
        if not b["met"]:
            lines.append(f"not met: boost {json.dumps(b['where'], ensure_ascii=False)}: {b['reason']}")
    return lines
