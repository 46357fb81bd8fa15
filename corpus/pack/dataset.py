"""A PyTorch dataset over packed Megatron shards, memory-mapped, for data-parallel training.

The sample order is a permutation drawn from ``seed`` (the same on every rank), and rank r of w takes
every w-th sample of it, so ranks see disjoint data and a restart with the same seed sees the same order.
Each item has ``input_ids`` and ``labels`` (shifted by one), ``position_ids`` restarting at every document
boundary, ``cu_seqlens`` for attention that does not cross documents (padded with the final length), and
``loss_mask``. A label whose target is padding is ``IGNORE_INDEX`` (-100, what ``torch.nn.CrossEntropyLoss``
skips) and its ``loss_mask`` is 0, so training never learns EOS -> EOS from best-fit padding.

Opening checks every ``.bin`` against its ``.idx`` (``formats.ShardMismatch`` on a truncated copy) and every
sidecar against its index, so a damaged shard fails at once instead of giving short samples mid-run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import torch
from torch.utils.data import Dataset

from corpus.pack.formats import MegatronReader, ShardMismatch
from corpus.pack.packing import position_ids

IGNORE_INDEX = -100


class PackedDataset(Dataset):
    def __init__(self, folder: str | Path, seed: int = 0, rank: int = 0, world_size: int = 1, shuffle: bool = True) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside world size {world_size}")
        prefixes = sorted(Path(str(p).removesuffix(".idx")) for p in Path(folder).glob("*.megatron.idx"))
        if not prefixes:
            raise FileNotFoundError(f"{folder}: no *.megatron.idx files; run `corpus pack` with --format megatron or both")
        self.readers = [MegatronReader(p) for p in prefixes]
        self.cu = [pq.read_table(str(p).removesuffix(".megatron") + ".seqs.parquet", columns=["cu_seqlens"]).column(0).to_pylist()
                   for p in prefixes]
        for p, reader, cu in zip(prefixes, self.readers, self.cu):
            if len(cu) != len(reader):
                raise ShardMismatch(f"{p}: the index has {len(reader):,} samples but its .seqs.parquet {len(cu):,}; "
                                    f"the files come from different packs; re-run `corpus pack`")
        index = [(r, i) for r, reader in enumerate(self.readers) for i in range(len(reader))]
        order = np.random.default_rng(seed).permutation(len(index)) if shuffle else np.arange(len(index))
        self.index = [index[j] for j in order[rank::world_size]]
        self.max_docs = max((len(c) for cu in self.cu for c in cu), default=2) + 1  # + the padding segment

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, k: int) -> dict[str, torch.Tensor]:
        r, i = self.index[k]
        tokens = torch.from_numpy(np.asarray(self.readers[r][i], dtype=np.int64))
        cu = torch.tensor(self.cu[r][i], dtype=torch.int64)
        seq_len = len(tokens) - 1
        cu_in = torch.clamp(cu, max=seq_len)
        if cu_in[-1] < seq_len:  # trailing padding is a segment of its own, so cu_seqlens covers every input position
            cu_in = torch.cat([cu_in, torch.tensor([seq_len])])
        padded = torch.cat([cu_in, cu_in[-1:].expand(self.max_docs - len(cu_in))])
        real = int(cu[-1])  # tokens before the padding; label t is token t + 1
        loss_mask = (torch.arange(seq_len) + 1 < real).to(torch.int64)
        labels = torch.where(loss_mask.bool(), tokens[1:], torch.full_like(tokens[1:], IGNORE_INDEX))
        return {"input_ids": tokens[:-1], "labels": labels, "loss_mask": loss_mask,
                "position_ids": position_ids(cu_in, seq_len), "cu_seqlens": padded}
