"""Every integer a request carries (query strings, paths, form and API fields) is read
within bounds: a clear 400 or a clamp, never a 500 and never a CSV download cut off midway.

Anyone may write a query string: "²" passes str.isdigit() and breaks int(), a 5,000-digit
number breaks int() too, and 10**30 overflows the database."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from devtools.fake_ollama import FakeOllama
from evaluations import services
from evaluations.models import Run
from hrbatch import http
from tests.support.files import candidates_csv
from tests.support.runs import start_run, upload

pytestmark = pytest.mark.django_db(transaction=True)

HUGE = "9" * 30  # past any database integer
ENDLESS = "9" * 5000  # past what int() reads
SUPERSCRIPT = "\u00b2"  # "²": a digit to str.isdigit(), not to int()
BAD_NUMBERS = [HUGE, ENDLESS, SUPERSCRIPT, "-1", "1e5", " 7", "0"]


@pytest.fixture
def scored(owner: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path) -> Run:
    """A finished run of six candidates, every one scored."""
    run = start_run(candidates_csv(tmp_path, 6), owner)
    assert run.status == Run.Status.COMPLETED and run.done_count == 6
    return run


def _client(user: Any) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def _body(response: Any) -> str:
    """The whole response, a streamed download read to its end (which raises if it broke)."""
    if response.streaming:
        return b"".join(response.streaming_content).decode("utf-8-sig")
    return response.content.decode()


def test_whole_number_reads_ascii_digits_within_bounds_and_clamps_when_asked() -> None:
    assert http.whole_number("7", low=1, high=10) == 7
    assert http.whole_number("007", low=1, high=10) == 7
    assert http.whole_number("10", low=1, high=10) == 10
    for value in [None, "", "11", "0", "-3", " 7", "7 ", "+7", "1e5", "7.0", "1_0", SUPERSCRIPT]:
        assert http.whole_number(value, low=1, high=10) is None, value
    assert http.whole_number(HUGE, low=1, high=10) is None
    assert http.whole_number(ENDLESS, low=1, high=10, clamp=True) == 10
    assert http.whole_number(HUGE, low=1, high=http.MAX_ID) is None
    assert http.whole_number(str(http.MAX_ID), low=1, high=http.MAX_ID) == http.MAX_ID


@pytest.mark.parametrize("value", BAD_NUMBERS)
@pytest.mark.parametrize(
    "param", ["top", "job", "min_overall", "max_overall", "page", "min_communication"]
)
def test_the_run_page_and_its_results_answer_any_number_in_the_query(
    scored: Run, owner: Any, param: str, value: str
) -> None:
    client = _client(owner)
    for url in (f"/runs/{scored.public_id}/", f"/runs/{scored.public_id}/results/"):
        response = client.get(url, {param: value})
        assert response.status_code == 200, (url, param, value[:20])
        # Junk is no filter: every candidate is listed (no shortlist for a top of 0).
        assert _body(response).count(f'href="/runs/{scored.public_id}/candidates/') == 6


def test_a_huge_top_is_a_shortlist_of_everyone(scored: Run, owner: Any) -> None:
    client = _client(owner)
    for value in (HUGE, ENDLESS):
        page = _body(client.get(f"/runs/{scored.public_id}/results/", {"top": value}))
        assert "top 10000" in page  # clamped to the largest shortlist, which holds all six
        rows = _csv(client.get(f"/runs/{scored.public_id}/shortlist.csv", {"top": value}))
        assert len(rows) == 6


def _csv(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(_body(response))))


@pytest.mark.parametrize("value", BAD_NUMBERS)
@pytest.mark.parametrize("param", ["top", "job", "min_overall", "max_overall"])
def test_the_shortlist_downloads_come_whole_whatever_number_is_asked(
    scored: Run, owner: Any, param: str, value: str
) -> None:
    client = _client(owner)
    shortlist = _csv(client.get(f"/runs/{scored.public_id}/shortlist.csv", {param: value}))
    per_job = _csv(client.get(f"/runs/{scored.public_id}/shortlist-per-job.csv", {param: value}))
    # Nothing is filtered out by junk; a clamped top still holds all six.
    assert len(shortlist) == 6, (param, value[:20])
    assert len(per_job) == 6, (param, value[:20])


@pytest.mark.parametrize("value", BAD_NUMBERS)
def test_the_check_page_and_its_row_check_answer_any_rubric_number(
    owner: Any, tmp_path: Path, value: str
) -> None:
    file = upload(candidates_csv(tmp_path, 3), owner)
    client = _client(owner)
    page = client.get(f"/uploads/{file.id}/", {"rubric": value})
    assert page.status_code == 200
    # Not a rubric anyone may use: the default rubric is offered.
    default = services.rubric_default().pk
    assert f'<option value="{default}" selected>' in page.content.decode()
    checks = client.get(f"/uploads/{file.id}/check/", {"rubric": value, "id_column": "id"})
    assert checks.status_code == 200 and "Every row can be scored" in checks.content.decode()
    # Start with such a rubric: the form says to choose one, nothing is made.
    form = {"id_column": "id", "rubric": value, "model": "gemma3:12b", "role_6": "model"}
    refused = client.post(f"/uploads/{file.id}/", form)
    assert refused.status_code == 400
    assert "Select a valid choice" in refused.content.decode()
    assert not Run.objects.exists()


@pytest.mark.parametrize("value", [HUGE, ENDLESS])
def test_numbers_in_paths_past_any_id_are_not_found(scored: Run, owner: Any, value: str) -> None:
    client = _client(owner)
    for url in (
        f"/rubrics/{value}/",
        f"/rubrics/{value}/edit/",
        f"/rubrics/{value}/changes/",
        f"/jobs/{value}/",
        f"/jobs/{value}/edit/",
        f"/jobs/{value}/changes/",
        f"/runs/{scored.public_id}/candidates/{value}/",
    ):
        assert client.get(url).status_code == 404, url[:60]
    assert client.get("/", {"page": value}).status_code == 200


@pytest.mark.parametrize("value", BAD_NUMBERS)
def test_the_api_refuses_a_limit_it_cannot_read_with_a_400_that_says_why(
    owner: Any, value: str
) -> None:
    _, key = services.api_key_create(owner=owner, name="script")
    client = Client(raise_request_exception=False, headers={"Authorization": f"Bearer {key}"})
    for url, most in (("/v1/files", 10_000), ("/v1/batches", 100)):
        response = client.get(url, {"limit": value})
        assert response.status_code == 400, (url, value[:20])
        error = response.json()["error"]
        assert error["param"] == "limit"
        assert error["message"] == f"limit must be a whole number from 1 to {most}."
    assert client.get("/v1/batches", {"limit": "100"}).status_code == 200


def test_the_api_refuses_a_seed_past_64_bits_before_the_llm_server_sees_it(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama
) -> None:
    _, key = services.api_key_create(owner=owner, name="script")
    client = Client(raise_request_exception=False, headers={"Authorization": f"Bearer {key}"})
    body = {"model": "gemma3:12b", "messages": [{"role": "user", "content": "Hi"}]}

    refused = client.post(
        "/v1/chat/completions", json.dumps({**body, "seed": 10**30}), "application/json"
    )

    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["param"] == "seed" and "9223372036854775807" in error["message"]
    too_many = client.post(
        "/v1/chat/completions", json.dumps({**body, "max_tokens": 10**30}), "application/json"
    )
    assert too_many.status_code == 400 and too_many.json()["error"]["param"] == "max_tokens"
    assert fake_ollama.chat_count == 0
    answered = client.post(
        "/v1/chat/completions", json.dumps({**body, "seed": 2**63 - 1}), "application/json"
    )
    assert answered.status_code == 200, answered.content
    assert fake_ollama.requests[-1]["options"]["seed"] == 2**63 - 1


@pytest.mark.parametrize("value", BAD_NUMBERS)
def test_the_positions_table_and_start_read_any_page_or_job_version_number(
    owner: Any, tmp_path: Path, value: str
) -> None:
    from evaluations import csvio
    from tests.support.jobs import write_candidates, write_jobs_file

    file = upload(write_candidates(tmp_path / "candidates.csv"), owner)
    services.jobs_import(path=write_jobs_file(tmp_path / "jobs.csv"), author=owner)
    header = csvio.sniff(file.abspath).header
    roles = services.default_roles(header, "applicant_id")
    form = {
        "id_column": "applicant_id",
        "rubric": str(services.rubric_default().pk),
        "model": "gemma3:12b",
        "jobs_from": "saved",
        "position_column": "position",
        **{f"role_{i}": roles[c] for i, c in enumerate(header)},
    }
    client = _client(owner)
    # The positions table's page number: junk reads as the first page.
    table = client.get(f"/uploads/{file.id}/positions/", {**form, "positions_page": value})
    assert table.status_code == 200 and "Warehouse Lead" in table.content.decode()
    # The job versions Start carries: junk is no version shown, so Start asks again.
    started = client.post(
        f"/uploads/{file.id}/", {**form, "jobs_versions": f"{value},1", "jobs_digest": "x"}
    )
    assert started.status_code == 400, started.content.decode()[:2000]
    assert not Run.objects.exists()
