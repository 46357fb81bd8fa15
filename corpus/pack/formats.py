"""Writers and readers for packed shards.

Megatron indexed dataset (what Megatron-LM, NeMo and GPT-NeoX read): ``.bin`` holds the tokens, ``.idx``
holds ``MMIDIDX\\x00\\x00``, version 1 (<Q), dtype code (<B), sequence count (<Q), document count (<Q),
int32 sequence lengths, int64 byte pointers into .bin, int64 document index. The reader below is written
from that description, independently of the writer's code path.

InternEvo: ``.bin`` of JSON lines ``{"tokens": [...]}`` and ``.bin.meta``, a NumPy array of
(byte offset, token count) per line. InternEvo treats a line as a document and packs lines itself (labels
-100 on its own padding), so a line is one document segment of a packed sample, in sample order, and our
padding is never written: a padded sample written as one line would train EOS -> EOS on it.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from corpus.errors import UserError

MAGIC = b"MMIDIDX\x00\x00"
DTYPES = {1: np.uint8, 2: np.int8, 3: np.int16, 4: np.int32, 5: np.int64, 6: np.float64, 7: np.float32, 8: np.uint16}


def _ext(prefix: Path, ext: str) -> Path:
    """prefix + extension (prefixes contain dots, so with_suffix would cut them)."""
    return Path(f"{prefix}{ext}")


class ShardMismatch(UserError, ValueError):
    """A .bin whose size is not what its .idx describes (truncated copy, or files from two different packs)."""


def token_dtype(vocab_size: int) -> tuple[int, type]:
    return (8, np.uint16) if vocab_size <= 65535 else (4, np.int32)


class MegatronWriter:
    """Appends samples of one length to ``.bin`` as they are packed; writes ``.idx`` on close."""

    def __init__(self, prefix: Path, vocab_size: int) -> None:
        self.code, self.dtype = token_dtype(vocab_size)
        self.bin_path, self.idx_path = _ext(prefix, ".bin"), _ext(prefix, ".idx")
        self.fh = open(self.bin_path, "wb")
        self.n = 0
        self.length = 0

    def add(self, tokens: np.ndarray, lengths: list[list[int]] | None = None) -> None:
        if len(tokens):
            self.length = tokens.shape[1]
            self.fh.write(np.ascontiguousarray(tokens, dtype=self.dtype).tobytes())
            self.n += len(tokens)

    def close(self) -> list[Path]:
        self.fh.close()
        sizes = np.full(self.n, self.length, dtype=np.int32)
        pointers = np.arange(self.n, dtype=np.int64) * self.length * np.dtype(self.dtype).itemsize
        doc_idx = np.arange(self.n + 1, dtype=np.int64)
        with open(self.idx_path, "wb") as fh:
            fh.write(MAGIC + struct.pack("<Q", 1) + struct.pack("<B", self.code))
            fh.write(struct.pack("<Q", self.n) + struct.pack("<Q", len(doc_idx)))
            fh.write(sizes.tobytes() + pointers.tobytes() + doc_idx.tobytes())
        return [self.bin_path, self.idx_path]


def write_megatron(prefix: Path, tokens: np.ndarray, vocab_size: int) -> list[Path]:
    w = MegatronWriter(prefix, vocab_size)
    w.add(tokens)
    return w.close()


class MegatronReader:
    """Memory-mapped reader of a Megatron ``.idx``/``.bin`` pair."""

    def __init__(self, prefix: str | Path) -> None:
        prefix = Path(prefix)
        idx = np.memmap(_ext(prefix, ".idx"), dtype=np.uint8, mode="r")
        if bytes(idx[:9]) != MAGIC:
            raise ValueError(f"{prefix}.idx: not a Megatron index (bad magic)")
        (version,) = struct.unpack("<Q", bytes(idx[9:17]))
        if version != 1:
            raise ValueError(f"{prefix}.idx: unsupported version {version}")
        self.dtype = DTYPES[idx[17]]
        n, n_docs = struct.unpack("<QQ", bytes(idx[18:34]))
        off = 34
        self.sizes = np.frombuffer(idx, dtype=np.int32, count=n, offset=off)
        off += 4 * n
        self.pointers = np.frombuffer(idx, dtype=np.int64, count=n, offset=off)
        off += 8 * n
        self.doc_idx = np.frombuffer(idx, dtype=np.int64, count=n_docs, offset=off)
        binary = _ext(prefix, ".bin")
        itemsize = np.dtype(self.dtype).itemsize
        expected = int(self.pointers[-1]) + int(self.sizes[-1]) * itemsize if n else 0
        actual = binary.stat().st_size
        if actual != expected:
            raise ShardMismatch(f"{binary}: {actual:,} bytes, but {prefix}.idx describes {n:,} sequences in {expected:,} bytes: "
                                f"the .bin is {'truncated' if actual < expected else 'from another pack'}; copy it again, or "
                                f"delete the shard's _shards/ marker and re-run `corpus pack`")
        # an empty index (written by older versions for a shard with no documents) pairs with a 0-byte .bin; mmap refuses those
        self.bin = np.memmap(binary, dtype=self.dtype, mode="r") if actual else np.empty(0, self.dtype)

    def __len__(self) -> int:
        return len(self.sizes)

    def __getitem__(self, i: int) -> np.ndarray:
        start = int(self.pointers[i]) // np.dtype(self.dtype).itemsize
        return self.bin[start : start + int(self.sizes[i])]


class InternEvoWriter:
    """Appends one JSON line per sample to ``.bin``; writes the (offset, length) ``.bin.meta`` on close."""

    def __init__(self, prefix: Path) -> None:
        self.bin_path, self.meta_path = _ext(prefix, ".bin"), _ext(prefix, ".bin.meta")
        self.fh = open(self.bin_path, "wb")
        self.meta: list[tuple[int, int]] = []
        self.offset = 0

    def add(self, tokens: np.ndarray, lengths: list[list[int]] | None = None) -> None:
        """One line per document segment (``lengths[i]``: the segment lengths of sample i, padding excluded)."""
        for i, row in enumerate(tokens):
            pos = 0
            for n in (lengths[i] if lengths is not None else [len(row)]):
                line = (json.dumps({"tokens": row[pos : pos + n].tolist()}) + "\n").encode()
                self.meta.append((self.offset, n))
                self.fh.write(line)
                self.offset += len(line)
                pos += n

    def close(self) -> list[Path]:
        self.fh.close()
        with open(self.meta_path, "wb") as fh:
            np.save(fh, np.array(self.meta, dtype=np.int64).reshape(-1, 2))
        return [self.bin_path, self.meta_path]


def write_internevo(prefix: Path, tokens: np.ndarray, lengths: list[list[int]] | None = None) -> list[Path]:
    w = InternEvoWriter(prefix)
    w.add(tokens, lengths)
    return w.close()


def read_internevo(prefix: Path, i: int) -> list[int]:
    bin_path = _ext(prefix, ".bin")
    meta = np.load(_ext(prefix, ".bin.meta"))
    offset, _ = meta[i]
    with open(bin_path, "rb") as fh:
        fh.seek(int(offset))
        return json.loads(fh.readline())["tokens"]
