"""A stratified, seeded, extendable sample of a run for review.

Strata: every stage x reason x language of the dropped documents (records that never became a document, the
``read.*`` ledger rows, are left out), the kept documents per language as a control (the false-keep rate), and
quartile bands of every numeric signal column (so a what-if curve has labels on both sides of any threshold).
Inside a stratum documents are ordered by a seeded hash of their id, so the same run and seed always give the
same sample, and extending it (a larger depth) only appends: nothing already drawn moves. The queue is
round-robin: round r holds the r-th document of each reason and language stratum, then of each kept stratum;
the band strata follow after ``depth`` rounds, so the first hour of labelling measures the drop reasons.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xxhash

from corpus.review.rundocs import RunView
from corpus.rundir import write_json

BANDS = 4
DEPTH = 10   # documents per stratum in the first sample; "more" adds STEP
STEP = 10


def order_keys(ids: list[str], seed: int) -> np.ndarray:
    """A seeded pseudo-random rank per id, stable across runs (ids are content-derived)."""
    prefix = f"{seed}:".encode()
    return np.fromiter((xxhash.xxh3_64_intdigest(prefix + i.encode()) for i in ids), np.uint64, len(ids))


class Sampler:
    """The review queue of one run; ``DIR/review/sample.json`` keeps its seed and depth across restarts."""

    def __init__(self, view: RunView, seed: int | None = None, depth: int | None = None) -> None:
        self.view = view
        self.state_path = view.dir / "review" / "sample.json"
        state = json.loads(self.state_path.read_text()) if self.state_path.is_file() else {}
        self.seed = seed if seed is not None else int(state.get("seed", 0))
        self.depth = depth or int(state.get("depth", DEPTH))
        self.queue: list[tuple[str, str]] = []
        self.first: list[tuple[str, str]] = []  # offered before the queue (the server's documents to label again)
        self.strata: dict[str, int] = {}  # stratum -> documents in it (in the run, not in the sample)
        if seed is not None or not self.state_path.is_file():
            self._save()
        self._build()

    def _save(self) -> None:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        write_json(self.state_path, {"seed": self.seed, "depth": self.depth})

    def extend(self, step: int = STEP) -> int:
        """Draw ``step`` more documents per stratum (the earlier ones keep their places); returns the new depth."""
        self.depth += step
        self._save()
        self._build()
        return self.depth

    def _build(self) -> None:
        idx = self.view.index
        ids = idx.column("id").to_pylist()
        stages, reasons = idx.column("drop_stage").to_pylist(), idx.column("drop_reason").to_pylist()
        langs = idx.column("lang").to_pylist()
        is_doc = np.array([s != "read" and i is not None for s, i in zip(stages, ids)], bool)
        rank = order_keys([i or "" for i in ids], self.seed)  # aligned with the index rows
        groups: dict[str, list[int]] = {}
        for k in np.flatnonzero(is_doc):
            key = f"drop:{stages[k]}:{reasons[k]}:{langs[k] or '?'}" if stages[k] else f"kept:{langs[k] or '?'}"
            groups.setdefault(key, []).append(int(k))
        self.strata = {k: len(v) for k, v in groups.items()}
        ordered = {k: [ids[j] for j in self._first(np.array(v), rank, k)] for k, v in groups.items()}
        drop_keys = sorted((k for k in ordered if k.startswith("drop:")), key=lambda k: (-self.strata[k], k))
        main = drop_keys + sorted(k for k in ordered if k.startswith("kept:"))
        bands = {k: [ids[j] for j in rows] for k, rows in self._bands(is_doc, rank).items()}
        queue, seen = [], set()
        for keys, pool in ((main, ordered), (sorted(bands), bands)):
            for r in range(self.depth):
                for key in keys:
                    if r < len(pool[key]) and pool[key][r] not in seen:
                        seen.add(pool[key][r])
                        queue.append((pool[key][r], key))
        self.queue = queue

    def _first(self, rows: np.ndarray, rank: np.ndarray, stratum: str) -> np.ndarray:
        """The ``depth`` first rows of a stratum in its own seeded order: the shared id hash mixed with a hash of
        the stratum's name, so overlapping strata (a document is in one band of every signal) do not all pick
        the same documents."""
        salt = np.uint64(xxhash.xxh3_64_intdigest(f"{self.seed}:{stratum}".encode()))
        with np.errstate(over="ignore"):
            mixed = (rank[rows] ^ salt) * np.uint64(0x9E3779B97F4A7C15)
            mixed ^= mixed >> np.uint64(29)
        return rows[np.lexsort((rows, mixed))][: self.depth]

    def _bands(self, is_doc: np.ndarray, rank: np.ndarray) -> dict[str, np.ndarray]:
        """Quartile bands of every numeric signal column over the documents that have a value. Columns are read
        file by file in the index's order, so values line up with the index rows without any id lookup."""
        out: dict[str, np.ndarray] = {}
        sizes = [pq.ParquetFile(f).metadata.num_rows for f in self.view.files]
        names_by_file = [pq.ParquetFile(f).schema_arrow.names for f in self.view.files]
        for spec in self.view.signals:
            parts = []
            for f, names, n in zip(self.view.files, names_by_file, sizes):
                if spec.column in names:
                    parts.append(pc.cast(pq.read_table(f, columns=[spec.column]).column(0), pa.float64()).to_numpy(zero_copy_only=False))
                else:
                    parts.append(np.full(n, np.nan))
            v = np.concatenate(parts) if parts else np.empty(0)
            rows = np.flatnonzero(~np.isnan(v) & is_doc)
            if len(rows) < BANDS:
                continue
            edges = np.unique(np.quantile(v[rows], np.linspace(0, 1, BANDS + 1)[1:-1]))
            band = np.searchsorted(edges, v[rows], side="right")
            for b in np.unique(band):
                members = rows[band == b]
                key = f"band:{spec.column}:{b + 1}/{len(edges) + 1}:{v[members].min():.4g}"
                self.strata[key] = len(members)
                out[key] = self._first(members, rank, key)
        return out

    def next(self, exclude: set[str], n: int = 1, focus: str | None = None) -> list[tuple[str, str]]:
        """The next ``n`` documents of ``first`` then the queue not in ``exclude`` (labelled, or leased to another tab);
        ``focus`` keeps only strata starting with it (``drop:c4``, ``kept:``, ``band:gq_words``)."""
        out, taken = [], set()
        for doc_id, stratum in self.first + self.queue:
            if doc_id in exclude or doc_id in taken or (focus and not stratum.startswith(focus)):
                continue
            taken.add(doc_id)
            out.append((doc_id, stratum))
            if len(out) >= n:
                break
        return out

