"""datatrove's read → extract → language ID → format on the same WARCs, on CORES processes (default one).

    .bench-venv/bin/python bench/peer_datatrove.py INPUT_DIR OUTPUT_DIR LID_MODEL [CORES]

Runs inside .bench-venv. Its lid.176 model is pointed at the local file our venv ships (no download): the patch
is made at import, from an environment variable, so datatrove's worker processes (started by a forkserver that
imports this module again) make it too; the run itself is under ``__main__`` so those imports do not start
another run. With CORES > 1 the input files are split into that many tasks run by as many worker processes
(datatrove's own way of using cores). Prints one JSON line: documents read, kept, wall seconds.
"""

import json
import os
import sys
import time

import datatrove.utils.lid as lid
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.extractors import Trafilatura
from datatrove.pipeline.filters import LanguageFilter
from datatrove.pipeline.formatters import FTFYFormatter
from datatrove.pipeline.readers import WarcReader
from datatrove.pipeline.writers import ParquetWriter

if os.environ.get("PEER_LID_PATH"):
    lid.cached_asset_path_or_download = lambda *a, **k: os.environ["PEER_LID_PATH"]


def main() -> None:
    input_dir, output_dir, lid_path = sys.argv[1:4]
    cores = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    os.environ["PEER_LID_PATH"] = lid_path
    lid.cached_asset_path_or_download = lambda *a, **k: lid_path
    t0 = time.perf_counter()
    executor = LocalPipelineExecutor(
        pipeline=[
            WarcReader(input_dir, glob_pattern="*.warc.gz"),
            Trafilatura(favour_precision=True, timeout=10.0),
            LanguageFilter(languages=["zh", "en"], language_threshold=0.5),
            FTFYFormatter(),
            ParquetWriter(output_dir),
        ],
        tasks=cores,
        workers=cores,
        logging_dir=output_dir + "/logs",
        skip_completed=False,
    )
    executor.run()
    wall = time.perf_counter() - t0
    stats = json.load(open(output_dir + "/logs/stats.json"))
    docs_read = next(s for s in stats if "Trafilatura" in s["name"])["stats"]["total"]  # merged over tasks
    kept = stats[-1]["stats"].get("total", 0)
    print(json.dumps({"tool": "datatrove", "docs": docs_read, "kept": kept, "wall_s": wall, "cores": cores}))


if __name__ == "__main__":
    main()
