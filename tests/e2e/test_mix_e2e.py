"""corpus mix on a real curated run, then corpus pack --mix: shares, interleaving, blends, masked labels,
empty and truncated shards, dataset cards, and `datasets` loading the curated Parquet as it is."""

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import torch
import yaml
from torch.utils.data import DataLoader

from corpus.cli import main
from corpus.pack.dataset import IGNORE_INDEX, PackedDataset
from corpus.pack.formats import MegatronReader, ShardMismatch
from corpus.pack.run import PackOptions, pack

pytestmark = pytest.mark.e2e
SEQ = 256


def write_spec(path, run, **over):
    doc = {"name": "t", "sources": [str(run)], "seed": 1, "max_epochs": 4, "shards": 3, "select": {"best": "fluency_score"},
           "groups": [{"name": "zh", "where": {"lang": "zh"}, "share": 0.5}, {"name": "en", "where": {"lang": "en"}, "share": 0.5}],
           "boost": [{"where": {"domain_tag": "maths"}, "factor": 3}]}
    doc.update(over)
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture(scope="module")
def mixed(sample_run, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mix")
    spec = write_spec(tmp / "mix.yaml", sample_run[0])  # no budget: the largest mixture no group needs a second pass for
    assert main(["mix", str(spec), "--out", str(tmp / "mix")]) == 0
    return spec, tmp / "mix", json.loads((tmp / "mix" / "mix.json").read_text())


def test_every_target_the_data_can_meet_is_within_a_point(mixed):
    _, out, m = mixed
    for g in m["groups"]:  # without a budget, no group needs a second pass: every share can be met
        assert g["documents"] > 0 and g["met"] and g["reason"] is None
        assert abs(g["share"] - g["target_share"]) < 0.01, g
    assert m["budget"]["met"] and m["unassigned"]["documents"] == 0
    rows = pq.read_table(out / "data", columns=["mix_group", "input_ids", "id", "mix_copy"])
    n = pc.list_value_length(rows.column("input_ids")).to_numpy()
    assert n.sum() == m["tokens"] and rows.num_rows == m["copies"]
    for g in m["groups"]:  # the manifest's numbers are the data's
        assert n[rows.column("mix_group").to_numpy(zero_copy_only=False) == g["name"]].sum() == g["tokens"]
    b = m["boosts"][0]
    assert b["met"] or b["reason"]
    if b["met"]:
        assert all(abs(f - 3) < 0.5 for f in b["effective_factor"].values()), b
    assert (out / "README.md").read_text().startswith("---\n")


def test_same_spec_same_bytes(mixed, tmp_path):
    spec, out, _ = mixed
    assert main(["mix", str(spec), "--out", str(tmp_path / "again")]) == 0
    for f in sorted((out / "data").glob("*.parquet")):
        assert pq.read_table(f).equals(pq.read_table(tmp_path / "again" / "data" / f.name))


def test_a_short_group_is_reported(sample_run, tmp_path):
    spec = write_spec(tmp_path / "short.yaml", sample_run[0], budget_tokens=10**9, max_epochs=2, shards=1, boost=[])
    assert main(["mix", str(spec), "--out", str(tmp_path / "m")]) == 0
    m = json.loads((tmp_path / "m" / "mix.json").read_text())
    assert not m["budget"]["met"] and "shrunk" in m["budget"]["reason"]
    assert all(abs(g["share"] - 0.5) < 0.01 for g in m["groups"])


def test_pack_mix_interleaves_groups_and_masks_padding(mixed, tmp_path, capsys):
    _, mixdir, m = mixed
    out = tmp_path / "packed"
    assert main(["pack", "--mix", str(mixdir), "--out", str(out), "--seq-len", str(SEQ)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["totals"]["tokens"] == m["tokens"] and manifest["mix"]["name"] == "t"
    # every packed shard holds documents of every group, near the mixture's shares
    group_of = {}
    for f in (mixdir / "data").glob("*.parquet"):
        t = pq.read_table(f, columns=["id", "mix_group"])
        group_of.update(zip(t.column("id").to_pylist(), t.column("mix_group").to_pylist()))
    for seqs in sorted(out.glob("*.seqs.parquet")):
        ids = [d for row in pq.read_table(seqs, columns=["doc_ids"]).column(0).to_pylist() for d in row]
        groups = {group_of[d] for d in ids}
        assert groups == {"zh", "en"}, seqs.name
    blend = (out / "megatron_blend.txt").read_text().split()
    weights, prefixes = [float(w) for w in blend[::2]], blend[1::2]
    assert sum(weights) == pytest.approx(1) and len(prefixes) == len(list(out.glob("*.megatron.idx")))
    assert all(len(MegatronReader(p)) for p in prefixes)
    evo = json.loads((out / "internevo_blend.json").read_text())
    assert all((out / f["path"]).resolve().is_file() for f in evo["files"])
    batches = list(DataLoader(PackedDataset(out, seed=0), batch_size=16))
    labels = torch.cat([b["labels"] for b in batches])
    mask = torch.cat([b["loss_mask"] for b in batches])
    assert torch.equal(labels == IGNORE_INDEX, mask == 0)
    pads = [p for f in out.glob("*.seqs.parquet") for p in pq.read_table(f, columns=["padding"]).column(0).to_pylist()]
    assert int((mask == 0).sum()) == sum(pads) == manifest["totals"]["padding"] > 0  # exactly the labels whose target is padding
    inputs = torch.cat([b["input_ids"] for b in batches])
    keep = mask[:, :-1].bool()
    assert torch.equal(inputs[:, 1:][keep], labels[:, :-1][keep])  # unmasked labels are the next input token
    assert not main(["pack", "--mix", str(mixdir), "--out", str(tmp_path / "bad"), "--tokenizer", str(tmp_path / "none")]) == 0


def test_empty_and_truncated_shards(sample_run, tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "data").mkdir(parents=True)
    real = sorted((sample_run[0] / "data").glob("*.parquet"))[0]
    shutil.copy(real, corpus / "data" / real.name)
    table = pq.read_table(real)
    pq.write_table(table.slice(0, 0), corpus / "data" / "all-removed.parquet")  # every document dropped upstream
    out = tmp_path / "packed"
    m = pack(str(corpus), str(out), PackOptions(seq_len=SEQ))
    empty = [s for s in m["shards"] if s["empty"]]
    assert len(empty) == 1 and empty[0]["files"] == {} and m["totals"]["empty_shards"] == 1
    assert not list(out.glob("all-removed*")) and all(f.stat().st_size for f in out.glob("*.bin"))
    assert "all-removed" not in (out / "megatron_blend.txt").read_text()
    ds = PackedDataset(out)
    assert len(ds) == m["totals"]["samples"] > 0
    binary = next(out.glob("*.megatron.bin"))
    binary.write_bytes(binary.read_bytes()[: binary.stat().st_size // 2])
    with pytest.raises(ShardMismatch, match="truncated"):
        PackedDataset(out)


def test_datasets_loads_the_curated_parquet_and_the_card(sample_run, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    datasets = pytest.importorskip("datasets")
    from corpus.card import write_run_card

    run = sample_run[0]
    files = sorted(str(f) for f in (run / "data").glob("*.parquet"))
    ds = datasets.load_dataset("parquet", data_files=files, split="train", cache_dir=str(tmp_path / "cache"))
    kept = sum(pq.read_metadata(f).num_rows for f in files)
    assert ds.num_rows == kept and {"id", "text", "lang"} <= set(ds.column_names)
    card = write_run_card(run)
    meta = yaml.safe_load(card.read_text().split("---\n")[1])
    assert meta["configs"][0]["data_files"][0]["path"] == "data/*.parquet" and set(meta["language"]) <= {"zh", "en"}
    by_card = datasets.load_dataset(str(run), split="train", cache_dir=str(tmp_path / "cache2"))
    assert by_card.num_rows == kept
    # the card's character mix comes from what the workers recorded at commit: the same as reading data/ again
    from corpus.card import _run_mix
    from corpus.stats import mix_of

    recorded = _run_mix(run)
    assert recorded[0] and recorded == mix_of([Path(f) for f in files])[:2]
    assert all("mix" in json.loads(m.read_text()) for m in (run / "_shards").glob("sample-*--dedup.json"))
    assert np.isin(["zh", "en"], list(set(ds["lang"]))).any()
