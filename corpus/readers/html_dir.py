"""A folder of saved HTML pages (e.g. a site mirror); each file is one document, url = its relative path."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pyarrow as pa

from corpus.readers import RowBuffer
from corpus.recipe import ReadParams

SUFFIXES = {".html", ".htm", ".xhtml"}


def read(path: str, params: ReadParams, buf: RowBuffer) -> Iterator[pa.Table | str]:
    root = Path(path)
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        url = "file:" + f.relative_to(root).as_posix()
        if f.suffix.lower() not in SUFFIXES:
            buf.add(url=url, date=None, payload=b"", ident=url.encode(), reason="read.non_html")
        elif f.stat().st_size > params.max_record_bytes:
            buf.add(url=url, date=None, payload=b"", ident=url.encode(), reason="read.too_large")
        else:
            data = f.read_bytes()
            buf.add(url=url, date=None, payload=data, html=data)
        if buf.full():
            yield buf.flush()
