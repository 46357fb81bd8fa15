"""The shard processor: exact accounting, and one bad row quarantined without losing its batch."""

import json

import pyarrow as pa
import pyarrow.parquet as pq

from corpus.readers import discover
from corpus.recipe import ReadParams
from corpus.schema import output_schema
from corpus.shard import Segment, process
from corpus.step import Step, mark
from filters.extract import Extract, ExtractParams
from filters.format import Format


class Exploding(Step):
    """Raises on any batch that contains the word BOOM: a stand-in for a parser bug on hostile input."""

    name = "exploding"

    def __call__(self, table: pa.Table) -> pa.Table:
        texts = table.column("text").to_pylist()
        if any("BOOM" in t for t in texts):
            raise ValueError("cannot handle BOOM")
        return mark(table, ["exploding.short" if len(t) < 3 else None for t in texts])


def test_bad_row_is_quarantined_and_batch_survives(tmp_path):
    src = tmp_path / "in.jsonl"
    lines = [{"text": f"document number {i}"} for i in range(10)] + [{"text": "BOOM goes the parser"}, {"text": "ab"}]
    src.write_text("\n".join(json.dumps(l) for l in lines) + "\n")
    (inp,) = discover([str(src)])
    steps = [Format(), Exploding()]
    stats, files = process(inp, ReadParams(batch_size=64), Segment(0, steps), output_schema([]), tmp_path / "out")
    by = {s["name"]: s for s in stats}
    for s in stats:
        assert s["docs_in"] == s["docs_out"] + sum(s["rejected"].values()) + s["errors"], s
    assert by["read"]["docs_in"] == 12
    assert by["exploding"]["errors"] == 1 and by["exploding"]["rejected"] == {"exploding.short": 1}
    q = pq.read_table(files["quarantine"]).to_pylist()
    assert [r["text"] for r in q] == ["BOOM goes the parser"]
    assert q[0]["drop_stage"] == "exploding" and "ValueError: cannot handle BOOM" in q[0]["error"]
    kept = pq.read_table(files["data"])
    assert kept.num_rows == 10 and "drop_reason" not in kept.column_names
    # nothing lost: every input line is in exactly one sink
    total = sum(pq.read_metadata(f).num_rows for f in files.values())
    assert total == 12


def test_single_row_batch_failure_is_quarantined_not_raised(tmp_path):
    src = tmp_path / "one.jsonl"
    src.write_text(json.dumps({"text": "BOOM alone"}) + "\n")
    (inp,) = discover([str(src)])
    stats, files = process(inp, ReadParams(), Segment(0, [Exploding()]), output_schema([]), tmp_path / "out")
    assert stats[1]["errors"] == 1 and pq.read_metadata(files["quarantine"]).num_rows == 1


def test_line_removals_are_counted_in_stats(tmp_path):
    from filters.c4 import C4

    src = tmp_path / "c4.jsonl"
    body = "\n".join(["Menu", "Login"] + [f"This is sentence number {i} of a real paragraph." for i in range(6)])
    src.write_text(json.dumps({"text": body}) + "\n")
    (inp,) = discover([str(src)])
    stats, _ = process(inp, ReadParams(), Segment(0, [C4()]), output_schema(C4.outputs), tmp_path / "out")
    assert stats[1]["edits"] == {"lines_removed": 2, "chars_removed": len("Menu\nLogin\n")}


def test_extraction_budget_is_quarantined_not_rejected(shared_data, tmp_path):
    (inp,) = discover([str(shared_data / "warc-edge" / "iana.warc.gz")])
    slow = Extract(ExtractParams(cpu_limit_s=1e-6))
    stats, files = process(inp, ReadParams(), Segment(0, [slow]), output_schema(slow.outputs), tmp_path / "o")
    assert stats[1]["errors"] == stats[1]["docs_in"] == stats[1]["transient"] > 0 and not stats[1]["rejected"]
    assert all("ExtractBudgetExceeded" in e for e in pq.read_table(files["quarantine"]).column("error").to_pylist())
    fast = Extract()
    stats, _ = process(inp, ReadParams(), Segment(0, [fast]), output_schema(fast.outputs), tmp_path / "o2")
    assert stats[1]["errors"] == 0 and stats[1]["docs_out"] >= 14


def test_every_stage_balances_per_language(shared_data, tmp_path):
    """Real zh-CN and en-US help pages: per stage and language, in == out + rejected + errors, the read stage
    counts everything as undetermined, and after langid the zh and en columns hold the pages of each language."""
    from corpus.stats import StageStats
    from filters.langid import LangId

    (inp,) = discover([str(shared_data / "crawl" / "segment-00000.warc.gz")])
    steps = [Extract(ExtractParams()), LangId(), Format()]
    stats, _ = process(inp, ReadParams(batch_size=128), Segment(0, steps), output_schema([f for s in steps for f in s.outputs]), tmp_path / "out")
    by = {s["name"]: StageStats.from_dict(s) for s in stats}
    for s in by.values():
        assert s.balanced() and sum(s.lang_in(lang) for lang in s.by_lang) == s.docs_in, s.name
    assert set(by["read"].by_lang) == {"und"}
    lang = by["langid"].by_lang
    assert lang["zh"]["out"] > 100 and lang["en"]["out"] > 100
    assert lang["de"].get("rejected:langid.language", 0) > 0 and "out" not in lang["de"]  # de pages dropped, counted as de
    assert by["format"].lang_in("zh") == lang["zh"]["out"]
