"""corpus pack on a real curated run: formats, a DataLoader over the shards, and decoding back to the text."""

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from torch.utils.data import DataLoader

from corpus.cli import main
from corpus.pack.dataset import PackedDataset
from corpus.pack.formats import MegatronReader, read_internevo
from corpus.pack.run import PackOptions, pack
from corpus.pack.tokenizer import load

pytestmark = pytest.mark.e2e
SEQ = 128


@pytest.fixture(scope="module")
def packed(sample_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("packed")
    manifest = pack(str(sample_run[0]), str(out), PackOptions(seq_len=SEQ, window_docs=40))
    return out, manifest


def documents_from_samples(folder):
    """Rebuild every document from the packed tokens using only the sidecar (ids, starts, cu_seqlens)."""
    pieces = {}  # keyed by (shard, id): byte-identical captures in two inputs share a content id
    for seqs in sorted(folder.glob("*.seqs.parquet")):
        shard = seqs.name.removesuffix(".seqs.parquet")
        prefix = folder / seqs.name.replace(".seqs.parquet", ".megatron")
        reader = MegatronReader(prefix)
        for row in pq.read_table(seqs).to_pylist():
            tokens = reader[row["sample"]]
            for doc, start, a, b in zip(row["doc_ids"], row["doc_starts"], row["cu_seqlens"], row["cu_seqlens"][1:]):
                pieces.setdefault((shard, doc), []).append((start, tokens[a:b].tolist()))
    return {d: [t for _, part in sorted(v, key=lambda x: x[0]) for t in part] for d, v in pieces.items()}


def test_tokens_decode_back_to_every_source_document(packed, sample_run):
    out, manifest = packed
    tok = load("deepseek")
    source = {(f.stem, r["id"]): r["text"] for f in sorted((sample_run[0] / "data").glob("*.parquet"))
              for r in pq.read_table(f, columns=["id", "text"]).to_pylist()}
    rebuilt = documents_from_samples(out)
    assert set(rebuilt) == set(source) and manifest["totals"]["docs"] == len(source)
    for doc_id, tokens in rebuilt.items():
        assert tokens[-1] == tok.eos_id
        assert tok.tokenizer.decode(tokens[:-1], skip_special_tokens=False) == source[doc_id]
    t = manifest["totals"]
    assert t["samples"] * (SEQ + 1) == t["tokens"] + t["padding"]
    continued = sum(s > 0 for f in out.glob("*.seqs.parquet") for row in pq.read_table(f).column("doc_starts").to_pylist() for s in row)
    assert t["split_pieces"] == continued > 0  # some sample documents are longer than SEQ tokens
    assert manifest["tokenizer"]["sha256"] and all(f["sha256"] for s in manifest["shards"] for f in s["files"].values())


def test_internevo_lines_are_the_megatron_samples_segments(packed):
    """InternEvo gets one line per document segment, in sample order, padding left out (InternEvo pads itself)."""
    out, _ = packed
    prefix = sorted(out.glob("*.megatron.idx"))[0]
    reader = MegatronReader(str(prefix).removesuffix(".idx"))
    evo = out / prefix.name.replace(".megatron.idx", ".internevo")
    cu = pq.read_table(str(prefix).replace(".megatron.idx", ".seqs.parquet"), columns=["cu_seqlens"]).column(0).to_pylist()
    line = 0
    for i, bounds in enumerate(cu):
        for a, b in zip(bounds, bounds[1:]):
            assert read_internevo(evo, line) == reader[i][a:b].tolist()
            line += 1
    assert line == len(np.load(str(evo) + ".bin.meta"))


def test_dataloader_shapes_boundaries_and_rank_sharding(packed):
    out, manifest = packed
    ds0 = PackedDataset(out, seed=5, rank=0, world_size=2)
    ds1 = PackedDataset(out, seed=5, rank=1, world_size=2)
    assert len(ds0) + len(ds1) == manifest["totals"]["samples"]
    assert not set(ds0.index) & set(ds1.index)
    assert PackedDataset(out, seed=5, rank=0, world_size=2).index == ds0.index  # same seed, same order
    assert PackedDataset(out, seed=6, rank=0, world_size=2).index != ds0.index
    batch = next(iter(DataLoader(ds0, batch_size=4)))
    assert batch["input_ids"].shape == batch["labels"].shape == batch["position_ids"].shape == (4, SEQ)
    keep = batch["loss_mask"][:, :-1].bool()  # labels are the next input, except where the target is padding (-100)
    assert torch.equal(batch["input_ids"][:, 1:][keep], batch["labels"][:, :-1][keep])
    assert torch.equal(batch["labels"] == -100, batch["loss_mask"] == 0)
    for cu, pos in zip(batch["cu_seqlens"], batch["position_ids"]):
        for a in cu.unique().tolist():
            if a < SEQ:
                assert pos[a] == 0  # positions restart at each document boundary


def test_concat_mode_deterministic_and_resumable(sample_run, tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        assert main(["pack", str(sample_run[0]), "--out", str(out), "--seq-len", str(SEQ), "--mode", "concat", "--format", "megatron"]) == 0
    assert "samples of 129 tokens" in capsys.readouterr().out
    for f in sorted(a.glob("*.megatron.*")):
        assert f.read_bytes() == (b / f.name).read_bytes()
    logs = []
    pack(str(sample_run[0]), str(a), PackOptions(seq_len=SEQ, mode="concat", formats=("megatron",)), log=logs.append)
    assert not any(line.startswith("[1/") for line in logs)  # every shard already committed
    assert not list(a.glob("*.internevo.bin"))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without a GPU")
def test_asking_for_a_gpu_that_is_not_there_is_a_clear_error(sample_run, tmp_path, capsys):
    assert main(["pack", str(sample_run[0]), "--out", str(tmp_path / "p"), "--device", "cuda"]) != 0
    err = capsys.readouterr().err
    assert "--device cuda" in err and "no GPUs" in err and "--device auto or cpu" in err
