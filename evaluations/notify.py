"""Tell the person who started a run that it ended."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from .models import Run

log = logging.getLogger(__name__)


def run_finished(*, run: Run) -> bool:
    """Email the owner once per run, when it completed, failed or was cancelled."""
    address = run.notify_email or (run.owner.email if run.owner else "")
    if not address or run.notified_at:
        return False
    claimed = Run.objects.filter(pk=run.pk, notified_at=None).update(notified_at=timezone.now())
    if not claimed:
        return False
    elapsed = ""
    if run.in_progress_at:
        end = run.completed_at or run.cancelled_at or run.failed_at or timezone.now()
        seconds = int((end - run.in_progress_at).total_seconds())
        elapsed = f"{seconds // 3600}h {seconds % 3600 // 60:02d}m {seconds % 60:02d}s"
    link = f"{settings.SITE_URL.rstrip('/')}/runs/{run.public_id}/"
    subject = f"hrbatch: {run} {run.get_status_display().lower()}"
    body = "\n".join(
        [
            f'Your run "{run}" is {run.get_status_display().lower()}.',
            "",
            f"Scored: {run.done_count} of {run.total_count}",
            f"Failed: {run.failed_count}",
            f"Cancelled: {run.cancelled_count}",
            f"Duration: {elapsed}" if elapsed else "",
            "",
            f"See the results and download the scored CSV: {link}",
        ]
    )
    try:
        send_mail(subject, body, None, [address])
    except Exception:
        # The run's results matter more than the email; record and go on.
        log.exception("could not email %s about run %s", address, run.pk)
        return False
    return True
