"""A child process that dies with its parent: `serve`'s worker cluster.

If `serve` is killed (kill -9, an OOM kill), its qcluster child must not live on as an
orphan: the next `serve` would start a second cluster on the same machine. Two means,
because neither covers everything alone:

* On Linux the kernel sends the child SIGTERM when its parent dies (PR_SET_PDEATHSIG,
  set between fork and exec), so it notices at once.
* In the child a watchdog thread checks its parent every half second (every POSIX
  system) and then kills the cluster's own processes (sentinel, workers, pusher) and
  exits: django-q2's graceful stop would wait for the tasks in hand, and those are
  crash-safe (leases), so nothing is lost by not waiting.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import sys
import threading
import time

log = logging.getLogger(__name__)

PARENT_ENV = "HRBATCH_PARENT_PID"
_PR_SET_PDEATHSIG = 1
CHECK_SECONDS = 0.5


def die_with_parent() -> None:
    """`preexec_fn` for a child that must not outlive us (runs in the child, pre-exec)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def child_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for such a child: it names us, so the child can watch us."""
    return {**(os.environ if env is None else env), PARENT_ENV: str(os.getpid())}


def watch_parent_from_env() -> None:
    """In the child: if a parent asked to be watched, watch it (once per process).

    The variable is removed at once, so that the processes this one starts (the
    cluster's sentinel and workers) do not watch a parent that is not theirs.
    """
    value = os.environ.pop(PARENT_ENV, "")
    if not value.isdigit():
        return
    parent = int(value)
    if os.getppid() != parent:  # it died before we got here
        _die(parent)
    threading.Thread(target=_watch, args=(parent,), name="parent-watchdog", daemon=True).start()


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(CHECK_SECONDS)
    _die(parent)


def _die(parent: int) -> None:
    import psutil

    log.warning("The parent process %s is gone; stopping the worker cluster with it.", parent)
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            child.kill()
    os._exit(1)
