"""Accounts: who a run may e-mail, password resets, sign-in throttling per address, idle
sessions and password length (issue 17, items 8-11, and the sign-in log of item 12).

Settings are tested the way people set them (environment variables for `manage.py` in a
subprocess); mail goes to a real SMTP server on 127.0.0.1 (tests/support/mail.py).
"""

from __future__ import annotations

import logging
import re
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.db.models import F
from django.test import Client
from django.urls import reverse

from devtools import live
from devtools.fake_ollama import FakeOllama
from evaluations import services
from evaluations.models import File, Run
from hrbatch.accounts import LAST_ACTIVITY_KEY
from tests.support.files import candidates_csv
from tests.support.mail import SmtpSink
from tests.support.runs import start_run

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def smtp(settings: Any) -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield sink
    sink.stop()


def _env(data: Path, fake: FakeOllama, **extra: str) -> dict[str, str]:
    env = live.app_env(data, fake, **extra)
    for name in ("SITE_URL", "HOST", "PORT", "ALLOWED_HOSTS", "SECRET_KEY", "DEBUG", "EMAIL_HOST"):
        if name not in extra:
            env.pop(name, None)
    return env


def _page(response: Any, address: str = "") -> str:
    """A page's text without its CSRF tokens (new ones per request) and without the
    address it was asked about."""
    text = re.sub(r"\b[A-Za-z0-9]{64}\b", "TOKEN", response.content.decode())
    return text.replace(address, "ADDRESS") if address else text


# --- 8. who a run may e-mail -----------------------------------------------------------------


def _prepare_form(file: File, **extra: Any) -> dict[str, Any]:
    header = ["id", "name", "email", "skills", "experience"]
    roles = services.default_roles(header, "id")
    form = {
        "id_column": "id",
        "rubric": services.rubric_default().pk,
        "model": "gemma3:12b",
        **{f"role_{i}": roles[column] for i, column in enumerate(header)},
    }
    form.update(extra)
    return form


def test_the_web_form_emails_only_the_persons_own_address_or_a_listed_domain(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path, settings: Any
) -> None:
    client = Client()
    client.force_login(owner)
    source = candidates_csv(tmp_path, 3)
    upload = client.post(reverse("web:upload"), {"file": source.open("rb")})
    file = File.objects.get(owner=owner)
    assert upload["Location"] == reverse("web:prepare", args=[file.id])
    prepare = reverse("web:prepare", args=[file.id])

    refused = client.post(prepare, _prepare_form(file, notify_email="me@gmail.com"))
    assert refused.status_code == 400  # the form again, its error by the field
    page = refused.content.decode()
    assert "A run can e-mail only your own address (olivia@example.com), not me@gmail.com" in page
    assert "ask your hrbatch administrator to allow gmail.com" in page
    assert not Run.objects.exists()

    # A colleague's address is not one's own either, unless the domain is listed.
    colleague = client.post(prepare, _prepare_form(file, notify_email="colin@example.com"))
    assert "A run can e-mail only your own address" in colleague.content.decode()
    assert not Run.objects.exists()

    settings.HRBATCH_NOTIFY_DOMAINS = ["example.com"]
    assert "Your own address or one at example.com" in client.get(prepare).content.decode()
    started = client.post(prepare, _prepare_form(file, notify_email="HR-team@Example.com"))
    assert started.status_code == 302, started.context["form"].errors
    assert Run.objects.get().notify_email == "HR-team@Example.com"


