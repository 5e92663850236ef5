"""Jobs read from the candidate file: the columns that describe the job, one Job per distinct
job text, each candidate scored against their own job's text (the shared prompt prefix), and
the requests grouped job by job so that the server's slots keep one job's prefix cached."""

from __future__ import annotations

import csv
import html
import itertools
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from devtools.fake_ollama import FakeOllama
from evaluations import csvio, metrics, prompting, services
from evaluations.models import ColumnRole, Item, Job, Run, RunColumns
from tests.support.files import resume_rows, resumes
from tests.support.processes import evaluate, finish, subprocess_env
from tests.support.runs import start_run, upload

# age_requirement is named like the job's too, but an age limit is not what a candidate
# should be scored against: it stays in the results, away from the model.
JOB_COLUMNS = [
    "job_position_name",
    "educationaL_requirements",
    "experiencere_requirement",
    "responsibilities.1",
    "skills_required",
]


def _rows() -> list[dict[str, str]]:
    return resume_rows()


def _job_counts() -> Counter[tuple[str, ...]]:
    """Candidates per distinct job text, as Python's csv module reads the file."""
    return Counter(tuple(row[c] for c in JOB_COLUMNS) for row in _rows())


def _job_of(system: str) -> str:
    """The job's text at the end of a request's system message ("" without one)."""
    _, found, job = system.partition(f"\n\n{prompting.JOB_HEADING}\n")
    return job.rsplit("\n\nScore the candidate", 1)[0] if found else ""


@pytest.mark.resumes35
def test_the_resume_files_job_columns_start_as_describing_the_job_and_say_why() -> None:
    layout = csvio.sniff(resumes())
    roles = services.default_roles(layout.header, None)

    # The header's BOM (before job_position_name) is gone: the name matches as it reads.
    assert [c for c in layout.header if roles[c] == services.ROLE_JOB] == JOB_COLUMNS
    # The candidate's own responsibilities and skills stay the candidate's; the human
    # score stays out of the model's view.
    assert roles["responsibilities"] == roles["skills"] == services.ROLE_MODEL
    assert roles["matched_score"] == services.ROLE_RESULTS
    assert ColumnRole.JOB.label == "Describes the job"
    for column in [c for c in JOB_COLUMNS if c != "responsibilities.1"]:
        reason = services.ingest.role_reason(column, header=layout.header)
        assert "describes the job" in reason and "requirement" in reason, column
    assert roles["age_requirement"] == services.ROLE_RESULTS
    assert "protected characteristic (such as age)" in services.ingest.role_reason(
        "age_requirement", header=layout.header
    )
    repeated = services.ingest.role_reason("responsibilities.1", header=layout.header)
    assert "second “responsibilities” column" in repeated
    assert "“responsibilities” stays the candidate's" in repeated
    # A repeated column with no job column before it is not taken for the job.
    assert services.default_roles(["skills", "skills.1"], None)["skills.1"] == "model"
    # Protected characteristics and record numbers never describe the job.
    plain = services.default_roles(["job_id", "age", "Resume ID", "skills"], None)
    assert services.ROLE_JOB not in plain.values()


@pytest.mark.resumes35
@pytest.mark.django_db
def test_rows_with_the_same_job_text_share_one_job_of_the_run() -> None:
    rows = _rows()
    run = services.runs.run_create(owner=None, input_file=upload(resumes()), start=False)

    assert run.status == Run.Status.VALIDATING and run.total_count == len(rows)
    distinct = _job_counts()
    jobs = Job.objects.filter(run=run)
    assert jobs.count() == len(distinct) > 10
    assert not Item.objects.filter(run=run, job=None).exists()
    items = list(Item.objects.filter(run=run).select_related("job").order_by("line"))
    for item, row in zip(items, rows, strict=True):
        job = item.job
        assert job is not None and job.title == row["job_position_name"].strip()
        lines = job.description.splitlines()
        assert lines[0] == f"Job: {row['job_position_name'].strip()}"
        for column in JOB_COLUMNS[1:]:
            value = row[column].strip()
            # One line per filled-in job column; an empty one says nothing.
            assert (
                (f"{column}: {value}" in job.description)
                if value
                else (f"\n{column}:" not in job.description)
            )
        # The job's columns are not the candidate's: out of the fields the model reads
        # as the candidate, kept for the download.
        assert not set(JOB_COLUMNS) & set(item.input)
        assert {c: item.extra[c] for c in JOB_COLUMNS} == {c: row[c] for c in JOB_COLUMNS}
        # The age limit some jobs state is kept for the results, never in the job's text.
        assert item.extra["age_requirement"] == row["age_requirement"]
        assert "Age " not in job.description
    by_job = {job.pk: job.items.count() for job in jobs}
    assert sorted(by_job.values(), reverse=True) == sorted(distinct.values(), reverse=True)


