"""The OpenAI-compatible /v1 API: Files, Batches, Models and Chat Completions.

A thin adapter: batches are Runs of kind `batch` processed by the same engine as the web
app. Responses follow OpenAI's published shapes so the official `openai` SDK works
unchanged; every error is `{"error": {"message", "type", "param", "code"}}`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import (
    DisallowedHost,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from . import metrics, services, uploads
from .llm import BackendError, ModelNotFound, model_list, resolve_backend
from .models import File, Run
from .openai_compat import (
    BatchCreateBody,
    JsonTooDeep,
    RequestProblem,
    body_problem,
    load_json,
    validate,
)

API_FILE_PURPOSES = (File.Purpose.BATCH, File.Purpose.BATCH_OUTPUT, File.Purpose.BATCH_ERROR)
# How an hrbatch run status reads to an OpenAI client (it has no "paused").
BATCH_STATUS = {Run.Status.PAUSED: "in_progress"}
# `created` of a model whose backend gives no date: when this server process started.
STARTED_AT = int(time.time())
PROGRESS_KEYS = ("completion_pct", "eta_seconds", "throughput_req_per_sec", "token_savings_pct")


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = (
            status,
            message,
            type,
            param,
            code,
        )

    @classmethod
    def invalid(cls, problem: RequestProblem) -> ApiError:
        """A 400 for a body openai_compat refused: its message, param and code."""
        return cls(400, problem.message, type=problem.type, param=problem.param, code=problem.code)

    def response(self) -> JsonResponse:
        body = {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }
        response = JsonResponse(body, status=self.status)
        if self.status == 409:
            # The OpenAI SDK retries a 409 (twice by default) unless told not to: a batch that
            # cannot be cancelled now will not become cancellable by asking again.
            response["x-should-retry"] = "false"
        return response


def _not_found(kind: str, object_id: str) -> ApiError:
    return ApiError(404, f"No {kind} found with id '{object_id}'.", param="id")


def api_view(methods: tuple[str, ...]) -> Callable[..., Callable[..., HttpResponse]]:
    """Bearer-key auth, method check and OpenAI-shaped errors around an API view."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                request.api_user = _authenticate(request)  # type: ignore[attr-defined]
                if request.method not in methods:
                    raise ApiError(
                        405,
                        f"Method {request.method} is not allowed here; use {' or '.join(methods)}.",
                        code="method_not_allowed",
                    )
                return view(request, *args, **kwargs)
            except ApiError as error:
                return error.response()
            # What Django raises while reading the body (RequestDataTooBig, a multipart
            # error…) goes on to Django, which logs it (django.security) and answers with
            # handler400: bad_request below.

        return wrapper

    return decorate


@csrf_exempt
def unknown_route(request: HttpRequest) -> HttpResponse:
    """Any other URL under /v1: OpenAI's 404 rather than the web app's HTML page."""
    return ApiError(
        404,
        f"Invalid URL ({request.method} {request.path}): hrbatch serves /v1/files, "
        "/v1/batches, /v1/models and /v1/chat/completions.",
    ).response()


def _is_api(request: HttpRequest) -> bool:
    return request.path == "/v1" or request.path.startswith("/v1/")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: a request Django refused (a Host not allowed, a body too large or
    unreadable), before or while a view read it. Django has logged it already."""
    if not _is_api(request):
        return defaults.bad_request(request, exception)
    return _refused(request, exception).response()


def _refused(request: HttpRequest, exception: Exception) -> ApiError:
    # Django's own wording can name settings or paths; a client gets plain facts.
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
        return ApiError(
            413,
            f"The request body is larger than the {limit / 2**20:g} MB a request may have; "
            "send large inputs as a batch file (POST /v1/files, purpose 'batch').",
        )
    if isinstance(exception, TooManyFieldsSent | TooManyFilesSent):
        return ApiError(400, "The request has too many form fields or files.")
    if isinstance(exception, MultiPartParserError):
        return ApiError(
            400,
            f"The multipart/form-data body cannot be read ({exception}); send the file as the "
            "'file' part and the purpose as the 'purpose' part, as the OpenAI SDK does.",
        )
    if isinstance(exception, DisallowedHost):
        host = request.META.get("HTTP_HOST", "")
        return ApiError(
            400, f"This server does not answer to the host {host[:100]!r}; use its address."
        )
    return ApiError(400, "The request was refused as malformed or unsafe.")


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: Django has logged the error (django.request); the client gets JSON."""
    if _is_api(request):
        return ApiError(
            500,
            "The server had an error while processing your request; it is logged. "
            "Try again, and tell the administrator if it persists.",
            type="server_error",
        ).response()
    return defaults.server_error(request)


