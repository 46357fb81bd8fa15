"""Everything a curator's report shows, aggregated from a run's Parquet in one streaming pass per sink.

Counts are exact (from stats.json and full column scans); distributions come from a deterministic thinned
sample of at most ``SAMPLE_CAP`` values per signal and group, so memory stays flat however large the run.
Only numeric signal columns are scanned for distributions; text is read for the few sample documents only.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from corpus.stats import load_stats

SAMPLE_CAP = 20_000
N_SAMPLES = 10  # dropped documents shown per reason (collect(n_samples=...)), each beside a kept one of its language and length
POOL_CAP = 4_000  # kept documents per language held as candidates for the side-by-side view
LENGTH_EDGES = np.logspace(0, 7, 57)  # 1 character to 10M, 8 bins per decade: exact counts, any run size
SNIPPET = 1200
BATCH = 64 * 1024



class Thinned:
    """Every k-th value of a stream, k doubling whenever more than ``cap`` are held: a deterministic,
    evenly spread sample of bounded size."""

    def __init__(self, cap: int = SAMPLE_CAP) -> None:
        self.cap, self.step, self.seen, self.parts = cap, 1, 0, []
        self.n = 0
        self.total = 0.0

    def add(self, values: np.ndarray) -> None:
        values = values[~np.isnan(values)]
        self.n += len(values)
        self.total += float(values.sum()) if len(values) else 0.0
        first = (-self.seen) % self.step
        self.parts.append(values[first :: self.step])
        self.seen += len(values)
        held = sum(len(p) for p in self.parts)
        while held > self.cap:
            merged = np.concatenate(self.parts)
            self.parts, self.step = [merged[::2]], self.step * 2
            held = len(self.parts[0])

    def values(self) -> np.ndarray:
        return np.concatenate(self.parts) if self.parts else np.empty(0)


class Pool:
    """Every k-th (id, length) of a language's kept documents, k doubling past ``cap``: evenly spread candidates to
    put beside a dropped document of similar length, in bounded memory."""

    def __init__(self, cap: int = POOL_CAP) -> None:
        self.cap, self.step, self.seen = cap, 1, 0
        self.ids: list[str] = []
        self.lens: list[int] = []

    def add(self, ids: list[str], lens: list[int]) -> None:
        first = (-self.seen) % self.step
        self.ids += ids[first :: self.step]
        self.lens += lens[first :: self.step]
        self.seen += len(ids)
        while len(self.ids) > self.cap:
            self.ids, self.lens, self.step = self.ids[::2], self.lens[::2], self.step * 2

    def closest(self, n: int, used: set[str]) -> str | None:
        """The candidate nearest to ``n`` characters on a log scale, not already shown in this block."""
        if not self.ids:
            return None
        d = np.abs(np.log1p(np.asarray(self.lens, np.float64)) - np.log1p(n))
        for k in np.argsort(d, kind="stable"):
            if self.ids[k] not in used:
                return self.ids[k]
        return None


@dataclasses.dataclass
class Signal:
    stage: str
    column: str
    thresholds: dict[str, dict[str, float]]  # language ("*" = default) -> {param: value}
    kept: Thinned = dataclasses.field(default_factory=Thinned)
    rejected: Thinned = dataclasses.field(default_factory=Thinned)  # rows this signal's stage dropped


def _param(params: Any, expr: str) -> float | None:
    m = re.fullmatch(r"(\w+)(?:\[(\d+)\]|\.(\w+))?", expr)  # "x", "x[0]" (list item) or "x.key" (dict item)
    value = getattr(params, m.group(1), None)
    if m.group(2) is not None and isinstance(value, list):
        value = value[int(m.group(2))] if int(m.group(2)) < len(value) else None
    if m.group(3) is not None:
        value = value.get(m.group(3)) if isinstance(value, dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def signals_of(manifest: dict) -> list[Signal]:
    """The numeric signal columns of the run's recipe, with the thresholds the recipe set on each."""
    from corpus.recipe import parse

    from corpus.errors import UserError

    try:
        steps = parse(manifest["recipe"], manifest.get("recipe_path") or "recipe").build()
    except UserError:  # a run of an older recipe this code no longer reads: counts and samples, no thresholds
        return []
    out = []
    for step in steps:
        langs = ["*"] + sorted(getattr(step.params, "overrides", {}) or {})
        for f in step.outputs:
            if not (pa.types.is_integer(f.type) or pa.types.is_floating(f.type)) or f.name.endswith("_removed"):
                continue
            th: dict[str, dict[str, float]] = {}
            for lang in langs:
                params = step.params.for_lang(lang) if lang != "*" else step.params
                values = {e: _param(params, e) for e in step.thresholds.get(f.name, ())}
                values = {k: v for k, v in values.items() if v is not None}
                if values and (lang == "*" or values != th.get("*")):
                    th[lang] = values
            out.append(Signal(step.stage_name, f.name, th))
    return out