@pytest.mark.resumes35
@pytest.mark.django_db(transaction=True)
def test_each_request_carries_its_candidates_job_and_never_another_jobs(
    engine_settings: Any, fake_ollama: FakeOllama
) -> None:
    run = start_run(resumes(), id_column=None)

    assert run.status == Run.Status.COMPLETED, run.status_message
    assert run.done_count == len(_rows()) == len(fake_ollama.requests)
    jobs = {job.description: job for job in Job.objects.filter(run=run)}
    view = services.ModelView(run)
    items = {
        prompting.candidate_text(view(item)[0]): item
        for item in Item.objects.filter(run=run).select_related("job")
    }
    bases = set()
    for request in fake_ollama.requests:
        system, user = (m["content"] for m in request["messages"])
        item = items[user.removeprefix("<candidate>\n").removesuffix("\n</candidate>")]
        assert item.job is not None and _job_of(system) == item.job.description
        others = [text for text in jobs if text != item.job.description]
        assert not any(text in system for text in others)
        assert "against this job's requirements" in system
        # The job's values are in the system message, never in the candidate's.
        assert not any(line.split(":")[0] in JOB_COLUMNS for line in user.splitlines())
        assert item.extra["experiencere_requirement"].strip() in system
        bases.add(system.split(f"\n\n{prompting.JOB_HEADING}")[0])
    # Instructions and rubric: one prefix for every job; the rest byte-identical per job.
    assert len(bases) == 1
    by_job = {}
    for request in fake_ollama.requests:
        system = request["messages"][0]["content"]
        by_job.setdefault(_job_of(system), set()).add(system)
    assert len(by_job) == len(_job_counts())
    assert all(len(systems) == 1 for systems in by_job.values())
    # Without jobs the prompt is what it always was: the run's hash is the rubric's.
    assert run.prompt_hash == services.plan_for_run(run).hash
    assert services.plan_for_run(run).system == services.plan_for_run(run, job="").system


@pytest.mark.resumes35
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("chunk_size", [500, 5])
def test_one_jobs_requests_reach_the_server_one_after_another(
    engine_settings: Any, fake_ollama: FakeOllama, chunk_size: int
) -> None:
    # Chunks of 5: small jobs share a chunk, the jobs of 6 and 7 get chunks of their own.
    engine_settings.HRBATCH = {
        **engine_settings.HRBATCH,
        "CONCURRENCY": 1,
        "CHUNK_SIZE": chunk_size,
    }
    run = start_run(resumes(), id_column=None)

    assert run.status == Run.Status.COMPLETED, run.status_message
    order = [_job_of(r["messages"][0]["content"]) for r in fake_ollama.requests]
    runs_of_one_job = [job for job, _ in itertools.groupby(order)]
    # As many stretches as jobs: never back to a job once another one started.
    jobs = len(_job_counts())
    assert len(runs_of_one_job) == len(set(order)) == jobs
    # In the file the jobs are interleaved: the grouping is the engine's doing.
    in_file = [row["job_position_name"] for row in _rows()]
    assert len([job for job, _ in itertools.groupby(in_file)]) > jobs
    # The run page's cache figure (from the server's timings): most of each prompt was
    # found cached, the job's prefix with the rubric's.
    saved = metrics.token_savings_pct(run)
    assert saved is not None and saved > 50, saved
    assert fake_ollama.cached_tokens_total > fake_ollama.prompt_tokens_total / 2


