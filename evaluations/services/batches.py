"""API batches: OpenAI Batch API runs of raw chat requests (`/v1/batches`), and one request.

A batch is a Run of kind `batch` whose Items are the lines of a JSONL file, one
`POST /v1/chat/completions` request each. Here: create a batch, validate and ingest its
file (each line checked by openai_compat's models), start it, and expire it when its 24 h
completion window ran out; and `complete`, one chat request answered synchronously. The
engine runs the requests (engine.handlers.BatchHandler, with openai_compat's mapping onto
the backend); export writes the output and error files. The HTTP layer only calls here.
"""

from __future__ import annotations

import codecs
import hashlib
import json
from typing import Any, BinaryIO

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from .. import prompting
from ..export import EXPIRED_MESSAGE
from ..llm import (
    BackendError,
    ModelNotFound,
    call_once,
    make_backend,
    resolve_backend,
    served_model,
)
from ..models import File, Item, Run, RunOptions
from ..openai_compat import (
    CHAT_COMPLETIONS,
    COMPLETION_WINDOWS,
    DEFAULT_MAX_TOKENS,
    INVALID_BODY,
    MESSAGE_CHARS,
    BatchCreateBody,
    BatchLine,
    ChatCompletionBody,
    JsonTooDeep,
    RequestProblem,
    Unsupported,
    answer_budget_problem,
    body_problem,
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
    system_texts,
    too_long_message,
    validate,
)
from .common import InputError, input_problem
from .files import ensure_free_space
from .ingest import JobBook, run_fail_validation
from .items import ItemWriter, run_items_delete
from .runs import items_cancel_unclaimed, run_finalize_if_done, run_start
from .tasks_queue import enqueue_on_commit

# --- Create ----------------------------------------------------------------------------


class BatchInputError(InputError):
    """InputError naming the offending field of the create request (`param`)."""

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

    Raises BatchInputError (a InputError), with what to change, for an endpoint
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
    ensure_free_space(size=input_file.bytes)  # a full disk half-way breaks a run
    run = Run.objects.create(
        owner=owner,
        kind=Run.Kind.BATCH,
        input_file=input_file,
        name=input_file.filename,
        status=Run.Status.VALIDATING,
        options=RunOptions(
            endpoint=spec.endpoint,
            completion_window=spec.completion_window,
            metadata=spec.metadata or {},
        ).to_json(),
    )
    run.expires_at = run.created_at + COMPLETION_WINDOWS[spec.completion_window]
    run.save(update_fields=["expires_at"])
    enqueue_on_commit("evaluations.tasks.ingest_batch", run.pk, group=run.public_id)
    run.refresh_from_db()  # outside a transaction (or with inline tasks) it ran already
    return run


# --- Ingest ----------------------------------------------------------------------------


