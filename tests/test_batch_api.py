"""The /v1 Batch API driven by the official `openai` SDK against `manage.py serve` on a free
port, with the fake Ollama server behind it. Nothing here is mocked."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI

from devtools import live
from devtools.fake_ollama import FakeOllama

pytestmark = pytest.mark.slow
TERMINAL = {"completed", "failed", "cancelled", "expired"}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOllama]:
    with FakeOllama(slots=4, latency=0.02) as server:
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, fake: FakeOllama) -> Iterator[dict[str, Any]]:
    data = tmp_path_factory.mktemp("api-data")
    env = live.app_env(data, fake)
    live.manage(env, "migrate", "-v", "0")
    keys = {}
    for user in ("alice", "bob"):
        create = f"from django.contrib.auth.models import User; User.objects.create_user('{user}')"
        live.manage(env, "shell", "-c", create)
        made = live.manage(env, "create_api_key", "--name", f"{user}'s script", "--user", user)
        keys[user] = made.stdout.strip()
        assert keys[user].startswith("hrb_") and "shown once" in made.stderr
    process, url = live.start_serve(env)
    yield {"url": url, "keys": keys, "data": data}
    live.stop_serve(process)


@pytest.fixture
def alice(server: dict[str, Any]) -> OpenAI:
    return OpenAI(base_url=server["url"] + "/v1", api_key=server["keys"]["alice"], max_retries=0)


@pytest.fixture
def bob(server: dict[str, Any]) -> OpenAI:
    return OpenAI(base_url=server["url"] + "/v1", api_key=server["keys"]["bob"], max_retries=0)


def _line(custom_id: str, text: str, **body: Any) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {
            "model": "gemma3:12b",
            "messages": [
                {"role": "system", "content": "You screen job applicants. Answer briefly."},
                {"role": "user", "content": text},
            ],
            **body,
        },
    }


def _jsonl(lines: list[Any]) -> bytes:
    return b"".join(
        (json.dumps(line) if not isinstance(line, str) else line).encode() + b"\n" for line in lines
    )


def _wait(client: OpenAI, batch_id: str, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        batch = client.batches.retrieve(batch_id)
        if batch.status in TERMINAL:
            return batch
        assert time.monotonic() < deadline, f"batch still {batch.status}"
        time.sleep(0.3)


def _lines(client: OpenAI, file_id: str | None) -> list[dict[str, Any]]:
    if file_id is None:
        return []
    return [json.loads(line) for line in client.files.content(file_id).text.splitlines() if line]


def test_upload_create_poll_and_download_results(alice: OpenAI, fake: FakeOllama) -> None:
    requests = [_line(f"req-{i}", f"Candidate {i}: five years of Python.") for i in range(150)]
    requests.append(
        _line(
            "req-json",
            "Score this candidate as JSON.",
            temperature=0,
            seed=7,
            max_tokens=50,
            top_p=0.9,
            stop=["END"],
            response_format={
                "type": "json_schema",
                "json_schema": {
                    "name": "score",
                    "schema": {
                        "type": "object",
                        "properties": {"score": {"type": "integer", "minimum": 1, "maximum": 10}},
                        "required": ["score"],
                    },
                },
            },
        )
    )
    uploaded = alice.files.create(file=("requests.jsonl", _jsonl(requests)), purpose="batch")
    assert uploaded.id.startswith("file-") and uploaded.purpose == "batch"
    assert uploaded.filename == "requests.jsonl" and uploaded.bytes > 10_000
    assert alice.files.retrieve(uploaded.id).id == uploaded.id

    batch = alice.batches.create(
        input_file_id=uploaded.id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata={"project": "march-intake", "completion_pct": "mine"},
    )
    assert batch.id.startswith("batch_") and batch.status in ("validating", "in_progress")
    assert batch.input_file_id == uploaded.id and batch.completion_window == "24h"
    assert batch.expires_at and batch.expires_at - batch.created_at == 24 * 3600

    seen_progress = False
    deadline = time.monotonic() + 90
    while True:
        batch = alice.batches.retrieve(batch.id)
        if batch.status == "in_progress" and batch.metadata and "eta_seconds" in batch.metadata:
            seen_progress = True
            assert batch.metadata["completion_pct"] == "mine"  # the caller's key wins
            assert float(batch.metadata["throughput_req_per_sec"]) >= 0
        if batch.status in TERMINAL:
            break
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert seen_progress
    assert batch.status == "completed", batch
    assert batch.request_counts.total == 151 and batch.request_counts.completed == 151
    # The caller's keys as they were, and the consistency sample: 2% of 151, at least 20
    # (every 7th line: 21 of them).
    consistency = json.loads(batch.metadata.pop("hrbatch_consistency"))
    assert batch.metadata == {"project": "march-intake", "completion_pct": "mine"}
    assert consistency["sample"] == 21 and 0 <= consistency["exact_agreement"] <= 1
    assert batch.in_progress_at and batch.finalizing_at and batch.completed_at
    assert batch.error_file_id is None

    output = _lines(alice, batch.output_file_id)
    assert [line["custom_id"] for line in output] == [r["custom_id"] for r in requests]
    for line in output:
        assert line["id"].startswith("batch_req_") and line["error"] is None
        response = line["response"]
        assert response["status_code"] == 200 and response["request_id"]
        body = response["body"]
        assert body["object"] == "chat.completion" and body["model"] == "gemma3:12b"
        assert body["choices"][0]["message"]["role"] == "assistant"
        assert body["choices"][0]["message"]["content"]
        usage = body["usage"]
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0
    scored = json.loads(output[-1]["response"]["body"]["choices"][0]["message"]["content"])
    assert 1 <= scored["score"] <= 10

    sent = next(r for r in fake.requests if "JSON" in r["messages"][-1]["content"])
    assert sent["options"]["temperature"] == 0 and sent["options"]["seed"] == 7
    assert sent["options"]["num_predict"] == 50 and sent["options"]["top_p"] == 0.9
    assert sent["options"]["stop"] == ["END"]
    assert sent["format"]["required"] == ["score"]
    plain = next(
        r for r in fake.requests if r["messages"][-1]["content"].startswith("Candidate 3:")
    )
    assert plain["options"]["temperature"] == 1.0  # OpenAI's default when omitted
    assert "format" not in plain or plain["format"] is None


def test_failed_requests_go_to_the_error_file_and_every_line_appears_once(
    alice: OpenAI,
) -> None:
    requests = [_line(f"ok-{i}", f"Candidate {i}") for i in range(5)]
    image = _line("img", "x")
    image["body"]["messages"][1]["content"] = [
        {"type": "text", "text": "Describe this CV scan."},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
    ]
    requests.insert(2, image)
    uploaded = alice.files.create(file=("mixed.jsonl", _jsonl(requests)), purpose="batch")
    batch = alice.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    batch = _wait(alice, batch.id)

    assert batch.status == "completed"
    assert (batch.request_counts.completed, batch.request_counts.failed) == (5, 1)
    output, errors = _lines(alice, batch.output_file_id), _lines(alice, batch.error_file_id)
    assert [e["custom_id"] for e in errors] == ["img"]
    # OpenAI's shape for a request the model refused: the HTTP answer it would have had.
    assert errors[0]["error"] is None and errors[0]["id"].startswith("batch_req_")
    response = errors[0]["response"]
    assert response["status_code"] == 400 and response["request_id"]
    error = response["body"]["error"]
    assert (error["type"], error["code"], error["param"]) == (
        "invalid_request_error",
        "unsupported_input",
        "messages",
    )
    assert "image" in error["message"]
    ids = [line["custom_id"] for line in output + errors]
    assert sorted(ids) == sorted(r["custom_id"] for r in requests)


def test_an_invalid_file_fails_the_batch_with_line_numbered_errors(alice: OpenAI) -> None:
    good = _line("a", "hello")
    other_model = _line("e", "hello")
    other_model["body"]["model"] = "llama3.2:3b"
    lines: list[Any] = [
        good,
        "{not json",
        _line("a", "duplicate id"),
        {**_line("c", "x"), "method": "GET"},
        {**_line("d", "x"), "url": "/v1/embeddings"},
        other_model,
    ]
    no_id = _line("f", "x")
    del no_id["custom_id"]
    lines.append(no_id)
    uploaded = alice.files.create(file=("bad.jsonl", _jsonl(lines)), purpose="batch")
    batch = alice.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    batch = _wait(alice, batch.id)

    assert batch.status == "failed" and batch.failed_at
    assert batch.errors is not None
    found = {(e.code, e.line) for e in batch.errors.data}
    assert found == {
        ("invalid_json_line", 2),
        ("duplicate_custom_id", 3),
        ("invalid_method", 4),
        ("mismatched_url", 5),
        ("mismatched_model", 6),
        ("missing_custom_id", 7),
    }
    assert all(e.message for e in batch.errors.data)
    assert batch.request_counts.total == 0 and batch.output_file_id is None


def test_unsupported_endpoint_is_refused_at_create(alice: OpenAI) -> None:
    uploaded = alice.files.create(file=("one.jsonl", _jsonl([_line("a", "x")])), purpose="batch")
    with pytest.raises(openai.BadRequestError) as caught:
        alice.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h"
        )
    assert "/v1/chat/completions" in str(caught.value)


def test_cancel_mid_run_keeps_what_was_done(alice: OpenAI, fake: FakeOllama) -> None:
    requests = [_line(f"slow-{i}", f"Candidate {i}") for i in range(300)]
    uploaded = alice.files.create(file=("slow.jsonl", _jsonl(requests)), purpose="batch")
    fake.latency = 0.2
    try:
        batch = alice.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        deadline = time.monotonic() + 60
        while alice.batches.retrieve(batch.id).request_counts.completed < 10:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        cancelling = alice.batches.cancel(batch.id)
        assert cancelling.status in ("cancelling", "cancelled") and cancelling.cancelling_at
        batch = _wait(alice, batch.id)
    finally:
        fake.latency = 0.02
    assert batch.status == "cancelled" and batch.cancelled_at
    assert 10 <= batch.request_counts.completed < 300
    output, errors = _lines(alice, batch.output_file_id), _lines(alice, batch.error_file_id)
    assert len(output) == batch.request_counts.completed
    assert {e["error"]["code"] for e in errors} == {"batch_cancelled"}
    assert sorted(line["custom_id"] for line in output + errors) == sorted(
        r["custom_id"] for r in requests
    )


def test_batches_list_pages_with_after_and_has_more(alice: OpenAI) -> None:
    uploaded = alice.files.create(file=("tiny.jsonl", _jsonl([_line("a", "x")])), purpose="batch")
    for _ in range(3):
        alice.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
    first = alice.batches.list(limit=2)
    assert len(first.data) == 2 and first.has_more
    everything = [b.id for b in alice.batches.list(limit=2)]  # the SDK follows `after`
    assert len(everything) == len(set(everything)) >= 3 + 4
    assert everything[:2] == [b.id for b in first.data]
    created = [alice.batches.retrieve(i).created_at for i in everything]
    assert created == sorted(created, reverse=True)


def test_files_list_filter_and_delete(alice: OpenAI) -> None:
    uploaded = alice.files.create(file=("del.jsonl", _jsonl([_line("a", "x")])), purpose="batch")
    listed = alice.files.list(purpose="batch")
    assert uploaded.id in [f.id for f in listed]
    deleted = alice.files.delete(uploaded.id)
    assert deleted.deleted and deleted.id == uploaded.id
    with pytest.raises(openai.NotFoundError):
        alice.files.retrieve(uploaded.id)
    assert uploaded.id not in [f.id for f in alice.files.list()]


def test_a_missing_or_wrong_key_gets_401_in_openai_shape(server: dict[str, Any]) -> None:
    nobody = OpenAI(base_url=server["url"] + "/v1", api_key="hrb_wrong-key-1234", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        nobody.batches.list()
    assert caught.value.status_code == 401
    response = httpx.get(server["url"] + "/v1/batches")
    assert response.status_code == 401
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert "Authorization: Bearer" in error["message"]


def test_another_users_batch_and_files_are_404(alice: OpenAI, bob: OpenAI) -> None:
    uploaded = alice.files.create(file=("mine.jsonl", _jsonl([_line("a", "x")])), purpose="batch")
    batch = alice.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    with pytest.raises(openai.NotFoundError):
        bob.batches.retrieve(batch.id)
    with pytest.raises(openai.NotFoundError):
        bob.batches.cancel(batch.id)
    with pytest.raises(openai.NotFoundError):
        bob.files.retrieve(uploaded.id)
    with pytest.raises(openai.NotFoundError):
        bob.files.content(uploaded.id)
    with pytest.raises(openai.BadRequestError):
        bob.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
    assert batch.id not in [b.id for b in bob.batches.list()]


def test_models_and_a_synchronous_chat_completion(alice: OpenAI) -> None:
    models = [m.id for m in alice.models.list()]
    assert "gemma3:12b" in models and "llama3.2:3b" in models

    completion = alice.chat.completions.create(
        model="gemma3:12b",
        messages=[{"role": "user", "content": "Say hello to the HR team."}],
        temperature=0,
        max_tokens=20,
    )
    assert completion.object == "chat.completion" and completion.choices[0].message.content
    assert completion.usage and completion.usage.prompt_tokens > 0

    with pytest.raises(openai.NotFoundError) as caught:
        alice.chat.completions.create(
            model="qwen3:235b", messages=[{"role": "user", "content": "hi"}]
        )
    assert "ollama pull qwen3:235b" in str(caught.value)


# --- issue 7: the Batch API contract -----------------------------------------------------


def _create(client: OpenAI, lines: list[Any], name: str = "batch.jsonl") -> Any:
    uploaded = client.files.create(file=(name, _jsonl(lines)), purpose="batch")
    return client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )


def _openai_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("application/json"), response.text[:300]
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    return error


def test_a_line_nested_too_deep_fails_validation_naming_the_line(
    alice: OpenAI, server: dict[str, Any]
) -> None:
    deep = '{"custom_id": "deep", "method": "POST", "body": ' + "[" * 100_000 + "]" * 100_000 + "}"
    batch = _wait(alice, _create(alice, [_line("a", "hi"), deep, _line("b", "hi")]).id, 30)

    assert batch.status == "failed" and batch.errors is not None
    assert [(e.code, e.line) for e in batch.errors.data] == [("invalid_json_line", 2)]
    assert "nested" in batch.errors.data[0].message

    # The synchronous endpoint refuses the same kind of body with a JSON 400, not a 500 page.
    body = '{"model": "gemma3:12b", "messages": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = httpx.post(
        server["url"] + "/v1/chat/completions",
        content=body,
        headers={"Authorization": f"Bearer {server['keys']['alice']}"},
        timeout=30,
    )
    assert "nested" in _openai_error(response, 400)["message"]


def test_a_model_that_is_not_installed_fails_validation_with_model_not_found(
    alice: OpenAI,
) -> None:
    lines = [_line(f"q-{i}", "hi") for i in range(3)]
    for line in lines:
        line["body"]["model"] = "qwen3:235b"
    batch = _wait(alice, _create(alice, lines).id, 30)

    assert batch.status == "failed" and batch.failed_at and batch.errors is not None
    (error,) = batch.errors.data
    assert (error.code, error.param, error.line) == ("model_not_found", "body.model", 1)
    assert "qwen3:235b" in error.message and "ollama pull qwen3:235b" in error.message
    assert batch.request_counts.total == 0 and batch.in_progress_at is None


def test_every_error_under_v1_is_openai_shaped_json(server: dict[str, Any], alice: OpenAI) -> None:
    url, auth = server["url"], {"Authorization": f"Bearer {server['keys']['alice']}"}

    error = _openai_error(httpx.get(url + "/v1/assistants", headers=auth), 404)
    assert "/v1/assistants" in error["message"]
    _openai_error(httpx.get(url + "/v1/batches/batch_x/nothing-here", headers=auth), 404)
    error = _openai_error(httpx.put(url + "/v1/batches", headers=auth), 405)
    assert error["code"] == "method_not_allowed"
    # A JSON body beyond DATA_UPLOAD_MAX_MEMORY_SIZE (10 MB).
    big = json.dumps(
        {"model": "gemma3:12b", "messages": [{"role": "user", "content": "x" * 11 * 2**20}]}
    )
    error = _openai_error(
        httpx.post(url + "/v1/chat/completions", content=big, headers=auth, timeout=60), 413
    )
    assert "MB" in error["message"]
    # Malformed multipart bodies: a header line longer than Django accepts, and no boundary.
    multipart = {**auth, "Content-Type": "multipart/form-data; boundary=xyz"}
    long_header = (
        b'--xyz\r\nContent-Disposition: form-data; name="purpose"; x="'
        + b"a" * 2**20
        + b'"\r\n\r\nbatch\r\n--xyz--\r\n'
    )
    error = _openai_error(
        httpx.post(url + "/v1/files", content=long_header, headers=multipart), 400
    )
    no_boundary = {**auth, "Content-Type": "multipart/form-data"}
    _openai_error(httpx.post(url + "/v1/files", content=b"--\r\n", headers=no_boundary), 400)
    error = _openai_error(
        httpx.post(url + "/v1/chat/completions", content=b"{nope", headers=auth), 400
    )
    assert "JSON" in error["message"]

    # `param` names the offending field.
    uploaded = alice.files.create(file=("p.jsonl", _jsonl([_line("a", "x")])), purpose="batch")
    with pytest.raises(openai.BadRequestError) as caught:
        alice.batches.create(
            input_file_id=uploaded.id,
            endpoint="/v1/chat/completions",
            completion_window="48h",  # type: ignore[arg-type]
        )
    assert caught.value.param == "completion_window"
    with pytest.raises(openai.BadRequestError) as caught:
        alice.batches.create(
            input_file_id=uploaded.id,
            endpoint="/v1/embeddings",
            completion_window="24h",
        )
    assert caught.value.param == "endpoint"
    with pytest.raises(openai.BadRequestError) as caught:
        alice.chat.completions.create(
            model="gemma3:12b",
            messages=[{"role": "robot", "content": "hi"}],  # type: ignore[misc,list-item]
        )
    assert caught.value.param == "messages[0].role"
    batch = _wait(alice, _create(alice, [_line("a", "x"), _line("a", "again")]).id, 30)
    assert batch.errors is not None
    assert [(e.code, e.param, e.line) for e in batch.errors.data] == [
        ("duplicate_custom_id", "custom_id", 2)
    ]


def test_a_409_tells_the_sdk_not_to_retry(server: dict[str, Any], alice: OpenAI) -> None:
    batch = _wait(alice, _create(alice, [_line("a", "x")]).id)
    assert batch.status == "completed"
    sent: list[httpx.Request] = []
    retrying = OpenAI(
        base_url=server["url"] + "/v1",
        api_key=server["keys"]["alice"],
        max_retries=2,
        http_client=httpx.Client(event_hooks={"request": [sent.append]}),
    )
    with pytest.raises(openai.ConflictError) as caught:
        retrying.batches.cancel(batch.id)
    assert caught.value.response.headers["x-should-retry"] == "false"
    assert caught.value.code == "batch_not_cancellable"
    assert len(sent) == 1  # the SDK retries a 409 twice unless told not to


def test_models_show_when_the_backend_last_changed_them(alice: OpenAI) -> None:
    from devtools.fake_ollama import MODIFIED_AT

    modified = int(datetime.fromisoformat(MODIFIED_AT).timestamp())
    models = {m.id: m for m in alice.models.list()}
    assert {m.created for m in models.values()} == {modified}
    assert models["gemma3:12b"].owned_by == "ollama"


def test_max_tokens_above_the_models_context_length_is_refused(
    alice: OpenAI, fake: FakeOllama
) -> None:
    too_many = fake.context_length + 1
    lines = [_line("a", "x"), _line("b", "x", max_completion_tokens=too_many), _line("c", "x")]
    batch = _wait(alice, _create(alice, lines).id, 30)
    assert batch.status == "failed" and batch.errors is not None
    (error,) = batch.errors.data
    assert (error.code, error.param, error.line) == (
        "invalid_value",
        "body.max_completion_tokens",
        2,
    )
    assert str(too_many) in error.message and str(fake.context_length) in error.message

    with pytest.raises(openai.BadRequestError) as caught:
        alice.chat.completions.create(
            model="gemma3:12b", messages=[{"role": "user", "content": "hi"}], max_tokens=too_many
        )
    assert caught.value.param == "max_tokens" and caught.value.code == "invalid_value"


# --- issue 8: one set of rules (evaluations/openai_compat.py) at the three doors -------------


def test_every_door_names_the_offending_field_in_param(
    server: dict[str, Any], alice: OpenAI
) -> None:
    # A batch line: the 1-based line, and `param` within the line ("body." + the field).
    robot = _line("b", "x")
    robot["body"]["messages"][0]["role"] = "robot"
    hot = _line("c", "x", temperature="hot")
    batch = _wait(alice, _create(alice, [_line("a", "x"), robot, hot]).id, 30)
    assert batch.status == "failed" and batch.errors is not None
    assert [(e.code, e.param, e.line) for e in batch.errors.data] == [
        ("invalid_body", "body.messages[0].role", 2),
        ("invalid_body", "body.temperature", 3),
    ]
    role_error, temperature_error = batch.errors.data
    assert '"robot"' in (role_error.message or "") and "user" in (role_error.message or "")
    assert "from 0 to 2" in (temperature_error.message or "")

    # Creating a batch: a metadata value past OpenAI's 512 characters.
    uploaded = alice.files.create(file=("m.jsonl", _jsonl([_line("a", "x")])), purpose="batch")
    with pytest.raises(openai.BadRequestError) as caught:
        alice.batches.create(
            input_file_id=uploaded.id,
            endpoint="/v1/chat/completions",
            completion_window="24h",
            metadata={"intake": "x" * 513},
        )
    assert caught.value.param == "metadata" and "512" in caught.value.message
    assert caught.value.type == "invalid_request_error"
    # A missing field is named too, the way OpenAI words it.
    response = httpx.post(
        server["url"] + "/v1/batches",
        json={"input_file_id": uploaded.id, "completion_window": "24h"},
        headers={"Authorization": f"Bearer {server['keys']['alice']}"},
    )
    error = _openai_error(response, 400)
    assert error["param"] == "endpoint" and "Missing required parameter" in error["message"]

    # The synchronous endpoint: the same rule as the batch line, `param` within the body.
    with pytest.raises(openai.BadRequestError) as caught:
        alice.chat.completions.create(
            model="gemma3:12b",
            messages=[{"role": "user", "content": "hi"}],
            temperature="hot",  # type: ignore[arg-type]
        )
    assert caught.value.param == "temperature" and caught.value.code == "invalid_body"
    assert "from 0 to 2" in caught.value.message


# --- The consistency sample in the batch's metadata ----------------------------------------


@pytest.fixture(scope="module")
def sampling(
    tmp_path_factory: pytest.TempPathFactory, fake: FakeOllama
) -> Iterator[dict[str, Any]]:
    """A server whose batches re-send half their lines (at least 4), as the README's
    HRBATCH_CONSISTENCY_* variables set it."""
    data = tmp_path_factory.mktemp("api-sampling")
    env = live.app_env(
        data,
        fake,
        HRBATCH_CONSISTENCY_PCT="50",
        HRBATCH_CONSISTENCY_MIN="4",
        HRBATCH_CONSISTENCY_MAX="500",
    )
    live.manage(env, "migrate", "-v", "0")
    create = "from django.contrib.auth.models import User; User.objects.create_user('carol')"
    live.manage(env, "shell", "-c", create)
    key = live.manage(env, "create_api_key", "--name", "carol's script", "--user", "carol")
    process, url = live.start_serve(env)
    client = OpenAI(base_url=url + "/v1", api_key=key.stdout.strip(), max_retries=0)
    yield {"env": env, "client": client}
    live.stop_serve(process)


SCORE_SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "scores",
        "schema": {
            "type": "object",
            "properties": {
                "overall": {"type": "integer", "minimum": 1, "maximum": 10},
                "communication": {"type": "integer", "minimum": 1, "maximum": 10},
            },
            "required": ["overall", "communication"],
        },
    },
}


def _stored_answers(env: dict[str, str], batch_id: str) -> dict[int, tuple[str, str | None]]:
    """{line: (answer content, content of the answer sent again or None)} from the database."""
    code = (
        "import json; from evaluations.models import Item; "
        f"print(json.dumps([(i.line, i.result) for i in Item.objects.filter(run__public_id="
        f"'{batch_id}')]))"
    )
    rows = json.loads(live.manage(env, "shell", "-v", "0", "-c", code).stdout)
    return {
        line: (result["choices"][0]["message"]["content"], result.get("recheck_scores"))
        for line, result in rows
    }


def test_a_batch_reports_its_consistency_sample_in_metadata_and_nowhere_else(
    sampling: dict[str, Any], fake: FakeOllama
) -> None:
    client: OpenAI = sampling["client"]
    # Lines 4, 8 and 12 ask for "json" (the fake's answer to it never changes); the others
    # for integer scores (drawn from the seed, so they move when the seed moves).
    lines = [
        _line(f"c-{n}", f"Consistency line {n}.", response_format={"type": "json_object"})
        if n % 4 == 0
        else _line(f"c-{n}", f"Consistency line {n}.", response_format=SCORE_SCHEMA, seed=n)
        for n in range(1, 13)
    ]
    uploaded = client.files.create(file=("sampled.jsonl", _jsonl(lines)), purpose="batch")
    created = client.batches.create(
        input_file_id=uploaded.id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata={"team": "recruiting"},
    )

    batch = _wait(client, created.id)

    assert batch.status == "completed"
    stored = _stored_answers(sampling["env"], batch.id)
    sampled = {line: pair for line, pair in stored.items() if pair[1] is not None}
    assert sorted(sampled) == [2, 4, 6, 8, 10, 12]  # 50% of 12, every 2nd line
    for n in range(1, 13):
        sent = [
            r for r in fake.requests if r["messages"][-1]["content"] == f"Consistency line {n}."
        ]
        assert len(sent) == (2 if n in sampled else 1)
        if n in sampled:  # the same request, another seed
            first, again = sent
            assert first["messages"] == again["messages"]
            assert again["options"]["seed"] != first["options"].get("seed")

    assert batch.metadata is not None and batch.metadata["team"] == "recruiting"
    figures = json.loads(batch.metadata["hrbatch_consistency"])
    assert len(batch.metadata["hrbatch_consistency"]) <= 512
    same = [a == b for a, b in sampled.values()]
    assert figures["sample"] == 6
    assert figures["exact_agreement"] == round(sum(same) / 6, 4)
    assert all(sampled[line][0] == sampled[line][1] for line in (4, 8, 12))
    scored = [(json.loads(a), json.loads(b)) for line, (a, b) in sampled.items() if line % 4]
    assert set(figures["keys"]) == {"overall", "communication"}
    for key in ("overall", "communication"):
        diffs = [abs(a[key] - b[key]) for a, b in scored]
        assert figures["keys"][key] == {
            "exact_agreement": round(sum(d == 0 for d in diffs) / len(diffs), 4),
            "mean_abs_diff": round(sum(diffs) / len(diffs), 3),
        }

    # The output file has each line's own answer only; the counts and tokens are its own.
    output = _lines(client, batch.output_file_id)
    assert [r["custom_id"] for r in output] == [f"c-{n}" for n in range(1, 13)]
    for n, record in enumerate(output, start=1):
        body = record["response"]["body"]
        assert "recheck_scores" not in body and "recheck_scores" not in json.dumps(record)
        assert body["choices"][0]["message"]["content"] == stored[n][0]
    assert (batch.request_counts.total, batch.request_counts.completed) == (12, 12)
    assert batch.usage is not None
    assert batch.usage.input_tokens == sum(
        r["response"]["body"]["usage"]["prompt_tokens"] for r in output
    )
    assert batch.usage.output_tokens == sum(
        r["response"]["body"]["usage"]["completion_tokens"] for r in output
    )
    listed = next(b for b in client.batches.list() if b.id == batch.id)
    assert listed.metadata == batch.metadata


def test_the_callers_own_metadata_key_is_never_overwritten(sampling: dict[str, Any]) -> None:
    client: OpenAI = sampling["client"]
    lines = [_line(f"own-{n}", f"Own metadata line {n}.") for n in range(1, 5)]
    uploaded = client.files.create(file=("own.jsonl", _jsonl(lines)), purpose="batch")
    mine = {"hrbatch_consistency": "my own note", "owner": "carol"}

    batch = _wait(
        client,
        client.batches.create(
            input_file_id=uploaded.id,
            endpoint="/v1/chat/completions",
            completion_window="24h",
            metadata=mine,
        ).id,
    )

    assert batch.status == "completed"
    assert batch.metadata == mine
    sampled = [a for a in _stored_answers(sampling["env"], batch.id).values() if a[1] is not None]
    assert len(sampled) == 4  # all 4 lines were sent again (at least HRBATCH_CONSISTENCY_MIN)
