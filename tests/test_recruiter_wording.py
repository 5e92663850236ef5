"""Wording and small things a recruiter tripped on (issue 17, item 22): search, the check
page's messages, the run page's technical figures, the shortlist explained, plain figures,
the report's token figures, download names and the error pages.

The layout items (colours, the job dropdown, the Details that stay open) are looked at in
Chromium: test_recruiter_pages_in_the_browser at the end."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect

from devtools import live
from devtools.fake_ollama import FakeOllama
from evaluations import audit, csvio, selectors, services
from evaluations.models import Explanation, Run
from tests.support.browser import SHOTS, chromium, served, settled
from tests.support.files import candidates_csv, write_csv
from tests.support.jobs import JOBS, write_candidates, write_jobs_file
from tests.support.runs import start_run, upload

pytestmark = pytest.mark.django_db(transaction=True)


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _without_details(page: str) -> str:
    """The page as shown before any "Details" is opened."""
    return re.sub(r"<details\b.*?</details>", "", page, flags=re.S)


@pytest.fixture
def run(consistency: Any, fake_ollama: FakeOllama, owner: Any, tmp_path: Path) -> Run:
    scored = start_run(candidates_csv(tmp_path, 30), owner=owner)
    assert scored.status == Run.Status.COMPLETED, scored.status_message
    return scored


# --- Search --------------------------------------------------------------------------------


def test_search_finds_the_words_the_ai_read_and_says_when_nothing_matches(
    engine_settings: Any, fake_ollama: FakeOllama, owner: Any, tmp_path: Path
) -> None:
    rows = [
        {"id": "A1", "name": "Ada Byron", "skills": "Kubernetes; Go", "note": "Night shifts"},
        {"id": "A2", "name": "Ben Okri", "skills": "Payroll; ADP", "note": "Fluent in Yoruba"},
        {"id": "A3", "name": "Cy Twombly", "skills": "Painting", "note": "Open to travel"},
    ]
    run = start_run(write_csv(tmp_path / "people.csv", rows), owner=owner)
    assert run.columns["roles"]["skills"] == services.ROLE_MODEL
    client = signed_in(owner)
    url = reverse("web:run_results", args=[run.public_id])

    def shown(**query: str) -> tuple[list[str], str]:
        html = client.get(url, query).content.decode()
        return re.findall(r'<td class="candidate"><a href="[^"]+">([^<]+)</a>', html), html

    assert shown(q="kubernetes")[0] == ["A1"]  # a column the AI read
    assert shown(q="yoruba")[0] == ["A2"]
    assert shown(q="byron")[0] == ["A1"]  # the columns kept for the results, as before
    assert shown(q="a3")[0] == ["A3"]  # the ID, as before

    ids, html = shown(q="haskell")
    assert ids == [] and "No candidate matches “haskell”." in html
    assert "No candidates to show yet" not in html
    ids, html = shown(min_overall="9", max_overall="2")
    assert ids == [] and "No candidate matches these filters." in html


# --- "Read jobs file" on the check page ----------------------------------------------------


def _start_form(file: Any) -> dict[str, Any]:
    """The check page's form as a person leaves it, no position column chosen."""
    layout = csvio.sniff(file.abspath)
    roles = services.default_roles(layout.header, "applicant_id")
    return {
        "id_column": "applicant_id",
        "rubric": services.rubric_default().pk,
        "model": "gemma3:12b",
        "notify_email": "",
        "position_column": "",
        **{f"role_{i}": roles[c] for i, c in enumerate(layout.header)},
    }


def test_reading_a_jobs_file_is_no_refused_start_and_a_bad_one_reads_as_an_error(
    engine_settings: Any, owner: Any, tmp_path: Path
) -> None:
    file = upload(write_candidates(tmp_path / "candidates.csv"), owner)
    client = signed_in(owner)
    prepare = reverse("web:prepare", args=[file.id])

    with open(write_jobs_file(tmp_path / "jobs.csv"), "rb") as handle:
        page = client.post(prepare, {**_start_form(file), "import_jobs": "1", "jobs_file": handle})
    html = page.content.decode()
    assert page.status_code == 200
    assert '<p class="flash flash-success" role="status">jobs.csv: 5 jobs read, 5 new.</p>' in html
    assert "Scoring did not start" not in html and "error-summary" not in html
    assert 'class="error"' not in html.split('id="jobs"', 1)[1].split("</section>", 1)[0]

    bad = tmp_path / "bad.csv"
    bad.write_text("colour,size\nred,big\n", encoding="utf-8")
    with open(bad, "rb") as handle:
        page = client.post(prepare, {**_start_form(file), "import_jobs": "1", "jobs_file": handle})
    html = page.content.decode()
    assert re.search(r'<p class="flash flash-error" role="alert">bad\.csv: [^<]+</p>', html), (
        re.findall(r'<p class="flash[^>]*>[^<]*', html)
    )
    assert "Scoring did not start" not in html
