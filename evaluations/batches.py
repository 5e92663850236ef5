"""API batches: OpenAI Batch API runs of raw chat requests (`/v1/batches`).

A batch is a Run of kind `batch` whose Items are the lines of a JSONL file, one
`POST /v1/chat/completions` request each. This module creates and validates batches,
maps each request onto Ollama's native chat call (`BatchHandler`, used by the engine),
writes the OpenAI-shaped output and error files, and expires batches whose 24 h
completion window ran out. The HTTP layer (api.py) only calls the functions here.
"""

from __future__ import annotations

import asyncio
import codecs
import hashlib
import json
import os
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from . import prompting, services
from .engine import TooLong
from .llm import (
    Backend,
    BackendError,
    BadRequest,
    ChatRequest,
    ChatResult,
    ModelNotFound,
    make_backend,
    resolve_backend,
)
from .models import File, Item, Run

CHAT_COMPLETIONS = "/v1/chat/completions"
SUPPORTED_ENDPOINTS = (CHAT_COMPLETIONS,)
COMPLETION_WINDOWS = {"24h": timedelta(hours=24)}

# Answer budget of a request that sets neither max_completion_tokens nor max_tokens.
DEFAULT_MAX_TOKENS = 1024
# A request is only sent when at least this much of its answer budget fits the context
# window next to its prompt (or all of it, when it asked for less).
MIN_ANSWER_TOKENS = 256
# Chat-template overhead per message, in characters (about 8 tokens at 3 per token).
MESSAGE_CHARS = 24

# OpenAI's limits on batch metadata.
METADATA_MAX_PAIRS = 16
METADATA_KEY_MAX = 64
METADATA_VALUE_MAX = 512
CUSTOM_ID_MAX = 255  # Item.custom_id

# Far deeper than any chat request needs (a strict OpenAI JSON schema nests at most 10
# levels). Deeper input is refused before anything recurses over it: Python's parser raises
# RecursionError near 1,000 levels, and json.dumps, Django's JSONField and the ollama
# client would each hit the same limit later, in a worker, where it crashed the ingest.
MAX_JSON_DEPTH = 64

_ROLES = {"system", "developer", "user", "assistant", "tool"}
# Request fields whose meaning would be lost if they were ignored: refused at validation.
# (tool_choice / function_call alone mean nothing without tools, and are passed over.)
_UNSUPPORTED_FIELDS = {
    "tools": "tool calling is not supported",
    "functions": "function calling is not supported",
    "logprobs": "logprobs are not supported",
    "top_logprobs": "logprobs are not supported",
    "audio": "audio output is not supported",
    "prediction": "predicted outputs are not supported",
    "logit_bias": "logit_bias is not supported",
}

# Item.error texts written here, recognised again when the error file is written.
IMAGES_UNSUPPORTED = "image inputs are not supported"
TOO_LONG_MARK = "does not fit the context window"
EXPIRED_MESSAGE = "This request was not executed before the batch's 24h completion window ended."
CANCELLED_MESSAGE = "The batch was cancelled before this request was executed."
# A failed request's line in the error file carries the HTTP answer OpenAI would have
# given (status, and an error body with type, code and param), found from Item.error:
# (substring of Item.error, status code, error type, code, param). Any other failure is
# the server's (500, server_error), after its retries.
_REFUSALS = (
    (TOO_LONG_MARK, 400, "invalid_request_error", "context_length_exceeded", "messages"),
    ("inputs are not supported", 400, "invalid_request_error", "unsupported_input", "messages"),
    ("Ollama refused the request", 400, "invalid_request_error", None, None),
)
# A request that never got an answer has no response: OpenAI's `error` says request_timeout.
TIMEOUT_MARK = "did not answer in time"


# --- JSON from users ------------------------------------------------------------------------


class JsonTooDeep(ValueError):
    """JSON nested deeper than MAX_JSON_DEPTH: refused like any malformed JSON."""


def load_json(raw: bytes | str) -> Any:
    """json.loads for what a user sent: a batch line or a request body.

    Raises ValueError (json.JSONDecodeError, UnicodeDecodeError, JsonTooDeep), never
    RecursionError.
    """
    too_deep = JsonTooDeep(
        f"it is nested more than {MAX_JSON_DEPTH} levels deep, far deeper than a chat request needs"
    )
    try:
        value = json.loads(raw)
    except RecursionError:
        raise too_deep from None
    # Iterative, so that checking the depth cannot recurse either.
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise too_deep
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return value


# --- Create ----------------------------------------------------------------------------


class BatchInputError(services.InputError):
    """services.InputError naming the offending field of the create request (`param`)."""

    def __init__(self, message: str, param: str):
        super().__init__(message)
        self.param = param


