"""`corpus pack`: tokenize curated Parquet and pack it, one worker (a local process or a Ray actor) per data shard.

Each curated shard becomes ``PACKED/<shard>.megatron.{bin,idx}``, ``<shard>.internevo.bin{,.meta}`` and
``<shard>.seqs.parquet`` (per sample: the ids of the documents in it, where each segment starts inside
its document, ``cu_seqlens``, padding), so every training sequence traces back to its documents. A shard
is committed by its marker under ``_shards/``: a re-run skips it. Documents stream in windows of
``window_docs`` (memory bounded); in concat mode the partial tail of a window carries into the next one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from corpus.pack import formats, packing
from corpus.errors import UserError
from corpus.preflight import sha256_file
from corpus.rundir import write_json
from corpus.shard import read_marker, write_marker
from corpus.pack.tokenizer import LoadedTokenizer, load

FORMATS = ("megatron", "internevo")


class PackError(UserError, ValueError):
    """Options or a corpus folder that `corpus pack` cannot work with."""
TOTALS = ("docs", "tokens", "samples", "padding", "dropped_tail_tokens", "split_pieces")
SIDECAR = pa.schema([("sample", pa.int64()), ("doc_ids", pa.list_(pa.string())), ("doc_starts", pa.list_(pa.int32())),
                     ("cu_seqlens", pa.list_(pa.int32())), ("padding", pa.int32())])


@dataclasses.dataclass(frozen=True)
class PackOptions:
    tokenizer: str = "deepseek"
    seq_len: int = 2048
    mode: str = "bfd"  # bfd | concat
    formats: tuple[str, ...] = FORMATS
    eos_token: str | None = None
    window_docs: int = 4096
    batch_size: int = 256

    def validate(self) -> None:
        if self.mode not in ("bfd", "concat"):
            raise PackError(f"--mode must be bfd or concat, got {self.mode!r}")
        if self.seq_len < 8:
            raise PackError(f"--seq-len must be at least 8, got {self.seq_len}")
        bad = set(self.formats) - set(FORMATS)
        if bad:
            raise PackError(f"unknown format(s) {sorted(bad)}; choose from megatron, internevo, both")


def load_tokenizer(options: PackOptions) -> LoadedTokenizer:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
    return load(options.tokenizer, options.eos_token)


def resolve_device(requested: str) -> str:
    """The device this worker packs on; ``cuda`` when asked for one that is not there is an error, not a
    silent fall-back, so a run that was meant to use GPUs does not quietly take ten times longer."""
    import torch

    if requested == "cpu":
        return "cpu"
    if torch.cuda.is_available():
        torch.zeros(1, device="cuda")
        return "cuda"
    if requested == "cuda":
        raise PackError("--device cuda: this worker sees no CUDA GPU (torch.cuda.is_available() is False); "
                         "use --device auto or cpu, or check the node's drivers and CUDA_VISIBLE_DEVICES")
    return "cpu"


def _pretokenized(column: pa.Array) -> list[np.ndarray]:
    """A list<int32> column of token ids (EOS included) as one int64 array per row, without a Python loop per token."""
    flat = column.flatten().to_numpy(zero_copy_only=False).astype(np.int64)
    offsets = column.offsets.to_numpy()
    return np.split(flat, offsets[1:-1] - offsets[0]) if len(column) else []


def _windows(data_file: str, options: PackOptions, tok: LoadedTokenizer, pretokenized: bool = False):
    """Yield (doc ids, token arrays with EOS) in windows of documents, tokenized in batches; a mixture's rows
    carry their ``input_ids`` (counted by `corpus mix` with this very tokenizer), which are used as they are."""
    pf = pq.ParquetFile(data_file)
    ids: list[str] = []
    docs: list[np.ndarray] = []
    for batch in pf.iter_batches(batch_size=options.batch_size, columns=["id", "input_ids" if pretokenized else "text"]):
        if pretokenized:
            ids.extend(batch.column("id").to_pylist())
            docs.extend(_pretokenized(batch.column("input_ids")))
        else:
            texts = batch.column("text").to_pylist()
            encoded = tok.tokenizer.encode_batch([t or "" for t in texts], add_special_tokens=False)
            for doc_id, enc in zip(batch.column("id").to_pylist(), encoded):
                arr = np.empty(len(enc.ids) + 1, dtype=np.int64)
                arr[:-1] = enc.ids
                arr[-1] = tok.eos_id
                ids.append(doc_id)
                docs.append(arr)
        if len(docs) >= options.window_docs:
            yield ids, docs
            ids, docs = [], []
    if docs:
        yield ids, docs


def _tail_pieces(ids: list[str], starts: list[int], docs: list[np.ndarray], cut: int) -> list[tuple[str, int, np.ndarray]]:
    """The pieces of documents after stream position ``cut`` (what did not fill a whole sample)."""
    pieces, pos = [], 0
    for doc_id, start, d in zip(ids, starts, docs):
        if pos + len(d) > cut:
            skip = max(0, cut - pos)
            pieces.append((doc_id, start + skip, d[skip:]))
        pos += len(d)
    return pieces


def pack_shard(data_file: str, out_dir: Path, options: PackOptions, tok: LoadedTokenizer,
               requested_device: str = "auto", pretokenized: bool = False) -> tuple[dict, dict[str, str]]:
    """Pack one curated (or mixture) shard. A shard with no documents, or none that fill a sample, writes no
    files at all and says ``empty`` in its stats: a 0-byte .bin breaks Megatron's reader and numpy's memmap."""
    shard = Path(data_file).stem
    dev = resolve_device(requested_device)
    capacity = options.seq_len + 1
    # split_pieces: segments that continue a document begun in an earlier sample (a document cut k times counts k)
    stats = {"docs": 0, "tokens": 0, "samples": 0, "padding": 0, "dropped_tail_tokens": 0, "split_pieces": 0, "device": dev}
    carry: list[tuple[str, int, np.ndarray]] = []  # concat: (doc id, start in doc, tokens) not yet in a sample
    tmp = out_dir / f".{shard}.tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    writers = []
    if "megatron" in options.formats:
        writers.append(formats.MegatronWriter(tmp / f"{shard}.megatron", tok.vocab_size))
    if "internevo" in options.formats:
        writers.append(formats.InternEvoWriter(tmp / f"{shard}.internevo"))
    sidecar_path = tmp / f"{shard}.seqs.parquet"
    sidecar = pq.ParquetWriter(sidecar_path, SIDECAR, compression="zstd")
    t0 = time.perf_counter()
    for ids, docs in _windows(data_file, options, tok, pretokenized):  # memory: one window of documents and its samples
        stats["docs"] += len(docs)
        stats["tokens"] += sum(len(d) for d in docs)
        starts = [0] * len(docs)
        if options.mode == "concat":
            ids = [c[0] for c in carry] + ids
            starts = [c[1] for c in carry] + starts
            docs = [c[2] for c in carry] + docs
            packed = packing.pack_concat(docs, capacity, dev)
            carry = _tail_pieces(ids, starts, docs, len(packed.tokens) * capacity)
        else:
            packed = packing.pack_bfd(docs, capacity, tok.eos_id, dev)
            stats["padding"] += packed.padding
        segs_all = packed.segments
        lengths = [[s.length for s in segs] for segs in segs_all]
        for w in writers:
            w.add(packed.tokens, lengths)
        sidecar.write_table(pa.table({
            "sample": np.arange(stats["samples"], stats["samples"] + len(segs_all), dtype=np.int64),
            "doc_ids": [[ids[s.doc] for s in segs] for segs in segs_all],
            "doc_starts": [[starts[s.doc] + s.start for s in segs] for segs in segs_all],
            "cu_seqlens": [np.cumsum([0] + [s.length for s in segs]).tolist() for segs in segs_all],
            "padding": [capacity - sum(s.length for s in segs) for segs in segs_all],
        }, schema=SIDECAR))
        stats["samples"] += len(segs_all)
        stats["split_pieces"] += sum(1 for segs in segs_all for s in segs if starts[s.doc] + s.start > 0)
    stats["dropped_tail_tokens"] = sum(len(c[2]) for c in carry)
    written = [p for w in writers for p in w.close()]
    sidecar.close()
    written.append(sidecar_path)
    stats["wall_s"] = round(time.perf_counter() - t0, 3)
    stats["empty"] = stats["samples"] == 0
    files: dict[str, str] = {}
    if stats["empty"]:
        for p in written:
            p.unlink()
        tmp.rmdir()
        return stats, files
    for p in written:
        final = out_dir / p.name
        os.replace(p, final)
        files[p.name] = str(final)
    tmp.rmdir()
    return stats, files



class PackWorker:
    """Tokenizer loaded once, shards packed one after another; hosted by an executor's ``run_shards``."""

    def __init__(self, options: PackOptions, device: str, threads: int, pretokenized: bool = False) -> None:
        # the tokenizer's thread pool is sized by the cores this worker's share of the node gives it, or every
        # worker would start one thread per core of the node and they would fight over them
        os.environ.setdefault("RAYON_NUM_THREADS", str(threads))
        self.options = options
        self.device = resolve_device(device)  # creates the CUDA context once per worker, not per shard
        self.tokenizer = load_tokenizer(options)
        self.pretokenized = pretokenized

    def process(self, data_file: str, out_dir: Path, report=None) -> tuple[str, dict, dict[str, str]]:
        stats, files = pack_shard(data_file, out_dir, self.options, self.tokenizer, self.device, self.pretokenized)
        return data_file, stats, files

