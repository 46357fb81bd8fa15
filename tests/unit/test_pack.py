"""Packing arithmetic and the on-disk formats, checked against their definitions."""

import json
import struct

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from corpus.pack.formats import MegatronReader, ShardMismatch, read_internevo, write_internevo, write_megatron
from corpus.pack.packing import fill, fill_gather, pack_bfd, pack_concat, position_ids
from corpus.pack.tokenizer import TokenizerError, load


def random_docs(n=60, seed=3, cap=64):
    rng = np.random.default_rng(seed)
    return [rng.integers(1, 1000, size=int(rng.integers(1, 3 * cap))) for _ in range(n)]


def rebuild(packed, docs):
    """Reassemble each document from the segments; samples are read left to right."""
    parts = {}
    for row, segs in zip(packed.tokens, packed.segments):
        pos = 0
        for s in segs:
            parts.setdefault(s.doc, []).append((s.start, row[pos : pos + s.length]))
            pos += s.length
    return {d: np.concatenate([p for _, p in sorted(v, key=lambda x: x[0])]) for d, v in parts.items()}


def test_bfd_keeps_every_token_and_splits_only_long_documents():
    cap = 64
    docs = random_docs(cap=cap)
    packed = pack_bfd(docs, cap, pad_id=0)
    assert packed.tokens.shape[1] == cap
    again = rebuild(packed, docs)
    assert all(np.array_equal(again[i], d) for i, d in enumerate(docs))
    pieces = {}
    for segs in packed.segments:
        assert sum(s.length for s in segs) <= cap
        for s in segs:
            pieces[s.doc] = pieces.get(s.doc, 0) + 1
    assert all(pieces[i] == 1 for i, d in enumerate(docs) if len(d) <= cap)
    assert packed.padding == packed.tokens.size - sum(len(d) for d in docs)
    # best fit beats one document per sample by a wide margin
    assert len(packed.tokens) < 0.8 * sum(max(1, -(-len(d) // cap)) for d in docs)


def test_concat_cuts_the_stream_and_counts_the_tail():
    cap = 64
    docs = random_docs(cap=cap)
    packed = pack_concat(docs, cap)
    stream = np.concatenate(docs)
    assert np.array_equal(packed.tokens.reshape(-1), stream[: packed.tokens.size])
    assert packed.dropped_tail == len(stream) - packed.tokens.size < cap
    for row, segs in zip(packed.tokens, packed.segments):
        assert sum(s.length for s in segs) == cap
        assert np.array_equal(row[: segs[0].length], docs[segs[0].doc][segs[0].start : segs[0].start + segs[0].length])


def test_gather_fill_used_on_gpus_equals_the_slice_copy():
    """The GPU path copies tokens with one gather/scatter; run here on the CPU it must match the slices."""
    cap = 64
    docs = random_docs(n=200, seed=11, cap=cap)
    bins = pack_bfd(docs, cap, pad_id=0).segments
    assert np.array_equal(fill_gather(docs, bins, cap, 7, "cpu"), fill(docs, bins, cap, 7, "cpu"))
    assert fill_gather(docs, [], cap, 7, "cpu").shape == (0, cap)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run by `make test-gpu` on a GPU machine)")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gpu_packing_is_byte_identical_to_cpu(seed):
    cap = 2049
    rng = np.random.default_rng(seed)
    docs = [rng.integers(1, 129000, size=int(max(2, n))) for n in rng.lognormal(6.3, 1.0, 3000)]
    for pack in (lambda d: pack_bfd(docs, cap, 0, d), lambda d: pack_concat(docs, cap, d)):
        cpu, gpu = pack("cpu"), pack("cuda")
        assert cpu.tokens.tobytes() == gpu.tokens.tobytes()
        assert cpu.segments == gpu.segments and cpu.padding == gpu.padding and cpu.dropped_tail == gpu.dropped_tail
    cu = torch.tensor([0, 5, 900, 2049])
    assert torch.equal(position_ids(cu, cap), position_ids(cu.cuda(), cap).cpu())


def test_position_ids_restart_at_boundaries():
    assert position_ids(torch.tensor([0, 3, 5, 8]), 8).tolist() == [0, 1, 2, 0, 1, 0, 1, 2]


def test_megatron_index_matches_the_format(tmp_path):
    tokens = np.arange(3 * 9, dtype=np.int64).reshape(3, 9) + 70000  # > uint16: int32 storage
    write_megatron(tmp_path / "s.megatron", tokens, vocab_size=129280)
    raw = (tmp_path / "s.megatron.idx").read_bytes()
    assert raw[:9] == b"MMIDIDX\x00\x00"
    version, code, n, n_docs = struct.unpack("<QBQQ", raw[9:34])
    assert (version, code, n, n_docs) == (1, 4, 3, 4)
    sizes = np.frombuffer(raw, np.int32, 3, 34)
    pointers = np.frombuffer(raw, np.int64, 3, 34 + 12)
    assert sizes.tolist() == [9, 9, 9] and pointers.tolist() == [0, 36, 72]
    r = MegatronReader(tmp_path / "s.megatron")
    assert [r[i].tolist() for i in range(len(r))] == tokens.tolist()
    write_megatron(tmp_path / "small.megatron", tokens - 70000, vocab_size=32000)
    assert MegatronReader(tmp_path / "small.megatron").dtype == np.uint16


def test_internevo_roundtrip(tmp_path):
    tokens = np.arange(20).reshape(4, 5)
    write_internevo(tmp_path / "s.internevo", tokens)
    assert read_internevo(tmp_path / "s.internevo", 2) == [10, 11, 12, 13, 14]
    first = (tmp_path / "s.internevo.bin").read_text().splitlines()[0]
    assert json.loads(first) == {"tokens": [0, 1, 2, 3, 4]}
    assert np.load(tmp_path / "s.internevo.bin.meta").shape == (4, 2)


def test_tokenizer_errors(tmp_path):
    with pytest.raises(TokenizerError, match="shipped names: deepseek"):
        load(str(tmp_path / "nope"))
    (tmp_path / "tokenizer.json").write_text("{}")
    with pytest.raises(TokenizerError, match="not a Hugging Face tokenizer.json"):
        load(str(tmp_path))
    tok = load("deepseek")
    assert tok.vocab_size == 129280 and tok.eos_id == tok.tokenizer.token_to_id("<｜end▁of▁sentence｜>")


def test_internevo_lines_are_document_segments_without_padding(tmp_path):
    """InternEvo packs lines itself; a padded sample as one line would train EOS -> EOS on the padding."""
    tokens = np.array([[1, 2, 3, 9, 9], [4, 5, 6, 7, 8]])
    write_internevo(tmp_path / "s.internevo", tokens, [[2, 1], [5]])
    lines = [json.loads(x)["tokens"] for x in (tmp_path / "s.internevo.bin").read_text().splitlines()]
    assert lines == [[1, 2], [3], [4, 5, 6, 7, 8]]
    assert np.load(tmp_path / "s.internevo.bin.meta")[:, 1].tolist() == [2, 1, 5]
    assert read_internevo(tmp_path / "s.internevo", 1) == [3]


def test_truncated_or_foreign_bin_fails_when_opened(tmp_path):
    tokens = np.arange(4 * 9, dtype=np.int64).reshape(4, 9)
    write_megatron(tmp_path / "s.megatron", tokens, vocab_size=129280)
    binary = tmp_path / "s.megatron.bin"
    full = binary.read_bytes()
    binary.write_bytes(full[:-10])  # a copy cut short
    with pytest.raises(ShardMismatch, match=r"truncated.*re-run `corpus pack`"):
        MegatronReader(tmp_path / "s.megatron")
    binary.write_bytes(full + full[:36])  # a .bin of another pack beside this .idx
    with pytest.raises(ShardMismatch, match="from another pack"):
        MegatronReader(tmp_path / "s.megatron")
    binary.write_bytes(full)
    assert MegatronReader(tmp_path / "s.megatron")[3].tolist() == tokens[3].tolist()


def test_an_empty_shard_writes_no_files(tmp_path):
    """A curated shard whose documents were all removed upstream: no 0-byte .bin (Megatron and memmap reject it)."""
    from corpus.pack.run import PackOptions, pack_shard

    data = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"id": pa.array([], pa.string()), "text": pa.array([], pa.string())}), data)
    out = tmp_path / "packed"
    out.mkdir()
    stats, files = pack_shard(str(data), out, PackOptions(seq_len=16), load("deepseek"), "cpu")
    assert stats["empty"] and stats["samples"] == 0 and files == {}
    assert list(out.iterdir()) == []


