"""`corpus run` on an embedded Ray with a fixed number of CPUs (the CLI uses every core), for benchmarks."""

import json
import sys

from corpus import ray_exec
from corpus.pipeline import run

recipe, inputs, output, cpus = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ray_exec.init(num_cpus=cpus)
summary = run(recipe, [inputs], output, resume=False, log=lambda m: None)
print(json.dumps({"input_records": summary["input_records"], "kept": summary["kept"], "stages": summary["stages"],
                  "global": summary["global"]}))
