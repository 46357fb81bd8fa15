"""`corpus run` with a fixed number of CPUs, for benchmarks.

    python bench/run_ours.py RECIPE INPUT_GLOB OUTPUT CPUS [local|ray]

``local`` (the default on one machine): CPUS workers as local processes. ``ray``: an embedded Ray given CPUS
CPUs (the CLI gives Ray every core). Prints one JSON line: the run's counts and stages, and its wall time split
into phases (imports, Ray start, ``pipeline.run``, Ray stop; Ray's are 0 for local) so Ray's fixed cost is
reported apart from the work. No report is built (as with ``corpus run --no-report``), no live progress
(``--quiet``).
"""

import json
import sys
import time

if __name__ == "__main__":  # the local executor's workers are spawned: they import this file, and must not run it
    t0 = time.perf_counter()
    from corpus.pipeline import run

    recipe, inputs, output, cpus = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    local = (sys.argv[5] if len(sys.argv) > 5 else "ray") == "local"
    t1 = time.perf_counter()
    if not local:  # Ray is imported only when used (40 MB in this process), as `corpus run` does
        from corpus import ray_exec

        ray_exec.init(num_cpus=cpus)
    t2 = time.perf_counter()
    # a checkout from before the local executor (BENCH_BASELINE) knows no ``executor``: Ray was its only one
    import inspect

    where = ({"executor": "local", "workers": cpus} if local
             else {"executor": "ray"} if "executor" in inspect.signature(run).parameters else {})
    summary = run(recipe, [inputs], output, resume=False, log=lambda m: None, quiet=True, **where)
    t3 = time.perf_counter()
    if not local:
        ray_exec.shutdown()
    t4 = time.perf_counter()
    print(json.dumps({"input_records": summary["input_records"], "kept": summary["kept"], "stages": summary["stages"],
                      "global": summary["global"], "import_s": t1 - t0, "ray_init_s": t2 - t1, "run_s": t3 - t2,
                      "shutdown_s": t4 - t3}, default=str))
