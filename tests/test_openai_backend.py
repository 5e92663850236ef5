"""The OpenAI-compatible backend (HRBATCH_LLM_BACKEND=openai).

Against a real server: llama-cpp-python's own (`python -m llama_cpp.server`) running the
embedded SmolLM2 GGUF on the CPU, configured the way the README tells users (environment
variables of a subprocess); a small CSV through `evaluate` and a small batch through the
`/v1` API with the `openai` SDK, end to end. No fake there.

Against the fake Ollama's OpenAI-compatible endpoints (Ollama serves /v1 too; it takes
OpenAI's `json_schema` form): the other schema dialect, several servers, failures.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openai import OpenAI

from devtools import live
from devtools.fake_ollama import FakeOllama
from devtools.llama_server import ALIAS, LlamaServer
from evaluations import prompting
from evaluations.llm import (
    ChatRequest,
    ModelNotFound,
    RequestFailed,
    Unreachable,
    make_backend,
    resolve_backend,
)
from evaluations.llm.openai_backend import (
    JSON_OBJECT,
    JSON_SCHEMA,
    OpenAIBackend,
    normalize_base_url,
)
from evaluations.models import Item, Run
from evaluations.rubric_content import DEFAULT_CRITERIA
from tests.support.files import read_csv, resumes, write_csv
from tests.support.processes import evaluate, finish, query, subprocess_env
from tests.support.runs import start_run

KEY = "sk-local-test"
CRITERIA = ["technical_skills", "communication", "cultural_fit", "leadership_potential", "overall"]


def _plan() -> prompting.PromptPlan:
    return prompting.plan_for(
        instructions="You screen job applicants.",
        criteria=[{"key": k} for k in CRITERIA],
        rationale=False,
    )


def _request(model: str, text: str = "skills: Python, SQL; 5 years") -> ChatRequest:
    plan = _plan()
    return ChatRequest(
        model=model,
        messages=plan.messages([{"resume": text}]),
        format=plan.schema(1),
        options={"temperature": 0.0, "seed": 42, "num_ctx": 2048, "num_predict": 64},
    )


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _chat_all(backend: OpenAIBackend, requests: list[ChatRequest]) -> list[Any]:
    try:
        return await asyncio.gather(*(backend.chat(r) for r in requests))
    finally:
        await backend.aclose()


# --- Against the fake's /v1 (Ollama's OpenAI-compatible layer) ------------------------


def test_base_urls_as_people_write_them() -> None:
    assert normalize_base_url("gpu1:8000") == "http://gpu1:8000/v1"
    assert normalize_base_url("http://gpu1:8000/") == "http://gpu1:8000/v1"
    assert normalize_base_url("https://llm.example/v1/") == "https://llm.example/v1"
    assert normalize_base_url("http://h:1234/api/v1") == "http://h:1234/api/v1"


def test_a_json_schema_server_gets_openai_form_and_the_engine_options(
    fake_ollama: FakeOllama,
) -> None:
    backend = OpenAIBackend([fake_ollama.url])
    (answer,) = _run(_chat_all(backend, [_request("gemma3:12b")]))
    scores = prompting.parse_scores(json.loads(answer.content), CRITERIA, False)["scores"]
    assert set(scores) == set(CRITERIA)
    assert answer.prompt_tokens > 0 and answer.completion_tokens > 0
    assert backend.dialect(normalize_base_url(fake_ollama.url)) == JSON_SCHEMA
    # What reached the server, as Ollama's /v1 layer turned it into /api/chat.
    (sent,) = fake_ollama.requests
    assert sent["format"] == _plan().schema(1)
    assert sent["options"]["temperature"] == 0.0 and sent["options"]["seed"] == 42
    assert sent["options"]["num_predict"] == 64


def test_several_servers_share_the_load_and_a_dead_one_is_skipped() -> None:
    dead = f"http://127.0.0.1:{live.free_port()}"
    with FakeOllama(slots=2, latency=0.05) as a, FakeOllama(slots=2, latency=0.05) as b:
        backend = OpenAIBackend([a.url, b.url])
        answers = _run(_chat_all(backend, [_request("gemma3:12b", f"row {i}") for i in range(8)]))
        assert len(answers) == 8
        assert a.chat_count >= 2 and b.chat_count >= 2  # both servers worked
        backend = OpenAIBackend([dead, a.url])
        before = a.chat_count
        answers = _run(_chat_all(backend, [_request("gemma3:12b", f"again {i}") for i in range(4)]))
        assert len(answers) == 4 and a.chat_count == before + 4


def test_no_server_answering_is_an_outage_naming_where_to_look() -> None:
    dead = [f"http://127.0.0.1:{live.free_port()}" for _ in range(2)]
    with pytest.raises(Unreachable) as caught:
        _run(_chat_all(OpenAIBackend(dead), [_request("m")]))
    assert "HRBATCH_OPENAI_BASE_URL" in str(caught.value) and dead[0] in str(caught.value)


def test_a_server_error_is_retryable_and_a_missing_model_is_named(
    fake_ollama: FakeOllama,
) -> None:
    fake_ollama.fail_next = 1
    with pytest.raises(RequestFailed) as failed:
        _run(_chat_all(OpenAIBackend([fake_ollama.url]), [_request("gemma3:12b")]))
    assert failed.value.transient
    with pytest.raises(ModelNotFound) as missing:
        _run(OpenAIBackend([fake_ollama.url]).model_info("nonexistent:1b"))
    assert "gemma3:12b" in str(missing.value)  # what it does serve
    # With no HRBATCH_MODEL, a server with two models cannot choose for the user.
    with pytest.raises(ModelNotFound) as unnamed:
        _run(OpenAIBackend([fake_ollama.url]).model_info(""))
    assert "HRBATCH_MODEL" in str(unnamed.value)


@pytest.mark.django_db(transaction=True)
def test_a_rubric_run_through_the_openai_backend(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    engine_settings.HRBATCH = {
        **engine_settings.HRBATCH,
        "LLM_BACKEND": "openai",
        "OPENAI_BASE_URLS": [fake_ollama.url],
        "MODEL": "gemma3:12b",
    }
    path = write_csv(
        tmp_path / "c.csv",
        [{"id": str(i), "resume": f"Engineer {i}, Python and SQL"} for i in range(6)],
    )
    run = start_run(path)
    run.refresh_from_db()
    assert run.status == Run.Status.COMPLETED, run.status_message
    assert run.backend == "openai" and run.model == "gemma3:12b"
    assert run.opts.structured_output == JSON_SCHEMA
    assert run.items.filter(status=Item.Status.DONE).count() == 6
    assert run.prompt_tokens > 0 and run.completion_tokens > 0


def test_a_worker_asks_a_server_without_props_once_not_with_every_request(
    fake_ollama: FakeOllama,
) -> None:
    """A worker process has not learnt the server's dialect: it asks whether it is
    llama.cpp's server (which takes the answer's grammar) once, however many requests."""
    plan = prompting.plan_for(
        instructions="Score the candidate.", criteria=DEFAULT_CRITERIA, rationale=False
    )
    request = plan.request(
        [{"resume": "Python"}], model="gemma3:12b", options={"temperature": 0.0, "seed": 1}
    )
    backend = OpenAIBackend([fake_ollama.url])

    async def three() -> None:
        try:
            for _ in range(3):
                await backend.chat(request)
        finally:
            await backend.aclose()

    asyncio.run(three())
    assert fake_ollama.chat_count == 3
    assert fake_ollama.not_found.count("/props") == 1


def test_openai_is_a_backend_people_can_name(settings: Any) -> None:
    assert resolve_backend("openai").name == "openai"
    settings.HRBATCH = {**settings.HRBATCH, "OPENAI_BASE_URLS": []}
    with pytest.raises(ValueError, match="HRBATCH_OPENAI_BASE_URL"):
        make_backend("openai")


# --- Against a real server: llama-cpp-python's, running SmolLM2 on the CPU ------------


@pytest.fixture(scope="module")
def llama() -> Iterator[LlamaServer]:
    # Started with a key, as a shared server would be: every request must carry it.
    with LlamaServer(n_ctx=4096, api_key=KEY) as server:
        yield server


@pytest.mark.slow
def test_the_real_server_takes_the_schema_as_json_object_and_says_so(llama: LlamaServer) -> None:
    backend = OpenAIBackend([llama.url], api_key=KEY)  # no /v1: added as documented
    info = _run(backend.model_info(""))  # HRBATCH_MODEL unset: the one model it serves
    assert info.name == ALIAS
    assert info.details["structured_output"] == JSON_OBJECT
    (answer,) = _run(_chat_all(OpenAIBackend([llama.url], api_key=KEY), [_request(ALIAS)]))
    data = json.loads(answer.content)
    assert set(CRITERIA) <= set(data)  # the grammar held the answer to the schema's keys
    assert answer.prompt_tokens > 50 and 0 < answer.completion_tokens <= 64


@pytest.mark.slow
def test_a_wrong_key_pauses_the_run_naming_the_setting(llama: LlamaServer, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "c.csv", [{"id": "1", "resume": "Python engineer"}])
    with FakeOllama() as unused:
        env = subprocess_env(
            tmp_path,
            unused,
            HRBATCH_LLM_BACKEND="openai",
            HRBATCH_OPENAI_BASE_URL=llama.base_url,
            HRBATCH_OPENAI_API_KEY="not-the-key",
            HRBATCH_MAX_NUM_CTX="4096",
        )
        process = evaluate(source, tmp_path / "out.csv", env, "--id-column", "id")
        output, _ = process.communicate(timeout=300)
    assert process.returncode != 0, output
    assert "HRBATCH_OPENAI_API_KEY" in output, output
    ((status, message),) = query(env, "SELECT status, status_message FROM evaluations_run")
    assert status == "paused" and "HRBATCH_OPENAI_API_KEY" in message


@pytest.mark.slow
@pytest.mark.resumes35
def test_evaluate_scores_real_resumes_through_a_real_server(
    llama: LlamaServer, tmp_path: Path
) -> None:
    rows = read_csv(resumes())[:4]
    source = write_csv(tmp_path / "resumes.csv", rows)
    out = tmp_path / "scored.csv"
    with FakeOllama() as unused:  # subprocess_env's Ollama address; never called here
        env = subprocess_env(
            tmp_path,
            unused,
            HRBATCH_LLM_BACKEND="openai",
            HRBATCH_OPENAI_BASE_URL=f"127.0.0.1:{llama.port}",
            HRBATCH_OPENAI_API_KEY=KEY,
            # The server runs a 4,096-token context and does not report it (vLLM does).
            HRBATCH_MAX_NUM_CTX="4096",
            HRBATCH_CONCURRENCY="2",
        )
        env.pop("HRBATCH_MODEL", None)
        output = finish(evaluate(source, out, env), timeout=600)
        assert unused.chat_count == 0
    scored = read_csv(out)
    assert len(scored) == 4, output
    for row in scored:
        for key in CRITERIA:
            assert 1 <= int(row[key]) <= 10, row
    (run,) = query(
        env, "SELECT backend, model, options, prompt_tokens, completion_tokens FROM evaluations_run"
    )
    backend, model, options, prompt_tokens, completion_tokens = run
    assert (backend, model) == ("openai", ALIAS)
    assert json.loads(options)["structured_output"] == JSON_OBJECT
    assert prompt_tokens > 4 * 200 and completion_tokens > 0
    # The label column never reached the model (issue 9): it is still in the output.
    assert all("matched_score" in row for row in scored)


@pytest.mark.slow
def test_a_batch_through_the_v1_api_and_a_real_server(llama: LlamaServer, tmp_path: Path) -> None:
    data = tmp_path / "api-data"
    with FakeOllama() as unused:
        env = live.app_env(
            data,
            unused,
            HRBATCH_LLM_BACKEND="openai",
            HRBATCH_OPENAI_BASE_URL=llama.base_url,
            HRBATCH_OPENAI_API_KEY=KEY,
            HRBATCH_MAX_NUM_CTX="4096",
            HRBATCH_CONCURRENCY="2",
            HRBATCH_CONSISTENCY_PCT="0",
        )
        env.pop("HRBATCH_MODEL", None)
        live.manage(env, "migrate", "-v", "0")
        live.manage(
            env,
            "shell",
            "-c",
            "from django.contrib.auth.models import User; User.objects.create_user('it')",
        )
        key = live.manage(env, "create_api_key", "--name", "it", "--user", "it").stdout.strip()
        process, url = live.start_serve(env)
        try:
            client = OpenAI(base_url=url + "/v1", api_key=key, max_retries=0)
            assert [m.id for m in client.models.list().data] == [ALIAS]
            schema = {
                "type": "object",
                "properties": {"overall": {"type": "integer", "enum": list(range(1, 11))}},
                "required": ["overall"],
            }
            lines = [
                {
                    "custom_id": f"c{i}",
                    "method": "POST",
                    "url": "/v1/chat/completions",
                    "body": {
                        "model": ALIAS,
                        "messages": [
                            {"role": "system", "content": "Rate the applicant 1-10."},
                            {"role": "user", "content": text},
                        ],
                        "temperature": 0,
                        "max_tokens": 24,
                        "response_format": {
                            "type": "json_schema",
                            "json_schema": {"name": "rating", "schema": schema},
                        },
                    },
                }
                for i, text in enumerate(["Senior Python engineer", "Junior designer", "Nurse"])
            ]
            batch_file = tmp_path / "batch.jsonl"
            batch_file.write_text("".join(json.dumps(line) + "\n" for line in lines))
            uploaded = client.files.create(file=batch_file.open("rb"), purpose="batch")
            batch = client.batches.create(
                input_file_id=uploaded.id,
                endpoint="/v1/chat/completions",
                completion_window="24h",
            )
            deadline = time.monotonic() + 300
            while batch.status not in ("completed", "failed", "cancelled", "expired"):
                assert time.monotonic() < deadline, batch.status
                time.sleep(0.5)
                batch = client.batches.retrieve(batch.id)
            assert batch.status == "completed", batch
            assert batch.request_counts.completed == 3 and batch.request_counts.failed == 0
            assert batch.output_file_id is not None
            results = [
                json.loads(line)
                for line in client.files.content(batch.output_file_id).text.splitlines()
            ]
            assert sorted(r["custom_id"] for r in results) == ["c0", "c1", "c2"]
            for result in results:
                body = result["response"]["body"]
                assert result["response"]["status_code"] == 200
                assert 1 <= json.loads(body["choices"][0]["message"]["content"])["overall"] <= 10
                assert body["usage"]["prompt_tokens"] > 0
        finally:
            live.stop_serve(process)
        assert unused.chat_count == 0


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("ollama") is None,
    reason="no `ollama` binary on PATH: the Ollama backend is tested against devtools.fake_ollama",
)
def test_a_real_ollama_scores_a_small_csv(
    tmp_path: Path,
) -> None:  # pragma: no cover - no binary here
    import subprocess

    port = live.free_port()
    server = subprocess.Popen(
        ["ollama", "serve"],
        env={**__import__("os").environ, "OLLAMA_HOST": f"127.0.0.1:{port}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                models = httpx.get(f"http://127.0.0.1:{port}/api/tags").json()["models"]
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "ollama serve did not start"
                time.sleep(0.5)
        if not models:
            pytest.skip("ollama runs but has no model pulled; `ollama pull` one to run this test")
        rows = read_csv(resumes())[:3]
        source = write_csv(tmp_path / "resumes.csv", rows)
        with FakeOllama() as unused:
            env = subprocess_env(
                tmp_path,
                unused,
                OLLAMA_HOST=f"127.0.0.1:{port}",
                HRBATCH_MODEL=models[0]["name"],
            )
            finish(evaluate(source, tmp_path / "out.csv", env), timeout=900)
        assert len(read_csv(tmp_path / "out.csv")) == 3
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
def test_probe_finds_the_fakes_slot_count_through_its_openai_endpoint() -> None:
    """probe_backend's measurement through the OpenAI-compatible backend: the knee is the
    server's slots, as through Ollama's native API (tests/test_probe.py)."""
    from evaluations import knee

    plan = _plan()
    requests = [
        knee.probe_request(
            plan,
            {"resume": f"Engineer {i}"},
            model="gemma3:12b",
            num_ctx=2048,
            seed=42,
            keep_alive=None,
        )
        for i in range(16)
    ]
    with FakeOllama(slots=2, latency=0.25) as fake:
        backend = OpenAIBackend([fake.url])

        async def go() -> knee.Measurement:
            try:
                return await knee.measure(
                    backend, requests, max_concurrency=8, requests_per_step=12
                )
            finally:
                await backend.aclose()

        measurement = asyncio.run(go())
        assert fake.max_in_flight == 2
    assert measurement.knee == 2, "\n".join(knee.format_table(measurement.steps))
