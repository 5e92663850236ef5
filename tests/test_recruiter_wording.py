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
