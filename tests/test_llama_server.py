"""Against llama.cpp's own server (`llama-server --parallel 4`, devtools.llama_server
LlamaCppServer): the engine inside Ollama, with its parallel slots and continuous batching,
running the embedded SmolLM2 GGUF on the CPU. No fake.

probe_backend as a person runs it finds the knee and prints the slots the server reports;
runs through the OpenAI-compatible backend keep 4 requests in flight on its 4 slots, score
a jobs run job by job with the server's prompt cache reporting what it reused, re-score the
consistency sample, and Explain answers on a scored candidate.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools.fake_ollama import FakeOllama
from devtools.llama_server import ALIAS, LlamaCppServer
from evaluations import knee, prompting, services
from evaluations.llm import ServerSlots
from evaluations.llm.openai_backend import OpenAIBackend
from evaluations.models import Explanation, Item, Run
from tests.support.files import write_csv
from tests.support.jobs import JOBS, write_jobs_file
from tests.support.processes import ROOT, query, subprocess_env
from tests.support.runs import start_run

KEY = "sk-llama-server-test"
SLOTS = 4
# Tokens per slot: the default rubric's prompt, a short candidate (or a job's text and a
# short candidate) and the answer fit with room to spare; HRBATCH_MAX_NUM_CTX says so.
CTX = 2048


@pytest.fixture(scope="module")
def server() -> Iterator[LlamaCppServer]:
    # Started with a key, as a shared server would be: /props and /slots need it too.
    with LlamaCppServer(parallel=SLOTS, ctx=CTX, api_key=KEY) as started:
        yield started


class SlotWatch:
    """Polls the server's /slots while a run goes: the most slots seen processing at once."""

    def __init__(self, server: LlamaCppServer):
        self.server = server
        self.most_busy = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        with httpx.Client(headers=self.server.headers, timeout=10) as http:
            while not self._stop.is_set():
                slots = http.get(self.server.url + "/slots").json()
                busy = sum(1 for s in slots if s["is_processing"])
                self.most_busy = max(self.most_busy, busy)
                self._stop.wait(0.05)

    def __enter__(self) -> SlotWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=15)


@pytest.fixture
def llama_settings(settings: Any, server: LlamaCppServer) -> Any:
    """The engine pointed at the server as HRBATCH_* would point it (backend openai, its
    base URL and key, no HRBATCH_MODEL: the one model it serves), 4 requests in flight."""
    settings.HRBATCH = {
        **settings.HRBATCH,
        "LLM_BACKEND": "openai",
        "OPENAI_BASE_URLS": [server.base_url],
        "OPENAI_API_KEY": KEY,
        "MODEL": "",
        "CONCURRENCY": SLOTS,
        "MAX_NUM_CTX": CTX,
        "RETRY_BACKOFF_SECONDS": 0.05,
        "CONSISTENCY_PCT": 0,
    }
    return settings


def _candidates(tmp_path: Path, count: int) -> Path:
    skills = ["Python and SQL", "Java and Spring", "nursing, BLS", "B2B sales", "payroll, ADP"]
    rows = [
        {"id": f"c{i}", "resume": f"{3 + i} years; skills: {skills[i % len(skills)]}."}
        for i in range(count)
    ]
    return write_csv(tmp_path / "candidates.csv", rows)


# --- what probe_backend says of the slots, without a server --------------------------------


def test_the_slots_of_several_servers_are_summed_and_each_one_said() -> None:
    slots = [
        ServerSlots("http://gpu1:8080", total=4, busy=1, ctx=4096),
        ServerSlots("http://gpu2:8080", total=2, busy=0, ctx=8192),
    ]
    view = knee.server_view([], model=ALIAS, num_ctx=2048, slots=slots)
    assert view.slots == 6
    assert view.note.startswith("the sum over the 2 servers that report them")
    assert "http://gpu1:8080: 4 slots of 4,096 tokens each, 1 busy now" in view.note
    assert "http://gpu2:8080: 2 slots of 8,192 tokens each, 0 busy now" in view.note
    assert view.to_json()["servers"][1] == {
        "where": "http://gpu2:8080",
        "total": 2,
        "busy": 0,
        "ctx": 8192,
    }


