"""Tell the person who started a run that it ended; who may be told (HRBATCH_NOTIFY_DOMAINS)."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import get_connection, send_mail
from django.utils import timezone

from . import metrics
from .models import Run

log = logging.getLogger(__name__)

# A mail server that accepts the connection and then says nothing must not hold a worker.
SMTP_TIMEOUT_SECONDS = 30
# Enough of the file's problems to start fixing it; the run page lists them all.
ERRORS_LISTED = 5


def run_finished(*, run: Run) -> bool:
    """Email the owner once per run, when it completed, failed or was cancelled.

    Returns whether this call sent the email. A send that fails is logged, never raised,
    and leaves `notified_at` empty so that a later call can try again.
    """
    address = recipient(run)
    if not address or run.notified_at or not run.is_terminal:
        return False
    # Claim before sending: of two workers finishing the same run, only one emails.
    claimed_at = timezone.now()
    if not Run.objects.filter(pk=run.pk, notified_at=None).update(notified_at=claimed_at):
        return False
    subject, body = message(run)
    timeout = getattr(settings, "EMAIL_TIMEOUT", None) or SMTP_TIMEOUT_SECONDS
    try:
        send_mail(subject, body, None, [address], connection=get_connection(timeout=timeout))
    except Exception:
        # The run's results matter more than the email: record it, release the claim so a
        # later call can send it, and go on.
        log.exception("could not email %s about run %s", address, run.pk)
        Run.objects.filter(pk=run.pk, notified_at=claimed_at).update(notified_at=None)
        return False
    run.notified_at = claimed_at
    return True


def recipient(run: Run) -> str:
    """The run's notify address, else its owner's email ("" when there is neither).

    A notify address the rules no longer allow (a run made before them, or since the
    domains changed) is not mailed: the owner is, and the log says why.
    """
    own = run.owner.email if run.owner else ""
    if run.notify_email and address_refusal(run.notify_email, owner=run.owner):
        log.warning(
            "run %s: not e-mailing %s, which HRBATCH_NOTIFY_DOMAINS does not allow; "
            "e-mailing the run's owner instead",
            run.pk,
            run.notify_email,
        )
        return own
    return run.notify_email or own


# --- Who may be told -------------------------------------------------------------------------


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].strip().lower()


def address_allowed(address: str, *, own: list[str], domains: list[str]) -> bool:
    """Pure policy: an address is one of `own` (case aside) or at one of `domains`."""
    wanted = address.strip().lower()
    return wanted in {a.strip().lower() for a in own if a} or domain_of(wanted) in domains


def address_refusal(address: str, *, owner: Any) -> str:
    """Why a run of `owner` may not e-mail `address` ("" when it may).

    A person's run may tell their own address or one at a domain of
    HRBATCH_NOTIFY_DOMAINS: any other would carry run and rubric names out of the
    company. A run with no owner (started by `evaluate` on the server) may tell the
    address of any active hrbatch account, or one at those domains.
    """
    if not address:
        return ""
    domains = list(settings.HRBATCH_NOTIFY_DOMAINS)
    if owner is not None:
        own = [owner.email]
    else:
        own = list(
            get_user_model()
            .objects.filter(is_active=True, email__iexact=address.strip())
            .values_list("email", flat=True)
        )
    if address_allowed(address, own=own, domains=domains):
        return ""
    listed = ", ".join(domains) if domains else "none is listed"
    domain = domain_of(address) or "its domain"
    if owner is None:
        return (
            f"hrbatch e-mails only the address of one of its accounts or an address at a "
            f"domain listed in HRBATCH_NOTIFY_DOMAINS ({listed}), not {address}. To allow it, "
            f"add {domain} to HRBATCH_NOTIFY_DOMAINS."
        )
    mine = f"your own address ({owner.email})" if owner.email else "your own address"
    also = f" or an address at {', '.join(domains)}" if domains else ""
    return (
        f"A run can e-mail only {mine}{also}, not {address}. To have it e-mailed there, "
        f"ask your hrbatch administrator to allow {domain} (HRBATCH_NOTIFY_DOMAINS)."
    )


def message(run: Run) -> tuple[str, str]:
    """The subject and plain-text body of the email about a run that ended."""
    name = _one_line(str(run))
    failed = run.status == Run.Status.FAILED
    label = run.status_label.lower()
    summary = f"{run.done_count} scored, {run.failed_count} failed"
    if run.cancelled_count:
        summary += f", {run.cancelled_count} cancelled"
    if run.skipped_count:
        summary += f", {run.skipped_count} not scored (too little text)"
    reason = _one_line(run.status_message)
    if failed and reason:  # the counts of a run that failed say nothing; the reason does
        summary = reason if len(reason) <= 100 else reason[:99] + "…"
    subject = f'hrbatch: "{name}" {label} — {summary}'

    lines = [f'Your run "{name}" has ended.', "", f"Status: {run.status_label}"]
    if failed and not run.total_count:
        lines.append("Candidates: none were read from the file.")
    else:
        lines += [
            f"Scored: {run.done_count} of {run.total_count}",
            f"Failed: {run.failed_count} of {run.total_count}",
            f"Cancelled: {run.cancelled_count} of {run.total_count}",
        ]
        if run.skipped_count:
            lines.append(
                f"Not scored, too little text to read: {run.skipped_count} of {run.total_count}"
            )
    lines.append(f"Duration: {metrics.format_duration(metrics.elapsed_seconds(run))}")
    if failed:
        lines.append(f"Reason: {run.status_message or 'not recorded'}")
        listed = [e for e in run.errors[:ERRORS_LISTED] if e.get("message")]
        for error in listed:
            text = error["message"]
            if error.get("line") and "row" not in text.lower():
                text = f"Row {error['line']}: {text}"
            lines.append(f"  - {text}")
        if len(run.errors) > len(listed):
            lines.append(f"  … and {len(run.errors) - len(listed)} more on the run page.")
    elif run.status_message:
        lines.append(f"Note: {run.status_message}")
    if run.model:
        lines.append(f"Model: {run.model}")
    if run.rubric_id:
        lines.append(f"Rubric: {run.rubric}")
    link = f"{settings.SITE_URL.rstrip('/')}/runs/{run.public_id}/"
    see = "See the run:" if failed else "See the results and download the scored CSV:"
    lines += ["", see, link, ""]
    return subject, "\n".join(lines)


def _one_line(text: str) -> str:
    """Header-safe: an email subject may not contain a line break."""
    return " ".join(text.split())
