"""Safety: domain/URL blocklists, porn and toxic word density, PII masking (WanJuan-CC's "safe" data).

Each signal is a column, so a curator sees which one fired and why: ``safety_blocklist`` (the list's
category), ``safety_porn_hits`` / ``safety_toxic_hits`` and the scores ``porn_score`` / ``toxic_score``
(the WanJuan-CC fields), and masked PII counts per type. Word scores are density based: with d hits per
1,000 tokens and n hits, score = d / (d + max_density) * min(1, n / min_hits), so once min_hits is reached
0.5 is exactly the configured threshold, and one stray word in a long article stays far below it. These scores come from
word lists, not from trained classifiers (see models/README.md). PII is masked in kept documents only.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pyarrow as pa

from corpus.dedup.minhash import tokens
from corpus.registry import register
from corpus.safety import pii
from corpus.step import Step, mark, set_column


@dataclasses.dataclass
class SafetyParams:
    # Blocklist categories under models/blocklists (built by `make models`; "adult" is FineWeb's UT1 list),
    # or paths to a folder/tarball/file of domains to build one from.
    blocklists: list[str] = dataclasses.field(default_factory=lambda: ["adult"])
    # Extra word lists per category, e.g. {porn: [my_zh_porn.txt], gambling: [gambling.txt]}
    word_lists: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    # Drop a document above this many category hits per 1,000 tokens (a Han character is a token)...
    max_density: dict[str, float] = dataclasses.field(default_factory=lambda: {"porn": 2.0, "toxic": 4.0})
    # ...and with at least this many hits.
    min_hits: int = 3
    mask_pii: bool = True

    def validate(self) -> str | None:
        if self.min_hits < 1 or any(v <= 0 for v in self.max_density.values()):
            return "min_hits must be >= 1 and every max_density > 0"
        return None


@register
class Safety(Step):
    name = "safety"
    Params = SafetyParams
    outputs = [pa.field("safety_blocklist", pa.string()), pa.field("safety_porn_hits", pa.int32()),
               pa.field("safety_toxic_hits", pa.int32()), pa.field("porn_score", pa.float32()), pa.field("toxic_score", pa.float32())]
    outputs += [pa.field(f"safety_pii_{t}_masked", pa.int32()) for t in pii.TYPES]

    def setup(self) -> None:
        from corpus.safety.assets import models_dir
        from corpus.safety.blocklist import Blocklist, build
        from corpus.safety.words import Lexicon, default_lists, load_user_lists

        models = models_dir()
        self.lists = []
        for name in self.params.blocklists:
            domains = models / "blocklists" / f"{name}.domains.npy"
            if not domains.exists() and Path(name).exists():  # a user's own list: build it next to the models
                build(Path(name), Path(name).stem, models / "blocklists")
                name, domains = Path(name).stem, models / "blocklists" / f"{Path(name).stem}.domains.npy"
            if not domains.exists():
                raise FileNotFoundError(f"safety blocklist {name!r}: {domains} not found; run `make models` (builds the "
                                        f"default 'adult' list) or give a folder/file of domains")
            self.lists.append(Blocklist(name, domains, models / "blocklists" / f"{name}.urls.npy"))
        lists = default_lists(models)
        for category, words in load_user_lists(self.params.word_lists).items():
            lists.setdefault(category, set()).update(words)
        self.lexicon = Lexicon(lists)

    def __call__(self, table: pa.Table) -> pa.Table:
        p = self.params
        texts = table.column("text").to_pylist()
        urls = table.column("url").to_pylist()
        hosts = table.column("domain").to_pylist() if "domain" in table.column_names else [None] * len(texts)
        listed: list[str | None] = [None] * len(texts)
        for bl in self.lists:
            for i, hit in enumerate(bl.match(hosts, urls)):
                if hit and listed[i] is None:
                    listed[i] = bl.category
        reasons: list[str | None] = [f"safety.blocklist_{c}" if c else None for c in listed]
        cols: dict[str, list] = {"safety_porn_hits": [], "safety_toxic_hits": [], "porn_score": [], "toxic_score": []}
        masked = {t: [0] * len(texts) for t in pii.TYPES}
        for i, text in enumerate(texts):
            text = text or ""
            hits = self.lexicon.count(text)
            per_k = 1000 / max(1, len(tokens(text)))
            for category in sorted(set(hits) | {"porn", "toxic"}):  # user categories use the toxic threshold by default
                n = hits.get(category, 0)
                limit = p.max_density.get(category, p.max_density.get("toxic", 4.0))
                density = n * per_k
                if category in ("porn", "toxic"):
                    cols[f"safety_{category}_hits"].append(n)
                    cols[f"{category}_score"].append(density / (density + limit) * min(1.0, n / p.min_hits))
                if reasons[i] is None and n >= p.min_hits and density > limit:
                    reasons[i] = f"safety.{category}_words"
            if p.mask_pii and reasons[i] is None:
                texts[i], counts = pii.mask(text)
                for t, n in counts.items():
                    masked[t][i] = n
        table = set_column(table, "safety_blocklist", listed, pa.string())
        for name, values in cols.items():
            table = set_column(table, name, values, pa.int32() if name.endswith("hits") else pa.float32())
        for t in pii.TYPES:
            table = set_column(table, f"safety_pii_{t}_masked", masked[t], pa.int32())
        table = set_column(table, "text", texts, pa.string())
        return mark(table, reasons)
