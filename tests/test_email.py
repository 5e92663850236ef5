"""The "your run ended" email, sent over SMTP to a real local mail sink (aiosmtpd)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from devtools.fake_ollama import FakeOllama
from evaluations import notify, services
from evaluations.models import Run
from tests.support.files import candidates_csv, write_csv
from tests.support.mail import SmtpSink
from tests.support.runs import start_run

pytestmark = pytest.mark.django_db(transaction=True)

SITE_URL = "http://hr.example:4080"


@pytest.fixture
def smtp(settings: Any) -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.SITE_URL = SITE_URL
    yield sink
    sink.stop()


def _subject(message: EmailMessage) -> str:
    # Django folds the encoded subject onto a continuation line; the parser keeps its indent.
    return str(message["Subject"]).strip()


def _body(message: EmailMessage) -> str:
    return message.get_content()  # type: ignore[no-any-return]


def test_a_completed_run_emails_its_owner_once_with_counts_duration_and_link(
    smtp: SmtpSink, owner: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    # One candidate is too long for the context window: it fails, the others are scored.
    engine_settings.HRBATCH = {**engine_settings.HRBATCH, "MAX_NUM_CTX": 2048}
    rows = [
        {
            "id": f"c{i}",
            "position": "Data Analyst",
            "cover_note": "I like data. " * (2000 if i == 5 else 3),
        }
        for i in range(12)
    ]
    run = start_run(write_csv(tmp_path / "pool.csv", rows), owner=owner)
    assert (run.status, run.done_count, run.failed_count) == (Run.Status.COMPLETED, 11, 1)

    assert len(smtp.received) == 1
    recipients, message = smtp.received[0]
    assert recipients == ["olivia@example.com"] and message["To"] == "olivia@example.com"
    assert _subject(message) == 'hrbatch: "pool.csv" finished — 11 scored, 1 failed'
    body = _body(message)
    assert "Status: Finished" in body
    assert "Scored: 11 of 12" in body and "Failed: 1 of 12" in body
    assert "Cancelled: 0 of 12" in body
    assert "Duration: " in body
    assert f"{SITE_URL}/runs/{run.public_id}/" in body
    assert run.notified_at is not None

    # Finalising again (a redelivered task, the sweep) sends nothing more.
    assert services.runs.run_finalize_if_done(run_id=run.pk) is False
    assert notify.run_finished(run=Run.objects.get(pk=run.pk)) is False
    assert len(smtp.received) == 1


def test_the_duration_is_from_start_to_end_and_the_notify_address_wins(
    smtp: SmtpSink, owner: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    engine_settings.HRBATCH_NOTIFY_DOMAINS = ["example.com"]  # a team address of the company
    run = start_run(candidates_csv(tmp_path, 3), owner=owner, notify_email="hr-team@example.com")
    assert [r for r, _ in smtp.received] == [["hr-team@example.com"]]

    end = timezone.now()
    Run.objects.filter(pk=run.pk).update(
        in_progress_at=end - timedelta(hours=20, minutes=3, seconds=7),
        completed_at=end,
        notified_at=None,
    )
    assert notify.run_finished(run=Run.objects.get(pk=run.pk)) is True

    assert "Duration: 20 h 03 min" in _body(smtp.messages[-1])


def test_a_file_that_fails_validation_emails_the_reason(
    smtp: SmtpSink, owner: Any, engine_settings: Any, tmp_path: Path
) -> None:
    rows = [{"id": "a1", "skills": "Python"}, {"id": "a1", "skills": "Go"}]
    run = start_run(write_csv(tmp_path / "dupes.csv", rows), owner=owner)
    assert run.status == Run.Status.FAILED and run.status_message

    assert len(smtp.received) == 1
    recipients, message = smtp.received[0]
    assert recipients == ["olivia@example.com"]
    assert _subject(message).startswith('hrbatch: "dupes.csv" failed — ')
    body = _body(message)
    assert "Status: Failed" in body
    assert f"Reason: {run.status_message}" in body
    assert "  - Row 3 has the same ID 'a1' as row 2." in body  # where to fix the file
    assert "Scored:" not in body and "none were read from the file" in body
    assert f"{SITE_URL}/runs/{run.public_id}/" in body
    assert Run.objects.get(pk=run.pk).notified_at is not None


def test_a_cancelled_run_emails_its_counts(
    smtp: SmtpSink, owner: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    run = start_run(candidates_csv(tmp_path, 5, name="pool.csv"), owner=owner, start=False)
    assert smtp.received == []

    assert services.run_cancel(run=run)

    assert len(smtp.received) == 1
    message = smtp.messages[0]
    assert _subject(message) == 'hrbatch: "pool.csv" cancelled — 0 scored, 0 failed, 5 cancelled'
    body = _body(message)
    assert "Status: Cancelled" in body and "Cancelled: 5 of 5" in body
    assert f"{SITE_URL}/runs/{run.public_id}/" in body


def test_no_address_means_no_email(
    smtp: SmtpSink, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    run = start_run(candidates_csv(tmp_path, 2))  # no owner, no notify address

    assert run.status == Run.Status.COMPLETED
    assert smtp.received == [] and run.notified_at is None


def test_a_mail_server_that_is_down_does_not_fail_the_run_and_is_retried_later(
    smtp: SmtpSink,
    owner: Any,
    engine_settings: Any,
    fake_ollama: FakeOllama,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    smtp.stop()

    run = start_run(candidates_csv(tmp_path, 4, name="pool.csv"), owner=owner)

    assert run.status == Run.Status.COMPLETED and run.done_count == 4
    assert run.notified_at is None
    assert "could not email olivia@example.com" in caplog.text
    assert notify.run_finished(run=run) is False  # still down: no exception either

    smtp.start()
    services.sweep()  # the periodic sweep tries unsent e-mails again

    assert [r for r, _ in smtp.received] == [["olivia@example.com"]]
    assert _subject(smtp.messages[0]) == 'hrbatch: "pool.csv" finished — 4 scored, 0 failed'
    assert Run.objects.get(pk=run.pk).notified_at is not None
    assert notify.run_finished(run=Run.objects.get(pk=run.pk)) is False
    assert len(smtp.received) == 1


def test_the_subject_names_the_run_by_the_name_it_was_given(
    smtp: SmtpSink, owner: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    run = start_run(candidates_csv(tmp_path, 3, name="pool.csv"), owner=owner, start=False)
    services.run_rename(run=run, name="March intake\n(data team)")  # one line, always
    services.runs.run_start(run=Run.objects.get(pk=run.pk))

    assert _subject(smtp.messages[-1]) == (
        'hrbatch: "March intake (data team)" finished — 3 scored, 0 failed'
    )
    assert 'Your run "March intake (data team)" has ended.' in _body(smtp.messages[-1])