def batch_create(
    *,
    owner: AbstractBaseUser | None,
    input_file: File,
    endpoint: str,
    completion_window: str,
    metadata: dict[str, str] | None = None,
) -> Run:
    """Create a batch (status `validating`); a worker validates and starts it.

    Raises services.InputError, with what to change, for an endpoint other than
    /v1/chat/completions, a window other than 24h, metadata beyond OpenAI's limits, or a
    file not uploaded with purpose `batch`.
    """
    if endpoint not in SUPPORTED_ENDPOINTS:
        raise BatchInputError(
            f"Endpoint {endpoint!r} is not supported; the supported endpoint is "
            f"{', '.join(SUPPORTED_ENDPOINTS)}.",
            "endpoint",
        )
    if completion_window not in COMPLETION_WINDOWS:
        raise BatchInputError(
            f"Completion window {completion_window!r} is not supported; use "
            f"{', '.join(repr(w) for w in COMPLETION_WINDOWS)}.",
            "completion_window",
        )
    if input_file.purpose != File.Purpose.BATCH:
        raise BatchInputError(
            f"File {input_file.id} was uploaded with purpose {input_file.purpose!r}; a batch "
            "needs a JSONL file uploaded with purpose 'batch'.",
            "input_file_id",
        )
    metadata = _clean_metadata(metadata)
    services.ensure_free_space(size=input_file.bytes)  # a full disk half-way breaks a run
    run = Run.objects.create(
        owner=owner,
        kind=Run.Kind.BATCH,
        input_file=input_file,
        name=input_file.filename,
        status=Run.Status.VALIDATING,
        options={
            "endpoint": endpoint,
            "completion_window": completion_window,
            "metadata": metadata,
        },
    )
    run.expires_at = run.created_at + COMPLETION_WINDOWS[completion_window]
    run.save(update_fields=["expires_at"])
    run_id = run.pk

    def enqueue() -> None:
        from django_q.tasks import async_task

        async_task("evaluations.tasks.ingest_batch", run_id, group=run.public_id)

    transaction.on_commit(enqueue)
    run.refresh_from_db()  # outside a transaction (or with inline tasks) it ran already
    return run


def _clean_metadata(metadata: dict[str, str] | None) -> dict[str, str]:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise BatchInputError("metadata must be an object of string keys and values.", "metadata")
    if len(metadata) > METADATA_MAX_PAIRS:
        raise BatchInputError(
            f"metadata has {len(metadata)} keys; at most {METADATA_MAX_PAIRS} are allowed.",
            "metadata",
        )
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise BatchInputError("metadata keys and values must be strings.", "metadata")
        if len(key) > METADATA_KEY_MAX:
            raise BatchInputError(
                f"metadata key {key[:20]!r}… is longer than {METADATA_KEY_MAX} characters.",
                "metadata",
            )
        if len(value) > METADATA_VALUE_MAX:
            raise BatchInputError(
                f"metadata value for {key!r} is longer than {METADATA_VALUE_MAX} characters.",
                "metadata",
            )
    return dict(metadata)


# --- Ingest ----------------------------------------------------------------------------


class RequestProblem(BadRequest):
    """Why one request (a batch line, or a body for /v1/chat/completions) cannot run, with
    OpenAI's error code and the offending field (`param`)."""

    def __init__(self, code: str, message: str, param: str | None = None):
        super().__init__(message)
        self.code, self.message, self.param = code, message, param


def _error(code: str, message: str, line: int | None, param: str | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "line": line, "param": param}


