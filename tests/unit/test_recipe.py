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
                                          "gopher_quality", "c4", "fineweb", "dedup", "safety", "perplexity", "quality_model", "domain_tags"]
    assert r.stages[1].params.languages == ["zh", "en"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("stages:\n  - extrakt: {}\n", "unknown stage 'extrakt'; available stages: abnormal, c4, dedup, domain_tags, enrich, extract, fineweb, format, gopher_quality"),
        ("stages:\n  - langid: {min_scor: 0.3}\n", "unknown parameter 'min_scor'; valid parameters: languages, max_chars, min_score, model_path"),
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