def _mixture(mix_dir: Path, tok: LoadedTokenizer) -> dict:
    """The mixture manifest, checked against the pack tokenizer: the mixture's token shares were counted with
    its tokenizer, and its rows carry that tokenizer's ids."""
    try:
        m = json.loads((mix_dir / "mix.json").read_text())
    except (OSError, ValueError):
        raise PackError(f"--mix {mix_dir}: no readable mix.json there; is it the --out of a finished `corpus mix`?") from None
    if m["tokenizer"]["sha256"] != tok.sha256:
        raise PackError(f"--mix {mix_dir}: the mixture was counted with tokenizer {m['tokenizer']['spec']} "
                        f"({m['tokenizer']['path']}), not {tok.path}; pack with --tokenizer {m['tokenizer']['spec']}, or "
                        f"set tokenizer: in the mixture spec and re-run `corpus mix`")
    return m


def _shard_fingerprint(fingerprint: str, data_file: str) -> str:
    """The run's fingerprint plus the input file's size and mtime, so a shard rebuilt under the same name
    (a re-run `corpus run` or `corpus mix`) is packed again instead of being skipped as done."""
    st = os.stat(data_file)
    return hashlib.sha256(f"{fingerprint}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:16]


def pack(corpus_dir: str, out: str, options: PackOptions, address: str | None = None, workers: int | None = None,
         device: str = "auto", log: Callable[[str], None] = lambda m: print(m, file=sys.stderr, flush=True),
         mix: bool = False, quiet: bool = False, executor: str = "auto") -> dict:
    """Pack DIR/data (a `corpus run` output), or with ``mix`` a `corpus mix` output, whose rows are packed in
    their shuffled order from the token ids the mixture counted. On one machine without GPUs the workers are
    local processes; Ray shares GPUs out among workers, and runs on a cluster (corpus/executor.py)."""
    from corpus import executor as executor_mod
    from corpus.pack.blend import write_blends

    backend = executor_mod.choose(executor, address, gpus=device == "cuda" or (device == "auto" and torch.cuda.is_available()))
    if device == "cuda" and backend.__name__ == "corpus.local_exec":
        raise PackError("--device cuda needs Ray, which shares the GPUs out among the workers: drop --executor local")
    options.validate()
    tok = load_tokenizer(options)  # fail fast, before Ray starts, on a bad tokenizer
    mixture = _mixture(Path(corpus_dir), tok) if mix else None
    data = sorted(str(p) for p in (Path(corpus_dir).resolve() / "data").glob("*.parquet"))  # absolute: read on any node
    if not data:
        raise PackError(f"{corpus_dir}/data has no Parquet shards: is it the --output of a finished `corpus run`"
                        + (" or `corpus mix`?" if mix else "? (for a mixture, add --mix)"))
    out_dir = Path(out).resolve()
    fingerprint = hashlib.sha256(json.dumps([dataclasses.asdict(options), tok.sha256, mix]).encode()).hexdigest()[:16]
    results: dict[str, dict] = {}
    todo = []
    for f in data:
        done = read_marker(out_dir, Path(f).stem, _shard_fingerprint(fingerprint, f))
        if done:
            results[f] = done
        else:
            todo.append(f)
    where = backend.init(address)
    gpus = 0 if device == "cpu" else backend.gpus_available()
    if device == "cuda" and not gpus:
        raise PackError(f"--device cuda: the Ray cluster at {where} has no GPUs; use --device auto or cpu")
    # tokenizing is CPU work and the packing arithmetic is light: every worker takes an equal share of the
    # GPUs rather than one worker per GPU leaving the other cores idle
    n_workers = max(1, min(len(todo) or 1, workers or backend.cpus()))
    gpu_share = min(1.0, int(gpus / n_workers * 1e4) / 1e4) if gpus else 0.0
    log(f"pack: {len(data)} shard(s){' of mixture ' + mixture['name'] if mixture else ''}, tokenizer {tok.path} "
        f"(vocab {tok.vocab_size:,}), seq_len {options.seq_len}, "
        f"mode {options.mode}, on {where}" + (f" with {gpus} GPU(s), {gpu_share:g} per worker" if gpus else " on CPUs"))

    from corpus.progress import CountProgress

    progress = CountProgress("pack", {f: os.path.getsize(f) if os.path.exists(f) else 1 for f in todo}, quiet=quiet)

    def on_done(data_file, stats, files, node):
        payload = {"fingerprint": _shard_fingerprint(fingerprint, data_file), "source": data_file, "stats": stats,
                   "files": files, "node": node}
        write_marker(out_dir, Path(data_file).stem, payload)
        results[data_file] = payload
        progress.clear()
        log(f"[{len(results)}/{len(data)}] {Path(data_file).stem}: {stats['docs']:,} docs → {stats['samples']:,} samples "
            f"({stats['tokens']:,} tokens, {stats['padding']:,} padding, on {stats['device']})"
            + (": empty, no files written" if stats.get("empty") else ""))
        progress.commit(data_file, {k: stats.get(k, 0) for k in ("docs", "samples", "tokens")})

    failed: list[dict] = []

    def on_failed(data_file, error):
        progress.clear()
        failed.append({"source": data_file, "error": error})
        log(f"[failed] {Path(data_file).stem}: {error}")

    threads = max(1, backend.cpus() // n_workers)
    backend.run_shards(PackWorker, (options, "cuda" if gpus else "cpu", threads, mix), todo, out_dir, n_workers,
                        1.0, gpu_share, on_done, on_failed)
    progress.close()
    totals = {k: sum(r["stats"].get(k, 0) for r in results.values()) for k in TOTALS}
    totals["empty_shards"] = sum(1 for r in results.values() if r["stats"].get("empty"))
    manifest = {
        "tokenizer": {"path": tok.path, "sha256": tok.sha256, "vocab_size": tok.vocab_size, "eos_id": tok.eos_id},
        "options": dataclasses.asdict(options), "fingerprint": fingerprint, "totals": totals, "failed": failed,
        "shards": [{"source": f, "empty": bool(results[f]["stats"].get("empty")), "stats": results[f]["stats"],
                    "files": {n: {"path": Path(p).name, "sha256": sha256_file(p)} for n, p in sorted(results[f]["files"].items())}}
                   for f in data if f in results],
    }
    if mixture:
        manifest["mix"] = {"dir": str(Path(corpus_dir).resolve()), "name": mixture["name"],
                           "groups": {g["name"]: {"share": g["share"], "tokens": g["tokens"]} for g in mixture["groups"]}}
    manifest["blends"] = write_blends(out_dir, manifest)
    write_json(out_dir / "manifest.json", manifest)
    return manifest
