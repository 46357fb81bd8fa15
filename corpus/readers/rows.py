"""What every format reader shares: the row buffer that turns records into Arrow batches, the ``Damage`` a
reader yields for an unreadable byte range, and ``InputError`` for inputs that cannot work at all. Kept apart
from ``corpus.readers`` (discovery and dispatch) so the format readers never import the package that imports them."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from corpus.errors import UserError
from corpus.schema import RAW_SCHEMA, doc_id


class InputError(UserError, ValueError):
    """Inputs that cannot be read at all (missing path, unknown format)."""


@dataclass(frozen=True)
class Damage:
    """A byte range of an input that no record could be recovered from (a corrupt gzip member, garbage
    between records, a cut-off tail). A reader yields it where it happens and goes on with the next
    readable record; the shard quarantines it as one row with ``message`` and counts ``length`` in the
    read stage's ``corrupt_bytes``. ``length`` is 0 when the extent is unknown (the rest of a file)."""

    message: str
    offset: int = 0
    length: int = 0


class RowBuffer:
    """Collects raw rows and emits Arrow tables of ``batch_size`` rows."""

    def __init__(self, source: str, shard: str, batch_size: int) -> None:
        self.source, self.shard, self.batch_size = source, shard, batch_size
        self.rows: dict[str, list] = {f.name: [] for f in RAW_SCHEMA}

    def add(
        self,
        *,
        url: str | None,
        date: str | None,
        payload: bytes,
        html: bytes | None = None,
        text: str | None = None,
        title: str | None = None,
        charset: str | None = None,
        reason: str | None = None,
        ident: bytes | None = None,
    ) -> None:
        r = self.rows
        r["id"].append(doc_id(url, date, ident if ident is not None else payload))
        r["url"].append(url)
        r["domain"].append(None)
        r["date"].append(date)
        r["source"].append(self.source)
        r["shard"].append(self.shard)
        r["title"].append(title)
        r["text"].append(text)
        r["_html"].append(html)
        r["_http_charset"].append(charset)
        r["_payload_bytes"].append(len(payload))
        r["drop_reason"].append(reason)

    def full(self) -> bool:
        return len(self.rows["id"]) >= self.batch_size

    def flush(self) -> pa.Table | None:
        if not self.rows["id"]:
            return None
        table = pa.Table.from_pydict(self.rows, schema=RAW_SCHEMA)
        self.rows = {f.name: [] for f in RAW_SCHEMA}
        return table
