"""The report's scan helpers: rows read back by number from real Parquet files, and aggregates that must not
depend on how batches were pooled into chunks (report.json has to stay the same whatever the chunking)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from corpus.report import aggregate
from corpus.report.aggregate import DomainReasons, Sink, Thinned


def _write_sink(root, n_files: int = 4, rows: int = 1000):
    (root / "data").mkdir()
    for f in range(n_files):
        ids = [f"f{f}-{i}" for i in range(rows)]
        t = pa.table({"id": ids, "lang": ["zh" if i % 3 else "en" for i in range(rows)], "n": np.arange(rows, dtype=np.int32) + f})
        if f == 2:
            t = t.drop_columns(["n"])  # an older file without a column the first file has
        pq.write_table(t, root / "data" / f"part-{f}.parquet", row_group_size=300)  # several row groups per file


def test_rows_come_back_by_number_even_after_a_scan_stopped_early(tmp_path):
    _write_sink(tmp_path)
    sink = Sink(tmp_path, "data")
    for _ in sink.chunks(["id", "lang"]):  # the full scan, as collect() makes first
        pass
    for k, _ in enumerate(sink.batches(["id"], 128)):
        if k == 3:
            break  # then one that found what it wanted in the first file (the kept side of the samples)
    whole = ds.dataset(sink.files, format="parquet", schema=sink.schema).to_table(columns=["id", "lang", "n"])
    rows = [0, 299, 300, 999, 1000, 2301, 2999, 3999]
    got = sink.fetch(rows, ["id", "lang", "n"])
    assert [got[r] for r in rows] == [whole.slice(r, 1).to_pylist()[0] for r in rows]
    assert got[2301]["n"] is None and got[3999]["n"] == 999 + 3


def test_chunks_number_rows_and_batches_and_replace_text_by_its_length(tmp_path):
    (tmp_path / "rejected").mkdir()
    texts = ["日本語", None, "abc", ""]
    for f in range(2):
        pq.write_table(pa.table({"text": texts, "x": [1.0, 2.0, 3.0, 4.0]}), tmp_path / "rejected" / f"p{f}.parquet")
    chunk = pa.concat_tables(Sink(tmp_path, "rejected").chunks(["text", "x"]))
    assert chunk.column("_chars").to_pylist() == [3, None, 3, 0] * 2
    assert chunk.column("_row").to_pylist() == list(range(8)) and chunk.column("_batch").to_pylist() == [0] * 4 + [1] * 4


def test_thinned_sample_and_sum_do_not_depend_on_chunking():
    rng = np.random.default_rng(7)
    pieces = [rng.lognormal(size=int(n)) for n in rng.integers(1, 900, size=120)]
    for p in pieces[::7]:
        p[::5] = np.nan
    one = Thinned(cap=500)
    for p in pieces:
        one.add(p)
    pooled = Thinned(cap=500)
    batch = np.concatenate([np.full(len(p), k) for k, p in enumerate(pieces)])
    values = np.concatenate(pieces)
    for lo in range(0, len(values), 9000):  # chunks that cut through pieces, as the scans' chunks cut through files
        pooled.add(values[lo : lo + 9000], batch[lo : lo + 9000])
    assert pooled.step == one.step > 1 and pooled.n == one.n
    assert np.array_equal(pooled.values(), one.values())
    assert pooled.total == one.total  # the same float: sums per scan batch, added in order


def test_domain_reasons_keep_the_order_a_batch_by_batch_scan_met_them():
    """Ties in a domain's top reasons are broken by first appearance, batch by batch, rows with a domain first."""
    rows = [("a.org", "x.one", None), (None, "x.two", "https://www.a.org/p"), ("a.org", "x.two", None),  # batch 0
            (None, "x.three", "http://a.org/q"), ("a.org", "x.four", None), (None, "read.metadata_record", "http://a.org/")]
    t = pa.table({"domain": [r[0] for r in rows], "drop_reason": [r[1] for r in rows], "url": [r[2] for r in rows],
                  "_row": list(range(6)), "_batch": [0, 0, 0, 1, 1, 1]})
    pooled = DomainReasons()
    pooled.see(t, {"domain", "drop_reason", "url"})
    per_batch = DomainReasons()
    for b in range(2):
        per_batch.see(t.slice(3 * b, 3), {"domain", "drop_reason", "url"})
    expected = [("a.org", "x.one"), ("a.org", "x.two"), ("a.org", "x.four"), ("a.org", "x.three")]
    assert list(pooled.counter().items()) == list(per_batch.counter().items()) == [(k, 2 if k[1] == "x.two" else 1) for k in expected]


def test_every_file_of_a_scan_is_reported_done_once_with_its_rows(tmp_path, monkeypatch):
    """The report's progress counts files as the scan leaves them: each once, with its rows, across the groups a
    sink is scanned in, an empty file too (a scan gives it no batch); the rows add up to the scan's."""
    _write_sink(tmp_path, n_files=5, rows=700)
    pq.write_table(pq.read_table(tmp_path / "data" / "part-0.parquet").slice(0, 0), tmp_path / "data" / "part-1b.parquet")
    monkeypatch.setattr(aggregate, "FILE_GROUP", 2)  # three groups of files (0, 1), (1b, 2), (3, 4)
    sink = Sink(tmp_path, "data")
    done: list[tuple[str, int]] = []
    rows = sum(c.num_rows for c in sink.chunks(["id", "lang"], lambda f, n: done.append((f, n))))
    assert sorted(f for f, _ in done) == sink.files and len(done) == len(sink.files) == 6
    assert dict(done) == {f: 0 if f.endswith("1b.parquet") else 700 for f in sink.files} and rows == 5 * 700
