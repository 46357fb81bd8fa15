"""Read back a run's outputs for people: the stage funnel and sample documents per stage and reason."""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pyarrow.dataset as ds

from corpus.stats import OutputError, funnel_text, global_text, lang_funnel_text, load_stats




def stats_text(out_dir: str, by: str = "stage") -> str:
    s = load_stats(out_dir)
    head = (f"{s['pipeline']}: {s['input_records']:,} input records → {s['kept']:,} kept, "
            f"{s['rejected']:,} rejected, {s['quarantined']:,} quarantined")
    if by == "lang":
        return head + "\n" + lang_funnel_text(s["stages"])
    plans = global_text(s.get("global", {}))
    review = _review_text(out_dir)
    return head + "\n" + funnel_text(s["stages"]) + (f"\n\n{plans}" if plans else "") + (f"\n\n{review}" if review else "")


def _review_text(out_dir: str) -> str:
    """The human review's numbers (corpus review) when the run has labels."""
    from corpus.review import metrics, store

    return metrics.text(metrics.for_run(out_dir)) if store.path_of(out_dir).is_file() else ""


def _signal_columns(stage: str) -> list[str]:
    """The columns a stage writes (its signals), so a sample shows which one fired and by how much."""
    from corpus.registry import stages

    step = stages().get(stage)
    return [f.name for f in step.outputs] if step else []


def _visible_column(stage: str, names: list[str]) -> str | None:
    """Where extraction left a page's visible text when it kept nothing (``extract_visible``, or
    ``<alias>__extract_visible`` for an aliased extract stage): the raw HTML itself is never written."""
    for name in (f"{stage}__extract_visible", "extract_visible" if stage == "extract" else None):
        if name in names:
            return name
    return None


def _body(stage: str, row: dict, visible: str | None, width: int) -> str:
    """The document's text; for a page extraction emptied, what the page showed instead; else why there is none."""
    text = (row.get("text") or "").strip()
    if text:
        return text[:width] + (" …" if len(text) > width else "")
    shown = (row.get(visible) or "").strip() if visible else ""
    if shown:
        cut = shown[:width] + (" …" if len(shown) > width else "")
        return f"(extraction kept no text; the page's visible text, first {min(width, len(shown)):,} characters:)\n{cut}"
    if stage == "read":
        return "(no text: the record never reached extraction)"
    if visible:
        return "(no text: the page shows no visible text, or is not a page — see the reason)"
    return "(no text stored for this record)"


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
        visible = _visible_column(stage, data.schema.names)
        signals = [c for c in _signal_columns(stage) if c in data.schema.names and c != visible]
        cols = [c for c in ("id", "url", "lang", "drop_reason", "dup_of", "error", "text") if c in data.schema.names]
        table = data.to_table(columns=cols + signals + ([visible] if visible else []), filter=flt)
        for row in table.slice(0, n).to_pylist():
            label = row.get("drop_reason") or f"error: {row.get('error')}"
            body = _body(stage, row, visible, width)
            dup = f"  duplicate of {row['dup_of']}" if row.get("dup_of") else ""
            shown = [f"{c}={row[c]:.3g}" if isinstance(row[c], float) else f"{c}={row[c]}" for c in signals if row[c] not in (None, 0, "")]
            why = f"\n   {'  '.join(shown)}" if shown else ""
            blocks.append(f"── {label}  id={row.get('id')}  lang={row.get('lang')}{dup}\n   {row.get('url')}{why}\n{body}\n")
    if not blocks:
        return f"no rejected or quarantined documents at stage {stage!r}"
    return "\n".join(blocks)
