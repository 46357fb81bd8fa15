"""One row's field values from a text dump (JSONL or Parquet), checked and coerced to the document schema.

Every field ends as a string (or null), repaired, coerced, or refused:

- Repaired: a lone UTF-16 surrogate (``"\\ud800"`` escaped in JSON) or a byte sequence that is not UTF-8
  becomes U+FFFD and is counted. Arrow (and every UTF-8 consumer after us) cannot hold a lone surrogate, and
  one bad code unit in a 20 KB page says nothing about the rest of it: a curator keeps the document, and
  the replacement character stays visible to the abnormal-character rules downstream, which judge whether
  the page is too broken to keep.
- Coerced, when the string is exactly what the value means: integers, integral or finite floats, decimals
  (``url: 7``, ``date: 20240101``), timestamps and dates (ISO 8601; an aware timestamp in UTC with ``Z``).
- Refused (``Bad``): a value whose string form would be made up (a dict, a list, a boolean, NaN). The reader
  then rejects the row with ``read.bad_<field>`` and keeps its text in ``rejected/``, instead of dropping
  the field silently or guessing.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re

SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


class Bad(ValueError):
    """A value that has no faithful string form; the message names its type."""


def repair(s: str) -> tuple[str, int]:
    """Replace lone surrogates (the only surrogates a decoded ``str`` can hold) with U+FFFD; return the count."""
    fixed, n = SURROGATE.subn(REPLACEMENT, s)
    return fixed, n


def decode(b: bytes) -> tuple[str, int]:
    """UTF-8 bytes to text; invalid sequences become U+FFFD, counted."""
    try:
        return b.decode("utf-8"), 0
    except UnicodeDecodeError:
        s = b.decode("utf-8", "replace")
        return s, s.count(REPLACEMENT) - b.decode("utf-8", "ignore").count(REPLACEMENT)


def as_string(v: object) -> tuple[str | None, int]:
    """A metadata value (url, date, title, id) as a string, with the number of characters repaired."""
    if v is None or isinstance(v, str):
        return (None, 0) if v is None else repair(v)
    if isinstance(v, bool):  # before int: bool is an int subclass, and "True" is no url or date
        raise Bad("a boolean")
    if isinstance(v, int):
        return str(v), 0
    if isinstance(v, float):
        if not math.isfinite(v):
            raise Bad(f"a non-finite number ({v})")
        return (str(int(v)) if v.is_integer() else repr(v)), 0
    if isinstance(v, decimal.Decimal):
        if not v.is_finite():
            raise Bad(f"a non-finite number ({v})")
        return str(v), 0
    if isinstance(v, dt.datetime):
        if v.tzinfo is not None:
            return v.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat() + "Z", 0
        return v.isoformat(), 0
    if isinstance(v, dt.date):
        return v.isoformat(), 0
    if isinstance(v, (bytes, bytearray)):
        return decode(bytes(v))
    raise Bad(f"a {type(v).__name__}")
