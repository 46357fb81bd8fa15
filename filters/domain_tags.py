"""Domain tags (code / maths / knowledge / general) for targeted supplementation: a mixing step up-samples
a domain by filtering on ``domain_tag``. Nothing is dropped. The rules and why they are rules are in
corpus/quality/domain.py."""

from __future__ import annotations

import dataclasses

import pyarrow as pa

from corpus.quality.domain import CUTS
from corpus.registry import register
from corpus.step import Step, set_column


@dataclasses.dataclass
class DomainTagsParams:
    # score above which a tag applies (the highest qualifying score wins; none: general)
    cuts: dict[str, float] = dataclasses.field(default_factory=lambda: dict(CUTS))

    def validate(self) -> str | None:
        bad = set(self.cuts) - set(CUTS)
        return f"unknown tag(s) {sorted(bad)} in cuts; the tags are {', '.join(CUTS)}" if bad else None


@register
class DomainTags(Step):
    name = "domain_tags"
    Params = DomainTagsParams
    outputs = [pa.field("dom_code", pa.float32()), pa.field("dom_maths", pa.float32()),
               pa.field("dom_knowledge", pa.float32()), pa.field("domain_tag", pa.string())]
    thresholds = {"dom_code": ("cuts.code",), "dom_maths": ("cuts.maths",), "dom_knowledge": ("cuts.knowledge",)}

    def __call__(self, table: pa.Table) -> pa.Table:
        from corpus.quality.domain import scores, tag

        got = [scores(t or "") for t in table.column("text").to_pylist()]
        cuts = {**CUTS, **self.params.cuts}
        for key in ("code", "maths", "knowledge"):
            table = set_column(table, f"dom_{key}", [s[key] for s in got], pa.float32())
        return set_column(table, "domain_tag", [tag(s, cuts) for s in got], pa.string())
