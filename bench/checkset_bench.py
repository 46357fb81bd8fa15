"""Drop precision of the recipe's per-document stages on the labelled check set, per reason and language,
for the current code and recipe and for an earlier commit's (issue 19).

The check set (bench/checkset/: docs.jsonl, labels.tsv, README.md) holds real documents from this machine,
each labelled usable pretraining text or not by reading it. The stages from langid to safety run directly,
in the recipe's order, without Ray and without dedup (a global stage: its decisions depend on the rest
of a crawl, not on one page). Every reason's drop precision is the share of the documents it dropped that
are labelled not usable. The earlier commit runs from a `git archive` of it, with its own code and recipe,
in a subprocess, so "before" is what that commit really did.

Also printed: keep/drop agreement on the shared crawl's translated page pairs (same path under en-US and
zh-CN), and every reason each rule stage can give that fired on no check-set page (label-only pass).

    .venv/bin/python bench/checkset_bench.py [--before COMMIT] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKSET = ROOT / "bench" / "checkset"
STAGES = ["langid", "format", "abnormal", "gopher_repetition", "gopher_quality", "chinese_web", "c4", "fineweb", "safety"]
RULES = ["abnormal", "gopher_repetition", "gopher_quality", "chinese_web", "c4", "fineweb"]
BEFORE = "52458d8"  # the last commit before issue 19's rule changes


def load_checkset() -> tuple[list[dict], dict[str, bool]]:
    docs = [json.loads(line) for line in (CHECKSET / "docs.jsonl").read_text(encoding="utf-8").split("\n") if line]
    labels = {}
    for line in (CHECKSET / "labels.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            doc_id, usable = line.split("\t")[:2]
            labels[doc_id] = usable == "yes"
    missing = [d["id"] for d in docs if d["id"] not in labels]
    if missing:
        raise SystemExit(f"bench/checkset/labels.tsv has no label for {len(missing)} documents (e.g. {missing[0]}); label them first")
    return docs, labels


def decide(root: Path, docs: list[dict]) -> dict:
    """Run the recipe's stages in ``root`` (a checkout) over the documents: {id: {reason, lang}} plus the
    reasons each rule stage gives in a label-only pass over every document that reached the rules."""
    sys.path.insert(0, str(root))
    import pyarrow as pa
    import yaml

    from corpus.recipe import parse

    recipe = parse(yaml.safe_load((root / "pipelines" / "default.yaml").read_text()), "default.yaml")
    html = bool(docs) and "html" in docs[0]  # whole pages: the recipe's extract stage runs first
    steps = [s for s in recipe.build() if s.stage_name in STAGES or (html and s.stage_name == "extract")]
    for s in steps:
        s.setup()
    rows = [{"id": d["id"], "url": d.get("url") or "", "domain": None, "title": None, "date": None, "text": d.get("text"),
             "lang": None, **({"_html": d["html"].encode("utf-8"), "_http_charset": "utf-8"} if html else {})} for d in docs]
    table = pa.Table.from_pylist(rows)
    out: dict[str, dict] = {}
    fired: dict[str, Counter] = {}
    for step in steps:
        if step.stage_name in RULES:  # label-only: which reasons can this stage give on real pages?
            probe = type(step)(type(step.params)(**{**step.params.__dict__, "label_only": True}), stage_name=step.stage_name)
            flags = probe(table.drop_columns([c for c in ("drop_reason",) if c in table.column_names])).column(f"{step.name}_flag")
            fired[step.stage_name] = Counter(f for f in flags.to_pylist() if f)
        table = step(table)
        reasons = table.column("drop_reason").to_pylist()
        langs = table.column("lang").to_pylist() if "lang" in table.column_names else [None] * table.num_rows
        for row_id, reason, lang in zip(table.column("id").to_pylist(), reasons, langs):
            if reason:
                out[row_id] = {"reason": reason, "lang": lang}
        keep = [i for i, r in enumerate(reasons) if r is None]
        table = table.take(keep).drop_columns(["drop_reason"])
        if not table.num_rows:
            break
    for row_id, lang in zip(table.column("id").to_pylist(), table.column("lang").to_pylist()):
        out[row_id] = {"reason": None, "lang": lang}
    return {"decisions": out, "fired": {k: dict(v) for k, v in fired.items()}}


def decide_at(commit: str, docs_path: Path) -> dict:
    """The same run with an earlier commit's code and recipe (exported with git archive, models shared)."""
    tmp = Path(tempfile.mkdtemp(prefix="checkset-before-"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=__import__("io").BytesIO(archive)) as tar:
        tar.extractall(tmp, filter="data")
    if (tmp / "models").exists():  # the tracked README only: the built models are shared
        import shutil

        shutil.rmtree(tmp / "models")
    (tmp / "models").symlink_to(ROOT / "models")
    (tmp / "bench" / "checkset_bench.py").write_text(Path(__file__).read_text())
    proc = subprocess.run([sys.executable, str(tmp / "bench" / "checkset_bench.py"), "--decide", str(tmp), "--docs", str(docs_path)],
                          check=True, capture_output=True, text=True, cwd=tmp)
    return json.loads(proc.stdout.splitlines()[-1])


def crawl_pairs() -> list[dict]:
    """Every path of the shared crawl present under en-US and zh-CN, as whole pages (HTML): the done-when
    measure of issue 19 runs the recipe's own extraction, not the check set's fixed texts."""
    sys.path.insert(0, str(CHECKSET))
    import build

    pages = build.crawl_pages()
    paths = sorted({p for (lang, p) in pages if lang == "en-US"} & {p for (lang, p) in pages if lang == "zh-CN"})
    return [{"id": f"{lang}|{path}", "url": pages[(lang, path)][1], "html": pages[(lang, path)][0], "pair": path}
            for path in paths for lang in ("en-US", "zh-CN")]


def crawl_pair_summary(pages: list[dict], result: dict) -> str:
    """Pairs with the same keep/drop decision, and retention per language, on the whole-page crawl pairs."""
    kept = {d["id"]: result["decisions"].get(d["id"], {}).get("reason") is None for d in pages}
    paths = sorted({d["pair"] for d in pages})
    agree = sum(kept[f"en-US|{p}"] == kept[f"zh-CN|{p}"] for p in paths)
    en, zh = (sum(kept[f"{lang}|{p}"] for p in paths) for lang in ("en-US", "zh-CN"))
    n = len(paths)
    return (f"pair agreement {agree}/{n} = {agree / n:.2f}; retention en {en}/{n} = {en / n:.2f}, zh {zh}/{n} = {zh / n:.2f} "
            f"(gap {abs(en - zh) / n * 100:.1f} points)")


def doc_lang(doc: dict, decided: dict) -> str:
    lang = decided.get("lang")
    return lang if lang in ("zh", "en") else "other"


def precision_table(docs: list[dict], labels: dict[str, bool], result: dict) -> dict[tuple[str, str], tuple[int, int]]:
    """(reason, lang) -> (dropped, dropped and not usable)."""
    out: Counter = Counter()
    bad: Counter = Counter()
    for d in docs:
        r = result["decisions"][d["id"]]
        if r["reason"]:
            key = (r["reason"], doc_lang(d, r))
            out[key] += 1
            bad[key] += not labels[d["id"]]
    return {k: (out[k], bad[k]) for k in out}


def pair_agreement(docs: list[dict], result: dict, labels: dict[str, bool] | None = None) -> tuple[int, int]:
    """Pairs (same path in en-US and zh-CN) given the same keep/drop decision; with ``labels``, only the
    pairs whose two extracted pages carry the same content (both usable or both not): where extraction
    kept 65 characters of one page and 472 of the other, the right decisions differ."""
    pairs: dict[str, dict[str, tuple[bool, bool]]] = {}
    for d in docs:
        if d.get("pair"):
            pairs.setdefault(d["pair"], {})[d["source"]] = (result["decisions"][d["id"]]["reason"] is None,
                                                             labels[d["id"]] if labels else True)
    full = [v for v in pairs.values() if len(v) == 2 and len({u for _, u in v.values()}) == 1]
    return sum(len({k for k, _ in v.values()}) == 1 for v in full), len(full)


def summary(docs: list[dict], labels: dict[str, bool], result: dict) -> dict:
    kept = Counter()
    total = Counter()
    usable_kept = Counter()
    for d in docs:
        r = result["decisions"][d["id"]]
        lang = "zh" if "zh" in d["source"] or "peoples" in d["source"] else "en"
        total[lang] += 1
        kept[lang] += r["reason"] is None
        usable_kept[lang] += r["reason"] is None and labels[d["id"]]
    usable = Counter("zh" if "zh" in d["source"] or "peoples" in d["source"] else "en" for d in docs if labels[d["id"]])
    return {lang: {"docs": total[lang], "kept": kept[lang], "usable": usable[lang], "usable_kept": usable_kept[lang]} for lang in total}


def report(docs: list[dict], labels: dict[str, bool], before: dict, after: dict) -> dict:
    tb, ta = precision_table(docs, labels, before), precision_table(docs, labels, after)
    print(f"check set: {len(docs)} documents, {sum(labels.values())} labelled usable\n")
    print(f"{'reason':38} {'lang':5} {'before: drops prec':>19} {'after: drops prec':>19}")
    for key in sorted(set(tb) | set(ta)):
        cells = []
        for t in (tb, ta):
            n, bad = t.get(key, (0, 0))
            cells.append(f"{n:6d} {bad / n:6.2f}" if n else f"{0:6d} {'-':>6}")
        flag = "  <-- below 0.9" if ta.get(key, (0, 0))[0] >= 10 and ta[key][1] / ta[key][0] < 0.9 else ""
        print(f"{key[0]:38} {key[1]:5} {cells[0]:>19} {cells[1]:>19}{flag}")
    print()
    for name, res in (("before", before), ("after", after)):
        agree, n = pair_agreement(docs, res)
        same, m = pair_agreement(docs, res, labels)
        s = summary(docs, labels, res)
        parts = [f"{lang}: kept {v['kept']}/{v['docs']}, usable kept {v['usable_kept']}/{v['usable']}" for lang, v in sorted(s.items())]
        print(f"{name:6}: pair agreement {agree}/{n} = {agree / max(1, n):.2f} (same-content pairs {same}/{m} = "
              f"{same / max(1, m):.2f}); " + "; ".join(parts))
    print("\nrule reasons that were never the first reason of their stage on a check-set page (label-only pass), after:")
    fired = {r for counts in after["fired"].values() for r in counts}
    from corpus.registry import stages

    never = []
    for name in RULES:
        for reason in _reasons(stages()[name]):
            if reason not in fired:
                never.append(reason)
    print("  " + (", ".join(never) or "none"))
    return {"before": {f"{k[0]}|{k[1]}": v for k, v in tb.items()}, "after": {f"{k[0]}|{k[1]}": v for k, v in ta.items()},
            "pairs": {"before": pair_agreement(docs, before), "after": pair_agreement(docs, after),
                      "same_content_before": pair_agreement(docs, before, labels), "same_content_after": pair_agreement(docs, after, labels)},
            "never_fired": never}


def _reasons(cls) -> list[str]:
    """The reason codes a rule stage can give (its ``codes``), "empty" aside: an empty page never reaches it."""
    return [f"{cls.name}.{c}" for c in getattr(cls, "codes", ()) if c != "empty"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default=BEFORE, help="commit to compare with (default: %(default)s)")
    ap.add_argument("--json", help="write the numbers here")
    ap.add_argument("--decide", help=argparse.SUPPRESS)  # internal: run the stages of this checkout
    ap.add_argument("--docs", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.decide:
        docs = [json.loads(line) for line in Path(args.docs).read_text(encoding="utf-8").split("\n") if line]
        print(json.dumps(decide(Path(args.decide), docs)))
        return
    docs, labels = load_checkset()
    before = decide_at(args.before, CHECKSET / "docs.jsonl")
    after = decide(ROOT, docs)
    numbers = report(docs, labels, before, after)
    pages = crawl_pairs()
    tmp = Path(tempfile.mkdtemp(prefix="checkset-pairs-")) / "pages.jsonl"
    tmp.write_text("".join(json.dumps(d) + "\n" for d in pages), encoding="utf-8")
    print(f"\nshared crawl, {len(pages) // 2} translated page pairs (same path under en-US and zh-CN), whole pages through "
          "the recipe's extract, langid and rule stages:")
    try:
        pairs_before = crawl_pair_summary(pages, decide_at(args.before, tmp))
    except subprocess.CalledProcessError as exc:  # an old commit whose extract stage needs other columns
        pairs_before = f"n/a ({exc.stderr.strip().splitlines()[-1] if exc.stderr else exc})"
    pairs_after = crawl_pair_summary(pages, decide(ROOT, pages))
    print(f"  before: {pairs_before}\n  after : {pairs_after}")
    numbers["crawl_pairs"] = {"before": pairs_before, "after": pairs_after}
    if args.json:
        Path(args.json).write_text(json.dumps(numbers, indent=1))


if __name__ == "__main__":
    main()
