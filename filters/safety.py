"""Safety: domain/URL blocklists, porn and toxic word lists, porn and toxicity classifiers, PII masking
(WanJuan-CC's "safe" data: a domain list, a keyword list and two classifiers).

Each signal is a column, so a curator sees which one fired and why: ``safety_blocklist`` (the list's
category); ``safety_porn_hits`` / ``safety_toxic_hits`` and their density scores ``safety_porn_words`` /
``safety_toxic_words`` (0.5 exactly at the configured density; see ``words.word_rule``); the classifier
scores ``porn_score`` / ``toxic_score`` (the WanJuan-CC fields; fastText models trained by `make models`,
labels and held-out precision/recall in models/safety.json); and masked PII counts per type. The first
signal that fires names the reason: blocklist, then words, then models. PII is masked in kept documents only.

The word lists never decide alone. A word count cannot tell a health page ("fat" x43), a recipe ("balls"),
war reporting ("Gaza Strip", "Hamas") or a history article ("Nazi", "Hitler") from abuse, and on real
curated pages it was wrong every time the classifier disagreed. So the word rule drops a document only
when its density rule holds and a second signal agrees: that category's classifier scores it at least
``word_confirm_score`` (well below the classifier's own cut: the words already point the same way), or
``cooccur_words`` different list words stand within ``cooccur_window`` tokens of each other (abuse and
porn spam cluster their words; articles mention one word many times). Categories without a classifier
(a user's gambling list) and languages the classifiers were not trained on rely on co-occurrence.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pyarrow as pa

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
    # ...and with at least this many hits...
    min_hits: int = 3
    # ...and only with a second signal: the category's classifier at or above this score,
    word_confirm_score: float = 0.5
    # or this many different list words within this many tokens of each other (0 words: no co-occurrence test).
    cooccur_words: int = 3
    cooccur_window: int = 12
    # porn / toxic -> fastText classifier under models/ (from `make models`) or a path; {} turns them off
    models: dict[str, str] = dataclasses.field(default_factory=lambda: {"porn": "safety-porn.bin", "toxic": "safety-toxic.bin"})
    # drop at or above this classifier score; a category left out is scored, not dropped (and one without a model, neither)
    max_score: dict[str, float] = dataclasses.field(default_factory=lambda: {"porn": 0.9, "toxic": 0.9})
    # the classifiers were trained on zh and en text; other languages get null scores
    languages: list[str] = dataclasses.field(default_factory=lambda: ["en", "zh"])
    mask_pii: bool = True

    def validate(self) -> str | None:
        if self.min_hits < 1 or any(v <= 0 for v in self.max_density.values()):
            return "min_hits must be >= 1 and every max_density > 0"
        if self.cooccur_words and self.cooccur_window < self.cooccur_words:
            return f"cooccur_window ({self.cooccur_window} tokens) cannot hold cooccur_words ({self.cooccur_words}) different words"
        if set(self.models) - {"porn", "toxic"}:
            return f"models can only name porn and toxic (the porn_score / toxic_score columns), got {sorted(self.models)}"
        if set(self.max_score) - {"porn", "toxic"}:
            return f"max_score can only name porn and toxic, got {sorted(self.max_score)}"
        if any(not 0 < v <= 1 for v in self.max_score.values()):
            return "every max_score must be in (0, 1]"
        return None


@register
class Safety(Step):
    name = "safety"
    Params = SafetyParams
    outputs = [pa.field("safety_blocklist", pa.string()), pa.field("safety_porn_hits", pa.int32()),
               pa.field("safety_toxic_hits", pa.int32()), pa.field("safety_porn_words", pa.float32()),
               pa.field("safety_toxic_words", pa.float32()), pa.field("porn_score", pa.float32()), pa.field("toxic_score", pa.float32())]
    outputs += [pa.field(f"safety_pii_{t}_masked", pa.int32()) for t in pii.TYPES]
    thresholds = {"porn_score": ("max_score.porn",), "toxic_score": ("max_score.toxic",)}
    requires = ("text", "lang", "domain")  # domain from format: without it the blocklist matches nothing
    file_params = ("models", "word_lists")

    def files(self, resolve) -> list[str]:
        """Blocklists by category name are built by `make models`; a path names the user's own list. Both are
        checked here, on the driver, with the classifiers and word lists."""
        from corpus.models import models_dir

        found = super().files(resolve)
        for name in self.params.blocklists:
            built = models_dir() / "blocklists" / f"{name}.domains.npy"
            found.append(str(built) if built.exists() else resolve("blocklists", name))
        return found

    def setup(self) -> None:
        from corpus.quality import fasttext_clf
        from corpus.models import model_path, models_dir
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
        self.models = {name: fasttext_clf.load(model_path(f), "make models") for name, f in self.params.models.items()}

    def __call__(self, table: pa.Table) -> pa.Table:
        from corpus.textunits import tokens
        from corpus.quality.fasttext_clf import features, scores
        from corpus.safety.words import cooccur, word_rule

        p = self.params
        texts = table.column("text").to_pylist()
        urls = table.column("url").to_pylist()
        hosts = table.column("domain").to_pylist() if "domain" in table.column_names else [None] * len(texts)
        langs = table.column("lang").to_pylist() if "lang" in table.column_names else [None] * len(texts)
        listed: list[str | None] = [None] * len(texts)
        for bl in self.lists:
            for i, hit in enumerate(bl.match(hosts, urls)):
                if hit and listed[i] is None:
                    listed[i] = bl.category
        reasons: list[str | None] = [f"safety.blocklist_{c}" if c else None for c in listed]
        cols: dict[str, list] = {f"safety_{c}_{k}": [] for c in ("porn", "toxic") for k in ("hits", "words")}
        rows = [i for i, lang in enumerate(langs) if lang in p.languages and texts[i]] if self.models else []
        prepared = [features(texts[i]) for i in rows]
        model_scores: dict[str, list[float | None]] = {}
        for category in ("porn", "toxic"):
            col: list[float | None] = [None] * len(texts)
            if category in self.models and rows:
                for i, s in zip(rows, scores(self.models[category], prepared, prepared=True)):
                    col[i] = s
            model_scores[category] = col
        word_reasons: list[str | None] = [None] * len(texts)
        for i, text in enumerate(texts):
            found, n_tokens = self.lexicon.find(text or ""), len(tokens(text or ""))
            for category in sorted(set(found) | {"porn", "toxic"}):  # user categories use the toxic density by default
                hits = found.get(category, [])
                score, dense = word_rule(len(hits), n_tokens, p.max_density.get(category, p.max_density.get("toxic", 4.0)), p.min_hits)
                if category in ("porn", "toxic"):
                    cols[f"safety_{category}_hits"].append(len(hits))
                    cols[f"safety_{category}_words"].append(score)
                if dense and word_reasons[i] is None:
                    model = model_scores.get(category, [None] * len(texts))[i]
                    if (model is not None and model >= p.word_confirm_score) or (
                            p.cooccur_words and cooccur(text or "", hits, p.cooccur_window, p.cooccur_words)):
                        word_reasons[i] = f"safety.{category}_words"
        for i, reason in enumerate(word_reasons):
            reasons[i] = reasons[i] or reason
        for category in ("porn", "toxic"):
            limit = p.max_score.get(category) if category in self.models else None
            col = model_scores[category]
            for i, s in enumerate(col):
                if limit is not None and s is not None and s >= limit and reasons[i] is None:
                    reasons[i] = f"safety.{category}_model"
            table = set_column(table, f"{category}_score", col, pa.float32())
        masked = {t: [0] * len(texts) for t in pii.TYPES}
        if p.mask_pii:
            for i, text in enumerate(texts):
                if reasons[i] is None and text:
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
