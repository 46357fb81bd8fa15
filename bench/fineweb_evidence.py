"""Evidence for FineWeb's rules (fineweb.line_punct_ratio, short_line_ratio, char_dup_ratio; issue 19): what
each drops on the seven real sources bench/repetition_evidence.py gathers (2,068 documents: the shared crawl's
help pages en/zh, standard-library docstrings, the Python manual, package READMEs, Wikipedia, People's Daily),
before and after the definition changed, and how often a drop is a page a reader would not want.

  before  the definition up to commit 9d4576a: every non-empty line counts as it is (a table row "| F2 | Add
          or edit text. |" ends with "|", a code line is an unpunctuated line, a repeated "End Sub" is
          duplicated boilerplate), with that commit's recipe: line punctuation en < 0.1, zh < 0.09; short lines
          (30 en / 10 zh characters) > 0.67; duplicated-line characters > 0.05.
  after   filters/fineweb.py: table rows read as their cells, code lines and lines the next line continues not
          counted for punctuation, code lines and table rows not counted as duplicates; the recipe's values.

Each rule is evaluated on its own (not only where it would be the first reason), so every document a rule
drops under either definition is listed. Drops are labelled by reading them with the check set's rule
(bench/checkset/README.md) in bench/checkset/fineweb_labels.tsv; labels the alpha-words and repetition
evidence already gave the same documents (same ids, same rule) are used too. Printed per rule: per source,
the documents dropped and the labelled drop precision (share of drops not usable); the same at the candidate
values given with --punct/--dup; the translated crawl pairs' line-punctuation values side by side.

    .venv/bin/python bench/fineweb_evidence.py [--dump /tmp/fw_drops.jsonl] [--punct 0.06,0.09,0.12] [--dup 0.1,0.2]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from alpha_evidence import drop_table  # noqa: E402
from filters.fineweb import STOP_CHARS, duplicate_line_chars, line_punct_ratio, row_text  # noqa: E402
from repetition_evidence import gather, load_labels, per_source  # noqa: E402

CHECKSET = ROOT / "bench" / "checkset"
LABELS = CHECKSET / "fineweb_labels.tsv"
BEFORE = {"en": {"punct": 0.1, "short": 0.67, "short_len": 30, "dup": 0.05},
          "zh": {"punct": 0.09, "short": 0.67, "short_len": 10, "dup": 0.05}}
RULES = {"punct": "line_punct_ratio", "short": "short_line_ratio", "dup": "char_dup_ratio"}


def before_signals(text: str, lang: str) -> dict[str, float]:
    """fw_* as filters/fineweb.py computed them up to commit 9d4576a."""
    lines = [l for l in text.split("\n") if l.strip()]
    seen: set[str] = set()
    dup = 0
    for l in lines:
        if l in seen:
            dup += len(l)
        seen.add(l)
    return {"punct": sum(l.endswith(STOP_CHARS) for l in lines) / len(lines),
            "short": sum(len(l) <= BEFORE[lang]["short_len"] for l in lines) / len(lines),
            "dup": dup / (len(text.replace("\n", "")) or 1)}


def recipe_values(recipe: Path = ROOT / "pipelines" / "default.yaml") -> dict[str, dict[str, float]]:
    stage = next(s for s in yaml.safe_load(recipe.read_text())["stages"] if "fineweb" in s)["fineweb"] or {}
    out = {}
    for lang in ("en", "zh"):
        v = {**stage, **stage.get("overrides", {}).get(lang, {})}
        out[lang] = {"punct": v.get("line_punct_thr", 0.12), "short": v.get("short_line_thr", 0.67),
                     "short_len": v.get("short_line_length", 30), "dup": v.get("char_duplicates_ratio", 0.01)}
    return out


def after_signals(text: str, lang: str, values: dict[str, dict[str, float]]) -> dict[str, float]:
    lines = [l for l in text.split("\n") if l.strip()]
    return {"punct": line_punct_ratio(lines),
            "short": sum(len(row_text(l)) <= values[lang]["short_len"] for l in lines) / len(lines),
            "dup": duplicate_line_chars(lines) / (len(text.replace("\n", "")) or 1)}


def drops(rule: str, value: float, thr: float) -> bool:
    return value < thr if rule == "punct" else value > thr


def table(docs: list[dict], sig: dict[str, dict], thr: dict[str, dict], rule: str, labels: dict[str, bool], title: str) -> None:
    op = "<" if rule == "punct" else ">"
    drop_table(docs, lambda d: drops(rule, sig[d["id"]][rule], thr[d["lang"]][rule]), labels,
               f"\n{title}: fineweb.{RULES[rule]} (en {op} {thr['en'][rule]:g}, zh {op} {thr['zh'][rule]:g}); "
               "drops per source, labelled precision (not usable / labelled)")


def pairs(docs: list[dict], after: dict[str, dict]) -> None:
    """Translated crawl pages (same path in en-US and zh-CN) have their lines one to one, so a definition that
    means the same in both languages gives a zh page the line-punctuation value of its en original."""
    by_path: dict[str, dict[str, dict]] = defaultdict(dict)
    for d in docs:
        if d["source"] in ("crawl-en", "crawl-zh"):
            by_path[d["ref"].replace("/en-US/", "/X/").replace("/zh-CN/", "/X/")][d["source"][-2:]] = d
    both = [(v["en"], v["zh"]) for v in by_path.values() if "en" in v and "zh" in v]
    if not both:
        return
    diff = sorted(abs(after[z["id"]]["punct"] - after[e["id"]]["punct"]) for e, z in both)
    print(f"\ntranslated crawl pairs: {len(both)}; |zh - en| line punctuation after: median {diff[len(diff) // 2]:.3f}, "
          f"p90 {diff[int(0.9 * len(diff))]:.3f}")


def labels_all() -> dict[str, bool]:
    """Labels of the same documents under the same rule: alpha-words and repetition evidence first, this
    evidence's own labels last (they win where a document was labelled twice)."""
    out: dict[str, bool] = {}
    for name in ("repetition_labels.tsv", "alpha_labels.tsv", LABELS.name):
        out.update(load_labels(CHECKSET / name))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dump", help="write every document either definition drops (JSONL) for labelling")
    ap.add_argument("--punct", default="", help="comma-separated candidate line-punctuation values (both languages)")
    ap.add_argument("--dup", default="", help="comma-separated candidate duplicated-line values (both languages)")
    ap.add_argument("--recipe", default=str(ROOT / "pipelines" / "default.yaml"))
    args = ap.parse_args()
    docs = gather()
    labels = labels_all()
    values = recipe_values(Path(args.recipe))
    print(per_source(docs) + f"; {len(labels)} labelled (fineweb, alpha and repetition label files)")
    before = {d["id"]: before_signals(d["text"], d["lang"]) for d in docs}
    after = {d["id"]: after_signals(d["text"], d["lang"], values) for d in docs}
    for rule in RULES:
        table(docs, before, BEFORE, rule, labels, "before")
        table(docs, after, values, rule, labels, "after ")
    for rule, cands in (("punct", args.punct), ("dup", args.dup)):
        for c in [float(x) for x in cands.split(",") if x]:
            table(docs, after, {lang: {**values[lang], rule: c} for lang in values}, rule, labels, "after, candidate")
    pairs(docs, after)
    if args.dump:
        cand_p = max([values["en"]["punct"], values["zh"]["punct"], *[float(x) for x in args.punct.split(",") if x]])
        cand_d = min([values["en"]["dup"], values["zh"]["dup"], *[float(x) for x in args.dup.split(",") if x]])
        out = []
        for d in docs:
            b, a = before[d["id"]], after[d["id"]]
            hit = [r for r in RULES if drops(r, b[r], BEFORE[d["lang"]][r]) or drops(r, a[r], values[d["lang"]][r])]
            hit += ["punct"] * (a["punct"] < cand_p) + ["dup"] * (a["dup"] > cand_d)
            if hit:
                out.append({**d, "rules": sorted(set(hit)), "before": {k: round(v, 3) for k, v in b.items()},
                            "after": {k: round(v, 3) for k, v in a.items()}, "label": labels.get(d["id"])})
        Path(args.dump).write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in out), encoding="utf-8")
        print(f"\n{len(out)} documents dropped by a rule under either definition or a candidate value -> {args.dump}")


if __name__ == "__main__":
    main()
