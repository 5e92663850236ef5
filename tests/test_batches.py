"""API batches (services/batches.py, engine/handlers.py, export.py): validation, request
mapping, outputs, cancel, expiry.

Everything runs through the real engine against the fake Ollama server, with django-q2
tasks inline (conftest), so a batch created here is validated, processed and finalised
before batch_create returns.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from devtools.fake_ollama import PLAIN_ANSWER, FakeOllama
from evaluations import engine, export, openai_compat, selectors, services
from evaluations.llm import ModelNotFound
from evaluations.models import File, Item, Run
from evaluations.services import batches
from tests.support.files import write_jsonl
from tests.support.runs import CHAT, MODEL, create_batch, request_line, upload

pytestmark = pytest.mark.django_db(transaction=True)


def text_part(text: str) -> dict[str, str]:
    return {"type": "text", "text": text}


def read_jsonl(file: File | None) -> list[dict[str, Any]]:
    assert file is not None
    with open(file.abspath, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def by_user_text(fake: FakeOllama) -> dict[str, dict[str, Any]]:
    return {r["messages"][-1]["content"]: r for r in fake.requests}


@pytest.fixture
def no_dispatch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches start but no worker picks their Items up: the test processes them."""
    monkeypatch.setattr("evaluations.tasks.process_chunk", lambda *args, **kwargs: 0)


def process_first(run: Run, count: int) -> list[int]:
    ids = list(Item.objects.filter(run=run).order_by("line").values_list("id", flat=True))
    engine.process_chunk(run.pk, ids[0], ids[count - 1])
    return ids


# --- The happy path ---------------------------------------------------------------------


