"""One reading of the rows for the check before a run and for the ingest
(evaluations.intake.rows): on every file the suite uses, the check's counts (candidates,
rows with problems, long rows, copies, jobs, positions matched, too little text) are what
the ingest then makes."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.test import Client
from django.urls import reverse

from devtools.synthetic.many_jobs import write_many_jobs_csv
from devtools.synthetic.resumes import write_resume_dataset
from evaluations import csvio, services
from tests.support.files import candidates_csv, damaged_resume_csv, fixture, resumes, write_csv
from tests.support.intake import assert_the_check_counted_what_the_ingest_made, check_then_ingest
from tests.support.jobs import UNMATCHED, write_candidates, write_jobs_file
from tests.support.runs import upload

pytestmark = pytest.mark.django_db


@pytest.mark.resumes35
def test_the_resume_file_its_jobs_from_its_columns() -> None:
    check, run = check_then_ingest(resumes())
    assert len(check.jobs) > 10 and check.job_columns
    assert_the_check_counted_what_the_ingest_made(check, run)


@pytest.mark.resumes35
def test_the_resume_file_damaged_and_shown_as_it_is(tmp_path: Path) -> None:
    check, run = check_then_ingest(damaged_resume_csv(tmp_path), redact=False)
    assert run.opts.unreadable_chars
    assert_the_check_counted_what_the_ingest_made(check, run)


def test_the_applicant_tracking_export() -> None:
    check, run = check_then_ingest(fixture("ats_export_resume_id.csv"))
    assert check.id_column == "Resume ID"
    assert_the_check_counted_what_the_ingest_made(check, run)


def test_synthetic_candidates_and_copies(tmp_path: Path) -> None:
    check, run = check_then_ingest(candidates_csv(tmp_path, 40))
    assert_the_check_counted_what_the_ingest_made(check, run)
    copies = write_resume_dataset(tmp_path / "copies.csv", 60, 12, seed=3, near=0.5)
    check, run = check_then_ingest(copies)
    assert check.copy_count == 48
    assert_the_check_counted_what_the_ingest_made(check, run)


def test_many_jobs_from_the_files_columns(tmp_path: Path) -> None:
    check, run = check_then_ingest(write_many_jobs_csv(tmp_path / "many.csv", 300, 40))
    assert len(check.jobs) > 20
    assert_the_check_counted_what_the_ingest_made(check, run)


def test_saved_jobs_matched_by_position(tmp_path: Path) -> None:
    services.jobs_import(path=write_jobs_file(tmp_path / "jobs.csv"), author=None)
    candidates = write_candidates(tmp_path / "candidates.csv")
    # Every position that matches no saved job scored without one ...
    rest = services.JobsChoice(position_column="position", rest="")
    check, run = check_then_ingest(candidates, jobs=rest)
    assert check.without_job == 3 and not check.unmatched
    assert_the_check_counted_what_the_ingest_made(check, run)
    # ... or mapped by hand.
    title = services.saved_jobs()["operations manager"].title_key
    mapped = services.JobsChoice(position_column="position", mapping={UNMATCHED.casefold(): title})
    check, run = check_then_ingest(candidates, jobs=mapped)
    assert check.without_job == 0
    assert_the_check_counted_what_the_ingest_made(check, run)


def _rows(n: int) -> list[dict[str, Any]]:
    return [
        {"id": f"c{i}", "skills": f"Python and SQL, {i} years of data engineering", "notes": ""}
        for i in range(n)
    ]


@pytest.mark.parametrize("long_rows", [services.LONG_ROWS_LEAVE_OUT, services.LONG_ROWS_TRUNCATE])
def test_every_kind_of_row_counted_once(tmp_path: Path, long_rows: str) -> None:
    rows = _rows(12)
    rows[3]["id"] = rows[2]["id"]  # a duplicate ID
    rows[4]["id"] = ""  # a missing one
    rows[5]["skills"] = rows[1]["skills"].upper()  # a copy, case aside
    rows[6]["skills"] = "N/A"  # too little text
    rows[7]["skills"] = "Python " * 40_000  # too long for the model
    path = write_csv(tmp_path / "kinds.csv", rows)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("c99,one,two,three,four\n\n")  # a row too wide, and a blank one
    check, run = check_then_ingest(path, long_rows=long_rows, id_column="id")
    assert check.problem_count == 3 and check.empty_rows == 1
    assert check.copy_count == 1 and check.little_count == 1 and check.long_count == 1
    assert_the_check_counted_what_the_ingest_made(check, run)


def test_the_check_page_reads_the_whole_file_once(owner: Any) -> None:
    # The ID guess, the job columns, their contact details, the position column and the
    # rows' count were five readings of the file; one now (services.intake_propose).
    file = upload(resumes(), owner)
    client = Client()
    client.force_login(owner)
    with (
        mock.patch.object(csvio, "read_records", wraps=csvio.read_records) as read,
        mock.patch.object(csvio, "count_records", wraps=csvio.count_records) as count,
    ):
        page = client.get(reverse("web:prepare", args=[file.id]))
    assert page.status_code == 200
    assert (read.call_count, count.call_count) == (1, 0)
