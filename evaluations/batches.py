"""API batches: OpenAI Batch API runs of raw chat requests (`/v1/batches`).

A batch is a Run of kind `batch` whose Items are the lines of a JSONL file, one
`POST /v1/chat/completions` request each. This module creates batches and ingests their
files (each line validated by openai_compat's models), runs each request through the
engine (`BatchHandler`, with openai_compat's mapping onto Ollama), writes the OpenAI-shaped
output and error files, and expires batches whose 24 h completion window ran out. The
HTTP layer (api.py) only calls the functions here.
"""

from __future__ import annotations

import asyncio
import codecs
import hashlib
import json
import os
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
    ChatRequest,
    ChatResult,
    ModelNotFound,
    make_backend,
    resolve_backend,
)
from .models import File, Item, Run
from .openai_compat import (
    CHAT_COMPLETIONS,
    COMPLETION_WINDOWS,
    DEFAULT_MAX_TOKENS,
    INVALID_BODY,
    MESSAGE_CHARS,
    TOO_LONG_MARK,
    BatchCreateBody,
    BatchLine,
    ChatCompletionBody,
    JsonTooDeep,
    Prepared,
    RequestProblem,
    Unsupported,
    answer_budget_problem,
    chat_completion,
    chat_request,
    clip,
    cut_message,
    fingerprint,
    fit,
    json_reason,
    json_type,
    load_json,
    ollama_messages,
    prepare,
    too_long_message,
    validate,
)

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


# --- Create ----------------------------------------------------------------------------


