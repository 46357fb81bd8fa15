"""`make bench`: this project next to datatrove on the same input, in the same run, as ratios.

Spine (issue 2): read → extract → language ID → format on ≥5,000 real HTML pages (the shared crawl's
responses, replicated under new URLs; our own demo sample if ../shared is absent), one core per tool,
plus bare trafilatura (+ <title>) with our default extraction settings on the same pages: the ceiling.
Rules (issue 3): keep/drop agreement with datatrove's filters per filter, and rule cost next to extraction.
Pack (issue 8): tokens/s per core next to the bare tokenizer and a Megatron-style loop (bench/pack_bench.py);
on all cores, --device cpu against cuda when there is a GPU, outputs compared byte for byte (bench/pack_gpu.py).
Dedup (issue 5): datatrove's MinHash pipeline on planted near-duplicates, and a 1M-document scale run
(bench/dedup_bench.py; BENCH_DEDUP_SCALE=0 skips the scale run).
Safety (issue 6): stage speed, the blocklist's memory per worker, PII precision/recall, the porn/toxicity
classifiers' precision/recall beside the word lists and alt-profanity-check, and speed against it (bench/safety_bench.py).
Trust (issues 15, 17, 19): extraction P/R/F1 per language on an annotated set, both engines (bench/extract_bench.py);
drop precision per reason on a labelled check set (bench/checkset_bench.py) and on human review labels
(bench/review_bench.py); decontamination recall and precision on planted problems (bench/decont_bench.py).
Mix (issue 18): corpus mix + pack --mix next to pack alone (bench/mix_bench.py). Cost (issue 20): the spine side by
side with datatrove at 1 and 2 cores, on the local executor (the default on one machine), on an embedded Ray (with
and without its start/stop) and with the resiliparse engine (docs/s per core, process-tree peak RSS and PSS,
alternating runs: BENCH_CORES, BENCH_REPEAT; BENCH_SPINE_ONLY=1 stops after it), ms/doc per stage and Ray's fixed
cost with 1 and 2 workers (bench/perf_bench.py), Ray's start/stop/memory lean against full (bench/ray_overhead.py).
Object storage (issue 16): the default recipe reading and writing a local S3 API server against local disk, as a
throughput ratio (bench/storage_bench.py). Perplexity (issue 4): KenLM scoring speed next to extraction, and the extremes of the score (bench/quality_bench.py).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from memwatch import measure

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "out" / "bench"
SHARED = ROOT.parent / "shared" / "data" / "crawl"
MIN_DOCS = int(os.environ.get("BENCH_DOCS", "5000"))


def html_responses(paths: list[Path]) -> list[tuple[str, bytes]]:
    from warcio.archiveiterator import ArchiveIterator

    pages = []
    for p in paths:
        with open(p, "rb") as fh:
            for rec in ArchiveIterator(fh):
                if rec.rec_type == "response" and rec.http_headers and rec.http_headers.get_statuscode() == "200":
                    if "html" in (rec.http_headers.get_header("Content-Type") or ""):
                        pages.append((rec.rec_headers.get_header("WARC-Target-URI"), rec.content_stream().read()))
    return pages


def build_input() -> tuple[Path, list[tuple[str, bytes]], str]:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    if SHARED.is_dir():
        source, label = sorted(SHARED.glob("*.warc.gz")), "shared crawl (LibreOffice help, en/zh/ja/de/ru)"
    else:
        from corpus.sample import write_sample

        write_sample(str(OUT / "sample"), 600, 3)
        source, label = sorted((OUT / "sample").glob("sample-0000*")), "built-in sample"
    base = html_responses(source)
    pages = [(f"{u}?copy={k}", body) for k in range(-(-MIN_DOCS // len(base))) for u, body in base][:MIN_DOCS]
    folder = OUT / "input"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    parts = 4
    for part in range(parts):
        with open(folder / f"part-{part:05d}.warc.gz", "wb") as fh:
            w = WARCWriter(fh, gzip=True)
            for url, body in pages[part::parts]:
                http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
                w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http,
                                                    warc_headers_dict={"WARC-Identified-Payload-Type": "text/html"}))
    return folder, pages, label


def bare_trafilatura(pages: list[tuple[str, bytes]]) -> float:
    import trafilatura

    from filters.charset import decode
    from filters.extract import html_title

    docs = [(u, decode(b, "utf-8")[0]) for u, b in pages]
    t0 = time.perf_counter()
    for url, html in docs:
        trafilatura.bare_extraction(html, url=url, favor_precision=True, include_comments=False, include_tables=True,
                                    with_metadata=False)
        html_title(html)
    return time.perf_counter() - t0


def ours(folder: Path, cores: int, code: Path = ROOT, executor: str = "local", recipe: str = "spine.yaml") -> dict:
    """The spine recipe with ``cores`` workers (bench/run_ours.py) on ``executor`` (local processes, the default on
    one machine, or an embedded Ray), under memwatch: wall time of the whole process (interpreter start to exit),
    its phases, and the peak RSS of its process tree. ``code``: the checkout whose ``corpus`` package runs (another
    one for a before/after comparison, BENCH_BASELINE, always on Ray: its only executor). ``recipe``: spine.yaml,
    or spine-fast.yaml (the resiliparse engine)."""
    out = OUT / (("ours" if cores == 1 else f"ours-{cores}") + ("" if executor == "local" else f"-{executor}")
                 + ("" if recipe == "spine.yaml" else "-" + recipe.split(".")[0]) + ("" if code == ROOT else "-baseline"))
    shutil.rmtree(out, ignore_errors=True)
    m = measure([sys.executable, str(ROOT / "bench/run_ours.py"), str(code / "pipelines" / recipe), str(folder / "*.warc.gz"),
                 str(out), str(cores), executor], env={**os.environ, "PYTHONPATH": str(code)})
    r = json.loads(m["stdout"].strip().splitlines()[-1])
    extract = next(s for s in r["stages"] if s["name"] == "extract")
    ray_fixed = r["ray_init_s"] + r["shutdown_s"]
    return {"docs": r["stages"][0]["docs_out"], "kept": r["kept"], "wall_s": m["wall_s"], "ray_start_s": r["ray_init_s"],
            "ray_stop_s": r["shutdown_s"], "run_s": r["run_s"], "wall_without_ray_s": m["wall_s"] - ray_fixed,
            "stage_s": sum(s["wall_s"] for s in r["stages"]), "extract_s_per_doc": extract["wall_s"] / extract["docs_in"],
            "peak_tree_mb": m["peak_tree_mb"], "peak_tree_pss_mb": m["peak_tree_pss_mb"], "peak_proc_mb": m["peak_proc_mb"]}


def datatrove(folder: Path, cores: int) -> dict:
    from filters.langid import default_model_path

    out = OUT / ("datatrove" if cores == 1 else f"datatrove-{cores}")
    shutil.rmtree(out, ignore_errors=True)
    m = measure([str(ROOT / ".bench-venv/bin/python"), str(ROOT / "bench/peer_datatrove.py"), str(folder), str(out),
                 default_model_path(), str(cores)])
    r = json.loads(m["stdout"].strip().splitlines()[-1])
    return {"docs": r["docs"], "kept": r["kept"], "wall_s": m["wall_s"], "inner_wall_s": r["wall_s"],
            "peak_tree_mb": m["peak_tree_mb"], "peak_tree_pss_mb": m["peak_tree_pss_mb"], "peak_proc_mb": m["peak_proc_mb"]}


def _span(values: list[float], fmt: str = ".1f") -> str:
    lo, hi = min(values), max(values)
    return f"{lo:{fmt}}" if f"{lo:{fmt}}" == f"{hi:{fmt}}" else f"{lo:{fmt}}–{hi:{fmt}}"


def side_by_side(folder: Path, pages: list[tuple[str, bytes]], cores_list: list[int], repeat: int) -> dict:
    """Issue 20: ours and datatrove on the same WARCs in the same run, alternating (ours, datatrove, ours, ...) so a
    busy machine weighs on both; docs/s per core end to end (whole process, Ray's start and stop included) and
    without Ray's fixed cost, Ray's start/stop on their own, and the process tree's peak RSS at equal cores. At one
    core each round starts with bare trafilatura on the same pages (the ceiling), so each of our runs has a bare
    run beside it (``table[1]["bare_docs_s"]``)."""
    runs: dict[int, dict[str, list[dict]]] = {}
    bare: list[float] = []
    tools = [("ours", ours), ("ours_ray", lambda folder, cores: ours(folder, cores, executor="ray")),
             ("ours_fast", lambda folder, cores: ours(folder, cores, recipe="spine-fast.yaml")), ("datatrove", datatrove)]
    baseline = os.environ.get("BENCH_BASELINE")  # an older checkout (e.g. `git archive REV | tar -x -C DIR`, models linked)
    if baseline:
        tools.insert(3, ("baseline", lambda folder, cores: ours(folder, cores, Path(baseline).resolve(), "ray")))
    for cores in cores_list:
        for _ in range(repeat):
            if cores == 1:
                bare.append(len(pages) / bare_trafilatura(pages))
                print(f"  bare trafilatura 2.3 as installed (+ <title>, our settings, in process, the ceiling): {bare[-1]:.1f} docs/s "
                      "on one core", flush=True)
            for name, fn in tools:
                r = fn(folder, cores)
                runs.setdefault(cores, {}).setdefault(name, []).append(r)
                print(f"  {name} on {cores} core(s): {r['wall_s']:.1f} s, tree peak RSS {r['peak_tree_mb']:.0f} MB, "
                      f"PSS {r['peak_tree_pss_mb']:.0f} MB", flush=True)
    print(f"\n{'':<44}{'cores':>6}{'docs/s/core':>14}{'tree RSS MB':>13}{'tree PSS MB':>13}{'kept':>7}")
    table = {}
    for cores, by in runs.items():
        o, y, f, d = by["ours"], by["ours_ray"], by["ours_fast"], by["datatrove"]
        rate = {"ours": [r["docs"] / r["wall_s"] / cores for r in o],
                "ours_fast": [r["docs"] / r["wall_s"] / cores for r in f],
                "ours_ray": [r["docs"] / r["wall_s"] / cores for r in y],
                "ours_no_ray": [r["docs"] / r["wall_without_ray_s"] / cores for r in y],
                "datatrove": [r["docs"] / r["wall_s"] / cores for r in d]}
        rows = [("corpus, local executor (default), end to end", "ours", o),
                ("corpus on embedded Ray, end to end", "ours_ray", y),
                ("corpus on Ray, without Ray's start and stop", "ours_no_ray", y),
                ("corpus, resiliparse engine, end to end", "ours_fast", f),
                ("datatrove 0.10.1, end to end", "datatrove", d)]
        if "baseline" in by:
            b = by["baseline"]
            rate["baseline"] = [r["docs"] / r["wall_s"] / cores for r in b]
            rate["baseline_no_ray"] = [r["docs"] / r["wall_without_ray_s"] / cores for r in b]
            rows[4:4] = [("baseline corpus, end to end", "baseline", b), ("baseline corpus, without Ray's start/stop", "baseline_no_ray", b)]
        for label, key, rs in rows:
            print(f"{label:<44}{cores:>6}{_span(rate[key]):>14}{_span([r['peak_tree_mb'] for r in rs], '.0f'):>13}"
                  f"{_span([r['peak_tree_pss_mb'] for r in rs], '.0f'):>13}{rs[0]['kept']:>7}")
        # ratios pair each of our runs with the datatrove run next to it
        e2e = [a / b for a, b in zip(rate["ours"], rate["datatrove"])]
        e2e_ray = [a / b for a, b in zip(rate["ours_ray"], rate["datatrove"])]
        e2e_fast = [a / b for a, b in zip(rate["ours_fast"], rate["datatrove"])]
        no_ray = [a / b for a, b in zip(rate["ours_no_ray"], rate["datatrove"])]
        mem = [a["peak_tree_mb"] / b["peak_tree_mb"] for a, b in zip(o, d)]
        pss = [a["peak_tree_pss_mb"] / b["peak_tree_pss_mb"] for a, b in zip(o, d)]
        mem_ray = [a["peak_tree_mb"] / b["peak_tree_mb"] for a, b in zip(y, d)]
        print(f"  {cores} core(s): corpus / datatrove docs/s per core {_span(e2e, '.2f')}x end to end (local executor), "
              f"tree peak {_span(mem, '.2f')}x RSS, {_span(pss, '.2f')}x PSS")
        print(f"  {cores} core(s) on Ray: {_span(e2e_ray, '.2f')}x end to end, {_span(no_ray, '.2f')}x without Ray's fixed "
              f"cost (start {_span([r['ray_start_s'] for r in y])} s + stop {_span([r['ray_stop_s'] for r in y])} s), "
              f"tree peak {_span(mem_ray, '.2f')}x RSS")
        print(f"  {cores} core(s), resiliparse engine: {_span(e2e_fast, '.2f')}x datatrove's docs/s per core end to end "
              f"(kept {f[0]['kept']:,} against trafilatura's {o[0]['kept']:,})")
        if "baseline" in by:
            b = by["baseline"]
            print(f"  {cores} core(s), baseline: corpus / datatrove {_span([x / y for x, y in zip(rate['baseline'], rate['datatrove'])], '.2f')}x "
                  f"end to end; Ray start {_span([r['ray_start_s'] for r in b])} s + stop {_span([r['ray_stop_s'] for r in b])} s; "
                  f"tree peak / datatrove {_span([x['peak_tree_mb'] / y['peak_tree_mb'] for x, y in zip(b, d)], '.2f')}x RSS, "
                  f"{_span([x['peak_tree_pss_mb'] / y['peak_tree_pss_mb'] for x, y in zip(b, d)], '.2f')}x PSS")
        table[cores] = {"runs": by, "bare_docs_s": bare if cores == 1 else [], "ratio_e2e": e2e, "ratio_e2e_ray": e2e_ray, "ratio_e2e_fast": e2e_fast, "ratio_without_ray": no_ray,
                        "ratio_tree_rss": mem, "ratio_tree_rss_ray": mem_ray, "ratio_tree_pss": pss}
    if 1 in runs and 2 in runs:
        for name in ("ours", "ours_ray", "datatrove"):
            one = max(r["docs"] / r["wall_s"] for r in runs[1][name])
            two = max(r["docs"] / r["wall_s"] for r in runs[2][name])
            print(f"  scaling {name}: 2 cores / 1 core = {two / one:.2f}x docs/s (best runs)")
    return table


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    folder, pages, label = build_input()
    n = len(pages)
    cores_list = [int(c) for c in os.environ.get("BENCH_CORES", "1,2").split(",")]
    repeat = int(os.environ.get("BENCH_REPEAT", "2"))
    print(f"spine benchmark: {n:,} HTML pages from the {label}, {sum(len(b) for _, b in pages) / 1e6:.1f} MB, "
          f"read → extract → language ID → format, on {', '.join(map(str, cores_list))} core(s), {repeat} alternating runs each\n")
    table = side_by_side(folder, pages, cores_list, repeat)
    one = table.get(1) or table[min(table)]
    r_ours = min(one["runs"]["ours"], key=lambda r: r["wall_s"])
    r_dt = min(one["runs"]["datatrove"], key=lambda r: r["wall_s"])
    if one["bare_docs_s"]:  # each of our one-core runs against the bare run of its round
        pairs = list(zip(one["runs"]["ours"], one["bare_docs_s"]))
        print(f"\ncorpus / bare trafilatura (end to end):   {_span([r['docs'] / r['wall_s'] / b for r, b in pairs], '.0%')}")
        print(f"corpus / bare trafilatura (stage time only):        {_span([r['docs'] / r['stage_s'] / b for r, b in pairs], '.0%')}")
    result = {"pages": n, "bare_trafilatura_docs_s": one["bare_docs_s"], "ours": r_ours, "datatrove": r_dt,
              "side_by_side": table}
    (OUT / "spine.json").write_text(json.dumps(result, indent=1))
    if os.environ.get("BENCH_SPINE_ONLY") == "1":
        return
    result["rules"] = rules(r_ours["extract_s_per_doc"])
    result["pack"] = pack_bench()
    from pack_gpu import main as run_pack_gpu

    result["pack_all_cores"] = run_pack_gpu(OUT / "ours", OUT, copies=8, shards=4)
    from mix_bench import main as run_mix_bench

    result["mix"] = run_mix_bench(OUT / "pack-input", OUT / "mix")  # issue 18: mix + pack --mix next to pack alone
    (OUT / "results.json").write_text(json.dumps(result, indent=1, default=str))
    from dedup_bench import main as run_dedup_bench

    result["dedup"] = run_dedup_bench(OUT, int(os.environ.get("BENCH_DEDUP_SCALE", "1000000")))
    (OUT / "results.json").write_text(json.dumps(result, indent=1, default=str))
    from safety_bench import main as run_safety_bench

    result["safety"] = run_safety_bench(OUT / "ours" / "data", OUT)
    from quality_bench import main as run_quality_bench

    result["perplexity"] = run_quality_bench(OUT / "ours" / "data", result["rules"]["extract_ms_per_doc"])
    # issue 19: extraction on the annotated zh/en set, and drop precision per reason on the labelled check set
    # (each against the previous recipe), as their own processes: they parse their own arguments
    for script, name in (("extract_bench.py", "extraction"), ("checkset_bench.py", "checkset")):
        print(f"\n== {name} ==", flush=True)
        subprocess.run([sys.executable, str(ROOT / "bench" / script), "--json", str(OUT / f"{name}.json")], check=True)
        result[name] = json.loads((OUT / f"{name}.json").read_text())
    print("\n== per-stage cost and Ray's fixed cost ==", flush=True)  # issue 20: ms/doc per stage, 1 and 2 workers
    subprocess.run([sys.executable, str(ROOT / "bench" / "perf_bench.py"), "--json", str(OUT / "perf.json")], check=True, cwd=ROOT)
    print("\n== Ray's start, stop and memory: lean embedded start against Ray's usual helpers ==", flush=True)
    subprocess.run([sys.executable, str(ROOT / "bench" / "ray_overhead.py"), "--json", str(OUT / "ray_overhead.json")], check=True, cwd=ROOT)
    print("\n== human review ==", flush=True)  # issue 15: drop precision per reason from the shipped labels, report time
    subprocess.run([sys.executable, str(ROOT / "bench" / "review_bench.py")], check=True, cwd=ROOT)
    print("\n== decontamination ==", flush=True)  # issue 17: recall per planted kind, precision on clean pages, cost
    subprocess.run([sys.executable, str(ROOT / "bench" / "decont_bench.py")], check=True, cwd=ROOT)
    print("\n== object storage ==", flush=True)  # issue 16: S3 in and out against local disk, end to end
    subprocess.run([sys.executable, str(ROOT / "bench" / "storage_bench.py"), "--json", str(OUT / "storage.json")], check=True,
                   cwd=ROOT)
    (OUT / "results.json").write_text(json.dumps(result, indent=1, default=str))


def pack_bench() -> dict:
    """Issue 8: the curated output of the spine benchmark, 8 copies, so Ray's start-up is amortised a little."""
    from pack_bench import main as run_pack_bench

    src = OUT / "pack-input" / "data"
    shutil.rmtree(src.parent, ignore_errors=True)
    src.mkdir(parents=True)
    for k in range(8):
        for f in sorted((OUT / "ours" / "data").glob("*.parquet")):
            shutil.copy(f, src / f"{f.stem}-copy{k}.parquet")
    return run_pack_bench(src.parent, OUT / "packed")


def rules(extract_s_per_doc: float) -> dict:
    """Issue 3: keep/drop agreement with datatrove's filters at datatrove's defaults, and rule cost."""
    import pyarrow.dataset as ds

    from rules_agreement import report as agreement_report, rule_cost

    print()
    report = agreement_report(OUT)
    texts = ds.dataset(str(OUT / "ours" / "data"), format="parquet").to_table(columns=["id", "text", "lang"]).to_pylist()
    per_doc, ratio = rule_cost(texts, extract_s_per_doc)
    print(f"\nrule cost: all 5 rule filters {per_doc * 1000:.2f} ms/doc vs extraction {extract_s_per_doc * 1000:.2f} ms/doc "
          f"= {ratio:.1%} of extraction (target <= 10%), on the {len(texts):,} documents extracted above")
    return {"agreement": report, "rule_ms_per_doc": per_doc * 1000, "extract_ms_per_doc": extract_s_per_doc * 1000}


if __name__ == "__main__":
    main()
