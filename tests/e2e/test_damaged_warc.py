"""A 1,000-record WARC with one record of each kind of damage spliced into its middle, through `corpus run`
on Ray, beside its clean twin: every intact record meets the same fate as in the clean file, each damaged one
is rejected with its reason or quarantined with a message, and the read stage counts every slot."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow.dataset as ds
import pytest

import warcfaults as wf
from corpus.pipeline import run
from corpus.readers import discover, read
from corpus.recipe import ReadParams

pytestmark = pytest.mark.e2e
RECIPE = "name: damaged-warc\nstages:\n  - extract\n  - langid: {languages: [en, zh, de, ja, ru], min_score: 0.0}\n"


def _sink(out: Path, name: str) -> list[dict]:
    if not (out / name).is_dir():
        return []
    return ds.dataset(str(out / name), format="parquet").to_table().to_pylist()


def test_every_intact_record_survives_the_damage(ray_session, shared_data, tmp_path):
    crawl = shared_data / "crawl"
    recs = wf.records(crawl / "segment-00000.warc.gz", 500) + wf.records(crawl / "segment-00001.warc.gz", 500)
    assert len(recs) == 1000
    responses = [i for i, r in enumerate(recs) if wf.header(r, "WARC-Type") == "response"]

    def near(n: int) -> int:  # the first response record at or after slot n
        return next(i for i in responses if i >= n)

    # one of each fault; a rejected row keeps the URL, a quarantined range names it in its message
    faults = {
        near(300): ("read.bad_length", wf.member(wf.wrong_length(recs[near(300)], -120))),
        near(400): ("read.bad_length", wf.member(wf.wrong_length(recs[near(400)], +900))),
        near(500): ("read.digest_mismatch", wf.member(wf.flip_body(recs[near(500)]))),
        near(600): ("corrupt", wf.corrupt(wf.member(recs[near(600)]))),
        near(700): ("cut", wf.cut(wf.member(recs[near(700)]))),
    }
    junk_after = near(450)
    parts, offsets = [], {}
    for i, rec in enumerate(recs):
        offsets[i] = sum(map(len, parts))
        parts.append(faults[i][1] if i in faults else wf.member(rec))
        if i == junk_after:
            parts.append(wf.GARBAGE)
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "clean.warc.gz").write_bytes(b"".join(map(wf.member, recs)))
    (inputs / "damaged.warc.gz").write_bytes(b"".join(parts))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE)
    out = tmp_path / "out"
    summary = run(str(recipe), [str(inputs / "*.warc.gz")], str(out))

    stats = json.loads((out / "stats.json").read_text())
    for s in stats["stages"]:
        assert s["docs_in"] == s["docs_out"] + sum(s["rejected"].values()) + s["errors"], s["name"]
    rd = stats["stages"][0]
    damage_ranges = 3  # the corrupt member, the cut member, the junk
    rejected_rows = sum(1 for kind, _ in faults.values() if kind.startswith("read."))
    intact = len(recs) - len(faults)
    assert rd["docs_in"] == len(recs) + intact + rejected_rows + damage_ranges  # clean twin + damaged file
    assert summary["input_records"] == rd["docs_in"]
    assert rd["errors"] == damage_ranges and rd["edits"]["corrupt_ranges"] == damage_ranges
    assert rd["edits"]["corrupt_bytes"] == sum(len(faults[i][1]) for i in faults if not faults[i][0].startswith("read.")) + len(wf.GARBAGE)
    assert rd["rejected"]["read.bad_length"] == 2 and rd["rejected"]["read.digest_mismatch"] == 1

    data, rejected, quarantine = (_sink(out, n) for n in ("data", "rejected", "quarantine"))
    rows = len(data) + len(rejected) + len(quarantine)
    assert rows == rd["docs_in"]  # every record slot is a row somewhere

    # fate of each record by shard: (id, url) -> "kept" or the reason it was dropped
    fate: dict[str, dict] = {"clean": {}, "damaged": {}}
    for row in data + rejected:
        fate[Path(row["source"]).name.split(".")[0]][(row["id"], row["url"])] = row.get("drop_reason") or "kept"
    clean, damaged = fate["clean"], fate["damaged"]
    assert len(clean) == len(recs)  # ids are unique per record
    (inp,) = discover([str(inputs / "clean.warc.gz")])
    slots = [(r["id"], r["url"]) for t in read(inp, ReadParams()) for r in t.select(["id", "url"]).to_pylist()]
    urls = {i: slots[i][1] for i in faults}
    # every intact record: the same id and the same fate as in the clean twin; only the damaged five differ
    intact_fates = {k: f for k, f in clean.items() if k not in {slots[i] for i in faults}}
    assert {k: f for k, f in damaged.items() if k in intact_fates} == intact_fates
    assert len(damaged) == len(intact_fates) + rejected_rows
    kept = sum(f == "kept" for f in intact_fates.values())
    assert kept >= 0.95 * (len(responses) - len(faults))  # the recipe keeps the crawl's pages: nothing vacuous
    # the damaged ones: rejected with their reason and URL, or quarantined naming the range and the record
    by_reason = Counter((f, u) for (_, u), f in damaged.items() if f in ("read.bad_length", "read.digest_mismatch"))
    assert by_reason == Counter((kind, urls[i]) for i, (kind, _) in faults.items() if kind.startswith("read."))
    messages = [q["error"] for q in quarantine]
    assert len(messages) == damage_ranges and all("damaged.warc.gz" in m and q["drop_stage"] == "read" for m, q in zip(messages, quarantine))
    for i, (kind, blob) in faults.items():
        if not kind.startswith("read."):
            (msg,) = [m for m in messages if f"bytes {offsets[i]}-{offsets[i] + len(blob)}:" in m]
            assert urls[i] in msg and "resumed at the next gzip member" in msg
    assert sum("not a gzip member" in m for m in messages) == 1
