"""The runs list, a run's page (progress, controls, downloads) and one candidate's page."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from evaluations import export, metrics, prompting, selectors, services
from evaluations.models import File, Run
from hrbatch import http
from web.views.access import HtmxHttpRequest, get_run_for_user, visible_files, visible_runs
from web.views.results import results_context

# --- runs list --------------------------------------------------------------------------


@login_required
@require_GET
def runs_list(request: HttpRequest) -> HttpResponse:
    runs = visible_runs(request).select_related("owner", "rubric", "input_file")
    page = Paginator(runs, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "web/runs_list.html",
        {"page": page, "not_started": _uploads_not_started(request)},
    )


def _uploads_not_started(request: HttpRequest) -> list[File]:
    """Candidate files uploaded but never started: listed so they can be resumed or deleted."""
    files = visible_files(request).filter(~Exists(Run.objects.filter(input_file=OuterRef("pk"))))
    return list(files.select_related("owner").order_by("-created_at")[:50])


def _progress_context(run: Run) -> dict[str, Any]:
    context: dict[str, Any] = {"run": run, "figures": metrics.run_progress(run)}
    if run.can_retry_failed and run.is_terminal and run.rubric:
        # Once the run has finished, rows that failed for being too long can be retried
        # on their first part.
        context["too_long_failed"] = services.run_too_long_failed(run=run)
        context["too_long_kept"] = f"{services.run_chars_limit(run=run):,}"
    return context


@login_required
@require_GET
def run_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    run = get_run_for_user(request, public_id)
    context = {**_progress_context(run), **results_context(run, request)}
    context["agreement"] = metrics.pack_agreement(run) if run.is_terminal else None
    return render(request, "web/run_detail.html", context)


@login_required
@require_GET
def run_progress(request: HtmxHttpRequest, public_id: str) -> HttpResponse:
    """The polling fragment: it stops polling (renders without hx-trigger) once the run
    has ended, and tells the page to refresh the results then."""
    run = get_run_for_user(request, public_id)
    response = render(request, "web/_progress.html", _progress_context(run))
    if not run.is_live:
        response["HX-Trigger"] = "run-ended"
    return response


def _control(request: HttpRequest, public_id: str, action: str) -> HttpResponse:
    run = get_run_for_user(request, public_id)
    if action == "pause":
        done = services.run_pause(run=run)
        note = "Paused. Candidates already being scored will finish first."
    elif action == "resume":
        done = services.run_resume(run=run)
        note = "Resumed." if done else f"Could not resume: {run.status_message}"
    elif action == "cancel":
        done = services.run_cancel(run=run)
        note = "Cancelled. Scores already made are kept in the results."
    elif action == "retry-failed":
        count = services.run_retry_failed(run=run)
        done = bool(count)
        note = f"Trying {count} failed candidate{'s' if count != 1 else ''} again."
    elif action == "retry-truncated":
        count = services.run_retry_failed(run=run, truncate_long=True)
        done = bool(count)
        note = (
            f"Trying {count} failed candidate{'s' if count != 1 else ''} again; rows too long "
            "for the AI model are scored on their first part and marked “truncated”."
        )
    else:
        return HttpResponseBadRequest("unknown action")
    if done:
        messages.success(request, note)
    else:
        messages.warning(request, note if action == "resume" else "Nothing to do for this run.")
    return redirect("web:run", run.public_id)


@login_required
@require_POST
def run_control(request: HttpRequest, public_id: str, action: str) -> HttpResponse:
    return _control(request, public_id, action)


@login_required
@require_POST
def run_rename(request: HttpRequest, public_id: str) -> HttpResponse:
    run = get_run_for_user(request, public_id)
    try:
        services.run_rename(run=run, name=request.POST.get("name", ""))
    except services.InputError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Renamed to “{run.name}”.")
    return redirect("web:run", run.public_id)


def _download_name(run: Run) -> str:
    """The run's name as a file name: 'March intake.csv (2)' → 'march-intake-2'."""
    return slugify(re.sub(r"\.(csv|tsv|txt)\b", "", run.name, flags=re.IGNORECASE))


@login_required
@require_GET
def run_download(request: HttpRequest, public_id: str) -> StreamingHttpResponse:
    """The scored CSV, streamed from the database: partial while running, complete after."""
    run = get_run_for_user(request, public_id)
    if run.kind != Run.Kind.RUBRIC or not run.columns.get("header"):
        raise Http404("This run has no scored CSV.")
    excel = request.GET.get("excel") == "1"
    response = StreamingHttpResponse(
        export.iter_csv_bytes(run, excel=excel), content_type="text/csv; charset=utf-8"
    )
    base = _download_name(run) or "candidates"
    suffix = "scored" if run.status == Run.Status.COMPLETED else "scored-partial"
    response["Content-Disposition"] = f'attachment; filename="{base}-{suffix}.csv"'
    return response


@login_required
@require_GET
def run_file(request: HttpRequest, public_id: str, file_id: str) -> FileResponse:
    """A batch's output or error file (JSONL), for its owner in the browser."""
    run = get_run_for_user(request, public_id)
    if file_id not in (run.output_file_id, run.error_file_id):
        raise Http404("No such file for this run.")
    return http.file_download(get_object_or_404(File, pk=file_id, deleted_at=None))


@login_required
@require_GET
def item_detail(request: HttpRequest, public_id: str, item_id: int) -> HttpResponse:
    run = get_run_for_user(request, public_id)
    item = get_object_or_404(selectors.run_items(run), pk=item_id)
    seen = []
    truncated = (item.result or {}).get("truncated") if run.kind == Run.Kind.RUBRIC else None
    if run.kind == Run.Kind.RUBRIC and run.rubric:
        plan = services.plan_for_run(run, pack_size=1)
        seen = plan.messages([item.input], limit=truncated["kept"] if truncated else None)
    return render(
        request,
        "web/item_detail.html",
        {
            "run": run,
            "item": item,
            "seen": seen,
            "criteria": run.rubric.criteria if run.rubric else [],
            "packed": run.pack_size > 1,
            "candidate_text": prompting.candidate_text(item.input),
            "truncated_note": (
                f"Only the first {truncated['kept']:,} of its {truncated['chars']:,} characters "
                "were scored: the row was too long for the AI model, and whoever started the "
                "run chose to score its first part."
            )
            if truncated
            else "",
        },
    )
