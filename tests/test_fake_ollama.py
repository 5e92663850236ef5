"""Tests for the fake Ollama server, driven by the real ``ollama`` client over real HTTP."""

from __future__ import annotations

import asyncio
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import ollama
import pytest

from devtools.fake_ollama import FakeOllama

MODEL = "gemma3:12b"
SCORE_KEYS = [
    "technical_skills",
    "communication",
    "cultural_fit",
    "leadership_potential",
    "overall",
]
SCORE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        **{key: {"type": "integer", "minimum": 1, "maximum": 10} for key in SCORE_KEYS},
        "rationale": {"type": "string", "maxLength": 200},
    },
    "required": SCORE_KEYS,
}


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def assert_valid_scores(content: str) -> dict[str, Any]:
    doc = json.loads(content)
    assert isinstance(doc, dict)
    assert list(doc)[:5] == SCORE_KEYS  # declared order
    for key in SCORE_KEYS:
        assert type(doc[key]) is int
        assert 1 <= doc[key] <= 10
    assert set(doc) <= {*SCORE_KEYS, "rationale"}
    if "rationale" in doc:
        assert isinstance(doc["rationale"], str)
        assert len(doc["rationale"]) <= 200
    return doc


def expected_tokens(messages: list[dict[str, str]]) -> int:
    return sum(math.ceil(len(m["content"]) / 4) + 4 for m in messages)


@pytest.fixture
def fake() -> Iterator[FakeOllama]:
    with FakeOllama() as server:
        yield server


@pytest.fixture
def client(fake: FakeOllama) -> Iterator[ollama.Client]:
    with ollama.Client(host=fake.url) as c:
        yield c


# --- metadata endpoints -----------------------------------------------------------------------


def test_root_version_and_unknown_paths(fake: FakeOllama) -> None:
    r = httpx.get(fake.url)
    assert r.status_code == 200
    assert r.text == "Ollama is running"
    assert httpx.head(fake.url).status_code == 200
    assert httpx.get(f"{fake.url}/api/version").json() == {"version": "0.12.6"}
    r = httpx.get(f"{fake.url}/api/nope")
    assert r.status_code == 404
    assert r.text == "404 page not found"
    assert r.headers["content-type"].startswith("text/plain")
    assert httpx.post(f"{fake.url}/api/generate", json={}).status_code == 404


def test_list_show_ps_shapes(fake: FakeOllama, client: ollama.Client) -> None:
    raw = httpx.get(f"{fake.url}/api/tags").json()
    names = [m["name"] for m in raw["models"]]
    assert names == ["gemma3:12b", "llama3.2:3b"]
    first = raw["models"][0]
    assert first["model"] == "gemma3:12b"
    assert len(first["digest"]) == 64
    int(first["digest"], 16)
    assert first["digest"] == httpx.get(f"{fake.url}/api/tags").json()["models"][0]["digest"]
    assert first["details"] == {
        "parent_model": "",
        "format": "gguf",
        "family": "gemma3",
        "families": ["gemma3"],
        "parameter_size": "12.2B",
        "quantization_level": "Q4_K_M",
    }
    listed = client.list()
    assert [m.model for m in listed.models] == names
    assert listed.models[0].size > 1_000_000_000

    shown = client.show(MODEL)
    assert shown.modelinfo is not None
    assert shown.modelinfo["general.architecture"] == "gemma3"
    assert shown.modelinfo["gemma3.context_length"] == 131072
    assert shown.capabilities == ["completion"]
    assert shown.details is not None and shown.details.family == "gemma3"
    assert shown.template and shown.modelfile and shown.parameters
    legacy = httpx.post(f"{fake.url}/api/show", json={"name": "llama3.2:3b"})
    assert legacy.status_code == 200
    assert legacy.json()["model_info"]["general.architecture"] == "llama"

    with pytest.raises(ollama.ResponseError) as exc:
        client.show("nope:1b")
    assert exc.value.status_code == 404
    assert exc.value.error == "model 'nope:1b' not found"

    assert client.ps().models == []
    client.chat(model=MODEL, messages=user("hello"), options={"num_ctx": 8192})
    loaded = client.ps().models
    assert [m.model for m in loaded] == [MODEL]
    assert loaded[0].context_length == 8192
    assert loaded[0].size_vram == loaded[0].size
    assert loaded[0].expires_at is not None


# --- chat ---------------------------------------------------------------------------------------


