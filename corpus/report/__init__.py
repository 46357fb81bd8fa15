"""Curator reports: `corpus report DIR` writes DIR/report/index.html (offline) and DIR/report/report.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

from corpus.rundir import write_atomic


def build(out_dir: str | Path, n_samples: int | None = None, quiet: bool = False, interval: float | None = None,
          stream: TextIO | None = None) -> Path:
    """Write DIR/report/index.html and report.json; ``n_samples`` dropped documents per reason (default 10).
    The long phases show their progress on ``stream`` (stderr) as ``corpus run`` and ``corpus pack`` do: a
    redrawn line on a terminal, a line every ``interval`` seconds (60) in a log, nothing when ``quiet``."""
    from corpus.report.aggregate import N_SAMPLES, Display, collect
    from corpus.report.page import render

    out = Path(out_dir)
    display = Display(quiet, interval, stream)
    data = collect(out, n_samples or N_SAMPLES, display)
    folder = out / "report"
    folder.mkdir(exist_ok=True)
    progress = display.counter("pages", ["report.json", "index.html"], "files")
    write_atomic(folder / "report.json", json.dumps(data, indent=1, ensure_ascii=False, default=str))
    progress.commit("report.json")
    page = folder / "index.html"
    write_atomic(page, render(data))
    progress.commit("index.html")
    progress.close()
    return page
