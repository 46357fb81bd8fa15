"""WARC readers side by side (issue 20): warcio, FastWARC and ours, on the same files, for speed and for damage.

Speed: records/s and MB/s of compressed input per core (process CPU time, one process, so one core; wall time too)
for each reader on the shared crawl, pywb's warc-edge archives, a >= 50 MB synthetic crawl (the shared crawl's
responses replicated, gzip per record, written by warcio's WARCWriter) and a WET-like file (conversion records
of the same pages' text). Runs are interleaved (every reader on every file, then again), ``--reps`` times; the
table shows the best and the range. Every reader reads every record's payload, as a pipeline must:

- ``warcio``: ``ArchiveIterator`` + ``content_stream().read()`` (HTTP de-chunked and decoded);
- ``fastwarc``: ``ArchiveIterator(parse_http=True, auto_decode="all")`` + ``reader.read()``; ``fastwarc+digest``
  the same with ``verify_digests=True`` (which skips records without a valid block digest);
- ``ours.framer``: ``warcframe.Framer.items()`` alone (framing, digests, resync);
- ``ours.rows``: ``corpus.readers.read``, what the pipeline's read stage runs (framing + HTTP parse + decoding +
  Arrow rows).

Damage (``--faults``): the malformed-archive cases of ``tests/warcfaults.py`` (as the reader's damage tests build
them, on the shared crawl's first 31 records) through each reader: records read, whether every intact record
after the damage was read with its exact block, whether the reader said anything (an exception, a failed digest,
a rejected row, a Damage).

    python bench/reader_bench.py [--reps 3] [--faults] [--json out/bench/reader.json]
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import io
import json
import random
import re
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import warcfaults as wf  # noqa: E402
from warcio.archiveiterator import ArchiveIterator as WarcioIterator  # noqa: E402
from warcio.statusandheaders import StatusAndHeaders  # noqa: E402
from warcio.warcwriter import WARCWriter  # noqa: E402

from corpus.readers import Damage, discover, read  # noqa: E402
from corpus.readers.warcframe import Framer, Gap  # noqa: E402
from corpus.recipe import ReadParams  # noqa: E402

try:  # not a project dependency: installed by hand for this comparison (pip install fastwarc)
    from fastwarc.warc import ArchiveIterator as FastIterator
except ImportError:
    FastIterator = None

DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "out" / "bench"
_TAG = re.compile(rb"<[^>]*>")
_SPACE = re.compile(rb"[ \t\r\f\v]+")


# -- the files ----------------------------------------------------------------------------------------------
def _crawl_responses() -> list[tuple[str, list, bytes]]:
    """(URL, HTTP headers, body) of every response record of the shared crawl."""
    pages = []
    for seg in sorted((DATA / "crawl").glob("*.warc.gz")):
        with open(seg, "rb") as fh:
            for rec in WarcioIterator(fh):
                if rec.rec_type == "response":
                    pages.append((rec.rec_headers.get_header("WARC-Target-URI"), rec.http_headers.headers, rec.content_stream().read()))
    return pages


def synthetic(min_mb: float, out: Path) -> Path:
    """The shared crawl's HTML responses replicated (a distinct URL per copy) to ``min_mb`` MB, gzip per record."""
    path = out / f"synthetic-{int(min_mb)}mb.warc.gz"
    if path.exists():
        return path
    pages = _crawl_responses()
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        w = WARCWriter(fh, gzip=True)
        copy = 0
        while fh.tell() < min_mb * 1e6:
            for url, headers, body in pages:
                http = StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1")
                w.write_record(w.create_warc_record(f"{url}?copy={copy}", "response", payload=io.BytesIO(body), http_headers=http))
            copy += 1
    tmp.rename(path)
    return path