def test_chat_non_stream_schema(fake: FakeOllama, client: ollama.Client) -> None:
    messages = [{"role": "system", "content": "You are an HR assistant."}, *user("Score Ann.")]
    r = client.chat(model=MODEL, messages=messages, format=SCORE_SCHEMA, options={"seed": 1})
    assert r.done is True
    assert r.done_reason == "stop"
    assert r.model == MODEL
    assert r.created_at and r.created_at.endswith("Z")
    assert r.message.role == "assistant"
    assert_valid_scores(r.message.content or "")
    assert r.prompt_eval_count == expected_tokens(messages)
    assert r.eval_count == len((r.message.content or "").split())
    assert r.total_duration and r.prompt_eval_duration and r.eval_duration
    assert r.load_duration is not None
    assert fake.chat_count == 1
    assert fake.requests[0]["model"] == MODEL
    assert fake.requests[0]["format"] == SCORE_SCHEMA
    assert fake.requests[0]["stream"] is False


def test_chat_stream_schema(client: ollama.Client) -> None:
    parts = list(
        client.chat(model=MODEL, messages=user("Score Bob."), format=SCORE_SCHEMA, stream=True)
    )
    assert len(parts) > 2
    assert all(p.done is False for p in parts[:-1])
    last = parts[-1]
    assert last.done is True and last.done_reason == "stop"
    assert last.message.content == ""
    assert last.prompt_eval_count and last.eval_count and last.total_duration
    content = "".join(p.message.content or "" for p in parts)
    assert_valid_scores(content)
    # streaming and non-streaming produce the same content
    same = client.chat(model=MODEL, messages=user("Score Bob."), format=SCORE_SCHEMA)
    assert same.message.content == content


def test_chat_stream_is_default_ndjson(fake: FakeOllama) -> None:
    body = {"model": MODEL, "messages": user("hi")}
    r = httpx.post(f"{fake.url}/api/chat", json=body)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/x-ndjson"
    assert r.headers["transfer-encoding"] == "chunked"
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert len(lines) > 2
    assert lines[-1]["done"] is True and lines[-1]["message"] == {
        "role": "assistant",
        "content": "",
    }
    text = "".join(line["message"]["content"] for line in lines)
    assert text == "This is a fake answer from the fake Ollama server."


def test_chat_async_and_json_format(fake: FakeOllama) -> None:
    async def run() -> tuple[str, str]:
        async with ollama.AsyncClient(host=fake.url) as ac:
            r1 = await ac.chat(model=MODEL, messages=user("x"), format="json")
            r2 = await ac.chat(model="llama3.2:3b", messages=user("x"))
            return r1.message.content or "", r2.message.content or ""

    json_content, plain = asyncio.run(run())
    assert json.loads(json_content) == {"response": "ok"}
    assert plain == "This is a fake answer from the fake Ollama server."


def test_determinism(client: ollama.Client) -> None:
    def content(text: str, seed: int | None) -> str:
        options = {"temperature": 0} if seed is None else {"temperature": 0, "seed": seed}
        r = client.chat(model=MODEL, messages=user(text), format=SCORE_SCHEMA, options=options)
        return r.message.content or ""

    assert content("candidate A", 42) == content("candidate A", 42)
    assert content("candidate A", None) == content("candidate A", None)
    variants = {content("candidate A", s) for s in range(5)} | {content("candidate B", 42)}
    assert len(variants) > 1
    with FakeOllama(seed=0) as a, FakeOllama(seed=0) as b:
        ca = ollama.Client(host=a.url).chat(model=MODEL, messages=user("z"), format=SCORE_SCHEMA)
        cb = ollama.Client(host=b.url).chat(model=MODEL, messages=user("z"), format=SCORE_SCHEMA)
        assert ca.message.content == cb.message.content


def test_generic_schema_generation(client: ollama.Client) -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 3, "maxLength": 5},
            "level": {"enum": ["junior", "senior"]},
            "kind": {"const": "score"},
            "ratio": {"type": "number", "minimum": 0.5, "maximum": 0.75},
            "ok": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 4},
            "nested": {"type": "object", "properties": {"n": {"type": "integer", "enum": [3, 5]}}},
            "maybe": {"anyOf": [{"type": "integer", "minimum": 0, "maximum": 2}, {"type": "null"}]},
        },
        "required": ["name", "level"],
    }
    for i in range(10):
        r = client.chat(model=MODEL, messages=user(f"gen {i}"), format=schema)
        doc = json.loads(r.message.content or "")
        assert list(doc) == list(schema["properties"])
        assert 3 <= len(doc["name"]) <= 5
        assert doc["level"] in ("junior", "senior")
        assert doc["kind"] == "score"
        assert 0.5 <= doc["ratio"] <= 0.75
        assert isinstance(doc["ok"], bool)
        assert 2 <= len(doc["tags"]) <= 4 and all(isinstance(t, str) for t in doc["tags"])
        assert doc["nested"]["n"] in (3, 5)
        assert doc["maybe"] in (0, 1, 2)


