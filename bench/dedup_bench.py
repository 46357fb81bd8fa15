"""Issue 5: dedup next to datatrove's MinHash pipeline on the same planted input, and a 1M-document scale run.

Planted input: real English (Python's reference manual) and Chinese (People's Daily 1998) base documents,
each with variants at measured shingle Jaccard similarity 0.6 / 0.75 / 0.85 / 0.95, among unrelated
documents. Both tools: 5-gram shingles, the same bands x rows, one core (one worker). Precision and recall are
over the planted (variant, base) pairs against their true similarity (threshold 0.7).

Ours runs on the executor a user gets on one machine, local processes (BENCH_DEDUP_EXECUTOR=ray for an embedded
Ray); the shard records say which executor really ran, and a run on another one is refused (a worker count or an
idle Ray in the tree would make the figures lie). Memory is the whole process tree's (local workers, or Ray's
raylet, GCS and workers, are the driver's descendants; datatrove runs in one process): peak RSS, an upper bound that
counts shared pages once per process, and peak PSS, which splits them. The scale run splits its peaks by phase
(start, shards reading and fingerprinting, the dedup plan, applying the decisions and writing, finishing, Ray
stop), from the run's own timings and its files' modification times.

    .venv/bin/python bench/dedup_bench.py [SCALE_DOCS [OUT_ROOT]]   # SCALE_DOCS 0: the planted comparison only
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
from pathlib import Path

import pyarrow.dataset as ds

from memtimeline import measure, phase_peaks

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
EXECUTOR = os.environ.get("BENCH_DEDUP_EXECUTOR", "local")


def _write_jsonl(folder: Path, docs: list[dict], shards: int) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for k in range(shards):
        with (folder / f"part-{k:05d}.jsonl").open("w") as fh:
            for d in docs[k::shards]:
                fh.write(json.dumps(d, ensure_ascii=False) + "\n")


def planted_rows(noise: int) -> list[dict]:
    """The planted families (en and zh) and ``noise`` unrelated documents, shuffled with a fixed seed."""
    from corpus.dedup import planted
    from corpus.sample import chinese_sentences, english_paragraphs

    words = " ".join(english_paragraphs()).split()
    en = [" ".join(words[i : i + 250]) for i in range(0, len(words) - 250, 250)][:600]
    zh_text = "".join(chinese_sentences(20000))
    zh = [zh_text[i : i + 400] for i in range(0, len(zh_text) - 400, 400)][:400]
    rows = []
    for lang, bases, vocab in (("en", en, sorted(set(words))), ("zh", zh, sorted(set(zh_text)))):
        for r in planted.families(bases, vocab, seed=1):
            rows.append(dict(r, id=f"{lang}-{r['id']}", url=f"{r['url']}/{lang}", lang=lang))
    vocab = sorted(set(words))
    for i, text in enumerate(planted.random_documents(noise, vocab, 200, seed=2)):
        rows.append({"id": f"noise-{i}", "url": f"https://noise.example/{i}", "text": text, "lang": "noise", "target": None})
    random.Random(0).shuffle(rows)
    return rows


def planted_input(folder: Path, noise: int) -> list[dict]:
    rows = planted_rows(noise)
    _write_jsonl(folder, [{"id": r["id"], "url": r["url"], "text": r["text"], "date": "2024-01-01"} for r in rows], 4)
    return rows


def ours(recipe: Path, folder: Path, out: Path, cpus: int) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    m = measure([str(BIN / "python"), str(ROOT / "bench/run_ours.py"), str(recipe), str(folder / "*.jsonl"), str(out), str(cpus), EXECUTOR])
    m["summary"] = json.loads(m.pop("stdout").strip().splitlines()[-1])
    nodes = [json.loads(f.read_text()).get("node") for f in (out / "_shards").glob("*.json")]  # a shard's commit names its node
    ran = {"local" if n.startswith("local:") else "ray" for n in nodes if isinstance(n, str)}
    if ran != {EXECUTOR}:
        raise RuntimeError(f"bench/run_ours.py was asked for the {EXECUTOR} executor but its shards ran on {sorted(ran)}: "
                           f"the figures would not be what they say")
    m["phases"] = phase_peaks(m.pop("timeline"), _phase_ends(m, out))
    return m


def _phase_ends(m: dict, out: Path) -> list[tuple[str, float]]:
    """Where each phase of our run ended, in epoch seconds. run_ours.py times its imports, Ray's start, the run and
    Ray's stop; they are placed back from the process's end (the interpreter's own start falls in "start"). Inside
    the run: the last fingerprint file (shards read and fingerprinted), plan.json (the dedup plan), the last data or
    rejected file (decisions applied, shards written); the rest is stats, manifest and dataset card."""
    s = m["summary"]
    end = m["started"] + m["wall_s"]
    run_end = end - s["shutdown_s"]
    run_start = run_end - s["run_s"]

    def last(pattern: str) -> float:
        times = [p.stat().st_mtime for p in out.glob(pattern)]
        return min(run_end, max(times)) if times else run_start

    shards = last("global/dedup/fingerprints/*.parquet")
    plan = max(shards, last("global/dedup/plan.json"))
    written = max(plan, last("data/*.parquet"), last("rejected/*.parquet"))
    return [("start (imports, Ray if any)", run_start), ("shards: read, fingerprints", shards), ("dedup plan", plan),
            ("apply decisions, write", written), ("finish (stats, card)", run_end), ("Ray stop", end + 1)]


def _print_phases(phases: list[dict]) -> None:
    print(f"    {'phase':<28}{'wall s':>8}{'tree RSS MB':>13}{'tree PSS MB':>13}{'largest MB':>12}  largest process")
    for p in phases:
        fmt = lambda v: f"{v:,.0f}" if v is not None else "–"  # noqa: E731 - a phase shorter than one sample
        print(f"    {p['phase']:<28}{p['wall_s']:>8.1f}{fmt(p['peak_tree_mb']):>13}{fmt(p['peak_tree_pss_mb']):>13}"
              f"{fmt(p['peak_proc_mb']):>12}  {p['largest'] or '–'}")


def our_clusters(out: Path) -> dict[str, str | None]:
    """url -> dup_cluster over kept and dedup-rejected rows."""
    cols = ["url", "dup_cluster"]
    kept = ds.dataset(str(out / "data"), format="parquet").to_table(columns=cols).to_pylist()
    gone = ds.dataset(str(out / "rejected"), format="parquet").to_table(columns=cols, filter=ds.field("drop_stage") == "dedup").to_pylist()
    return {r["url"]: r["dup_cluster"] for r in kept + gone}


def datatrove(folder: Path, out: Path, bands: int, rows: int) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    m = measure([str(ROOT / ".bench-venv/bin/python"), str(ROOT / "bench/peer_minhash.py"), str(folder), str(out), str(bands), str(rows)])
    m["result"] = json.loads(m.pop("stdout").strip().splitlines()[-1])
    m.pop("timeline")
    return m


def metrics(rows: list[dict], by_key: dict, key: str) -> dict:
    from corpus.dedup.planted import pair_metrics

    out = {}
    for lang in ("en", "zh"):
        fam = [r for r in rows if r.get("lang") == lang]
        out[lang] = pair_metrics(fam, {r["id"]: by_key.get(r[key]) for r in fam}, 0.7)
    return out


def scale_input(folder: Path, n: int) -> int:
    """n short generated documents (40 words): ~90% unique, the rest exact copies or one-word edits (J ~ 0.76)."""
    from corpus.sample import english_paragraphs

    rng = random.Random(4)
    vocab = sorted(set(" ".join(english_paragraphs()).split()))
    shards = 16
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    handles = [(folder / f"part-{k:05d}.jsonl").open("w") for k in range(shards)]
    i = 0
    while i < n:
        words = rng.choices(vocab, k=40)
        copies = 2 if rng.random() < 0.1 else 1
        for c in range(min(copies, n - i)):
            if c and rng.random() < 0.5:
                words[rng.randrange(40)] = rng.choice(vocab)
            handles[i % shards].write(json.dumps({"url": f"https://gen.example/{i}", "text": " ".join(words)}) + "\n")
            i += 1
    for h in handles:
        h.close()
    return i


def main(out_root: Path, scale_docs: int) -> dict:
    from filters.dedup import DedupParams

    bands, rows_per_band = DedupParams().banding()
    recipe = out_root / "dedup-only.yaml"
    out_root.mkdir(parents=True, exist_ok=True)
    recipe.write_text("name: dedup-only\nstages:\n  - dedup: {url: false, line_min_docs: 0}\n")
    folder = out_root / "dedup-input"
    rows = planted_input(folder, noise=15000)
    n = len(rows)
    fams = {lang: sum(1 for r in rows if r.get("lang") == lang and r["target"] == 1.0) for lang in ("en", "zh")}
    print(f"\ndedup: {n:,} documents ({fams['en']} en + {fams['zh']} zh planted families x 5, plus 15,000 unrelated), 5-grams, "
          f"{bands} bands x {rows_per_band} rows, one core per tool (ours: {EXECUTOR} executor)")
    r_ours = ours(recipe, folder, out_root / "dedup-ours", 1)
    r_dt = datatrove(folder, out_root / "dedup-datatrove", bands, rows_per_band)
    m_ours = metrics(rows, our_clusters(out_root / "dedup-ours"), "url")
    m_dt = metrics(rows, r_dt["result"]["clusters"], "id")
    # end to end, as datatrove's figure is (its process's imports included); and without Ray's start and stop, a fixed
    # cost of a few seconds that a long run pays once (the stages' own wall_s are not added up: they overlap)
    rates = {"end to end": n / r_ours["wall_s"], "pipeline.run (no imports, Ray start/stop)": n / r_ours["summary"]["run_s"]}
    dt_rate = n / r_dt["wall_s"]
    print(f"{'':<50}{'docs/s/core':>12}{'peak proc MB':>14}{'tree RSS MB':>13}{'tree PSS MB':>13}{'en P / R':>16}{'zh P / R':>16}")
    for name, rate, mem, m in [(f"corpus, {k}", v, r_ours, m_ours) for k, v in rates.items()] + [
            ("datatrove 0.10.1 minhash, 4 stages", dt_rate, r_dt, m_dt)]:
        print(f"{name:<50}{rate:>12,.0f}{mem['peak_proc_mb']:>14,.0f}{mem['peak_tree_mb']:>13,.0f}{mem['peak_tree_pss_mb']:>13,.0f}"
              f"{m['en']['precision']:>9.3f} / {m['en']['recall']:.3f}{m['zh']['precision']:>9.3f} / {m['zh']['recall']:.3f}")
    ratios = {k: v / dt_rate for k, v in rates.items()}
    print("corpus / datatrove docs/s per core (target >= 5x): " + ", ".join(f"{v:.2f}x {k}" for k, v in ratios.items()))
    for tool, m in (("corpus", m_ours), ("datatrove", m_dt)):
        print(f"  caught by planted similarity, {tool}: en {m['en']['caught_by_target']}  zh {m['zh']['caught_by_target']}")
    result = {"docs": n, "bands": bands, "rows": rows_per_band, "ours": {k: v for k, v in r_ours.items() if k != "stderr"},
              "datatrove": {k: v for k, v in r_dt.items() if k not in ("stderr", "result")}, "metrics": {"ours": m_ours, "datatrove": m_dt},
              "docs_per_s_per_core": {"datatrove": dt_rate, **{f"corpus {k}": v for k, v in rates.items()}}, "ratio": ratios}
    if scale_docs:
        folder = out_root / "dedup-scale-input"
        total = scale_input(folder, scale_docs)
        print(f"\ndedup scale run: {total:,} generated 40-word documents, 16 shards, both cores ({EXECUTOR} executor)")
        recipe.write_text("name: dedup-scale\nstages:\n  - dedup: {url: false}\n")
        r = ours(recipe, folder, out_root / "dedup-scale-ours", 2)
        g = r["summary"]["global"]["dedup"]
        dropped = next(s for s in r["summary"]["stages"] if s["name"] == "dedup")["rejected"]
        print(f"  wall {r['wall_s']:.0f}s: {total / r['wall_s']:,.0f} docs/s on 2 cores ({total / r['wall_s'] / 2:,.0f} per core), "
              f"{total / r['summary']['run_s']:,.0f} docs/s in pipeline.run; plan {g['wall_s']:.0f}s over "
              f"{g['partitions']} partitions, {g['cc_rounds']} component rounds; duplicates dropped {dropped}")
        print(f"  peak memory of the whole process tree: RSS {r['peak_tree_mb']:,.0f} MB (shared pages counted once per process), "
              f"PSS {r['peak_tree_pss_mb']:,.0f} MB (shared pages split); largest process {r['peak_proc_mb']:,.0f} MB")
        _print_phases(r["phases"])
        result["scale"] = {"docs": total, **{k: v for k, v in r.items() if k not in ("stderr",)}}
        rep = measure([str(BIN / "python"), "-c", f"from corpus.report import build; build({str(out_root / 'dedup-scale-ours')!r})"])
        print(f"  curation report of that run: {rep['wall_s']:.1f}s, peak memory {rep['peak_proc_mb']:,.0f} MB")
        result["scale"]["report"] = {k: rep[k] for k in ("wall_s", "peak_proc_mb", "peak_tree_mb", "peak_tree_pss_mb")}
        shutil.rmtree(folder, ignore_errors=True)
    return result


def _clusters(keys, shingles: list, threshold: float) -> tuple[dict[int, int], set, set]:
    """Doc index -> cluster root: candidate pairs share a band key, kept when their exact shingle Jaccard
    similarity reaches ``threshold`` (the stage's verify step), joined by union-find."""
    import numpy as np

    parent = list(range(len(shingles)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    sets = [set(s.tolist()) for s in shingles]
    pairs: set[tuple[int, int]] = set()
    for b in range(keys.shape[1]):
        order = np.argsort(keys[:, b], kind="stable")
        k = keys[order, b]
        for lo, hi in zip(*(lambda e: (e[:-1], e[1:]))(np.flatnonzero(np.r_[True, k[1:] != k[:-1], True]))):
            if hi - lo > 1:
                first = int(order[lo])
                pairs.update((min(first, int(j)), max(first, int(j))) for j in order[lo + 1:hi])
    verified = {(a, b) for a, b in pairs if len(sets[a] & sets[b]) / max(1, len(sets[a] | sets[b])) >= threshold}
    for a, b in sorted(verified):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {i: find(i) for i in range(len(shingles))}, pairs, verified


def signature_engines(noise: int = 15000) -> dict:
    """The MinHash signature step alone, in this process: our numpy path (datasketch's affine32 family, bit
    for bit) against rensa's RMinHash on the same 32-bit shingle hashes; candidates, verified pairs and the
    planted precision/recall of each, and the CPU time of the signature step."""
    import time

    import numpy as np
    from rensa import RMinHash

    from corpus.dedup import minhash
    from filters.dedup import DedupParams

    p = DedupParams()
    bands, rows_per_band = p.banding()
    rows = planted_rows(noise)
    t = time.thread_time()
    shingles = [minhash.shingle_hashes(r["text"], p.ngram) for r in rows]
    shingle_s = time.thread_time() - t
    out: dict = {"docs": len(rows), "bands": bands, "rows": rows_per_band, "shingle_cpu_s": shingle_s}

    def numpy_sig():
        return minhash.signatures(shingles, p.num_perm, p.seed)[0]

    def rensa_sig():
        flat = np.concatenate(shingles).astype(np.uint64)
        offsets = np.concatenate([[0], np.cumsum([len(s) for s in shingles])]).astype(np.uint64)
        m = RMinHash.digest_matrix_from_flat_token_hashes(flat, offsets, p.num_perm, p.seed)
        return np.array(m.to_rows(), dtype=np.uint32)

    results = {}
    for name, fn in (("numpy (datasketch affine32)", numpy_sig), ("rensa RMinHash", rensa_sig)):
        fn()  # warm-up (permutation cache, imports)
        t = time.thread_time()
        sig = fn()
        cpu = time.thread_time() - t
        sig2 = fn()
        keys = minhash.band_keys(sig[:, : bands * rows_per_band], bands, rows_per_band)
        cl, cand, ver = _clusters(keys, shingles, p.threshold)
        by_id = {r["id"]: cl[i] for i, r in enumerate(rows)}
        results[name] = {"cpu_s": cpu, "repeatable": bool(np.array_equal(sig, sig2)), "candidates": cand,
                         "verified": ver, "metrics": metrics(rows, by_id, "id")}
    (a, ra), (b, rb) = results.items()
    print(f"\nMinHash signature step, {len(rows):,} planted-benchmark documents, {p.num_perm} permutations, "
          f"{bands} bands x {rows_per_band} rows, verify on (shingles: {shingle_s:.2f} s CPU)")
    print(f"{'engine':<30}{'sig CPU s':>10}{'docs/s':>10}{'candidates':>11}{'verified':>10}{'en P / R':>16}{'zh P / R':>16}")
    for name, r in results.items():
        m = r["metrics"]
        print(f"{name:<30}{r['cpu_s']:>10.3f}{len(rows) / r['cpu_s']:>10,.0f}{len(r['candidates']):>11,}"
              f"{len(r['verified']):>10,}{m['en']['precision']:>9.3f} / {m['en']['recall']:.3f}"
              f"{m['zh']['precision']:>9.3f} / {m['zh']['recall']:.3f}")
    same = ra["verified"] == rb["verified"]
    print(f"verified duplicate pairs identical: {same} (only in {a}: {len(ra['verified'] - rb['verified'])}, "
          f"only in {b}: {len(rb['verified'] - ra['verified'])}); rensa / numpy signature speed: "
          f"{ra['cpu_s'] / rb['cpu_s']:.2f}x; each engine repeatable in-process: "
          f"{ra['repeatable']} / {rb['repeatable']}")
    for name, r in results.items():
        print(f"  caught by planted similarity, {name}: en {r['metrics']['en']['caught_by_target']}  "
              f"zh {r['metrics']['zh']['caught_by_target']}")
    out.update({k: {"cpu_s": r["cpu_s"], "candidates": len(r["candidates"]), "verified": len(r["verified"]),
                    "metrics": r["metrics"]} for k, r in results.items()})
    out["identical_decisions"] = same
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    if sys.argv[1:2] == ["--signatures"]:
        print(json.dumps(signature_engines(), default=str)[:2000])
        sys.exit(0)
    out_root = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "out" / "bench"
    result = main(out_root, int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    (out_root / "dedup.json").write_text(json.dumps(result, indent=1, default=str))
    print(json.dumps(result, default=str)[:2000])
