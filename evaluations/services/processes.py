"""Which process holds a lease or created a run: host, pid and start time; and the
processes `serve` and the other commands start: the database brought up to date, the
worker cluster.

A dead holder on this machine is seen at once (recovery frees its Items, runs free the
dedupe key of a run it left `validating`).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from typing import Any

from django.conf import settings

from .. import lifeline, locks

_holder: tuple[int, str] | None = None


def lease_holder() -> str:
    """This process, as recorded with the leases it takes: host, pid and start time.

    The start time tells a reused pid from the process that took the lease.
    """
    global _holder
    import psutil

    pid = os.getpid()
    if _holder is None or _holder[0] != pid:  # a forked worker is another process
        _holder = (pid, f"{socket.gethostname()}:{pid}:{psutil.Process().create_time():.2f}")
    return _holder[1]


def pid_alive(pid: Any) -> bool:
    """Whether a process of this machine runs: it exists and is not a zombie (dead, not
    yet reaped: os.kill(pid, 0) still finds it)."""
    import psutil

    try:
        return psutil.Process(int(pid)).status() != psutil.STATUS_ZOMBIE
    except (TypeError, ValueError, psutil.Error):
        return False


def holder_alive(holder: str) -> bool:
    """Whether the process that took a lease on this machine still runs."""
    import psutil

    try:
        _, pid, started = holder.rsplit(":", 2)
        process = psutil.Process(int(pid))
        return (
            abs(process.create_time() - float(started)) < 0.05
            and process.status() != psutil.STATUS_ZOMBIE
        )
    except (ValueError, psutil.Error):
        return False


def database_migrate() -> None:
    """Apply the migrations, one process at a time on this data directory (and across
    the machines of a scale-out on PostgreSQL): locks.migrate."""
    locks.migrate()


def worker_cluster_start() -> subprocess.Popen[bytes]:
    """The django-q2 worker cluster (`manage.py qcluster`) as a child that dies with this
    process, kill -9 included: an orphan would double the workers of the next serve on
    this machine. Started before this process has threads (its pre-exec hook needs that)."""
    return subprocess.Popen(
        [sys.executable, str(settings.BASE_DIR / "manage.py"), "qcluster"],
        cwd=settings.BASE_DIR,
        env=lifeline.child_env(),
        preexec_fn=lifeline.die_with_parent,
    )