def batch_ingest(*, run: Run) -> Run:
    """Validate the JSONL file line by line and store one Item per request.

    Streams the file (never all of it in memory) and inserts Items in chunks. Any problem
    fails the batch with every error found (capped), each naming its 1-based line, and
    leaves no Items: OpenAI runs a batch only when its whole file is valid.
    """
    conf = settings.HRBATCH
    max_errors = max(1, int(conf["MAX_VALIDATION_ERRORS"]))
    max_requests = int(conf["API_MAX_REQUESTS"])
    chunk = max(1, int(conf["INGEST_BATCH"]))
    endpoint = run.options.get("endpoint", CHAT_COMPLETIONS)

    errors: list[dict[str, Any]] = []
    seen: dict[str, int] = {}  # custom_id → its line
    model = ""
    model_line = 0
    writer = services.ItemWriter(run.pk)
    batch: list[tuple[int, str, dict[str, Any]]] = []
    total = 0
    max_chars = 0
    max_messages = 0
    max_tokens = 0  # the largest answer budget asked for (or the default)
    requests = 0
    run_id = run.pk

    try:
        handle = open(run.input_file.abspath, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        message = f"The input file {run.input_file.id} was deleted before it could be read."
        return services._fail_validation(run, [_error("missing_file", message, None)])
    with handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            if not raw or raw.isspace():
                continue
            requests += 1
            if requests > max_requests:
                errors.append(
                    _error(
                        "too_many_requests",
                        f"The file has more than {max_requests:,} requests, the most one batch "
                        "may hold (HRBATCH_API_MAX_REQUESTS). Split it into several batches.",
                        number,
                    )
                )
                break
            try:
                try:
                    line = load_json(raw)
                except JsonTooDeep as exc:
                    raise RequestProblem(
                        "invalid_json_line",
                        f"This line cannot be read: {exc}. Each line must be one request object.",
                    ) from None
                except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
                    raise RequestProblem(
                        "invalid_json_line",
                        f"This line is not valid JSON ({_json_reason(exc)}); each line must "
                        "be one JSON object.",
                    ) from None
                if type(line) is not dict:
                    raise RequestProblem(
                        "invalid_json_line",
                        f"This line is a JSON {_json_type(line)}, not an object; each line "
                        'must be an object with "custom_id", "method", "url" and "body".',
                    )
                custom_id = _check_envelope(line, endpoint)
                first = seen.get(custom_id)
                if first is not None:
                    raise RequestProblem(
                        "duplicate_custom_id",
                        f"custom_id {_clip(custom_id)!r} is already used on line {first}; "
                        "each request needs its own custom_id.",
                        "custom_id",
                    )
                seen[custom_id] = number
                body = line.get("body")
                line_model = _check_model(body)
                if not model:
                    model, model_line = line_model, number
                elif line_model != model:
                    raise RequestProblem(
                        "mismatched_model",
                        f"This request uses model {_clip(line_model)!r}, but line {model_line} "
                        f"uses {_clip(model)!r}; every request of a batch must use the same "
                        "model. Split the file into one batch per model.",
                        "body.model",
                    )
                chars, messages, budget = _check_body(body)
            except RequestProblem as problem:
                errors.append(_error(problem.code, problem.message, number, problem.param))
                if len(errors) >= max_errors:
                    break
                continue
            if errors:
                continue  # keep reading to report every problem, but store nothing more
            max_chars = max(max_chars, chars)
            max_messages = max(max_messages, messages)
            max_tokens = max(max_tokens, budget)
            batch.append((number, custom_id, body, {}))
            if len(batch) >= chunk:
                total += writer.insert(batch)
                batch = []

    if not errors and not requests:
        errors.append(
            _error(
                "empty_file",
                "The file has no requests. Upload a JSONL file with one request per line.",
                None,
            )
        )
    if errors:
        Item.objects.filter(run_id=run_id).delete()
        return services._fail_validation(run, errors)
    total += writer.insert(batch)
    options = {
        **run.options,
        "max_messages": max_messages,
        "max_tokens": max_tokens,
        "model_line": model_line,
    }
    updated = Run.objects.filter(pk=run_id, status=Run.Status.VALIDATING).update(
        model=model, total_count=total, max_input_chars=max_chars, options=options
    )
    if not updated:
        # Cancelled or expired while the file was being read: it ended with no requests.
        Item.objects.filter(run_id=run_id).delete()
    run.refresh_from_db()
    return run


def batch_ingest_and_start(*, run_id: int) -> Run | None:
    """The worker's half of batch_create: validate the file, then start the batch."""
    run = Run.objects.filter(pk=run_id, status=Run.Status.VALIDATING).first()
    if run is None or run.items.exists():
        return run  # already ingested (a redelivered task), or cancelled meanwhile
    batch_ingest(run=run)
    if run.status == Run.Status.VALIDATING:
        problems = _model_problems(run)
        if problems:
            Item.objects.filter(run_id=run.pk).delete()
            return services._fail_validation(run, problems)
        services.run_start(run=run)
    return run


def _model_problems(run: Run) -> list[dict[str, Any]]:
    """What the model server says the batch cannot run (validation errors), or [].

    A model that is not installed, or answer budgets beyond the model's context length,
    fail the batch at validation as OpenAI's do: nothing a worker could wait out. An
    unreachable server is not the batch's fault: run_start deals with outages.
    """
    choice = resolve_backend(run.backend or None)
    backend = make_backend(choice.name)
    model = run.model
    if choice.name == "embedded":
        model = backend.default_model  # as run_start: the embedded backend runs its own
    try:
        info = asyncio.run(services._model_info(backend, model))
    except ModelNotFound as exc:
        line = run.options.get("model_line") or None
        message = f"The model {_clip(model)!r} does not exist on this server: {exc}"
        return [_error("model_not_found", message, line, "body.model")]
    except BackendError:
        return []
    limit = info.context_length
    if not limit or int(run.options.get("max_tokens") or 0) <= limit:
        return []
    problems = []
    most = max(1, int(settings.HRBATCH["MAX_VALIDATION_ERRORS"]))
    rows = Item.objects.filter(run_id=run.pk).order_by("line").values_list("line", "input")
    for line, body in rows.iterator(chunk_size=2000):
        problem = answer_budget_problem(body, model=info.name or model, context_length=limit)
        if problem:
            problems.append(_error(problem.code, problem.message, line, f"body.{problem.param}"))
            if len(problems) >= most:
                break
    return problems


def answer_budget_problem(
    body: dict[str, Any], *, model: str, context_length: int | None
) -> RequestProblem | None:
    """An answer budget no request to this model can have (beyond its context length)."""
    wanted = _max_tokens(body)
    if not context_length or wanted is None or wanted <= context_length:
        return None
    field = (
        "max_completion_tokens" if body.get("max_completion_tokens") is not None else ("max_tokens")
    )
    return RequestProblem(
        "invalid_value",
        f"{field} is {wanted}, but the model {_clip(model)} holds at most {context_length} "
        f"tokens (its context length), prompt and answer together; ask for fewer.",
        field,
    )


def _check_envelope(line: dict[str, Any], endpoint: str) -> str:
    """custom_id, method and url of one line; returns the custom_id."""
    custom_id = line.get("custom_id")
    if custom_id is None or custom_id == "":
        raise RequestProblem(
            "missing_custom_id",
            'This request has no "custom_id"; each request needs a unique custom_id string '
            "to match its result.",
            "custom_id",
        )
    if not isinstance(custom_id, str):
        raise RequestProblem(
            "invalid_custom_id",
            f"custom_id must be a string, not a JSON {_json_type(custom_id)}.",
            "custom_id",
        )
    if len(custom_id) > CUSTOM_ID_MAX:
        raise RequestProblem(
            "invalid_custom_id",
            f"custom_id is {len(custom_id)} characters long; at most {CUSTOM_ID_MAX} are allowed.",
            "custom_id",
        )
    method = line.get("method")
    if method != "POST":
        raise RequestProblem(
            "invalid_method",
            f'The method must be "POST", not {_clip(_show(method))}.',
            "method",
        )
    url = line.get("url")
    if url != endpoint:
        raise RequestProblem(
            "mismatched_url",
            f"The url {_clip(_show(url))} does not match the batch's endpoint {endpoint}; "
            "every request of the batch must use it.",
            "url",
        )
    return custom_id


def _check_model(body: Any) -> str:
    if type(body) is not dict:
        raise RequestProblem(
            "invalid_body",
            'The request needs a "body" object with the chat completion parameters.',
            "body",
        )
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise RequestProblem(
            "missing_model",
            'The request body has no "model"; name the model to use (the same on every line).',
            "body.model",
        )
    return model


def _check_body(body: dict[str, Any]) -> tuple[int, int, int]:
    """Validate a chat completion body: (text characters, messages, answer budget)."""
    messages = body.get("messages")
    if type(messages) is not list or not messages:
        raise RequestProblem(
            "invalid_body",
            '"messages" must be a non-empty list of {"role", "content"} objects.',
            "body.messages",
        )
    chars = 0
    for index, message in enumerate(messages):
        where = f"body.messages[{index}]"
        if type(message) is not dict:
            raise RequestProblem("invalid_body", f"{where} must be an object.", where)
        role = message.get("role")
        if role not in _ROLES:
            raise RequestProblem(
                "invalid_body",
                f"{where}.role is {_clip(_show(role))}; use one of {', '.join(sorted(_ROLES))}.",
                f"{where}.role",
            )
        content = message.get("content")
        if isinstance(content, str):
            chars += len(content)
        elif type(content) is list:
            for part in content:
                if type(part) is not dict or not isinstance(part.get("type"), str):
                    raise RequestProblem(
                        "invalid_body",
                        f'{where}.content parts must be objects with a "type".',
                        f"{where}.content",
                    )
                if part["type"] == "text":
                    text = part.get("text")
                    if not isinstance(text, str):
                        raise RequestProblem(
                            "invalid_body",
                            f'{where}.content has a text part without a "text" string.',
                            f"{where}.content",
                        )
                    chars += len(text)
        elif content is not None or role != "assistant":
            raise RequestProblem(
                "invalid_body",
                f"{where}.content must be a string or a list of content parts.",
                f"{where}.content",
            )
    for field, reason in _UNSUPPORTED_FIELDS.items():
        value = body.get(field)
        if value is not None and value is not False and value != [] and value != {}:
            raise RequestProblem("invalid_body", f'"{field}": {reason}.', f"body.{field}")
    n = body.get("n")
    if n is not None and n != 1:
        raise RequestProblem(
            "invalid_body",
            f'"n" is {_show(n)}; only one completion per request (n = 1).',
            "body.n",
        )
    if body.get("stream"):
        raise RequestProblem(
            "invalid_body", '"stream": true is not supported in a batch.', "body.stream"
        )
    modalities = body.get("modalities")
    if modalities is not None and modalities != ["text"]:
        raise RequestProblem(
            "invalid_body", "Only text output is supported (modalities).", "body.modalities"
        )
    _check_number(body, "temperature", 0.0, 2.0)
    _check_number(body, "top_p", 0.0, 1.0)
    _check_number(body, "frequency_penalty", -2.0, 2.0)
    _check_number(body, "presence_penalty", -2.0, 2.0)
    seed = body.get("seed")
    if seed is not None and type(seed) is not int:
        raise RequestProblem("invalid_body", '"seed" must be an integer.', "body.seed")
    if not _valid_stop(body.get("stop")):
        raise RequestProblem(
            "invalid_body", '"stop" must be a string or a list of up to 4 strings.', "body.stop"
        )
    budget = DEFAULT_MAX_TOKENS
    for field in ("max_completion_tokens", "max_tokens"):
        value = body.get(field)
        if value is None:
            continue
        if type(value) is not int or value < 1:
            raise RequestProblem(
                "invalid_body", f'"{field}" must be a positive integer.', f"body.{field}"
            )
        if field == "max_completion_tokens" or body.get("max_completion_tokens") is None:
            budget = value
    _check_response_format(body.get("response_format"))
    return chars, len(messages), budget


def _valid_stop(stop: Any) -> bool:
    if stop is None or isinstance(stop, str):
        return True
    return type(stop) is list and len(stop) <= 4 and all(isinstance(s, str) for s in stop)


def _check_number(body: dict[str, Any], field: str, low: float, high: float) -> None:
    value = body.get(field)
    if value is None:
        return
    if type(value) not in (int, float) or not low <= value <= high:
        raise RequestProblem(
            "invalid_body", f'"{field}" must be a number from {low:g} to {high:g}.', f"body.{field}"
        )


def _check_response_format(value: Any) -> None:
    if value is None:
        return
    kind = value.get("type") if type(value) is dict else None
    if kind in ("text", "json_object"):
        return
    if kind == "json_schema":
        spec = value.get("json_schema")
        if type(spec) is dict and type(spec.get("schema")) is dict:
            return
        raise RequestProblem(
            "invalid_body",
            '"response_format" of type json_schema needs "json_schema": {"schema": {…}}.',
            "body.response_format",
        )
    raise RequestProblem(
        "invalid_body",
        '"response_format" must be {"type": "text"}, {"type": "json_object"} or '
        '{"type": "json_schema", "json_schema": {…}}.',
        "body.response_format",
    )


def _json_reason(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at column {exc.colno}"
    if isinstance(exc, UnicodeDecodeError):
        return "it is not UTF-8 text"
    return str(exc)


def _json_type(value: Any) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def _show(value: Any) -> str:
    return "missing" if value is None else json.dumps(value, ensure_ascii=False)


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- Start -------------------------------------------------------------------------------


def batch_context_options(run: Run, *, model_context: int | None) -> dict[str, int]:
    """num_ctx for the whole batch (services.run_start), and the default answer budget.

    One num_ctx per run (Ollama reloads the model whenever it changes), sized to hold
    the longest prompt of the file plus the largest answer budget asked for; capped by
    HRBATCH_MAX_NUM_CTX and the model's own context length.
    """
    options = run.options
    prompt_chars = run.max_input_chars + MESSAGE_CHARS * int(options.get("max_messages", 1))
    num_ctx = prompting.size_num_ctx(
        prompt_chars=prompt_chars,
        num_predict=int(options.get("max_tokens") or DEFAULT_MAX_TOKENS),
        cap=settings.HRBATCH["MAX_NUM_CTX"],
        model_context=model_context,
    )
    return {"num_ctx": num_ctx, "num_predict": DEFAULT_MAX_TOKENS}


# --- Mapping a chat.completions body onto Ollama ------------------------------------------


class _Unsupported(Exception):
    pass


@dataclass
class _Prepared:
    messages: list[dict[str, str]]
    prompt_tokens: int  # estimated, conservatively
    num_predict: int  # 0: the prompt leaves too little room for an answer


def _prepare(body: dict[str, Any], *, num_ctx: int, default_max_tokens: int) -> _Prepared:
    """Ollama messages and answer budget for one body (raises _Unsupported)."""
    messages = [_ollama_message(m) for m in body["messages"]]
    return _fit(messages, _max_tokens(body) or default_max_tokens, num_ctx)


def _fit(messages: list[dict[str, str]], wanted: int, num_ctx: int) -> _Prepared:
    prompt = _prompt_tokens(sum(len(m["content"]) for m in messages), len(messages))
    room = num_ctx - prompt
    # Less room than asked for: the answer may stop early (finish_reason "length"), but the
    # prompt is never cut. Too little room: the request is not sent at all.
    num_predict = min(wanted, room) if room >= min(wanted, MIN_ANSWER_TOKENS) else 0
    return _Prepared(messages, prompt, num_predict)


def _prompt_tokens(chars: int, messages: int) -> int:
    """The same estimate that sizes num_ctx (batch_context_options, size_num_ctx)."""
    tokens = prompting.estimate_tokens(chars + MESSAGE_CHARS * messages)
    return tokens + 2 * prompting.MESSAGE_OVERHEAD_TOKENS


def _too_long_message(num_ctx: int, prepared: _Prepared) -> str:
    return (
        f"The request {TOO_LONG_MARK} of {num_ctx} tokens (its prompt is about "
        f"{prepared.prompt_tokens} tokens); it was not sent rather than silently cut. "
        "Shorten the messages or raise HRBATCH_MAX_NUM_CTX."
    )


def _cut_message(num_ctx: int, answer: ChatResult) -> str | None:
    """Why an answer cannot be trusted because the server ran out of context, or None."""
    if answer.prompt_tokens < num_ctx and (
        answer.prompt_tokens + answer.completion_tokens <= num_ctx
    ):
        return None
    return (
        f"The request {TOO_LONG_MARK} of {num_ctx} tokens: the prompt used "
        f"{answer.prompt_tokens} tokens and the answer {answer.completion_tokens}, so the "
        "server may have cut it; not returned. Shorten the messages or raise "
        "HRBATCH_MAX_NUM_CTX."
    )


def _chat_request(
    body: dict[str, Any],
    prepared: _Prepared,
    *,
    model: str,
    num_ctx: int,
    keep_alive: str | None,
) -> ChatRequest:
    temperature = body.get("temperature")
    options: dict[str, Any] = {
        # OpenAI samples at 1.0 when the request says nothing: so do we.
        "temperature": 1.0 if temperature is None else float(temperature),
        "num_ctx": num_ctx,
        "num_predict": prepared.num_predict,
    }
    for field in ("top_p", "seed", "frequency_penalty", "presence_penalty"):
        if body.get(field) is not None:
            options[field] = body[field]
    stop = body.get("stop")
    if stop:
        options["stop"] = [stop] if isinstance(stop, str) else list(stop)
    return ChatRequest(
        model=model,
        messages=prepared.messages,
        format=_ollama_format(body.get("response_format")),
        options=options,
        keep_alive=keep_alive,
    )


def _chat_completion(answer: ChatResult, *, model: str, fingerprint: str) -> dict[str, Any]:
    """An OpenAI chat.completion object for one answer."""
    usage: dict[str, Any] = {
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": answer.completion_tokens,
        "total_tokens": answer.prompt_tokens + answer.completion_tokens,
    }
    if answer.cached_tokens is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": answer.cached_tokens}
    return {
        "id": f"chatcmpl-{secrets.token_hex(12)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer.content, "refusal": None},
                "logprobs": None,
                "finish_reason": "length" if answer.done_reason == "length" else "stop",
            }
        ],
        "usage": usage,
        "system_fingerprint": fingerprint,
    }


