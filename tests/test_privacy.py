"""Identity kept from the model (issue 9, part 5): columns and text.

Checked where it matters, in the requests the (fake) Ollama server received: no value of a
column kept for results or audit only, and no e-mail, phone number, link or the candidate's
own name from the text, ever reaches the model. The download keeps the original text.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from devtools.fake_ollama import FakeOllama
from evaluations import services
from evaluations.models import Item, Run
from tests.support.files import read_output, resumes, write_csv
from tests.support.processes import evaluate, finish, query, subprocess_env
from tests.support.runs import start_run

pytestmark = pytest.mark.django_db(transaction=True)

HEADER = [
    "id",
    "name",
    "email",
    "phone",
    "gender",
    "race_ethnicity",
    "Veteran Status",
    "recruiter_rating",
    "position",
    "cover_note",
]
PEOPLE = [
    [
        "c1",
        "Amara Okafor",
        "amara.okafor@mail.example",
        "+1 (415) 555-0132",
        "Female",
        "Black or African American",
        "Protected veteran",
        "4.5",
        "Data engineer",
        "I am Amara Okafor (amara.okafor@mail.example, +1 (415) 555-0132). Portfolio: "
        "https://amara.dev/projects and github.com/amarao. Built Spark pipelines for 6 years.",
    ],
    [
        "c2",
        "Lars Pettersson",
        "lars@example.org",
        "020 7946 0958",
        "Male",
        "White",
        "Not a veteran",
        "2",
        "Data engineer",
        "Lars Pettersson here. Call 415.555.0199 or mail lars@example.org; see "
        "www.larsp.example.com. Python, SQL, dbt since 2016.",
    ],
]
# Values that must never reach the model, wherever they came from.
SECRETS = [
    "Amara",
    "Okafor",
    "amara.okafor@mail.example",
    "555-0132",
    "Female",
    "Black or African American",
    "Protected veteran",
    "4.5",
    "https://amara.dev",
    "github.com/amarao",
    "Lars",
    "Pettersson",
    "lars@example.org",
    "415.555.0199",
    "www.larsp",
    "White",
    "Not a veteran",
]


def people_csv(path: Path, header: list[str] = HEADER, people: list[list[str]] = PEOPLE) -> Path:
    return write_csv(path, [dict(zip(header, row, strict=True)) for row in people])


def sent_text(fake: FakeOllama) -> str:
    return "\n".join(
        message["content"] for request in fake.requests for message in request["messages"]
    )


def test_identity_in_columns_and_text_never_reaches_the_model(
    consistency: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    source = people_csv(tmp_path / "people.csv")

    run = start_run(source, roles=None)

    assert run.status == Run.Status.COMPLETED, run.status_message
    roles = run.columns["roles"]
    assert [c for c in HEADER if roles[c] == services.ROLE_AUDIT_ONLY] == [
        "gender",
        "race_ethnicity",
        "Veteran Status",
    ]
    assert roles["recruiter_rating"] == roles["name"] == services.ROLE_RESULTS
    sent = sent_text(fake_ollama)
    assert "Spark pipelines" in sent and "Python, SQL, dbt" in sent  # the résumé itself
    leaked = [secret for secret in SECRETS if secret.lower() in sent.lower()]
    assert leaked == []
    for placeholder in ("[NAME]", "[EMAIL]", "[PHONE]", "[URL]"):
        assert placeholder in sent

    first = Item.objects.get(run=run, custom_id="c1")
    assert first.result["redacted"] == {"email": 1, "url": 2, "phone": 1, "name": 1}
    assert run.redacted_count == sum(
        sum(item.result.get("redacted", {}).values()) for item in Item.objects.filter(run=run)
    )
    # The person's download keeps the original text and every column.
    rows = {row["id"]: row for row in read_output(run)}
    assert rows["c1"]["cover_note"] == PEOPLE[0][9] and rows["c1"]["gender"] == "Female"


def test_a_run_may_show_the_text_as_it_is(
    consistency: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    source = people_csv(tmp_path / "people.csv")

    run = start_run(source, roles=None, redact=False)

    sent = sent_text(fake_ollama)
    assert "amara.okafor@mail.example" in sent and "[EMAIL]" not in sent
    assert "Female" not in sent  # audit-only columns stay out either way
    assert run.redacted_count == 0


@pytest.mark.resumes35
def test_the_resumes_send_no_earlier_score_and_no_links(
    consistency: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    source = resumes()
    with source.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))

    run = start_run(source, roles=None, id_column=None)

    assert run.status == Run.Status.COMPLETED, run.status_message
    assert run.columns["roles"]["matched_score"] == services.ROLE_RESULTS
    sent = sent_text(fake_ollama)
    assert "matched_score" not in sent
    assert "://" not in sent and "www." not in sent
    assert run.redacted_count >= sum("://" in r["company_urls"] for r in rows) > 0


@pytest.mark.slow
def test_evaluate_marks_audit_columns_from_the_command_line(
    tmp_path: Path, fake_ollama: FakeOllama
) -> None:
    header = [*HEADER, "first_language"]
    people = [[*row, lang] for row, lang in zip(PEOPLE, ["Igbo", "Swedish"], strict=True)]
    source = people_csv(tmp_path / "people.csv", header, people)
    env = subprocess_env(tmp_path, fake_ollama)

    output = finish(evaluate(source, tmp_path / "out.csv", env, "--audit-column", "first_language"))

    assert (
        "Not shown to the model (audit only): first_language, marked with --audit-column" in output
    )
    assert "Not shown to the model (audit only): gender, a protected characteristic" in output
    assert "recruiter_rating, an earlier judgement" in output
    sent = sent_text(fake_ollama)
    assert "Igbo" not in sent and "Swedish" not in sent and "Amara" not in sent
    # This run: on the PostgreSQL pass every subprocess shares DATABASE_URL's database.
    (columns,) = query(env, "SELECT columns FROM evaluations_run ORDER BY id DESC LIMIT 1")[0]
    columns = columns if isinstance(columns, dict) else json.loads(columns)  # PG: decoded
    assert columns["roles"]["first_language"] == services.ROLE_AUDIT_ONLY


@pytest.mark.slow
def test_evaluate_refuses_an_audit_column_the_file_does_not_have(
    tmp_path: Path, fake_ollama: FakeOllama
) -> None:
    source = people_csv(tmp_path / "people.csv")
    process = evaluate(
        source,
        tmp_path / "out.csv",
        subprocess_env(tmp_path, fake_ollama),
        "--audit-column",
        "Gender ",
    )
    output, _ = process.communicate(timeout=120)

    assert process.returncode != 0
    assert "--audit-column Gender : the file has no such column" in output


@pytest.mark.slow
def test_the_phone_region_is_set_as_the_readme_says(
    tmp_path: Path, fake_ollama: FakeOllama
) -> None:
    """A UK number written without its country code is a phone number only for GB."""
    rows = [["c1", "Ana Ruiz", "", "", "", "", "", "", "Analyst", "Ring me on 020 7946 0958."]]
    source = people_csv(tmp_path / "people.csv", HEADER, rows)

    finish(evaluate(source, tmp_path / "us.csv", subprocess_env(tmp_path / "us", fake_ollama)))
    assert "020 7946 0958" in sent_text(fake_ollama)
    fake_ollama.requests.clear()

    env = subprocess_env(tmp_path / "gb", fake_ollama, HRBATCH_PHONE_REGION="gb")
    finish(evaluate(source, tmp_path / "gb.csv", env))
    sent = sent_text(fake_ollama)
    assert "020 7946 0958" not in sent and "Ring me on [PHONE]." in sent
