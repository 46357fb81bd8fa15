"""corpus.signals in a process of its own (a handler installed in the test runner would outlive the test)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import os, signal, time
from corpus import signals

assert signals.install()
try:
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(30)
    print("not interrupted")
except KeyboardInterrupt as exc:   # what every Ctrl-C cleanup path catches
    print(type(exc).__name__, signals.exit_code(exc))
    os.kill(os.getpid(), signal.SIGTERM)   # a second SIGTERM does not break the cleanup the first started
    time.sleep(0.2)
    print("cleanup finished")
try:
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(30)
except KeyboardInterrupt as exc:
    print(type(exc).__name__, signals.exit_code(exc))
signal.signal(signal.SIGTERM, lambda *a: None)   # as ray.init does: someone else's handler
signals.install()
try:
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(30)
except KeyboardInterrupt as exc:
    print("reinstalled", signals.exit_code(exc))
"""


def test_sigterm_raises_terminated_with_exit_143_and_sigint_stays_130():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:-1] == ["Terminated 143", "cleanup finished", "KeyboardInterrupt 130", "reinstalled 143"]
