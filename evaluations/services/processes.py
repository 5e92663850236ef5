"""Which process holds a lease or created a run: host, pid and start time.

A dead holder on this machine is seen at once (recovery frees its Items, runs free the
dedupe key of a run it left `validating`).
"""

from __future__ import annotations

import os
import socket
from typing import Any

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
