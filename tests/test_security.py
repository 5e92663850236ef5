"""Security: where links point, which hosts are answered, what a page may run, sign-in
throttling, error logs, files served back and the deployment check.

Configuration is tested the way people set it: environment variables for `manage.py` in
a subprocess, and `manage.py serve` driven over HTTP; the test client covers the rest.
"""

from __future__ import annotations

import http.cookiejar
import logging
import re
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.test import Client

from devtools import live
from devtools.fake_ollama import FakeOllama
from evaluations import services
from evaluations.models import ApiKey, File
from tests.support.browser import settled
from tests.support.files import resumes
from tests.support.mail import SmtpSink

PASSWORD = "a-long-pass-phrase-2026"
PRODUCTION_KEY = "Zq8#vT2m!kP9rX4wL6yN1bC3dF5gH7jK0sA2eR4tY6uI8oP0zX9cV7bN5mQ3wE1"


# --- helpers ---------------------------------------------------------------------------


def _env(data: Path, fake: FakeOllama, **extra: str) -> dict[str, str]:
    """The app's environment with none of the addresses set unless a test sets them."""
    env = live.app_env(data, fake, **extra)
    for name in ("SITE_URL", "HOST", "PORT", "ALLOWED_HOSTS", "SECRET_KEY", "DEBUG"):
        if name not in extra:
            env.pop(name, None)
    return env


def _setting(env: dict[str, str], expression: str) -> str:
    code = f"from django.conf import settings; print({expression})"
    return live.manage(env, "shell", "-v", "0", "-c", code).stdout.strip()


