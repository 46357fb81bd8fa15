"""Curator reports: `corpus report DIR` writes DIR/report/index.html (offline) and DIR/report/report.json."""

from __future__ import annotations

import json
from pathlib import Path

from corpus.rundir import write_atomic


def build(out_dir: str | Path, n_samples: int | None = None) -> Path:
    """Write DIR/report/index.html and report.json; ``n_samples`` dropped documents per reason (default 10)."""
    from corpus.report.aggregate import N_SAMPLES, collect
    from corpus.report.page import render

    out = Path(out_dir)
    data = collect(out, n_samples or N_SAMPLES)
    folder = out / "report"
    folder.mkdir(exist_ok=True)
    write_atomic(folder / "report.json", json.dumps(data, indent=1, ensure_ascii=False, default=str))
    page = folder / "index.html"
    write_atomic(page, render(data))
    return page