def test_a_batch_of_twenty_requests_completes_with_one_output_line_each(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path, owner: Any
) -> None:
    lines = [request_line(f"req-{i}", f"Question {i}", temperature=0) for i in range(1, 21)]
    run = create_batch(
        write_jsonl(tmp_path / "requests.jsonl", lines), owner, metadata={"intake": "march"}
    )

    assert run.status == Run.Status.COMPLETED, (run.status_message, run.errors)
    assert run.kind == Run.Kind.BATCH and run.name == "requests.jsonl"
    assert (run.total_count, run.done_count, run.failed_count) == (20, 20, 0)
    assert run.model == MODEL and run.backend == "ollama"
    assert run.options["endpoint"] == CHAT and run.options["completion_window"] == "24h"
    assert run.options["metadata"] == {"intake": "march"}
    assert run.expires_at - run.created_at == timedelta(hours=24)
    assert run.in_progress_at and run.finalizing_at and run.completed_at
    assert run.error_file is None
    assert len(fake_ollama.requests) == 20

    output = run.output_file
    assert output is not None and output.purpose == File.Purpose.BATCH_OUTPUT
    assert output.owner == owner and output.filename == f"{run.public_id}_output.jsonl"
    assert output.bytes == output.abspath.stat().st_size
    assert output.sha256 == hashlib.sha256(output.abspath.read_bytes()).hexdigest()
    records = read_jsonl(output)
    assert [r["custom_id"] for r in records] == [f"req-{i}" for i in range(1, 21)]
    assert len({r["id"] for r in records}) == 20
    for record in records:
        assert record["id"].startswith("batch_req_") and record["error"] is None
        response = record["response"]
        assert response["status_code"] == 200 and response["request_id"]
        body = response["body"]
        assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
        assert body["model"] == MODEL and isinstance(body["created"], int)
        assert body["system_fingerprint"] == "fp_" + run.model_digest[:10]
        (choice,) = body["choices"]
        assert choice["index"] == 0 and choice["finish_reason"] == "stop"
        assert choice["message"] == {
            "role": "assistant",
            "content": PLAIN_ANSWER,
            "refusal": None,
        }
        usage = body["usage"]
        assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_request_parameters_map_onto_ollama_options(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    schema = {
        "type": "object",
        "properties": {"score": {"type": "integer", "minimum": 1, "maximum": 10}},
        "required": ["score"],
    }
    lines = [
        request_line("plain", "plain"),
        request_line(
            "tuned",
            "tuned",
            temperature=0.2,
            top_p=0.9,
            seed=7,
            stop="END",
            max_tokens=50,
            frequency_penalty=0.5,
            presence_penalty=-0.5,
        ),
        request_line(
            "json",
            "json",
            max_completion_tokens=77,
            max_tokens=500,
            stop=["a", "b"],
            response_format={"type": "json_object"},
        ),
        request_line(
            "schema",
            messages=[
                {"role": "developer", "content": "Be brief."},
                {"role": "user", "content": [text_part("part one"), text_part("part two")]},
            ],
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "score", "schema": schema, "strict": True},
            },
        ),
        request_line("text", "text", response_format={"type": "text"}),
    ]
    run = create_batch(write_jsonl(tmp_path / "params.jsonl", lines))
    assert run.status == Run.Status.COMPLETED, run.status_message

    sent = by_user_text(fake_ollama)
    assert set(sent) == {"plain", "tuned", "json", "part one\npart two", "text"}
    num_ctx = run.options["num_ctx"]
    assert num_ctx == 2048  # the longest prompt is tiny; the largest budget is the default
    for request in sent.values():
        assert request["options"]["num_ctx"] == num_ctx
        assert request["keep_alive"] == "30m" and request["model"] == MODEL

    plain = sent["plain"]["options"]
    # OpenAI samples at temperature 1 when the request says nothing; so does the batch.
    assert plain["temperature"] == 1.0 and plain["num_predict"] == 1024
    assert not {"seed", "top_p", "stop", "frequency_penalty", "presence_penalty"} & set(plain)
    assert sent["plain"].get("format") in (None, "")

    tuned = sent["tuned"]["options"]
    assert tuned["temperature"] == 0.2 and tuned["top_p"] == 0.9 and tuned["seed"] == 7
    assert tuned["stop"] == ["END"] and tuned["num_predict"] == 50
    assert tuned["frequency_penalty"] == 0.5 and tuned["presence_penalty"] == -0.5

    as_json = sent["json"]
    assert as_json["format"] == "json"
    assert as_json["options"]["num_predict"] == 77  # max_completion_tokens wins
    assert as_json["options"]["stop"] == ["a", "b"]

    with_schema = sent["part one\npart two"]
    assert with_schema["format"] == schema
    assert with_schema["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "part one\npart two"},
    ]
    assert sent["text"].get("format") in (None, "")

    bodies = {r["custom_id"]: r["response"]["body"] for r in read_jsonl(run.output_file)}
    assert json.loads(bodies["json"]["choices"][0]["message"]["content"]) == {"response": "ok"}
    answer = json.loads(bodies["schema"]["choices"][0]["message"]["content"])
    assert 1 <= answer["score"] <= 10


