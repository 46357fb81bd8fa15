"""Multi-scale dedup as one global stage: URL, exact text, MinHash-LSH near duplicates, repeated lines.

WanJuan-CC removes 90% of what survives the rules here, because crawl snapshots repeat the web. The stage
fingerprints documents inside the shard workers (no second read of the text), decides globally with a
partitioned exchange (``corpus.dedup.plan``), then marks rows per shard like any other stage: every dropped
document says which kept document it duplicates (``dup_of``) and every clustered one its ``dup_cluster``.
Repeated lines (CCNet): lines found in at least ``line_min_docs`` surviving documents are boilerplate
(cookie banners, navigation); they are cut from kept documents, and a document left too short is dropped.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpus.dedup import minhash, plan
from corpus.recipe import RecipeError
from corpus.registry import register
from corpus.step import GlobalStep, mark, set_column


@dataclasses.dataclass
class DedupParams:
    url: bool = True            # captures of the same URL (normalised: scheme, www., slash) are duplicates...
    url_keep: str = "newest"    # ...and this one stays: newest | oldest
    exact: bool = True          # same text after line normalisation (case, digits, spacing)
    fuzzy: bool = True          # MinHash-LSH near duplicates
    ngram: int = 5              # shingle size in tokens (words; one Han character is one token) - InternLM2: 5
    num_perm: int = 128         # InternLM2: 128
    threshold: float = 0.7      # Jaccard similarity of shingle sets - InternLM2: 0.7
    verify: bool = True         # check each candidate pair's exact shingle Jaccard similarity against threshold
    bands: int | None = None    # bands x rows; default: datasketch's optimum (recall-weighted when verifying)
    rows: int | None = None
    seed: int = 1               # permutation seed (datasketch's default)
    keep: str = "longest"       # which document of a cluster stays: longest | newest | oldest | quality
    quality_column: str | None = None  # with keep: quality, the score column to maximise
    line_min_docs: int = 10     # a line in this many surviving documents is boilerplate; 0 turns line dedup off
    min_chars: int = 50         # a document cut below this many characters by line dedup is dropped
    memory_mb: int = 1024       # memory budget of one exchange task; sets the number of partitions
    against: list[str] = dataclasses.field(default_factory=list)  # earlier run folders: their kept documents win

    def validate(self) -> str | None:
        if self.url_keep not in ("newest", "oldest"):
            return f"url_keep must be newest or oldest, got {self.url_keep!r}"
        if self.keep not in plan.KEEP_RULES:
            return f"keep must be one of {', '.join(plan.KEEP_RULES)}, got {self.keep!r}"
        if self.keep == "quality" and not self.quality_column:
            return "keep: quality needs quality_column (the score column to maximise)"
        if not 0 < self.threshold < 1:
            return f"threshold must be between 0 and 1, got {self.threshold}"
        if self.ngram < 1 or self.num_perm < 2 or self.memory_mb < 64:
            return "ngram must be >= 1, num_perm >= 2 and memory_mb >= 64"
        if (self.bands is None) != (self.rows is None):
            return "give both bands and rows, or neither (then they are chosen for threshold)"
        if self.bands is not None and (self.bands < 1 or self.rows < 1 or self.bands * self.rows > self.num_perm):
            return f"bands x rows must be at most num_perm ({self.num_perm}), got {self.bands} x {self.rows}"
        return None

    def banding(self) -> tuple[int, int]:
        if self.bands is not None:
            return self.bands, self.rows
        # With verification removing the false positives, banding can favour recall (21 x 6 at 0.7 / 128:
        # a pair at J = 0.72 becomes a candidate 96% of the time, against 53% with equal weights).
        return minhash.optimal_bands(self.threshold, self.num_perm, 0.05 if self.verify else 0.5)

    def lsh_settings(self) -> dict:
        """What a reference corpus's fingerprints must share with this run to be comparable."""
        bands, rows = self.banding()
        return {"ngram": self.ngram, "num_perm": self.num_perm, "seed": self.seed, "bands": bands, "rows": rows}


