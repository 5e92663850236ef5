"""Locks between hrbatch processes: a file in the data directory (one machine) and, on
PostgreSQL, an advisory lock (every machine of a scale-out).

Two commands started at once on a fresh database would both apply the migrations and
the second would crash on a table the first had just created; `migrate()` makes them
take turns. Both locks are dropped by the kernel or the server when their holder dies,
so a killed process never leaves them held.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections


@contextlib.contextmanager
def data_dir_lock(name: str) -> Iterator[None]:
    """Hold an exclusive lock named `name` among this machine's hrbatch processes."""
    path = Path(settings.DATA_DIR) / f".{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# Any fixed number: the PostgreSQL advisory lock that hrbatch's migrations take.
_MIGRATE_LOCK_ID = 4_080_2026


def migrate() -> None:
    """Apply the migrations, one process at a time: on this machine (a file lock), and
    on PostgreSQL also across the machines of a scale-out (an advisory lock, released by
    the server when the session of a killed holder ends)."""
    with data_dir_lock("migrate"):
        connection = connections[DEFAULT_DB_ALIAS]
        if connection.vendor != "postgresql":
            call_command("migrate", verbosity=0, interactive=False)
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [_MIGRATE_LOCK_ID])
        try:
            call_command("migrate", verbosity=0, interactive=False)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [_MIGRATE_LOCK_ID])
