"""/v1 batches grouped by system message: lines whose opening system message(s) are the same
text share a group (a Job of the run), and the engine dispatches and sends a group's lines
together, as it does a rubric run's candidates job by job, so that a server slot keeps that
prefix cached. Nothing else about a batch changes: the output keeps the input's order and
custom_ids.

In-process tests run the real services and engine against the fake Ollama server (tasks
inline); the last one drives `manage.py serve` with the official `openai` SDK.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openai import OpenAI

from devtools import live
from devtools.fake_ollama import FakeOllama
from evaluations import engine, tasks
from evaluations.models import File, Item, Job, Run
from evaluations.services import batches
from tests.support.files import write_jsonl
from tests.support.runs import CHAT, MODEL, create_batch

# Three jobs, each described in full in the system message: the same bytes for every
# candidate of that job, the candidate alone in the user message.
SYSTEMS = [
    "You score applicants for the job below. Answer with one number from 1 to 10.\n"
    f"Job: {title}\nRequirements: {needs}"
    for title, needs in [
        ("Data Analyst", "SQL, Tableau, 2+ years of reporting"),
        ("Payroll Specialist", "ADP, payroll tax, 3+ years"),
        ("Registered Nurse", "RN licence, BLS certification, 2+ years in acute care"),
    ]
]


def line(custom_id: str, user: str, *system: str, role: str = "system") -> dict[str, Any]:
    messages = [{"role": role, "content": text} for text in system]
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": CHAT,
        "body": {
            "model": MODEL,
            "temperature": 0,
            "messages": [*messages, {"role": "user", "content": user}],
        },
    }


def interleaved(count: int, *, without_system: int = 0) -> list[dict[str, Any]]:
    """`count` lines cycling through the three system messages (line i: job i % 3), then
    `without_system` lines with no system message in between."""
    lines = [
        line(f"cand-{i}", f"Candidate {i}: résumé text.", SYSTEMS[i % 3]) for i in range(count)
    ]
    for k in range(without_system):
        lines.insert(4 * k + 2, line(f"plain-{k}", f"Plain question {k}."))
    return lines


def system_of(request: dict[str, Any]) -> str:
    first = request["messages"][0]
    return first["content"] if first["role"] == "system" else ""


def stretches(values: list[Any]) -> list[Any]:
    """[a, a, b, b, a] -> [a, b, a]: how the values follow one another."""
    return [value for value, _ in itertools.groupby(values)]


def output_ids(run: Run) -> list[str]:
    assert run.output_file is not None
    with open(run.output_file.abspath, encoding="utf-8") as handle:
        return [json.loads(text)["custom_id"] for text in handle]


@pytest.fixture
def dispatched(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """The chunks the batch was dispatched in, as the tasks received them (then run)."""
    calls: list[tuple[Any, ...]] = []
    real = tasks.process_chunk

    def recording(*args: Any, **kwargs: Any) -> int:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr("evaluations.tasks.process_chunk", recording)
    return calls


@pytest.mark.django_db(transaction=True)
def test_interleaved_lines_reach_the_server_grouped_by_system_message(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path, dispatched: list[Any]
) -> None:
    # One request at a time, chunks of 5 and ingest in batches of 4: the order the server
    # sees is the engine's, over several chunks and ingest batches.
    engine_settings.HRBATCH = {
        **engine_settings.HRBATCH,
        "CONCURRENCY": 1,
        "CHUNK_SIZE": 5,
        "INGEST_BATCH": 4,
    }
    lines = interleaved(24, without_system=3)
    run = create_batch(write_jsonl(tmp_path / "requests.jsonl", lines))

    assert run.status == Run.Status.COMPLETED, (run.status_message, run.errors)
    assert (run.total_count, run.done_count, run.failed_count) == (27, 27, 0)
    # The groups: one Job per system text, titled by its first line.
    jobs = list(Job.objects.filter(run=run).order_by("id"))
    assert [job.description for job in jobs] == SYSTEMS
    assert {job.title for job in jobs} == {SYSTEMS[0].splitlines()[0]}
    assert all(job.owner is None for job in jobs)
    for item in Item.objects.filter(run=run):
        system = system_of(item.input)
        assert (item.job.description if item.job else "") == system, item.custom_id
    # Each system message's requests one after another; the lines without one first.
    order = [system_of(r) for r in fake_ollama.requests]
    assert len(order) == 27
    assert stretches(order) == ["", *SYSTEMS]
    assert len(stretches([system_of(line["body"]) for line in lines])) == 27  # the file's order
    # Within a group, the file's order; each request is the line's own, word for word.
    sent = [r["messages"][-1]["content"] for r in fake_ollama.requests]
    by_group = {s: [m for m, g in zip(sent, order, strict=True) if g == s] for s in SYSTEMS}
    for index, system in enumerate(SYSTEMS):
        wanted = [f"Candidate {i}: résumé text." for i in range(index, 24, 3)]
        assert by_group[system] == wanted
    # Dispatched in chunks of whole groups (a group larger than a chunk gets its own).
    assert all(len(args) == 4 and args[3] is not None for args in dispatched)
    assert [len(args[3]) for args in dispatched] == [1, 1, 1, 1, 1, 1, 1]
    # The output keeps the input's order and custom_ids.
    assert output_ids(run) == [line["custom_id"] for line in lines]
    assert run.error_file is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("shape", ["one system message", "no system message"])
def test_a_batch_with_one_system_message_or_none_gets_no_groups_and_is_dispatched_as_before(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path, dispatched: list[Any], shape: str
) -> None:
    engine_settings.HRBATCH = {**engine_settings.HRBATCH, "INGEST_BATCH": 4}
    system = [SYSTEMS[0]] if shape == "one system message" else []
    lines = [line(f"c-{i}", f"Candidate {i}", *system) for i in range(10)]
    run = create_batch(write_jsonl(tmp_path / "one.jsonl", lines))

    assert run.status == Run.Status.COMPLETED, (run.status_message, run.errors)
    assert not Job.objects.filter(run=run).exists()
    assert not Item.objects.filter(run=run, job__isnull=False).exists()
    # The plain dispatch (run id, first and last item id): no jobs for the tasks to filter on.
    assert dispatched and all(len(args) == 3 for args in dispatched)
    assert output_ids(run) == [f"c-{i}" for i in range(10)]
    assert len(fake_ollama.requests) == 10


@pytest.mark.django_db(transaction=True)
def test_a_second_system_message_late_in_the_file_groups_the_lines_stored_before_it(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    # Ingest batches of 3: the first two batches are all the first job's, stored without a
    # group; when the second job shows up they get theirs.
    engine_settings.HRBATCH = {**engine_settings.HRBATCH, "INGEST_BATCH": 3, "CONCURRENCY": 1}
    lines = [line(f"a-{i}", f"A {i}", SYSTEMS[0]) for i in range(6)]
    lines += [line(f"m-{i}", f"M {i}", SYSTEMS[(i + 1) % 2]) for i in range(6)]
    run = create_batch(write_jsonl(tmp_path / "late.jsonl", lines))

    assert run.status == Run.Status.COMPLETED, (run.status_message, run.errors)
    counts = Counter(Item.objects.filter(run=run).values_list("job__description", flat=True))
    assert counts == {SYSTEMS[0]: 9, SYSTEMS[1]: 3}
    assert stretches([system_of(r) for r in fake_ollama.requests]) == SYSTEMS[:2]
    assert output_ids(run) == [line["custom_id"] for line in lines]


@pytest.mark.django_db(transaction=True)
def test_a_group_is_the_exact_text_of_the_opening_system_messages(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    base = SYSTEMS[1]
    lines = [
        line("system", "u1", base),
        line("developer", "u2", base, role="developer"),  # Ollama receives it as system
        line("parts", "u3", base),
        line("trailing-space", "u4", base + " "),  # other bytes: another prefix
        line("two", "u5", base, "Be brief."),
        line("two-again", "u6", base, "Be brief."),
    ]
    lines[2]["body"]["messages"][0]["content"] = [{"type": "text", "text": base}]
    # A system message after the conversation started is not part of the prefix.
    lines.append(line("late-system", "u7", base))
    lines[-1]["body"]["messages"] += [{"role": "system", "content": "Now in French."}]
    run = create_batch(write_jsonl(tmp_path / "exact.jsonl", lines))

    assert run.status == Run.Status.COMPLETED, (run.status_message, run.errors)
    groups = {
        cid: job
        for cid, job in Item.objects.filter(run=run).values_list("custom_id", "job__description")
    }
    assert groups["system"] == groups["developer"] == groups["parts"] == base
    assert groups["late-system"] == base
    assert groups["trailing-space"] == base + " "
    assert groups["two"] == groups["two-again"] == base + "\n\nBe brief."
    assert Job.objects.filter(run=run).count() == 3
    assert output_ids(run) == [line["custom_id"] for line in lines]


@pytest.mark.django_db(transaction=True)
def test_the_batch_handler_sends_the_lines_own_messages_never_the_groups_text(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("evaluations.tasks.process_chunk", lambda *args, **kwargs: 0)
    lines = interleaved(6)
    run = create_batch(write_jsonl(tmp_path / "requests.jsonl", lines))
    assert run.status == Run.Status.IN_PROGRESS and Job.objects.filter(run=run).count() == 3
    Job.objects.filter(run=run).update(description="SHOULD NEVER BE SENT", title="x")

    ids = list(Item.objects.filter(run=run).values_list("id", flat=True))
    engine.process_chunk(run.pk, min(ids), max(ids))

    run.refresh_from_db()
    assert run.status == Run.Status.COMPLETED
    sent = {r["messages"][-1]["content"]: r["messages"] for r in fake_ollama.requests}
    for request in lines:
        messages = request["body"]["messages"]
        assert sent[messages[-1]["content"]] == messages
    assert not any("SHOULD NEVER" in json.dumps(r) for r in fake_ollama.requests)


@pytest.mark.django_db(transaction=True)
def test_a_batch_that_fails_validation_keeps_no_groups(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    engine_settings.HRBATCH = {**engine_settings.HRBATCH, "INGEST_BATCH": 2}
    lines: list[Any] = [*interleaved(6), "not json"]
    run = create_batch(write_jsonl(tmp_path / "bad.jsonl", lines))

    assert run.status == Run.Status.FAILED
    assert [e["line"] for e in run.errors] == [7]
    assert not Item.objects.filter(run=run).exists()
    assert not Job.objects.filter(run=run).exists()
    assert not File.objects.filter(purpose=File.Purpose.BATCH_OUTPUT).exists()


def test_system_group_titles_a_group_by_its_first_line_cut_short() -> None:
    key, title, text = batches.system_group(["\n  " + "Score the applicant. " * 10 + "\nJob: X"])
    assert len(title) == batches.SYSTEM_TITLE_CHARS and title.endswith("…")
    assert title.startswith("Score the applicant. Score")
    assert text.endswith("\nJob: X") and len(key) == 64
    assert batches.system_group(["a", "b"])[0] != batches.system_group(["a\n\nb"])[0]
    assert batches.system_group([""])[1] == "(an empty system message)"


# --- The live app, driven by the openai SDK --------------------------------------------------


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOllama]:
    with FakeOllama(slots=4, latency=0.01) as server:
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, fake: FakeOllama) -> Iterator[dict[str, Any]]:
    # One worker sending one request at a time: the order the fake server records is the
    # order the engine chose. Chunks of 7: each job gets chunks of its own.
    data = tmp_path_factory.mktemp("grouping-data")
    env = live.app_env(
        data, fake, HRBATCH_WORKERS="1", HRBATCH_CONCURRENCY="1", HRBATCH_CHUNK_SIZE="7"
    )
    live.manage(env, "migrate", "-v", "0")
    create = "from django.contrib.auth.models import User; User.objects.create_user('hana')"
    live.manage(env, "shell", "-c", create)
    key = live.manage(env, "create_api_key", "--name", "screening", "--user", "hana").stdout
    process, url = live.start_serve(env)
    yield {"url": url, "key": key.strip()}
    live.stop_serve(process)


@pytest.mark.slow
def test_the_openai_sdk_batch_of_interleaved_jobs_is_sent_job_by_job(
    server: dict[str, Any], fake: FakeOllama
) -> None:
    client = OpenAI(base_url=server["url"] + "/v1", api_key=server["key"], max_retries=0)
    lines = interleaved(30)
    jsonl = b"".join(json.dumps(request).encode() + b"\n" for request in lines)
    uploaded = client.files.create(file=("jobs.jsonl", jsonl), purpose="batch")
    batch = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    deadline = time.monotonic() + 120
    while batch.status not in ("completed", "failed", "cancelled", "expired"):
        assert time.monotonic() < deadline, f"batch still {batch.status}"
        time.sleep(0.3)
        batch = client.batches.retrieve(batch.id)

    assert batch.status == "completed", batch.errors
    assert batch.request_counts is not None
    assert (batch.request_counts.total, batch.request_counts.completed) == (30, 30)
    assert batch.request_counts.failed == 0
    # The file alternates the three system messages; the server got them job by job. A
    # line's first request (the consistency sample sends some a second time, later).
    first_sent: dict[str, str] = {}
    for request in fake.requests:
        first_sent.setdefault(request["messages"][-1]["content"], system_of(request))
    assert len(first_sent) == 30
    assert stretches(list(first_sent.values())) == SYSTEMS
    assert stretches([system_of(r) for r in fake.requests]) == SYSTEMS
    # The output file: the input's order and custom_ids, each line answered.
    assert batch.output_file_id is not None and batch.error_file_id is None
    content = client.files.content(batch.output_file_id).text
    output = [json.loads(text) for text in content.splitlines()]
    assert [record["custom_id"] for record in output] == [r["custom_id"] for r in lines]
    assert all(record["response"]["status_code"] == 200 for record in output)