def test_evaluate_refuses_an_outside_address_unless_its_domain_is_listed(
    tmp_path: Path, fake_ollama: FakeOllama
) -> None:
    source = candidates_csv(tmp_path, 3)
    env = _env(tmp_path / "data", fake_ollama)
    command = [*live.MANAGE, "evaluate", str(source), "--out", str(tmp_path / "out.csv")]

    refused = subprocess.run(
        [*command, "--notify", "someone@gmail.com"],
        cwd=live.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "--notify: hrbatch e-mails only the address of one of its accounts" in refused.stderr
    assert "add gmail.com to HRBATCH_NOTIFY_DOMAINS" in refused.stderr
    assert not (tmp_path / "out.csv").exists()
    runs = "from evaluations.models import Run; print(Run.objects.count())"
    assert live.manage(env, "shell", "-v", "0", "-c", runs).stdout.strip() == "0"

    # The address of an hrbatch account, or any at a listed domain, is fine.
    live.manage(
        env,
        "shell",
        "-c",
        "from django.contrib.auth.models import User; "
        "User.objects.create_user('hana', 'hana@corp.example', 'a-long-pass-phrase-2026')",
    )
    for address, extra in (
        ("Hana@corp.example", {}),
        ("recruiting@partner.example", {"HRBATCH_NOTIFY_DOMAINS": "partner.example"}),
    ):
        done = subprocess.run(
            [*command, "--fresh", "--notify", address],
            cwd=live.ROOT,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    shown = live.manage(
        env,
        "shell",
        "-v",
        "0",
        "-c",
        "from evaluations.models import Run; "
        "print(sorted(Run.objects.values_list('notify_email', flat=True)))",
    )
    assert shown.stdout.strip() == "['Hana@corp.example', 'recruiting@partner.example']"


def test_an_outside_address_kept_from_before_is_neither_mailed_nor_copied_by_a_rerun(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path, smtp: SmtpSink
) -> None:
    # A run made before the rule, its address set as it was then.
    run = start_run(candidates_csv(tmp_path, 3), owner=owner, start=False)
    Run.objects.filter(pk=run.pk).update(notify_email="me@gmail.com")
    run.refresh_from_db()
    services.runs.run_start(run=run)
    assert [recipients for recipients, _ in smtp.received] == [["olivia@example.com"]]

    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-12345-xyz")
    staff = Client()
    staff.force_login(admin)
    staff.post(
        "/admin/evaluations/run/",
        {
            "action": "rerun",
            "_selected_action": [run.pk],
            "apply": "Start",
            "rubric": "used",
            "model": "",
        },
    )
    rerun = Run.objects.get(rerun_of=run)
    assert rerun.notify_email == ""
    assert [recipients for recipients, _ in smtp.received][-1] == ["olivia@example.com"]


# --- 9. password reset --------------------------------------------------------------------


def _ask_reset(client: Client, email: str) -> Any:
    return client.post("/accounts/password_reset/", {"email": email})


def test_password_resets_are_limited_per_account_and_say_nothing_of_who_has_one(
    owner: Any, smtp: SmtpSink
) -> None:
    person = Client(REMOTE_ADDR="10.1.0.1")
    for _ in range(3):
        response = _ask_reset(person, "olivia@example.com")
        assert response.status_code == 302
        assert response["Location"] == "/accounts/password_reset/done/"
    assert len(smtp.messages) == 3

    fourth = _ask_reset(person, "olivia@example.com")
    fifth = _ask_reset(person, "Olivia@Example.com")  # case aside, the same address
    assert len(smtp.messages) == 3  # nothing more sent
    assert fourth.status_code == fifth.status_code == 429
    assert "Too many reset e-mails were asked for" in _page(fourth)

    # Someone with no account gets exactly the same answers.
    for _ in range(3):
        assert _ask_reset(person, "nobody@example.com")["Location"] == (
            "/accounts/password_reset/done/"
        )
    unknown = _ask_reset(person, "nobody@example.com")
    assert unknown.status_code == fourth.status_code
    assert _page(unknown, "nobody@example.com") == _page(fourth, "olivia@example.com")
    assert len(smtp.messages) == 3


def test_password_resets_are_limited_per_requesting_address(
    owner: Any, colleague: Any, smtp: SmtpSink, settings: Any
) -> None:
    settings.HRBATCH_PASSWORD_RESETS_PER_ADDRESS = 5
    sprayer = Client(REMOTE_ADDR="10.1.0.9")
    for n in range(4):
        assert _ask_reset(sprayer, f"guess{n}@example.com").status_code == 302
    assert _ask_reset(sprayer, "olivia@example.com").status_code == 302
    refused = _ask_reset(sprayer, "colin@example.com")
    assert refused.status_code == 429 and "Too many reset e-mails" in _page(refused)
    assert [r for r, _ in smtp.received] == [["olivia@example.com"]]

    # Colin, at his own desk, is not affected.
    assert _ask_reset(Client(REMOTE_ADDR="10.1.0.2"), "colin@example.com").status_code == 302
    assert [r for r, _ in smtp.received][-1] == ["colin@example.com"]


def test_with_no_mail_server_the_reset_page_says_so_and_prints_no_link(
    tmp_path: Path, fake_ollama: FakeOllama
) -> None:
    env = _env(tmp_path / "data", fake_ollama)  # no EMAIL_HOST, no DEBUG: production
    live.manage(env, "migrate", "-v", "0")
    live.manage(
        env,
        "shell",
        "-c",
        "from django.contrib.auth.models import User; "
        "User.objects.create_user('olivia', 'olivia@example.com', 'a-long-pass-phrase-2026')",
    )
    ask = (
        "from django.test import Client; c = Client(HTTP_HOST='127.0.0.1'); "
        "page = c.get('/accounts/password_reset/').content.decode(); "
        "r = c.post('/accounts/password_reset/', {'email': 'olivia@example.com'}); "
        "print('SAYS-SO' if 'cannot send e-mail' in page else 'SILENT', r.status_code)"
    )
    shown = live.manage(env, "shell", "-v", "0", "-c", ask)
    assert shown.stdout.strip() == "SAYS-SO 503"  # and the console e-mail printed nothing
    assert "/accounts/reset/" not in shown.stdout + shown.stderr

    # A developer's machine (DEBUG on) may still print the link to its own console.
    debug = live.manage({**env, "DEBUG": "1"}, "shell", "-v", "0", "-c", ask)
    assert "/accounts/reset/" in debug.stdout and "SILENT 302" in debug.stdout


# --- 10. sign-in: the per-address slow-down ------------------------------------------------


def _sign_in(client: Client, username: str, password: str) -> Any:
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_many_failures_from_one_address_slow_it_down_without_locking_colleagues_out(
    owner: Any, colleague: Any, outsider: Any, settings: Any
) -> None:
    settings.HRBATCH_LOGIN_FAILURES_PER_ADDRESS = 6
    guesser = Client(REMOTE_ADDR="10.2.0.9")
    # Two wrong passwords on each of three accounts: below the per-account lockout (5).
    for name in ("olivia", "colin", "oscar"):
        for _ in range(2):
            assert _sign_in(guesser, name, "guess").status_code == 200

    # The address now waits between tries, whichever account, the right password too.
    slowed = _sign_in(Client(REMOTE_ADDR="10.2.0.9"), "colin", "colleague-pass-123")
    assert slowed.status_code == 429
    text = slowed.content.decode()
    assert "Too many failed sign-ins from this network address" in text
    assert "only once every 60 seconds" in text
    wait = int(slowed["Retry-After"])
    assert 0 < wait <= 60 and f"try again in {wait} second" in text

    # A colleague at another address is not affected.
    elsewhere = Client(REMOTE_ADDR="10.2.0.7")
    assert _sign_in(elsewhere, "colin", "colleague-pass-123").status_code == 302

    # Once the wait is over (the last failure a minute ago), the address may try again,
    # one try at a time: a wrong one makes it wait again.
    _minute_passes("10.2.0.9")
    assert _sign_in(guesser, "oscar", "guess").status_code == 200
    assert _sign_in(guesser, "oscar", "outsider-pass-123").status_code == 429
    # A colleague in the same office waits a minute at most, and is never locked out.
    _minute_passes("10.2.0.9")
    same_office = Client(REMOTE_ADDR="10.2.0.9")
    assert _sign_in(same_office, "colin", "colleague-pass-123").status_code == 302


def _minute_passes(ip: str) -> None:
    """As if the address's failures were a minute older (not a sleep)."""
    AccessAttempt.objects.filter(ip_address=ip).update(
        attempt_time=F("attempt_time") - timedelta(seconds=61)
    )


def test_the_sign_in_log_names_the_account_and_the_address(
    owner: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="axes"):
        _sign_in(Client(REMOTE_ADDR="10.3.0.4"), "olivia", "guess")
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("axes"))
    assert 'username: "olivia"' in logged and 'ip_address: "10.3.0.4"' in logged
    assert "guess" not in logged  # the password stays masked


def test_the_sign_in_settings_are_set_by_environment_variables(
    tmp_path: Path, fake_ollama: FakeOllama
) -> None:
    env = _env(
        tmp_path / "data",
        fake_ollama,
        HRBATCH_LOGIN_FAILURES_PER_ADDRESS="40",
        HRBATCH_LOGIN_SLOWDOWN_SECONDS="90",
        HRBATCH_SESSION_IDLE_MINUTES="10",
        HRBATCH_PASSWORD_RESETS_PER_ACCOUNT="2",
        HRBATCH_PASSWORD_RESETS_PER_ADDRESS="6",
        HRBATCH_NOTIFY_DOMAINS="Example.com, @partner.example",
    )
    code = (
        "from django.conf import settings as s; print(s.HRBATCH_LOGIN_FAILURES_PER_ADDRESS, "
        "s.HRBATCH_LOGIN_SLOWDOWN_SECONDS, s.HRBATCH_SESSION_IDLE_MINUTES, "
        "s.HRBATCH_PASSWORD_RESETS_PER_ACCOUNT, s.HRBATCH_PASSWORD_RESETS_PER_ADDRESS, "
        "s.HRBATCH_NOTIFY_DOMAINS)"
    )
    shown = live.manage(env, "shell", "-v", "0", "-c", code).stdout.strip()
    assert shown == "40 90 10 2 6 ['example.com', 'partner.example']"
    defaults = live.manage(_env(tmp_path / "data", fake_ollama), "shell", "-v", "0", "-c", code)
    assert defaults.stdout.strip() == "20 60 30 3 10 []"


# --- 11. idle sessions and password length -------------------------------------------------


def _idle_for(client: Client, minutes: float) -> None:
    """As if the session's last activity was `minutes` ago: its stored time moves back."""
    session = client.session
    session[LAST_ACTIVITY_KEY] = int(time.time() - minutes * 60)
    session.save()


def _last_activity_age(client: Client) -> float:
    return time.time() - client.session[LAST_ACTIVITY_KEY]


def test_a_web_session_idle_for_longer_than_the_timeout_is_signed_out(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    run = start_run(candidates_csv(tmp_path, 3), owner=owner)
    person = Client()
    assert _sign_in(person, "olivia", "owner-pass-123").status_code == 302
    assert person.get("/").status_code == 200

    # Activity keeps the session: 29 minutes idle, then a page.
    _idle_for(person, 29)
    assert person.get("/").status_code == 200
    assert _last_activity_age(person) < 5  # the page refreshed it

    # 31 minutes idle: the next request signs out and asks to sign in again.
    _idle_for(person, 31)
    response = person.get(reverse("web:run", args=[run.public_id]))
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next=/runs/{run.public_id}/"
    assert "_auth_user_id" not in person.session
    page = person.get(response["Location"]).content.decode()
    assert "You were signed out after 30 minutes without activity" in page

    # The API's keys have no session, so no idle timeout: a nightly script goes on.
    _, key = services.api_key_create(owner=owner, name="nightly import")
    api = Client(headers={"Authorization": f"Bearer {key}"})
    assert api.get("/v1/files").status_code == 200
    assert "_auth_user_id" not in api.session and LAST_ACTIVITY_KEY not in api.session


def test_the_run_pages_polling_does_not_keep_an_idle_session_alive(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    run = start_run(candidates_csv(tmp_path, 3), owner=owner)
    progress = reverse("web:run_progress", args=[run.public_id])
    page_url = f"http://testserver/runs/{run.public_id}/"
    polling = {"HX-Request": "true", "HX-Current-URL": page_url}
    person = Client(headers=polling)
    assert _sign_in(person, "olivia", "owner-pass-123").status_code == 302
    assert person.get(progress).status_code == 200

    _idle_for(person, 29)
    assert person.get(progress).status_code == 200  # still signed in...
    assert _last_activity_age(person) > 28 * 60  # ...but polling is not activity

    _idle_for(person, 31)
    response = person.get(progress)
    # The whole page goes to the sign-in page (htmx), not the sign-in form into the bar.
    assert response.status_code == 200 and response.content == b""
    assert response["HX-Redirect"] == f"/accounts/login/?next=/runs/{run.public_id}/"
    assert "_auth_user_id" not in person.session


def test_passwords_need_at_least_twelve_characters(owner: Any) -> None:
    person = Client()
    person.force_login(owner)
    short = person.post(
        "/accounts/password_change/",
        {
            "old_password": "owner-pass-123",
            "new_password1": "Tq8#vz2m!kP",  # 11
            "new_password2": "Tq8#vz2m!kP",
        },
    )
    assert short.status_code == 200
    assert "at least 12 characters" in short.content.decode()
    changed = person.post(
        "/accounts/password_change/",
        {
            "old_password": "owner-pass-123",
            "new_password1": "Tq8#vz2m!kP9",  # 12
            "new_password2": "Tq8#vz2m!kP9",
        },
    )
    assert changed.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password("Tq8#vz2m!kP9")
