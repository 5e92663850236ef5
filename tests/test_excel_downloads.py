"""Formula injection (issue 17, item 3): every cell of every download meant for Excel, the
header row included, is defused; the plain downloads keep every value exactly.

A download is for Excel when it starts with a byte-order mark: the scored CSV's Excel
version (web and `evaluate --excel`), the shortlist, the shortlists per job, the rows with
problems and the run's report. The file below puts OWASP's trigger characters (= + - @,
tab, carriage return) in column names, in candidates' cells, in job titles, in the audit
groups and in the run's name; a plain number such as -5 stays a number."""

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
from devtools.synthetic import generate_candidates
from evaluations import services
from evaluations.models import Run
from tests.support.files import write_csv
from tests.support.processes import evaluate, finish, subprocess_env
from tests.support.runs import start_run

pytestmark = pytest.mark.django_db(transaction=True)

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?[0-9][0-9,]*(\.[0-9]*)?([eE][+-]?[0-9]+)?")
# Column names a spreadsheet would run (a header's tab or carriage return is trimmed when
# the file is read, so those two are tried in the cells).
EVIL_COLUMNS = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)"]
EVIL_CELLS = ["=SUM(A1)", "+44 20 1234", "-2+3", "@mention", "\tTabbed", "\rReturned"]
EVIL_JOB = '=CONCAT("Data ","Engineer")'  # no link: a job's links are redacted
EVIL_GROUP = "@Female"
EVIL_NAME = "=cmd|' /C calc'!A0"


def evil_csv(path: Path, n: int = 24) -> Path:
    """Synthetic candidates with trigger characters everywhere a download shows them; the
    last row repeats the first one's ID (a row with a problem, for rejected.csv)."""
    rows = []
    for i, person in enumerate(generate_candidates(n, seed=3)):
        person.pop("position")
        row = {
            **person,
            "years_experience": "-5" if i == 0 else person["years_experience"],
            "cover_note": EVIL_CELLS[i % len(EVIL_CELLS)],
            **{
                column: EVIL_CELLS[(i + k) % len(EVIL_CELLS)]
                for k, column in enumerate(EVIL_COLUMNS)
            },
            "job_title": EVIL_JOB if i % 2 else "-Staff Nurse",
            "sex": EVIL_GROUP if i % 2 else "+Male",
        }
        rows.append(row)
    rows.append({**rows[1], "cover_note": "=1+1"})  # the same ID as row 2: a problem
    return write_csv(path, rows)


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _body(response: Any) -> bytes:
    assert response.status_code == 200, response
    return b"".join(response.streaming_content)


def defused(body: bytes) -> list[list[str]]:
    """The rows of an Excel download, checked: a byte-order mark, and no cell (header
    included) that a spreadsheet would run as a formula, plain numbers aside."""
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    live = [
        cell
        for row in rows
        for cell in row
        if cell.startswith(TRIGGERS) and not PLAIN_NUMBER.fullmatch(cell)
    ]
    assert live == [], live
    return rows


def cells(rows: list[list[str]]) -> set[str]:
    return {cell for row in rows for cell in row}


@pytest.fixture
def evil_run(owner: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path) -> Run:
    run = start_run(evil_csv(tmp_path / "evil.csv"), owner=owner, skip_invalid=True)
    assert run.status == Run.Status.COMPLETED, run.status_message
    assert run.failed_count == 0 and run.done_count == 24
    services.run_rename(run=run, name=EVIL_NAME)
    return run


def test_the_scored_csv_for_excel_defuses_the_header_and_every_cell_and_the_plain_is_exact(
    owner: Any, evil_run: Run, tmp_path: Path
) -> None:
    client = _client(owner)
    url = reverse("web:run_download", args=[evil_run.public_id])

    rows = defused(_body(client.get(url, {"excel": "1"})))
    assert {f"'{name}" for name in EVIL_COLUMNS} <= set(rows[0])
    assert {f"'{value}" for value in EVIL_CELLS} <= cells(rows)
    assert "-5" in {row[rows[0].index("years_experience")] for row in rows}  # still a number

    # For other programs: the values and names exactly as uploaded, and the stored file.
    with open(tmp_path / "evil.csv", encoding="utf-8", newline="") as handle:
        original = list(csv.reader(handle))[:-1]  # the repeated ID is not scored
    plain = _body(client.get(url))
    assert not plain.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(plain.decode("utf-8"), newline="")))
    width = len(original[0])
    assert [row[:width] for row in rows] == original
    assert evil_run.output_file is not None
    assert evil_run.output_file.abspath.read_bytes() == plain


def test_the_shortlists_defuse_the_header_and_the_job_titles(owner: Any, evil_run: Run) -> None:
    client = _client(owner)

    shortlist = reverse("web:run_shortlist_download", args=[evil_run.public_id])
    rows = defused(_body(client.get(shortlist)))
    assert {f"'{name}" for name in EVIL_COLUMNS} <= set(rows[0])
    assert {f"'{EVIL_JOB}", "'-Staff Nurse"} <= {row[rows[0].index("job")] for row in rows}

    per_job = reverse("web:run_shortlist_per_job_download", args=[evil_run.public_id])
    rows = defused(_body(client.get(per_job, {"top": "3"})))
    assert {f"'{name}" for name in EVIL_COLUMNS} <= set(rows[0])
    assert {row[0] for row in rows[1:]} == {f"'{EVIL_JOB}", "'-Staff Nurse"}


def test_the_report_defuses_the_run_name_the_groups_and_the_jobs(owner: Any, evil_run: Run) -> None:
    body = _body(_client(owner).get(reverse("web:run_report", args=[evil_run.public_id])))

    rows = defused(body)
    header = rows[0]
    named = {row[header.index("value")] for row in rows if row[header.index("criterion")] == "name"}
    assert named == {f"'{EVIL_NAME}"}
    groups = {row[header.index("group")] for row in rows if row[0] == "impact"}
    assert {f"'{EVIL_GROUP}", "'+Male"} <= groups
    assert {f"'{EVIL_JOB}", "'-Staff Nurse"} <= {row[header.index("job")] for row in rows}


def test_the_rows_with_problems_defuse_the_header(owner: Any, evil_run: Run) -> None:
    url = reverse("web:rejected_rows", args=[evil_run.input_file_id])

    rows = defused(_body(_client(owner).get(url, {"id_column": "id"})))

    assert {f"'{name}" for name in EVIL_COLUMNS} <= set(rows[0])
    assert len(rows) == 2 and "'=1+1" in rows[1]


@pytest.mark.slow
def test_evaluate_excel_defuses_the_header_and_every_cell(
    tmp_path: Path, fake_ollama: FakeOllama
) -> None:
    source = evil_csv(tmp_path / "evil.csv")
    env = subprocess_env(tmp_path, fake_ollama)
    out = tmp_path / "scored.csv"

    finish(evaluate(source, out, env, "--excel"))

    rows = defused(out.read_bytes())
    assert {f"'{name}" for name in EVIL_COLUMNS} <= set(rows[0])
    assert {f"'{value}" for value in EVIL_CELLS} <= cells(rows)
    assert "-5" in {row[rows[0].index("years_experience")] for row in rows}
