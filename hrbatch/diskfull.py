"""A full disk, said once in plain words: never a storm of tracebacks.

When the data directory's disk fills up, every process that writes fails at once, and
keeps failing: the workers writing results, the task queue's own bookkeeping (django-q2
logs each failure with its traceback), the sweep. What a person needs is one sentence
that says what happened and what to do, and work that waits for room and goes on.

* `is_disk_full` tells a failed write (file or database) that found no room.
* `report` records the state on this machine, in a marker file kept in memory-backed
  temporary storage (it must be writable when the data disk is not), so that the
  processes of one machine say it once between them, and `evaluate` can tell its user.
* `DiskFullOnce`, a logging filter on every handler, turns log records of such failures
  into that one sentence (once per machine per quarter of an hour), without traceback.
* `QuietFileHandler` is the rotating log file that stays quiet when its own disk is full
  (the console says it), instead of printing a "Logging error" traceback per record.

Nothing here imports the app's models: the logging configuration loads it at start-up.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import logging.handlers
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

# Writes that failed because the disk (or the process's file size limit) is full.
DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
# How such failures read once they are text (django-q2 logs a failed task's error as text).
_DISK_FULL_WORDS = (
    "database or disk is full",
    "disk i/o error",
    "no space left on device",
    "file too large",
    "disk quota exceeded",
)
# Said again after this long if the disk is still full.
SAY_AGAIN_SECONDS = 15 * 60
# The state is over when nothing has failed for this long (a worker retries more often).
STALE_SECONDS = 120
# Starts the plain sentence: what tests and people look for.
HEADLINE = "The server's disk is full"


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether a failed write (file or database) was the disk being full: the error, or
    an error it was raised from (Django wraps the database driver's)."""
    from django.db import DatabaseError

    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS:
            return True
        if getattr(exc, "sqlstate", None) == "53100":  # PostgreSQL: disk_full
            return True
        # SQLite: SQLITE_FULL, or SQLITE_IOERR_WRITE when the write hit a size limit.
        if isinstance(exc, DatabaseError | sqlite3.Error) and _says_disk_full(str(exc)):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def _says_disk_full(text: str) -> bool:
    text = text.lower()
    return any(words in text for words in _DISK_FULL_WORDS)


def _data_dir() -> Path:
    from django.conf import settings

    return Path(settings.DATA_DIR)


def _marker() -> Path:
    """This machine's note that the data directory's disk is full: in memory-backed
    storage where there is one (/dev/shm), so that writing it needs no room on the disk
    that is full."""
    shm = Path("/dev/shm")
    where = shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())
    key = hashlib.sha256(str(_data_dir().resolve()).encode()).hexdigest()[:16]
    return where / f"hrbatch-disk-full-{key}"


def report() -> bool:
    """Record that a write found the disk full. True for the first report since the
    state began (or since SAY_AGAIN_SECONDS): the caller is the one to say it."""
    marker = _marker()
    try:
        handle = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        try:
            said = marker.stat().st_ctime
            os.utime(marker)  # still full: the state is not stale
        except OSError:
            return False
        if time.time() - said < SAY_AGAIN_SECONDS:
            return False
        # Said long ago: say it again, from now.
        marker.unlink(missing_ok=True)
        return report()
    except OSError:
        return True  # no way to agree with the other processes: say it
    os.close(handle)
    return True


def clear() -> None:
    """A write went through again: the disk has room."""
    _marker().unlink(missing_ok=True)


def since() -> float | None:
    """When a process of this machine last found the disk full (seconds since the epoch),
    while the state lasts; None when the disk has room (as far as the writers know)."""
    try:
        last = _marker().stat().st_mtime
    except OSError:
        return None
    return last if time.time() - last < STALE_SECONDS else None


def message() -> str:
    """The one sentence: what happened, what hrbatch does, what to do."""
    data = _data_dir()
    try:
        free = f" ({shutil.disk_usage(data).free / 1e6:,.0f} MB free)"
    except OSError:
        free = ""
    return (
        f"{HEADLINE}: hrbatch cannot write to {data}{free}. Scoring waits, nothing scored "
        "is lost, and it goes on by itself once there is room: delete old runs and files, "
        "or free space on that disk."
    )


# Set in a process whose disk-full failures another process reports to the person (the
# worker cluster `evaluate` starts: `evaluate` says it in its own words).
_spoken_for = False


def leave_it_to_this_process() -> None:
    """Called before forking a worker cluster: its processes inherit that they stay
    silent about a full disk, which this process tells its user."""
    global _spoken_for
    _spoken_for = True


def spoken_for() -> bool:
    return _spoken_for


class DiskFullOnce(logging.Filter):
    """Log records of writes that found the disk full become the one plain sentence, once
    per machine (see report); the others are dropped, with their tracebacks."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not (is_disk_full(exc) or _says_disk_full(record.getMessage())):
            # The task queue restarts its processes that died of the full disk, every
            # few seconds, each time with a CRITICAL line: the same news again.
            restarted = record.name == "django-q" and "reincarnated" in record.getMessage()
            return not (restarted and since() is not None)
        if getattr(record, "disk_full_said", False):
            return True  # already the sentence (a second handler sees the same record)
        first = report()
        if not first or _spoken_for:
            return False
        record.msg, record.args = message(), ()
        record.exc_info = record.exc_text = None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.disk_full_said = True
        return True


class QuietFileHandler(logging.handlers.RotatingFileHandler):
    """The log file, which cannot be written while its disk is full: that is said on the
    console (DiskFullOnce), not as a "Logging error" traceback per record."""

    def handleError(self, record: logging.LogRecord) -> None:
        if is_disk_full(sys.exc_info()[1]):
            return
        super().handleError(record)