@register
class Dedup(GlobalStep):
    name = "dedup"
    Params = DedupParams
    outputs = [
        pa.field("dup_cluster", pa.string()), pa.field("dup_cluster_size", pa.int32()), pa.field("dup_of", pa.string()),
        pa.field("dedup_lines_removed", pa.int32()), pa.field("dedup_chars_removed", pa.int32()),
    ]

    def __init__(self, params: DedupParams | None = None, stage_name: str | None = None) -> None:
        super().__init__(params, stage_name)
        self.bands, self.rows = self.params.banding()
        self.fingerprint_schema = pa.schema([
            ("id", pa.string()), ("url_key", pa.uint64()), ("date", pa.string()), ("chars", pa.int64()),
            ("quality", pa.float64()), ("text_hash", pa.uint64()),
            ("bands", pa.list_(pa.uint64(), self.bands)), ("shingles", pa.list_(pa.uint32())),
            ("lines", pa.list_(pa.uint64())),
        ])
        self.decisions: pa.Table | None = None
        self.frequent = np.empty(0, np.uint64)

    # -- map side: inside the shard workers ---------------------------------------------------------------
    def fingerprint(self, table: pa.Table) -> pa.Table:
        p = self.params
        texts = [t or "" for t in table.column("text").to_pylist()]
        if p.fuzzy:
            shingles = [minhash.shingle_hashes(t, p.ngram) for t in texts]
            sig, has = minhash.signatures(shingles, p.num_perm, p.seed)
            keys = minhash.band_keys(sig[:, : self.bands * self.rows], self.bands, self.rows)
            bands = pa.FixedSizeListArray.from_arrays(pa.array(keys.ravel(), pa.uint64()), self.bands,
                                                      mask=pa.array(~has))
            sets = pa.array(shingles if p.verify else [None] * len(texts), pa.list_(pa.uint32()))
        else:
            bands = pa.nulls(len(texts), self.fingerprint_schema.field("bands").type)
            sets = pa.nulls(len(texts), pa.list_(pa.uint32()))
        quality = (table.column(p.quality_column).cast(pa.float64()) if p.quality_column in table.column_names
                   else pa.nulls(len(texts), pa.float64()))
        return pa.Table.from_arrays([
            table.column("id"),
            pa.array([minhash.url_key(u) for u in table.column("url").to_pylist()], pa.uint64()),
            table.column("date"),
            pa.array([len(t) for t in texts], pa.int64()),
            quality,
            pa.array([minhash.text_hash(t) for t in texts], pa.uint64()),
            bands,
            sets,
            pa.array([minhash.line_hashes(t) for t in texts] if p.line_min_docs else [[]] * len(texts), pa.list_(pa.uint64())),
        ], schema=self.fingerprint_schema)

    # -- global: once per run -------------------------------------------------------------------------------
    def plan(self, executor, fingerprints: list[tuple[int, str]], work_dir: Path, cpus: int, store=None) -> dict:
        from corpus import runstore

        p = self.params
        options, work_loc = (store.options, store.loc(work_dir)) if store is not None else (None, str(work_dir))
        sources = [plan.Source(loc, i, options=options) for i, loc in fingerprints]
        for ref_dir in p.against:  # reference node ids after every shard's, whatever gaps failed shards left
            sources += self._reference_sources(Path(ref_dir), 1 + max((s.index for s in sources), default=-1))
        meta = [runstore.parquet_metadata(s.path, s.options) for s in sources]
        rows = sum(m.num_rows for m in meta)
        size = sum(m.row_group(i).total_byte_size for m in meta for i in range(m.num_row_groups))  # uncompressed
        settings = plan.Settings(p.url, p.url_keep, p.exact, p.fuzzy, self.bands, p.threshold, p.verify, p.keep,
                                 p.line_min_docs, plan.partitions_for(size, p.memory_mb, cpus))
        summary = plan.run(executor, sources, settings, work_dir, work_loc, options)
        summary.update(documents=rows, lsh=p.lsh_settings(), references=[str(Path(d).resolve()) for d in p.against],
                       sources=[[s.index, s.path] for s in sources if not s.reference])
        plan.save_summary(work_dir, summary)
        return summary

    def describe(self, s: dict) -> str:
        sizes = ", ".join(f"{k}: {v:,}" for k, v in s.get("cluster_sizes", {}).items())
        dups = ", ".join(f"{k} {v:,}" for k, v in s.get("duplicates", {}).items()) or "none"
        return (f"{s['documents']:,} documents → {s['clusters']:,} duplicate clusters (members {sizes}; largest "
                f"{s.get('largest_cluster', 0):,}); duplicates: {dups}; {s.get('frequent_lines', 0):,} boilerplate lines; "
                f"{s['partitions']} partitions, {s['cc_rounds']} component rounds")

    def files(self, resolve) -> list[str]:
        """The earlier runs named in ``against`` are checked on the driver, before Ray starts; their plans join
        the resume key (a re-run of an earlier corpus changes what this one keeps)."""
        for ref_dir in self.params.against:
            self._reference_sources(Path(ref_dir), 0)
        return [str((Path(d) / "global" / self.stage_name / "plan.json").resolve()) for d in self.params.against]

    def _reference_sources(self, run_dir: Path, start: int) -> list[plan.Source]:
        work = run_dir / "global" / self.stage_name
        try:
            earlier = json.loads((work / "plan.json").read_text())
        except (OSError, ValueError):
            raise RecipeError(f"{self.stage_name}: against: {run_dir} has no {work}/plan.json; give the --output "
                              f"folder of an earlier `corpus run` whose recipe has a '{self.stage_name}' stage") from None
        if earlier.get("lsh") != self.params.lsh_settings():
            raise RecipeError(f"{self.stage_name}: against: {run_dir} was fingerprinted with {earlier.get('lsh')}, this "
                             f"recipe uses {self.params.lsh_settings()}; use the same ngram/num_perm/seed/bands/rows")
        return [plan.Source(path, start + i, True, str(work / "decisions"), index)
                for i, (index, path) in enumerate(earlier["sources"])]

    # -- apply side: per shard, like any step -----------------------------------------------------------------
    def bind(self, work_dir: Path, shard_index: int) -> None:
        self.decisions = plan.shard_decisions(Path(work_dir) / "decisions", shard_index)
        self.decision_rows = pa.array(plan.row_ids(self.decisions.column("node").to_numpy()))
        lines = Path(work_dir) / "frequent_lines.npy"
        self.frequent = np.load(lines, allow_pickle=False) if lines.exists() else np.empty(0, np.uint64)

    def __call__(self, table: pa.Table) -> pa.Table:
        if self.decisions is None:
            raise RuntimeError("dedup applied before bind(): the pipeline must plan the stage first")
        idx = pc.index_in(table.column("_row"), value_set=self.decision_rows)
        for name in ("dup_cluster", "dup_cluster_size", "dup_of"):
            table = set_column(table, name, pc.take(self.decisions.column(name), idx))
        reasons = pc.take(self.decisions.column("reason"), idx).to_pylist()
        texts = table.column("text").to_pylist()
        lines_removed, chars_removed = [0] * len(texts), [0] * len(texts)
        if len(self.frequent):
            for i, text in enumerate(texts):
                if reasons[i] is None and text:
                    texts[i], lines_removed[i] = self._cut_lines(text)
                    chars_removed[i] = len(text) - len(texts[i])
                    if lines_removed[i] and len(texts[i]) < self.params.min_chars:
                        reasons[i] = "dedup.too_short_after_lines"
        table = set_column(table, "text", texts, pa.string())
        table = set_column(table, "dedup_lines_removed", lines_removed, pa.int32())
        table = set_column(table, "dedup_chars_removed", chars_removed, pa.int32())
        return mark(table, reasons)

    def _cut_lines(self, text: str) -> tuple[str, int]:
        lines = text.split("\n")
        hashes = np.fromiter((minhash.line_hash(ln) for ln in lines), dtype=np.uint64, count=len(lines))
        pos = np.searchsorted(self.frequent, hashes).clip(max=len(self.frequent) - 1)
        boiler = (self.frequent[pos] == hashes) & np.array([bool(ln.strip()) for ln in lines])
        if not boiler.any():
            return text, 0
        return "\n".join(ln for ln, b in zip(lines, boiler) if not b), int(boiler.sum())
