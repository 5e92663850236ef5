"""Identity kept from the model (issue 9, part 5): columns and text.

Checked where it matters, in the requests the (fake) Ollama server received: no value of a
column kept for results or audit only, and no e-mail, phone number, link or the candidate's
own name from the text, ever reaches the model. The download keeps the original text.
"""

from __future__ import annotations

import csv
import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from devtools.fake_ollama import FakeOllama
from evaluations import services
from evaluations.models import Explanation, Item, Run
from tests.support.files import read_output, resumes, write_csv
from tests.support.processes import evaluate, finish, query, subprocess_env
from tests.support.runs import report_json, start_run

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


# --- The job's text (issue 17, item 14) and name columns that hold no names (item 15) ----

JOB_HEADER = ["id", "name", "job_title", "job_description", "cover_note"]
JOB_ROLES = {
    "id": services.ROLE_ID,
    "name": services.ROLE_RESULTS,
    "job_title": services.ROLE_JOB,
    "job_description": services.ROLE_JOB,
    "cover_note": services.ROLE_MODEL,
}
ACME = "Spark pipelines. Questions: talent@acme.example or +1 (415) 555-0100."
JOB_PEOPLE = [
    ["c1", "Amara Okafor", "Data Engineer", ACME, "Built Spark pipelines for 6 years."],
    # An export that put the candidate's own profile where the job's title goes.
    [
        "c2",
        "Lars Pettersson",
        "www.linkedin.com/in/larspettersson",
        "Lars Pettersson, open to work",
        "Python, SQL, dbt since 2016.",
    ],
    ["c3", "Ana Lopez", "Data Engineer", ACME, "Five years of Airflow."],
]


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _prompts(page: str) -> str:
    """The "Exactly what the AI saw" blocks of a candidate's page, as text."""
    return html.unescape("\n".join(re.findall(r'<pre class="prompt">(.*?)</pre>', page, re.S)))


def test_identity_in_the_job_columns_never_reaches_the_model_and_is_counted(
    consistency: Any, fake_ollama: FakeOllama, tmp_path: Path, owner: Any
) -> None:
    source = people_csv(tmp_path / "jobs.csv", JOB_HEADER, JOB_PEOPLE)

    run = start_run(source, owner=owner, roles=JOB_ROLES)

    assert run.status == Run.Status.COMPLETED, run.status_message
    sent = sent_text(fake_ollama)
    assert "Spark pipelines" in sent and "Python, SQL, dbt" in sent
    secrets = [
        "talent@acme.example",
        "555-0100",
        "linkedin",
        "larspettersson",
        "Lars",
        "Pettersson",
    ]
    assert [secret for secret in secrets if secret.lower() in sent.lower()] == []
    systems = {request["messages"][0]["content"] for request in fake_ollama.requests}
    assert any(
        "Job: Data Engineer\njob_description: Spark pipelines. Questions: [EMAIL] or [PHONE]."
        in system
        for system in systems
    )
    assert any("Job: [URL]\njob_description: [NAME], open to work" in s for s in systems)
    # Two jobs (c1 and c3 apply for the same one), four placeholders in their text.
    assert run.jobs.count() == 2
    report = report_json(run)["run"]
    assert (report["redacted_in_jobs"], report["jobs_redacted"]) == (4, 2)
    client = _client(owner)
    page = client.get(reverse("web:run", args=[run.public_id])).content.decode()
    assert "In the jobs' text, 4 more were (in 2 jobs)." in html.unescape(" ".join(page.split()))
    # "What the AI saw" shows the job as the model read it.
    item = Item.objects.get(run=run, custom_id="c2")
    seen = _prompts(client.get(reverse("web:item", args=[run.public_id, item.pk])).content.decode())
    assert "Job: [URL]" in seen and "linkedin" not in seen and "Lars" not in seen
    # The person's download keeps the original text.
    rows = {row["id"]: row for row in read_output(run)}
    assert rows["c2"]["job_title"] == "www.linkedin.com/in/larspettersson"
    assert rows["c1"]["job_description"] == ACME


