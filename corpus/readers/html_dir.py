"""A folder of saved HTML pages (e.g. a site mirror); each file is one document, url = its relative path.

Every entry under the folder that is not a sub-folder is one record: a page, a row rejected with a reason
(``read.non_html``, ``read.too_large``), or, when it cannot be read (permissions, a dangling symlink, a
FIFO), a ``Damage`` that says which entry and why, so nothing in the folder disappears without a count.
Symlinked sub-folders are not followed (a loop would never end); a symlink to a file is read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Iterator

import pyarrow as pa

from corpus.readers.rows import Damage, RowBuffer
from corpus.recipe import ReadParams

SUFFIXES = {".html", ".htm", ".xhtml"}


def _entries(root: Path) -> Iterator[Path]:
    """Every non-folder entry below ``root`` in a stable order, without following symlinked folders."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        here = Path(dirpath)
        # os.walk lists a symlink to a folder among dirnames and never enters it: it is one entry of its own
        links = [d for d in dirnames if (here / d).is_symlink()]
        for name in sorted(filenames + links):
            yield here / name


def read(path: str, params: ReadParams, buf: RowBuffer) -> Iterator[pa.Table | Damage]:
    root = Path(path)
    for f in sorted(_entries(root)):
        url = "file:" + f.relative_to(root).as_posix()
        st = None
        try:
            st = f.stat()  # follows a symlink: a dangling one raises here
            if stat.S_ISDIR(st.st_mode):
                buf.add(url=url, date=None, payload=b"", ident=url.encode(), reason="read.symlinked_folder")
            elif not stat.S_ISREG(st.st_mode):
                raise OSError(f"not a regular file (mode {stat.filemode(st.st_mode)})")
            elif f.suffix.lower() not in SUFFIXES:
                buf.add(url=url, date=None, payload=b"", ident=url.encode(), reason="read.non_html")
            elif st.st_size > params.max_record_bytes:
                buf.add(url=url, date=None, payload=b"", ident=url.encode(), reason="read.too_large")
            else:
                data = f.read_bytes()
                buf.add(url=url, date=None, payload=data, html=data)
        except OSError as exc:
            size = st.st_size if st is not None and stat.S_ISREG(st.st_mode) else 0
            yield Damage(f"read: {path}: entry {f.relative_to(root).as_posix()!r} cannot be read "
                         f"({exc.strerror or exc}); the other pages were read; fix it and re-run the same command", 0, size)
        if buf.full():
            table = buf.flush()
            if table is not None:
                yield table
