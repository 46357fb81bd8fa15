"""JSONL and Parquet readers on hostile rows and damaged files: every record is one row (kept, repaired,
or rejected with a ``read.*`` reason) or inside one ``Damage``; a schema that cannot work is one clear
error before anything runs; curated Parquet read back keeps its ids and columns (lineage)."""

import datetime as dt
import gzip
import json
import os
import re
from collections import Counter

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from corpus import shard
from corpus.readers import Damage, InputError, discover, read
from corpus.readers import text as text_reader
from corpus.recipe import ReadParams
from corpus.schema import output_schema


def rows(path, **params):
    """Every row and Damage a reader yields for one input."""
    (inp,) = discover([str(path)])
    tables, damage = [], []
    for item in read(inp, ReadParams(**params)):
        (damage if isinstance(item, Damage) else tables).append(item)
    table = pa.concat_tables(tables, promote_options="default") if tables else None
    return table, damage


def col(table, name):
    return table.column(name).to_pylist()


def lines_file(path, lines):
    data = b"".join(json.dumps(o).encode() + b"\n" if not isinstance(o, bytes) else o + b"\n" for o in lines)
    if str(path).endswith(".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


# ---- JSONL rows ---------------------------------------------------------------------------------------------

def test_lone_surrogate_is_repaired_and_counted_and_the_file_read(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_bytes(b'{"text": "first", "url": "u1"}\n'
                     b'{"text": "bad \\ud800 here", "url": "u2\\udfff", "title": "t\\ud800"}\n'
                     b'{"text": "a real pair \\ud83d\\ude00", "url": "u3"}\n'
                     b'{"text": "broken \xff\xfe utf-8", "url": "u4"}\n')
    for _ in range(2):  # a re-run reads it the same way (it used to fail the same way)
        table, damage = rows(path)
        assert not damage
        assert col(table, "drop_reason") == [None] * 4
        assert col(table, "text") == ["first", "bad \ufffd here", "a real pair \U0001F600", "broken \ufffd\ufffd utf-8"]
        assert col(table, "url")[1] == "u2\ufffd" and col(table, "title")[1] == "t\ufffd"
        assert col(table, "_repaired") == [0, 3, 0, 2]
        assert len(set(col(table, "id"))) == 4


def test_wrong_json_types_are_handled_per_row(tmp_path):
    records = [
        {"text": 5},                                   # text is a number: not a document
        {"text": "url is a dict", "url": {"a": 1}},
        {"text": "title is a list", "title": ["x"]},
        {"text": "date is an object", "date": {"y": 2024}},
        {"text": "url is a bool", "url": True},
        {"text": "numbers become strings", "url": 7, "date": 20240101},
        {"text": "a float date", "date": 1704067200.5},
        {"body": "no text field"},
        ["not", "an", "object"],
        {"text": None},
    ]
    path = lines_file(tmp_path / "t.jsonl", records)
    with path.open("ab") as fh:
        fh.write(b'{"text": "nan date", "date": NaN}\n' + b"[" * 100_000 + b"\n")  # NaN: Python's json accepts it
    table, damage = rows(path)
    assert not damage and table.num_rows == len(records) + 2  # every line is one row
    assert col(table, "drop_reason") == ["read.bad_text", "read.bad_url", "read.bad_title", "read.bad_date", "read.bad_url",
                                         None, None, "read.no_text", "read.bad_json", "read.no_text", "read.bad_date", "read.bad_json"]
    assert col(table, "url")[5] == "7" and col(table, "date")[5] == "20240101" and col(table, "date")[6] == "1704067200.5"
    # a rejected row keeps its text, so rejected/ shows the curator the document and the field that was wrong
    assert col(table, "text")[1:5] == ["url is a dict", "title is a list", "date is an object", "url is a bool"]


def test_byte_order_mark_on_the_first_line_is_not_bad_json(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"text": "one"}\n{"text": "two"}\n')
    table, _ = rows(path)
    assert col(table, "drop_reason") == [None, None] and col(table, "text") == ["one", "two"]


# ---- damaged compressed JSONL ------------------------------------------------------------------------------

def original_lines(n, start=0):
    return [{"text": f"line {i} with words {i * 7919 % 10007} and more words", "url": f"https://x.example/{i}"}
            for i in range(start, start + n)]


def test_gzip_corrupt_member_keeps_the_members_before_and_never_emits_altered_text(tmp_path):
    first, second = original_lines(2000), original_lines(2000, 2000)
    m1 = gzip.compress(b"".join(json.dumps(o).encode() + b"\n" for o in first))
    m2 = bytearray(gzip.compress(b"".join(json.dumps(o).encode() + b"\n" for o in second)))
    mid = len(m2) // 2
    m2[mid:mid + 200] = bytes(200)  # zeros inside the second member: deflate decodes on, only its CRC-32 fails
    path = tmp_path / "c.jsonl.gz"
    path.write_bytes(m1 + bytes(m2))
    table, damage = rows(path, batch_size=300)
    assert len(damage) == 1
    d = damage[0]
    assert "gzip" in d.message and "re-fetch" in d.message and "read.unverified" in d.message
    assert len(m1) < d.offset <= path.stat().st_size and d.length == path.stat().st_size - d.offset
    kept = table.filter(pc.is_null(table.column("drop_reason")))
    assert col(kept, "text") == [o["text"] for o in first]  # the intact member, every line, unaltered
    reasons = Counter(col(table, "drop_reason"))
    assert set(reasons) <= {None, "read.unverified", "read.bad_json"} and reasons["read.unverified"] > 0
    assert f"lines 1-{table.num_rows} were read" in d.message


def test_gzip_single_member_damaged_in_the_middle_keeps_no_altered_document(tmp_path):
    lines = original_lines(50000)
    data = bytearray(gzip.compress(b"".join(json.dumps(o).encode() + b"\n" for o in lines)))
    data[len(data) // 2: len(data) // 2 + 200] = bytes(200)
    path = tmp_path / "one.jsonl.gz"
    path.write_bytes(bytes(data))
    table, damage = rows(path, batch_size=5000)
    assert len(damage) == 1 and "incorrect data check" in damage[0].message
    originals = {o["text"] for o in lines}
    altered = [t for t in col(table, "text") if t is not None and t not in originals]
    assert len(altered) > 100  # deflate made plausible JSON lines out of the damage, with altered text ...
    assert Counter(col(table, "drop_reason")) == Counter({"read.unverified": table.num_rows})  # ... none of which is kept


def test_gzip_cut_short_keeps_every_complete_line(tmp_path):
    lines = original_lines(5000)
    data = gzip.compress(b"".join(json.dumps(o).encode() + b"\n" for o in lines))
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) * 6 // 10])
    table, damage = rows(path)
    assert len(damage) == 1 and "cut short" in damage[0].message
    n = table.num_rows
    assert 2000 < n < 5000 and col(table, "drop_reason") == [None] * n
    assert col(table, "text") == [o["text"] for o in lines[:n]]
    assert f"lines 1-{n} were read" in damage[0].message


def test_zstd_corrupt_mid_file_keeps_lines_before(tmp_path):
    lines = original_lines(40000)
    path = tmp_path / "z.jsonl.zst"
    with pa.CompressedOutputStream(str(path), "zstd") as out:
        out.write(b"".join(json.dumps(o).encode() + b"\n" for o in lines))
    data = bytearray(path.read_bytes())
    data[len(data) // 2: len(data) // 2 + 200] = bytes(200)
    path.write_bytes(bytes(data))
    table, damage = rows(path, batch_size=1000)
    assert len(damage) == 1 and "zstd" in damage[0].message.lower()
    n = table.num_rows
    assert 5000 < n < 40000 and col(table, "drop_reason") == [None] * n
    assert col(table, "text") == [o["text"] for o in lines[:n]]
    assert 0 < damage[0].offset < len(data) and damage[0].length == len(data) - damage[0].offset


# ---- Parquet rows ------------------------------------------------------------------------------------------

def test_parquet_integer_url_and_typed_dates_are_coerced(tmp_path):
    ts = [dt.datetime(2024, 1, 2, 3, 4, 5), None, dt.datetime(2023, 5, 6, 7, 8, 9, 123000)]
    pq.write_table(pa.table({"text": ["a", "b", "c"], "url": pa.array([1, 2, None], pa.int64()),
                             "date": pa.array(ts, pa.timestamp("ms")), "title": ["T1", None, "T3"]}), tmp_path / "i.parquet")
    table, damage = rows(tmp_path / "i.parquet")
    assert not damage and col(table, "drop_reason") == [None] * 3
    assert col(table, "url") == ["1", "2", None]
    assert col(table, "date") == ["2024-01-02T03:04:05", None, "2023-05-06T07:08:09.123000"]
    assert col(table, "title") == ["T1", None, "T3"]  # the title column used to be dropped

    utc = pa.array([dt.datetime(2024, 1, 2, 3, 4, 5)], pa.timestamp("s", tz="Asia/Shanghai"))  # stored as UTC
    pq.write_table(pa.table({"text": ["x"], "date": utc}), tmp_path / "tz.parquet")
    pq.write_table(pa.table({"text": ["x"], "date": pa.array([dt.date(2024, 2, 29)], pa.date32())}), tmp_path / "d.parquet")
    assert col(rows(tmp_path / "tz.parquet")[0], "date") == ["2024-01-02T03:04:05Z"]
    assert col(rows(tmp_path / "d.parquet")[0], "date") == ["2024-02-29"]


def test_parquet_bad_values_are_handled_per_row(tmp_path):
    texts = pa.array([b"fine", b"bad \xff byte", b"nan url", b"x" * 2000], pa.binary()).view(pa.string())  # not all UTF-8
    far = pa.array([0, 400_000_000_000, None, None], pa.timestamp("s"))  # year ~14,700: no Python datetime holds it
    url = pa.array([1.5, None, float("nan"), 3.0])
    pq.write_table(pa.table({"text": texts, "date": far, "url": url}), tmp_path / "b.parquet")
    table, damage = rows(tmp_path / "b.parquet", max_record_bytes=1000)
    assert not damage
    assert col(table, "drop_reason") == [None, "read.bad_date", "read.bad_url", "read.too_large"]
    assert col(table, "text")[:3] == ["fine", "bad \ufffd byte", "nan url"] and col(table, "_repaired")[:2] == [0, 1]
    assert col(table, "url") == ["1.5", None, None, "3"]
    assert col(table, "date")[0] == "1970-01-01T00:00:00"


def test_parquet_schema_that_cannot_work_is_one_clear_error(tmp_path):
    cases = {
        "num.parquet": (pa.table({"text": [1, 2]}), "column 'text' is int64, not a string; set read.text_key"),
        "none.parquet": (pa.table({"content": ["a"]}), "no column 'text' (columns: content); set read.text_key"),
        "url.parquet": (pa.table({"text": ["a"], "url": pa.array([{"h": "x"}])}), "column 'url' is struct<h: string>, which has no string form; set read.url_key"),
        "title.parquet": (pa.table({"text": ["a"], "title": pa.array([["x"]])}), "column 'title' is list<element: string>, which has no string form; rename or drop that column"),
    }
    for name, (t, message) in cases.items():
        pq.write_table(t, tmp_path / name)
        with pytest.raises(InputError, match=re.escape(message)) as err:
            text_reader.check(str(tmp_path / name), ReadParams())
        assert "\n" not in str(err.value)
        table, damage = rows(tmp_path / name)  # the reader, if reached, says the same as one Damage and never raises
        assert table is None and len(damage) == 1 and damage[0].message == str(err.value)
    pq.write_table(pa.table({"text": ["a"], "url": [3]}), tmp_path / "ok.parquet")
    text_reader.check(str(tmp_path / "ok.parquet"), ReadParams())  # a coercible column is fine


def test_parquet_damaged_row_group_is_one_damage_and_the_others_are_read(tmp_path):
    t = pa.table({"text": [f"document number {i} " * 20 for i in range(3000)]})
    path = tmp_path / "rg.parquet"
    pq.write_table(t, path, row_group_size=1000, compression="zstd")
    meta = pq.ParquetFile(path).metadata
    chunk = meta.row_group(1).column(0)
    start = chunk.dictionary_page_offset or chunk.data_page_offset
    data = bytearray(path.read_bytes())
    data[start + 40: start + chunk.total_compressed_size - 40] = os.urandom(chunk.total_compressed_size - 80)
    path.write_bytes(bytes(data))
    table, damage = rows(path, batch_size=400)
    assert len(damage) == 1 and "row group 1 (rows 1,000-1,999)" in damage[0].message
    assert damage[0].offset == start and damage[0].length == chunk.total_compressed_size
    assert col(table, "text") == col(t.slice(0, 1000), "text") + col(t.slice(2000), "text")


# ---- JSONL check ---------------------------------------------------------------------------------------------

def test_jsonl_check_refuses_a_schema_that_cannot_work(tmp_path):
    good = lines_file(tmp_path / "good.jsonl.gz", [{"text": "a"}, {"text": 1}, {"url": "x"}])
    text_reader.check(str(good), ReadParams())  # some bad rows are the rows' problem
    (tmp_path / "empty.jsonl").write_bytes(b"")
    text_reader.check(str(tmp_path / "empty.jsonl"), ReadParams())
    other = lines_file(tmp_path / "content.jsonl", [{"content": "a", "id": 1}] * 3)
    with pytest.raises(InputError, match=r"none of the first 3 records has a field 'text' \(fields: content, id\); set read.text_key"):
        text_reader.check(str(other), ReadParams())
    text_reader.check(str(other), ReadParams(text_key="content"))
    nums = lines_file(tmp_path / "nums.jsonl", [{"text": 1}, {"text": 2.5}])
    with pytest.raises(InputError, match="field 'text' holds float/int, not a string"):
        text_reader.check(str(nums), ReadParams())
    (tmp_path / "csv.jsonl").write_bytes(b"text,url\nhello,https://x.example/\n")
    with pytest.raises(InputError, match="none of the first 2 lines is a JSON object"):
        text_reader.check(str(tmp_path / "csv.jsonl"), ReadParams())
    (tmp_path / "plain.jsonl.gz").write_bytes(b'{"text": "not gzipped"}\n')
    with pytest.raises(InputError, match="cannot be decoded from its start"):
        text_reader.check(str(tmp_path / "plain.jsonl.gz"), ReadParams())


# ---- HTML folders ----------------------------------------------------------------------------------------------

def test_html_folder_accounts_for_every_entry(tmp_path):
    site = tmp_path / "site"
    (site / "sub").mkdir(parents=True)
    (site / "index.html").write_text("<html><body><p>hi</p></body></html>")
    (site / "sub" / "page.htm").write_text("<html><body><p>sub</p></body></html>")
    (site / "gone.html").symlink_to(tmp_path / "missing.html")  # dangling
    (site / "loop").symlink_to(site, target_is_directory=True)  # a folder loop: not followed
    os.mkfifo(site / "pipe.html")
    table, damage = rows(site)
    assert col(table, "url") == ["file:index.html", "file:loop", "file:sub/page.htm"]
    assert col(table, "drop_reason") == [None, "read.symlinked_folder", None]
    assert sorted(d.message.split("entry ")[1].split(" ")[0] for d in damage) == ["'gone.html'", "'pipe.html'"]


# ---- lineage ----------------------------------------------------------------------------------------------------

def curated(path, n=4, **extra):
    t = pa.table({
        "id": pa.array([f"{i:032x}" for i in range(n - 1)] + [None], pa.string()),
        "url": [f"https://c.example/{i}" for i in range(n)],
        "domain": ["c.example"] * n,
        "date": ["2024-01-01"] * n,
        "source": ["old.warc.gz"] * n,
        "shard": ["old-1234"] * n,
        "title": [f"T{i}" for i in range(n)],
        "text": [f"curated document {i}" for i in range(n)],
        "lang": ["en"] * n,
        "lang_score": pa.array([0.9] * n, pa.float32()),
        "fluency_score": pa.array([0.1 * i for i in range(n)], pa.float32()),
        "toxic_score": pa.array([0.01] * n, pa.float32()),
        "domain_tag": ["general"] * n,
        "dup_cluster": [f"{0:032x}"] * n,
        **extra,
    })
    pq.write_table(t, path)
    return t


def test_curated_parquet_keeps_ids_and_declared_columns(tmp_path):
    src = curated(tmp_path / "c.parquet")
    table, damage = rows(tmp_path / "c.parquet")
    assert not damage
    ids = col(table, "id")
    assert ids[:3] == col(src, "id")[:3] and ids[3] and len(ids[3]) == 32  # a missing id is derived
    assert col(table, "domain") == col(src, "domain")
    for name in ("lang", "lang_score", "fluency_score", "toxic_score", "domain_tag", "dup_cluster"):
        assert table.schema.field(name).type == src.schema.field(name).type and col(table, name) == col(src, name)
    assert col(table, "source") == [str(tmp_path / "c.parquet")] * 4  # this run's input, not the old one
    carried = [f.name for f in text_reader.carried_fields([str(tmp_path / "c.parquet")], ReadParams())]
    assert carried == ["lang", "lang_score", "fluency_score", "toxic_score", "domain_tag", "dup_cluster"]


def test_carried_columns_survive_the_sinks_of_a_run(tmp_path):
    """Through the shard runner (no stages, no Ray): the output schema built with the carried fields keeps them."""
    curated(tmp_path / "c.parquet")
    (inp,) = discover([str(tmp_path / "c.parquet")])
    params = ReadParams()
    schema = output_schema([], text_reader.carried_fields([inp.path], params))
    (seg,) = shard.segments([])
    stats, files = shard.process(inp, params, seg, schema, tmp_path / "out")
    out = pq.read_table(files["data"])
    assert out.num_rows == 4 and stats[0]["docs_out"] == 4
    assert col(out, "fluency_score") == col(pq.read_table(tmp_path / "c.parquet"), "fluency_score")
    assert col(out, "id")[:3] == [f"{i:032x}" for i in range(3)]
    assert "_repaired" not in out.column_names


def test_inputs_that_disagree_on_a_carried_type_are_refused(tmp_path):
    curated(tmp_path / "a.parquet")
    curated(tmp_path / "b.parquet", fluency_score=pa.array(["high"] * 4))
    with pytest.raises(InputError, match="column 'fluency_score' is float in .*a.parquet but string in .*b.parquet"):
        text_reader.carried_fields([str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")], ReadParams())


def test_damaged_gzip_through_the_shard_runner_balances(tmp_path):
    """The read stage counts every row and the Damage: docs_in = kept + rejected + quarantined."""
    first, second = original_lines(2000), original_lines(2000, 2000)
    m2 = bytearray(gzip.compress(b"".join(json.dumps(o).encode() + b"\n" for o in second)))
    m2[len(m2) // 2: len(m2) // 2 + 200] = bytes(200)  # as above: decodes on into altered lines
    path = tmp_path / "d.jsonl.gz"
    path.write_bytes(gzip.compress(b"".join(json.dumps(o).encode() + b"\n" for o in first)) + bytes(m2))
    (inp,) = discover([str(path)])
    (seg,) = shard.segments([])
    stats, files = shard.process(inp, ReadParams(batch_size=128), seg, output_schema([]), tmp_path / "out")
    st = stats[0]
    kept, rejected, quarantined = (pq.read_table(files[s]) for s in ("data", "rejected", "quarantine"))
    assert st["docs_in"] == st["docs_out"] + sum(st["rejected"].values()) + st["errors"]
    assert (kept.num_rows, rejected.num_rows, quarantined.num_rows) == (2000, sum(st["rejected"].values()), 1)
    assert st["rejected"].get("read.unverified", 0) > 0 and col(kept, "text") == [o["text"] for o in first]
    assert "gzip" in col(quarantined, "error")[0]