def test_padding_labels_are_ignored_and_masked(tmp_path):
    """A bfd sample with padding: labels whose target is padding are -100 with loss_mask 0; the rest match."""
    from corpus.pack.dataset import IGNORE_INDEX, PackedDataset
    from corpus.pack.run import SIDECAR

    tokens = np.array([[5, 6, 2, 7, 8, 2, 2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8, 2]])  # 6 real tokens, then EOS padding
    write_megatron(tmp_path / "s.megatron", tokens, vocab_size=129280)
    pq.write_table(pa.table({"sample": [0, 1], "doc_ids": [["a", "b"], ["c"]], "doc_starts": [[0, 0], [0]],
                             "cu_seqlens": [[0, 3, 6], [0, 9]], "padding": [3, 0]}, schema=SIDECAR), tmp_path / "s.seqs.parquet")
    ds = PackedDataset(tmp_path, shuffle=False)
    padded, full = ds[0], ds[1]
    assert padded["labels"].tolist() == [6, 2, 7, 8, 2] + [IGNORE_INDEX] * 3
    assert padded["loss_mask"].tolist() == [1] * 5 + [0] * 3
    assert full["labels"].tolist() == tokens[1, 1:].tolist() and full["loss_mask"].all()
    assert padded["position_ids"].tolist() == [0, 1, 2, 0, 1, 2, 0, 1]
