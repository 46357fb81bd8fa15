"""Contamination planted into real pages, the way benchmark text reaches the web: for tests and the bench.

Kinds (issue 17): ``verbatim`` (question and worked answer), ``no_answer`` (the question alone), ``edited``
(the question with a few words changed: a name, a number, a noun, as a copy-editor or a paraphrasing blog
does), ``half`` (the first half of the question), ``zh`` (MGSM's human Chinese translation, on a Chinese
page), and ``discussion`` (a page that talks about GSM8K, its format and scores, without quoting a problem:
it must not be flagged). A problem goes in at a paragraph boundary of the host page, as a quoted example would.
"""

from __future__ import annotations

import random
import re

KINDS = ("verbatim", "no_answer", "edited", "half", "zh")

_WORD = re.compile(r"[A-Za-z]{3,}|\d+")
_FILLER = ("apples", "Maria", "tickets", "bicycle", "garden", "seven", "twelve", "weekly", "library", "pencils",
           "Thomas", "cookies", "store", "morning", "friends", "buses", "monthly", "painted", "Lucy", "boxes")

# Written for this project: what a blog, a course page or a paper summary says about GSM8K, without a problem.
DISCUSSION_EN = (
    "GSM8K is a dataset of about 8,500 grade school math word problems written by human problem writers, split "
    "into 7,473 training and 1,319 test problems. Each problem takes between two and eight steps to solve, using "
    "basic arithmetic: addition, subtraction, multiplication and division. Solutions are written in natural "
    "language, with the final numeric answer after four hash marks. Models are usually scored by exact match on "
    "that final number, often with chain-of-thought prompting and eight worked examples in the prompt. Early "
    "GPT-3 models solved under a fifth of the test set; recent models report scores above ninety percent, which "
    "has raised questions about contamination: if the test problems appear in web crawls used for training, a "
    "high score may reflect memorisation rather than reasoning. Several groups have released rewritten versions "
    "of the test set with new names and numbers to measure how much performance drops.",
    "In our evaluation we report accuracy on GSM8K and on MGSM, its multilingual version, in which 250 of the "
    "test problems were translated by human annotators into ten languages, including Chinese, Japanese, "
    "Swahili and Bengali. We use greedy decoding and extract the last number in the model's answer. Training "
    "data was filtered for overlap with the test sets before training, using long n-gram matching, and we "
    "found that a small share of math forum pages quoted benchmark problems together with their solutions.",
)
DISCUSSION_ZH = (
    "GSM8K 是一个小学数学应用题数据集，由人工编写，约八千五百道题，其中测试集一千三百一十九道。每道题需要两到八步"
    "基本运算才能解出，答案是一个数字。评测时通常让模型先写出推理过程，再比较最后的数字是否与标准答案一致。"
    "MGSM 从测试集中选出二百五十道题，请人工译成包括中文在内的十种语言，用来衡量模型的多语言推理能力。"
    "由于这些题目在网上流传很广，训练语料里可能混入原题和答案，所以发布模型时需要说明是否做过数据污染检查。",
    "我们在 GSM8K 和 MGSM 中文子集上测试了模型的数学推理能力，使用贪心解码，取回答中的最后一个数字作为答案。"
    "训练前我们用长 n-gram 匹配从语料中去除了与测试集重合的网页，发现一些题库网站整段转载了测试题及其解答。",
)


def _paragraph_cut(page: str, rng: random.Random) -> int:
    cuts = [m.end() for m in re.finditer(r"\n", page)]
    return rng.choice(cuts) if cuts else len(page)


def insert(page: str, passage: str, rng: random.Random) -> str:
    """The passage as a paragraph of its own, at a random line boundary of the page."""
    at = _paragraph_cut(page, rng)
    return page[:at].rstrip("\n") + "\n\n" + passage.strip() + "\n\n" + page[at:].lstrip("\n")


def strip_calculator(answer: str) -> str:
    """GSM8K's solution as a page would show it: without the <<...>> calculator annotations."""
    return re.sub(r"<<[^<>]*>>", "", answer)


def edit(question: str, rng: random.Random, changes: int = 3) -> str:
    """Change ``changes`` different words or numbers, spread over the question (its thirds for 3 changes)."""
    found = list(_WORD.finditer(question))
    if not found:
        return question
    picks: list[re.Match] = []
    for k in range(changes):
        part = found[k * len(found) // changes : (k + 1) * len(found) // changes] or found
        picks.append(rng.choice(part))
    out, at = [], 0
    for m in sorted({m.start(): m for m in picks}.values(), key=lambda m: m.start()):
        word = m.group()
        new = str(int(word) + rng.randint(1, 9)) if word.isdigit() else rng.choice([f for f in _FILLER if f.lower() != word.lower()])
        out += [question[at : m.start()], new]
        at = m.end()
    return "".join(out + [question[at:]])


_HAN_CHAR = re.compile(r"[\u4e00-\u9fff]|\d+")
_FILLER_ZH = "苹果书本学生老师工厂花园汽车朋友"


def edit_zh(question: str, rng: random.Random, changes: int = 3) -> str:
    """The Chinese counterpart of ``edit``: three characters or numbers changed, one in each third."""
    found = list(_HAN_CHAR.finditer(question))
    if not found:
        return question
    picks = {}
    for k in range(changes):
        m = rng.choice(found[k * len(found) // changes : (k + 1) * len(found) // changes] or found)
        picks[m.start()] = m
    out, at = [], 0
    for m in sorted(picks.values(), key=lambda m: m.start()):
        word = m.group()
        new = str(int(word) + rng.randint(1, 9)) if word.isdigit() else rng.choice([c for c in _FILLER_ZH if c != word])
        out += [question[at : m.start()], new]
        at = m.end()
    return "".join(out + [question[at:]])


def half(question: str) -> str:
    words = question.split()
    return " ".join(words[: max(1, len(words) // 2)])


def passage(kind: str, question: str, answer: str, rng: random.Random) -> str:
    """The text a page would carry for one kind (``zh``: ``question`` is the Chinese translation)."""
    if kind == "verbatim":
        return f"Question: {question}\nAnswer: {strip_calculator(answer)}"
    if kind == "no_answer":
        return question
    if kind == "edited":
        return edit(question, rng)
    if kind == "half":
        return half(question)
    if kind == "zh":
        return f"题目：{question}"
    raise ValueError(f"unknown planted kind {kind!r}; kinds: {', '.join(KINDS)}")