def _fingerprint(digest: str) -> str:
    return "fp_" + (digest[:10] if digest else "hrbatch")


class BatchHandler:
    """The engine's handler for batch runs: one request line → one Ollama /api/chat call."""

    pack_size = 1

    def __init__(self, run: Run):
        self.run = run
        options = run.options
        self.num_ctx = int(options["num_ctx"])
        self.default_max_tokens = int(options.get("num_predict") or DEFAULT_MAX_TOKENS)
        self.keep_alive = options.get("keep_alive")
        self.fingerprint = _fingerprint(run.model_digest)
        self._prepared: dict[int, _Prepared] = {}

    def calibrate(self, item: Item) -> bool:
        return False

    def too_long(self, item: Item) -> str | None:
        """Why this request cannot be sent (failed at once, not retried), or None."""
        try:
            prepared = self._prepare(item)
        except _Unsupported as exc:
            return str(exc)
        return None if prepared.num_predict > 0 else _too_long_message(self.num_ctx, prepared)

    def _prepare(self, item: Item) -> _Prepared:
        prepared = self._prepared.get(item.pk)
        if prepared is None:
            prepared = _prepare(
                item.input, num_ctx=self.num_ctx, default_max_tokens=self.default_max_tokens
            )
            self._prepared[item.pk] = prepared
        return prepared

    def request(self, items: list[Item], attempt: int, *, single: bool = False) -> ChatRequest:
        (item,) = items
        return _chat_request(
            item.input,
            self._prepare(item),
            model=self.run.model,
            num_ctx=self.num_ctx,
            keep_alive=self.keep_alive,
        )

    def results(
        self, items: list[Item], answer: ChatResult, *, single: bool = False
    ) -> list[dict[str, Any]]:
        problem = _cut_message(self.num_ctx, answer)
        if problem:
            raise TooLong(problem)
        return [_chat_completion(answer, model=self.run.model, fingerprint=self.fingerprint)]


