"""Live progress of a run: shards done, records and records/s, how much is kept, the top drop reasons, an ETA.

A 1,000-page crawl used to run three minutes without a word. Workers now report their in-flight counts every
few seconds (``Progress.update``) besides the shard commits (``Progress.commit``). On a terminal one status line
is redrawn in place; without one (CI, a scheduler's log) a plain line is written every ``interval`` seconds.
The display never changes what is computed: it only reads counts.

Three kinds share one display (``_Display``: redrawn on a terminal, a plain line per interval in a log, nothing
with ``quiet``): ``Progress`` for a segment of per-document stages, ``TaskProgress`` for a global stage's plan
(the dedup plan's phases of Ray tasks, fed by ``ray_exec.RayExecutor``), and ``CountProgress`` for work counted
in shards or files with totals of its own (``corpus pack``'s documents and tokens, the report's scans).
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


class _Display:
    """The shared output: on a terminal one status line redrawn in place at most every ``interval`` seconds
    (0.5 by default), elsewhere a plain line every ``interval`` (60 by default), nothing when ``quiet``."""

    def __init__(self, label: str, stream: TextIO | None = None, interval: float | None = None, quiet: bool = False) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.interval = interval if interval is not None else (0.5 if self.tty else 60.0)
        self.quiet = quiet
        self.started = time.monotonic()
        self.last = self.started

    def line(self) -> str:
        raise NotImplementedError

    def elapsed(self) -> float:
        return max(1e-6, time.monotonic() - self.started)

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


class Progress(_Display):
    """Aggregates per-shard counts for a segment of per-document stages (in-flight reports and commits)."""

    def __init__(self, label: str, shard_bytes: dict[str, int], stream: TextIO | None = None,
                 interval: float | None = None, quiet: bool = False) -> None:
        super().__init__(label, stream, interval, quiet)
        self.sizes = shard_bytes  # shard -> input bytes: how the ETA weighs shards of different sizes
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
        elapsed = self.elapsed()
        frac = self._fraction()
        eta = elapsed * (1 - frac) / frac if frac else None
        top = ", ".join(f"{r} {n / max(1, docs):.0%}" for r, n in drops.most_common(3))
        return (f"{self.label}: shards {len(self.committed)}/{len(self.sizes)} · {records:,} records "
                f"({records / elapsed:,.0f}/s) · {docs:,} documents, kept {kept / max(1, docs):.0%}"
                + (f" · drops: {top}" if top else "") + f" · {_eta(eta)}")


class TaskProgress(_Display):
    """A global stage's plan: Ray tasks grouped into phases (the function each task runs: map_fingerprints,
    group_keys, verify, ...), counted as they finish. Tasks are submitted phase after phase as the plan goes,
    so the total grows; the line says which phase is running, tasks done of those submitted, and the rate."""

    def __init__(self, label: str, stream: TextIO | None = None, interval: float | None = None, quiet: bool = False) -> None:
        super().__init__(label, stream, interval, quiet)
        self.phases: dict[str, list[int]] = {}  # phase -> [done, submitted], in submission order

    def submitted(self, phase: str, n: int) -> None:
        self.phases.setdefault(phase, [0, 0])[1] += n
        self.tick()

    def finished(self, done_by_phase: dict[str, int]) -> None:
        """The number of finished tasks per phase, as counted now (not increments)."""
        for phase, done in done_by_phase.items():
            if phase in self.phases:
                self.phases[phase][0] = done
        self.tick()

    def line(self) -> str:
        done = sum(d for d, _ in self.phases.values())
        total = sum(t for _, t in self.phases.values())
        running = [p for p, (d, t) in self.phases.items() if d < t]
        now = running[0] if running else (list(self.phases)[-1] if self.phases else "starting")
        d, t = self.phases.get(now, [0, 0])
        m, sec = divmod(int(self.elapsed()), 60)
        return (f"{self.label}: phase {list(self.phases).index(now) + 1 if now in self.phases else 0} ({now} {d}/{t}) · "
                f"tasks {done:,}/{total:,} ({done / self.elapsed():,.1f}/s) · {m}m{sec:02d}s")


class CountProgress(_Display):
    """Work done in units (shards, files) whose results carry numbers worth summing (documents, tokens, rows):
    units done/total, each sum with its rate per second, and an ETA from the units' share of ``total``, weighted
    by ``sizes`` (unit -> bytes) when given."""

    def __init__(self, label: str, units: list[str] | dict[str, int], unit_name: str = "shards", stream: TextIO | None = None,
                 interval: float | None = None, quiet: bool = False) -> None:
        super().__init__(label, stream, interval, quiet)
        self.sizes = dict(units) if isinstance(units, dict) else {u: 1 for u in units}
        self.unit_name = unit_name
        self.done: dict[str, dict[str, float]] = {}

    def commit(self, unit: str, counts: dict[str, float] | None = None) -> None:
        self.done[unit] = {k: v for k, v in (counts or {}).items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        self.tick()

    def line(self) -> str:
        elapsed = self.elapsed()
        sums: Counter = Counter()
        for c in self.done.values():
            sums.update(c)
        total = sum(self.sizes.values()) or 1
        frac = sum(self.sizes.get(u, 0) for u in self.done) / total
        eta = elapsed * (1 - frac) / frac if frac else None
        figures = "".join(f" · {v:,.0f} {k} ({v / elapsed:,.0f}/s)" for k, v in sums.items())
        return f"{self.label}: {self.unit_name} {len(self.done)}/{len(self.sizes)}{figures} · {_eta(eta)}"
