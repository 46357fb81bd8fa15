"""`corpus eval-models --labels ...`: the shipped classifiers on human labels, next to their constructed held-out sets.

The fluency, not-ad, porn and toxicity models were trained and measured on labels made by construction
(templates, weak labellers; models/quality.json, models/safety.json). Human labels are the first independent
check. What each model is asked to flag, on the labels:
- fluency and not-ad flag a document when the score is below the cut: right when the curator called it bad
  (a curator's "bad" covers broken text, boilerplate and ads, which is what both were trained to find);
- porn and toxicity flag a document at or above the cut: right when the curator tagged it porn / toxic.
Texts come from the run folder that holds the labelled documents (by id); a document the folder does not hold
is counted and left out. Only text-quality labels of the text the folder holds count (metrics.quality_labels):
"bad" on a dedup drop means "a duplicate", not "bad text", and a label on a text since re-extracted is stale. Precision/recall are those of flagging, as on the model cards.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from corpus.errors import UserError
from corpus.review import metrics, store
from corpus.review.rundocs import RunView

MODELS = {  # name: (model file, card file, card key, bad_label, human truth)
    "fluency": ("quality-fluency.bin", "quality.json", "fluency", 0, "bad"),
    "not_ad": ("quality-not-ad.bin", "quality.json", "not_ad", 0, "bad"),
    "porn": ("safety-porn.bin", "safety.json", "porn", 1, "porn"),
    "toxic": ("safety-toxic.bin", "safety.json", "toxic", 1, "toxic"),
}


def _texts(run_dir: Path, ids: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for sink in ("data", "rejected"):
        files = sorted(str(p) for p in (run_dir / sink).glob("*.parquet"))
        if files:
            t = ds.dataset(files, format="parquet").to_table(columns=["id", "text"], filter=pc.field("id").isin(pa.array(ids, pa.string())))
            out.update({i: x for i, x in zip(t.column("id").to_pylist(), t.column("text").to_pylist()) if x})
    return out


def evaluate(labels_path: str, run_dir: str | None = None, cut: float = 0.5) -> dict:
    from corpus.models import model_path, models_dir
    from corpus.quality import fasttext_clf

    path = Path(labels_path)
    if not (path.is_file() or store.path_of(path).is_file()):
        raise UserError(f"{path}: no such labels file; give DIR/review/labels.parquet written by `corpus review DIR`")
    if path.is_dir():
        path = store.path_of(path)
    labels = store.read(path)
    if not any(x in ("good", "bad") for x in labels.column("label").to_pylist()):
        raise UserError(f"{path}: no good/bad labels to evaluate on (label some with `corpus review DIR`)")
    run = Path(run_dir) if run_dir else (path.parent.parent if path.name == "labels.parquet" else path)
    if not (run / "manifest.json").is_file():
        raise UserError(f"{run}: not a run folder; give --run DIR, the `corpus run` output that holds the labelled documents")
    rows = [r for r in metrics.quality_labels(labels, RunView(run)).values() if r["label"] in ("good", "bad")]
    texts = _texts(run, [r["doc_id"] for r in rows])
    rows = [r for r in rows if r["doc_id"] in texts]
    if not rows:
        raise UserError(f"{run} holds none of the labelled documents (by id); give --run the folder they were labelled in")
    prepared = [fasttext_clf.features(texts[r["doc_id"]]) for r in rows]
    report = {"labels": str(path), "run": str(run), "documents": len(rows), "missing_text": len(texts) == 0, "models": []}
    for name, (model_file, card_file, key, bad_label, truth_kind) in MODELS.items():
        mpath = model_path(model_file)
        if not mpath.exists():
            report["models"].append({"model": name, "error": f"{mpath} missing (make models builds it)"})
            continue
        model = fasttext_clf.load(mpath, "make models")
        got = fasttext_clf.scores(model, prepared, prepared=True)
        if truth_kind == "bad":
            truth = [0 if r["label"] == "bad" else 1 for r in rows]
        else:
            truth = [1 if truth_kind in (r.get("tags") or []) else 0 for r in rows]
        m = fasttext_clf.metrics(got, truth, cut, bad_label).as_dict()
        flagged = sum((s >= cut) == bool(bad_label) for s in got)
        positives = sum(t == bad_label for t in truth)
        card_path = models_dir() / card_file
        card = json.loads(card_path.read_text()).get(key, {}) if card_path.is_file() else {}
        held = (card.get("held_out") or {}).get("metrics_for_flagging")
        report["models"].append({"model": name, "flags": "score < cut" if bad_label == 0 else "score >= cut", "truth": truth_kind,
                                 "cut": cut, "flagged": flagged, "human_positives": positives,
                                 "precision": m["precision"] if flagged else None, "recall": m["recall"] if positives else None,
                                 "held_out": held})
    return report


def text(report: dict) -> str:
    lines = [f"{report['documents']:,} labelled documents from {report['run']} (labels {report['labels']})",
             f"{'model':<9}{'flags when':<15}{'human truth':<13}{'flagged':>8}{'truth':>7}{'precision':>11}{'recall':>8}   held-out (constructed) P / R"]
    for m in report["models"]:
        if "error" in m:
            lines.append(f"{m['model']:<9}{m['error']}")
            continue
        f = lambda x: "–" if x is None else f"{x:.2f}"  # noqa: E731
        h = m["held_out"] or {}
        lines.append(f"{m['model']:<9}{m['flags'].replace('cut', str(m['cut'])):<15}{m['truth']:<13}{m['flagged']:>8}{m['human_positives']:>7}"
                     f"{f(m['precision']):>11}{f(m['recall']):>8}   {f(h.get('precision'))} / {f(h.get('recall'))}")
    lines.append("precision: share of the documents a model flags that the curator judged so; recall: share of those the "
                 "curator judged so that the model flags; '–' where there is nothing to divide by")
    return "\n".join(lines)