# --- One synchronous request (POST /v1/chat/completions) ----------------------------------


def body_problem(body: Any) -> RequestProblem | None:
    """What is wrong with one chat.completions body, or None when it can run.

    The same rules as a batch line's body (batch_ingest), plus the inputs only text
    models can take. `param` names the field within the body ("messages[0].role").
    """
    try:
        _check_model(body)
        _check_body(body)
        for message in body["messages"]:
            _ollama_message(message)
    except RequestProblem as problem:
        param = problem.param
        if param and param.startswith("body."):
            param = param[len("body.") :]
        return RequestProblem(problem.code, problem.message, param)
    except _Unsupported as exc:
        return RequestProblem("unsupported_input", str(exc), "messages")
    return None


def complete(body: dict[str, Any], *, backend_name: str) -> dict[str, Any]:
    """Answer one chat.completions body (checked with body_problem) synchronously.

    Mapped onto Ollama exactly as a batch line is. num_ctx is that of a running run of the
    same model when the request fits in it (Ollama reloads the model whenever num_ctx
    changes, which would stall that run), else sized for this request. Raises
    BackendError: ModelNotFound, Unreachable, RequestProblem (a BadRequest: too long for
    the context window, or an answer budget beyond it), RequestFailed.
    """
    conf = settings.HRBATCH
    backend = make_backend(backend_name)
    model = body["model"]
    if backend_name == "embedded" and model != backend.default_model:
        model = backend.default_model  # auto fell back: the asked-for model is not here
    # Asked first, so that a missing model or an impossible answer budget is named as such.
    info = asyncio.run(services._model_info(make_backend(backend_name), model))
    problem = answer_budget_problem(body, model=model, context_length=info.context_length)
    if problem:
        raise problem
    wanted = _max_tokens(body) or DEFAULT_MAX_TOKENS
    try:
        messages = [_ollama_message(m) for m in body["messages"]]
    except _Unsupported as exc:
        raise RequestProblem("unsupported_input", str(exc), "messages") from exc
    num_ctx = prompting.size_num_ctx(
        prompt_chars=sum(len(m["content"]) for m in messages) + MESSAGE_CHARS * len(messages),
        num_predict=wanted,
        cap=conf["MAX_NUM_CTX"],
    )
    live = _live_num_ctx(backend_name, model)
    if live and _fit(messages, wanted, live).num_predict == wanted:
        num_ctx = live
    prepared = _fit(messages, wanted, num_ctx)
    if prepared.num_predict <= 0:
        too_long = _too_long_message(num_ctx, prepared)
        raise RequestProblem("context_length_exceeded", too_long, "messages")
    request = _chat_request(
        body, prepared, model=model, num_ctx=num_ctx, keep_alive=conf["KEEP_ALIVE"]
    )
    answer = asyncio.run(_chat_once(backend, request))
    cut = _cut_message(num_ctx, answer)
    if cut:
        raise RequestProblem("context_length_exceeded", cut, "messages")
    return _chat_completion(answer, model=model, fingerprint=_fingerprint(""))


