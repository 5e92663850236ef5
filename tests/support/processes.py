"""`manage.py` in subprocesses, as a person runs it, and its database read from outside."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devtools import live
from devtools.fake_ollama import FakeOllama

ROOT = live.ROOT


def subprocess_env(tmp_path: Path, fake: FakeOllama, **extra: str) -> dict[str, str]:
    """The app's environment for a subprocess: data in `tmp_path/data`, pointed at `fake`.

    Quick recovery for the test: leases of dead workers run out after 3 s. No consistency
    sample unless asked (HRBATCH_CONSISTENCY_PCT): these tests count requests to prove
    that nothing is scored twice, and the sample's second requests are by design."""
    settings = {"HRBATCH_LEASE_SECONDS": "3", "HRBATCH_CONSISTENCY_PCT": "0", **extra}
    return live.app_env(tmp_path / "data", fake, **settings)


def evaluate(
    source: Path,
    out: Path,
    env: dict[str, str],
    *args: str,
    preexec_fn: Callable[[], Any] | None = None,
) -> subprocess.Popen[str]:
    """`manage.py evaluate` started in its own process group (kill -9 takes the cluster);
    `preexec_fn` runs in it before it starts (a signal disposition, a resource limit)."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "evaluate", str(source), "--out", str(out), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: kill -9 takes the whole cluster
        preexec_fn=preexec_fn,
    )


def finish(process: subprocess.Popen[str], timeout: float = 120) -> str:
    """The output of an `evaluate` that must exit 0 within `timeout` seconds."""
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        raise AssertionError(f"evaluate did not finish:\n{output}") from None
    assert process.returncode == 0, output
    return output


def query(env: dict[str, str], sql: str) -> list[tuple[Any, ...]]:
    """Read the run's database as another process would (SQLite file or PostgreSQL)."""
    if "DATABASE_URL" in env:
        import psycopg

        try:
            with psycopg.connect(env["DATABASE_URL"]) as conn:
                return conn.execute(sql).fetchall()
        except psycopg.errors.UndefinedTable:  # not migrated yet
            return []
    try:
        with sqlite3.connect(Path(env["HRBATCH_DATA_DIR"]) / "hrbatch.sqlite3", timeout=30) as db:
            return db.execute(sql).fetchall()
    except sqlite3.OperationalError:  # not migrated yet
        return []


def done_ids(env: dict[str, str]) -> set[str]:
    rows = query(env, "SELECT custom_id FROM evaluations_item WHERE status = 'done'")
    return {r[0] for r in rows}


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
