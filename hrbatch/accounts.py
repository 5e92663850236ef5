"""Sign-in: the per-address slow-down on top of django-axes' lockout.

- `SignInHandler`: django-axes locks one account from one address after a few wrong
  passwords; on top of that, an address that failed many times across accounts may try
  only once every HRBATCH_LOGIN_SLOWDOWN_SECONDS. A guesser at one address is slowed to a
  crawl; colleagues elsewhere are not affected, and colleagues at that address (one office
  behind one router) wait seconds, never a lockout.

Imported by Django once settings are loaded (AXES_HANDLER), never by settings.
"""

from __future__ import annotations

import math
from datetime import timedelta

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.db.models import Max, Sum
from django.http import HttpRequest
from django.utils import timezone

from hrbatch.security import client_ip

# --- Sign-in: the per-address slow-down ------------------------------------------------------


def address_wait_seconds(ip: str | None) -> int:
    """How long the address must wait before its next sign-in try (0: it may try now).

    Counted from django-axes' own records of failures (every account, every user agent)
    within the lockout window; the wait runs from the address's last failure.
    """
    from axes.models import AccessAttempt

    limit = int(settings.HRBATCH_LOGIN_FAILURES_PER_ADDRESS)
    if not ip or limit <= 0:
        return 0
    now = timezone.now()
    recent = AccessAttempt.objects.filter(
        ip_address=ip, attempt_time__gte=now - settings.AXES_COOLOFF_TIME
    ).aggregate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
    if (recent["failures"] or 0) < limit or recent["last"] is None:
        return 0
    pace = timedelta(seconds=int(settings.HRBATCH_LOGIN_SLOWDOWN_SECONDS))
    return max(0, math.ceil((recent["last"] + pace - now).total_seconds()))


class SignInHandler(AxesDatabaseHandler):
    """django-axes' database handler, with the per-address slow-down as one more lock.

    Refused tries are not recorded (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT is off),
    so waiting the stated time is always enough.
    """

    def is_locked(self, request: HttpRequest, credentials: dict | None = None) -> bool:
        request.signin_wait_seconds = 0  # type: ignore[attr-defined]
        if super().is_locked(request, credentials):
            return True  # this account from this address: the lockout page says so
        ip = getattr(request, "axes_ip_address", None) or client_ip(request)
        wait = address_wait_seconds(ip)
        request.signin_wait_seconds = wait  # type: ignore[attr-defined]
        return wait > 0
