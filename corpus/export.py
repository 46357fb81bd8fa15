"""`corpus export`: the curated Parquet as WanJuan-CC JSONL records, sharded and gzip-compressed.

The record is exactly WanJuan-CC's: ``id, content, title, language, date, token_num, cbytes_num, line_num,
char_num, toxic_score, porn_score, fluency_score, not_ad_score``. A score whose stage did not run is
null (never a made-up default), and the export's manifest says which scores were null and why.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pyarrow.dataset as ds
from corpus.errors import UserError

FIELDS = ("id", "content", "title", "language", "date", "token_num", "cbytes_num", "line_num", "char_num",
          "toxic_score", "porn_score", "fluency_score", "not_ad_score")
SCORES = ("toxic_score", "porn_score", "fluency_score", "not_ad_score")


class ExportError(UserError, ValueError):
    pass


def records(batch: dict[str, list], tokenizer) -> list[dict]:
    texts = batch["text"]
    tokens = [len(e.ids) for e in tokenizer.encode_batch(texts, add_special_tokens=False)] if texts else []
    out = []
    for i, text in enumerate(texts):
        out.append({
            "id": batch["id"][i], "content": text, "title": batch.get("title", [None] * len(texts))[i] or "",
            "language": batch.get("lang", [None] * len(texts))[i], "date": batch.get("date", [None] * len(texts))[i],
            "token_num": tokens[i], "cbytes_num": len(text.encode("utf-8")), "line_num": text.count("\n") + 1 if text else 0,
            "char_num": len(text), **{s: batch[s][i] if s in batch else None for s in SCORES},
        })
    return out


def export(run_dir: str | Path, out: str | Path, tokenizer_spec: str = "deepseek", shard_docs: int = 100_000) -> dict:
    from corpus.pack.tokenizer import load

    files = sorted(str(p) for p in (Path(run_dir) / "data").glob("*.parquet"))
    if not files:
        raise ExportError(f"{run_dir}/data has no Parquet files: give the --output folder of a finished `corpus run`")
    tok = load(tokenizer_spec)
    data = ds.dataset(files, format="parquet")
    cols = [c for c in ("id", "text", "title", "lang", "date") + SCORES if c in data.schema.names]
    missing = [s for s in SCORES if s not in data.schema.names]
    dest = Path(out)
    dest.mkdir(parents=True, exist_ok=True)
    shards, n, tokens, fh, in_shard = [], 0, 0, None, 0

    def close() -> None:
        if fh is not None:
            fh.close()
            os.replace(shards[-1] + ".tmp", shards[-1])

    for batch in data.to_batches(columns=cols, batch_size=1024):
        for rec in records(batch.to_pydict(), tok.tokenizer):
            if fh is None or in_shard >= shard_docs:
                close()
                shards.append(str(dest / f"part-{len(shards):05d}.jsonl.gz"))
                fh, in_shard = gzip.open(shards[-1] + ".tmp", "wt", encoding="utf-8", compresslevel=6), 0
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            in_shard += 1
            n += 1
            tokens += rec["token_num"]
    close()
    manifest = {"format": "wanjuan-cc-jsonl", "fields": list(FIELDS), "records": n, "tokens": tokens,
                "tokenizer": {"path": tok.path, "sha256": tok.sha256}, "files": [Path(s).name for s in shards],
                "null_scores": {s: "no stage in this run's recipe writes this score" for s in missing}, "source": str(Path(run_dir).resolve())}
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest
