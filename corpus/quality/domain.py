"""Domain tags for targeted supplementation (InternLM2 up-samples knowledge, maths and code): one tag per
document, ``code``, ``maths``, ``knowledge`` or ``general``, from three scores in [0, 1].

These are transparent rules rather than a trained model, because the machine has real code and real
encyclopedic text but no labelled maths or zh knowledge corpus to train on; every score is a density a
curator can read and threshold:

* code: the share of non-empty lines that look like source code (statement keywords, a line ending in
  ``; { } :``, operators such as ``==``/``->``, calls with arguments), counted only past 3 such lines;
* maths: maths signals per 100 tokens: LaTeX commands and ``$…$``, maths symbols, formulas such as
  ``x^2`` or ``a = b + c``, and maths vocabulary in en and zh (theorem, 定理, 积分 …);
* knowledge: encyclopedic signals per sentence: definitions ("X is a …", "…是…的", 又称), dates and
  places ("born in 1921", 位于, 成立于), and "(1821–1881)"-style spans.

Tag: the highest score at or above its cut-off (code before maths before knowledge on ties), else general.
"""

from __future__ import annotations

import re

from corpus.textunits import tokens

CUTS = {"code": 0.3, "maths": 0.3, "knowledge": 0.2}

_CODE_LINE = re.compile(
    r"^\s*(?:def |class |import |from \S+ import |return\b|if\s*\(|elif |else:|for\s*\(|for \w+ in |while\s*[\(\w]|try:|except\b|"
    r"with .+:$|public |private |protected |static |void |int |const |let |var |function\b|#include|#define|package |func |fn |"
    r"SELECT |INSERT |UPDATE |CREATE TABLE|\$ |>>> |@\w+)"
    r"|[;{}]\s*$|^\s*[}\])]|==|!=|->|=>|::|&&|\|\||\w+\([^()\s]*[,=][^()]*\)|^\s{4,}\S+\s*=\s*\S", re.M)
_MATH_SIGNAL = re.compile(
    r"\\(?:frac|sum|int|sqrt|alpha|beta|gamma|delta|theta|lambda|sigma|pi|infty|partial|cdot|times|leq|geq|neq|mathbb|mathrm|begin\{(?:equation|align))"
    r"|\$[^$\n]{1,80}\$|[∑∫√≤≥≠±×÷∞∂∇∈∉⊂⊆∀∃≈≡∝]"
    r"|\b[a-zA-Z]\s*\^\s*\d|\b[a-z]\s*=\s*[\d(a-z][^\n,;]{0,20}[+\-*/^][^\n,;]{0,20}"
    r"|定理|引理|证明|方程|函数|积分|导数|微分|矩阵|向量|多项式|概率|几何|代数|素数|质数|公式|不等式|求证|解得|系数|对数")
_MATH_WORDS = {w + s for w in ("theorem", "lemma", "corollary", "proof", "equation", "integral", "derivative", "polynomial",
                               "matrix", "eigenvalue", "probability", "logarithm", "algebra", "geometry", "calculus", "modulo",
                               "inequality", "hypotenuse", "coefficient", "integer", "denominator", "numerator") for s in ("", "s")}
_MATH_WORDS.add("matrices")
_KNOWLEDGE_SIGNAL = re.compile(
    r"\b(?:is|was|are|were) (?:a|an|the|one of the) (?:\w+ ){0,3}(?:of|in|who|which|that|located|born|founded)\b"
    r"|\b(?:refers to|also known as|is located in|was born|was founded|is the capital|is a species|named after)\b"
    r"|\(\s*(?:born |c\. |b\. )?\d{3,4}\s*[–-]\s*\d{2,4}\s*\)|\b(?:in|since|until) (?:1[0-9]|20)\d\d\b"
    r"|又称|也称|简称|别名|位于|成立于|始建于|出生于|是[^，。！？]{1,20}的[^，。！？]{0,10}(?:之一|一种|一个|城市|国家|物种)|(?:公元前?)\d{1,4}年")


def scores(text: str) -> dict[str, float]:
    lines = [line for line in text.split("\n") if line.strip()]
    code_lines = sum(1 for line in lines if _CODE_LINE.search(line))
    code = code_lines / len(lines) if code_lines >= 3 else 0.0
    toks = tokens(text)
    hits = len(_MATH_SIGNAL.findall(text)) + sum(1 for t in toks if t in _MATH_WORDS)
    maths = min(1.0, hits * 100 / max(1, len(toks)) / 4)  # 4 per 100 tokens saturates
    sentences = max(1, len(re.findall(r"[.!?。！？](?:\s|$)|[。！？]", text)))
    knowledge = min(1.0, len(_KNOWLEDGE_SIGNAL.findall(text)) / sentences / 0.5)  # one signal every 2 sentences saturates
    return {"code": round(code, 4), "maths": round(maths, 4), "knowledge": round(knowledge, 4)}


def tag(s: dict[str, float], cuts: dict[str, float] = CUTS) -> str:
    best = max(("code", "maths", "knowledge"), key=lambda k: (s[k] >= cuts[k], s[k]))
    return best if s[best] >= cuts[best] else "general"
