"""The scoring clock: speed, time left, elapsed time and the e-mail's duration count only
the time a run was scoring, never the time it waited for a free worker or for the LLM
server; a run waiting for a worker says so, with its place in the queue.

Time is simulated the way the engine records it (the run's and its Items' timestamps),
so nothing here waits for a clock.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from devtools.fake_ollama import FakeOllama
from evaluations import engine, metrics, services
from evaluations.models import Item, Run
from tests.support.files import candidates_csv
from tests.support.runs import start_run


def _page(client: Client, run: Run) -> str:
    return client.get(reverse("web:run_progress", args=[run.public_id])).content.decode()


def _scoring(run: Run) -> None:
    """`run` as one the workers are scoring now."""
    now = timezone.now()
    Run.objects.filter(pk=run.pk).update(
        status=Run.Status.IN_PROGRESS, in_progress_at=now, resumed_at=now, last_progress_at=now
    )


@pytest.mark.django_db(transaction=True)
def test_a_run_waiting_for_a_free_worker_says_so_and_counts_only_its_scoring_time(
    engine_settings: Any,
    fake_ollama: FakeOllama,
    owner: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    busy = start_run(candidates_csv(tmp_path, 20, name="busy.csv"), owner=owner, start=False)
    _scoring(busy)  # another run holds the workers
    # The tasks of the runs started now wait in the queue (no worker takes them here).
    monkeypatch.setattr("evaluations.tasks.process_chunk", lambda *args, **kwargs: 0)
    run = start_run(candidates_csv(tmp_path, 6, name="first.csv"), owner=owner, notify_email="")
    later = start_run(candidates_csv(tmp_path, 3, seed=2, name="second.csv"), owner=owner)
    assert run.status == later.status == Run.Status.IN_PROGRESS
    client = Client()
    client.force_login(owner)

    page = _page(client, run)
    assert "Waiting for a free worker (position 1)" in page
    assert "Waiting for a free worker (position 2)" in _page(client, later)
    figures = metrics.run_progress(run)
    assert figures["queue_position"] == 1
    assert figures["eta_seconds"] is None and figures["elapsed_seconds"] == 0

    # It waited an hour for a worker; then one takes it and scores it.
    an_hour = timedelta(hours=1)
    Run.objects.filter(pk=run.pk).update(
        in_progress_at=F("in_progress_at") - an_hour, resumed_at=F("resumed_at") - an_hour
    )
    assert metrics.run_progress(Run.objects.get(pk=run.pk))["elapsed_seconds"] == 0
    ids = list(Item.objects.filter(run=run).order_by("id").values_list("id", flat=True))
    engine.process_chunk(run.pk, ids[0], ids[-1])

    run.refresh_from_db()
    assert run.status == Run.Status.COMPLETED and run.done_count == 6
    figures = metrics.run_progress(run)
    assert figures["elapsed_seconds"] < 3600  # the hour in the queue is not scoring time
    assert figures["throughput_per_sec"] >= 6 / max(figures["elapsed_seconds"], 1)
    assert "Waiting for a free worker" not in _page(client, run)
    (message,) = [m for m in mail.outbox if run.name in m.subject]
    assert "Duration: 1 h" not in message.body
    assert f"Duration: {metrics.format_duration(figures['elapsed_seconds'])}" in message.body
    # The run behind it moves up.
    assert "Waiting for a free worker (position 1)" in _page(client, later)


@pytest.mark.django_db(transaction=True)
def test_a_started_run_says_nothing_of_a_queue_when_no_other_run_holds_the_workers(
    engine_settings: Any,
    fake_ollama: FakeOllama,
    owner: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("evaluations.tasks.process_chunk", lambda *args, **kwargs: 0)
    run = start_run(candidates_csv(tmp_path, 4), owner=owner)

    assert metrics.run_progress(run)["queue_position"] is None


@pytest.mark.django_db
def test_speed_and_time_left_right_after_an_outage_leave_the_outage_out(
    engine_settings: Any, fake_ollama: FakeOllama, owner: Any, tmp_path: Path
) -> None:
    run = start_run(candidates_csv(tmp_path, 300), owner=owner, start=False)
    # 100 candidates scored at 20 a second; then the server went away for ten minutes.
    now = timezone.now()
    began, went_away = now - timedelta(seconds=605), now - timedelta(seconds=600)
    Run.objects.filter(pk=run.pk).update(
        status=Run.Status.IN_PROGRESS,
        in_progress_at=began,
        resumed_at=began,
        last_progress_at=went_away,
        done_count=100,
        outage_since=went_away,
        outage_message="Ollama is not reachable.",
    )
    items = list(Item.objects.filter(run=run).order_by("line"))
    for index, item in enumerate(items[:100]):
        Item.objects.filter(pk=item.pk).update(
            status=Item.Status.DONE, finished_at=began + timedelta(seconds=index * 0.05)
        )
    run.refresh_from_db()
    assert metrics.run_progress(run)["eta_seconds"] is None  # nothing is promised meanwhile

    # The clock stands still but for the half second moved by hand: the figures are exact,
    # whatever the machine is doing meanwhile.
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert services.runs.run_clear_outage(run=run)  # the server answers again...
        clock.shift(timedelta(seconds=0.5))
        # ...and 20 more are scored since
        Item.objects.filter(pk__in=[item.pk for item in items[100:120]]).update(
            status=Item.Status.DONE, finished_at=timezone.now()
        )
        Run.objects.filter(pk=run.pk).update(done_count=120, last_progress_at=timezone.now())
        figures = metrics.run_progress(Run.objects.get(pk=run.pk))
    since = 0.5

    # Over the time since it answered, not a window that reaches back into the outage.
    assert figures["throughput_per_sec"] == 20 / since
    assert figures["eta_seconds"] == int(180 / (20 / since))
    assert figures["elapsed_seconds"] <= 5 + since + 1
