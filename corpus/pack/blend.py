"""Blend files beside the packed shards, so a trainer reads them as they are.

- ``megatron_blend.txt``: ``weight prefix`` pairs, one per line, weights = each shard's share of the samples.
  Megatron-LM takes it as ``--data-path $(cat megatron_blend.txt)`` (or ``--data-args-path``, which reads the
  same text); NeMo and GPT-NeoX take the same pairs. A mixture's shards each interleave every group, so
  drawing shards by their size reproduces the mixture's shares.
- ``internevo/``: the InternEvo ``.bin``/``.bin.meta`` pairs as relative links, to use as ``train_folder``.
  InternEvo reads every ``.bin`` under that folder (so it must not see the Megatron ``.bin`` files beside them)
  and has no per-file weights: reading every file once is the blend. ``internevo_blend.json`` lists the
  files with their weights for a trainer that wants them.

Empty shards have no files and are left out of both.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from corpus.rundir import write_atomic, write_json


def write_blends(out_dir: Path, manifest: dict) -> dict[str, str]:
    shards = [s for s in manifest["shards"] if not s.get("empty") and s["stats"].get("samples")]
    total = sum(s["stats"]["samples"] for s in shards)
    written: dict[str, str] = {}
    megatron = [s for s in shards if any(n.endswith(".megatron.idx") for n in s["files"])]
    if megatron:
        lines = []
        for s in megatron:
            idx = next(n for n in s["files"] if n.endswith(".megatron.idx"))
            lines.append(f"{s['stats']['samples'] / total:.10f} {out_dir / idx.removesuffix('.idx')}")
        write_atomic(out_dir / "megatron_blend.txt", "\n".join(lines) + "\n")
        written["megatron"] = "megatron_blend.txt"
    evo = [s for s in shards if any(n.endswith(".internevo.bin") for n in s["files"])]
    if evo:
        folder = out_dir / "internevo"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        files = []
        for s in evo:
            name = next(n for n in s["files"] if n.endswith(".internevo.bin"))
            for n in (name, name + ".meta"):
                os.symlink(Path("..") / n, folder / n)
            files.append({"path": f"internevo/{name}", "weight": round(s["stats"]["samples"] / total, 10),
                          "samples": s["stats"]["samples"]})
        write_json(out_dir / "internevo_blend.json", {
            "train_folder": str(folder), "seq_len": manifest["options"]["seq_len"], "files": files,
            "note": "InternEvo: data = dict(type='tokenized', train_folder=<train_folder>, seq_len=<seq_len>, ...); "
                    "each line of a .bin is one document segment of a packed sample, padding left out"})
        written["internevo"] = "internevo_blend.json"
    return written
