"""Live progress of a run: shards done, records and records/s, how much is kept, the top drop reasons, an ETA.

A 1,000-page crawl used to run three minutes without a word. Workers now report their in-flight counts every
few seconds (``Progress.update``) besides the shard commits (``Progress.commit``). On a terminal one status line
is redrawn in place; without one (CI, a scheduler's log) a plain line is written every ``interval`` seconds.
The display never changes what is computed: it only reads counts.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import TextIO


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "ETA –"
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"ETA {h}h{m:02d}m" if h else f"ETA {m}m{s:02d}s"


class Progress:
    """Aggregates per-shard counts for one phase (a segment of stages, a dedup plan, packing)."""

    def __init__(self, label: str, shard_bytes: dict[str, int], stream: TextIO | None = None,
                 interval: float | None = None, quiet: bool = False) -> None:
        self.label = label
        self.sizes = shard_bytes  # shard -> input bytes: how the ETA weighs shards of different sizes
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.interval = interval if interval is not None else (0.5 if self.tty else 60.0)
        self.quiet = quiet
        self.started = time.monotonic()
        self.last = self.started
        self.committed: dict[str, dict] = {}  # shard -> counts at commit
        self.running: dict[str, dict] = {}  # shard -> latest in-flight counts

    @staticmethod
    def counts(stats: list[dict]) -> dict:
        """Records in, documents (records that are pages: not WARC requests, metadata, …), kept so far, and the
        drops by reason, from a shard's stage stats (the last entry may be the next global stage's signing)."""
        stages = [s for s in stats if s["docs_in"] or s["name"] == "read"]
        drops: Counter = Counter()
        for s in stages:
            drops.update({r: n for r, n in s.get("rejected", {}).items() if not (r.startswith("read.") and r.endswith("_record"))})
        first = stages[0] if stages else {"docs_in": 0, "docs_out": 0, "name": ""}
        docs = first["docs_out"] + sum(drops[r] for r in drops if r.startswith("read.")) if first["name"] == "read" else first["docs_in"]
        return {"records": first["docs_in"], "docs": docs, "kept": stages[-1]["docs_out"] if stages else 0, "drops": drops}

    def update(self, shard: str, stats: list[dict]) -> None:
        if shard not in self.committed:
            self.running[shard] = self.counts(stats)
        self.tick()

    def fail(self, shard: str) -> None:
        """A shard that failed counts no more: its in-flight figures leave the totals."""
        self.running.pop(shard, None)

    def commit(self, shard: str, stats: list[dict]) -> None:
        self.running.pop(shard, None)
        self.committed[shard] = self.counts(stats)
        self.tick()

    def _fraction(self) -> float | None:
        total = sum(self.sizes.values()) or 1
        done = sum(self.sizes.get(s, 0) for s in self.committed)
        if self.committed:  # records per input byte, learned from finished shards, place the running ones
            per_byte = sum(c["records"] for c in self.committed.values()) / max(1, done)
            for shard, c in self.running.items():
                expected = per_byte * self.sizes.get(shard, 0)
                done += self.sizes.get(shard, 0) * min(0.95, c["records"] / expected if expected else 0)
        return done / total if done else None

    def line(self) -> str:
        everything = list(self.committed.values()) + list(self.running.values())
        records = sum(c["records"] for c in everything)
        docs = sum(c["docs"] for c in everything)
        kept = sum(c["kept"] for c in everything)
        drops = sum((c["drops"] for c in everything), Counter())
        elapsed = max(1e-6, time.monotonic() - self.started)
        frac = self._fraction()
        eta = elapsed * (1 - frac) / frac if frac else None
        top = ", ".join(f"{r} {n / max(1, docs):.0%}" for r, n in drops.most_common(3))
        return (f"{self.label}: shards {len(self.committed)}/{len(self.sizes)} · {records:,} records "
                f"({records / elapsed:,.0f}/s) · {docs:,} documents, kept {kept / max(1, docs):.0%}"
                + (f" · drops: {top}" if top else "") + f" · {_eta(eta)}")

    def tick(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.quiet or not (force or now - self.last >= self.interval):
            return
        self.last = now
        if self.tty:
            self.stream.write("\r\x1b[K" + self.line()[: 200])
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def clear(self) -> None:
        """Before a log line: take the redrawn status line off the terminal (the next tick draws it again)."""
        if self.tty and not self.quiet:
            self.stream.write("\r\x1b[K")

    def close(self) -> None:
        """The final figures; on a terminal, end the redrawn line."""
        if not self.quiet:
            self.tick(force=True)
            if self.tty:
                self.stream.write("\n")
                self.stream.flush()
