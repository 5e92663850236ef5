"""Sign-in and web sessions: the sign-in slow-down and the idle timeout.

- `SignInHandler`: django-axes locks one account from one address after a few wrong
  passwords; on top of that, an address that failed many times across accounts may try
  only once every HRBATCH_LOGIN_SLOWDOWN_SECONDS. A guesser at one address is slowed to a
  crawl; colleagues elsewhere are not affected, and colleagues at that address (one office
  behind one router) wait seconds, never a lockout.
- `IdleTimeoutMiddleware`: a web session with no activity for HRBATCH_SESSION_IDLE_MINUTES
  is signed out on its next request. Views marked `@not_activity` (the run page's polling)
  are checked but do not count as activity.

Imported by Django once settings are loaded (AXES_HANDLER, MIDDLEWARE), never by settings.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.views import redirect_to_login
from django.db.models import Max, Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django_htmx.http import HttpResponseClientRedirect

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


# --- Web sessions: the idle timeout ------------------------------------------------------

# The time of the session's last activity (seconds since the epoch), in the session.
LAST_ACTIVITY_KEY = "hrbatch_last_activity"
# Saving the session on every request would put a database write (SQLite has one writer)
# on every page and fragment: the stamp moves only once it is this old.
ACTIVITY_GRANULARITY_SECONDS = 60

V = TypeVar("V", bound=Callable[..., HttpResponse])


def not_activity(view: V) -> V:
    """Mark a view whose requests do not count as activity (a page polling by itself):
    they are signed out when the session is idle, but never keep it alive."""
    view.counts_as_activity = False  # type: ignore[attr-defined]
    return view


class IdleTimeoutMiddleware:
    """Signs out a web session idle for longer than HRBATCH_SESSION_IDLE_MINUTES.

    Only sessions that signed in are concerned: the /v1 API authenticates every request
    with its Bearer key and has no session, so it is never affected.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        session = request.session
        if SESSION_KEY not in session:
            return None
        now = int(time.time())
        minutes = int(settings.HRBATCH_SESSION_IDLE_MINUTES)
        last = session.get(LAST_ACTIVITY_KEY)
        if minutes > 0 and isinstance(last, int) and now - last > minutes * 60:
            return self._signed_out(request, minutes)
        counts = getattr(view, "counts_as_activity", True)
        if not isinstance(last, int) or (counts and now - last >= ACTIVITY_GRANULARITY_SECONDS):
            session[LAST_ACTIVITY_KEY] = now
        return None

    def _signed_out(self, request: HttpRequest, minutes: int) -> HttpResponse | None:
        logout(request)
        messages.info(
            request,
            f"You were signed out after {minutes} minutes without activity. Sign in again "
            "to go on.",
        )
        if getattr(request, "htmx", False):
            # A fragment must not swap the sign-in page into the page that asked for it:
            # the whole page goes to the sign-in page, and back to itself after it.
            current = request.headers.get("HX-Current-URL", "")
            parts = urlsplit(current)
            back = parts.path + (f"?{parts.query}" if parts.query else "") if current else "/"
            return HttpResponseClientRedirect(redirect_to_login(back)["Location"])
        return None  # signed out: the view's own sign-in check sends them to sign in
