"""Per-stage counters whose totals must add up: docs_in == docs_out + sum(rejected) + errors."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path

from corpus.errors import UserError


@dataclasses.dataclass
class StageStats:
    name: str
    docs_in: int = 0
    docs_out: int = 0
    rejected: Counter = dataclasses.field(default_factory=Counter)
    errors: int = 0
    # of the errors, those that depend on the machine (corpus.errors.Transient): the next run redoes the shard
    transient: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    wall_s: float = 0.0
    # what a stage removed inside kept documents (e.g. C4's line filter): lines_removed, chars_removed
    edits: Counter = dataclasses.field(default_factory=Counter)
    # per language (the row's ``lang`` after this stage; "und" before language ID): "out", "errors" and
    # "rejected:<reason>" counts, so a curator sees a stage's funnel for zh and en side by side
    by_lang: dict[str, Counter] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["rejected"] = dict(sorted(self.rejected.items()))
        d["edits"] = dict(sorted(self.edits.items()))
        d["by_lang"] = {lang: dict(sorted(c.items())) for lang, c in sorted(self.by_lang.items())}
        d["wall_s"] = round(self.wall_s, 3)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "StageStats":
        return cls(**{**d, "rejected": Counter(d.get("rejected", {})), "edits": Counter(d.get("edits", {})),
                      "by_lang": {k: Counter(v) for k, v in d.get("by_lang", {}).items()}})

    def count_lang(self, lang: str | None, key: str, n: int = 1) -> None:
        self.by_lang.setdefault(lang or "und", Counter())[key] += n

    def lang_in(self, lang: str) -> int:
        return sum(self.by_lang.get(lang, {}).values())

    def merge(self, other: "StageStats") -> None:
        self.docs_in += other.docs_in
        self.docs_out += other.docs_out
        self.rejected.update(other.rejected)
        self.edits.update(other.edits)
        for lang, c in other.by_lang.items():
            self.by_lang.setdefault(lang, Counter()).update(c)
        self.errors += other.errors
        self.transient += other.transient
        self.bytes_in += other.bytes_in
        self.bytes_out += other.bytes_out
        self.wall_s += other.wall_s

    def balanced(self) -> bool:
        per_lang = sum(sum(c.values()) for c in self.by_lang.values())
        return self.docs_in == self.docs_out + sum(self.rejected.values()) + self.errors and per_lang in (0, self.docs_in)


def merge_all(per_shard: list[list[dict]]) -> list[StageStats]:
    merged: dict[str, StageStats] = {}
    for shard in per_shard:
        for d in shard:
            s = StageStats.from_dict(d)
            if s.name in merged:
                merged[s.name].merge(s)
            else:
                merged[s.name] = s
    return list(merged.values())


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def funnel_text(stages: list[dict]) -> str:
    """The funnel a person reads after a run: one line per stage, then its reasons."""
    lines = [f"{'stage':<16}{'in':>9}{'out':>9}{'rejected':>10}{'errors':>8}{'bytes out':>13}{'wall s':>9}"]
    for s in stages:
        lines.append(
            f"{s['name']:<16}{s['docs_in']:>9,}{s['docs_out']:>9,}{sum(s['rejected'].values()):>10,}"
            f"{s['errors']:>8,}{_mb(s['bytes_out']):>13}{s['wall_s']:>9.1f}"
        )
        for reason, n in sorted(s["rejected"].items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"{'':<18}{reason:<36}{n:>8,}")
        for edit, n in s.get("edits", {}).items():
            if n:
                lines.append(f"{'':<18}{'(kept docs) ' + edit:<36}{n:>8,}")
    return "\n".join(lines)


def lang_funnel_text(stages: list[dict], langs: list[str] | None = None) -> str:
    """The funnel split by language, side by side: per stage the documents in and out per language, then each
    reason's count per language. Before language ID a document's language is "und"; a stage's row counts under
    the language it had when it left the stage, so every column balances on its own."""
    totals: Counter = Counter()
    for s in stages:
        for lang, c in s.get("by_lang", {}).items():
            totals[lang] += c.get("out", 0)
    langs = langs or [lang for lang, _ in totals.most_common(4)]
    head = f"{'stage':<20}" + "".join(f"{lang + ' in':>10}{lang + ' out':>10}{'kept':>6}" for lang in langs)
    lines = [head]
    for s in stages:
        by = {lang: Counter(s.get("by_lang", {}).get(lang, {})) for lang in langs}
        row = f"{s['name']:<20}"
        for lang in langs:
            n_in, n_out = sum(by[lang].values()), by[lang]["out"]
            row += f"{n_in:>10,}{n_out:>10,}{(f'{n_out / n_in:.0%}' if n_in else '-'):>6}"
        lines.append(row)
        reasons = {k for c in by.values() for k in c if k.startswith("rejected:")}
        for r in sorted(reasons, key=lambda k: (-sum(c[k] for c in by.values()), k)):
            counts = "".join(f"{(f'-{by[lang][r]:,}' if by[lang][r] else ''):>10}{'':>16}" for lang in langs)
            lines.append(f"{'':<20}{counts}{r[len('rejected:'):]}")
    return "\n".join(lines)


def global_text(plans: dict[str, dict]) -> str:
    """One paragraph per global stage: what the whole-corpus decision found, in the stage's own words
    (``GlobalStep.describe``, stored with its plan), so the engine never reads a plan's fields."""
    return "\n".join(f"{name}: {p.get('description', '')}, {p.get('wall_s', 0)}s" for name, p in plans.items())


class OutputError(UserError, ValueError):
    """A folder that is not a finished run, or a stage/reason it does not have."""


def load_stats(out_dir: str) -> dict:
    """A finished run's stats.json (read by stats, inspect, the report and the review)."""
    p = Path(out_dir) / "stats.json"
    if not p.is_file():
        raise OutputError(f"{p} not found: is {out_dir} the --output folder of a finished `corpus run`?")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except ValueError:
        raise OutputError(f"{p} is not valid JSON (a run interrupted while writing it?); re-run the same `corpus run` to rewrite it") from None


def mix_of(files: list[Path], weight: str | None = None) -> tuple[Counter, Counter, Counter]:
    """Documents, and tokens (when ``weight`` names a list column of token ids) or characters, by language and
    domain tag."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    by_lang, by_domain, docs = Counter(), Counter(), Counter()
    for f in files:  # sizes and counts in Arrow, one file at a time: a 1M-document run never becomes Python strings
        names = set(pq.read_schema(f).names)
        column = weight or "text"
        t = pq.read_table(f, columns=[c for c in ("lang", "domain_tag") if c in names] + [column])
        size = pc.list_value_length(t[column]) if weight else pc.utf8_length(t[column])
        keys = {c: pc.fill_null(t[c], "?") if c in names else pa.nulls(t.num_rows, pa.string()).fill_null("?")
                for c in ("lang", "domain_tag")}
        g = pa.table({**keys, "n": pc.fill_null(size, 0)}).group_by(["lang", "domain_tag"]).aggregate([("n", "sum"), ("n", "count")])
        for lang, dom, n, count in zip(*(g[c].to_pylist() for c in ("lang", "domain_tag", "n_sum", "n_count"))):
            by_lang[lang] += n
            by_domain[dom] += n
            docs[(lang, dom)] += count
    return by_lang, by_domain, docs
