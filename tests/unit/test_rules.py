"""Rule filters on real text (People's Daily, Python's reference manual) and on crafted edge cases."""

from pathlib import Path

import pyarrow as pa
import pytest

from corpus.recipe import RecipeError, load, parse
from corpus.sample import chinese_sentences, english_paragraphs
from filters.abnormal import Abnormal
from filters.c4 import C4
from filters.fineweb import FineWeb
from filters.gopher import GopherQuality, GopherRepetition, dup_ngram_chars, ngram_hashes, top_ngram_chars
from corpus.textunits import sentence_count, words

ROOT = Path(__file__).resolve().parents[2]
RULES = ["abnormal", "gopher_repetition", "gopher_quality", "c4", "fineweb"]


def run(step, texts, lang="en"):
    table = pa.table({"text": texts, "lang": [lang] * len(texts)})
    return step(table)


def flags(step, texts, lang="en"):
    return run(step, texts, lang).column(f"{step.name}_flag").to_pylist()


@pytest.fixture(scope="module")
def recipe_rules():
    steps = {s.stage_name: s for s in load(ROOT / "pipelines/default.yaml").build()}
    return [steps[name] for name in RULES]


@pytest.fixture(scope="module")
def peoples_daily():
    sents = chinese_sentences(6000)
    return ["\n".join("".join(sents[i + j : i + j + 4]) for j in range(0, 24, 4)) for i in range(0, 4800, 24)]


def test_chinese_prose_is_kept_by_default_recipe(recipe_rules, peoples_daily):
    """The guard against rules that count spaces: edited Chinese news must pass every default rule."""
    for step in recipe_rules:
        f = flags(step, peoples_daily, "zh")
        assert sum(x is None for x in f) >= 0.97 * len(f), (step.name, [x for x in f if x][:5])


def test_english_thresholds_would_drop_chinese(peoples_daily):
    f = flags(GopherQuality(), peoples_daily[:20], "zh")
    assert set(f) == {"gopher_quality.mean_word_len_low"}  # why the zh override exists


def test_english_prose_from_reference_manual(recipe_rules):
    prose = [p for p in english_paragraphs() if p.count("(") < 2 and "::" not in p][:200]
    docs = ["\n\n".join(prose[i : i + 4]) for i in range(0, 200, 4)]
    # a technical manual: every rule keeps nearly all of it (alpha_words counts words, not punctuation tokens:
    # none of these documents is under 0.8, where datatrove's spaCy tokens would drop about a third)
    for step in recipe_rules:
        f = flags(step, docs)
        assert sum(x is None for x in f) >= 0.9 * len(docs), (step.name, [x for x in f if x][:5])


def test_gopher_quality_reasons():
    g = GopherQuality()
    prose = "The cat sat with the dog and looked to the door of the house. " * 8
    cases = {
        "": "gopher_quality.short_doc",
        "!!! ??? ... ,,, ;;;": "gopher_quality.short_doc",
        "word " * 60: "gopher_quality.stop_words",
        prose + "#tag " * 20: "gopher_quality.hash_ratio",
        "\n".join(f"- the item {i} of the list with some words" for i in range(20)): "gopher_quality.bullet_lines",
        "\n".join(f"the story {i} goes on and on with the..." for i in range(20)): "gopher_quality.ellipsis_lines",
        " ".join(["12345"] * 40 + ["the", "and"] * 10): "gopher_quality.alpha_words",
        prose: None,
    }
    assert flags(g, list(cases)) == list(cases.values())
    out = run(g, [prose])
    assert out.column("gq_words")[0].as_py() == 8 * 14 and out.column("gq_stop_words")[0].as_py() == 5  # with, the, and, to, of


def test_gopher_repetition_reasons():
    g = GopherRepetition()
    para = "A unique paragraph about the weather in the mountains today."
    texts = ["", "\n\n".join([para] * 4), para + "\n" + "\n".join(["same line again and again"] * 5), "spam eggs " * 200]
    assert flags(g, texts) == ["gopher_repetition.empty", "gopher_repetition.dup_para_frac",
                               "gopher_repetition.dup_line_frac", "gopher_repetition.top_2_gram"]


def test_ngram_helpers_match_their_definition():
    import numpy as np

    ws = "a b c a b c d a b".split()
    ids = np.array([{"a": 0, "b": 1, "c": 2, "d": 3}[w] for w in ws], dtype=np.uint64)
    lens = [1] * len(ws)
    csum = np.concatenate(([0], np.cumsum(lens)))
    assert top_ngram_chars(ngram_hashes(ids, 2), csum, 2) == 3 * 3  # "a b" three times, 3 characters with the space
    # greedy scan: "a b c" repeats at 3 (jump to 6), "d a b" is new, nothing else
    assert dup_ngram_chars(ngram_hashes(ids, 3), csum, 3) == 3
    assert dup_ngram_chars(ngram_hashes(ids, 3, ngram_hashes(ids, 2)), csum, 3) == 3
    assert dup_ngram_chars(ngram_hashes(ids[:2], 3), csum[:3], 3) == 0


def test_c4_removes_lines_and_counts_them():
    c = C4()
    doc = "\n".join(["Home | About | Contact", "Enable JavaScript to view this site properly.",
                     "We use cookies, see our cookie policy.", "Ok."]
                    + [f"This is sentence number {i} of a real paragraph." for i in range(6)])
    out = run(c, [doc])
    assert out.column("c4_flag")[0].as_py() is None
    assert out.column("c4_lines_removed")[0].as_py() == 4
    assert out.column("text")[0].as_py().startswith("This is sentence number 0")
    assert out.column("c4_chars_removed")[0].as_py() == len(doc) - len(out.column("text")[0].as_py())
    assert flags(c, ["Lorem ipsum dolor sit amet, consectetur.\n" * 6, "Call it like f() { return 1; } here.\n" * 6,
                     "Just one sentence here."]) == ["c4.lorem_ipsum", "c4.curly_bracket", "c4.too_few_sentences"]