def _dataset(out_dir: Path, sink: str) -> ds.Dataset | None:
    files = sorted(str(p) for p in (out_dir / sink).glob("*.parquet"))
    return ds.dataset(files, format="parquet") if files else None


def _num(batch: pa.RecordBatch, name: str) -> np.ndarray:
    return pc.cast(batch.column(name), pa.float64()).to_numpy(zero_copy_only=False)


def _scan_kept(data: ds.Dataset | None, signals: list[Signal], pools: dict[str, Pool], lengths: np.ndarray) -> dict:
    langs, domains, tags = Counter(), Counter(), Counter()
    chars = Counter()
    if data is None:
        return {"languages": {}, "domains": {}, "domain_tags": {}, "chars_by_language": {}, "all_domains": {}}
    names = set(data.schema.names)
    cols = [s.column for s in signals if s.column in names] + [c for c in ("id", "lang", "domain", "domain_tag", "text") if c in names]
    for batch in data.to_batches(columns=cols, batch_size=BATCH):
        if "lang" in names:
            lang = batch.column("lang")
            langs.update({r["values"]: r["counts"] for r in pc.value_counts(lang).to_pylist()})
            if "text" in names:
                lens = pc.utf8_length(batch.column("text"))
                for r in pa.table({"lang": lang, "n": lens}).group_by("lang").aggregate([("n", "sum")]).to_pylist():
                    chars[r["lang"]] += r["n_sum"] or 0
                n = pc.fill_null(lens, 0).to_numpy(zero_copy_only=False)
                lengths += np.histogram(np.maximum(n, 1), LENGTH_EDGES)[0]
                if "id" in names:
                    ids, ll, nn = batch.column("id").to_pylist(), lang.to_pylist(), n.tolist()
                    by: dict[str, tuple[list, list]] = {}
                    for i, lg, k in zip(ids, ll, nn):
                        b = by.setdefault(lg or "?", ([], []))
                        b[0].append(i)
                        b[1].append(k)
                    for lg, (i, k) in by.items():
                        pools.setdefault(lg, Pool()).add(i, k)
        for col, counter in (("domain", domains), ("domain_tag", tags)):
            if col in names:
                counter.update({r["values"]: r["counts"] for r in pc.value_counts(batch.column(col)).to_pylist()})
        for s in signals:
            if s.column in names:
                s.kept.add(_num(batch, s.column))
    return {"languages": dict(langs.most_common()), "domains": dict(domains.most_common(25)),
            "domain_tags": dict(tags.most_common()), "chars_by_language": dict(chars.most_common()), "all_domains": dict(domains)}


