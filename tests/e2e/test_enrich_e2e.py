"""Enrichment end to end: a classifier trained with `corpus train-quality` on a seed set, then
pipelines/enrich.yaml run on Ray over a curated run; the funnel shows how much the enrich stage kept, and
the second pass keeps the curated run's lineage (its ids and every column it wrote)."""

import json

import pyarrow.dataset as ds
import pytest
import yaml

from corpus.cli import main
from training.kenlm_train import english_reference
from corpus.models import models_dir

pytestmark = pytest.mark.e2e


def test_enrich_pass_over_a_curated_run(sample_run, tmp_path, capsys):
    curated, _ = sample_run
    (tmp_path / "seed.txt").write_text("\n\n".join(english_reference(models_dir() / ".cache")[:3000]))
    assert main(["train-quality", "--positive", str(tmp_path / "seed.txt"), "--negative", str(curated),
                 "--out", str(tmp_path / "seed-model.bin")]) == 0
    recipe = yaml.safe_load(open("pipelines/enrich.yaml"))
    recipe["stages"][1]["enrich"]["model"] = str(tmp_path / "seed-model.bin")
    (tmp_path / "enrich.yaml").write_text(yaml.safe_dump(recipe))
    out = tmp_path / "enriched"
    capsys.readouterr()
    assert main(["run", str(tmp_path / "enrich.yaml"), "--input", str(curated / "data" / "*.parquet"), "--output", str(out),
                 "--no-report"]) == 0
    stats = json.loads((out / "stats.json").read_text())
    enrich = next(s for s in stats["stages"] if s["name"] == "enrich")
    assert enrich["docs_in"] == enrich["docs_out"] + enrich["rejected"]["enrich.below_cut"] and enrich["errors"] == 0
    assert 0.1 <= enrich["docs_out"] / enrich["docs_in"] <= 0.6  # keep_top 0.3 of a pool like the one it was trained against
    kept = ds.dataset(str(out / "data")).to_table(columns=["enrich_score"])
    assert kept.num_rows == enrich["docs_out"] == stats["kept"]
    cut = min(kept.column("enrich_score").to_pylist())
    dropped = ds.dataset(str(out / "rejected")).to_table(columns=["enrich_score", "drop_stage"]).to_pylist()
    assert all(r["enrich_score"] < cut for r in dropped if r["drop_stage"] == "enrich")
    assert main(["stats", str(out)]) == 0
    assert "enrich.below_cut" in capsys.readouterr().out
    _lineage_survives(curated, out)


# what the curated run wrote that the enrich recipe does not compute again: the WanJuan scores, tags, clusters
CARRIED = ("fluency_score", "not_ad_score", "toxic_score", "porn_score", "domain_tag", "dup_cluster", "dup_cluster_size")


def _lineage_survives(curated, out):
    """Ids are the curated ids (never re-derived), and every curated column comes through with its values."""
    before = ds.dataset(str(curated / "data")).to_table()
    after = ds.dataset(str(out / "data")).to_table()
    assert after.num_rows > 0
    ids = after.column("id").to_pylist()
    assert set(ids) <= set(before.column("id").to_pylist()) and len(set(ids)) == len(ids)
    missing = set(before.schema.names) - set(after.schema.names)
    assert not missing, f"curated columns lost by the second pass: {sorted(missing)}"
    assert set(CARRIED) <= set(before.schema.names)  # the default recipe wrote them, so this check has teeth
    same = ["id", "url", "domain", "date", "title", "text", *CARRIED]
    old = {r["id"]: r for r in before.select(same).to_pylist()}
    for row in after.select(same).to_pylist():
        assert row == old[row["id"]]
    assert sum(r["fluency_score"] is not None for r in old.values()) > 0