def _live_num_ctx(backend_name: str, model: str) -> int | None:
    options = (
        Run.objects.filter(status=Run.Status.IN_PROGRESS, backend=backend_name, model=model)
        .order_by("-pk")
        .values_list("options", flat=True)
        .first()
    )
    value = (options or {}).get("num_ctx")
    return int(value) if value else None


async def _chat_once(backend: Backend, request: ChatRequest) -> ChatResult:
    try:
        return await backend.chat(request)
    finally:
        await backend.aclose()


def _ollama_message(message: dict[str, Any]) -> dict[str, str]:
    role = message["role"]
    if role == "developer":  # OpenAI's newer name for system instructions
        role = "system"
    content = message.get("content")
    if content is None:
        text = ""
    elif isinstance(content, str):
        text = content
    else:
        texts = []
        for part in content:
            kind = part.get("type")
            if kind == "text":
                texts.append(part.get("text") or "")
            elif kind in ("image_url", "image", "input_image"):
                raise _Unsupported(
                    f"{IMAGES_UNSUPPORTED}: hrbatch sends text only to the model, and this "
                    "request has an image part."
                )
            elif kind == "refusal":
                texts.append(part.get("refusal") or "")
            else:
                raise _Unsupported(
                    f"{kind} inputs are not supported: hrbatch sends text only to the model."
                )
        text = "\n".join(texts)
    return {"role": role, "content": text}