def _scan_rejected(rejected: ds.Dataset | None, signals: list[Signal], lengths: np.ndarray, domain_reasons: Counter) -> None:
    """Signal values of each stage's drops, the lengths of dropped documents that have text, and (domain, reason)
    counts; records that never became documents (``read.*``) carry no domain and no text and are left out."""
    if rejected is None:
        return
    names = set(rejected.schema.names)
    by_stage: dict[str, list[Signal]] = {}
    for s in signals:
        if s.column in names:
            by_stage.setdefault(s.stage, []).append(s)
    extra = [c for c in ("text", "domain", "url", "drop_reason") if c in names]
    cols = sorted({s.column for group in by_stage.values() for s in group} | set(extra) | {"drop_stage"})
    for batch in rejected.to_batches(columns=cols, batch_size=BATCH):
        if "text" in names:
            n = pc.fill_null(pc.utf8_length(batch.column("text")), 0).to_numpy(zero_copy_only=False)
            lengths += np.histogram(n[n > 0], LENGTH_EDGES)[0]
        if "domain" in names and "drop_reason" in names:
            t = pa.table({"d": batch.column("domain"), "r": batch.column("drop_reason")}).filter(pc.is_valid(batch.column("domain")))
            for r in t.group_by(["d", "r"]).aggregate([("r", "count")]).to_pylist():
                domain_reasons[(r["d"], r["r"])] += r["r_count"]
            if "url" in names:  # dropped before `format` filled the domain (extract, langid): take it from the URL
                rest = pa.table({"u": batch.column("url"), "r": batch.column("drop_reason")}).filter(pc.is_null(batch.column("domain")))
                for u, r in zip(rest.column("u").to_pylist(), rest.column("r").to_pylist()):
                    if u and r and not r.startswith("read."):
                        d = (urlsplit(u).hostname or "").removeprefix("www.")
                        if d:
                            domain_reasons[(d, r)] += 1
        for stage, group in by_stage.items():
            mask = pc.fill_null(pc.equal(batch.column("drop_stage"), stage), False)
            if not pc.any(mask).as_py():
                continue
            sub = batch.filter(mask)
            for s in group:
                s.rejected.add(_num(sub, s.column))


def _snippet(text: str | None) -> str:
    text = text or ""
    return text[:SNIPPET] + (" …" if len(text) > SNIPPET else "")


def _signal_values(row: dict, stage: str, signals: list[Signal]) -> list[dict]:
    """The dropping stage's signals of one document, beside the recipe's thresholds for its language."""
    out = []
    for sig in signals:
        if sig.stage != stage or row.get(sig.column) is None:
            continue
        v = float(row[sig.column])
        if np.isnan(v):
            continue
        th = sig.thresholds.get(row.get("lang") or "", sig.thresholds.get("*", {}))
        out.append({"column": sig.column, "value": round(v, 6), "thresholds": th})
    return out


