"""run_shards on a real embedded Ray: in-flight counts reach the driver through the GCS key-value store (no
progress actor), a crashed shard is reported and the others go on, and the embedded node runs without the
helper processes it never uses (autoscaler monitor, log monitor, API server, prestarted idle workers)."""

from __future__ import annotations

import os
import sys
import time

import pytest
from ray import cloudpickle

pytestmark = pytest.mark.e2e


class Reporter:
    """A worker like ShardWorker: reports counts while it works, then returns; shard "boom" crashes its process."""

    def __init__(self, tag: str) -> None:
        self.tag = tag

    def process(self, task: str, out_dir, report) -> tuple:
        if task == "boom":
            os._exit(3)  # what an OOM kill looks like to Ray: the worker process is gone
        for i in range(3):
            report([{"name": "read", "docs_in": i + 1, "docs_out": i + 1}])
            time.sleep(1.2)  # longer than the driver's 1 s poll, so each report can be seen
        return task, self.tag, str(out_dir)


cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the Ray workers cannot import this test module


def test_progress_reaches_the_driver_and_a_crash_is_one_failed_shard(ray_session, tmp_path):
    from ray.experimental.internal_kv import _internal_kv_list

    from corpus import ray_exec

    seen: dict[str, list[int]] = {}
    done: list[tuple] = []
    failed: list[tuple] = []
    ray_exec.run_shards(Reporter, ("t",), ["a", "boom", "b"], tmp_path, 1, 1.0, 0.0,
                        on_done=lambda task, tag, out, node: done.append((task, tag, out)),
                        on_failed=lambda inp, error: failed.append((inp, error)),
                        on_progress=lambda inp, stats: seen.setdefault(inp, []).append(stats[0]["docs_in"]))
    assert sorted(done) == [("a", "t", str(tmp_path)), ("b", "t", str(tmp_path))]  # out_dir passed as it is
    assert [inp for inp, _ in failed] == ["boom"] and failed[0][1]
    # counts arrive while the shard runs (at least one before the last), in order, and only for live shards
    assert set(seen) <= {"a", "b"} and seen, seen
    assert all(v == sorted(v) and v[0] < 3 for v in seen.values()), seen
    assert _internal_kv_list("", namespace=ray_exec._Board.NAMESPACE) == []  # the run's keys are cleaned up


def test_embedded_ray_runs_no_idle_helpers(ray_session):
    import psutil
    import ray

    from corpus import ray_exec

    if os.environ.get("CORPUS_RAY_FULL") == "1":
        pytest.skip("CORPUS_RAY_FULL=1 asks for Ray's usual helper processes")
    assert ray.get(ray.remote(num_cpus=0)(lambda: 1).remote()) == 1
    cmdlines = []
    for p in psutil.Process().children(recursive=True):
        try:
            cmdlines.append(" ".join(p.cmdline()))
        except psutil.Error:  # exited (or a zombie not yet reaped) between the listing and the read
            continue
    assert any("raylet" in c for c in cmdlines), cmdlines  # the check sees Ray's processes, or it proves nothing
    for helper in ("autoscaler/_private/monitor.py", "log_monitor.py", "dashboard/dashboard.py"):
        assert not any(helper in c for c in cmdlines), (helper, cmdlines)
    assert ray_exec.LEAN_SYSTEM_CONFIG["prestart_worker_first_driver"] is False


def square(x: int) -> int:
    time.sleep(0.3)
    return x * x


def split(x: int) -> tuple[int, int]:
    return x, -x


def test_executor_counts_plan_phases_while_it_waits(ray_session):
    import io

    from corpus import ray_exec
    from corpus.progress import TaskProgress

    class Log(io.StringIO):
        def isatty(self) -> bool:
            return False

    log = Log()
    ex = ray_exec.RayExecutor(64, progress=TaskProgress("dedup plan", stream=log, interval=0))
    halves = ex.map(split, [(i,) for i in range(4)], num_returns=2)  # multi-return tasks count once each
    squares = ex.map(square, [(h[0],) for h in halves])
    assert ex.get(squares + [halves[1][1]]) == [0, 1, 4, 9, -1]
    lines = log.getvalue().splitlines()
    assert lines and "tasks 8/8" in lines[-1] and "phase 2 (square 4/4)" in lines[-1], lines
    assert ray_exec.RayExecutor(64).get(ray_exec.RayExecutor(64).map(square, [(3,)])) == [9]  # no progress: plain get