class BatchInputError(services.InputError):
    """services.InputError naming the offending field of the create request (`param`)."""

    def __init__(self, message: str, param: str | None):
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

    Raises BatchInputError (a services.InputError), with what to change, for an endpoint
    other than /v1/chat/completions, a window other than 24h, metadata beyond OpenAI's
    limits (openai_compat.BatchCreateBody, as POST /v1/batches checks them), or a file
    not uploaded with purpose `batch`.
    """
    fields = {
        "input_file_id": input_file.id,
        "endpoint": endpoint,
        "completion_window": completion_window,
        "metadata": metadata,
    }
    try:
        spec = validate(BatchCreateBody, fields, code=None)
    except RequestProblem as problem:
        raise BatchInputError(problem.message, problem.param) from None
    if input_file.purpose != File.Purpose.BATCH:
        raise BatchInputError(
            f"File {input_file.id} was uploaded with purpose {input_file.purpose!r}; a batch "
            "needs a JSONL file uploaded with purpose 'batch'.",
            "input_file_id",
        )
    services.ensure_free_space(size=input_file.bytes)  # a full disk half-way breaks a run
    run = Run.objects.create(
        owner=owner,
        kind=Run.Kind.BATCH,
        input_file=input_file,
        name=input_file.filename,
        status=Run.Status.VALIDATING,
        options={
            "endpoint": spec.endpoint,
            "completion_window": spec.completion_window,
            "metadata": spec.metadata or {},
        },
    )
    run.expires_at = run.created_at + COMPLETION_WINDOWS[spec.completion_window]
    run.save(update_fields=["expires_at"])
    run_id = run.pk

    def enqueue() -> None:
        from django_q.tasks import async_task

        async_task("evaluations.tasks.ingest_batch", run_id, group=run.public_id)

    transaction.on_commit(enqueue)
    run.refresh_from_db()  # outside a transaction (or with inline tasks) it ran already
    return run


# --- Ingest ----------------------------------------------------------------------------


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
    checker = _LineChecker(endpoint)
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
                        f"This line is not valid JSON ({json_reason(exc)}); each line must "
                        "be one JSON object.",
                    ) from None
                if type(line) is not dict:
                    raise RequestProblem(
                        "invalid_json_line",
                        f"This line is a JSON {json_type(line)}, not an object; each line "
                        'must be an object with "custom_id", "method", "url" and "body".',
                    )
                request = checker.check(number, line)
            except RequestProblem as problem:
                errors.append(_error(problem.code, problem.message, number, problem.param))
                if len(errors) >= max_errors:
                    break
                continue
            if errors:
                continue  # keep reading to report every problem, but store nothing more
            body = request.body
            max_chars = max(max_chars, body.text_chars)
            max_messages = max(max_messages, len(body.messages))
            max_tokens = max(max_tokens, body.answer_tokens or DEFAULT_MAX_TOKENS)
            # The body as sent (fields hrbatch passes over included): the engine maps it.
            batch.append((number, request.custom_id, line["body"], {}))
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
        "model_line": checker.model_line,
    }
    updated = Run.objects.filter(pk=run_id, status=Run.Status.VALIDATING).update(
        model=checker.model, total_count=total, max_input_chars=max_chars, options=options
    )
    if not updated:
        # Cancelled or expired while the file was being read: it ended with no requests.
        Item.objects.filter(run_id=run_id).delete()
    run.refresh_from_db()
    return run


class _LineChecker:
    """Validates the lines of one file in order (openai_compat.BatchLine), and checks each
    against the lines before it: a custom_id used once, one model for the whole batch.

    Of a line's problems, the one reported is the first in reading order: the envelope
    (custom_id, method, url), a reused custom_id, the model, then the rest of the body.
    """

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self.seen: dict[str, int] = {}  # custom_id → its line
        self.model = ""
        self.model_line = 0

    def check(self, number: int, line: dict[str, Any]) -> BatchLine:
        """The valid request of this line; raises RequestProblem."""
        try:
            request = validate(BatchLine, line, code=INVALID_BODY, endpoint=self.endpoint)
            problem = None
        except RequestProblem as found:
            if found.param in ("custom_id", "method", "url"):
                raise
            request, problem = None, found  # the envelope is valid: go on checking it
        custom_id = line["custom_id"]
        first = self.seen.get(custom_id)
        if first is not None:
            raise RequestProblem(
                "duplicate_custom_id",
                f"custom_id {clip(custom_id)!r} is already used on line {first}; "
                "each request needs its own custom_id.",
                "custom_id",
            )
        self.seen[custom_id] = number
        if problem is not None and problem.param in ("body", "body.model"):
            raise problem
        line_model = line["body"]["model"]
        if not self.model:
            self.model, self.model_line = line_model, number
        elif line_model != self.model:
            raise RequestProblem(
                "mismatched_model",
                f"This request uses model {clip(line_model)!r}, but line {self.model_line} "
                f"uses {clip(self.model)!r}; every request of a batch must use the same "
                "model. Split the file into one batch per model.",
                "body.model",
            )
        if problem is not None:
            raise problem
        assert request is not None
        return request


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
        message = f"The model {clip(model)!r} does not exist on this server: {exc}"
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
        problem = answer_budget_problem(
            ChatCompletionBody.model_validate(body), model=info.name or model, context_length=limit
        )
        if problem:
            problems.append(_error(problem.code, problem.message, line, f"body.{problem.param}"))
            if len(problems) >= most:
                break
    return problems


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


# --- Running one request (the engine's handler) --------------------------------------------


class BatchHandler:
    """The engine's handler for batch runs: one request line → one Ollama /api/chat call,
    mapped by openai_compat."""

    pack_size = 1

    def __init__(self, run: Run):
        self.run = run
        options = run.options
        self.num_ctx = int(options["num_ctx"])
        self.default_max_tokens = int(options.get("num_predict") or DEFAULT_MAX_TOKENS)
        self.keep_alive = options.get("keep_alive")
        self.fingerprint = fingerprint(run.model_digest)
        self._prepared: dict[int, tuple[ChatCompletionBody, Prepared]] = {}

    def calibrate(self, item: Item) -> bool:
        return False

    def too_long(self, item: Item) -> str | None:
        """Why this request cannot be sent (failed at once, not retried), or None."""
        try:
            _, prepared = self._prepare(item)
        except (Unsupported, RequestProblem) as exc:
            return str(exc)
        return None if prepared.num_predict > 0 else too_long_message(self.num_ctx, prepared)

    def _prepare(self, item: Item) -> tuple[ChatCompletionBody, Prepared]:
        found = self._prepared.get(item.pk)
        if found is None:
            # Valid since ingest; read again as the model the mapping takes.
            body = validate(ChatCompletionBody, item.input, code=INVALID_BODY)
            prepared = prepare(
                body, num_ctx=self.num_ctx, default_max_tokens=self.default_max_tokens
            )
            found = self._prepared[item.pk] = (body, prepared)
        return found

    def request(self, items: list[Item], attempt: int, *, single: bool = False) -> ChatRequest:
        (item,) = items
        body, prepared = self._prepare(item)
        return chat_request(
            body, prepared, model=self.run.model, num_ctx=self.num_ctx, keep_alive=self.keep_alive
        )

    def results(
        self, items: list[Item], answer: ChatResult, *, single: bool = False
    ) -> list[dict[str, Any]]:
        problem = cut_message(self.num_ctx, answer)
        if problem:
            raise TooLong(problem)
        return [chat_completion(answer, model=self.run.model, fingerprint=self.fingerprint)]


# --- One synchronous request (POST /v1/chat/completions) ----------------------------------


def complete(body: dict[str, Any], *, backend_name: str) -> dict[str, Any]:
    """Answer one chat.completions body (checked with openai_compat.body_problem)
    synchronously.

    Mapped onto Ollama exactly as a batch line is. num_ctx is that of a running run of the
    same model when the request fits in it (Ollama reloads the model whenever num_ctx
    changes, which would stall that run), else sized for this request. Raises
    BackendError: ModelNotFound, Unreachable, RequestProblem (a BadRequest: an invalid
    body, too long for the context window, or an answer budget beyond it), RequestFailed.
    """
    conf = settings.HRBATCH
    request_body = validate(ChatCompletionBody, body, code=INVALID_BODY)
    backend = make_backend(backend_name)
    model = request_body.model
    if backend_name == "embedded" and model != backend.default_model:
        model = backend.default_model  # auto fell back: the asked-for model is not here
    # Asked first, so that a missing model or an impossible answer budget is named as such.
    info = asyncio.run(services._model_info(make_backend(backend_name), model))
    problem = answer_budget_problem(request_body, model=model, context_length=info.context_length)
    if problem:
        raise problem
    wanted = request_body.answer_tokens or DEFAULT_MAX_TOKENS
    try:
        messages = ollama_messages(request_body)
    except Unsupported as exc:
        raise RequestProblem("unsupported_input", str(exc), "messages") from exc
    num_ctx = prompting.size_num_ctx(
        prompt_chars=sum(len(m["content"]) for m in messages) + MESSAGE_CHARS * len(messages),
        num_predict=wanted,
        cap=conf["MAX_NUM_CTX"],
    )
    live = _live_num_ctx(backend_name, model)
    if live and fit(messages, wanted, live).num_predict == wanted:
        num_ctx = live
    prepared = fit(messages, wanted, num_ctx)
    if prepared.num_predict <= 0:
        too_long = too_long_message(num_ctx, prepared)
        raise RequestProblem("context_length_exceeded", too_long, "messages")
    request = chat_request(
        request_body, prepared, model=model, num_ctx=num_ctx, keep_alive=conf["KEEP_ALIVE"]
    )
    answer = asyncio.run(_chat_once(backend, request))
    cut = cut_message(num_ctx, answer)
    if cut:
        raise RequestProblem("context_length_exceeded", cut, "messages")
    return chat_completion(answer, model=model, fingerprint=fingerprint(""))


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
