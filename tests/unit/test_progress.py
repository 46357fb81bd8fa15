"""Live progress from real shard statistics: the figures a person reads, and the plain lines a log gets."""

import io
import re

from corpus.progress import CountProgress, Progress, TaskProgress


class Log(io.StringIO):
    def isatty(self) -> bool:
        return False


def shard_stats(records: int, docs: int, kept: int, langid_drops: int) -> list[dict]:
    return [{"name": "read", "docs_in": records, "docs_out": docs, "rejected": {"read.request_record": records - docs}},
            {"name": "extract", "docs_in": docs, "docs_out": docs, "rejected": {}},
            {"name": "langid", "docs_in": docs, "docs_out": kept, "rejected": {"langid.language": langid_drops}},
            {"name": "dedup", "docs_in": 0, "docs_out": 0, "rejected": {}}]  # the next global stage's signing


def test_line_counts_documents_not_warc_bookkeeping_and_estimates_eta():
    log = Log()
    p = Progress("extract → langid", {"a": 1000, "b": 1000}, stream=log, interval=0)
    p.commit("a", shard_stats(300, 100, 80, 20))
    p.update("b", shard_stats(150, 50, 40, 10))  # half-way through b, by records per input byte of a
    line = p.line()
    assert "shards 1/2 · 450 records" in line and "150 documents, kept 80%" in line
    assert "langid.language 20%" in line and "read.request_record" not in line
    assert re.search(r"ETA \dm\d\ds", line)
    assert p._fraction() == 0.75


def test_plain_lines_at_the_interval_without_a_terminal():
    log = Log()
    p = Progress("format", {"a": 10}, stream=log, interval=3600)
    p.update("a", shard_stats(10, 10, 5, 5))
    assert log.getvalue() == ""  # not due yet
    p.close()
    assert log.getvalue().count("\n") == 1 and "shards 0/1" in log.getvalue() and "\r" not in log.getvalue()
    quiet = Log()
    q = Progress("format", {"a": 10}, stream=quiet, interval=0, quiet=True)
    q.commit("a", shard_stats(10, 10, 5, 5))
    q.close()
    assert quiet.getvalue() == ""


def test_task_progress_names_the_running_phase_and_counts_tasks():
    log = Log()
    p = TaskProgress("dedup plan", stream=log, interval=0)
    p.submitted("map_fingerprints", 4)
    p.submitted("group_keys", 8)
    p.finished({"map_fingerprints": 4, "group_keys": 3})
    line = log.getvalue().splitlines()[-1]
    assert line.startswith("dedup plan: phase 2 (group_keys 3/8) · tasks 7/12 (")
    p.finished({"group_keys": 8})
    p.close()
    assert "phase 2 (group_keys 8/8) · tasks 12/12" in log.getvalue().splitlines()[-1]


def test_count_progress_sums_figures_and_weighs_the_eta_by_size():
    log = Log()
    p = CountProgress("pack", {"a": 3000, "b": 1000}, stream=log, interval=3600)
    p.commit("a", {"docs": 120, "tokens": 50_000, "device": "cpu", "empty": False})  # text and flags are not summed
    assert log.getvalue() == ""  # a log gets a line per interval, not per shard
    line = p.line()
    assert line.startswith("pack: shards 1/2 · 120 docs (") and "50,000 tokens (" in line and "device" not in line
    assert re.search(r"ETA \dm\d\ds", line)  # 3/4 of the bytes done
    p.commit("b", {"docs": 30, "tokens": 9_000})
    p.close()
    assert "shards 2/2 · 150 docs" in log.getvalue() and "ETA 0m00s" in log.getvalue()
