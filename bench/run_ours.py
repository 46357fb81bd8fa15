"""`corpus run` on an embedded Ray with a fixed number of CPUs (the CLI gives Ray every core), for benchmarks.

    python bench/run_ours.py RECIPE INPUT_GLOB OUTPUT CPUS

Prints one JSON line: the run's counts and stages, and its wall time split into phases (imports, Ray start,
``pipeline.run``, Ray stop) so Ray's fixed cost is reported apart from the work. No report is built (as with
``corpus run --no-report``), no live progress (``--quiet``).
"""

import json
import sys
import time

t0 = time.perf_counter()
from corpus import ray_exec  # noqa: E402
from corpus.pipeline import run  # noqa: E402

recipe, inputs, output, cpus = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
t1 = time.perf_counter()
ray_exec.init(num_cpus=cpus)
t2 = time.perf_counter()
summary = run(recipe, [inputs], output, resume=False, log=lambda m: None, quiet=True)
t3 = time.perf_counter()
ray_exec.shutdown()
t4 = time.perf_counter()
print(json.dumps({"input_records": summary["input_records"], "kept": summary["kept"], "stages": summary["stages"],
                  "global": summary["global"], "import_s": t1 - t0, "ray_init_s": t2 - t1, "run_s": t3 - t2,
                  "shutdown_s": t4 - t3}, default=str))
