"""Pause, resume and cancel while a real worker cluster (a qcluster process) is scoring."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection

from devtools.fake_ollama import FakeOllama
from evaluations import services
from evaluations.models import Item, Run
from tests.support.files import candidates_csv, read_output
from tests.support.processes import ROOT, subprocess_env
from tests.support.runs import start_run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def cluster(
    engine_settings: Any, fake_ollama: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> Iterator[subprocess.Popen[str]]:
    """A real cluster process on this test's database; tasks are no longer run inline."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)
    fake_ollama.latency = 0.05
    db_name = connection.settings_dict["NAME"]
    env = subprocess_env(Path(django_settings.DATA_DIR).parent, fake_ollama)
    env.update(HRBATCH_DATA_DIR=str(django_settings.DATA_DIR), DATABASE_URL=f"sqlite:///{db_name}")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    yield process
    process.send_signal(signal.SIGTERM)  # the cluster stops its own workers
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def _wait(run: Run, predicate: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if predicate(run):
            return
        time.sleep(0.1)
    counts = (run.done_count, run.failed_count, run.cancelled_count, run.total_count)
    raise AssertionError(f"timed out waiting for {what}: {run.status} {counts}")


def test_pause_resume_and_cancel_a_running_run(
    cluster: subprocess.Popen[str], tmp_path: Path
) -> None:
    run = start_run(candidates_csv(tmp_path, 300))
    _wait(run, lambda r: r.done_count >= 30, "30 scored")

    assert services.run_pause(run=run)
    _wait(
        run,
        lambda r: not Item.objects.filter(run=r, lease_token__isnull=False).exists(),
        "workers to wind down",
    )
    paused_at = run.done_count
    time.sleep(1.5)
    run.refresh_from_db()
    assert run.status == Run.Status.PAUSED
    assert run.done_count == paused_at  # nothing is scored while paused
    assert paused_at < 300

    assert services.run_resume(run=run)
    _wait(run, lambda r: r.done_count >= paused_at + 30, "30 more scored after resume")

    assert services.run_cancel(run=run)
    _wait(run, lambda r: r.status == Run.Status.CANCELLED, "the run to be cancelled")
    assert run.done_count + run.cancelled_count == 300 and run.failed_count == 0
    assert 0 < run.cancelled_count < 300 - paused_at
    rows = read_output(run)
    assert len(rows) == 300
    assert {r["status"] for r in rows} == {"done", "cancelled"}
    assert sum(r["status"] == "done" for r in rows) == run.done_count
