"""Sign-in, password reset and web sessions: the throttles and the idle timeout.

- `SignInHandler`: django-axes locks one account from one address after a few wrong
  passwords; on top of that, an address that failed many times across accounts may try
  only once every HRBATCH_LOGIN_SLOWDOWN_SECONDS. A guesser at one address is slowed to a
  crawl; colleagues elsewhere are not affected, and colleagues at that address (one office
  behind one router) wait seconds, never a lockout.
- `password_reset_allowed`: at most a few reset e-mails an hour for one e-mail address and
  from one network address, counted whether or not an account has that e-mail, so the
  answer says nothing about which accounts exist.
- `IdleTimeoutMiddleware`: a web session with no activity for HRBATCH_SESSION_IDLE_MINUTES
  is signed out on its next request. Views marked `@not_activity` (the run page's polling)
  are checked but do not count as activity.

Imported by Django once settings are loaded (AXES_HANDLER, MIDDLEWARE), never by settings.
"""

from __future__ import annotations

import hashlib
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
from django.core.cache import cache
from django.db.models import Max, Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django_htmx.http import HttpResponseClientRedirect

from evaluations.locks import data_dir_lock
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


# --- Password reset: how many e-mails ------------------------------------------------------

RESET_WINDOW_SECONDS = 3600


def _counted(key: str, *, limit: int, window: int) -> bool:
    """Count one more event under `key` unless `limit` were counted in the last `window`
    seconds; True when it was counted (allowed).

    A sliding log in Django's cache (shared by this machine's processes); the file lock
    makes the read-then-write one step, so two requests at once cannot both take the last
    place. A refused event is not counted: asking again does not push the wait further.
    """
    digest = hashlib.sha256(key.encode()).hexdigest()
    cache_key = f"hrbatch:throttle:{digest}"
    with data_dir_lock("throttle"):
        now = time.time()
        stamps = [t for t in cache.get(cache_key, []) if t > now - window]
        if len(stamps) >= limit:
            return False
        cache.set(cache_key, [*stamps, now], timeout=window)
        return True


def password_reset_allowed(request: HttpRequest, email: str) -> bool:
    """Whether one more reset e-mail may be sent for `email` to this requester.

    Counted per requesting address first, then per e-mail address (case aside), whether
    or not an account has it: refusing only for real accounts would tell who has one.
    """
    window = RESET_WINDOW_SECONDS
    by_address = _counted(
        f"reset-from:{client_ip(request)}",
        limit=int(settings.HRBATCH_PASSWORD_RESETS_PER_ADDRESS),
        window=window,
    )
    return by_address and _counted(
        f"reset-for:{email.strip().lower()}",
        limit=int(settings.HRBATCH_PASSWORD_RESETS_PER_ACCOUNT),
        window=window,
    )


def reset_mail_possible() -> bool:
    """A reset e-mail can reach the person: a mail server is set (EMAIL_HOST).

    Without one Django's console backend would print the reset link, a key to the
    account, to the server's output and logs; that is allowed only with DEBUG on (a
    developer's machine).
    """
    console = settings.EMAIL_BACKEND == "django.core.mail.backends.console.EmailBackend"
    return not console or settings.DEBUG


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
