"""The addresses hrbatch answers on and links to, and the request facts security relies on.

Settings derive ALLOWED_HOSTS and the e-mailed links' SITE_URL from here, `serve` aligns
them with the host and port it actually listens on, and django-axes asks `client_ip`
who is signing in. Nothing here reads Django settings at import time.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.core import checks

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

# Names that always reach this machine only: answered whatever SITE_URL says, so that
# `curl http://127.0.0.1:4080/healthz` and a browser on the server itself keep working.
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")
ANY_INTERFACE = ("0.0.0.0", "::", "")
DEVELOPMENT_KEY_PREFIX = "hrbatch-insecure-"


def site_url_for(host: str, port: int | str) -> str:
    """The address people reach `serve --host HOST --port PORT` on.

    Listening on every interface (0.0.0.0) names no address: the machine's own name is
    the best guess, and SITE_URL says better when people reach it by another name.
    """
    if host in ANY_INTERFACE:
        host = socket.getfqdn()
    return f"http://{_bracketed(host)}:{port}"


def _bracketed(host: str) -> str:
    """An IPv6 literal as URLs and ALLOWED_HOSTS spell it: [::1]."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def url_host(url: str) -> str:
    return _bracketed(urlsplit(url).hostname or "")


def allowed_hosts_for(site_url: str, listen_host: str = "127.0.0.1") -> list[str]:
    """SITE_URL's host, the address `serve` listens on, and this machine's own names: a
    request naming any other host is refused (400), so no page or link is ever built
    from a forged Host header.

    Listening on every interface (HOST=0.0.0.0), colleagues reach the machine by its
    name or any of its addresses: those are this machine, so answering them is safe.
    """
    hosts = [url_host(site_url), *LOCAL_HOSTS]
    if listen_host in ANY_INTERFACE:
        hosts += [socket.gethostname(), socket.getfqdn(), *_machine_addresses()]
    else:
        hosts.append(_bracketed(listen_host))
    return list(dict.fromkeys(h for h in hosts if h))


def _machine_addresses() -> list[str]:
    import psutil

    found = []
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family == socket.AF_INET:
                found.append(address.address)
            elif address.family == socket.AF_INET6:
                found.append(f"[{address.address.split('%')[0]}]")
    return found


def is_loopback(host: str) -> bool:
    """Whether listening on `host` reaches this machine only (127.0.0.1, ::1, localhost)."""
    host = host.strip().strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def public_key_refusal(host: str, secret_key: str) -> str:
    """Why a server must not listen on `host` with this SECRET_KEY ("" when it may).

    The built-in development key is public: on any address other people can reach, they
    could forge sign-in sessions and password-reset links with it.
    """
    if is_loopback(host) or not secret_key.startswith(DEVELOPMENT_KEY_PREFIX):
        return ""
    return (
        f"Not starting: listening on {host or 'every address'} with hrbatch's built-in "
        "development SECRET_KEY, which is public (anyone could forge sign-ins and "
        "password-reset links with it). Set SECRET_KEY to a long random value, the same "
        "on every machine, e.g. the output of: python -c 'import secrets; "
        "print(secrets.token_urlsafe(50))'; or listen on 127.0.0.1 only."
    )


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def client_ip(request: HttpRequest) -> str | None:
    """Who is signing in, for django-axes' lockout.

    Behind a proxy (HRBATCH_BEHIND_PROXY) every request comes from the proxy, so the
    address is the last one in X-Forwarded-For: the one our proxy appended, which the
    client cannot forge (the entries before it are whatever the client sent). Without a
    proxy, X-Forwarded-For is ignored: anyone could send one to dodge the lockout.
    """
    from django.conf import settings

    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if settings.HRBATCH_BEHIND_PROXY and forwarded:
        return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR")


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """The sign-in page again, saying in plain words why it refuses and for how long
    (django-axes' AXES_LOCKOUT_CALLABLE): this account from this address, or this address
    slowed down after failing on many accounts (hrbatch.accounts.SignInHandler)."""
    from django.conf import settings
    from django.contrib.auth.forms import AuthenticationForm
    from django.shortcuts import render

    context: dict[str, object] = {"form": AuthenticationForm(request)}
    wait = int(getattr(request, "signin_wait_seconds", 0) or 0)
    if wait:
        context["wait_seconds"] = wait
        context["slowdown_seconds"] = settings.HRBATCH_LOGIN_SLOWDOWN_SECONDS
        seconds = wait
    else:
        context["locked_minutes"] = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
        seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    response = render(request, "registration/login.html", context, status=429)
    response["Retry-After"] = str(max(1, seconds))
    return response


class WithoutTraceback(logging.Filter):
    """Keeps a record's message, drops its traceback: a refused Host (a scanner, or a
    name missing from ALLOWED_HOSTS) is one line worth reading, not fifteen that push
    real errors out of the rotating log."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        return True


@checks.register(checks.Tags.security, deploy=True)
def check_secret_key(**kwargs: object) -> list[checks.CheckMessage]:
    """Django's own check accepts the built-in key (it is long and varied), but it is
    public: anyone could forge sessions and password-reset links with it."""
    from django.conf import settings

    if str(settings.SECRET_KEY).startswith(DEVELOPMENT_KEY_PREFIX):
        return [
            checks.Warning(
                "SECRET_KEY is hrbatch's built-in development key, which is public.",
                hint="Set SECRET_KEY to a long random value, the same on every machine.",
                id="hrbatch.W001",
            )
        ]
    return []
