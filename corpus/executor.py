"""Which executor runs a command's shards: ``corpus.local_exec`` (this machine, plain processes) or
``corpus.ray_exec`` (a Ray cluster, or an embedded Ray). Both offer ``init``, ``run_shards``, ``cpus`` and
``task_executor``; the bytes written are the same.

``auto`` is Ray exactly when there is something Ray does that local processes do not: a cluster is named
(``--address`` or ``RAY_ADDRESS``), or GPUs are to be shared out among workers (``corpus pack``). On one machine
otherwise Ray only adds start-up time and processes (corpus/local_exec.py says how much)."""

from __future__ import annotations

import os
from types import ModuleType

from corpus.errors import UserError

KINDS = ("auto", "local", "ray")


def choose(kind: str, address: str | None, gpus: bool = False) -> ModuleType:
    address = address or os.environ.get("RAY_ADDRESS") or None
    if kind not in KINDS:
        raise UserError(f"--executor must be one of {', '.join(KINDS)}, not {kind!r}")
    if kind == "local" and address:
        raise UserError(f"--executor local runs on this machine only, but a Ray cluster is named ({address}): "
                        f"drop --address / unset RAY_ADDRESS, or use --executor ray")
    if kind == "ray" or address or (kind == "auto" and gpus):
        from corpus import ray_exec  # Ray is imported only when it is used

        return ray_exec
    from corpus import local_exec

    return local_exec