def _authenticate(request: HttpRequest) -> Any:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not header[7:].strip():
        raise ApiError(
            401,
            "You didn't provide an API key. You need to provide your API key in an "
            "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY). "
            "Create one with `python manage.py create_api_key --name NAME`.",
        )
    key = header[7:].strip()
    api_key = services.api_key_check(key)
    if api_key is None:
        shown = f"{key[:6]}…{key[-4:]}" if len(key) > 12 else "****"
        raise ApiError(401, f"Incorrect API key provided: {shown}.", code="invalid_api_key")
    return api_key.owner


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = load_json(request.body or b"{}")
    except JsonTooDeep as exc:
        raise ApiError(400, f"The request body cannot be read: {exc}.") from exc
    except ValueError as exc:
        raise ApiError(400, f"The request body is not valid JSON: {exc}.") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    return body


def _ts(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value else None


def _limit(request: HttpRequest, *, default: int, most: int) -> int:
    try:
        limit = int(request.GET.get("limit", default))
    except ValueError as exc:
        raise ApiError(400, "limit must be a whole number.", param="limit") from exc
    if not 1 <= limit <= most:
        raise ApiError(400, f"limit must be between 1 and {most}.", param="limit")
    return limit


def _list(data: list[dict[str, Any]], has_more: bool) -> JsonResponse:
    return JsonResponse(
        {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "has_more": has_more,
        }
    )


# --- Files -------------------------------------------------------------------------------


def file_object(file: File) -> dict[str, Any]:
    return {
        "id": file.id,
        "object": "file",
        "bytes": file.bytes,
        "created_at": _ts(file.created_at),
        "expires_at": None,
        "filename": file.filename,
        "purpose": file.purpose,
        "status": "processed",
        "status_details": None,
    }


def _files(request: HttpRequest) -> QuerySet[File]:
    return File.objects.filter(
        owner=request.api_user,  # type: ignore[attr-defined]
        purpose__in=API_FILE_PURPOSES,
        deleted_at=None,
    )


def _get_file(request: HttpRequest, file_id: str) -> File:
    file = _files(request).filter(pk=file_id).first()
    if file is None:
        raise ApiError(404, f"No such File object: {file_id}", param="id")
    return file


@api_view(("GET", "POST"))
def files(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _upload(request)
    items = _files(request)
    purpose = request.GET.get("purpose")
    if purpose:
        items = items.filter(purpose=purpose)
    order = request.GET.get("order", "desc")
    if order not in ("asc", "desc"):
        raise ApiError(400, "order must be 'asc' or 'desc'.", param="order")
    items = items.order_by("created_at" if order == "asc" else "-created_at")
    rows, has_more = _page_by_time(request, items, order)
    return _list([file_object(f) for f in rows], has_more)


def _page_by_time(
    request: HttpRequest, items: QuerySet[File], order: str
) -> tuple[list[File], bool]:
    limit = _limit(request, default=10_000, most=10_000)
    after = request.GET.get("after")
    if after:
        cursor = _files(request).filter(pk=after).first()
        if cursor is None:
            raise ApiError(400, f"No file with id '{after}' to page after.", param="after")
        items = (
            items.filter(created_at__gt=cursor.created_at)
            if order == "asc"
            else items.filter(created_at__lt=cursor.created_at)
        )
    rows = list(items[: limit + 1])
    return rows[:limit], len(rows) > limit


def _upload(request: HttpRequest) -> HttpResponse:
    too_large = ApiError(
        413,
        f"The file is larger than the {settings.HRBATCH_MAX_UPLOAD_BYTES // 2**20} MB limit "
        "(HRBATCH_MAX_UPLOAD_MB).",
        param="file",
    )
    if not uploads.limit_upload(request):
        raise too_large
    upload = request.FILES.get("file")
    if uploads.too_large(request):
        raise too_large
    purpose = request.POST.get("purpose", "")
    if upload is None:
        raise ApiError(400, "Missing the 'file' part of the multipart upload.", param="file")
    if purpose != File.Purpose.BATCH:
        raise ApiError(
            400,
            f"'{purpose}' is not a supported purpose; hrbatch accepts purpose 'batch'.",
            param="purpose",
        )
    try:
        stored = services.file_create(
            owner=request.api_user,  # type: ignore[attr-defined]
            source=upload.chunks(),
            filename=upload.name or "upload.jsonl",
            purpose=File.Purpose.BATCH,
            size=upload.size,
        )
    except services.InputError as exc:  # the server's disk is full
        raise ApiError(507, exc.message, type="server_error", code="insufficient_storage") from exc
    return JsonResponse(file_object(stored))


@api_view(("GET", "DELETE"))
def file_detail(request: HttpRequest, file_id: str) -> HttpResponse:
    file = _get_file(request, file_id)
    if request.method == "DELETE":
        services.file_delete(file=file)
        return JsonResponse({"id": file.id, "object": "file", "deleted": True})
    return JsonResponse(file_object(file))


@api_view(("GET",))
def file_content(request: HttpRequest, file_id: str) -> HttpResponse:
    from .export import media_type

    file = _get_file(request, file_id)
    # FileResponse encodes the name per RFC 6266 (Django's content_disposition_header);
    # the type is never guessed from the uploader's name (x.html is not served as HTML).
    response = FileResponse(
        open(file.abspath, "rb"),  # noqa: SIM115 - FileResponse streams and closes it
        as_attachment=True,
        filename=file.filename,
        content_type=media_type(file.filename),
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- Batches -----------------------------------------------------------------------------


def batch_object(run: Run) -> dict[str, Any]:
    options = run.options
    metadata: dict[str, str] = dict(options.get("metadata") or {})
    if run.status in (Run.Status.IN_PROGRESS, Run.Status.PAUSED, Run.Status.VALIDATING):
        figures = metrics.run_progress(run)
        live = {
            "completion_pct": figures["percent"],
            "eta_seconds": figures["eta_seconds"],
            "throughput_req_per_sec": figures["throughput_per_sec"],
            "token_savings_pct": figures["token_savings_pct"],
            # Said at once while the LLM server is down; the batch goes on when it answers.
            "server_unreachable": figures["server_unreachable"][:512] or None,
        }
        for key, value in live.items():
            # The caller's own metadata keys always win.
            if key not in metadata and value is not None:
                metadata[key] = str(value)
    errors = None
    if run.errors and run.status == Run.Status.FAILED:
        errors = {
            "object": "list",
            "data": [
                {
                    "code": e.get("code"),
                    "message": e.get("message"),
                    "param": e.get("param"),
                    "line": e.get("line"),
                }
                for e in run.errors
            ],
        }
    return {
        "id": run.public_id,
        "object": "batch",
        "endpoint": options.get("endpoint", "/v1/chat/completions"),
        "model": run.model or None,
        "errors": errors,
        "input_file_id": run.input_file_id,
        "completion_window": options.get("completion_window", "24h"),
        "status": _batch_status(run),
        "output_file_id": run.output_file_id,
        "error_file_id": run.error_file_id,
        "created_at": _ts(run.created_at),
        "in_progress_at": _ts(run.in_progress_at),
        "expires_at": _ts(run.expires_at),
        # A cancelled batch never finalizes in OpenAI's lifecycle (see _batch_status).
        "finalizing_at": None if run.cancelling_at else _ts(run.finalizing_at),
        "completed_at": _ts(run.completed_at),
        "failed_at": _ts(run.failed_at),
        "expired_at": _ts(run.expired_at),
        "cancelling_at": _ts(run.cancelling_at),
        "cancelled_at": _ts(run.cancelled_at),
        "request_counts": {
            "total": run.total_count,
            "completed": run.done_count,
            "failed": run.failed_count,
        },
        "usage": {
            "input_tokens": run.prompt_tokens,
            "input_tokens_details": {"cached_tokens": run.cached_tokens},
            "output_tokens": run.completion_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": run.prompt_tokens + run.completion_tokens,
        },
        "metadata": metadata or None,
    }


def _batch_status(run: Run) -> str:
    """The status an OpenAI client sees: OpenAI's lifecycle, which has no `paused`, and in
    which a cancel goes cancelling → cancelled. hrbatch passes a cancelled run through
    `finalizing` (the claim that lets exactly one worker write its outputs): still
    `cancelling` to the client."""
    if run.status == Run.Status.FINALIZING and run.cancelling_at:
        return "cancelling"
    return BATCH_STATUS.get(run.status, run.status)


def _batches(request: HttpRequest) -> QuerySet[Run]:
    return Run.objects.filter(
        owner=request.api_user,  # type: ignore[attr-defined]
        kind=Run.Kind.BATCH,
    )


def _get_batch(request: HttpRequest, batch_id: str) -> Run:
    run = _batches(request).filter(public_id=batch_id).first()
    if run is None:
        raise _not_found("batch", batch_id)
    return run


@api_view(("GET", "POST"))
def batches_view(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            spec = validate(BatchCreateBody, _json_body(request), code=None)
        except RequestProblem as problem:
            raise ApiError.invalid(problem) from None
        file = _files(request).filter(pk=spec.input_file_id).first()
        if file is None:
            raise ApiError(
                400,
                f"No such File object: {spec.input_file_id}",
                param="input_file_id",
            )
        from .services import batches

        try:
            run = batches.batch_create(
                owner=request.api_user,  # type: ignore[attr-defined]
                input_file=file,
                endpoint=spec.endpoint,
                completion_window=spec.completion_window,
                metadata=spec.metadata,
            )
        except services.InputError as exc:
            raise ApiError(400, exc.message, param=getattr(exc, "param", None)) from exc
        return JsonResponse(batch_object(run))
    # Newest first; `after` is the id of the last batch of the previous page.
    items = _batches(request).order_by("-pk")
    after = request.GET.get("after")
    if after:
        cursor = _batches(request).filter(public_id=after).first()
        if cursor is None:
            raise ApiError(400, f"No batch with id '{after}' to page after.", param="after")
        items = items.filter(pk__lt=cursor.pk)
    limit = _limit(request, default=20, most=100)
    rows = list(items[: limit + 1])
    return _list([batch_object(r) for r in rows[:limit]], len(rows) > limit)


@api_view(("GET",))
def batch_detail(request: HttpRequest, batch_id: str) -> HttpResponse:
    return JsonResponse(batch_object(_get_batch(request, batch_id)))


@api_view(("POST",))
def batch_cancel(request: HttpRequest, batch_id: str) -> HttpResponse:
    run = _get_batch(request, batch_id)
    if run.is_terminal or run.status in (Run.Status.CANCELLING, Run.Status.FINALIZING):
        shown = _batch_status(run)
        if shown not in ("cancelling", "cancelled"):  # asking twice is fine
            raise ApiError(
                409, f"Cannot cancel a batch with status '{shown}'.", code="batch_not_cancellable"
            )
    else:
        services.run_cancel(run=run)
        run.refresh_from_db()
    return JsonResponse(batch_object(run))


# --- Models and one synchronous chat completion ----------------------------------------


@api_view(("GET",))
def models_view(request: HttpRequest) -> HttpResponse:
    choice = resolve_backend()
    data = [
        {
            "id": model.name,
            "object": "model",
            "created": int(model.modified_at.timestamp()) if model.modified_at else STARTED_AT,
            "owned_by": choice.name,
        }
        for model in model_list(choice)
    ]
    return JsonResponse({"object": "list", "data": data})


@api_view(("POST",))
def chat_completions(request: HttpRequest) -> HttpResponse:
    """One request through the same backend, for OpenAI-compatible tools."""
    body = _json_body(request)
    problem = body_problem(body)
    if problem:
        raise ApiError.invalid(problem)
    from .services import batches

    choice = resolve_backend()
    try:
        completion = batches.complete(body, backend_name=choice.name)
    except RequestProblem as exc:
        raise ApiError.invalid(exc) from exc
    except ModelNotFound as exc:
        raise ApiError(404, str(exc), param="model", code="model_not_found") from exc
    except BackendError as exc:
        status = 503 if exc.transient else 400
        raise ApiError(
            status, str(exc), type="server_error" if status == 503 else "invalid_request_error"
        ) from exc
    return JsonResponse(completion)
