"""`corpus report --compare A B`: what changed between two runs (recipe settings, counts, retention per stage)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from corpus.report.page import CSS, _e, _table


def _flat(x: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(x, dict):
        return {k: v for key, val in x.items() for k, v in _flat(val, f"{prefix}.{key}" if prefix else str(key)).items()}
    if isinstance(x, list) and x and all(isinstance(i, dict) for i in x):
        out = {}
        for i, item in enumerate(x):
            name = next(iter(item)) if len(item) == 1 else str(i)
            out.update(_flat(item[name] if len(item) == 1 else item, f"{prefix}[{name}]"))
        return out
    return {prefix: x}


def load(run_dir: str | Path) -> dict:
    p = Path(run_dir) / "report" / "report.json"
    if not p.is_file():
        from corpus.report import build

        build(run_dir)
    return json.loads(p.read_text())


def effective(recipe: dict) -> dict[str, Any]:
    """Every setting a run used, defaults included: the recipe's own keys, then each stage's parameters as the
    stage saw them (``stages[name].param``), so a setting one recipe leaves at its default is shown with that default
    instead of a dash."""
    import dataclasses

    from corpus.recipe import parse

    flat = _flat(recipe)
    try:
        steps = parse(recipe, "recipe").build()
    except Exception:  # noqa: BLE001 - an old run's recipe this code no longer parses still compares by its own keys
        return flat
    for step in steps:
        if dataclasses.is_dataclass(step.params):
            for f in dataclasses.fields(step.params):
                flat.update(_flat(getattr(step.params, f.name), f"stages[{step.stage_name}].{f.name}"))
    return flat


def _fates(run_dir: str) -> dict[str, tuple[str | None, str | None]]:
    """id -> (drop_reason or None for kept, url) of every document of a run (ledger-only read.* rows left out)."""
    import pyarrow.dataset as ds

    out: dict[str, tuple[str | None, str | None]] = {}
    for sink in ("data", "rejected"):
        files = sorted(str(p) for p in (Path(run_dir) / sink).glob("*.parquet"))
        if not files:
            continue
        d = ds.dataset(files, format="parquet")
        cols = [c for c in ("id", "url", "drop_reason") if c in d.schema.names]
        for batch in d.to_batches(columns=cols, batch_size=65536):
            reasons = batch.column("drop_reason").to_pylist() if "drop_reason" in cols else [None] * batch.num_rows
            urls = batch.column("url").to_pylist() if "url" in cols else [None] * batch.num_rows
            for i, u, r in zip(batch.column("id").to_pylist(), urls, reasons):
                if i is not None and not (r or "").startswith("read."):
                    out[i] = (r, u)
    return out


def fate_changes(dir_a: str, dir_b: str, examples: int = 5) -> dict:
    """Documents (matched by id) whose fate differs between two runs: kept → dropped, dropped → kept, or dropped
    for another reason, with counts and a few examples of each change."""
    fa, fb = _fates(dir_a), _fates(dir_b)
    groups: dict[tuple[str, str], list] = {}
    for i in sorted(set(fa) & set(fb)):
        ra, rb = fa[i][0], fb[i][0]
        if ra != rb:
            groups.setdefault((ra or "kept", rb or "kept"), []).append({"id": i, "url": fb[i][1]})
    changes = [{"a": k[0], "b": k[1], "n": len(v), "examples": v[:examples]} for k, v in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))]
    return {"changes": changes, "only_a": len(set(fa) - set(fb)), "only_b": len(set(fb) - set(fa)), "both": len(set(fa) & set(fb))}


def diff(a: dict, b: dict) -> dict:
    ra, rb = effective(a["recipe"]), effective(b["recipe"])
    settings = [[k, ra.get(k, "(no such stage)"), rb.get(k, "(no such stage)")] for k in sorted(set(ra) | set(rb)) if ra.get(k) != rb.get(k)]
    fa = {s["name"]: s for s in a["funnel"]}
    fb = {s["name"]: s for s in b["funnel"]}
    stages = []
    for name in list(fa) + [n for n in fb if n not in fa]:
        sa, sb = fa.get(name), fb.get(name)
        ret = lambda s: s["docs_out"] / s["docs_in"] if s and s["docs_in"] else None  # noqa: E731
        stages.append({"stage": name, "in": [s and s["docs_in"] for s in (sa, sb)], "out": [s and s["docs_out"] for s in (sa, sb)],
                       "retention": [ret(sa), ret(sb)]})
    reasons = []
    for stage in sorted(set(a["reasons"]) | set(b["reasons"])):
        x, y = a["reasons"].get(stage, {}), b["reasons"].get(stage, {})
        reasons += [[stage, r, x.get(r, 0), y.get(r, 0)] for r in sorted(set(x) | set(y)) if x.get(r, 0) != y.get(r, 0)]
    fates = fate_changes(a["dir"], b["dir"]) if Path(a["dir"]).is_dir() and Path(b["dir"]).is_dir() else None
    return {"a": a["dir"], "b": b["dir"], "settings": settings, "totals": [a["totals"], b["totals"]], "stages": stages, "reasons": reasons,
            "fates": fates}


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def text(d: dict) -> str:
    lines = [f"A: {d['a']}", f"B: {d['b']}", "", "settings that differ (A → B):"]
    lines += [f"  {k}: {va} → {vb}" for k, va, vb in d["settings"]] or ["  (none)"]
    ta, tb = d["totals"]
    lines += ["", f"kept: {ta['kept']:,} → {tb['kept']:,} of {ta['input_records']:,} → {tb['input_records']:,} input records", "",
              f"{'stage':<20}{'out A':>10}{'out B':>10}{'retained A':>12}{'retained B':>12}{'change':>9}"]
    for s in d["stages"]:
        ra, rb = s["retention"]
        change = "–" if ra is None or rb is None else f"{100 * (rb - ra):+.1f}pt"
        lines.append(f"{s['stage']:<20}{s['out'][0] if s['out'][0] is not None else '–':>10}{s['out'][1] if s['out'][1] is not None else '–':>10}"
                     f"{_pct(ra):>12}{_pct(rb):>12}{change:>9}")
    if d["reasons"]:
        lines += ["", "reasons whose counts changed:"] + [f"  {st} / {r}: {x:,} → {y:,}" for st, r, x, y in d["reasons"]]
    f = d.get("fates")
    if f:
        lines += ["", f"documents whose fate changed ({f['both']:,} in both runs; {f['only_a']:,} only in A, {f['only_b']:,} only in B):"]
        lines += [f"  {c['a']} → {c['b']}: {c['n']:,}  e.g. {', '.join(x['url'] or x['id'] for x in c['examples'][:2])}" for c in f["changes"]] or ["  (none)"]
    return "\n".join(lines)


def page(d: dict) -> str:
    ta, tb = d["totals"]
    rows = [[s["stage"], s["out"][0], s["out"][1], _pct(s["retention"][0]), _pct(s["retention"][1])] for s in d["stages"]]
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>compare runs</title><style>{CSS}</style></head>"
            f"<body><header><h1>Run comparison</h1></header>"
            f"<section data-section='runs'><h2>Runs</h2><p class='meta'>A: {_e(d['a'])}<br>B: {_e(d['b'])}</p>"
            + _table(["", "input records", "kept", "rejected", "quarantined"],
                     [["A"] + [ta[k] for k in ("input_records", "kept", "rejected", "quarantined")],
                      ["B"] + [tb[k] for k in ("input_records", "kept", "rejected", "quarantined")]]) + "</section>"
            "<section data-section='settings'><h2>Recipe settings that differ</h2>"
            + (_table(["setting", "A", "B"], d["settings"]) if d["settings"] else "<p class='na'>same recipe settings</p>") + "</section>"
            "<section data-section='stages'><h2>Retention per stage</h2>"
            + _table(["stage", "out A", "out B", "retained A", "retained B"], rows) + "</section>"
            "<section data-section='reasons'><h2>Reasons whose counts changed</h2>"
            + (_table(["stage", "reason", "A", "B"], d["reasons"]) if d["reasons"] else "<p class='na'>none</p>") + "</section>"
            "<section data-section='fates'><h2>Documents whose fate changed</h2>" + _fates_html(d.get("fates")) + "</section></body></html>")


def _fates_html(f: dict | None) -> str:
    if not f:
        return "<p class='na'>one of the run folders is not here</p>"
    head = f"<p class='meta'>{f['both']:,} documents in both runs (by id); {f['only_a']:,} only in A, {f['only_b']:,} only in B.</p>"
    if not f["changes"]:
        return head + "<p class='na'>every document shared by both runs ended the same way</p>"
    rows = [[c["a"], c["b"], c["n"], " · ".join(x["url"] or x["id"] for x in c["examples"])] for c in f["changes"]]
    return head + _table(["in A", "in B", "documents", "examples"], rows)