def _samples(out_dir: Path, stats: dict, signals: list[Signal] | None = None, pools: dict[str, Pool] | None = None,
             n_samples: int = N_SAMPLES) -> dict:
    """Up to ``n_samples`` dropped documents per (stage, reason) with their stage's signal values, each beside a kept
    document of the same language and the nearest length (a different one for each sample of a reason, so the
    kept side is not one page over and over); quarantined ones per stage; a few kept ones per language."""
    signals, pools = signals or [], pools or {}
    wanted = {(s["name"], r) for s in stats["stages"] for r in s["rejected"]}
    found: dict[tuple[str, str], list[dict]] = {k: [] for k in wanted}
    rejected = _dataset(out_dir, "rejected")
    if rejected is not None and wanted:
        names = set(rejected.schema.names)
        cols = [c for c in ("id", "url", "lang", "title", "text", "extract_visible", "drop_stage", "drop_reason", "dup_of") if c in names]
        cols += sorted({sig.column for sig in signals if sig.column in names} - set(cols))
        for batch in rejected.to_batches(columns=cols, batch_size=4096):
            open_keys = [k for k, v in found.items() if len(v) < n_samples]
            if not open_keys:
                break
            pairs = set(zip(batch.column("drop_stage").to_pylist(), batch.column("drop_reason").to_pylist()))
            for key in open_keys:
                if key not in pairs:
                    continue
                mask = pc.and_(pc.equal(batch.column("drop_stage"), key[0]), pc.equal(batch.column("drop_reason"), key[1]))
                for row in batch.filter(mask).slice(0, n_samples - len(found[key])).to_pylist():
                    sample = {k: row.get(k) for k in ("id", "url", "lang", "title", "drop_stage", "drop_reason", "dup_of")}
                    sample["chars"] = len(row.get("text") or "")
                    sample["text"] = _snippet(row.get("text"))
                    sample["extract_visible"] = _snippet(row.get("extract_visible"))
                    sample["signals"] = _signal_values(row, key[0], signals)
                    found[key].append(sample)
    # a kept document beside each dropped one: same language, nearest length, none twice in a reason's block
    beside: dict[str, str] = {}
    for key, rows in found.items():
        used: set[str] = set()
        for r in rows:
            pool = pools.get(r.get("lang") or "?")
            if pool is None or r.get("dup_of"):
                continue
            pick = pool.closest(r["chars"], used)
            if pick is not None:
                used.add(pick)
                r["beside"] = pick
                beside[pick] = ""
    keepers = {r["dup_of"] for rows in found.values() for r in rows if r.get("dup_of")}
    kept_by_lang: dict[str, list[dict]] = {}
    keeper_text: dict[str, str] = {}
    kept_rows: dict[str, dict] = {}
    data = _dataset(out_dir, "data")
    if data is not None:
        cols = [c for c in ("id", "url", "lang", "title", "text") if c in data.schema.names]
        wanted_ids = pa.array(sorted(keepers | set(beside)), pa.string())
        for batch in data.to_batches(columns=cols, batch_size=4096):
            rows = batch.filter(pc.is_in(batch.column("id"), wanted_ids)).to_pylist()  # only the rows asked for, not every row
            if "lang" in batch.schema.names and not (kept_by_lang and all(len(v) >= 3 for v in kept_by_lang.values())):
                rows += batch.slice(0, 64).to_pylist()
            for row in rows:
                if row["id"] in keepers:
                    keeper_text[row["id"]] = _snippet(row.get("text"))
                if row["id"] in beside:
                    kept_rows[row["id"]] = dict(row, chars=len(row.get("text") or ""), text=_snippet(row.get("text")))
                lst = kept_by_lang.setdefault(row.get("lang") or "?", [])
                if len(lst) < 3 and all(x["id"] != row["id"] for x in lst):
                    lst.append(dict(row, text=_snippet(row.get("text"))))
            if (len(keeper_text) == len(keepers) and len(kept_rows) == len(beside) and kept_by_lang
                    and all(len(v) >= 3 for v in kept_by_lang.values())):
                break
    keeper_dropped: dict[str, str] = {}
    rejected = _dataset(out_dir, "rejected") if keepers - set(keeper_text) else None
    if rejected is not None:  # a cluster's survivor can still be dropped by a later stage (safety, quality)
        missing = pa.array(sorted(keepers - set(keeper_text)), pa.string())
        for row in rejected.to_table(columns=["id", "drop_reason", "text"], filter=pc.field("id").isin(missing)).to_pylist():
            keeper_text[row["id"]], keeper_dropped[row["id"]] = _snippet(row.get("text")), row["drop_reason"]
    for rows in found.values():
        for r in rows:
            if r.get("dup_of"):
                r["dup_of_text"] = keeper_text.get(r["dup_of"])
                r["dup_of_dropped"] = keeper_dropped.get(r["dup_of"])
            if r.get("beside"):
                r["beside"] = kept_rows.get(r["beside"])
    quarantine = []
    q = _dataset(out_dir, "quarantine")
    if q is not None:
        cols = [c for c in ("id", "url", "source", "drop_stage", "error") if c in q.schema.names]
        quarantine = q.head(20, columns=cols).to_pylist()
    return {"rejected": [{"stage": k[0], "reason": k[1], "docs": v} for k, v in sorted(found.items())],
            "kept": kept_by_lang, "quarantine": quarantine, "per_reason": n_samples}


