"""C4's rules (Raffel et al. 2020, §2.2; tensorflow_datasets c4_utils): line-level cleaning, then page rules.

Lines are removed, not pages, where that is the rule's nature: no terminal punctuation, fewer than three
words, a word over 1,000 characters, "javascript", cookie/terms-of-use boilerplate. The page is dropped for
"lorem ipsum", a curly bracket (code), or fewer than five sentences left. For Chinese, CJK sentence marks
end lines and sentences, and words are characters.

With ``filter_no_terminal_punct: true`` (C4's own setting) every line without final punctuation is removed
before anything else looks at the page, so a later FineWeb stage can never see unpunctuated lines and its
line-punctuation rule cannot fire, and the sentence count and ``{`` check see the text with its code lines
gone. FineWeb's pipeline runs C4 with it off, and so does the default recipe (see pipelines/default.yaml).
"""

from __future__ import annotations

import dataclasses
import re
from typing import ClassVar

import pyarrow as pa

from corpus.registry import register
from filters.rule_step import RuleParams, RuleStep
from corpus.textunits import han_count, is_cjk_lang, sentence_count, words

CITATION = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
END_EN = (".", "?", "!", '"', "'")
END_ZH = END_EN + ("。", "！", "？", "”", "’", "」", "』", "；", "）")
POLICY = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies",
          "隐私政策", "使用条款", "cookie政策")


@dataclasses.dataclass
class C4Params(RuleParams):
    remove_citations: bool = True
    filter_no_terminal_punct: bool = True
    min_num_sentences: int = 5  # -1 disables
    min_words_per_line: int = 3  # -1 disables
    max_word_length: int = 1000  # -1 disables
    filter_lorem_ipsum: bool = True
    filter_javascript: bool = True
    filter_curly_bracket: bool = True
    filter_policy: bool = True

    ranges: ClassVar[dict[str, tuple[float | None, float | None]]] = {
        "min_num_sentences": (-1, None), "min_words_per_line": (-1, None), "max_word_length": (-1, None)}


@register
class C4(RuleStep):
    name = "c4"
    Params = C4Params
    codes = ("lorem_ipsum", "curly_bracket", "too_few_sentences")
    rewrites_text = True
    thresholds = {"c4_sentences": ("min_num_sentences",)}
    signals = [pa.field("c4_sentences", pa.int32()), pa.field("c4_lines_kept_frac", pa.float32())]

    def evaluate(self, text, lang, p):
        cjk = is_cjk_lang(lang)
        kept: list[str] = []
        sentences = 0
        lines = text.splitlines()
        reason = None
        for raw in lines:
            line = raw.strip()
            # a line's own script decides how its words and sentences are counted: on a page language ID calls
            # English (a zh tutorial full of code), "在数据媒体中创建新目录。" is one whitespace word, and
            # min_words_per_line would cut the page's Chinese prose
            line_lang = "zh" if not cjk and han_count(line) else lang
            line_cjk = cjk or line_lang == "zh"
            end = END_ZH if line_cjk else END_EN
            ws = words(line, line_lang) if line_cjk else line.split()
            if p.max_word_length != -1 and any(len(w) > p.max_word_length for w in ws):
                continue
            if p.remove_citations:
                line = CITATION.sub("", line)
            if p.filter_no_terminal_punct and (not line.endswith(end) or line.endswith(("...", "……"))):
                continue
            if len(ws) < p.min_words_per_line:
                continue
            low = line.lower()
            if p.filter_lorem_ipsum and "lorem ipsum" in low:
                reason = reason or "c4.lorem_ipsum"
            if p.filter_javascript and "javascript" in low:
                continue
            if p.filter_curly_bracket and "{" in line:
                reason = reason or "c4.curly_bracket"
            if p.filter_policy and any(x in low for x in POLICY):
                continue
            sentences += sentence_count(line, line_lang)
            kept.append(line)
        if reason is None and p.min_num_sentences != -1 and sentences < p.min_num_sentences:
            reason = "c4.too_few_sentences"
        signals = {"c4_sentences": sentences, "c4_lines_kept_frac": len(kept) / len(lines) if lines else 0.0}
        return signals, reason, "\n".join(kept).strip()
