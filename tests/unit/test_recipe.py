from pathlib import Path

import pytest

from corpus.cli import main
from corpus.recipe import RecipeError, load

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path, text: str) -> Path:
    p = tmp_path / "r.yaml"
    p.write_text(text)
    return p


def test_default_recipe_is_valid():
    r = load(ROOT / "pipelines" / "default.yaml")
    assert [s.name for s in r.stages] == ["extract", "langid", "format", "abnormal", "gopher_repetition",
                                          "gopher_quality", "chinese_web", "c4", "fineweb", "dedup", "decontaminate", "safety", "perplexity", "quality_model", "domain_tags"]
    assert r.stages[1].params.languages == ["zh", "en"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("stages:\n  - extrakt: {}\n", "unknown stage 'extrakt'; available stages: abnormal, c4, "),
        ("stages:\n  - langid: {min_scor: 0.3}\n", "unknown parameter 'min_scor'; valid parameters: by_line, han_weight, languages, max_chars, max_foreign_frac, max_lines, min_score"),
        ("stages:\n  - langid: {min_score: high}\n", "parameter 'min_score' must be float, got 'high'"),
        ("stages:\n  - langid: {languages: zh}\n", "parameter 'languages' must be list[str]"),
        ("stages:\n  - langid: {min_score: 2}\n", "min_score must be within [0, 1]"),
        ("stages: []\n", "'stages' must be a non-empty list"),
        ("stages:\n  - format\n  - format\n", "stage name 'format' used twice"),
        ("stagse:\n  - format\n", "unknown top-level key(s) ['stagse']"),
        ("stages: [format\n", "not valid YAML"),
        ("- just a list\n", "a recipe is a mapping"),
        ("read: {batch_size: many}\nstages: [format]\n", "read: parameter 'batch_size' must be int"),
        ("stages:\n  - !!python/object/apply:os.system ['true']\n", "not valid YAML"),
    ],
)
def test_bad_recipes_name_file_stage_and_choices(tmp_path, text, message):
    p = write(tmp_path, text)
    with pytest.raises(RecipeError) as err:
        load(p)
    assert message in str(err.value)
    assert str(p) in str(err.value)


def test_cli_exits_2_with_one_clear_line(tmp_path, capsys):
    p = write(tmp_path, "stages:\n  - extrakt\n")
    code = main(["run", str(p), "--input", str(tmp_path), "--output", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and "available stages" in err and err.count("\n") == 1


def test_cli_missing_input_exits_2(tmp_path, capsys):
    code = main(["run", str(ROOT / "pipelines/default.yaml"), "--input", str(tmp_path / "nope.warc.gz"), "--output", str(tmp_path / "o")])
    assert code == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_cli_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for cmd in ("run", "stats", "inspect", "sample"):
        assert cmd in out


@pytest.mark.parametrize(
    "text, message",
    [
        # each of these used to be accepted and then rejected everything or quarantined every row
        ("stages:\n  - langid\n  - gopher_quality: {max_doc_words: -1}\n", "max_doc_words must be >= 0, got -1"),
        ("stages:\n  - langid\n  - abnormal: {max_bad_char_ratio: -0.1}\n", "max_bad_char_ratio must be within [0, 1], got -0.1"),
        ("read: {max_record_bytes: -1}\nstages: [format]\n", "read: max_record_bytes must be >= 1"),
        ("read: {batch_size: 0}\nstages: [format]\n", "read: batch_size must be within [1, 1000000], got 0"),
        ("stages:\n  - langid\n  - gopher_quality: {overrides: {zh: {min_doc_words: many}}}\n",
         "overrides.zh: parameter 'min_doc_words' must be int | None, got 'many'"),
        ("stages:\n  - langid\n  - gopher_repetition: {overrides: {zh: {dup_ngram_frac: [0.2, -1]}}}\n",
         "overrides.zh: dup_ngram_frac must be within [0, 1]"),
        ("stages:\n  - langid\n  - c4: {overrides: {zh: [1]}}\n", "parameter 'overrides' must be dict[str, dict[str, Any]]"),
        ("stages:\n  - langid\n  - c4: {as: ../../x}\n", "'as' must be an identifier"),
        ("stages:\n  - extract\n  - gopher_quality\n  - langid\n",
         "stage 'gopher_quality' needs column(s) ['lang'], which no earlier stage writes; move 'gopher_quality' after 'langid'"),
        ("stages:\n  - extract\n  - langid\n  - safety\n", "stage 'safety' needs column(s) ['domain']"),
        ("stages:\n  - enrich: {keep_top: 0.3}\n", "give `model:`"),
        ("stages:\n  - enrich: {model: m.bin, keep_top: 2}\n", "keep_top must be within [0.001, 1]"),
        ("stages:\n  - domain_tags: {cuts: {cod: 0.3}}\n", "unknown tag(s) ['cod'] in cuts"),
        ("stages:\n  - langid\n  - quality_model: {models: {fluent: a.bin}}\n", "models can only name ['fluency', 'not_ad']"),
    ],
)
def test_recipes_that_would_fail_late_fail_at_parse(tmp_path, text, message):
    p = write(tmp_path, text)
    with pytest.raises(RecipeError) as err:
        load(p)
    assert message in str(err.value)


def test_aliased_instances_write_their_own_columns():
    """Two instances of one rule with different thresholds: the alias's signals are prefixed, and running both
    on the same rows leaves each instance's columns and reasons intact."""
    import pyarrow as pa

    from corpus.recipe import parse

    r = parse({"stages": ["langid", {"gopher_quality": {"min_doc_words": 5}},
                          {"gopher_quality": {"as": "gq_strict", "min_doc_words": 500}}]}, "r")
    _, loose, strict = r.build()
    assert "gq_words" in [f.name for f in loose.columns()] and "gq_strict__gq_words" in [f.name for f in strict.columns()]
    text = "The committee met on Tuesday and the members of the board agreed with the plan for the new school. " * 3
    t = pa.table({"text": [text], "lang": ["en"]})
    t = loose.apply(t)
    assert t.column("drop_reason").to_pylist() == [None]
    t = strict.apply(t.drop_columns(["drop_reason"]))
    assert t.column("gq_words").to_pylist() == t.column("gq_strict__gq_words").to_pylist() == [57]
    assert t.column("gopher_quality_flag").to_pylist() == [None]
    assert t.column("gq_strict__gopher_quality_flag").to_pylist() == t.column("drop_reason").to_pylist() == ["gopher_quality.short_doc"]


def test_a_recipe_imports_only_the_stage_modules_it_names():
    """Each process (driver, every worker) pays for a stage module's imports: the spine needs three of them."""
    import subprocess
    import sys

    code = ("import sys; from corpus.recipe import load; load(sys.argv[1]); "
            "print(sorted(m for m in sys.modules if m.startswith('filters.')))")
    out = subprocess.run([sys.executable, "-c", code, str(ROOT / "pipelines" / "spine.yaml")], capture_output=True,
                         text=True, check=True, cwd=ROOT).stdout
    assert out.strip() == "['filters.charset', 'filters.extract', 'filters.format', 'filters.langid']"