def _ollama_format(response_format: Any) -> dict[str, Any] | str | None:
    if not isinstance(response_format, dict):
        return None
    kind = response_format.get("type")
    if kind == "json_object":
        return "json"
    if kind == "json_schema":
        return (response_format.get("json_schema") or {}).get("schema")
    return None


def _max_tokens(body: dict[str, Any]) -> int | None:
    value = body.get("max_completion_tokens")
    if value is None:
        value = body.get("max_tokens")
    return int(value) if value is not None else None


# --- Outputs -------------------------------------------------------------------------------


def write_batch_outputs(run: Run) -> File | None:
    """Write the batch's output and error JSONL files (export.write_outputs calls this).

    Every input line appears exactly once across the two files, in input order: done
    requests in the output file, failed, cancelled and expired ones in the error file.
    A file with no lines gets no File (OpenAI leaves its id null). Idempotent: the File
    ids derive from the batch id and each file is replaced atomically. Sets
    `run.error_file`; returns the output File (or None).
    """
    folder = Path(settings.DATA_DIR) / "runs" / run.public_id
    folder.mkdir(parents=True, exist_ok=True)
    expired = run.expired_at is not None
    targets: dict[str, _Target] = {}
    try:
        targets["output"] = _Target(run, "output", File.Purpose.BATCH_OUTPUT, folder)
        targets["error"] = _Target(run, "error", File.Purpose.BATCH_ERROR, folder)
        rows = (
            Item.objects.filter(run_id=run.pk)
            .order_by("line")
            .values_list("line", "custom_id", "status", "result", "error")
            .iterator(chunk_size=2000)
        )
        for line, custom_id, status, result, error in rows:
            line_id, request_id = _line_ids(run.public_id, line)
            if status == Item.Status.DONE:
                record = {
                    "id": f"batch_req_{line_id}",
                    "custom_id": custom_id,
                    "response": {"status_code": 200, "request_id": request_id, "body": result},
                    "error": None,
                }
                targets["output"].write(record)
                continue
            record = {
                "id": f"batch_req_{line_id}",
                "custom_id": custom_id,
                "response": _error_response(status, error, request_id),
            }
            record["error"] = (
                None if record["response"] else _line_error(status, error, expired=expired)
            )
            targets["error"].write(record)
        output = targets["output"].finish()
        error_file = targets["error"].finish()
    finally:
        for target in targets.values():
            target.discard()
    Run.objects.filter(pk=run.pk).update(output_file=output, error_file=error_file)
    run.output_file, run.error_file = output, error_file
    return output


