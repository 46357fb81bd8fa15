"""The local executor with real processes: a child that dies or raises costs exactly its shard (one worker is a
child too), progress reaches the driver, and a global stage's chained tasks give the same results on a pool as
in order."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from corpus import local_exec
from corpus.errors import UserError
from corpus.executor import choose


class Doubler:
    """A worker: ``task * 2 + offset``; -1 dies as an OOM kill would (no Python cleanup), -2 raises."""

    def __init__(self, offset: int) -> None:
        self.offset = offset

    def process(self, task: int, out_dir, report) -> tuple:
        if report is not None:
            report([{"seen": task}])
        if task == -1:
            os._exit(9)
        if task == -2:
            raise ValueError(f"bad shard {task}")
        return task, task * 2 + self.offset, os.getpid()


class Broken:
    def __init__(self) -> None:
        raise RuntimeError("model file unreadable")


def _run(worker_cls, init_args, inputs, workers):
    done, failed, progress = {}, {}, []

    def on_done(task, value, pid, node):
        done[task] = (value, pid, node)

    local_exec.run_shards(worker_cls, init_args, inputs, None, workers, 1.0, 0.0, on_done,
                          lambda inp, err: failed.setdefault(inp, err), lambda inp, stats: progress.append((inp, stats)))
    return done, failed, progress


def test_a_dead_or_failing_child_costs_only_its_shard():
    done, failed, progress = _run(Doubler, (1,), [1, 2, -1, 3, -2, 4, 5], workers=2)
    assert {t: v for t, (v, _, _) in done.items()} == {1: 3, 2: 5, 3: 7, 4: 9, 5: 11}
    assert set(failed) == {-1, -2}
    assert "died" in failed[-1] and "exit code 9" in failed[-1]
    assert failed[-2] == "ValueError: bad shard -2"
    pids = {pid for _, pid, _ in done.values()}
    assert os.getpid() not in pids and len(pids) >= 2  # children; the one that died was replaced
    assert sorted(inp for inp, _ in progress) == sorted([1, 2, -1, 3, -2, 4, 5])
    assert all(node.startswith("local:") for _, _, node in done.values())


def test_one_worker_is_a_child_too_so_a_crash_costs_only_its_shard():
    done, failed, progress = _run(Doubler, (0,), [3, -1, -2, 4], workers=1)
    assert {t: v for t, (v, _, _) in done.items()} == {3: 6, 4: 8}
    assert os.getpid() not in {pid for _, pid, _ in done.values()}
    assert set(failed) == {-1, -2} and "exit code 9" in failed[-1] and len(progress) == 4


@pytest.mark.parametrize("workers", [1, 2])
def test_a_worker_that_cannot_start_fails_every_shard_in_one_line(workers):
    done, failed, _ = _run(Broken, (), [1, 2, 3], workers=workers)
    assert done == {} and failed == {k: "RuntimeError: model file unreadable" for k in (1, 2, 3)}


def split(n: int) -> list[int]:
    return [n, n * 10]


def add(a: int, b: int) -> int:
    return a + b


@pytest.mark.parametrize("width", [1, 2])
def test_chained_tasks_with_several_returns(width):
    ex = local_exec.task_executor(width, 1)
    try:
        parts = ex.map(split, [(1,), (2,), (3,)], num_returns=2)
        sums = ex.map(add, [(p[0], p[1]) for p in parts])
        assert ex.get(sums) == [11, 22, 33]
    finally:
        ex.close()


def test_executor_choice(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert choose("auto", None) is local_exec
    assert choose("ray", None).__name__ == "corpus.ray_exec"
    assert choose("auto", "10.0.0.1:6379").__name__ == "corpus.ray_exec"
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.1:6379")
    assert choose("auto", None).__name__ == "corpus.ray_exec"
    with pytest.raises(UserError, match="--executor local runs on this machine only"):
        choose("local", None)
    monkeypatch.delenv("RAY_ADDRESS")
    assert choose("auto", None, gpus=True).__name__ == "corpus.ray_exec"  # Ray shares GPUs out among workers
    assert choose("local", None, gpus=True) is local_exec


class Sleeper:
    """Writes its pid where the test can read it, then sleeps through its shard."""

    def process(self, task: str, out_dir, report) -> tuple:
        with open(task, "w") as fh:
            fh.write(str(os.getpid()))
        time.sleep(120)
        return (task,)


DRIVER = """
import sys
sys.path.insert(0, {here!r})
from corpus import local_exec
from test_local_exec import Sleeper
if __name__ == "__main__":
    local_exec.run_shards(Sleeper, (), [{a!r}, {b!r}], None, 2, 1.0, 0.0, print, print)
"""


def test_workers_die_with_a_killed_driver(tmp_path):
    """A driver killed outright (SIGKILL: no cleanup runs) must not leave workers writing into its run folder."""
    pidfiles = [tmp_path / "a.pid", tmp_path / "b.pid"]
    script = tmp_path / "driver.py"
    script.write_text(DRIVER.format(here=str(Path(__file__).parent), a=str(pidfiles[0]), b=str(pidfiles[1])))
    driver = subprocess.Popen([sys.executable, str(script)], cwd=Path(__file__).parents[2])
    try:
        deadline = time.monotonic() + 60
        while not all(p.exists() and p.read_text() for p in pidfiles):
            assert time.monotonic() < deadline and driver.poll() is None, "the workers never started"
            time.sleep(0.1)
        pids = [int(p.read_text()) for p in pidfiles]
        driver.kill()
        driver.wait()
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in pids)
    finally:
        driver.kill()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class PoolName:
    def process(self, task, out_dir, report) -> tuple:
        import pyarrow as pa

        return task, pa.default_memory_pool().backend_name


def test_workers_allocate_with_the_system_allocator_unless_told_otherwise(monkeypatch):
    """pyarrow's default pool keeps freed pages (44 MB a worker after 5,000 pages); the driver's own is untouched."""
    import pyarrow as pa

    mine = pa.default_memory_pool().backend_name
    done: dict = {}
    local_exec.run_shards(PoolName, (), ["a", "b"], None, 2, 1.0, 0.0, lambda t, name, node: done.update({t: name}), print)
    assert done == {"a": "system", "b": "system"} and pa.default_memory_pool().backend_name == mine
    monkeypatch.setenv(local_exec.POOL_ENV, mine)
    local_exec.run_shards(PoolName, (), ["c"], None, 1, 1.0, 0.0, lambda t, name, node: done.update({t: name}), print)
    assert done["c"] == mine
