"""Decode crawled bytes: HTTP header charset, then the page's meta tag, then statistical detection.

Legacy Chinese labels are widened to GB18030 and Latin-1 to windows-1252, as browsers do (WHATWG), so
pages that lie about their encoding in the usual ways still decode.
"""

from __future__ import annotations

import codecs
import re


_META = re.compile(rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]{2,40})", re.I)
_WIDEN = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "iso-8859-1": "cp1252",
          "latin-1": "cp1252", "latin1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252"}


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    label = _WIDEN.get(label.lower().strip(), label.lower().strip())
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def meta_charset(data: bytes) -> str | None:
    m = _META.search(data[:4096])
    return m.group(1).decode("ascii", "ignore") if m else None


def decode(data: bytes, header_charset: str | None) -> tuple[str, str]:
    """Return (text, how) where ``how`` names the source of the charset (kept for diagnosis)."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", "replace"), "bom"
    for how, label in (("header", header_charset), ("meta", meta_charset(data))):
        codec = _codec(label)
        if codec:
            try:
                return data.decode(codec), how
            except UnicodeDecodeError:
                continue  # a declared charset that does not fit the bytes: fall through to the next source
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes  # here: only workers decode pages

    best = from_bytes(data[:65536]).best()
    if best is not None and best.encoding:
        return data.decode(best.encoding, "replace"), "detected"
    return data.decode("utf-8", "replace"), "fallback"


_CONTROL_BYTES = bytes([*range(9), *range(14, 32)])


def looks_binary(data: bytes) -> bool:
    """NUL bytes or mostly control bytes in the head: an image or archive served as text/html."""
    head = data[:4096]
    if not head:
        return False
    if b"\x00" in head:
        return True
    ctrl = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return ctrl / len(head) > 0.05