def batch_ingest(*, run: Run) -> Run:
    """Validate the JSONL file line by line and store one Item per request.

    Streams the file (never all of it in memory) and inserts Items in chunks. Any problem
    fails the batch with every error found (capped), each naming its 1-based line, and
    leaves no Items: OpenAI runs a batch only when its whole file is valid.
    """
    run_id = run.pk
    try:
        handle = open(run.input_file.abspath, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        message = f"The input file {run.input_file.id} was deleted before it could be read."
        errors = [input_problem("missing_file", message, None, param=None)]
        return run_fail_validation(run=run, errors=errors)
    reader = _BatchReader(run)
    with handle:
        reader.read(handle)
    if not reader.errors and not reader.requests:
        reader.errors.append(
            input_problem(
                "empty_file",
                "The file has no requests. Upload a JSONL file with one request per line.",
                None,
                param=None,
            )
        )
    if reader.errors:
        run_items_delete(run_id=run_id)
        return run_fail_validation(run=run, errors=reader.errors)
    reader.store()
    run.opts = run.opts.replace(
        max_messages=reader.max_messages,
        max_tokens=reader.max_tokens,
        model_line=reader.checker.model_line,
    )
    updated = Run.objects.filter(pk=run_id, status=Run.Status.VALIDATING).update(
        model=reader.checker.model,
        total_count=reader.total,
        max_input_chars=reader.max_chars,
        options=run.options,
    )
    if not updated:
        # Cancelled or expired while the file was being read: it ended with no requests.
        run_items_delete(run_id=run_id)
    run.refresh_from_db()
    return run


class _BatchReader:
    """Reads a batch's JSONL file: every problem (up to HRBATCH_MAX_VALIDATION_ERRORS),
    and, as long as there is none, its requests, stored a chunk at a time."""

    def __init__(self, run: Run):
        conf = settings.HRBATCH
        self.max_errors = max(1, int(conf["MAX_VALIDATION_ERRORS"]))
        self.max_requests = int(conf["API_MAX_REQUESTS"])
        self.chunk = max(1, int(conf["INGEST_BATCH"]))
        self.checker = _LineChecker(run.opts.endpoint or CHAT_COMPLETIONS)
        self.writer = ItemWriter(run.pk)
        self.groups = _SystemGroups(run)
        self.errors: list[dict[str, Any]] = []
        # Rows of (line, custom_id, body, extra, system key or "").
        self.batch: list[tuple[int, str, dict[str, Any], dict[str, Any], str]] = []
        self.batch_groups: dict[str, tuple[str, str, int | None]] = {}
        self.total = 0
        self.max_chars = 0
        self.max_messages = 0
        self.max_tokens = 0  # the largest answer budget asked for (or the default)
        self.requests = 0

    def read(self, handle: BinaryIO) -> None:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            if not raw or raw.isspace():
                continue
            self.requests += 1
            if self.requests > self.max_requests:
                self.errors.append(
                    input_problem(
                        "too_many_requests",
                        f"The file has more than {self.max_requests:,} requests, the most one "
                        "batch may hold (HRBATCH_API_MAX_REQUESTS). Split it into several "
                        "batches.",
                        number,
                        param=None,
                    )
                )
                return
            try:
                line = _json_line(raw)
                request = self.checker.check(number, line)
            except RequestProblem as problem:
                self.errors.append(
                    input_problem(problem.code, problem.message, number, param=problem.param)
                )
                if len(self.errors) >= self.max_errors:
                    return
                continue
            if not self.errors:  # keep reading to report every problem, but store nothing more
                self._keep(number, request, line["body"])

    def _keep(self, number: int, request: BatchLine, sent: dict[str, Any]) -> None:
        """One valid request, stored with the next chunk; `sent` is its body as sent
        (fields hrbatch passes over included): the engine maps it."""
        body = request.body
        self.max_chars = max(self.max_chars, body.text_chars)
        self.max_messages = max(self.max_messages, len(body.messages))
        self.max_tokens = max(self.max_tokens, body.answer_tokens or DEFAULT_MAX_TOKENS)
        key = ""
        texts = system_texts(body)
        if texts:
            key, title, text = system_group(texts)
            self.batch_groups.setdefault(key, (title, text, None))
        self.batch.append((number, request.custom_id, sent, {}, key))
        if len(self.batch) >= self.chunk:
            self.store()

    def store(self) -> None:
        """Insert the requests read since the last chunk."""
        self.total += self.groups.insert(self.writer, self.batch, self.batch_groups)
        self.batch, self.batch_groups = [], {}


def _json_line(raw: bytes) -> dict[str, Any]:
    """One line of the file as a JSON object, or the RequestProblem that says why not."""
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
            f"This line is not valid JSON ({json_reason(exc)}); each line must be one JSON object.",
        ) from None
    if type(line) is not dict:
        raise RequestProblem(
            "invalid_json_line",
            f"This line is a JSON {json_type(line)}, not an object; each line "
            'must be an object with "custom_id", "method", "url" and "body".',
        )
    return line


# A group's title: the first line of its system message, cut to this many characters.
SYSTEM_TITLE_CHARS = 80