def wet(min_mb: float, out: Path) -> Path:
    """A WET-like file: one ``conversion`` record of plain text per page (tags stripped), gzip per record."""
    path = out / f"synthetic-{int(min_mb)}mb.warc.wet.gz"
    if path.exists():
        return path
    texts = []
    for url, _, body in _crawl_responses():
        text = _SPACE.sub(b" ", _TAG.sub(b" ", body))
        texts.append((url, b"\n".join(l.strip() for l in text.splitlines() if l.strip())))
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        w = WARCWriter(fh, gzip=True)
        copy = 0
        while fh.tell() < min_mb * 1e6:
            for url, text in texts:
                w.write_record(w.create_warc_record(f"{url}?copy={copy}", "conversion", payload=io.BytesIO(text),
                                                    warc_content_type="text/plain"))
            copy += 1
    tmp.rename(path)
    return path


# -- the readers: each returns (records, damage signals) for one file ---------------------------------------
class GaveUp(Exception):
    """A reader raised: how many records it had returned before, and why."""

    def __init__(self, n: int, exc: Exception) -> None:
        super().__init__(f"after {n} records: {type(exc).__name__}: {str(exc)[:100]}")
        self.n = n


def run_warcio(path: Path) -> tuple[int, int]:
    n = 0
    try:
        with open(path, "rb") as fh:
            for rec in WarcioIterator(fh):
                rec.content_stream().read()
                n += 1
    except Exception as exc:  # noqa: BLE001 - where it gives up is the result
        raise GaveUp(n, exc) from None
    return n, 0


def run_fastwarc(path: Path, verify: bool = False) -> tuple[int, int]:
    n = 0
    try:
        for rec in FastIterator(str(path), parse_http=True, auto_decode="all", verify_digests=verify, fsspec_args=False):
            rec.reader.read()
            n += 1
    except Exception as exc:  # noqa: BLE001
        raise GaveUp(n, exc) from None
    return n, 0


