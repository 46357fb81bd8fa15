"""Benchmark files: JSONL, Parquet, CSV or TSV, with the fields to index named in the recipe.

``fields`` are column names (JSONL keys, Parquet columns, the header row of a CSV/TSV) or, for a file without a
header such as MGSM's TSVs, 0-based column positions. An item's id is its ``id`` column when the recipe names
one, else its 0-based row number, so ``decont_item`` points at a line of the user's own file.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import io
import json
import re
from pathlib import Path
from typing import Any

from corpus.errors import UserError

NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


class BenchmarkError(UserError, ValueError):
    """A benchmark file or its description in the recipe cannot be used; the message says which and how to fix it."""


@dataclasses.dataclass(frozen=True)
class Benchmark:
    name: str  # becomes the reason code decontaminate.<name>
    path: str
    fields: tuple[str | int, ...]
    id: str | int | None = None


@dataclasses.dataclass
class Item:
    key: str  # the id the recipe names, or the row number
    fields: list[str]  # one text per indexed field, in the recipe's order


def spec_problem(i: int, spec: Any) -> str | None:
    """What is wrong with one ``benchmarks:`` entry, checked when the recipe is parsed (None if nothing)."""
    where = f"benchmarks[{i}]"
    if not isinstance(spec, dict):
        return f"{where} must be a mapping {{name, path, fields}}, got {spec!r}"
    unknown = set(spec) - {"name", "path", "fields", "id"}
    if unknown:
        return f"{where}: unknown key(s) {sorted(unknown)}; valid: name, path, fields, id"
    name, path, fields = spec.get("name"), spec.get("path"), spec.get("fields")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        return f"{where}.name must be an identifier (lower-case letters, digits, _; it becomes the reason decontaminate.NAME), got {name!r}"
    if not isinstance(path, str) or not path:
        return f"{where}.path must be the path of a JSONL, Parquet, CSV or TSV file, got {path!r}"
    if not isinstance(fields, list) or not fields or not all(isinstance(f, (str, int)) and not isinstance(f, bool) for f in fields):
        return f"{where}.fields must be a non-empty list of column names or 0-based column positions, got {fields!r}"
    if len({type(f) for f in fields} | ({type(spec["id"])} if spec.get("id") is not None else set())) > 1:
        return f"{where}: fields (and id) are either all column names or all column positions, got {fields!r}"
    return None


def from_spec(spec: dict) -> Benchmark:
    return Benchmark(spec["name"], spec["path"], tuple(spec["fields"]), spec.get("id"))


def _open_text(path: Path) -> io.TextIOBase:
    raw = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def _kind(path: Path) -> str:
    name = path.name.lower().removesuffix(".gz")
    for ext, kind in ((".jsonl", "jsonl"), (".json", "jsonl"), (".parquet", "parquet"), (".tsv", "tsv"), (".csv", "csv")):
        if name.endswith(ext):
            return kind
    raise BenchmarkError(f"benchmark file {path}: unknown format; use .jsonl, .parquet, .csv or .tsv (optionally .gz)")


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else str(value)


def load(bench: Benchmark) -> list[Item]:
    """Every row of a benchmark file as an ``Item``; a missing column is an error naming the columns there are."""
    path = Path(bench.path)
    kind = _kind(path)
    wanted = list(bench.fields) + ([bench.id] if bench.id is not None else [])
    positional = isinstance(wanted[0], int)
    if kind == "jsonl" and positional:
        raise BenchmarkError(f"benchmark {bench.name!r} ({path}): JSONL rows have keys, not positions; name the fields")
    rows: list[dict | list] = []
    try:
        if kind == "jsonl":
            with _open_text(path) as fh:
                for n, line in enumerate(fh, 1):
                    if line.strip():
                        try:
                            rows.append(json.loads(line))
                        except ValueError as exc:
                            raise BenchmarkError(f"benchmark {bench.name!r}: {path} line {n} is not JSON ({exc})") from None
        elif kind == "parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(path)
            names = table.column_names
            cols = [names[f] if isinstance(f, int) and f < len(names) else f for f in wanted]
            missing = [f for f in cols if f not in names]
            if missing:
                raise BenchmarkError(f"benchmark {bench.name!r} ({path}): no column(s) {missing}; it has {names}")
            data = table.select(cols).to_pydict()
            rows = [[data[c][i] for c in cols] for i in range(table.num_rows)]
            wanted, positional = list(range(len(cols))), True
        else:
            with _open_text(path) as fh:
                reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE) if kind == "tsv" else csv.reader(fh)
                rows = [r for r in reader if r]
            if not positional:
                header, rows = (rows[0], rows[1:]) if rows else ([], [])
                missing = [f for f in wanted if f not in header]
                if missing:
                    raise BenchmarkError(f"benchmark {bench.name!r} ({path}): no column(s) {missing} in the header "
                                         f"{header}; for a file without a header give 0-based positions, e.g. fields: [0]")
                rows = [dict(zip(header, r)) for r in rows]
    except OSError as exc:
        raise BenchmarkError(f"benchmark {bench.name!r}: cannot read {path} ({exc.strerror or exc})") from None
    items: list[Item] = []
    for n, row in enumerate(rows):
        if isinstance(row, list):
            if positional and max(wanted) >= len(row):
                raise BenchmarkError(f"benchmark {bench.name!r} ({path}): row {n} has {len(row)} column(s), "
                                     f"fields ask for position {max(wanted)}")
        elif not isinstance(row, dict):
            raise BenchmarkError(f"benchmark {bench.name!r} ({path}): row {n} is not an object")
        elif missing := [f for f in wanted if f not in row]:
            raise BenchmarkError(f"benchmark {bench.name!r} ({path}): row {n} has no field(s) {missing}; it has {sorted(row)}")
        values = [_text(row[f]) for f in wanted]
        key = values.pop() if bench.id is not None else str(n)
        items.append(Item(key, values))
    if not items:
        raise BenchmarkError(f"benchmark {bench.name!r}: {path} holds no items")
    return items
