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


def diff(a: dict, b: dict) -> dict:
    ra, rb = _flat(a["recipe"]), _flat(b["recipe"])
    settings = [[k, ra.get(k, "–"), rb.get(k, "–")] for k in sorted(set(ra) | set(rb)) if ra.get(k) != rb.get(k)]
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
    return {"a": a["dir"], "b": b["dir"], "settings": settings, "totals": [a["totals"], b["totals"]], "stages": stages, "reasons": reasons}


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
            + (_table(["stage", "reason", "A", "B"], d["reasons"]) if d["reasons"] else "<p class='na'>none</p>") + "</section></body></html>")