def test_a_server_without_props_reports_no_slots(fake_ollama: FakeOllama) -> None:
    """Ollama's /v1 (here the fake's), vLLM, LM Studio: no /props, no slots said, and
    probe_backend says what it said before."""
    backend = OpenAIBackend([fake_ollama.url])

    async def ask() -> list[ServerSlots]:
        try:
            return await backend.server_slots()
        finally:
            await backend.aclose()

    assert asyncio.run(ask()) == []
    view = knee.server_view([], model="gemma3:12b", num_ctx=2048, slots=[])
    assert view.slots is None and "parallel slots cannot be told" in view.note


# --- against llama-server --parallel 4 --------------------------------------------------


@pytest.mark.slow
def test_the_server_gives_every_slot_the_context_asked_for(server: LlamaCppServer) -> None:
    assert server.props()["total_slots"] == SLOTS
    slots = server.slots()
    assert [s["n_ctx"] for s in slots] == [CTX] * SLOTS
    models = httpx.get(server.base_url + "/models", headers=server.headers, timeout=10).json()
    assert [m["id"] for m in models["data"]] == [ALIAS]
    # Without the key, the server answers nothing but /health.
    assert httpx.get(server.url + "/props", timeout=10).status_code == 401


@pytest.mark.slow
def test_probe_backend_finds_the_knee_and_prints_the_servers_slots(
    server: LlamaCppServer, tmp_path: Path
) -> None:
    with FakeOllama() as unused:  # subprocess_env's Ollama address; never called here
        env = subprocess_env(
            tmp_path,
            unused,
            HRBATCH_LLM_BACKEND="openai",
            HRBATCH_OPENAI_BASE_URL=server.base_url,
            HRBATCH_OPENAI_API_KEY=KEY,
            HRBATCH_MAX_NUM_CTX=str(CTX),
        )
        env.pop("HRBATCH_MODEL", None)
        done = subprocess.run(
            [
                sys.executable,
                "manage.py",
                "probe_backend",
                "--max-concurrency",
                str(SLOTS),
                "--requests-per-step",
                "8",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert unused.chat_count == 0
    out = done.stdout
    assert done.returncode == 0, done.stdout + done.stderr
    # The knee is what this machine turns into speed: on 2 shared CPU cores the rubric's
    # requests (long shared prompt, a 16-token answer) gain little from a second one in
    # flight, so it may be 1; the slots are what the server says it has.
    knee = re.search(r"Knee: (\d+) requests? in flight", out)
    assert knee is not None, out
    # Whatever one step gains, the probe measured up to the 4 slots the server reports.
    measured = {
        int(row.split()[0].rstrip("*")) for row in out.splitlines() if re.match(r"\s+\d+\*?\s", row)
    }
    assert {1, 2, SLOTS} <= measured, out
    assert f"Server slots: {SLOTS} (as the server at {server.url} reports them" in out, out
    assert f"{SLOTS} slots of {CTX:,} tokens each, 0 busy now" in out, out
    assert "Stored." in out
    ((concurrency, details),) = query(
        env, "SELECT concurrency, details FROM evaluations_backendprobe"
    )
    assert concurrency == int(knee[1])
    stored = json.loads(details)["server"]
    assert stored["slots"] == SLOTS
    assert stored["servers"] == [{"where": server.url, "total": SLOTS, "busy": 0, "ctx": CTX}]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_run_keeps_four_in_flight_rescoring_its_sample_and_explains_a_candidate(
    llama_settings: Any, server: LlamaCppServer, tmp_path: Path
) -> None:
    # Every candidate of a run this small is in the consistency sample: scored twice.
    llama_settings.HRBATCH = {**llama_settings.HRBATCH, "CONSISTENCY_PCT": 2.0}
    with SlotWatch(server) as watch:
        run = start_run(_candidates(tmp_path, 8))
    assert run.status == Run.Status.COMPLETED, run.status_message
    assert (run.backend, run.model) == ("openai", ALIAS)
    assert run.opts.concurrency == SLOTS
    assert watch.most_busy == SLOTS  # the server decoded 4 of the run's requests at once
    items = list(run.items.all())
    assert [i.status for i in items] == [Item.Status.DONE] * 8
    assert all(Item.RECHECK_SCORES in (i.result or {}) for i in items)
    # The server's usage says what its prompt cache reused: the rubric every request shares.
    assert run.cached_tokens > 0 and run.cached_tokens < run.prompt_tokens

    item = items[0]
    explanation = services.item_explain(item=item)
    assert Explanation.objects.get(item=item) == explanation
    assert explanation.model == ALIAS and explanation.backend == "openai"
    assert set(explanation.criteria) == set(item.scores)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_jobs_run_is_scored_job_by_job_and_the_slots_keep_each_jobs_prompt_cached(
    llama_settings: Any, server: LlamaCppServer, tmp_path: Path
) -> None:
    services.jobs_import(path=write_jobs_file(tmp_path / "jobs.csv", JOBS[:3]), author=None)
    titles = [job["title"] for job in JOBS[:3]]
    # More candidates per job than slots: a job's first 4 go out together to slots that
    # hold nothing of it yet, the rest to slots that hold its prompt.
    rows = [
        {"id": f"a{n}", "position": titles[n % 3], "resume": f"Candidate {n}: {2 + n} years."}
        for n in range(3 * (SLOTS + 2))
    ]
    run = start_run(
        write_csv(tmp_path / "applicants.csv", rows),
        jobs=services.JobsChoice(position_column="position"),
    )
    assert run.status == Run.Status.COMPLETED, run.status_message
    assert run.jobs.count() == 3
    assert not run.opts.jobs_interleaved  # sent job by job (engine.worker)
    items = list(run.items.select_related("job"))
    assert all(i.status == Item.Status.DONE for i in items), [i.error for i in items]
    # The cached tokens are the server's (usage.prompt_tokens_details.cached_tokens): past
    # the rubric every job shares, a job's own text is reused by its later candidates.
    rubric_tokens = _tokens(server, _rubric_prefix(run))
    for title in titles:
        cached = [i.cached_tokens or 0 for i in items if i.job.title == title]
        assert max(cached) > rubric_tokens, (title, cached, rubric_tokens)
    assert run.cached_tokens == sum(i.cached_tokens or 0 for i in items)
    assert all((i.cached_tokens or 0) < i.prompt_tokens for i in items)


def _rubric_prefix(run: Run) -> str:
    """The system message up to its job's part: what every job of the run shares."""
    system = services.plan_for_run(run, pack_size=1, job="A job.").system
    return system.split(prompting.JOB_HEADING)[0]


def _tokens(server: LlamaCppServer, text: str) -> int:
    answer = httpx.post(
        server.url + "/tokenize", json={"content": text}, headers=server.headers, timeout=10
    )
    return len(answer.json()["tokens"])


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("answer_format", prompting.ANSWER_FORMATS)
@pytest.mark.parametrize("pack_size", [1, 2])
def test_every_answer_format_is_held_by_the_answers_grammar_with_no_whitespace(
    llama_settings: Any, tmp_path: Path, answer_format: str, pack_size: int
) -> None:
    """llama-server gets the answer's GBNF grammar, not the schema: its JSON-schema
    converter lets "\\n" and 20 tabs follow every JSON token, and this model filled its
    token cap with them (14 of 24 real résumés cut off)."""
    llama_settings.HRBATCH = {**llama_settings.HRBATCH, "ANSWER_FORMAT": answer_format}
    run = start_run(_candidates(tmp_path, 6), pack_size=pack_size)

    assert run.status == Run.Status.COMPLETED, run.status_message
    assert run.opts.structured_output == "gbnf"
    items = list(run.items.all())
    assert [i.status for i in items] == [Item.Status.DONE] * 6, [i.error for i in items]
    assert all(i.attempts == 1 for i in items)  # no answer cut off and tried again
    assert run.padded_answers == 0
    assert all(1 <= v <= 10 for i in items for v in i.scores.values())