def _domains(mix: dict, domain_reasons: Counter, n: int = 25) -> list[dict]:
    """The top domains by documents in (kept + dropped after they became documents): kept, and why the rest fell."""
    kept = mix.pop("all_domains", {})
    total = Counter(kept)
    why: dict[str, Counter] = {}
    for (d, r), c in domain_reasons.items():
        if r and r.startswith("read."):
            continue
        total[d] += c
        why.setdefault(d, Counter())[r] += c
    return [{"domain": d, "in": c, "kept": kept.get(d, 0), "reasons": dict(why.get(d, Counter()).most_common(4))}
            for d, c in sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def _histogram(sig: Signal, bins: int = 40) -> dict:
    k, r = sig.kept.values(), sig.rejected.values()
    both = np.concatenate([k, r])
    if not len(both):
        return {}
    lo, hi = np.quantile(both, [0.005, 0.995])
    for th in sig.thresholds.values():
        for v in th.values():
            lo, hi = min(lo, v), max(hi, v)
    if hi <= lo:
        hi = lo + 1
    edges = np.linspace(lo, hi, bins + 1)
    clip = lambda a: np.clip(a, lo, hi)  # noqa: E731 - values outside the shown range fall in the end bins
    return {"edges": edges.round(6).tolist(),
            "kept": np.histogram(clip(k), edges)[0].tolist(), "rejected": np.histogram(clip(r), edges)[0].tolist()}


def _main_languages(stages: list[dict], n: int = 4) -> list[str]:
    """The languages with most documents leaving any stage (zh and en first in a WanJuan run)."""
    totals: dict[str, int] = {}
    for s in stages:
        for lang, c in s.get("by_lang", {}).items():
            totals[lang] = totals.get(lang, 0) + c.get("out", 0)
    return sorted(totals, key=lambda k: (-totals[k], k))[:n]


def collect(out_dir: str | Path, n_samples: int = N_SAMPLES) -> dict:
    """The report's aggregates (also written as report.json)."""
    out = Path(out_dir)
    stats = load_stats(str(out))
    manifest = json.loads((out / "manifest.json").read_text())
    signals = signals_of(manifest)
    pools: dict[str, Pool] = {}
    kept_len, rej_len = np.zeros(len(LENGTH_EDGES) - 1, np.int64), np.zeros(len(LENGTH_EDGES) - 1, np.int64)
    domain_reasons: Counter = Counter()
    mix = _scan_kept(_dataset(out, "data"), signals, pools, kept_len)
    _scan_rejected(_dataset(out, "rejected"), signals, rej_len, domain_reasons)
    used = np.flatnonzero(kept_len + rej_len)
    lengths = ({"edges": LENGTH_EDGES[used[0]: used[-1] + 2].round(2).tolist(), "kept": kept_len[used[0]: used[-1] + 1].tolist(),
                "rejected": rej_len[used[0]: used[-1] + 1].tolist()} if len(used) else {})
    domains = _domains(mix, domain_reasons)
    dists = []
    for s in signals:
        if not s.kept.n and not s.rejected.n:
            continue
        kv, rv = s.kept.values(), s.rejected.values()
        dists.append({
            "stage": s.stage, "column": s.column, "thresholds": s.thresholds,
            "kept": {"n": s.kept.n, "mean": s.kept.total / s.kept.n if s.kept.n else None,
                     "quantiles": np.quantile(kv, [0.05, 0.25, 0.5, 0.75, 0.95]).round(6).tolist() if len(kv) else []},
            "rejected": {"n": s.rejected.n, "mean": s.rejected.total / s.rejected.n if s.rejected.n else None},
            "histogram": _histogram(s), "sampled": {"kept": len(kv), "rejected": len(rv)},
        })
    stages = stats["stages"]
    return {
        "pipeline": stats["pipeline"], "dir": str(out.resolve()), "recipe": manifest["recipe"],
        "recipe_path": manifest.get("recipe_path"), "started_at": manifest.get("started_at"), "wall_s": manifest.get("wall_s"),
        "inputs": len(manifest.get("inputs", [])), "versions": manifest.get("versions", {}),
        "totals": {k: stats[k] for k in ("input_records", "kept", "rejected", "quarantined")},
        "failed_shards": stats.get("failed_shards", []),
        "funnel": [{k: s[k] for k in ("name", "docs_in", "docs_out", "errors", "bytes_in", "bytes_out", "wall_s")}
                   | {"rejected": sum(s["rejected"].values()), "edits": s.get("edits", {})} for s in stages],
        "reasons": {s["name"]: s["rejected"] for s in stages if s["rejected"]},
        "by_lang": [{"name": s["name"], "langs": s.get("by_lang", {})} for s in stages],
        "languages_shown": _main_languages(stages),
        "errors": {s["name"]: s["errors"] for s in stages if s["errors"]},
        "mix": mix, "global": stats.get("global", {}),
        "safety": {s["name"]: s for s in stages if s["name"].startswith("safety")},
        "distributions": dists,
        "score_columns": [s.column for s in signals if s.column.endswith("_score")],
        "samples": _samples(out, stats, signals, pools, n_samples),
        "lengths": lengths, "domain_table": domains, "review": _review(out),
        "decontamination": _decontamination(out),
    }


def _decontamination(out: Path, n_top: int = 20, n_examples: int = 5) -> dict | None:
    """Benchmark items found in the run's pages: documents per benchmark, the items leaked and how often, and
    example passages beside the benchmark item (its text from the index the run built under global/<stage>/).
    None when no stage of the recipe looked for them."""
    found, looked = [], False
    for sink in ("data", "rejected"):
        d = _dataset(out, sink)
        if d is None or "decont_benchmark" not in d.schema.names:
            continue
        looked = True
        cols = ["id", "url", "decont_benchmark", "decont_item", "decont_overlap", "decont_span"]
        found += [dict(r, kept=sink == "data") for r in d.to_table(columns=cols, filter=pc.field("decont_benchmark").is_valid()).to_pylist()]
    if not looked:
        return None
    items = Counter((r["decont_benchmark"], str(r["decont_item"])) for r in found)
    texts: dict[tuple[str, str], str] = {}
    wanted = set(items)
    for path in sorted(out.glob("global/*/index-*/texts.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            t = json.loads(line)
            if (t["benchmark"], str(t["item"])) in wanted:
                texts[(t["benchmark"], str(t["item"]))] = "\n".join(map(str, t["fields"]))
    examples = sorted(found, key=lambda r: (-(r["decont_overlap"] or 0), r["id"]))[:n_examples]
    return {
        "documents": dict(Counter(r["decont_benchmark"] for r in found)),
        "passages_kept": sum(r["kept"] for r in found),
        "items": {b: sum(1 for bb, _ in items if bb == b) for b in {b for b, _ in items}},
        "top": [[b, i, n] for (b, i), n in items.most_common(n_top)],
        "examples": [{**r, "item_text": _snippet(texts.get((r["decont_benchmark"], str(r["decont_item"]))))} for r in examples],
    }


def _review(out: Path) -> dict | None:
    """The human review's numbers when DIR/review/labels.parquet exists (see corpus.review), with what-if curves
    for the thresholded signals that have labels on them."""
    from corpus.review import metrics, store
    from corpus.review.rundocs import RunView

    if not store.path_of(out).is_file():
        return None
    view = RunView(out)
    labels = store.read(out)
    summary = metrics.summarize(labels, view)
    curves = []
    for spec in view.signals:
        if spec.exprs and not spec.stage.startswith("domain_tags"):
            c = metrics.whatif(view, labels, spec.column, points=16)
            if c and c["good"] + c["bad"] >= 5:
                curves.append(c)
    summary["whatif"] = curves
    return summary