def system_group(texts: list[str]) -> tuple[str, str, str]:
    """(key, title, text) of the group of lines whose opening system messages are `texts`.

    The key is the sha256 of the exact text (of the list, for several messages): the
    server's cache reuses a prefix only when it is the same bytes, so lines that differ by a
    space are different groups."""
    exact = texts[0] if len(texts) == 1 else json.dumps(texts, ensure_ascii=False)
    key = hashlib.sha256(exact.encode("utf-8", "surrogatepass")).hexdigest()
    # JSON may hold a lone surrogate ("\ud800"), which no database column stores.
    text = "\n\n".join(texts).encode("utf-8", "replace").decode("utf-8")
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if len(first) > SYSTEM_TITLE_CHARS:
        first = first[: SYSTEM_TITLE_CHARS - 1].rstrip() + "…"
    return key, first or "(an empty system message)", text


class _SystemGroups:
    """The lines of a batch grouped by the system message(s) that open them: one group per
    distinct system text, so that the engine dispatches and sends the lines of one group
    together (services.runs.run_dispatch, engine.worker), as it does a rubric run's
    candidates job by job, and each server slot keeps that prefix cached. A group is
    stored as a row of the run's Job table (the one the engine groups by): in a batch
    such a row is a system-message group, never a position.

    A batch whose lines all share one system message, or have none, gains nothing from
    groups and pays nothing for them: Jobs are made only once a second prefix shows up
    (lines without a system message count as one). The lines stored before then all had
    the one prefix seen so far; they get their Job in one UPDATE. A line without a system
    message has no Job.
    """

    def __init__(self, run: Run):
        self.run_id = run.pk
        self.book = JobBook(run)
        self.grouping = False
        self.first_key: str | None = None  # the one prefix seen so far ("": no system message)
        self.first_group: tuple[str, str, int | None] = ("", "", None)

    def insert(
        self,
        writer: ItemWriter,
        rows: list[tuple[int, str, dict[str, Any], dict[str, Any], str]],
        groups: dict[str, tuple[str, str, int | None]],
    ) -> int:
        """Insert rows of (line, custom_id, body, extra, system key or ""); `groups` maps
        their keys to (title, text, None) as JobBook takes them."""
        if not self.grouping:
            keys = {key for *_, key in rows}
            seen = keys | ({self.first_key} if self.first_key is not None else set())
            if len(seen) > 1:
                self.grouping = True
                if self.first_key:
                    ids = self.book.resolve({self.first_key: self.first_group})
                    Item.objects.filter(run_id=self.run_id).update(job_id=ids[self.first_key])
            elif keys and self.first_key is None:
                self.first_key = next(iter(keys))
                self.first_group = groups.get(self.first_key, ("", "", None))
        if not self.grouping:
            return writer.insert([(line, cid, body, extra) for line, cid, body, extra, _ in rows])
        ids = self.book.resolve(groups) if groups else {}
        return writer.insert(
            [
                (line, cid, body, extra, ids[key] if key else None)
                for line, cid, body, extra, key in rows
            ]
        )


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
            run_items_delete(run_id=run.pk)
            return run_fail_validation(run=run, errors=problems)
        run_start(run=run)
    return run