def test_num_predict_caps_eval_count(client: ollama.Client) -> None:
    r = client.chat(
        model=MODEL, messages=user("a"), format=SCORE_SCHEMA, options={"num_predict": 3}
    )
    # Cut off at the cap, as Ollama does: the answer is the first 3 tokens, not JSON.
    assert r.eval_count == 3 and r.done_reason == "length"
    whole = client.chat(model=MODEL, messages=user("a"), format=SCORE_SCHEMA)
    assert_valid_scores(whole.message.content or "")
    assert whole.done_reason == "stop" and whole.eval_count > 3
    assert (whole.message.content or "").startswith(r.message.content or "")
    assert r.message.content != whole.message.content


# --- errors -------------------------------------------------------------------------------------


def test_unknown_model_and_bad_requests(fake: FakeOllama, client: ollama.Client) -> None:
    with pytest.raises(ollama.ResponseError) as exc:
        client.chat(model="nope:7b", messages=user("x"))
    assert exc.value.status_code == 404
    assert "not found" in str(exc.value)
    assert exc.value.error == 'model "nope:7b" not found, try pulling it first'
    with pytest.raises(ollama.ResponseError) as exc:
        list(client.chat(model="nope:7b", messages=user("x"), stream=True))
    assert exc.value.status_code == 404

    r = httpx.post(f"{fake.url}/api/chat", content=b"{not json")
    assert r.status_code == 400 and "error" in r.json()
    r = httpx.post(f"{fake.url}/api/chat", json={"messages": user("x")})
    assert r.status_code == 400
    assert r.json() == {"error": "model is required"}
    assert fake.chat_count == 0


def test_fail_next_and_error_rate(fake: FakeOllama, client: ollama.Client) -> None:
    fake.fail_next = 2
    for stream in (False, True):
        with pytest.raises(ollama.ResponseError) as exc:
            if stream:
                list(client.chat(model=MODEL, messages=user("x"), stream=True))
            else:
                client.chat(model=MODEL, messages=user("x"))
        assert exc.value.status_code == 500
        assert "unexpected EOF" in exc.value.error
    assert fake.fail_next == 0
    assert client.chat(model=MODEL, messages=user("x")).done is True

    fake.error_rate = 1.0
    with pytest.raises(ollama.ResponseError):
        client.chat(model=MODEL, messages=user("x"))
    fake.error_rate = 0.0
    assert fake.chat_count == 4
    assert len(fake.requests) == 4


def test_garbage(fake: FakeOllama, client: ollama.Client) -> None:
    fake.garbage_next = 1
    r = client.chat(model=MODEL, messages=user("x"), format=SCORE_SCHEMA)
    content = r.message.content or ""
    assert content.startswith("Sure! Here are the scores:")
    with pytest.raises(json.JSONDecodeError):
        json.loads(content)
    assert_valid_scores(
        client.chat(model=MODEL, messages=user("x"), format=SCORE_SCHEMA).message.content or ""
    )
    fake.garbage_rate = 1.0
    streamed = "".join(
        p.message.content or ""
        for p in client.chat(model=MODEL, messages=user("y"), format=SCORE_SCHEMA, stream=True)
    )
    with pytest.raises(json.JSONDecodeError):
        json.loads(streamed)


def test_stop_means_unreachable_and_restart_reuses_port() -> None:
    fake = FakeOllama().start()
    url = fake.url
    client = ollama.Client(host=url)
    assert client.list().models  # leaves a pooled keep-alive connection behind
    fake.stop()
    with pytest.raises(ConnectionError):
        client.list()
    with pytest.raises(ConnectionError):
        client.chat(model=MODEL, messages=user("x"))
    fake.start()
    try:
        assert fake.url == url
        assert client.chat(model=MODEL, messages=user("x")).done is True
    finally:
        fake.stop()


# --- slots, caching, truncation -----------------------------------------------------------------


