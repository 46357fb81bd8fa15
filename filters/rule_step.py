"""Base for rule filters: compute named signals, keep them as columns, mark one precise reason.

Signals are always computed and stored (a curator reads their distributions and tunes thresholds on them
without re-running extraction), thresholds come from the recipe with per-language overrides, and
``label_only`` records the reason a rule *would* give in ``<stage>_flag`` without dropping anything.
Line-level rules may rewrite the text (drop lines); the counts of removed lines and characters are columns.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import pyarrow as pa

from corpus.step import Step, mark, set_column


@dataclasses.dataclass
class RuleParams:
    # Record signals and the would-be reason in <stage>_flag, drop nothing: for calibrating thresholds.
    label_only: bool = False
    # Per-language threshold overrides, e.g. {zh: {min_doc_words: 150}}; keys are this stage's parameters.
    overrides: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)

    def validate(self) -> str | None:
        names = {f.name for f in dataclasses.fields(self)} - {"overrides", "label_only"}
        for lang, values in self.overrides.items():
            unknown = set(values) - names
            if unknown:
                return f"overrides[{lang}]: unknown parameter(s) {sorted(unknown)}; valid: {', '.join(sorted(names))}"
        return None

    def for_lang(self, lang: str | None) -> "RuleParams":
        values = self.overrides.get(lang or "")
        return dataclasses.replace(self, **values) if values else self


class RuleStep(Step):
    # (column name, Arrow type) of every signal the rule computes
    signals: ClassVar[list[pa.Field]] = []
    rewrites_text: ClassVar[bool] = False
    requires = ("text", "lang")  # zh thresholds are chosen by language: a rule before langid would use English ones

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        extra = [pa.field(f"{cls.name}_flag", pa.string())]
        if cls.rewrites_text:
            extra += [pa.field(f"{cls.name}_lines_removed", pa.int32()), pa.field(f"{cls.name}_chars_removed", pa.int32())]
        cls.outputs = list(cls.signals) + extra

    def evaluate(self, text: str, lang: str | None, p: Any) -> tuple[dict[str, Any], str | None, str | None]:
        """Return (signals, reason or None, rewritten text or None)."""
        raise NotImplementedError

    def __call__(self, table: pa.Table) -> pa.Table:
        texts = table.column("text").to_pylist()
        langs = table.column("lang").to_pylist() if "lang" in table.column_names else [None] * len(texts)
        cols: dict[str, list] = {f.name: [] for f in self.signals}
        flags, removed_lines, removed_chars = [], [], []
        for i, (text, lang) in enumerate(zip(texts, langs)):
            sig, reason, new_text = self.evaluate(text or "", lang, self.params.for_lang(lang))
            for name in cols:
                cols[name].append(sig.get(name))
            flags.append(reason)
            if self.rewrites_text:
                new_text = text if new_text is None else new_text
                removed_lines.append(len((text or "").splitlines()) - len(new_text.splitlines()))
                removed_chars.append(len(text or "") - len(new_text))
                texts[i] = new_text
        for f in self.signals:
            table = set_column(table, f.name, cols[f.name], f.type)
        table = set_column(table, f"{self.name}_flag", flags, pa.string())
        if self.rewrites_text:
            table = set_column(table, "text", texts, pa.string())
            table = set_column(table, f"{self.name}_lines_removed", removed_lines, pa.int32())
            table = set_column(table, f"{self.name}_chars_removed", removed_chars, pa.int32())
        if self.params.label_only:
            return table
        return mark(table, flags)