class Session:
    """One person's HTTP session against the live server: cookies and the CSRF token as
    a browser keeps them."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def request(
        self, path: str, data: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body, headers=headers or {})
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def csrf(self, path: str) -> str:
        status, page = self.request(path)
        assert status == 200, page
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert match, page
        return match.group(1)

    def sign_in(self, username: str, password: str) -> tuple[int, str]:
        token = self.csrf("/accounts/login/")
        return self.request(
            "/accounts/login/",
            {"csrfmiddlewaretoken": token, "username": username, "password": password},
        )

    def cookie(self, name: str) -> http.cookiejar.Cookie:
        return next(c for c in self.jar if c.name == name)


@pytest.fixture
def fake() -> Iterator[FakeOllama]:
    with FakeOllama(slots=2) as server:
        yield server


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


def _create_user(env: dict[str, str], username: str, *, staff: bool = False) -> None:
    make = "create_superuser" if staff else "create_user"
    live.manage(
        env,
        "shell",
        "-c",
        "from django.contrib.auth.models import User; "
        f"User.objects.{make}('{username}', '{username}@example.com', '{PASSWORD}')",
    )


# --- 10. e-mailed links follow the address the app is served on ------------------------


def test_site_url_follows_host_and_port_when_it_is_not_set(
    tmp_path: Path, fake: FakeOllama
) -> None:
    env = _env(tmp_path / "data", fake, HOST="hr-box.internal", PORT="8123")
    assert _setting(env, "settings.SITE_URL") == "http://hr-box.internal:8123"

    everywhere = _env(tmp_path / "data", fake, HOST="0.0.0.0", PORT="8123")
    assert _setting(everywhere, "settings.SITE_URL") == f"http://{socket.getfqdn()}:8123"
    # Colleagues may reach a server listening everywhere by its name or any address.
    hosts = _setting(everywhere, "' '.join(settings.ALLOWED_HOSTS)").split()
    assert socket.gethostname() in hosts and "127.0.0.1" in hosts and "evil.example" not in hosts
    assert set(hosts) > {"127.0.0.1", "localhost", "[::1]", socket.getfqdn()}

    chosen = _env(tmp_path / "data", fake, SITE_URL="https://hr.example.com", PORT="8123")
    assert _setting(chosen, "settings.SITE_URL") == "https://hr.example.com"


@pytest.mark.slow
def test_the_run_finished_email_links_to_the_port_serve_was_started_on(
    tmp_path: Path, fake: FakeOllama, smtp: SmtpSink
) -> None:
    from devtools.synthetic import write_candidates_csv

    source = tmp_path / "pool.csv"
    write_candidates_csv(source, 6, seed=5)
    env = _env(tmp_path / "data", fake, EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(smtp.port))
    live.manage(env, "migrate", "-v", "0")
    _create_user(env, "olivia")
    process, url = live.start_serve(env)  # `serve --port N`: a flag, not PORT
    try:
        start = (
            "from pathlib import Path; from django.contrib.auth.models import User; "
            "from evaluations import services; from evaluations.models import RunColumns; "
            "owner = User.objects.get(username='olivia'); "
            f"f = services.file_create(owner=owner, source=Path({str(source)!r}), "
            "filename='pool.csv', purpose='candidates'); "
            "run = services.runs.run_create(owner=owner, input_file=f, "
            "intake=RunColumns(id_column='id'), defer=True); "
            "print(run.public_id)"
        )
        public_id = live.manage(env, "shell", "-v", "0", "-c", start).stdout.strip()
        _wait_for(lambda: len(smtp.messages) == 1, timeout=60)
    finally:
        live.stop_serve(process)
    # Sent by serve's worker cluster, a process of its own.
    assert f"{url}/runs/{public_id}/" in smtp.messages[0].get_content()


# --- 12. password reset: Host header poisoning ------------------------------------------


@pytest.mark.django_db
def test_a_password_reset_for_another_host_is_refused_and_links_use_site_url(
    client: Client, owner: Any, settings: Any
) -> None:
    settings.SITE_URL = "https://hr.example.com"

    response = client.post(
        "/accounts/password_reset/", {"email": owner.email}, HTTP_HOST="evil.example"
    )
    assert response.status_code == 400
    assert mail.outbox == []

    response = client.post("/accounts/password_reset/", {"email": owner.email})
    assert response.status_code == 302
    (message,) = mail.outbox
    assert "https://hr.example.com/accounts/reset/" in message.body
    assert "testserver" not in message.body + message.subject


@pytest.mark.slow
def test_serve_refuses_a_forged_host_and_mails_reset_links_on_its_own_address(
    tmp_path: Path, fake: FakeOllama, smtp: SmtpSink
) -> None:
    env = _env(tmp_path / "data", fake, EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(smtp.port))
    live.manage(env, "migrate", "-v", "0")
    _create_user(env, "olivia")
    process, url = live.start_serve(env, port_from_env=True, log=tmp_path / "serve.log")
    try:
        person = Session(url)
        token = person.csrf("/accounts/password_reset/")
        form = {"csrfmiddlewaretoken": token, "email": "olivia@example.com"}
        status, _ = person.request(
            "/accounts/password_reset/", form, headers={"Host": "evil.example"}
        )
        assert status == 400
        assert smtp.messages == []

        status, page = person.request("/accounts/password_reset/", form)
        assert status == 200, page  # redirected to "check your e-mail"
    finally:
        live.stop_serve(process)
    (message,) = smtp.messages
    body = message.get_content()
    assert f"{url}/accounts/reset/" in body  # the address serve listens on: HOST and PORT
    assert "evil.example" not in body
    # The refusal is logged in one line, without a traceback to bury real errors.
    stderr = (tmp_path / "serve.log").read_text()
    assert "Invalid HTTP_HOST header: 'evil.example'" in stderr
    assert "Traceback" not in stderr


# --- 13. `next` links and the Content-Security-Policy ------------------------------------


@pytest.mark.django_db
def test_an_unsafe_next_is_never_rendered_as_a_link(client: Client, owner: Any) -> None:
    client.force_login(owner)
    rubric = services.rubric_default()
    for target in ("javascript:alert(1)", "//evil.example", "https://evil.example/x"):
        for path in ("/rubrics/", f"/rubrics/{rubric.pk}/", f"/rubrics/{rubric.pk}/edit/"):
            page = client.get(path, {"next": target}).content.decode()
            assert "Back to your run set-up" not in page, (path, target)
            assert target not in page and "evil.example" not in page, (path, target)

    safe = "/uploads/file-abc/"
    page = client.get("/rubrics/", {"next": safe}).content.decode()
    assert f'href="{safe}"' in page and "Back to your run set-up" in page

    form = {"name": rubric.name, "instructions": rubric.instructions, "next": "//evil.example"}
    for index, criterion in enumerate(rubric.criteria):
        form[f"c-{index}-key"] = criterion["key"]
        form[f"c-{index}-label"] = criterion["label"]
        form[f"c-{index}-description"] = criterion.get("description", "")
        for level, text in criterion.get("anchors", {}).items():
            form[f"c-{index}-a{level}"] = text
    response = client.post(f"/rubrics/{rubric.pk}/edit/", form)
    # Saved (a redirect) or shown again: either way the hostile target is gone.
    assert response.status_code in (302, 400)
    assert "evil" not in response.get("Location", "") + response.content.decode()


@pytest.mark.django_db
def test_every_page_forbids_inline_script(client: Client, owner: Any) -> None:
    client.force_login(owner)
    for path in ("/", "/runs/new/", "/rubrics/", "/accounts/login/", "/admin/login/"):
        policy = client.get(path)["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if " " in d.strip())
        assert directives["script-src"] == "'self'", policy
        assert "'unsafe-inline'" not in directives["style-src"], policy
        assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"


# --- 14. sign-in throttling ---------------------------------------------------------------


@pytest.mark.django_db
def test_repeated_wrong_passwords_lock_the_sign_in_until_an_admin_clears_it(
    owner: Any, settings: Any
) -> None:
    person = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        page = person.post(
            "/accounts/login/", {"username": "olivia", "password": "guess"}
        ).content.decode()
        assert "did not match" in page

    locked = person.post("/accounts/login/", {"username": "olivia", "password": "guess"})
    assert locked.status_code == 429
    text = locked.content.decode()
    assert "Too many failed sign-ins" in text and "15 minutes" in text
    # Even the right password is refused while the sign-in is locked.
    locked = person.post("/accounts/login/", {"username": "olivia", "password": "owner-pass-123"})
    assert locked.status_code == 429 and "_auth_user_id" not in person.session

    from axes.models import AccessAttempt

    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-12345-x")
    staff = Client()
    staff.force_login(admin)
    listed = staff.get("/admin/axes/accessattempt/").content.decode()
    assert "olivia" in listed
    staff.post(
        "/admin/axes/accessattempt/",
        {
            "action": "delete_selected",
            "_selected_action": [a.pk for a in AccessAttempt.objects.all()],
            "post": "yes",
        },
    )
    assert not AccessAttempt.objects.exists()
    response = person.post("/accounts/login/", {"username": "olivia", "password": "owner-pass-123"})
    assert response.status_code == 302 and person.session["_auth_user_id"] == str(owner.pk)


@pytest.mark.django_db
def test_axes_reset_clears_a_lockout_from_the_command_line(owner: Any, settings: Any) -> None:
    person = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        person.post("/accounts/login/", {"username": "olivia", "password": "guess"})
    assert (
        person.post(
            "/accounts/login/", {"username": "olivia", "password": "owner-pass-123"}
        ).status_code
        == 429
    )
    call_command("axes_reset_username", "olivia")
    response = person.post("/accounts/login/", {"username": "olivia", "password": "owner-pass-123"})
    assert response.status_code == 302


def test_the_lockout_is_set_by_environment_variables(tmp_path: Path, fake: FakeOllama) -> None:
    env = _env(tmp_path / "data", fake, HRBATCH_LOGIN_FAILURES="3", HRBATCH_LOCKOUT_MINUTES="40")
    shown = _setting(env, "settings.AXES_FAILURE_LIMIT, settings.AXES_COOLOFF_TIME")
    assert shown == f"3 {timedelta(minutes=40)}"


# --- 15. unhandled errors leave a trace ------------------------------------------------------


def _wait_for(predicate: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


@pytest.mark.slow
def test_serve_logs_errors_to_stderr_and_a_rotating_file_and_throttles_sign_in(
    tmp_path: Path, fake: FakeOllama
) -> None:
    data = tmp_path / "data"
    env = _env(data, fake, HRBATCH_LOGIN_FAILURES="2", HRBATCH_LOCKOUT_MINUTES="5")
    live.manage(env, "migrate", "-v", "0")
    _create_user(env, "olivia")
    _create_user(env, "oscar")
    # An upload whose file was later removed from the data directory (a disk clean-up):
    # its check page crashes, and so does the worker asked to read it.
    source = str(resumes())
    make = (
        "from pathlib import Path; from django.contrib.auth.models import User; "
        "from evaluations import services; "
        "owner = User.objects.get(username='olivia'); "
        f"f = services.file_create(owner=owner, source=Path({source!r}), "
        "filename='resume_data_97.csv', purpose='candidates'); "
        "Path(f.abspath).unlink(); "
        "services.runs.run_create(owner=owner, input_file=f, defer=True); print(f.id)"
    )
    file_id = live.manage(env, "shell", "-v", "0", "-c", make).stdout.strip()
    log = tmp_path / "serve.log"
    process, url = live.start_serve(env, port_from_env=True, log=log)
    try:
        olivia = Session(url)
        status, _ = olivia.sign_in("olivia", PASSWORD)
        assert status == 200
        # Over plain http the session cookie must not be Secure, or local use breaks.
        assert olivia.cookie("sessionid").secure is False
        status, _ = olivia.request(f"/uploads/{file_id}/")
        assert status == 500

        log_file = data / "logs" / "hrbatch.log"
        _wait_for(lambda: log_file.is_file() and "FileNotFoundError" in log_file.read_text())
        text = log_file.read_text()
        assert f"Internal Server Error: /uploads/{file_id}/" in text
        assert "Traceback (most recent call last)" in text
        # The worker that was asked to read the same missing file logged its failure too.
        _wait_for(lambda: "evaluations.tasks.ingest_run" in log_file.read_text())

        # Sign-in throttling through the live server, as set in the environment.
        oscar = Session(url)
        for _ in range(2):
            status, page = oscar.sign_in("oscar", "wrong")
        status, page = oscar.sign_in("oscar", PASSWORD)
        assert status == 429 and "Too many failed sign-ins" in page and "5 minutes" in page
    finally:
        live.stop_serve(process)
    stderr = log.read_text()
    assert f"Internal Server Error: /uploads/{file_id}/" in stderr
    assert "FileNotFoundError" in stderr and "evaluations.tasks.ingest_run" in stderr


# --- 16. files served back ------------------------------------------------------------------


@pytest.mark.django_db
def test_a_file_served_back_keeps_its_name_safely_and_is_never_html(owner: Any) -> None:
    _, key = services.api_key_create(owner=owner, name="test")
    auth = {"Authorization": f"Bearer {key}"}
    name = 'report"; filename=evil.html; x="\r\nX-Injected: 1 naïve.html'
    stored = services.file_create(
        owner=owner,
        source=iter([b"<script>alert(1)</script>\n"]),
        filename=name,
        purpose=File.Purpose.BATCH,
    )
    response = Client().get(f"/v1/files/{stored.id}/content", headers=auth)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment; filename*=utf-8''")
    assert '"' not in disposition.split("filename*=", 1)[1] and "X-Injected" not in response

    for filename, media_type in (("out.jsonl", "application/jsonl"), ("c.csv", "text/csv")):
        stored = services.file_create(
            owner=owner, source=iter([b"{}\n"]), filename=filename, purpose=File.Purpose.BATCH
        )
        response = Client().get(f"/v1/files/{stored.id}/content", headers=auth)
        assert response["Content-Type"].split(";")[0] == media_type
        assert response["Content-Disposition"] == f'attachment; filename="{filename}"'


@pytest.mark.django_db
def test_a_batch_file_downloaded_from_the_run_page_is_never_html(owner: Any) -> None:
    from evaluations.models import Run

    output = services.file_create(
        owner=owner,
        source=iter([b"<b>hi</b>\n"]),
        filename="page.html",
        purpose=File.Purpose.BATCH_OUTPUT,
    )
    run = Run.objects.create(
        owner=owner, kind=Run.Kind.BATCH, input_file=output, output_file=output
    )
    client = Client()
    client.force_login(owner)
    response = client.get(f"/runs/{run.public_id}/files/{output.id}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == 'attachment; filename="page.html"'


@pytest.mark.django_db
def test_an_api_key_made_in_admin_is_shown_once_and_never_put_in_a_cookie(owner: Any) -> None:
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-12345-x")
    client = Client()
    client.force_login(admin)

    response = client.post(
        "/admin/evaluations/apikey/add/", {"owner": owner.pk, "name": "from admin"}
    )
    assert response.status_code == 200
    stored = ApiKey.objects.get(name="from admin")
    page = response.content.decode()
    shown = re.search(r"(hrb_[A-Za-z0-9_-]+)", page)
    assert shown and shown.group(1).startswith(stored.prefix)
    key = shown.group(1)
    assert "no-store" in response["Cache-Control"]
    assert all(key not in morsel.value for morsel in response.cookies.values())
    assert key not in str(dict(client.session))
    later = client.get("/admin/evaluations/apikey/").content.decode()
    assert key not in later and "from admin" in later
    assert Client().get("/v1/files", headers={"Authorization": f"Bearer {key}"}).status_code == 200


# --- 17. manage.py check --deploy --------------------------------------------------------------


def _check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*live.MANAGE, "check", "--deploy", "--fail-level", "WARNING"],
        cwd=live.ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


def test_check_deploy_is_clean_with_the_documented_production_variables(
    tmp_path: Path, fake: FakeOllama
) -> None:
    production = {
        "SECRET_KEY": PRODUCTION_KEY,
        "SITE_URL": "https://hr.example.com",
        "HRBATCH_BEHIND_PROXY": "1",
    }
    env = _env(tmp_path / "data", fake, **production)
    result = _check_deploy(env)
    assert result.returncode == 0, result.stdout + result.stderr
    shown = _setting(
        env,
        "settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, "
        "settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS, "
        "settings.SECURE_PROXY_SSL_HEADER, settings.ALLOWED_HOSTS, settings.CSRF_TRUSTED_ORIGINS",
    )
    assert shown == (
        "True True True 31536000 ('HTTP_X_FORWARDED_PROTO', 'https') "
        "['hr.example.com', '127.0.0.1', 'localhost', '[::1]'] ['https://hr.example.com']"
    )

    # Plain http is redirected to https, except the health check load balancers probe.
    probe = (
        "from django.test import Client; c = Client(HTTP_HOST='hr.example.com'); "
        "print(c.get('/healthz').status_code, c.get('/accounts/login/')['Location'])"
    )
    shown = live.manage(env, "shell", "-v", "0", "-c", probe).stdout.strip()
    assert shown == "200 https://hr.example.com/accounts/login/"

    # Without a proxy that says which requests came over https, hrbatch cannot redirect
    # http to https (it would loop): the one warning left, explained in docs/operations.md.
    env.pop("HRBATCH_BEHIND_PROXY")
    result = _check_deploy(env)
    assert result.returncode == 1
    assert re.findall(r"\(security\.W\d+\)", result.stderr) == ["(security.W008)"]
    assert _setting(env, "settings.SECURE_PROXY_SSL_HEADER") == "None"
    operations = (live.ROOT / "docs" / "operations.md").read_text()
    assert "security.W008" in operations


def test_plain_http_keeps_cookies_usable_and_the_deploy_check_says_what_is_missing(
    tmp_path: Path, fake: FakeOllama
) -> None:
    env = _env(tmp_path / "data", fake)
    shown = _setting(
        env, "settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, settings.DEBUG"
    )
    assert shown == "False False False"
    result = _check_deploy(env)
    assert result.returncode == 1 and "SECRET_KEY" in result.stderr


# --- issue 17 (12): no public key on a public address; API clients not told where servers are


@pytest.mark.parametrize("how", ["HOST", "--host"])
def test_serve_refuses_to_listen_beyond_this_machine_with_the_built_in_secret_key(
    tmp_path: Path, fake: FakeOllama, how: str
) -> None:
    port = str(live.free_port())
    flags = ["--host", "0.0.0.0"] if how == "--host" else []
    env = _env(tmp_path / "data", fake, PORT=port, **({"HOST": "0.0.0.0"} if how == "HOST" else {}))
    result = subprocess.run(
        [*live.MANAGE, "serve", *flags],
        cwd=live.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Not starting: listening on 0.0.0.0 with hrbatch's built-in development " in (
        result.stderr
    )
    assert "Set SECRET_KEY to a long random value" in result.stderr
    assert "hrbatch is running" not in result.stdout
    assert not (tmp_path / "data" / "hrbatch.sqlite3").exists()  # refused before anything


@pytest.mark.django_db(transaction=True)
def test_api_errors_do_not_say_where_the_model_server_is_but_the_log_and_staff_do(
    owner: Any,
    engine_settings: Any,
    fake_ollama: FakeOllama,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tests.support.files import write_jsonl
    from tests.support.runs import create_batch, request_line

    address = fake_ollama.url  # http://127.0.0.1:<port>
    where = address.split("://")[1]
    _, key = services.api_key_create(owner=owner, name="nightly import")
    api = Client(headers={"Authorization": f"Bearer {key}"})
    staff = Client()
    staff.force_login(
        get_user_model().objects.create_superuser("root", "root@example.com", "pw-12345-xyz")
    )

    # A model the server does not have: the batch fails at validation, saying so.
    lines = [request_line("r1", model="no-such-model:1b")]
    run = create_batch(write_jsonl(tmp_path / "unknown.jsonl", lines), owner=owner)
    response = api.get(f"/v1/batches/{run.public_id}")
    batch = response.json()
    assert batch["status"] == "failed"
    message = batch["errors"]["data"][0]["message"]
    assert "no-such-model:1b" in message and "the model server" in message
    assert where not in response.content.decode()
    assert where in staff.get(f"/admin/evaluations/run/{run.pk}/change/").content.decode()

    # Requests the server never answered in time: the error file says that, not where.
    engine_settings.HRBATCH = {
        **engine_settings.HRBATCH,
        "REQUEST_TIMEOUT_SECONDS": 0.3,
        "MAX_SERVER_ATTEMPTS": 1,
    }
    fake_ollama.latency = 2.0
    lines = [request_line(f"q{i}", f"question {i}") for i in range(2)]
    run = create_batch(write_jsonl(tmp_path / "slow.jsonl", lines), owner=owner)
    batch = api.get(f"/v1/batches/{run.public_id}").json()
    assert batch["request_counts"]["failed"] == 2, batch
    errors = api.get(f"/v1/files/{batch['error_file_id']}/content")
    text = b"".join(errors.streaming_content).decode()
    assert "did not answer in time" in text and where not in text
    failed = run.items.first()
    assert failed is not None and where in failed.error  # kept for staff
    page = staff.get(f"/admin/evaluations/item/{failed.pk}/change/").content.decode()
    assert where in page

    # One chat completion while the server is down: 503, and the log names the server.
    fake_ollama.latency = 0.0
    fake_ollama.stop()
    body = {"model": "gemma3:12b", "messages": [{"role": "user", "content": "Hello"}]}
    with caplog.at_level(logging.WARNING):
        down = api.post("/v1/chat/completions", body, content_type="application/json")
    assert down.status_code == 503
    assert "not reachable at the model server" in down.json()["error"]["message"]
    assert where not in down.content.decode()
    assert f"not reachable at {address}" in caplog.text


# --- 13. the pages work under the Content-Security-Policy, in a real browser --------------

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SHOTS = live.ROOT / "test-artifacts" / "browser"


@pytest.mark.slow
def test_pages_work_in_chromium_with_no_content_security_policy_violation(
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect, sync_playwright

    from devtools.synthetic import write_candidates_csv

    SHOTS.mkdir(parents=True, exist_ok=True)
    source = tmp_path / "applicants-may.csv"
    write_candidates_csv(source, 1000, seed=31)
    violations: list[str] = []

    def shot(page: Any, name: str) -> None:
        page.screenshot(path=str(SHOTS / f"security-{name}.png"), full_page=True)

    with FakeOllama(slots=2, latency=0.3) as fake:
        env = _env(tmp_path / "data", fake, HRBATCH_CONCURRENCY="2")
        live.manage(env, "migrate", "-v", "0")
        _create_user(env, "hana", staff=True)
        process, url = live.start_serve(env, port_from_env=True, log=tmp_path / "serve.log")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
                )
                context = browser.new_context(viewport={"width": 1366, "height": 860})
                # Every violation, whichever page it happens on: the DOM event (with the
                # directive) and Chromium's console message.
                context.expose_binding("cspViolation", lambda _, text: violations.append(text))
                context.add_init_script(
                    "document.addEventListener('securitypolicyviolation', e =>"
                    " window.cspViolation(e.violatedDirective + ' ' + e.blockedURI +"
                    " ' ' + e.sourceFile + ':' + e.lineNumber));"
                )
                page = context.new_page()
                page.set_default_timeout(20_000)
                page.on(
                    "console",
                    lambda m: (
                        violations.append(m.text) if "Content Security Policy" in m.text else None
                    ),
                )

                response = page.goto(url + "/")
                assert response is not None
                assert "script-src 'self'" in response.headers["content-security-policy"]
                page.get_by_label("Username").fill("hana")
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                expect(page.get_by_role("heading", name="Runs", exact=True)).to_be_visible()

                # The upload page's file chooser (static JS): the chosen file's name and
                # size show as soon as it is chosen.
                page.goto(url + "/runs/new/")
                page.set_input_files("#id_file", str(resumes()))
                expect(page.locator("#chosen")).to_contain_text(f"{resumes().name} (")
                shot(page, "upload")
                page.set_input_files("#id_file", str(source))
                expect(page.locator("#chosen")).to_contain_text("applicants-may.csv (")
                page.get_by_role("button", name="Upload and check").click()  # htmx
                expect(page.get_by_role("heading", name=source.name)).to_be_visible()
                shot(page, "check-columns")
                page.get_by_role("button", name=re.compile("Start scoring")).click()

                # The progress fragment polls (htmx) and the bar moves (20 or more scored,
                # enough for the shortlist below).
                expect(page.locator("#progress")).to_be_visible()
                page.wait_for_function(
                    "() => { const b = document.querySelector('#progress .bar');"
                    " return b && parseFloat(b.getAttribute('aria-valuenow')) >= 2; }",
                    timeout=30_000,
                )
                # Cancel asks first (data-confirm); saying no keeps the run going.
                asked: list[str] = []
                page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
                page.get_by_role("button", name="Cancel run").click()
                page.wait_for_timeout(500)
                assert asked and asked[0].startswith("Cancel this run?")
                expect(page.locator("#progress .badge")).to_have_text("Scoring")
                page.once("dialog", lambda d: d.accept())
                page.get_by_role("button", name="Cancel run").click()
                expect(page.locator("#progress .badge")).to_have_text("Cancelled", timeout=30_000)
                shot(page, "cancelled")

                # The results filters apply as soon as a choice changes.
                rows = page.locator("table.results tbody tr")
                expect(rows.filter(has_text="cancelled").first).to_be_visible()
                settled(page)
                page.get_by_label("Show").select_option("done")
                expect(rows.filter(has_text="cancelled")).to_have_count(0)
                expect(rows.filter(has_text="scored").first).to_be_visible()
                settled(page)
                page.get_by_label("Shortlist").select_option("10")
                expect(rows).to_have_count(10)
                shot(page, "filtered")

                # A hostile `next` is no link at all.
                page.goto(url + "/rubrics/?next=javascript:alert(1)")
                expect(page.get_by_role("heading", name="Rubrics")).to_be_visible()
                expect(page.get_by_text("Back to your run set-up")).to_have_count(0)

                # Django admin works under the same policy, API key page included.
                for path in (
                    "/admin/",
                    "/admin/evaluations/run/",
                    "/admin/auth/user/1/change/",
                    "/admin/axes/accessattempt/",
                ):
                    page.goto(url + path)
                    expect(page.locator("#content")).to_be_visible()
                page.goto(url + "/admin/evaluations/apikey/add/")
                page.get_by_label("Owner").select_option(label="hana")
                page.get_by_label("Name").fill("nightly import")
                page.get_by_role("button", name="Save", exact=True).click()
                expect(page.locator("#api-key")).to_contain_text("hrb_")
                shot(page, "admin-api-key")
                page.goto(url + "/admin/evaluations/run/")
                page.locator("#result_list tbody tr a").first.click()
                expect(page.locator("#content")).to_be_visible()
                shot(page, "admin-run")
                context.close()
                browser.close()
        finally:
            live.stop_serve(process)
    assert violations == []
