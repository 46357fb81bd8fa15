"""KenLM perplexity per document and per paragraph, with CCNet's head/middle/tail buckets.

Models are trained by `make models` on reference text (training/kenlm_train.py) and loaded once per
worker. Bucket cut-offs are the terciles of the held-out reference's perplexities (models/kenlm.json), so
"head" means "as fluent as the reference". By default nothing is dropped: the score and bucket are signals
a curator thresholds (``max_ppl``) or mixes on later. Documents in a language without a model get nulls.
"""

from __future__ import annotations

import dataclasses
import json

import pyarrow as pa

from corpus.registry import register
from corpus.step import Step, mark, set_column


@dataclasses.dataclass
class PerplexityParams:
    # language -> model file under models/ (from `make models`) or a path to any KenLM binary/ARPA file
    models: dict[str, str] = dataclasses.field(default_factory=lambda: {"en": "kenlm-en.bin", "zh": "kenlm-zh.bin"})
    # language -> drop above this document perplexity; empty: keep everything (label only)
    max_ppl: dict[str, float] = dataclasses.field(default_factory=dict)


@register
class Perplexity(Step):
    name = "perplexity"
    Params = PerplexityParams
    outputs = [pa.field("q_ppl", pa.float32()), pa.field("q_ppl_para_max", pa.float32()), pa.field("q_ppl_bucket", pa.string())]
    requires = ("text", "lang")
    file_params = ("models",)

    def setup(self) -> None:
        import kenlm

        from corpus.models import model_path, models_dir

        root = models_dir()
        card_path = root / "kenlm.json"
        card = json.loads(card_path.read_text()) if card_path.exists() else {}
        self.models, self.cuts = {}, {}
        for lang, name in self.params.models.items():
            path = model_path(name)
            if not path.exists():
                raise FileNotFoundError(f"perplexity: KenLM model for {lang!r} not found at {root / name}; run `make models` "
                                        f"(it builds lmplz and trains kenlm-en.bin / kenlm-zh.bin) or give a path to your own model")
            try:
                self.models[lang] = kenlm.Model(str(path))
            except (OSError, RuntimeError) as exc:
                raise ValueError(f"perplexity: {path} is not a readable KenLM model ({exc}); rebuild it with `make models`") from None
            if lang in card and card[lang]["model"] == path.name:
                self.cuts[lang] = (card[lang]["buckets"]["head_below"], card[lang]["buckets"]["middle_below"])

    def __call__(self, table: pa.Table) -> pa.Table:
        from corpus.quality.kenlm_score import perplexity

        texts = table.column("text").to_pylist()
        langs = table.column("lang").to_pylist() if "lang" in table.column_names else [None] * len(texts)
        ppl, worst, bucket, reasons = [], [], [], []
        for text, lang in zip(texts, langs):
            model = self.models.get(lang or "")
            if model is None:
                ppl.append(None), worst.append(None), bucket.append(None), reasons.append(None)
                continue
            doc, para = perplexity(model, text or "")
            ppl.append(doc)
            worst.append(para)
            cut = self.cuts.get(lang)
            bucket.append(None if cut is None else "head" if doc < cut[0] else "middle" if doc < cut[1] else "tail")
            limit = self.params.max_ppl.get(lang)
            reasons.append("perplexity.too_high" if limit is not None and doc > limit else None)
        table = set_column(table, "q_ppl", ppl, pa.float32())
        table = set_column(table, "q_ppl_para_max", worst, pa.float32())
        table = set_column(table, "q_ppl_bucket", bucket, pa.string())
        return mark(table, reasons)
