"""Read back a run's outputs for people: the stage funnel and sample documents per stage and reason."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.dataset as ds

from corpus.errors import UserError
from corpus.stats import funnel_text, global_text, lang_funnel_text


class OutputError(UserError, ValueError):
    """A folder that is not a finished run, or a stage/reason it does not have."""


def load_stats(out_dir: str) -> dict:
    p = Path(out_dir) / "stats.json"
    if not p.is_file():
        raise OutputError(f"{p} not found: is {out_dir} the --output folder of a finished `corpus run`?")
    return json.loads(p.read_text())


def stats_text(out_dir: str, by: str = "stage") -> str:
    s = load_stats(out_dir)
    head = (f"{s['pipeline']}: {s['input_records']:,} input records → {s['kept']:,} kept, "
            f"{s['rejected']:,} rejected, {s['quarantined']:,} quarantined")
    if by == "lang":
        return head + "\n" + lang_funnel_text(s["stages"])
    plans = global_text(s.get("global", {}))
    return head + "\n" + funnel_text(s["stages"]) + (f"\n\n{plans}" if plans else "")


def _signal_columns(stage: str) -> list[str]:
    """The columns a stage writes (its signals), so a sample shows which one fired and by how much."""
    from corpus.registry import stages

    step = stages().get(stage)
    return [f.name for f in step.outputs] if step else []


def samples(out_dir: str, stage: str, reason: str | None, n: int, width: int = 500) -> str:
    stats = load_stats(out_dir)
    names = [s["name"] for s in stats["stages"]]
    if stage not in names:
        raise OutputError(f"no stage {stage!r} in this run; stages: {', '.join(names)}")
    info = next(s for s in stats["stages"] if s["name"] == stage)
    if reason and reason not in info["rejected"]:
        valid = ", ".join(info["rejected"]) or "(none: nothing was rejected here)"
        raise OutputError(f"stage {stage!r} rejected nothing with reason {reason!r}; reasons: {valid}")
    blocks = []
    for sink in ("rejected", "quarantine"):
        folder = Path(out_dir) / sink
        if not any(folder.glob("*.parquet")):
            continue
        data = ds.dataset(str(folder), format="parquet")
        flt = pc.field("drop_stage") == stage
        if reason and sink == "rejected":
            flt = flt & (pc.field("drop_reason") == reason)
        elif reason:
            continue
        signals = [c for c in _signal_columns(stage) if c in data.schema.names]
        cols = [c for c in ("id", "url", "lang", "drop_reason", "dup_of", "error", "text") if c in data.schema.names]
        table = data.to_table(columns=cols + signals, filter=flt)
        for row in table.slice(0, n).to_pylist():
            label = row.get("drop_reason") or f"error: {row.get('error')}"
            text = (row.get("text") or "").strip()
            body = text[:width] + (" …" if len(text) > width else "") if text else "(no text: record never reached extraction)"
            dup = f"  duplicate of {row['dup_of']}" if row.get("dup_of") else ""
            shown = [f"{c}={row[c]:.3g}" if isinstance(row[c], float) else f"{c}={row[c]}" for c in signals if row[c] not in (None, 0, "")]
            why = f"\n   {'  '.join(shown)}" if shown else ""
            blocks.append(f"── {label}  id={row.get('id')}  lang={row.get('lang')}{dup}\n   {row.get('url')}{why}\n{body}\n")
    if not blocks:
        return f"no rejected or quarantined documents at stage {stage!r}"
    return "\n".join(blocks)