@pytest.mark.django_db(transaction=True)
def test_candidates_without_a_job_keep_the_prompt_of_a_run_without_jobs(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    engine_settings.HRBATCH = {**engine_settings.HRBATCH, "CONCURRENCY": 1, "CHUNK_SIZE": 3}
    jobs = [
        ("Data Engineer", "SQL"),
        ("", ""),
        ("Nurse", "BLS"),
        ("Data Engineer", "SQL"),
        ("", ""),
        ("Nurse", "BLS"),
        ("data  engineer", "sql"),
        ("Nurse", ""),
    ]
    rows = [
        {"id": f"c{i}", "skills": f"Python {i}", "job_title": title, "skills_required": need}
        for i, (title, need) in enumerate(jobs)
    ]
    source = tmp_path / "c.csv"
    with open(source, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    run = start_run(source)

    assert run.status == Run.Status.COMPLETED and run.done_count == 8
    # Same text up to spacing and case: one job; "Nurse" without its requirement: another.
    assert sorted(Job.objects.filter(run=run).values_list("description", flat=True)) == [
        "Job: Data Engineer\nskills_required: SQL",
        "Job: Nurse",
        "Job: Nurse\nskills_required: BLS",
    ]
    assert list(
        Item.objects.filter(run=run, job=None).order_by("id").values_list("custom_id", flat=True)
    ) == ["c1", "c4"]
    systems = [r["messages"][0]["content"] for r in fake_ollama.requests]
    plain = services.plan_for_run(run).system
    # The candidates without a job go first, with the prompt of a run without jobs.
    assert systems[:2] == [plain, plain]
    order = [_job_of(system) for system in systems[2:]]
    assert len([job for job, _ in itertools.groupby(order)]) == 3


@pytest.mark.resumes35
@pytest.mark.django_db(transaction=True)
def test_a_pack_holds_the_candidates_of_one_job(
    engine_settings: Any, fake_ollama: FakeOllama
) -> None:
    run = start_run(resumes(), id_column=None, pack_size=4)

    assert run.status == Run.Status.COMPLETED, run.status_message
    assert run.done_count == len(_rows())
    view = services.ModelView(run)
    items = {
        prompting.candidate_text(view(item)[0]): item
        for item in Item.objects.filter(run=run).select_related("job")
    }
    packed = 0
    for request in fake_ollama.requests:
        system, user = (m["content"] for m in request["messages"])
        if user.startswith("<candidate>\n"):  # the agreement sample, scored alone
            candidates = [user.removeprefix("<candidate>\n").removesuffix("\n</candidate>")]
        else:
            candidates = re.findall(r"<candidate_\d+>\n(.*?)\n</candidate_\d+>", user, re.DOTALL)
            packed += len(candidates)
        assert 1 <= len(candidates) <= 4
        # Every candidate of the request applied for the job its system message names.
        assert {items[text].job.description for text in candidates} == {_job_of(system)}
    assert packed == len(_rows())


@pytest.mark.resumes35
@pytest.mark.django_db(transaction=True)
def test_the_item_page_shows_the_job_the_ai_saw(
    engine_settings: Any, fake_ollama: FakeOllama, owner: Any
) -> None:
    run = start_run(resumes(), owner=owner, id_column=None)
    item = Item.objects.filter(run=run).select_related("job").order_by("line").first()
    assert item is not None and item.job is not None
    client = Client()
    client.force_login(owner)

    page = client.get(reverse("web:item", args=[run.public_id, item.pk])).content.decode()

    assert f"Instructions and the job “{html.escape(item.job.title)}”" in page
    assert prompting.JOB_HEADING in page
    sent = next(
        r["messages"][0]["content"]
        for r in fake_ollama.requests
        if _job_of(r["messages"][0]["content"]) == item.job.description
    )
    assert html.escape(sent, quote=False) in page or html.escape(sent) in page


@pytest.mark.resumes35
@pytest.mark.django_db
def test_the_check_page_proposes_the_job_columns_and_counts_candidates_per_job(
    owner: Any,
) -> None:
    file = upload(resumes(), owner)
    client = Client()
    client.force_login(owner)

    page = client.get(reverse("web:prepare", args=[file.id])).content.decode()
    assert page.count('value="job" selected') == len(JOB_COLUMNS)
    assert "Starts this way: it describes the job the candidate applied for" in page
    assert "Describes the job" in page

    layout = csvio.sniff(file.abspath)
    roles = services.default_roles(layout.header, None)
    query = {f"role_{i}": roles[c] for i, c in enumerate(layout.header)}
    checks = client.get(
        reverse("web:check_rows", args=[file.id]), {**query, "id_column": services.ROW_NUMBER}
    )
    text = checks.content.decode()
    counts = _job_counts()
    assert f"{len(counts)} jobs" in text and "job_position_name" in text
    (biggest, candidates), *_ = counts.most_common(1)
    assert f'{html.escape(biggest[0])}</td><td class="num">{candidates}' in text
    assert f"… and {len(counts) - 10} more jobs" in text
    # A person who says the file has no job: no jobs table.
    query = {k: ("model" if v == "job" else v) for k, v in query.items()}
    checks = client.get(
        reverse("web:check_rows", args=[file.id]), {**query, "id_column": services.ROW_NUMBER}
    )
    assert "jobs-summary" not in checks.content.decode()


def _expected_job(row: dict[str, str]) -> str:
    lines = ["Job: " + " ".join(row["job_position_name"].split())]
    for column in ("experiencere_requirement", "skills_required"):
        if row[column].strip():
            lines.append(f"{column}: {row[column].strip()}")
    return "\n".join(lines)


@pytest.mark.resumes35
def test_evaluate_job_columns_scores_each_candidate_against_their_job(
    tmp_path: Path, fake_ollama: FakeOllama
) -> None:
    out = tmp_path / "scored.csv"
    env = subprocess_env(tmp_path, fake_ollama)
    chosen = "job_position_name,skills_required,experiencere_requirement"

    output = finish(evaluate(resumes(), out, env, "--job-columns", chosen), timeout=300)

    listed = "job_position_name, experiencere_requirement, skills_required"  # the file's order
    assert (
        f"Describe the job (--job-columns; the model reads them once per job): {listed}." in output
    )
    # A column named like the job's but not chosen is what its name also says.
    assert (
        "Not shown to the model (kept): age_requirement, a job requirement on a protected "
        "characteristic" in output
    )
    rows = _rows()
    distinct = {_expected_job(row) for row in rows}
    assert f"candidates for {len(distinct)} jobs" in output
    assert len(fake_ollama.requests) == len(rows)
    for request in fake_ollama.requests:
        system, user = (m["content"] for m in request["messages"])
        job = _job_of(system)
        assert job.startswith("Job: ")
        # Only the chosen columns describe the job; the others stay the candidate's.
        assert "educationaL_requirements:" not in job
        assert "educationaL_requirements:" in user
        assert not any(line.split(":")[0] in chosen.split(",") for line in user.splitlines())
        # Exactly the job text of a row of the file, its columns in the file's order.
        assert job in {_expected_job(row) for row in rows}
    with open(out, encoding="utf-8", newline="") as handle:
        scored = list(csv.DictReader(handle))
    assert len(scored) == len(rows) and all(r["status"] == "done" for r in scored)
    # The job columns are in the download exactly as in the file.
    assert [r["skills_required"] for r in scored] == [r["skills_required"] for r in rows]


@pytest.mark.django_db
def test_what_a_job_adds_counts_against_what_the_model_can_read(
    settings: Any, tmp_path: Path
) -> None:
    settings.HRBATCH = {**settings.HRBATCH, "MAX_NUM_CTX": 2048}
    limit = services.ingest.candidate_chars_limit(rubric=services.rubric_default())
    fits = "x" * (limit - 200)  # "notes: " and this: fits alone, not with the job
    source = tmp_path / "c.csv"
    with open(source, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "notes", "job_title", "skills_required"])
        writer.writerow(["c1", fits, "Analyst", "SQL; " * 100])
        writer.writerow(["c2", "short", "Analyst", "SQL; " * 100])
    file = upload(source)
    roles = {"id": "id", "notes": "model", "job_title": "job", "skills_required": "job"}

    check = services.file_check(input_file=file, intake=RunColumns(id_column="id", roles=roles))
    assert [row for row, _ in check.long_rows] == [2]
    alone = services.file_check(
        input_file=file,
        intake=RunColumns(id_column="id", roles={**roles, "skills_required": "ignore"}),
    )
    assert alone.long_rows == []
    # The ingest agrees: left out, when that is the choice.
    run = services.runs.run_create(
        owner=None,
        input_file=file,
        start=False,
        intake=RunColumns(id_column="id", roles=roles, long_rows=services.LONG_ROWS_LEAVE_OUT),
    )
    assert list(Item.objects.filter(run=run).values_list("custom_id", flat=True)) == ["c2"]