def test_a_saved_jobs_contact_details_are_hidden_from_the_model_too(
    consistency: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    services.job_save(
        job=None,
        author=None,
        title="Data Engineer",
        description="Builds our pipelines. Questions to hiring@acme.example.",
    )
    rows = [{"id": f"c{n}", "position": "data engineer", "skills": f"Spark {n}"} for n in range(3)]
    source = write_csv(tmp_path / "candidates.csv", rows)

    run = start_run(source, jobs=services.JobsChoice(position_column="position"))

    assert run.status == Run.Status.COMPLETED, run.status_message
    sent = sent_text(fake_ollama)
    assert "hiring@acme.example" not in sent and "Questions to [EMAIL]." in sent
    report = report_json(run)["run"]
    assert (report["redacted_in_jobs"], report["jobs_redacted"]) == (1, 1)


def test_a_column_of_links_is_not_proposed_as_describing_the_job(
    owner: Any, tmp_path: Path
) -> None:
    rows = [
        {
            "id": f"c{n}",
            "job_title": "www.linkedin.com/in/someone" if n == 3 else "Data Engineer",
            "job_requirements": "Python and SQL",
            "skills": "Spark",
        }
        for n in range(1, 11)
    ]
    source = write_csv(tmp_path / "export.csv", rows)
    client = _client(owner)
    response = client.post(reverse("web:upload"), {"file": source.open("rb")})

    page = client.get(response["Location"]).content.decode()

    title = page.split('name="role_1"', 1)[1].split("</tr>", 1)[0]
    assert f'<option value="{services.ROLE_RESULTS}" selected>' in title
    assert "links, e-mail addresses or phone numbers in 1 of 10 rows" in html.unescape(title)
    requirements = page.split('name="role_2"', 1)[1].split("</tr>", 1)[0]
    assert f'<option value="{services.ROLE_JOB}" selected>' in requirements
    # The same choice when a run is made without the check page.
    run = start_run(source, owner=owner, roles=None)
    assert run.columns["roles"]["job_title"] == services.ROLE_RESULTS
    assert run.columns["roles"]["job_requirements"] == services.ROLE_JOB


NOT_NAMES = [
    ["c1", "Linux • Managing", "Skills: Linux • Managing teams of five."],
    ["c2", "Ana Lopez", "Ana Lopez ran Linux fleets."],
    ["c3", "Not Provided", "Provided support for Windows."],
]


def test_a_name_column_holding_skills_takes_no_skills_out_of_the_text(
    consistency: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    source = people_csv(tmp_path / "people.csv", ["id", "name", "summary"], NOT_NAMES)

    run = start_run(source, roles=None)

    assert run.status == Run.Status.COMPLETED, run.status_message
    sent = sent_text(fake_ollama)
    assert "Skills: Linux • Managing teams of five." in sent
    assert "Provided support for Windows." in sent
    assert "[NAME] ran Linux fleets." in sent and "Lopez" not in sent


def test_the_check_page_says_when_a_name_column_does_not_hold_names(
    owner: Any, tmp_path: Path
) -> None:
    source = people_csv(tmp_path / "people.csv", ["id", "name", "summary"], NOT_NAMES)
    client = _client(owner)
    response = client.post(reverse("web:upload"), {"file": source.open("rb")})
    file_id = response["Location"].rstrip("/").split("/")[-1]

    checks = client.get(reverse("web:check_rows", args=[file_id]), {"id_column": "id"})

    text = html.unescape(" ".join(checks.content.decode().split()))
    assert (
        "“name” does not look like people's names in 2 of 3 rows: its words are not "
        "redacted there." in text
    )
    # A column of real names says nothing.
    people = people_csv(tmp_path / "real.csv")
    response = client.post(reverse("web:upload"), {"file": people.open("rb")})
    file_id = response["Location"].rstrip("/").split("/")[-1]
    checks = client.get(reverse("web:check_rows", args=[file_id]), {"id_column": "id"})
    assert "look like people's names" not in html.unescape(checks.content.decode())


def test_a_candidates_page_keeps_the_files_and_the_rubrics_order_on_every_database(
    consistency: Any, fake_ollama: FakeOllama, tmp_path: Path, owner: Any
) -> None:
    """PostgreSQL's jsonb gives an object's keys back shorter first (issue 17, item 27):
    what the AI saw, what was kept out of its view, what was hidden and the criteria an
    explanation disagrees with are listed in the file's and the rubric's order all the
    same (on the PostgreSQL pass of `make test` too)."""
    header = ["id", "full_name", "email", "summary_of_experience", "skills"]
    row = [
        "c1",
        "Amara Okafor",
        "amara@mail.example",
        "Amara Okafor: 6 years; amara@mail.example, +1 (415) 555-0132, amara.dev, github.com/a",
        "Spark",
    ]
    run = start_run(people_csv(tmp_path / "one.csv", header, [row]), owner=owner, roles=None)
    assert run.status == Run.Status.COMPLETED, run.status_message
    item = Item.objects.get(run=run)
    criteria = run.rubric.criteria if run.rubric else []
    Explanation.objects.create(
        item=item,
        model=run.model,
        rubric=run.rubric,
        criteria={
            c["key"]: {"rationale": "", "evidence": "", "would_score": 1, "stored_score": 2}
            for c in criteria
        },
    )

    page = _client(owner).get(reverse("web:item", args=[run.public_id, item.pk])).content.decode()

    text = html.unescape(" ".join(page.split()))
    seen = _prompts(page)
    assert seen.index("summary_of_experience: [NAME]: 6 years") < seen.index("skills: Spark")
    kept = page.split("Kept out of the AI", 1)[1].split("</dl>", 1)[0]
    assert kept.index("<dt>full_name</dt>") < kept.index("<dt>email</dt>")
    assert (
        "Hidden from the AI in this candidate's text: 1 e-mail address, 1 phone number, 2 "
        "links and 1 mention of their name" in text
    )
    labels = ", ".join(c.get("label") or c["key"] for c in criteria)
    assert f"would now give a different score for {labels}." in text


@pytest.mark.slow
def test_evaluate_says_which_job_column_holds_contacts_and_which_name_column_no_names(
    tmp_path: Path, fake_ollama: FakeOllama
) -> None:
    rows = [
        ["c1", "Linux • Managing", "Data Engineer", "Spark and Linux."],
        ["c2", "Ana Lopez", "www.linkedin.com/in/analopez", "Ana Lopez runs Airflow."],
        ["c3", "Lars Pettersson", "Data Engineer", "dbt."],
    ]
    source = people_csv(tmp_path / "export.csv", ["id", "name", "job_title", "summary"], rows)

    output = finish(evaluate(source, tmp_path / "out.csv", subprocess_env(tmp_path, fake_ollama)))

    said = " ".join(output.split())
    assert (
        "Not shown to the model (kept): job_title, its values are links, e-mail addresses or "
        "phone numbers in 1 of 3 rows" in said
    )
    assert "“name” does not look like people's names in 1 of 3 rows" in said
    sent = sent_text(fake_ollama)
    assert "Spark and Linux." in sent and "[NAME] runs Airflow." in sent
    assert "linkedin" not in sent