def test_c4_chinese_terminal_punctuation():
    zh = "\n".join(["今天天气很好，我们去公园散步。", "公园里有很多人在锻炼身体！", "你喜欢这样的周末吗？"] * 2)
    assert flags(C4(), [zh], "zh") == [None]
    assert flags(C4(), [zh.replace("。", "").replace("！", "").replace("？", "")], "zh") == ["c4.too_few_sentences"]


def test_c4_keeps_chinese_lines_on_a_page_labelled_english():
    """A zh help page whose code lines outweigh its prose (LibreOffice's MkDir statement) gets `en` from language ID;
    its Chinese sentences have no spaces, and counted as one whitespace word each they fell to min_words_per_line."""
    page = "\n".join(["MkDir 语句", "在数据媒体中创建新目录。", "语法：", "MkDir Text As String", "参数：",
                      "Text：任意字符串表达式，用于指定要创建的目录名称和路径。也可以使用 URL 表示法。",
                      "如果没有指定路径，则在当前目录中创建目录。", "Sub ExampleFileIO", "Dim sFile As String",
                      "sFile = \"C:\\Users\\Test\"", "MkDir sFile", "End Sub"])
    out = run(C4(), [page], "en")
    text = out.column("text")[0].as_py()
    assert out.column("c4_flag")[0].as_py() is None
    assert "在数据媒体中创建新目录。" in text and "如果没有指定路径，则在当前目录中创建目录。" in text
    assert out.column("c4_sentences")[0].as_py() >= 4


def test_fineweb_reasons():
    f = FineWeb()
    good = "\n".join(f"This line number {i} is a complete sentence with enough words in it." for i in range(10))
    texts = [good, "\n".join(f"line {i} without an end" for i in range(10)),
             "\n".join(["Short.", "Tiny.", "Small one.", good.splitlines()[0]]),
             good + "\n" + "\n".join([good.splitlines()[0]] * 3), "   \n\n "]
    assert flags(f, texts) == [None, "fineweb.line_punct_ratio", "fineweb.short_line_ratio", "fineweb.char_dup_ratio", "fineweb.empty"]


def test_abnormal_reasons():
    a = Abnormal()
    base = "A normal sentence about nothing in particular. " * 10
    texts = [base, base + "\ufffd" * 20, base + "!" * 200, "word " * 5000, "a\n" * 200]
    assert flags(a, texts) == [None, "abnormal.bad_chars", "abnormal.repeated_chars", "abnormal.long_line", "abnormal.line_breaks"]


def test_label_only_keeps_everything_but_records_reason():
    g = GopherQuality(GopherQuality.Params(label_only=True))
    out = run(g, ["too short"])
    assert "drop_reason" not in out.column_names
    assert out.column("gopher_quality_flag").to_pylist() == ["gopher_quality.short_doc"]


def test_mixed_zh_en_and_giant_line():
    mixed = "我们使用Python编写程序。The program prints hello world to the screen. 这是一个例子。"
    ws = words(mixed, "zh")
    assert "Python" in ws and "程" in ws and "program" in ws
    assert sentence_count(mixed, "zh") == 3
    giant = "x" * 300_000  # one 300k-character line: every rule answers quickly, and the right ones say why
    got = {step.name: flags(step, [giant])[0] for step in (GopherQuality(), GopherRepetition(), C4(), FineWeb(), Abnormal())}
    assert got == {"gopher_quality": "gopher_quality.short_doc", "gopher_repetition": None, "c4": "c4.too_few_sentences",
                   "fineweb": "fineweb.line_punct_ratio", "abnormal": "abnormal.repeated_chars"}


def test_overrides_are_validated():
    with pytest.raises(RecipeError, match=r"overrides\[zh\]: unknown parameter\(s\) \['min_words'\]"):
        parse({"stages": [{"gopher_quality": {"overrides": {"zh": {"min_words": 3}}}}]}, "r.yaml")


def test_recipe_lets_fineweb_see_unpunctuated_lines():
    """The default recipe runs C4 without its no-terminal-punctuation line filter (FineWeb's combination), so
    FineWeb's line-punctuation rule can fire: on a real zh-CN help page that is a list of menu paths, and on
    its English counterpart's style of page. With C4's own setting the lines are gone before FineWeb runs."""
    import json

    docs = [json.loads(x) for x in (ROOT / "bench/checkset/docs.jsonl").read_text(encoding="utf-8").split("\n") if x]
    menu = next(d["text"] for d in docs if d["text"].startswith("Choose\nOpen context menu - choose (inserted fields)"))
    steps = {s.stage_name: s for s in load(ROOT / "pipelines/default.yaml").build()}
    after_c4 = run(steps["c4"], [menu], "zh")
    assert after_c4.column("c4_flag")[0].as_py() is None
    assert flags(steps["fineweb"], after_c4.column("text").to_pylist(), "zh") == ["fineweb.line_punct_ratio"]
    # one sentence under 20 menu paths: 0.048 of its lines end like sentences, under the recipe's 0.06
    english = "\n".join([f"Choose Insert - Fields - More Fields - tab {i}" for i in range(20)]
                        + ["This page lists the ways to open the Fields dialog in a text document."])
    c4_own = C4(C4.Params(filter_no_terminal_punct=True, min_num_sentences=-1))
    assert flags(steps["fineweb"], run(c4_own, [english]).column("text").to_pylist()) == [None]  # the lines were gone
    assert flags(steps["fineweb"], run(steps["c4"], [english]).column("text").to_pylist()) == ["fineweb.line_punct_ratio"]
