"""Live progress from real shard statistics: the figures a person reads, and the plain lines a log gets."""

import io
import re

from corpus.progress import Progress


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