def _error_response(status: str, error: str, request_id: str) -> dict[str, Any] | None:
    """The HTTP answer of a request that ran and failed, as OpenAI writes it; None for a
    request that never ran (cancelled, expired) or never got an answer (timed out)."""
    if status != Item.Status.FAILED or TIMEOUT_MARK in error:
        return None
    text = error or "The request failed."
    status_code, kind, code, param = 500, "server_error", None, None
    for mark, *answer in _REFUSALS:
        if mark in text:
            status_code, kind, code, param = answer
            break
    body = {"error": {"message": text, "type": kind, "param": param, "code": code}}
    return {"status_code": status_code, "request_id": request_id, "body": body}


def _line_error(status: str, error: str, *, expired: bool) -> dict[str, str]:
    if status == Item.Status.FAILED:  # timed out: no answer to show
        return {"code": "request_timeout", "message": error}
    # Cancelled (or, should a race leave one, still pending): never executed.
    code, default = (
        ("batch_expired", EXPIRED_MESSAGE) if expired else ("batch_cancelled", CANCELLED_MESSAGE)
    )
    message = default
    if error and error != default:
        message = f"{default} Its last attempt had failed: {error}"
    return {"code": code, "message": message}


def _line_ids(public_id: str, line: int) -> tuple[str, str]:
    """Stable ids for one line of the outputs, so that rewriting gives the same file."""
    digest = hashlib.sha256(f"{public_id}:{line}".encode()).hexdigest()
    return digest[:24], digest[24:56]


def _file_id(public_id: str, which: str) -> str:
    return "file-" + hashlib.sha256(f"{public_id}:{which}".encode()).hexdigest()[:24]


class _Target:
    """One JSONL file being written to a temporary name, renamed into place when done."""

    def __init__(self, run: Run, which: str, purpose: str, folder: Path):
        self.run = run
        self.purpose = purpose
        self.file_id = _file_id(run.public_id, which)
        self.filename = f"{run.public_id}_{which}.jsonl"
        self.path = folder / self.filename
        self.partial = folder / f"{self.filename}.partial"
        self.handle = open(self.partial, "wb")  # noqa: SIM115 - closed in finish/discard
        self.digest = hashlib.sha256()
        self.lines = 0
        self.size = 0

    def write(self, record: dict[str, Any]) -> None:
        data = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        self.handle.write(data)
        self.digest.update(data)
        self.size += len(data)
        self.lines += 1

    def finish(self) -> File | None:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        if not self.lines:
            self.partial.unlink(missing_ok=True)
            self.path.unlink(missing_ok=True)
            File.objects.filter(id=self.file_id).delete()  # a rerun left nothing to report
            return None
        os.replace(self.partial, self.path)
        file, _ = File.objects.update_or_create(
            id=self.file_id,
            defaults={
                "owner": self.run.owner,
                "purpose": self.purpose,
                "filename": self.filename,
                "path": str(self.path.relative_to(Path(settings.DATA_DIR))),
                "bytes": self.size,
                "sha256": self.digest.hexdigest(),
            },
        )
        return file

    def discard(self) -> None:
        if not self.handle.closed:
            self.handle.close()
        self.partial.unlink(missing_ok=True)


# --- Expiry --------------------------------------------------------------------------------


def batch_expire_overdue() -> int:
    """Expire the batches whose completion window ended (services.sweep calls this).

    What was done stays done; the requests not yet executed are cancelled with the
    `batch_expired` reason, and the outputs are written with what there is. Workers still
    holding requests finish those first (the run waits in `cancelling`, marked by
    `expired_at`, and services._finalize ends it in `expired`). Returns how many batches
    expired.
    """
    now = timezone.now()
    open_statuses = [Run.Status.VALIDATING, Run.Status.IN_PROGRESS, Run.Status.PAUSED]
    overdue = Run.objects.filter(
        kind=Run.Kind.BATCH, expires_at__lt=now, status__in=open_statuses
    ).values_list("pk", flat=True)
    count = 0
    for run_id in list(overdue):
        with transaction.atomic():
            updated = Run.objects.filter(pk=run_id, status__in=open_statuses).update(
                status=Run.Status.CANCELLING, expired_at=now
            )
            if updated:
                _expire_unclaimed(run_id)
        if updated:
            count += 1
            services.run_finalize_if_done(run_id=run_id)
    return count


def _expire_unclaimed(run_id: int) -> int:
    """Cancel, as expired, the pending requests no live worker holds."""
    now = timezone.now()
    items = Item.objects.filter(run_id=run_id, status=Item.Status.PENDING).filter(
        Q(lease_token=None) | Q(lease_until__lt=now)
    )
    count = items.update(
        status=Item.Status.CANCELLED,
        error=EXPIRED_MESSAGE,
        lease_token=None,
        lease_until=None,
        finished_at=now,
    )
    if count:
        Run.objects.filter(pk=run_id).update(cancelled_count=F("cancelled_count") + count)
    return count
