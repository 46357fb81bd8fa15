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

from corpus import storage
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
    if storage.is_url(path):
        yield from _read_remote(path, params, buf)
        return
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


def _read_remote(url: str, params: ReadParams, buf: RowBuffer) -> Iterator[pa.Table | Damage]:
    """A prefix of an object store read as a folder: every object below it is one record, as for a local folder
    (an object store has no symlinks or FIFOs). A page the store still fails to serve after its retries fails the
    shard (``storage.Unavailable``), so the next run reads it again instead of losing it."""
    root = url.rstrip("/") + "/"
    for entry in storage.files_under(url, storage.options_of(params)):
        rel = entry.url[len(root):] if entry.url.startswith(root) else entry.url.rsplit("/", 1)[-1]
        name = "file:" + rel
        if Path(rel).suffix.lower() not in SUFFIXES:
            buf.add(url=name, date=None, payload=b"", ident=name.encode(), reason="read.non_html")
        elif entry.size > params.max_record_bytes:
            buf.add(url=name, date=None, payload=b"", ident=name.encode(), reason="read.too_large")
        else:
            try:
                data = storage.read_bytes(entry.url, storage.options_of(params))
            except (FileNotFoundError, PermissionError) as exc:  # gone or refused since discovery: as a local entry
                yield Damage(f"read: {url}: entry {rel!r} cannot be read ({exc}); the other pages were read; fix it and "
                             f"re-run the same command", 0, entry.size)
                continue
            buf.add(url=name, date=None, payload=data, html=data)
        if buf.full():
            table = buf.flush()
            if table is not None:
                yield table
