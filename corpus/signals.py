"""SIGTERM handled like Ctrl-C: a clean, resumable stop with its own exit status.

A batch scheduler (Slurm, Kubernetes, systemd, ``timeout``) stops a job with SIGTERM. Python's default is
to die on the spot, and ``ray.init`` replaces it with ``sys.exit(15)`` while Ray's C++ core installs a
crash-dump handler: a scheduled stop ended in a stack dump and exit 134 with no word about the state left
behind. Here SIGTERM raises :class:`Terminated` in the main thread instead. It is a ``KeyboardInterrupt``,
so every cleanup path written for Ctrl-C (and the CLI's "re-run the same command to resume" message)
serves it too; the CLI tells the two apart only for the exit status (130 for SIGINT, 143 for SIGTERM, the
shell's 128 + signal number).

``ray.init`` overwrites the SIGTERM handler, so ``ray_exec.init`` calls :func:`install` again after it.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

SIGINT_EXIT = 128 + signal.SIGINT    # 130
SIGTERM_EXIT = 128 + signal.SIGTERM  # 143


class Terminated(KeyboardInterrupt):
    """The process received SIGTERM. A KeyboardInterrupt so Ctrl-C's handling covers it unchanged."""

    exit_code = SIGTERM_EXIT


_stopping = False
_last: int | None = None  # the last of SIGINT / SIGTERM received: Ray can re-raise either as a plain KeyboardInterrupt


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    global _stopping, _last
    if _stopping:  # a repeated SIGTERM must not interrupt the cleanup the first one started
        return
    _stopping, _last = True, signum
    raise Terminated(f"received signal {signum} (SIGTERM)")


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    global _last
    _last = signum
    signal.default_int_handler(signum, frame)


def install() -> bool:
    """Make SIGTERM raise :class:`Terminated` in the main thread. Idempotent; call it again after anything
    that replaces the handler (``ray.init`` does). Returns False, changing nothing, outside the main thread,
    where Python cannot install handlers."""
    global _stopping
    if threading.current_thread() is not threading.main_thread():
        return False
    if signal.getsignal(signal.SIGTERM) is not _on_sigterm:
        _stopping = False  # a new handler: a stop that was caught and survived does not mute the next one
    # always re-set: Ray's C++ core replaces the C-level handler behind Python's back, so getsignal() can
    # still name ours while a crash-dump handler is the one the kernel calls
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGINT, _on_sigint)
    return True


def exit_code(exc: BaseException) -> int:
    """The exit status for an interrupted command: 143 after SIGTERM, 130 after Ctrl-C (SIGINT)."""
    return SIGTERM_EXIT if isinstance(exc, Terminated) or _last == signal.SIGTERM else SIGINT_EXIT
