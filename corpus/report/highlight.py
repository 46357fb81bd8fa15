"""Where a reason's offending part is in a document, as a regex: the report and the review page highlight it."""

from __future__ import annotations

# What to highlight in a dropped document, per reason prefix: the part the signal measured, where a
# pattern can find it.
HIGHLIGHT = {
    "c4.lorem_ipsum": r"(?i)lorem ipsum",
    "c4.javascript": r"(?i)javascript",
    "c4.curly_bracket": r"[{}]",
    "c4.policy": r"(?i)terms of use|privacy policy|cookie|隐私政策|使用条款",
    "gopher_quality.bullet_lines": r"(?m)^\s*[•●○▪‣∙\-*].*$",
    "gopher_quality.ellipsis_lines": r"(?m)^.*(\.\.\.|…)\s*$",
    "gopher_quality.symbol_word_ratio": r"#|\.\.\.|…",
    "abnormal.bad_chars": "[\ufffd\ue000-\uf8ff]",
    "abnormal.repeated_chars": r"(.)\1{19,}",
    "gopher_repetition": r"(?m)^(.{8,})$(?=[\s\S]*^\1$)",
}


def highlight_pattern(reason: str) -> str | None:
    for prefix, pattern in HIGHLIGHT.items():
        if reason == prefix or reason.startswith(prefix + ".") or reason.startswith(prefix + "_"):
            return pattern
    return None
