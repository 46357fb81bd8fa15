"""datatrove's 4-stage MinHash dedup (signatures → buckets → clusters → filter) on our JSONL, one worker.

Runs inside .bench-venv with the same shingle size and bands x rows as our run. Prints one JSON line:
documents, wall seconds and every document's cluster id (null when in no cluster), for precision/recall.
"""

import glob
import gzip
import json
import sys
import time

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.minhash import (MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster,
                                              MinhashDedupFilter, MinhashDedupSignature)
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter

input_dir, out, bands, rows = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
config = MinhashConfig(n_grams=5, num_buckets=bands, hashes_per_bucket=rows, seed=1)


def reader():
    return JsonlReader(input_dir, glob_pattern="*.jsonl", id_key="id", text_key="text")


def stage(pipeline, tasks=1):
    LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=1, logging_dir=f"{out}/logs/{len(glob.glob(out + '/logs/*'))}",
                          skip_completed=False).run()


t0 = time.perf_counter()
stage([reader(), MinhashDedupSignature(output_folder=f"{out}/sigs", config=config)])
stage([MinhashDedupBuckets(input_folder=f"{out}/sigs", output_folder=f"{out}/buckets", config=config)], tasks=bands)
stage([MinhashDedupCluster(input_folder=f"{out}/buckets", output_folder=f"{out}/remove", config=config, save_cluster_id=True)])
stage([reader(), MinhashDedupFilter(input_folder=f"{out}/remove", load_cluster_ids=True,
                                    exclusion_writer=JsonlWriter(f"{out}/removed")), JsonlWriter(f"{out}/kept")])
wall = time.perf_counter() - t0

clusters = {}
for path in glob.glob(f"{out}/kept/*.jsonl.gz") + glob.glob(f"{out}/removed/*.jsonl.gz"):
    with gzip.open(path, "rt") as fh:
        for line in fh:
            d = json.loads(line)
            c = d.get("metadata", {}).get("minhash_cluster_id", -1)
            clusters[d["id"]] = None if c == -1 else str(c)
removed = sum(1 for p in glob.glob(f"{out}/removed/*.jsonl.gz") for _ in gzip.open(p, "rt"))
print(json.dumps({"tool": "datatrove", "docs": len(clusters), "removed": removed, "wall_s": wall, "clusters": clusters}))
