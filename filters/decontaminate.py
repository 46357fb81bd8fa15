"""Benchmark decontamination: flag (or cut) documents that quote evaluation items (GSM8K, MGSM, your own sets).

A document is contaminated by an item when the n-grams it shares with the item cover at least
``min_overlap`` of the item's best field (its question, or its worked answer): word n-grams for space-separated
text (``word_ngram``), character n-grams for Chinese (``char_ngram``), after one normalisation on both sides
(NFKC width folding, case, punctuation and spacing ignored, digits kept). The measure and the defaults are
explained in corpus/decont/match.py and measured by bench/decont_bench.py.

The index is built once per run on the driver (``prepare``), inside the run folder
(``DIR/global/<stage>/index-<key>``, key = the benchmark files' sha256, the fields and the n-gram sizes), and
memory-mapped by every worker. A re-run, or a later run writing to the same folder, reuses it.

Columns: ``decont_benchmark``, ``decont_item`` (the item's id: its ``id`` column, else its row number),
``decont_overlap`` (filled for any document sharing an n-gram with an item, so thresholds can be tuned on
it), ``decont_span`` (the matched passage, for documents at or above ``min_overlap``). A flagged document is
rejected as ``decontaminate.<benchmark>``; with ``label_only`` it is only labelled; with ``remove_passage``
the passages are cut from the text (counted in ``decontaminate_chars_removed`` and
``decontaminate_passages_removed``, the run's edits) and the document is rejected only when less than
``min_chars_left`` characters remain or the cut text still matches.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from corpus.registry import register
from corpus.step import Step, mark, set_column


@dataclasses.dataclass
class DecontaminateParams:
    # Evaluation sets: [{name, path, fields, id?}]. fields: column names (JSONL keys, Parquet columns, a CSV/TSV
    # header) or 0-based positions for a headerless CSV/TSV; id: the column holding the item id (else the row).
    benchmarks: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    # n-gram lengths: in words for space-separated text, in characters for Chinese (a unit is Chinese when at
    # least half its tokens are Han characters). Measured by bench/decont_bench.py on real crawl pages with
    # GSM8K / MGSM problems planted in them, and on held-out problems of the same style (not in the index):
    # word 8-grams (PaLM's length) find 90% of questions with three words changed at 0.4, 13-grams (GPT-3's)
    # only 67%, and neither flags a clean page or a held-out problem (except one real near-duplicate pair in
    # GSM8K's test set). Character 10-grams find 94% of edited translations; at 8 the phrasing held-out Chinese
    # problems share reaches 0.13 of an item, at 10 under 0.1 (1 English word ~ 1.6 Han characters).
    word_ngram: int = 8
    char_ngram: int = 10
    # flag at this share of an item field's tokens inside shared n-grams: 0.4 also catches half a problem
    # (its overlap is about 0.5); held-out problems of the same style reach 0.13 at p99 (the one above 0.4 is
    # a real near-duplicate pair inside GSM8K's test set, rows 488 and 761).
    min_overlap: float = 0.4
    # index every k-th n-gram of an item (and its last): with k <= n they still tile the item, so a whole quote
    # covers all of it; an edit costs up to k - 1 more tokens each side. Measured: k = 2 halves the index
    # (100k GSM8K-sized items with answers: ~60 MB instead of ~120 MB) for edited recall 0.90 instead of 0.93.
    index_stride: int = 2
    # cut the matched passages and keep the rest of the page (an edit) instead of rejecting the page...
    remove_passage: bool = False
    # ...unless fewer than this many characters remain
    min_chars_left: int = 200
    # label only: fill the columns, reject nothing, change nothing
    label_only: bool = False
    # set by the run (prepare): the index folder every worker memory-maps; never set it in a recipe
    index_dir: str = ""

    ranges: ClassVar[dict[str, tuple[float | None, float | None]]] = {
        "min_overlap": (0, 1), "word_ngram": (3, 64), "char_ngram": (3, 64), "index_stride": (1, 64)}

    def validate(self) -> str | None:
        from corpus.decont.sources import spec_problem

        if not self.benchmarks:
            return "benchmarks: name at least one evaluation set, e.g. [{name: gsm8k, path: gsm8k-test.jsonl, fields: [question, answer]}]"
        for i, spec in enumerate(self.benchmarks):
            problem = spec_problem(i, spec)
            if problem:
                return problem
        names = [b["name"] for b in self.benchmarks]
        if len(set(names)) != len(names):
            return f"benchmarks: names must be unique (they become reasons decontaminate.NAME), got {names}"
        if self.min_overlap <= 0:
            return "min_overlap must be > 0 (at 0 every document would be flagged)"
        if self.index_stride > min(self.word_ngram, self.char_ngram):
            return f"index_stride ({self.index_stride}) must not exceed word_ngram or char_ngram, or a quote could fall between indexed n-grams"
        if self.label_only and self.remove_passage:
            return "label_only changes nothing and remove_passage rewrites text: set only one of them"
        if self.index_dir:
            return "index_dir is set by the run (the index is built in the output folder); remove it from the recipe"
        return None


@register
class Decontaminate(Step):
    name = "decontaminate"
    Params = DecontaminateParams
    outputs = [pa.field("decont_benchmark", pa.string()), pa.field("decont_item", pa.string()),
               pa.field("decont_overlap", pa.float32()), pa.field("decont_span", pa.string()),
               pa.field("decontaminate_chars_removed", pa.int32()), pa.field("decontaminate_passages_removed", pa.int32())]
    thresholds = {"decont_overlap": ("min_overlap",)}
    requires = ("text",)

    def files(self, resolve) -> list[str]:
        """Resolve every benchmark path on the driver, read each file once (a missing column fails here, before
        the run starts), and give the workers the resolved paths."""
        from corpus.decont import sources

        specs, found = [], []
        for i, spec in enumerate(self.params.benchmarks):
            path = resolve(f"benchmarks[{i}].path", spec["path"])
            specs.append({**spec, "path": path})
            sources.load(sources.from_spec(specs[-1]))
            found.append(path)
        self.params = dataclasses.replace(self.params, benchmarks=specs)
        return found

    def prepare(self, work_dir: Path) -> None:
        from corpus.decont import ensure_index, sources
        from corpus.preflight import sha256_file

        p = self.params
        benches = [sources.from_spec(s) for s in p.benchmarks]
        folder, _, _ = ensure_index(benches, [sha256_file(b.path) for b in benches], p.word_ngram, p.char_ngram, Path(work_dir),
                                   p.index_stride)
        self.params = dataclasses.replace(p, index_dir=str(folder))

    def setup(self) -> None:
        from corpus.decont.index import Index
        from corpus.decont.match import Matcher

        if not self.params.index_dir:
            raise RuntimeError("decontaminate: no index; prepare(work_dir) builds it on the driver before the workers start")
        if not Path(self.params.index_dir).is_dir():  # a node without the driver's disk: the same index, built here
            import tempfile

            from corpus.runstore import cache_base

            self.prepare(Path(tempfile.mkdtemp(prefix="decontaminate-", dir=cache_base())))  # small; one per worker
        self.index = Index(self.params.index_dir)
        self.matcher = Matcher(self.index, self.params.min_overlap)

    def __call__(self, table: pa.Table) -> pa.Table:
        from corpus.decont.match import cut, span_text

        p, idx, m = self.params, self.index, self.matcher
        texts = table.column("text").to_pylist()
        n = len(texts)
        bench: list[str | None] = [None] * n
        item: list[str | None] = [None] * n
        overlap: list[float | None] = [None] * n
        span: list[str | None] = [None] * n
        chars, passages = [0] * n, [0] * n
        reasons: list[str | None] = [None] * n
        for i, text in enumerate(texts):
            found = m.find(text) if text else []
            if not found:
                continue
            best = found[0]
            bench[i], item[i], overlap[i] = idx.benchmarks[int(idx.item_bench[best.item])], idx.keys[best.item], best.overlap
            if best.overlap < p.min_overlap:
                continue
            ranges = m.passages(text, [f for f in found if f.overlap >= p.min_overlap])
            span[i] = span_text(text, ranges[0]) if ranges else None
            if p.label_only:
                continue
            if p.remove_passage and ranges:
                left = cut(text, ranges)
                again = m.find(left)
                if len(left) >= p.min_chars_left and not (again and again[0].overlap >= p.min_overlap):
                    texts[i], chars[i], passages[i] = left, len(text) - len(left), len(ranges)
                    continue
            reasons[i] = f"decontaminate.{bench[i]}"
        table = set_column(table, "decont_benchmark", bench, pa.string())
        table = set_column(table, "decont_item", item, pa.string())
        table = set_column(table, "decont_overlap", overlap, pa.float32())
        table = set_column(table, "decont_span", span, pa.string())
        table = set_column(table, "decontaminate_chars_removed", chars, pa.int32())
        table = set_column(table, "decontaminate_passages_removed", passages, pa.int32())
        if p.remove_passage:
            table = set_column(table, "text", texts, pa.string())
        return mark(table, reasons)