def test_a_json_schema_reaches_the_model_with_its_properties_in_the_callers_order(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    """The model answers a schema's properties in the order they are listed: reasoning
    before the score must stay so on PostgreSQL too, whose jsonb would put "score" first
    (shorter keys first). Fails on the PostgreSQL pass of `make test` without the fix."""
    schema = {
        "type": "object",
        "properties": {
            "reasoning": {"type": "string", "maxLength": 40},
            "score": {"type": "integer", "enum": [1, 2, 3]},
            "a": {"type": "boolean"},
        },
        "required": ["reasoning", "score", "a"],
    }
    line = request_line(
        "ordered",
        "Rate this.",
        response_format={"type": "json_schema", "json_schema": {"name": "r", "schema": schema}},
    )
    path = tmp_path / "ordered.jsonl"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")

    run = create_batch(path)

    assert run.status == Run.Status.COMPLETED, run.status_message
    (request,) = fake_ollama.requests
    assert json.dumps(request["format"]) == json.dumps(schema)
    answer = read_jsonl(run.output_file)[0]["response"]["body"]["choices"][0]["message"]
    assert list(json.loads(answer["content"])) == ["reasoning", "score", "a"]


def test_num_ctx_is_sized_for_the_longest_prompt_plus_the_largest_answer(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    lines = [request_line("short", "hi"), request_line("long", "x" * 12_000, max_tokens=2000)]
    run = create_batch(write_jsonl(tmp_path / "long.jsonl", lines))

    assert run.status == Run.Status.COMPLETED, run.status_message
    assert run.max_input_chars == 12_000
    # 12,024 characters at 3 a token + message overhead + 2,000 answer tokens → 6,144.
    assert run.options["num_ctx"] == 6144
    assert {r["options"]["num_ctx"] for r in fake_ollama.requests} == {6144}
    assert run.done_count == 2


def test_requests_that_cannot_be_sent_fail_without_a_call(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    engine_settings.HRBATCH = {**engine_settings.HRBATCH, "MAX_NUM_CTX": 2048}
    image = {"type": "image_url", "image_url": {"url": "https://example.com/cv.png"}}
    lines = [
        request_line("short", "hi"),
        request_line("long", "word " * 2000),
        request_line("image", [{"type": "text", "text": "Read this CV"}, image]),
    ]
    run = create_batch(write_jsonl(tmp_path / "mixed.jsonl", lines))

    assert run.status == Run.Status.COMPLETED, run.status_message
    assert (run.done_count, run.failed_count) == (1, 2)
    assert [r["messages"][-1]["content"] for r in fake_ollama.requests] == ["hi"]
    assert [r["custom_id"] for r in read_jsonl(run.output_file)] == ["short"]
    errors = read_jsonl(run.error_file)
    assert run.error_file is not None and run.error_file.purpose == File.Purpose.BATCH_ERROR
    # As OpenAI writes a refused request: the HTTP answer it got, and `error` null.
    answers = [e["response"]["body"]["error"] for e in errors]
    assert [(e["custom_id"], a["code"]) for e, a in zip(errors, answers, strict=True)] == [
        ("long", "context_length_exceeded"),
        ("image", "unsupported_input"),
    ]
    for error, answer in zip(errors, answers, strict=True):
        assert error["error"] is None and error["id"].startswith("batch_req_")
        assert error["response"]["status_code"] == 400 and error["response"]["request_id"]
        assert (answer["type"], answer["param"]) == ("invalid_request_error", "messages")
    assert "HRBATCH_MAX_NUM_CTX" in answers[0]["message"]
    assert "image inputs are not supported" in answers[1]["message"]

    # Writing the outputs again gives the same files under the same ids.
    first = {f.id: (f.bytes, f.sha256) for f in File.objects.exclude(purpose=File.Purpose.BATCH)}
    output = export.write_batch_outputs(run)
    again = {f.id: (f.bytes, f.sha256) for f in File.objects.exclude(purpose=File.Purpose.BATCH)}
    assert again == first and len(first) == 2
    assert output is not None and output.id == run.output_file_id
    run.refresh_from_db()
    assert run.error_file_id in first


# --- Validation -----------------------------------------------------------------------------


def test_an_invalid_file_fails_validation_naming_each_line(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    ok = request_line("a")
    lines: list[dict[str, Any] | str] = [
        "{not json",  # 1
        "[1, 2]",  # 2
        "",  # 3: blank lines are skipped (but counted)
        {k: v for k, v in request_line("x").items() if k != "custom_id"},  # 4
        ok,  # 5
        ok,  # 6: duplicate of line 5
        {**request_line("get"), "method": "GET"},  # 7
        {**request_line("emb"), "url": "/v1/embeddings"},  # 8
        {**request_line("nomodel"), "body": {"messages": [{"role": "user", "content": "x"}]}},
        {**request_line("nobody"), "body": "hello"},  # 10
        {**request_line("nomsgs"), "body": {"model": MODEL}},  # 11
        request_line("n2", n=2),  # 12
        request_line("stream", stream=True),  # 13
        {**request_line("num"), "custom_id": 5},  # 14
        request_line("tools", tools=[{"type": "function", "function": {"name": "f"}}]),  # 15
        request_line("fine"),  # 16
        {k: v for k, v in request_line("nb").items() if k != "body"},  # 17
    ]
    run = create_batch(write_jsonl(tmp_path / "bad.jsonl", lines))

    assert run.status == Run.Status.FAILED
    assert [(e["code"], e["line"]) for e in run.errors] == [
        ("invalid_json_line", 1),
        ("invalid_json_line", 2),
        ("missing_custom_id", 4),
        ("duplicate_custom_id", 6),
        ("invalid_method", 7),
        ("mismatched_url", 8),
        ("missing_model", 9),
        ("invalid_body", 10),
        ("invalid_body", 11),
        ("invalid_body", 12),
        ("invalid_body", 13),
        ("invalid_custom_id", 14),
        ("invalid_body", 15),
        ("invalid_body", 17),
    ]
    messages = {e["line"]: e["message"] for e in run.errors}
    assert "line 5" in messages[6]
    assert "/v1/chat/completions" in messages[8]
    assert "n = 1" in messages[12] and "stream" in messages[13] and "tool" in messages[15]
    assert run.errors[0]["param"] is None and run.errors[6]["param"] == "body.model"
    assert run.total_count == 0 and not Item.objects.filter(run=run).exists()
    assert run.failed_at and "14 problems in the file" in run.status_message
    assert fake_ollama.chat_count == 0


def test_two_models_in_one_file_fail_with_mismatched_model(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    # Items are inserted one at a time here, so the failure must remove those already in.
    engine_settings.HRBATCH = {**engine_settings.HRBATCH, "INGEST_BATCH": 1}
    other = request_line("c")
    other["body"]["model"] = "llama3.2:3b"
    run = create_batch(
        write_jsonl(tmp_path / "models.jsonl", [request_line("a"), request_line("b"), other])
    )

    assert run.status == Run.Status.FAILED
    (error,) = run.errors
    assert (error["code"], error["line"]) == ("mismatched_model", 3)
    assert "gemma3:12b" in error["message"] and "line 1" in error["message"]
    assert "llama3.2:3b" in error["message"]
    assert not Item.objects.filter(run=run).exists()


def test_empty_files_and_the_limits_on_requests_and_errors(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    empty = create_batch(write_jsonl(tmp_path / "empty.jsonl", ["", "  "]))
    assert empty.status == Run.Status.FAILED
    assert [(e["code"], e["line"]) for e in empty.errors] == [("empty_file", None)]

    engine_settings.HRBATCH = {**engine_settings.HRBATCH, "API_MAX_REQUESTS": 3}
    lines = [request_line(f"r{i}") for i in range(5)]
    big = create_batch(write_jsonl(tmp_path / "big.jsonl", lines))
    assert big.status == Run.Status.FAILED
    (error,) = big.errors
    assert (error["code"], error["line"]) == ("too_many_requests", 4)
    assert "3" in error["message"] and "HRBATCH_API_MAX_REQUESTS" in error["message"]
    assert not Item.objects.filter(run=big).exists()

    engine_settings.HRBATCH = {**engine_settings.HRBATCH, "MAX_VALIDATION_ERRORS": 2}
    bad = create_batch(write_jsonl(tmp_path / "bad.jsonl", ["{"] * 5))
    assert [(e["code"], e["line"]) for e in bad.errors] == [
        ("invalid_json_line", 1),
        ("invalid_json_line", 2),
    ]


def test_batch_create_refuses_what_it_cannot_run(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "ok.jsonl", [request_line("a")])
    with pytest.raises(services.InputError, match="/v1/chat/completions"):
        create_batch(path, endpoint="/v1/embeddings")
    with pytest.raises(services.InputError, match="24h"):
        create_batch(path, completion_window="1h")
    with pytest.raises(services.InputError, match="at most 16"):
        create_batch(path, metadata={f"k{i}": "v" for i in range(17)})
    candidates = upload(path, purpose=File.Purpose.CANDIDATES)
    with pytest.raises(services.InputError, match="purpose 'batch'"):
        batches.batch_create(
            owner=None,
            input_file=candidates,
            endpoint=CHAT,
            completion_window="24h",
            metadata=None,
        )
    assert not Run.objects.exists()


def test_the_same_rules_name_the_field_at_every_door(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    hot = request_line("c", temperature="hot")
    no_model = request_line("d", temperature="hot")
    del no_model["body"]["model"]
    lines = [
        request_line("a"),
        request_line("b", messages=[{"role": "robot", "content": "hi"}]),
        hot,
        request_line("a", temperature="hot"),  # a reused custom_id is said first
        no_model,  # and a missing model before the rest of the body
    ]
    path = write_jsonl(tmp_path / "params.jsonl", lines)
    run = create_batch(path)

    assert [(e["code"], e["param"], e["line"]) for e in run.errors] == [
        ("invalid_body", "body.messages[0].role", 2),
        ("invalid_body", "body.temperature", 3),
        ("duplicate_custom_id", "custom_id", 4),
        ("missing_model", "body.model", 5),
    ]
    # The synchronous endpoint: the same rule and words, `param` within the body.
    sync = openai_compat.body_problem(hot["body"])
    assert sync is not None and (sync.code, sync.param) == ("invalid_body", "temperature")
    assert sync.message.replace("'temperature'", "'body.temperature'") == run.errors[1]["message"]
    # Creating a batch: OpenAI's metadata limits, the field named.
    with pytest.raises(batches.BatchInputError) as caught:
        create_batch(path, metadata={"intake": "x" * 513})
    assert caught.value.param == "metadata" and "512" in caught.value.message
    assert fake_ollama.chat_count == 0


# --- Failures, cancel, expiry ------------------------------------------------------------


def test_requests_that_keep_failing_go_to_the_error_file_and_can_be_retried(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    fake_ollama.error_rate = 1.0
    lines = [request_line(f"r{i}", f"q{i}") for i in range(1, 5)]
    run = create_batch(write_jsonl(tmp_path / "failing.jsonl", lines))

    assert run.status == Run.Status.COMPLETED  # as with OpenAI: completed, every line failed
    assert (run.done_count, run.failed_count) == (0, 4)
    assert run.output_file is None  # nothing to put in it: no file, like OpenAI
    errors = read_jsonl(run.error_file)
    assert [e["custom_id"] for e in errors] == ["r1", "r2", "r3", "r4"]
    for error in errors:
        assert error["error"] is None and error["response"]["status_code"] == 500
        answer = error["response"]["body"]["error"]
        assert answer["type"] == "server_error" and "after 10 attempts" in answer["message"]
    assert fake_ollama.chat_count == 4 * 10 * 2  # server errors' budget, then the second pass
    error_file_id = run.error_file_id

    # The server recovers; retrying the failed lines rewrites the outputs.
    fake_ollama.error_rate = 0.0
    assert services.run_retry_failed(run=run) == 4
    run.refresh_from_db()
    assert run.status == Run.Status.COMPLETED and run.done_count == 4
    assert run.error_file is None and not File.objects.filter(id=error_file_id).exists()
    assert [r["custom_id"] for r in read_jsonl(run.output_file)] == ["r1", "r2", "r3", "r4"]


def test_a_request_that_never_got_an_answer_is_a_request_timeout_line(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    engine_settings.HRBATCH = {**engine_settings.HRBATCH, "REQUEST_TIMEOUT_SECONDS": 0.2}
    fake_ollama.latency = 1.0
    run = create_batch(write_jsonl(tmp_path / "slow.jsonl", [request_line("slow")]))

    assert run.status == Run.Status.COMPLETED and run.failed_count == 1
    (line,) = read_jsonl(run.error_file)
    # OpenAI's shape: no HTTP answer to show, and the documented request_timeout code.
    assert line["response"] is None and line["error"]["code"] == "request_timeout"
    assert "did not answer in time" in line["error"]["message"]


def test_cancel_puts_the_requests_not_run_in_the_error_file(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path, no_dispatch: None
) -> None:
    lines = [request_line(f"r{i}", f"q{i}") for i in range(1, 11)]
    run = create_batch(write_jsonl(tmp_path / "cancel.jsonl", lines))
    assert run.status == Run.Status.IN_PROGRESS
    process_first(run, 4)

    assert services.run_cancel(run=run)
    run.refresh_from_db()
    assert run.status == Run.Status.CANCELLED and run.cancelled_at
    assert (run.done_count, run.cancelled_count) == (4, 6)
    done = read_jsonl(run.output_file)
    errors = read_jsonl(run.error_file)
    assert [r["custom_id"] for r in done] == ["r1", "r2", "r3", "r4"]
    assert [e["custom_id"] for e in errors] == [f"r{i}" for i in range(5, 11)]
    assert {e["error"]["code"] for e in errors} == {"batch_cancelled"}
    # Every input line exactly once across the two files.
    seen = sorted([r["custom_id"] for r in done + errors], key=lambda c: int(c[1:]))
    assert seen == [f"r{i}" for i in range(1, 11)]


def test_a_client_polling_a_cancelled_batch_sees_cancelling_then_cancelled(
    engine_settings: Any,
    fake_ollama: FakeOllama,
    tmp_path: Path,
    no_dispatch: None,
    owner: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """OpenAI's lifecycle is cancelling → cancelled; hrbatch's own `finalizing` step (the
    claim that lets exactly one worker write the outputs) must not show through."""
    _, key = services.api_key_create(owner=owner, name="poller")
    client = Client(headers={"Authorization": f"Bearer {key}"})
    lines = [request_line("a"), request_line("b")]
    run = create_batch(write_jsonl(tmp_path / "c.jsonl", lines), owner)
    process_first(run, 1)
    seen: list[dict[str, Any]] = []
    write_outputs = export.write_batch_outputs

    def poll_then_write(run: Run) -> File | None:
        seen.append(client.get(f"/v1/batches/{run.public_id}").json())  # mid-finalisation
        return write_outputs(run)

    monkeypatch.setattr(export, "write_batch_outputs", poll_then_write)
    cancelled = client.post(f"/v1/batches/{run.public_id}/cancel").json()
    seen.append(client.get(f"/v1/batches/{run.public_id}").json())

    assert Run.objects.get(pk=run.pk).status == Run.Status.CANCELLED
    assert [b["status"] for b in seen] == ["cancelling", "cancelled"]
    assert cancelled["status"] == "cancelled" and cancelled["cancelled_at"]
    assert all(b["finalizing_at"] is None and b["cancelling_at"] for b in seen)


def test_a_paused_batch_is_in_progress_to_its_client_with_its_progress_and_may_be_cancelled(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path, no_dispatch: None, owner: Any
) -> None:
    """OpenAI's lifecycle has no `paused`: a batch paused here (from the web app, the CLI
    or the admin) still reads in_progress, with its progress, and a cancel stops it."""
    _, key = services.api_key_create(owner=owner, name="poller")
    client = Client(headers={"Authorization": f"Bearer {key}"})
    lines = [request_line("a"), request_line("b")]
    run = create_batch(write_jsonl(tmp_path / "p.jsonl", lines), owner, metadata={"team": "x"})
    process_first(run, 1)
    assert services.run_pause(run=run)

    paused = client.get(f"/v1/batches/{run.public_id}").json()
    assert paused["status"] == "in_progress"
    assert paused["metadata"]["team"] == "x" and "completion_pct" in paused["metadata"]

    cancelled = client.post(f"/v1/batches/{run.public_id}/cancel").json()
    assert cancelled["status"] == "cancelled" and cancelled["cancelled_at"]
    assert cancelled["request_counts"] == {"total": 2, "completed": 1, "failed": 0}
    assert cancelled["metadata"] == {"team": "x"}  # no progress figures once it has ended
    again = client.post(f"/v1/batches/{run.public_id}/cancel")  # asking twice is fine
    assert again.status_code == 200 and again.json()["status"] == "cancelled"


def test_a_batch_past_its_window_expires_with_what_was_done(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path, no_dispatch: None
) -> None:
    lines = [request_line(f"r{i}", f"q{i}") for i in range(1, 11)]
    run = create_batch(write_jsonl(tmp_path / "slow.jsonl", lines))
    on_time = create_batch(write_jsonl(tmp_path / "on-time.jsonl", lines[:2]))
    process_first(run, 3)
    Run.objects.filter(pk=run.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    report = services.sweep()
    assert report["expired"] == 1
    run.refresh_from_db()
    assert run.status == Run.Status.EXPIRED
    assert run.expired_at and not run.cancelled_at and not run.completed_at
    assert (run.done_count, run.cancelled_count) == (3, 7)
    assert [r["custom_id"] for r in read_jsonl(run.output_file)] == ["r1", "r2", "r3"]
    errors = read_jsonl(run.error_file)
    assert [e["custom_id"] for e in errors] == [f"r{i}" for i in range(4, 11)]
    for error in errors:
        assert error["error"] == {"code": "batch_expired", "message": export.EXPIRED_MESSAGE}

    on_time.refresh_from_db()
    assert on_time.status == Run.Status.IN_PROGRESS  # its window is still open
    assert services.sweep()["expired"] == 0


# --- One synchronous request -----------------------------------------------------------------


def test_body_problem_words_what_cannot_run() -> None:
    def problem(body: dict[str, Any]) -> tuple[str, str | None]:
        found = openai_compat.body_problem(body)
        assert found is not None
        return found.message, found.param

    assert openai_compat.body_problem(request_line("a")["body"]) is None
    message, param = problem({"model": MODEL})
    assert "messages" in message and param == "messages"
    message, param = problem({"messages": []})
    assert "model" in message and param == "model"
    message, param = problem(request_line("a", n=3)["body"])
    assert "n = 1" in message and param == "n"
    image = {"type": "image_url", "image_url": {"url": "https://example.com/cv.png"}}
    message, param = problem(request_line("a", [image])["body"])
    assert "image inputs are not supported" in message and param == "messages"


def test_complete_answers_one_body_mapped_like_a_batch_line(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path, no_dispatch: None
) -> None:
    body = request_line("a", "Say hello", temperature=0, max_tokens=20)["body"]
    completion = batches.complete(body, backend_name="ollama")

    assert completion["object"] == "chat.completion" and completion["model"] == MODEL
    assert completion["choices"][0]["message"]["content"] == PLAIN_ANSWER
    assert completion["usage"]["prompt_tokens"] > 0
    (sent,) = fake_ollama.requests
    assert sent["options"]["temperature"] == 0 and sent["options"]["num_predict"] == 20
    assert sent["options"]["num_ctx"] == 2048

    # While a batch of the same model runs, its num_ctx is reused: no model reload.
    lines = [request_line("long", "x" * 12_000, max_tokens=2000), request_line("b")]
    run = create_batch(write_jsonl(tmp_path / "running.jsonl", lines))
    assert run.status == Run.Status.IN_PROGRESS and run.options["num_ctx"] == 6144
    batches.complete(body, backend_name="ollama")
    assert fake_ollama.requests[-1]["options"]["num_ctx"] == 6144

    missing = {**body, "model": "qwen3:235b"}
    with pytest.raises(ModelNotFound, match="ollama pull qwen3:235b"):
        batches.complete(missing, backend_name="ollama")


def test_a_batch_shows_in_the_web_app_with_its_result_files(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path, owner: Any, outsider: Any
) -> None:
    from django.test import Client

    lines = [request_line(f"r{i}", f"hello {i}") for i in range(3)]
    run = create_batch(write_jsonl(tmp_path / "web.jsonl", lines), owner=owner)
    errors = list(Item.objects.filter(run=run).values_list("status", "error"))
    assert (run.status, run.done_count) == (Run.Status.COMPLETED, 3), (run.status_message, errors)
    client = Client()
    client.force_login(owner)

    assert run.public_id in client.get("/").content.decode()
    page = client.get(f"/runs/{run.public_id}/").content.decode()
    assert "Download results (JSONL)" in page and "Finished" in page
    response = client.get(f"/runs/{run.public_id}/files/{run.output_file_id}")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == 3 and json.loads(lines[0])["custom_id"] == "r0"
    other = Client()
    other.force_login(outsider)
    assert other.get(f"/runs/{run.public_id}/files/{run.output_file_id}").status_code == 404


def test_an_unexpected_error_under_v1_is_logged_and_answered_in_json(
    owner: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _, key = services.api_key_create(owner=owner, name="script")
    client = Client(headers={"Authorization": f"Bearer {key}"}, raise_request_exception=False)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("evaluations.selectors.resolve_backend", broken)  # a fault behind the view
    response = client.get("/v1/models")

    assert response.status_code == 500 and response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["type"] == "server_error" and "disk on fire" not in error["message"]
    assert any("disk on fire" in str(r.exc_info) for r in caplog.records if r.exc_info)
    # The web app keeps its own error page.
    assert "application/json" not in client.get("/runs/does-not-exist").get("Content-Type", "")


def test_a_request_refused_before_any_view_runs_is_json_under_v1(settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["hr.example.com"]
    response = Client().get("/v1/models", headers={"Host": "evil.example"})

    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert "evil.example" in response.json()["error"]["message"]
    assert (
        "application/json"
        not in Client().get("/", headers={"Host": "evil.example"})["Content-Type"]
    )


def test_the_consistency_figures_fit_one_metadata_value_and_any_sample_size(
    consistency: Any, fake_ollama: FakeOllama, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Answers with 40 whole-number keys: per-key figures would pass OpenAI's 512 characters.
    properties = {
        f"criterion_{n:02}": {"type": "integer", "minimum": 1, "maximum": 3} for n in range(40)
    }
    schema = {"type": "object", "properties": properties, "required": list(properties)}
    lines = [
        request_line(
            f"r{n}",
            f"Line {n}",
            seed=n,
            response_format={"type": "json_schema", "json_schema": {"name": "s", "schema": schema}},
        )
        for n in range(25)
    ]
    run = create_batch(write_jsonl(tmp_path / "wide.jsonl", lines))
    assert run.status == Run.Status.COMPLETED

    figures = selectors.batch_consistency(run)

    # At least 20 of 25 lines: every 25 // 20 = 1st line, so all of them.
    assert figures is not None and figures["sample"] == 25
    assert len(figures["keys"]) == 40
    text = selectors.batch_consistency_metadata(figures)
    assert len(text) <= openai_compat.METADATA_VALUE_MAX
    assert json.loads(text) == {"sample": 25, "exact_agreement": figures["exact_agreement"]}
    # Found by a scan instead of by line numbers when the sample is large: the same figures.
    monkeypatch.setattr(selectors, "SAMPLED_LINES_LOOKUP", 3)
    assert selectors.batch_consistency(run) == figures
    # The output file has the first answers only.
    output = read_jsonl(run.output_file)
    assert len(output) == 25
    assert all(Item.RECHECK_SCORES not in line["response"]["body"] for line in output)
