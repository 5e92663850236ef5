"""The /v1 endpoints: Files, Batches, Models and one synchronous Chat Completion.

Each view is wrapped by `auth.api_view` (key, method, OpenAI-shaped errors), reads through
the models and writes through the services; request bodies are validated by
`evaluations.openai_compat`'s pydantic models, so a refusal names its `param`.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpResponse, JsonResponse

from evaluations import selectors, services
from evaluations.models import File, Run
from evaluations.services import batches
from evaluations.services.common import BackendError, ModelNotFound, RequestProblem
from hrbatch import uploads
from hrbatch.http import file_download, whole_number

from .auth import ApiRequest, api_view
from .errors import ApiError, not_found

log = logging.getLogger(__name__)

API_FILE_PURPOSES = (File.Purpose.BATCH, File.Purpose.BATCH_OUTPUT, File.Purpose.BATCH_ERROR)
# `created` of a model whose backend gives no date: when this server process started.
STARTED_AT = int(time.time())
# The batch metadata key of its consistency figures (selectors.batch_consistency).
CONSISTENCY_KEY = "hrbatch_consistency"


def _json_body(request: ApiRequest) -> dict[str, Any]:
    try:
        return batches.request_json(request.body)
    except services.InputError as exc:
        raise ApiError(400, exc.message) from exc


def _ts(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value else None


def _limit(request: ApiRequest, *, default: int, most: int) -> int:
    value = request.GET.get("limit")
    if value is None:
        return default
    limit = whole_number(value, low=1, high=most)
    if limit is None:
        raise ApiError(400, f"limit must be a whole number from 1 to {most}.", param="limit")
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


def _files(request: ApiRequest) -> QuerySet[File]:
    return File.objects.filter(
        owner=request.api_user, purpose__in=API_FILE_PURPOSES, deleted_at=None
    )


def _get_file(request: ApiRequest, file_id: str) -> File:
    file = _files(request).filter(pk=file_id).first()
    if file is None:
        raise ApiError(404, f"No such File object: {file_id}", param="id")
    return file


@api_view(("GET", "POST"))
def files(request: ApiRequest) -> HttpResponse:
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
    request: ApiRequest, items: QuerySet[File], order: str
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


def _upload(request: ApiRequest) -> HttpResponse:
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
            owner=request.api_user,
            source=upload.chunks(),
            filename=upload.name or "upload.jsonl",
            purpose=File.Purpose.BATCH,
            size=upload.size,
        )
    except services.InputError as exc:  # the server's disk is full
        raise ApiError(507, exc.message, type="server_error", code="insufficient_storage") from exc
    return JsonResponse(file_object(stored))


@api_view(("GET", "DELETE"))
def file_detail(request: ApiRequest, file_id: str) -> HttpResponse:
    file = _get_file(request, file_id)
    if request.method == "DELETE":
        services.file_delete(file=file)
        return JsonResponse({"id": file.id, "object": "file", "deleted": True})
    return JsonResponse(file_object(file))


@api_view(("GET",))
def file_content(request: ApiRequest, file_id: str) -> HttpResponse:
    return file_download(_get_file(request, file_id))


# --- Batches -----------------------------------------------------------------------------


def batch_status(run: Run) -> str:
    """A run's status in OpenAI's words, whose batch lifecycle has no `paused` (a paused
    batch is still `in_progress` to its client) and in which a cancel goes cancelling →
    cancelled. hrbatch passes a cancelled run through `finalizing` (the claim that lets
    exactly one worker write its outputs): still `cancelling` to the client."""
    if run.status == Run.Status.PAUSED:
        return "in_progress"
    if run.status == Run.Status.FINALIZING and run.cancelling_at:
        return "cancelling"
    return run.status


def batch_object(run: Run) -> dict[str, Any]:
    opts = run.opts
    metadata = dict(opts.metadata or {})
    # Progress figures while requests are still to run: in the statuses a cancel can stop
    # (validating, in progress, paused), not once the outputs are being written.
    if run.can_cancel:
        for key, value in selectors.batch_live_figures(run).items():
            # The caller's own metadata keys always win.
            if key not in metadata and value is not None:
                metadata[key] = str(value)
    # How often a line sent again with another seed got the same answer (issue 9).
    if CONSISTENCY_KEY not in metadata:
        consistency = selectors.batch_consistency(run)
        if consistency is not None:
            metadata[CONSISTENCY_KEY] = selectors.batch_consistency_metadata(consistency)
    errors = None
    if run.errors and run.status == Run.Status.FAILED:
        errors = {"object": "list", "data": selectors.batch_errors(run)}
    return {
        "id": run.public_id,
        "object": "batch",
        "endpoint": selectors.batch_endpoint(run),
        "model": run.model or None,
        "errors": errors,
        "input_file_id": run.input_file_id,
        "completion_window": opts.completion_window or "24h",
        "status": batch_status(run),
        "output_file_id": run.output_file_id,
        "error_file_id": run.error_file_id,
        "created_at": _ts(run.created_at),
        "in_progress_at": _ts(run.in_progress_at),
        "expires_at": _ts(run.expires_at),
        # A cancelled batch never finalizes in OpenAI's lifecycle (see batch_status).
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


def _batches(request: ApiRequest) -> QuerySet[Run]:
    return Run.objects.filter(owner=request.api_user, kind=Run.Kind.BATCH)


def _get_batch(request: ApiRequest, batch_id: str) -> Run:
    run = _batches(request).filter(public_id=batch_id).first()
    if run is None:
        raise not_found("batch", batch_id)
    return run


@api_view(("GET", "POST"))
def batches_view(request: ApiRequest) -> HttpResponse:
    if request.method == "POST":
        return _create_batch(request)
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


def _create_batch(request: ApiRequest) -> HttpResponse:
    try:
        spec = batches.batch_create_spec(_json_body(request))
    except RequestProblem as problem:
        raise ApiError.invalid(problem) from None
    file = _files(request).filter(pk=spec.input_file_id).first()
    if file is None:
        raise ApiError(400, f"No such File object: {spec.input_file_id}", param="input_file_id")
    try:
        run = batches.batch_create(
            owner=request.api_user,
            input_file=file,
            endpoint=spec.endpoint,
            completion_window=spec.completion_window,
            metadata=spec.metadata,
        )
    except services.InputError as exc:
        raise ApiError(400, exc.message, param=getattr(exc, "param", None)) from exc
    return JsonResponse(batch_object(run))


@api_view(("GET",))
def batch_detail(request: ApiRequest, batch_id: str) -> HttpResponse:
    return JsonResponse(batch_object(_get_batch(request, batch_id)))


@api_view(("POST",))
def batch_cancel(request: ApiRequest, batch_id: str) -> HttpResponse:
    run = _get_batch(request, batch_id)
    if run.can_cancel:
        services.run_cancel(run=run)
        run.refresh_from_db()
    elif batch_status(run) not in ("cancelling", "cancelled"):  # asking twice is fine
        raise ApiError(
            409,
            f"Cannot cancel a batch with status '{batch_status(run)}'.",
            code="batch_not_cancellable",
        )
    return JsonResponse(batch_object(run))


# --- Models and one synchronous chat completion ----------------------------------------


@api_view(("GET",))
def models_view(request: ApiRequest) -> HttpResponse:
    backend, models = selectors.models_served()
    data = [
        {
            "id": model.name,
            "object": "model",
            "created": int(model.modified_at.timestamp()) if model.modified_at else STARTED_AT,
            "owned_by": backend,
        }
        for model in models
    ]
    return JsonResponse({"object": "list", "data": data})


@api_view(("POST",))
def chat_completions(request: ApiRequest) -> HttpResponse:
    """One request through the same backend, for OpenAI-compatible tools."""
    body = _json_body(request)
    try:
        completion = batches.chat_complete(body=body)
    except RequestProblem as exc:
        raise ApiError.invalid(exc) from exc
    except ModelNotFound as exc:
        log.warning("/v1/chat/completions: %s", exc)
        raise ApiError(404, str(exc), param="model", code="model_not_found") from exc
    except BackendError as exc:
        # The log keeps the whole message (which server); the client's has no address.
        log.warning("/v1/chat/completions: %s", exc)
        status = 503 if exc.transient else 400
        raise ApiError(
            status, str(exc), type="server_error" if status == 503 else "invalid_request_error"
        ) from exc
    return JsonResponse(completion)
