"""A run with thousands of jobs (issue 17, item 20): an export whose candidates applied for
2,322 different positions made the run page 1 MB, every sort or filter of the results slow
(a 2,322-option job list redrawn each time) and the per-job shortlist download take 30 s (a
few queries per job). Here the same shape, smaller: more jobs than the job filter lists.

The run page shows its per-job table a page at a time, the results find a job by typing
part of its title, and the per-job download costs as many queries for 130 jobs as for 5.
(Timings are bench/many_jobs.py's: no test waits on a time budget.)"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from devtools.fake_ollama import FakeOllama
from devtools.synthetic.many_jobs import job_title, write_many_jobs_csv
from evaluations import selectors
from evaluations.models import Item, Job, Run
from tests.support.runs import start_run
from web.views.results import JOB_LIST_MAX
from web.views.runs import REPORT_JOBS_PER_PAGE

pytestmark = pytest.mark.django_db(transaction=True)

JOBS = 130


@pytest.fixture
def many_jobs(engine_settings: Any, fake_ollama: FakeOllama, owner: Any, tmp_path: Path) -> Run:
    """150 candidates for 130 jobs (more than the job filter lists), scored."""
    assert JOBS > JOB_LIST_MAX and JOBS > REPORT_JOBS_PER_PAGE
    path = write_many_jobs_csv(tmp_path / "export.csv", 150, JOBS)
    run = start_run(path, owner=owner, id_column=None, roles=None)
    assert run.status == Run.Status.COMPLETED and run.jobs.count() == JOBS, run.status_message
    return run


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _shown_lines(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<td class="num muted">(\d+)</td>', page)]


def _csv(response: Any) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body)))


def test_the_run_page_shows_its_per_job_table_a_page_at_a_time(many_jobs: Run, owner: Any) -> None:
    client = _client(owner)
    url = reverse("web:run", args=[many_jobs.public_id])
    page = client.get(url).content.decode()
    table = re.search(r'<table class="table compact per-job-figures">.*?</table>', page, re.S)
    assert table, "no per-job table"
    rows = re.findall(r'<tr><th scope="row">([^<]*)</th>', table.group(0))
    assert len(rows) == REPORT_JOBS_PER_PAGE
    assert f"Jobs 1–{REPORT_JOBS_PER_PAGE} of {JOBS}" in page
    # The next page: the next jobs, and the results' filters in the address kept.
    after = client.get(url, {"jobs_page": "2", "sort": "-overall"}).content.decode()
    more = re.findall(
        r'<tr><th scope="row">([^<]*)</th>',
        re.search(r'<table class="table compact per-job-figures">.*?</table>', after, re.S).group(
            0
        ),
    )
    assert len(more) == REPORT_JOBS_PER_PAGE and not set(more) & set(rows)
    assert "jobs_page=3" in after and "sort=-overall" in after
    # Every job is on one of the pages, and in the report CSV.
    seen = set(rows)
    for number in range(2, -(-JOBS // REPORT_JOBS_PER_PAGE) + 1):
        part = client.get(url, {"jobs_page": str(number)}).content.decode()
        table = re.search(r'<table class="table compact per-job-figures">.*?</table>', part, re.S)
        seen |= set(re.findall(r'<tr><th scope="row">([^<]*)</th>', table.group(0)))
    assert seen == {job_title(k) for k in range(JOBS)}
    # A page that is not a number, or past the last: the first, or the last, never an error.
    for wrong in ("x", "-1", "9" * 30):
        assert client.get(url, {"jobs_page": wrong}).status_code == 200


def test_with_many_jobs_the_results_find_a_job_by_part_of_its_title(
    many_jobs: Run, owner: Any
) -> None:
    client = _client(owner)
    page = client.get(reverse("web:run", args=[many_jobs.public_id])).content.decode()
    # No list of every job redrawn with each sort or filter: a search on the titles.
    assert '<select name="job"' not in page
    assert 'name="job_q"' in page and f"({JOBS} jobs)" in page

    url = reverse("web:run_results", args=[many_jobs.public_id])
    # "Position 012": the jobs 120 to 129, listed to pick one; their candidates shown.
    found = client.get(url, {"job_q": "position 012"}).content.decode()
    wanted = {job_title(k) for k in range(120, 130)}
    jobs = Job.objects.filter(run=many_jobs, title__in=wanted)
    lines = Item.objects.filter(run=many_jobs, job__in=jobs).order_by("line")
    assert _shown_lines(found) == list(lines.values_list("line", flat=True))
    options = re.findall(
        r'<option value="(\d+)"[^>]*>([^<]*) \(\d+\)</option>',
        re.search(r'<select name="job".*?</select>', found, re.S).group(0),
    )
    assert {name for _, name in options} == wanted and "all 10 matching" in found
    # One of them chosen: its candidates alone, the choice kept in the form.
    one = jobs.get(title=job_title(123))
    chosen = client.get(url, {"job_q": "position 012", "job": str(one.pk)}).content.decode()
    assert _shown_lines(chosen) == list(
        Item.objects.filter(run=many_jobs, job=one).order_by("line").values_list("line", flat=True)
    )
    assert f'<option value="{one.pk}" selected>' in chosen
    # A job chosen, then another text typed: the search wins.
    other = client.get(url, {"job_q": "position 011", "job": str(one.pk)}).content.decode()
    shown = Item.objects.filter(run=many_jobs, line__in=_shown_lines(other))
    assert shown and one.pk not in {i.job_id for i in shown}
    # Too many matches to list: they are all kept, and the page says to type more.
    broad = client.get(url, {"job_q": "position"}).content.decode()
    assert f"{JOBS} jobs match: all kept; type more to choose one" in broad
    # A link to one job (no text typed) keeps that job in the form.
    linked = client.get(url, {"job": str(one.pk)}).content.decode()
    assert f'<option value="{one.pk}" selected>' in linked
    # The downloads honour the search.
    rows = _csv(
        client.get(
            reverse("web:run_shortlist_download", args=[many_jobs.public_id]),
            {"job_q": "position 012"},
        )
    )
    assert [int(r["row"]) for r in rows] == list(lines.values_list("line", flat=True))
    per_job = _csv(
        client.get(
            reverse("web:run_shortlist_per_job_download", args=[many_jobs.public_id]),
            {"job_q": "position 012", "top": "1"},
        )
    )
    assert {r["job"] for r in per_job} == wanted


def test_the_per_job_download_costs_the_same_queries_for_130_jobs_as_for_5(
    engine_settings: Any,
    fake_ollama: FakeOllama,
    owner: Any,
    tmp_path: Path,
    many_jobs: Run,
    django_assert_max_num_queries: Any,
) -> None:
    few = start_run(write_many_jobs_csv(tmp_path / "few.csv", 150, 5), owner=owner, id_column=None)
    assert few.jobs.count() == 5
    client = _client(owner)
    counted = {}
    for run in (few, many_jobs):
        url = reverse("web:run_shortlist_per_job_download", args=[run.public_id])
        with django_assert_max_num_queries(20) as captured:
            rows = _csv(client.get(url, {"top": "2"}))
        counted[run.jobs.count()] = len(captured)
        # Every job's best 2 (or all it has), each job's as the results page ranks them.
        by_job: dict[str, list[dict[str, str]]] = {}
        for row in rows:
            by_job.setdefault(row["job"], []).append(row)
        labels = run.job_labels()
        assert set(by_job) == set(labels.values())
        for pk, label in labels.items():
            best = selectors.results(run, top=2, job=str(pk)).items
            assert [int(r["row"]) for r in by_job[label]] == [i.line for i in best], label
    assert counted[JOBS] <= counted[5], counted  # no more for 26 times the jobs


def test_the_run_page_and_the_results_cost_the_same_queries_whatever_the_jobs(
    many_jobs: Run, owner: Any, django_assert_max_num_queries: Any
) -> None:
    client = _client(owner)
    with django_assert_max_num_queries(25):
        page = client.get(reverse("web:run", args=[many_jobs.public_id]))
    assert page.status_code == 200
    for params in ({"sort": "-overall"}, {"job_q": "position 01"}, {"top": "10"}):
        with django_assert_max_num_queries(12):
            found = client.get(reverse("web:run_results", args=[many_jobs.public_id]), params)
        assert found.status_code == 200
