"""Packing arithmetic on torch tensors, so the same code runs on a GPU when a worker has one and on the
CPU otherwise; integer arithmetic only, so both give the same bytes.

Every sample holds ``capacity = seq_len + 1`` tokens (inputs and shifted labels). ``concat`` joins documents
(each followed by EOS) and cuts the stream into samples, splitting documents at sample edges; the tail that
does not fill a sample is dropped and counted. ``bfd`` (best-fit decreasing) places whole documents into
the sample with the least room that still fits them, splitting only documents longer than a sample, and
pads the rest; boundaries are kept as ``cu_seqlens`` so attention can be reset per document.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Segment:
    doc: int  # index of the document in the window
    start: int  # first token of the document in this segment
    length: int


@dataclass
class Packed:
    tokens: np.ndarray  # [n_samples, capacity]
    segments: list[list[Segment]]  # per sample, in order
    padding: int
    dropped_tail: int


def offsets(lengths: torch.Tensor) -> torch.Tensor:
    """Exclusive prefix sum: where each document starts in the concatenated stream."""
    return torch.cumsum(lengths, 0) - lengths


def position_ids(cu_seqlens: torch.Tensor, capacity: int) -> torch.Tensor:
    """Per-token position within its document segment (restarts at every boundary)."""
    idx = torch.arange(capacity, device=cu_seqlens.device)
    seg = torch.searchsorted(cu_seqlens[1:], idx, right=True).clamp(max=len(cu_seqlens) - 2)
    return idx - cu_seqlens[seg]


def pack_concat(docs: list[np.ndarray], capacity: int, device: str = "cpu") -> Packed:
    lengths = torch.tensor([len(d) for d in docs], dtype=torch.int64, device=device)
    starts = offsets(lengths)
    total = int(lengths.sum())
    n = total // capacity
    stream = np.concatenate(docs) if docs else np.zeros(0, dtype=np.int64)
    tokens = stream[: n * capacity].reshape(n, capacity)
    edges = torch.arange(n + 1, device=device, dtype=torch.int64) * capacity
    first = torch.searchsorted(starts, edges[:-1], right=True) - 1  # document covering each sample start
    segments: list[list[Segment]] = []
    s_list, l_list, f_list = starts.tolist(), lengths.tolist(), first.tolist()
    for i in range(n):
        lo, hi, d, segs = i * capacity, (i + 1) * capacity, f_list[i], []
        while d < len(docs) and s_list[d] < hi:
            a, b = max(lo, s_list[d]), min(hi, s_list[d] + l_list[d])
            if b > a:
                segs.append(Segment(d, a - s_list[d], b - a))
            d += 1
        segments.append(segs)
    return Packed(tokens, segments, padding=0, dropped_tail=total - n * capacity)


def pack_bfd(docs: list[np.ndarray], capacity: int, pad_id: int, device: str = "cpu") -> Packed:
    lengths = torch.tensor([len(d) for d in docs], dtype=torch.int64, device=device)
    # pieces: documents longer than a sample are cut into sample-sized pieces first
    n_pieces = torch.div(lengths + capacity - 1, capacity, rounding_mode="floor").clamp(min=1)
    piece_doc = torch.repeat_interleave(torch.arange(len(docs), device=device), n_pieces)
    piece_idx = torch.arange(len(piece_doc), device=device) - torch.repeat_interleave(offsets(n_pieces), n_pieces)
    piece_start = piece_idx * capacity
    piece_len = torch.minimum(lengths[piece_doc] - piece_start, torch.full_like(piece_start, capacity))
    # decreasing length, ties by document order: a total order, so CPU and GPU agree
    order = torch.argsort(piece_len * (len(piece_len) + 1) + (len(piece_len) - torch.arange(len(piece_len), device=device)),
                          descending=True, stable=True).tolist()
    p_doc, p_start, p_len = piece_doc.tolist(), piece_start.tolist(), piece_len.tolist()
    bins: list[list[Segment]] = []
    room: list[tuple[int, int]] = []  # (remaining capacity, bin index), sorted
    for k in order:
        i = bisect_left(room, (p_len[k], -1))
        if i < len(room):
            left, b = room.pop(i)
        else:
            left, b = capacity, len(bins)
            bins.append([])
        bins[b].append(Segment(p_doc[k], p_start[k], p_len[k]))
        if left - p_len[k] > 0:
            insort(room, (left - p_len[k], b))
    return Packed(fill(docs, bins, capacity, pad_id, device), bins, padding=len(bins) * capacity - sum(p_len), dropped_tail=0)


def fill(docs: list[np.ndarray], bins: list[list[Segment]], capacity: int, pad_id: int, device: str = "cpu") -> np.ndarray:
    """Copy every segment's tokens into its sample. On a CPU, slice copies (memcpy) are fastest; on a GPU
    the copy is one gather/scatter over the whole window. Both give the same array."""
    if device != "cpu":
        return fill_gather(docs, bins, capacity, pad_id, device)
    tokens = np.full((len(bins), capacity), pad_id, dtype=np.int64)
    for b, segs in enumerate(bins):
        pos = 0
        for s in segs:
            tokens[b, pos : pos + s.length] = docs[s.doc][s.start : s.start + s.length]
            pos += s.length
    return tokens


def fill_gather(docs: list[np.ndarray], bins: list[list[Segment]], capacity: int, pad_id: int, device: str) -> np.ndarray:
    flat = [(b, s) for b, segs in enumerate(bins) for s in segs]
    out = torch.full((len(bins) * capacity,), pad_id, dtype=torch.int64, device=device)
    if not flat:
        return out.reshape(len(bins), capacity).cpu().numpy()
    doc_len = torch.tensor([len(d) for d in docs], dtype=torch.int64, device=device)
    stream = torch.from_numpy(np.concatenate(docs).astype(np.int64, copy=False)).to(device)
    seg = torch.tensor([(b, s.doc, s.start, s.length) for b, s in flat], dtype=torch.int64, device=device)
    sample, doc, start, length = seg.unbind(1)
    first = torch.ones_like(length, dtype=torch.bool)
    first[1:] = sample[1:] != sample[:-1]
    seg_end = torch.cumsum(length, 0)
    sample_start = torch.cummax(torch.where(first, seg_end - length, torch.zeros_like(length)), 0).values
    pos = seg_end - length - sample_start  # where the segment begins inside its sample
    within = torch.arange(int(seg_end[-1]), device=device) - torch.repeat_interleave(seg_end - length, length)
    src = torch.repeat_interleave(offsets(doc_len)[doc] + start, length) + within
    dst = torch.repeat_interleave(sample * capacity + pos, length) + within
    out[dst] = stream[src]
    return out.reshape(len(bins), capacity).cpu().numpy()
