"""fastText quality classifiers: ``fluency_score`` (well-formed prose against broken or boilerplate text)
and ``not_ad_score`` (content against advertising and spam), WanJuan-CC's two quality scores, under the
names its export fields take. ``enrich`` scores the pool with a classifier a user trained from a seed set
(`corpus train-quality`) and keeps the top fraction, DCLM-style.

The default models are trained by `make models` (training/quality_classifiers.py; how their labels
were made and their held-out precision/recall are in models/quality.json). Scores are kept as columns;
dropping is opt-in through ``min_score`` thresholds, so a curator can look at the distributions first.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Callable, ClassVar

import pyarrow as pa

from corpus.registry import register
from corpus.models import model_path
from corpus.step import Step, mark, set_column


@dataclasses.dataclass
class QualityModelParams:
    # score name -> fastText model under models/ (from `make models`) or a path
    models: dict[str, str] = dataclasses.field(
        default_factory=lambda: {"fluency": "quality-fluency.bin", "not_ad": "quality-not-ad.bin"})
    # score name -> drop below this score; empty: label only
    min_score: dict[str, float] = dataclasses.field(default_factory=dict)
    # the models were trained on zh and en text; other languages get null scores
    languages: list[str] = dataclasses.field(default_factory=lambda: ["en", "zh"])

    def validate(self) -> str | None:
        columns = {"fluency", "not_ad"}  # the output columns; any other name would be scored, then lost
        if set(self.models) - columns:
            return (f"models can only name {sorted(columns)} (its output columns), got {sorted(self.models)}; "
                    f"score with your own classifier through the `enrich` stage")
        unknown = set(self.min_score) - set(self.models)
        if unknown:
            return f"min_score names {sorted(unknown)}, which are not in models {sorted(self.models)}"
        return None


@register
class QualityModel(Step):
    name = "quality_model"
    Params = QualityModelParams
    outputs = [pa.field("fluency_score", pa.float32()), pa.field("not_ad_score", pa.float32())]
    requires = ("text", "lang")
    file_params = ("models",)
    thresholds = {"fluency_score": ("min_score.fluency",), "not_ad_score": ("min_score.not_ad",)}

    def setup(self) -> None:
        from corpus.quality import fasttext_clf

        self.models = {name: fasttext_clf.load(model_path(f), "make models") for name, f in self.params.models.items()}

    def __call__(self, table: pa.Table) -> pa.Table:
        from corpus.quality.fasttext_clf import features, scores

        texts = table.column("text").to_pylist()
        langs = table.column("lang").to_pylist() if "lang" in table.column_names else [None] * len(texts)
        rows = [i for i, lang in enumerate(langs) if lang in self.params.languages and texts[i]]
        prepared = [features(texts[i]) for i in rows]  # once for every model
        reasons: list[str | None] = [None] * len(texts)
        for name, model in self.models.items():
            got = scores(model, prepared, prepared=True) if rows else []
            col: list[float | None] = [None] * len(texts)
            limit = self.params.min_score.get(name)
            for i, s in zip(rows, got):
                col[i] = s
                if limit is not None and s < limit and reasons[i] is None:
                    reasons[i] = f"quality_model.low_{name}"
            table = set_column(table, f"{name}_score", col, pa.float32())
        return mark(table, reasons)


@dataclasses.dataclass
class EnrichParams:
    model: str = ""  # MODEL.bin written by `corpus train-quality` (its card MODEL.json sits beside it)
    keep_top: float | None = None  # keep this fraction of the pool, by the pool quantiles in the card
    min_score: float | None = None  # or keep everything scoring at least this
    ranges: ClassVar[dict[str, tuple[float | None, float | None]]] = {"keep_top": (0.001, 1)}

    def validate(self) -> str | None:
        if not self.model:
            return "give `model:`, a classifier from `corpus train-quality --positive SEED --negative POOL --out MODEL`"
        return None


@register
class Enrich(Step):
    name = "enrich"
    Params = EnrichParams
    outputs = [pa.field("enrich_score", pa.float32())]
    file_params = ("model",)
    thresholds = {"enrich_score": ("min_score",)}

    def files(self, resolve: Callable[[str, str], str]) -> list[str]:
        model = super().files(resolve)
        if self.params.keep_top is not None:  # keep_top reads the pool quantiles from the model's card
            model.append(resolve("model card (for keep_top)", str(Path(self.params.model).with_suffix(".json"))))
        return model

    def setup(self) -> None:
        from corpus.quality import fasttext_clf

        p = self.params
        path = model_path(p.model)
        self.model = fasttext_clf.load(path, f"corpus train-quality --out {p.model}")
        self.cut = p.min_score
        if p.keep_top is not None:
            card_path = path.with_suffix(".json")
            if not card_path.is_file():
                raise ValueError(f"enrich: keep_top needs the pool quantiles in {card_path}, written by `corpus train-quality`")
            quantiles = json.loads(card_path.read_text())["pool_score_quantiles"]  # 0%, 1%, …, 100%
            self.cut = quantiles[min(100, round((1 - p.keep_top) * 100))]

    def __call__(self, table: pa.Table) -> pa.Table:
        from corpus.quality.fasttext_clf import scores

        got = scores(self.model, [t or "" for t in table.column("text").to_pylist()]) if table.num_rows else []
        table = set_column(table, "enrich_score", got, pa.float32())
        return mark(table, [None if self.cut is None or s >= self.cut else "enrich.below_cut" for s in got])
