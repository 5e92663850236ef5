"""Locks between the hrbatch processes of one machine (a file in the data directory).

Two commands started at once on a fresh data directory would both apply the migrations
and the second would crash on a table the first had just created; `migrate()` makes
them take turns. An advisory lock (fcntl.flock) is released by the kernel when its
holder dies, so a killed process never leaves it held.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.core.management import call_command


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


def migrate() -> None:
    """Apply the migrations, one process at a time."""
    with data_dir_lock("migrate"):
        call_command("migrate", verbosity=0, interactive=False)
