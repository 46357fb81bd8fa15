"""Curator reports: `corpus report DIR` writes DIR/report/index.html (offline) and DIR/report/report.json."""

from __future__ import annotations

import json
from pathlib import Path


def build(out_dir: str | Path) -> Path:
    from corpus.report.aggregate import collect
    from corpus.report.page import render

    out = Path(out_dir)
    data = collect(out)
    folder = out / "report"
    folder.mkdir(exist_ok=True)
    (folder / "report.json").write_text(json.dumps(data, indent=1, ensure_ascii=False, default=str))
    page = folder / "index.html"
    page.write_text(render(data), encoding="utf-8")
    return page