def test_slots_queue_requests() -> None:
    with FakeOllama(slots=2, latency=0.2) as fake:

        async def run() -> float:
            async with ollama.AsyncClient(host=fake.url) as ac:
                t0 = time.perf_counter()
                results = await asyncio.gather(
                    *(
                        ac.chat(model=MODEL, messages=user(f"c{i}"), format=SCORE_SCHEMA)
                        for i in range(6)
                    )
                )
                elapsed = time.perf_counter() - t0
            for r in results:
                assert_valid_scores(r.message.content or "")
            return elapsed

        elapsed = asyncio.run(run())
        assert elapsed >= 0.55
        assert elapsed < 2.0
        assert fake.max_in_flight == 2
        assert fake.in_flight == 0
        assert fake.chat_count == 6


def test_prefix_cache(fake: FakeOllama, client: ollama.Client) -> None:
    system = {"role": "system", "content": "Rubric: " + "be fair and thorough. " * 400}
    m1 = [system, *user("Candidate: Alice, 5 years of Python.")]
    m2 = [system, *user("Candidate: Bob, 2 years of Go.")]
    r1 = client.chat(model=MODEL, messages=m1, format=SCORE_SCHEMA)
    r2 = client.chat(model=MODEL, messages=m2, format=SCORE_SCHEMA)
    assert r1.prompt_eval_count == expected_tokens(m1)
    assert r2.prompt_eval_count == expected_tokens(m2)  # full count, not only the new tokens
    assert r1.prompt_eval_duration == r1.prompt_eval_count * 100_000
    assert r2.prompt_eval_duration is not None and r1.prompt_eval_duration is not None
    assert r2.prompt_eval_duration < r1.prompt_eval_duration / 10
    assert fake.prompt_tokens_total == expected_tokens(m1) + expected_tokens(m2)
    assert 0 < fake.cached_tokens_total < expected_tokens(m2)

    # a free slot holding the matching prefix is preferred over an empty / unrelated one
    other = [{"role": "system", "content": "Other rubric. " * 300}, *user("Candidate: Eve.")]
    client.chat(model=MODEL, messages=other)
    r3 = client.chat(model=MODEL, messages=[system, *user("Candidate: Carol.")])
    assert r3.prompt_eval_duration is not None
    assert r3.prompt_eval_duration < r1.prompt_eval_duration / 10


def test_per_token_latency_only_for_uncached_tokens() -> None:
    with FakeOllama(per_token_latency=0.0002) as fake:
        client = ollama.Client(host=fake.url)
        system = {"role": "system", "content": "x" * 4000}  # ~1000 tokens -> 0.2 s uncached
        t0 = time.perf_counter()
        client.chat(model=MODEL, messages=[system, *user("one")])
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        client.chat(model=MODEL, messages=[system, *user("two")])
        warm = time.perf_counter() - t0
        assert cold >= 0.19
        assert warm < cold / 2


def test_truncation_when_prompt_exceeds_num_ctx(client: ollama.Client) -> None:
    messages = user("word " * 2000)  # 2504 tokens
    r = client.chat(model=MODEL, messages=messages, options={"num_ctx": 1024})
    assert expected_tokens(messages) > 1024
    assert r.prompt_eval_count == 1024
    r = client.chat(model=MODEL, messages=user("word " * 4000))  # default num_ctx 4096
    assert r.prompt_eval_count == 4096
    r = client.chat(model=MODEL, messages=messages, options={"num_ctx": 8192})
    assert r.prompt_eval_count == expected_tokens(messages)


def test_throughput_with_zero_latency(fake: FakeOllama) -> None:
    async def run(n: int) -> float:
        async with ollama.AsyncClient(host=fake.url) as ac:
            sem = asyncio.Semaphore(16)

            async def one(i: int) -> None:
                async with sem:
                    await ac.chat(model=MODEL, messages=user(f"p{i}"), format=SCORE_SCHEMA)

            t0 = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(n)))
            return n / (time.perf_counter() - t0)

    rate = asyncio.run(run(300))
    assert fake.chat_count == 300
    assert rate > 100, f"only {rate:.0f} requests/s"


# --- command line ---------------------------------------------------------------------------


def test_cli_process() -> None:
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devtools.fake_ollama",
            "--port",
            "0",
            "--slots",
            "3",
            "--models",
            "m:1b",
        ],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("listening on http://127.0.0.1:")
        url = line.removeprefix("listening on ")
        client = ollama.Client(host=url)
        assert [m.model for m in client.list().models] == ["m:1b"]
        assert client.chat(model="m:1b", messages=user("x")).done is True
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