def run_framer(path: Path) -> tuple[int, int]:
    params = ReadParams()
    cap = params.max_record_bytes
    framer = Framer(str(path), ("response", "conversion"), cap + cap // 4 + (1 << 20))
    n = gaps = 0
    try:
        for item in framer.items():
            if isinstance(item, Gap):
                gaps += 1
            else:
                n += 1
    finally:
        framer.close()
    return n, gaps


def run_rows(path: Path) -> tuple[int, int]:
    (inp,) = discover([str(path)])
    n = damages = 0
    for item in read(inp, ReadParams()):
        if isinstance(item, Damage):
            damages += 1
        else:
            n += item.num_rows
    return n, damages


READERS: dict[str, Callable[[Path], tuple[int, int]]] = {
    "warcio": run_warcio,
    "fastwarc": run_fastwarc,
    "fastwarc+digest": lambda p: run_fastwarc(p, verify=True),
    "ours.framer": run_framer,
    "ours.rows": run_rows,
}


def timed(fn: Callable, path: Path) -> dict:
    w0, c0 = time.perf_counter(), time.process_time()
    try:
        n, signals = fn(path)
        error = ""
    except GaveUp as exc:  # a reader that gives up on a file is a result here, not a speed
        n, signals, error = -exc.n - 1, 0, str(exc)
    return {"records": n, "signals": signals, "error": error, "wall": time.perf_counter() - w0, "cpu": time.process_time() - c0}


def speed(files: dict[str, Path], reps: int, readers: list[str]) -> dict:
    runs: dict[tuple[str, str], list[dict]] = {}
    for _ in range(reps):  # interleaved: one pass over every (file, reader), then the next
        for fname, path in files.items():
            for r in readers:
                runs.setdefault((fname, r), []).append(timed(READERS[r], path))
    table = {}
    for (fname, r), rs in runs.items():
        size = files[fname].stat().st_size
        cpus, walls = [x["cpu"] for x in rs], [x["wall"] for x in rs]
        n = rs[0]["records"]
        table.setdefault(fname, {})[r] = {
            "bytes": size, "records": n, "signals": rs[0]["signals"], "error": rs[0]["error"],
            "cpu_best": min(cpus), "cpu_worst": max(cpus), "wall_best": min(walls), "wall_worst": max(walls),
            "rec_s": n / min(cpus) if n > 0 else 0.0, "mb_s": size / 1e6 / min(cpus),
            "mb_s_range": (size / 1e6 / max(cpus), size / 1e6 / min(cpus)),
            "us_per_rec": 1e6 * min(cpus) / n if n > 0 else 0.0,
        }
    return table


def print_speed(table: dict) -> None:
    print("\n## Speed (per core: process CPU time of one process; best of the runs, range in brackets)\n")
    print("| file | MB | reader | records | records/s | MB/s [range] | µs/record | ×warcio | ×fastwarc | wall best s |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for fname, rows in table.items():
        base_w, base_f = rows.get("warcio"), rows.get("fastwarc")
        for r, x in rows.items():
            recs = (f"{x['records']}" if not x["error"] else "ERR") + (f" (+{x['signals']} dmg)" if x["signals"] else "") + (
                f" {x['error']}" if x["error"] else "")
            if x["records"] <= 0:  # gave up, or returned nothing: no speed to speak of
                print(f"| {fname} | {x['bytes'] / 1e6:.2f} | {r} | {recs} | - | - | - | - | - | {x['wall_best']:.3f} |")
                continue
            rel_w = f"{x['mb_s'] / base_w['mb_s']:.2f}" if base_w and base_w["records"] > 0 else "-"
            rel_f = f"{x['mb_s'] / base_f['mb_s']:.2f}" if base_f and base_f["records"] > 0 else "-"
            lo, hi = x["mb_s_range"]
            print(f"| {fname} | {x['bytes'] / 1e6:.2f} | {r} | {recs} | {x['rec_s']:,.0f} | {x['mb_s']:.1f} [{lo:.1f}-{hi:.1f}] "
                  f"| {x['us_per_rec']:.1f} | {rel_w} | {rel_f} | {x['wall_best']:.3f} |")


# -- damage ------------------------------------------------------------------------------------------------
def _rid(block_head: bytes) -> str:
    return wf.header(block_head, "WARC-Record-ID") or ""


def read_warcio(path: Path) -> dict:
    """(record id, sha1 of block) per record warcio returns, and what it said."""
    got, said = [], []
    try:
        with open(path, "rb") as fh, contextlib.redirect_stderr(io.StringIO()):  # its per-record warnings
            for rec in WarcioIterator(fh, check_digests=True, no_record_parse=True):
                block = rec.raw_stream.read()
                # the block digest only: with no_record_parse warcio hashes the whole block as the "payload"
                flagged = any(p.startswith("block digest") for p in rec.digest_checker.problems)
                got.append((rec.rec_headers.get_header("WARC-Record-ID"), "flagged" if flagged else hashlib.sha1(block).hexdigest()))
                if flagged:
                    said.append("digest")
    except Exception as exc:  # noqa: BLE001
        said.append(f"raised {type(exc).__name__}")
    return {"got": got, "said": said}


def read_fastwarc(path: Path, verify: bool) -> dict:
    got, said = [], []
    try:
        for rec in FastIterator(str(path), parse_http=False, verify_digests=verify, fsspec_args=False):
            ok = rec.verify_block_digest(consume=False) if not verify and rec.headers.get("WARC-Block-Digest") else True
            block = rec.reader.read()
            got.append((rec.headers.get("WARC-Record-ID"), hashlib.sha1(block).hexdigest() if ok else "flagged"))
            if not ok:
                said.append("digest")
    except Exception as exc:  # noqa: BLE001
        said.append(f"raised {type(exc).__name__}")
    return {"got": got, "said": said}


def read_ours(path: Path) -> dict:
    got, said = [], []
    framer = Framer(str(path), ("warcinfo", "request", "response", "metadata", "conversion", "revisit", "resource"), 1 << 30)
    try:
        for item in framer.items():
            if isinstance(item, Gap):
                said.append("gap")
            elif item.reason is not None:
                said.append(item.reason)
                got.append((item.header.get("warc-record-id"), "flagged"))
            else:
                got.append((item.header.get("warc-record-id"), hashlib.sha1(item.block).hexdigest()))
    finally:
        framer.close()
    return {"got": got, "said": said}


FAULT_READERS = {
    "warcio": read_warcio,
    "fastwarc": lambda p: read_fastwarc(p, False),
    "fastwarc+digest": lambda p: read_fastwarc(p, True),
    "ours": read_ours,
}

N, BAD = 31, 14


def fault_cases(recs: list[bytes]) -> list[tuple[str, list[bytes | wf_Raw], bool, set[int]]]:
    """(name, parts, gz, damaged slots) for the damage test suite's cases."""
    cases = []
    for gz in (True, False):
        kind = "gz" if gz else "plain"
        for name, fault in [("cl_too_short", lambda r: wf.wrong_length(r, -200)), ("cl_too_long", lambda r: wf.wrong_length(r, +300)),
                            ("cl_past_eof", lambda r: wf.wrong_length(r, +10**9)), ("digest_mismatch", wf.flip_body)]:
            parts = list(recs)
            parts[BAD] = fault(recs[BAD])
            cases.append((f"{name}/{kind}", parts, gz, {BAD}))
        cases.append((f"garbage_between/{kind}", recs[: BAD + 1] + [wf_Raw(wf.GARBAGE)] + recs[BAD + 1 :], gz, set()))
        for keep, where in [(0.7, "in_body"), (0.01, "in_header")]:
            last = wf.member(recs[-1]) if gz else recs[-1]
            cases.append((f"truncated_tail_{where}/{kind}", recs[:-1] + [wf_Raw(wf.cut(last, keep))], gz, {N - 1}))
    for name, damage in [("corrupt_member", wf.corrupt), ("cut_member", wf.cut)]:
        parts = list(recs)
        parts[BAD] = wf_Raw(damage(wf.member(recs[BAD])))
        cases.append((f"{name}/gz", parts, True, {BAD}))
    parts = list(recs)
    parts[5], parts[8], parts[11] = wf.wrong_length(recs[5], -50), wf.wrong_length(recs[8], +5000), wf.flip_body(recs[11])
    parts.insert(21, wf_Raw(wf.GARBAGE))
    cases.append(("every_kind_at_once/plain", parts, False, {5, 8, 11}))
    bare = [re.sub(rb"WARC-(Block|Payload)-Digest: [^\r]*\r\n", b"", r) for r in recs]
    cases.append(("no_digest_garbage/plain", bare[: BAD + 1] + [wf_Raw(wf.GARBAGE)] + bare[BAD + 1 :], False, {BAD}))
    cases.append(("one_member_whole_file/gz", [wf_Raw(gzip.compress(b"".join(recs), mtime=0))], True, set()))
    return cases


class wf_Raw(bytes):
    """Bytes spliced as they are (not wrapped in a gzip member)."""


def write(path: Path, parts: list[bytes], gz: bool) -> Path:
    path.write_bytes(b"".join(p if isinstance(p, wf_Raw) or not gz else wf.member(p) for p in parts))
    return path


def judge(out: dict, clean: list[tuple[str, str]], damaged: set[int], after: int) -> dict:
    """Did the reader read every intact record exactly (all of them, and those after slot ``after``), did it keep a
    record that differs from the clean file without saying so, and what did it say?"""
    got = set(out["got"])
    intact = [(i, c) for i, c in enumerate(clean) if i not in damaged]
    wrong = sum(1 for rid, h in out["got"] if h != "flagged" and (rid, h) not in set(clean))
    return {"records": len(out["got"]), "intact": sum(c in got for _, c in intact), "intact_of": len(intact),
            "intact_after": sum(c in got for i, c in intact if i > after), "of": sum(1 for i, _ in intact if i > after),
            "kept_wrong": wrong, "said": sorted(set(out["said"]))}


def faults(tmp: Path, seeds: int) -> dict:
    recs = wf.records(DATA / "crawl" / "segment-00000.warc.gz", N)
    clean = [(_rid(r), hashlib.sha1(r[r.index(b"\r\n\r\n") + 4 : -4]).hexdigest()) for r in recs]
    result: dict[str, dict] = {}
    for name, parts, gz, damaged in fault_cases(recs):
        path = write(tmp / ("f.warc" + ".gz" * gz), parts, gz)
        first = min(damaged) if damaged else BAD
        result[name] = {r: judge(fn(path), clean, damaged, first) for r, fn in FAULT_READERS.items()}
    for gz in (True, False):  # the random-damage test's faults: one record's bytes zeroed, randomised, cut or grown
        ok = {r: 0 for r in FAULT_READERS}
        wrong = {r: 0 for r in FAULT_READERS}
        for seed in range(seeds):
            rng = random.Random(seed)
            k = rng.randrange(1, N)
            parts = list(recs)
            parts[k] = wf_Raw(wf.random_fault(rng, recs[k], gz)[3])
            path = write(tmp / ("r.warc" + ".gz" * gz), parts, gz)
            for r, fn in FAULT_READERS.items():
                j = judge(fn(path), clean, {k}, k)
                ok[r] += j["intact"] == j["intact_of"]
                wrong[r] += j["kept_wrong"] > 0
        result[f"random_damage_{seeds}_seeds/{'gz' if gz else 'plain'}"] = {
            r: {"records": "-", "intact": ok[r], "intact_of": seeds, "intact_after": ok[r], "of": seeds, "kept_wrong": wrong[r],
                "said": ["files"]}
            for r in FAULT_READERS}
    return result


def print_faults(result: dict) -> None:
    readers = list(FAULT_READERS)
    print("\n## Damage: intact records read exactly (all; after the damage), records returned, records returned that differ "
          "from the clean file and were not flagged (wrong), what the reader said. Random rows count files: every intact "
          "record read / files with a wrong record\n")
    print("| case | " + " | ".join(readers) + " |")
    print("|---|" + "---|" * len(readers))
    for name, per in result.items():
        cells = []
        for r in readers:
            j = per[r]
            said = ",".join(j["said"]) or "nothing"
            bad = f", {j['kept_wrong']} wrong" if j["kept_wrong"] else ""
            cells.append(f"{j['intact']}/{j['intact_of']}; after {j['intact_after']}/{j['of']} ({j['records']} rec{bad}; {said})")
        print(f"| {name} | " + " | ".join(cells) + " |")


# -- output identity: what our reader returns, hashed per file, to check that a speed change changes nothing ---
def identity_files(tmp: Path, seeds: int, mb: float) -> dict[str, Path]:
    """Every file the bench reads, every fault case and random-damage seed (gz and plain), and ARC files."""
    files = {p.name: p for p in sorted((DATA / "crawl").glob("*.warc.gz"))}
    files.update({p.name: p for p in sorted((DATA / "warc-edge").glob("*.warc.gz"))})
    for p in (OUT / f"synthetic-{int(mb)}mb.warc.gz", OUT / f"synthetic-{int(mb)}mb.warc.wet.gz"):
        if p.exists():
            files[p.name] = p
    recs = wf.records(DATA / "crawl" / "segment-00000.warc.gz", N)
    for name, parts, gz, _ in fault_cases(recs):
        files[name] = write(tmp / (name.replace("/", "-") + ".warc" + ".gz" * gz), parts, gz)
    for gz in (True, False):
        for seed in range(seeds):
            rng = random.Random(seed)
            k = rng.randrange(1, N)
            blob = wf.member(recs[k]) if gz else recs[k]
            a = rng.randrange(len(blob))
            b = min(len(blob), a + rng.choice([1, 4, 40, 400]))
            kind = rng.choice(["zero", "random", "delete", "insert"])
            filler = {"zero": bytes(b - a), "random": rng.randbytes(b - a), "delete": b"", "insert": rng.randbytes(b - a) + blob[a:b]}[kind]
            parts = list(recs)
            parts[k] = wf_Raw(blob[:a] + filler + blob[b:])
            name = f"random-{seed}-{'gz' if gz else 'plain'}"
            files[name] = write(tmp / (name + ".warc" + ".gz" * gz), parts, gz)
    body = b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html><body><p>An ARC page.</p></body></html>"
    info = b"1 0 InternetArchive\nURL IP-address Archive-date Content-type Archive-length\n"
    head = b"filedesc://t.arc 0.0.0.0 20240101000000 text/plain %d\n" % len(info) + info + b"\n"
    arc = [head] + [b"http://arc.example/%d 1.2.3.4 20240101000000 text/html %d\n" % (i, len(body) + d) + body + b"\n"
                    for i, d in enumerate([0, -7, 0, 5, 0])]
    for gz in (True, False):
        files[f"arc-{'gz' if gz else 'plain'}"] = write(tmp / ("t.arc" + ".gz" * gz), arc, gz)
    return files


def identity(files: dict[str, Path]) -> dict[str, str]:
    """sha256 of every row (all columns) and every Damage ``corpus.readers.read`` yields per file, with the default
    parameters and with a small record cap and batch (too_large paths, batch edges); and of the Framer's items."""
    out = {}
    for name, path in files.items():
        for label, params in (("default", ReadParams()), ("small", ReadParams(max_record_bytes=3000, batch_size=7))):
            h = hashlib.sha256()
            (inp,) = discover([str(path)])
            for item in read(inp, params):
                if isinstance(item, Damage):
                    h.update(repr(("damage", item.message.replace(str(path), "<path>"), item.offset, item.length)).encode())
                else:
                    for row in item.drop_columns(["source", "shard"]).to_pylist():
                        h.update(repr(sorted(row.items())).encode())
            out[f"{name}:{label}"] = h.hexdigest()
        h = hashlib.sha256()
        framer = Framer(str(path), ("warcinfo", "request", "response", "metadata", "conversion", "revisit", "resource"), 2000)
        try:
            for item in framer.items():
                h.update(repr(item).encode())
        finally:
            framer.close()
        out[f"{name}:framer"] = h.hexdigest()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--mb", type=float, default=50, help="size of the synthetic WARC (and WET) in MB")
    ap.add_argument("--readers", default=",".join(READERS), help="comma-separated subset of " + ",".join(READERS))
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--faults", action="store_true", help="also run the damage cases")
    ap.add_argument("--seeds", type=int, default=60)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--identity", type=Path, help="write our reader's output hashes per file (and fault case) here; "
                    "if the file exists, compare with it instead and exit 1 on any difference")
    args = ap.parse_args()
    if FastIterator is None:
        print("fastwarc is not installed (it is no project dependency): its columns are left out; "
              "`.venv/bin/pip install fastwarc` to compare with it", file=sys.stderr)
        for table in (READERS, FAULT_READERS):
            for k in [k for k in table if k.startswith("fastwarc")]:
                del table[k]
        args.readers = ",".join(r for r in args.readers.split(",") if r in READERS)
    OUT.mkdir(parents=True, exist_ok=True)
    report: dict = {}
    if args.identity:
        tmp = OUT / "identity"
        tmp.mkdir(exist_ok=True)
        got = identity(identity_files(tmp, args.seeds, args.mb))
        if not args.identity.exists():
            args.identity.write_text(json.dumps(got, indent=1))
            print(f"{len(got)} output hashes written to {args.identity}")
            return
        want = json.loads(args.identity.read_text())
        diff = sorted(k for k in want.keys() | got.keys() if want.get(k) != got.get(k))
        print(f"{len(got)} output hashes, {len(diff)} differ from {args.identity}" + "".join(f"\n  {k}" for k in diff))
        raise SystemExit(1 if diff else 0)
    if not args.no_speed:
        files = {p.name: p for p in sorted((DATA / "crawl").glob("*.warc.gz"))}
        files.update({p.name: p for p in sorted((DATA / "warc-edge").glob("*.warc.gz"))})
        syn, wt = synthetic(args.mb, OUT), wet(args.mb, OUT)
        files[syn.name], files[wt.name] = syn, wt
        report["speed"] = speed(files, args.reps, args.readers.split(","))
        print_speed(report["speed"])
    if args.faults:
        tmp = OUT / "faults"
        tmp.mkdir(exist_ok=True)
        report["faults"] = faults(tmp, args.seeds)
        print_faults(report["faults"])
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    main()