def _model_problems(run: Run) -> list[dict[str, Any]]:
    """What the model server says the batch cannot run (validation errors), or [].

    A model that is not installed, or answer budgets beyond the model's context length,
    fail the batch at validation as OpenAI's do: nothing a worker could wait out. An
    unreachable server is not the batch's fault: run_start deals with outages.
    """
    choice = resolve_backend(run.backend or None)
    backend = make_backend(choice.name)
    model = served_model(backend, run.model)  # as run_start
    try:
        info = call_once(backend, lambda b: b.model_info(model))
    except ModelNotFound as exc:
        line = run.opts.model_line or None
        message = f"The model {clip(model)!r} does not exist on this server: {exc}"
        return [input_problem("model_not_found", message, line, param="body.model")]
    except BackendError:
        return []
    limit = info.context_length
    if not limit or int(run.opts.max_tokens or 0) <= limit:
        return []
    problems = []
    most = max(1, int(settings.HRBATCH["MAX_VALIDATION_ERRORS"]))
    rows = Item.objects.filter(run_id=run.pk).order_by("line").values_list("line", "input")
    for line, body in rows.iterator(chunk_size=2000):
        problem = answer_budget_problem(
            ChatCompletionBody.model_validate(body), model=info.name or model, context_length=limit
        )
        if problem:
            problems.append(
                input_problem(problem.code, problem.message, line, param=f"body.{problem.param}")
            )
            if len(problems) >= most:
                break
    return problems


# --- Expiry --------------------------------------------------------------------------------


def batch_expire_overdue() -> int:
    """Expire the batches whose completion window ended (services.sweep calls this).

    What was done stays done; the requests not yet executed are cancelled with the
    `batch_expired` reason, and the outputs are written with what there is. Workers still
    holding requests finish those first (the run waits in `cancelling`, marked by
    `expired_at`, and runs.run_finalize ends it in `expired`). Returns how many batches
    expired.
    """
    now = timezone.now()
    # Expiry stops a batch as a cancel would, from the same statuses.
    overdue = (
        Run.objects.that_may("cancel")
        .filter(kind=Run.Kind.BATCH, expires_at__lt=now)
        .values_list("pk", flat=True)
    )
    count = 0
    for run_id in list(overdue):
        with transaction.atomic():
            updated = (
                Run.objects.filter(pk=run_id)
                .that_may("cancel")
                .update(status=Run.Status.CANCELLING, expired_at=now)
            )
            if updated:
                items_cancel_unclaimed(run_id=run_id, reason=EXPIRED_MESSAGE)
        if updated:
            count += 1
            run_finalize_if_done(run_id=run_id)
    return count


# --- One synchronous request (POST /v1/chat/completions) ----------------------------------


def request_json(raw: bytes) -> dict[str, Any]:
    """A /v1 request's body as a JSON object; InputError says why it cannot be read."""
    try:
        body = load_json(raw or b"{}")
    except JsonTooDeep as exc:
        raise InputError(f"The request body cannot be read: {exc}.") from exc
    except ValueError as exc:
        raise InputError(f"The request body is not valid JSON: {exc}.") from exc
    if not isinstance(body, dict):
        raise InputError("The request body must be a JSON object.")
    return body


def batch_create_spec(body: dict[str, Any]) -> BatchCreateBody:
    """The body of POST /v1/batches, checked (RequestProblem says what is wrong, and
    where, in OpenAI's terms)."""
    return validate(BatchCreateBody, body, code=None)


def chat_complete(*, body: dict[str, Any]) -> dict[str, Any]:
    """POST /v1/chat/completions: `body` checked (openai_compat.body_problem), then
    answered by the configured backend (`complete`); raises as `complete` does."""
    problem = body_problem(body)
    if problem:
        raise problem
    return complete(body, backend_name=resolve_backend().name)


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
    model = served_model(backend, request_body.model)
    # Asked first, so that a missing model or an impossible answer budget is named as such.
    info = call_once(make_backend(backend_name), lambda b: b.model_info(model))
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
    answer = call_once(backend, lambda b: b.chat(request))
    cut = cut_message(num_ctx, answer)
    if cut:
        raise RequestProblem("context_length_exceeded", cut, "messages")
    return chat_completion(answer, model=model, fingerprint=fingerprint(""))


def _live_num_ctx(backend_name: str, model: str) -> int | None:
    """The num_ctx of the newest running run of this model, if any."""
    live = (
        Run.objects.filter(status=Run.Status.IN_PROGRESS, backend=backend_name, model=model)
        .order_by("-pk")
        .only("options")
        .first()
    )
    value = live.opts.num_ctx if live else None
    return int(value) if value else None
