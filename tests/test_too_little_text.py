"""Candidates with nothing to read (issue 17, item 21): placeholders such as "Not Provided"
count as empty, and a candidate with too little text is flagged `too_little_text` and never
sent to the AI, instead of getting scores made of noise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from devtools.fake_ollama import FakeOllama
from evaluations import flags, prompting, services
from evaluations.models import Item, Run, RunColumns
from tests.support.files import read_csv, read_output, write_csv
from tests.support.processes import ROOT, subprocess_env
from tests.support.runs import start_run, upload

ROWS = [
    {"id": "c1", "skills": "Python, SQL, Airflow", "summary": "Data engineer, 6 years"},
    {"id": "c2", "skills": "Not Provided", "summary": "N/A"},
    {"id": "c3", "skills": "Go, Kubernetes", "summary": "-"},
    {"id": "c4", "skills": "['N/A']", "summary": " none "},
    {"id": "c5", "skills": "[None]", "summary": "nan"},
    {"id": "c6", "skills": "Excel", "summary": "Accountant"},
]
EMPTY = ["c2", "c4", "c5"]


def _signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "value",
    [
        "",
        "Not Provided",
        "not provided",
        "  NOT   PROVIDED ",
        "N/A",
        "n/a",
        "NA",
        "-",
        "—",
        "none",
        "None",
        "null",
        "NaN",
        "[]",
        "[None]",
        "['N/A']",
        "['N/A', 'None']",
        '"none"',
        "keine Angabe",
        "non renseigné",
    ],
)
def test_a_placeholder_is_empty(value: str) -> None:
    assert flags.is_placeholder(value)


@pytest.mark.parametrize(
    "value", ["Python", "None of the above", "0", "C", "['Python', None]", "NA sales region"]
)
def test_a_value_is_not_a_placeholder(value: str) -> None:
    assert not flags.is_placeholder(value)


def test_the_text_the_ai_reads_leaves_placeholders_out() -> None:
    text = prompting.candidate_text({"skills": "Not Provided", "summary": "Python developer"})

    assert text == "summary: Python developer"
    assert prompting.candidate_text({"skills": "Not Provided", "summary": "[None]"}) == ""


@pytest.mark.django_db(transaction=True)
def test_the_check_page_counts_them_and_the_run_never_sends_them_to_the_ai(
    engine_settings: Any, fake_ollama: FakeOllama, owner: Any, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "pool.csv", ROWS)
    client = _signed_in(owner)
    file = upload(source, owner)

    checks = client.get(reverse("web:check_rows", args=[file.id]), {"id_column": "id"})
    html = checks.content.decode()
    assert "3 candidates (row 3, row 5, row 6) have too little text to score" in html
    assert "Every other row can be scored" in html

    run = services.runs.run_create(owner=owner, input_file=file, intake=RunColumns(id_column="id"))
    run.refresh_from_db()

    assert run.status == Run.Status.COMPLETED, run.status_message
    assert (run.done_count, run.failed_count, run.skipped_count) == (3, 0, 3)
    asked = "\n".join(r["messages"][-1]["content"] for r in fake_ollama.requests)
    assert len(fake_ollama.requests) == 3 and "Not Provided" not in asked
    skipped = Item.objects.filter(run=run, status=Item.Status.SKIPPED)
    assert sorted(skipped.values_list("custom_id", flat=True)) == EMPTY
    assert all(i.flags == flags.TOO_LITTLE_TEXT and "too little text" in i.error for i in skipped)

    # Not failed: nothing to retry, and a retry leaves them alone.
    assert services.run_retry_failed(run=run) == 0
    assert Item.objects.filter(run=run, status=Item.Status.SKIPPED).count() == 3

    rows = {row["id"]: row for row in read_output(run)}
    assert [rows[cid]["flags"] for cid in EMPTY] == ["too_little_text"] * 3
    assert [rows[cid]["status"] for cid in EMPTY] == ["skipped"] * 3
    assert all(rows[cid]["overall"] == "" for cid in EMPTY)
    assert rows["c2"]["skills"] == "Not Provided"  # the file's values come back as they were
    assert all(rows[cid]["flags"] == "" and rows[cid]["overall"] for cid in ["c1", "c3", "c6"])

    results = client.get(
        reverse("web:run_results", args=[run.public_id]), {"flag": flags.TOO_LITTLE_TEXT}
    ).content.decode()
    assert [cid for cid in ["c1", *EMPTY] if f">{cid}</a>" in results] == EMPTY
    assert results.count(">not scored</span>") == 3
    page = client.get(reverse("web:run", args=[run.public_id])).content.decode()
    assert "100.0%" in page and "Not scored" in page


@pytest.mark.django_db(transaction=True)
def test_a_file_with_nothing_to_read_ends_without_asking_the_ai(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    rows = [{"id": f"c{i}", "skills": "Not Provided"} for i in range(4)]

    run = start_run(write_csv(tmp_path / "empty.csv", rows))

    assert run.status == Run.Status.COMPLETED, run.status_message
    assert fake_ollama.requests == [] and run.skipped_count == 4
    assert run.percent == 100.0
    assert [row["flags"] for row in read_output(run)] == ["too_little_text"] * 4


@pytest.mark.slow
def test_the_threshold_is_set_in_the_environment(tmp_path: Path, fake_ollama: FakeOllama) -> None:
    source = write_csv(tmp_path / "pool.csv", ROWS)
    out = tmp_path / "scored.csv"
    # "Go, Kubernetes" holds 12 letters: enough by default, too little at 13.
    env = subprocess_env(tmp_path, fake_ollama, HRBATCH_MIN_TEXT_CHARS="13")

    done = subprocess.run(
        [sys.executable, "manage.py", "evaluate", str(source), "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 candidates (first: row 3, row 4, row 5 and 1 more) have too little" in done.stdout
    assert "4 not scored (too little text)" in done.stdout
    flagged = {row["id"]: row["flags"] for row in read_csv(out)}
    assert sorted(cid for cid, cell in flagged.items() if cell) == ["c2", "c3", "c4", "c5"]
