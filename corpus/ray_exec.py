"""Every Ray call of the project lives here.

Embedded mode (no address) starts a private local Ray bound to 127.0.0.1 with no dashboard, so neither
the dashboard nor the job API (CVE-2023-48022) is reachable from outside. With an address (``--address``
or ``RAY_ADDRESS``) we join an existing cluster; the output folder must then be on storage every node sees.

Shards are processed by a pool of long-lived actors: a model is loaded once per actor, a shard streams
through all per-document stages inside one actor (no object-store round trips per stage), and output
file names come from shard names, so scheduling order never changes the bytes written.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pyarrow as pa
import ray

from corpus import shard as shard_mod
from corpus.recipe import Recipe


def init(address: str | None = None, num_cpus: int | None = None) -> str:
    """Start or join Ray; returns a short description for the log. Reuses a session already initialised."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if ray.is_initialized():
        return "existing Ray session"
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address:
        ray.init(address=address, log_to_driver=True, logging_level="WARNING")
        return f"Ray cluster at {address}"
    ray.init(
        num_cpus=num_cpus or os.cpu_count(),
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        logging_level="WARNING",
        log_to_driver=True,
    )
    return "embedded local Ray (127.0.0.1, no dashboard)"


def shutdown() -> None:
    if ray.is_initialized():
        ray.shutdown()


@ray.remote
class ShardWorker:
    def __init__(self, recipe: Recipe, schema: pa.Schema) -> None:
        self.recipe = recipe
        self.schema = schema
        steps = recipe.build()
        for step in steps:
            step.setup()
        self.segments = shard_mod.segments(steps)

    def process(self, task: shard_mod.ShardTask, out_dir: str) -> tuple[shard_mod.ShardTask, list[dict], dict[str, str], str]:
        seg = self.segments[task.segment]
        stats, files = shard_mod.process(task.inp, self.recipe.read, seg, self.schema, Path(out_dir), task.index)
        return task, stats, files, ray.get_runtime_context().get_node_id()


@ray.remote
class PackWorker:
    def __init__(self, options, device: str, threads: int) -> None:
        # the tokenizer's thread pool is sized by the cores this worker's share of the node gives it, or every
        # worker would start one thread per core of the node and they would fight over them
        os.environ.setdefault("RAYON_NUM_THREADS", str(threads))
        from corpus.pack import run as pack_run

        self.pack_run = pack_run
        self.options = options
        self.device = pack_run.resolve_device(device)  # creates the CUDA context once per worker, not per shard
        self.tokenizer = pack_run.load_tokenizer(options)

    def process(self, data_file: str, out_dir: str) -> tuple[str, dict, dict[str, str], str]:
        stats, files = self.pack_run.pack_shard(data_file, Path(out_dir), self.options, self.tokenizer, self.device)
        return data_file, stats, files, ray.get_runtime_context().get_node_id()


class RayExecutor:
    """Runs a global stage's exchange tasks as Ray tasks; partitions stay in the object store (spilling to
    disk when it fills), and each task reserves ``memory_mb`` so Ray never packs more onto a node than fits."""

    def __init__(self, memory_mb: int) -> None:
        self.options = {"num_cpus": 1, "memory": memory_mb * 2**20}
        self.remotes: dict[Callable, object] = {}

    def map(self, fn: Callable, calls: list[tuple], num_returns: int = 1) -> list:
        if fn not in self.remotes:
            self.remotes[fn] = ray.remote(fn)
        remote = self.remotes[fn].options(num_returns=num_returns, **self.options)
        return [remote.remote(*args) for args in calls]

    def get(self, refs: list) -> list:
        return ray.get(list(refs))


def cpus() -> int:
    return int(ray.cluster_resources().get("CPU", 1))


def gpus_available() -> int:
    return int(ray.cluster_resources().get("GPU", 0))


def run_shards(
    worker_cls,
    init_args: tuple,
    inputs: list,
    out_dir: Path,
    workers: int | None,
    num_cpus: float,
    num_gpus: float,
    on_done: Callable[..., None],
    on_failed: Callable[..., None],
) -> None:
    """Process shards on a pool of actors. A shard whose worker crashes (a bug, an OOM kill) is reported
    through ``on_failed`` and its actor replaced; the other shards go on."""
    if not inputs:
        return
    free = ray.available_resources()
    available = int(free.get("CPU", 1) // max(num_cpus, 0.01)) or 1
    if num_gpus:  # an actor that cannot get its GPU would wait forever, and so would the shards queued on it
        available = min(available, int(free.get("GPU", 0) // num_gpus)) or 1
    n = max(1, min(len(inputs), workers or available))
    opts = {"num_cpus": num_cpus, "num_gpus": num_gpus}
    actors = [worker_cls.options(**opts).remote(*init_args) for _ in range(n)]
    queue = list(inputs)
    pending: dict[ray.ObjectRef, tuple[ray.actor.ActorHandle, object]] = {}

    def submit(actor) -> None:
        if queue:
            inp = queue.pop(0)
            pending[actor.process.remote(inp, str(out_dir))] = (actor, inp)

    for actor in actors:
        submit(actor)
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        actor, inp = pending.pop(done[0])
        try:
            on_done(*ray.get(done[0]))
        except ray.exceptions.RayError as exc:
            on_failed(inp, str(exc).strip().splitlines()[-1][:2000])
            ray.kill(actor)
            actors.remove(actor)
            actor = worker_cls.options(**opts).remote(*init_args)
            actors.append(actor)
        submit(actor)
    for actor in actors:
        ray.kill(actor)
