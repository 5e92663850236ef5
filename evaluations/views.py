"""The web app for the person scoring candidates. Views are thin: services do the work."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import F, IntegerField, QuerySet
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

from . import csvio, export, metrics, prompting, services, uploads
from .forms import PrepareForm, RubricForm, UploadForm
from .llm import available_models, resolve_backend
from .models import File, Item, Rubric, Run

RESULTS_PER_PAGE = 50


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


# --- access ---------------------------------------------------------------------------


def _visible_runs(request: HttpRequest) -> QuerySet[Run]:
    runs = Run.objects.all()
    return runs if request.user.is_staff else runs.filter(owner=request.user)


def _get_run_for_user(request: HttpRequest, public_id: str) -> Run:
    """The run, if this user may see it; 404 (not 403) so ids do not leak."""
    return get_object_or_404(_visible_runs(request).select_related("rubric"), public_id=public_id)


def _get_file_for_user(request: HttpRequest, file_id: str) -> File:
    files = File.objects.filter(purpose=File.Purpose.CANDIDATES)
    if not request.user.is_staff:
        files = files.filter(owner=request.user)
    return get_object_or_404(files, id=file_id)


# --- runs list --------------------------------------------------------------------------


@login_required
@require_GET
def runs_list(request: HttpRequest) -> HttpResponse:
    runs = _visible_runs(request).select_related("owner", "rubric")
    page = Paginator(runs, 25).get_page(request.GET.get("page"))
    return render(request, "evaluations/runs_list.html", {"page": page})


# --- upload -----------------------------------------------------------------------------


def _too_large_message(size: int | None = None) -> str:
    limit = settings.HRBATCH_MAX_UPLOAD_BYTES // (1024 * 1024)
    actual = f"This file is {size / (1024 * 1024):,.0f} MB and " if size else ""
    return (
        f"{actual}the largest file hrbatch accepts is {limit} MB. Split the candidates "
        "into several files, or ask IT to raise HRBATCH_MAX_UPLOAD_MB."
    )


@login_required
@csrf_exempt  # only so that the size limit can be set before the body is read; see _upload
def upload(request: HtmxHttpRequest) -> HttpResponse:
    # Refuse before reading the body when it says it is too large: nothing touches the disk.
    if request.method == "POST" and not uploads.limit_upload(request):
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        return _upload_page(request, error=_too_large_message(length), status=413)
    return _upload(request)


def _upload_page(
    request: HttpRequest, form: UploadForm | None = None, *, error: str = "", status: int = 200
) -> HttpResponse:
    context = {
        "form": form or UploadForm(),
        "error": error,
        "limit_bytes": settings.HRBATCH_MAX_UPLOAD_BYTES,
    }
    return render(request, "evaluations/upload.html", context, status=status)


@csrf_protect
def _upload(request: HtmxHttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _upload_page(request)
    form = UploadForm(request.POST, request.FILES)
    if uploads.too_large(request):
        return _upload_page(request, error=_too_large_message(), status=413)
    if not form.is_valid():
        return _upload_page(request, form, status=400)
    uploaded = form.cleaned_data["file"]
    try:
        stored = services.file_create(
            owner=request.user,
            source=uploaded.chunks(),
            filename=uploaded.name,
            purpose=File.Purpose.CANDIDATES,
            size=uploaded.size,
        )
    except services.InputError as exc:  # the server's disk is full
        return _upload_page(request, form, error=exc.message, status=507)
    target = reverse("evaluations:prepare", args=[stored.id])
    if request.htmx:
        return HttpResponseClientRedirect(target)
    return redirect(target)


# --- prepare: check the file, columns, rubric, model, start ------------------------------


def _layout_or_problem(file: File) -> tuple[csvio.CsvLayout | None, str]:
    try:
        return csvio.sniff(file.abspath), ""
    except csvio.CsvProblem as problem:
        return None, problem.message


@login_required
def prepare(request: HttpRequest, file_id: str) -> HttpResponse:
    file = _get_file_for_user(request, file_id)
    layout, problem = _layout_or_problem(file)
    if layout is None:
        return render(
            request, "evaluations/prepare.html", {"file": file, "problem": problem}, status=400
        )
    try:
        rows = csvio.count_records(file.abspath, layout)
    except csvio.CsvProblem as exc:
        return render(
            request, "evaluations/prepare.html", {"file": file, "problem": exc.message}, status=400
        )
    id_guess = services.guess_id_column(layout.header)
    choice = resolve_backend()
    models = available_models(choice)
    default_model = settings.HRBATCH["MODEL"] if choice.name == "ollama" else ""
    if choice.name == "embedded" or not models:
        from .llm import make_backend

        default_model = make_backend(choice.name).default_model if not models else models[0]
        models = models or [default_model]
    if default_model not in models:
        default_model = models[0]
    initial = {
        "id_column": id_guess or "",
        "rubric": services.rubric_default().pk,
        "model": default_model,
        "notify_email": request.user.email,
    }
    form = PrepareForm(
        request.POST or None,
        header=layout.header,
        models=models,
        initial_roles=services.default_roles(layout.header, id_guess),
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            run = services.run_create(
                owner=request.user,
                input_file=file,
                rubric=data["rubric"],
                model=data["model"],
                backend=choice.name,
                id_column=data["id_column"] or None,
                roles=form.roles(),
                notify_email=data["notify_email"],
                skip_invalid=data["skip_invalid"],
                defer=True,
            )
        except services.InputError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("evaluations:run", run.public_id)
    estimate = metrics.estimate_seconds(model=form["model"].value() or default_model, count=rows)
    preview = csvio.preview(file.abspath, layout, 20)
    first = list(preview[0]) if preview else []
    examples = first + [""] * (len(layout.header) - len(first))
    return render(
        request,
        "evaluations/prepare.html",
        {
            "file": file,
            "layout": layout,
            "rows": rows,
            "preview": preview,
            "form": form,
            "role_rows": list(zip(form.role_fields(), examples, strict=False)),
            "backend": choice,
            "estimate": estimate,
        },
        status=400 if request.method == "POST" else 200,
    )


def _row_problems(
    file: File, layout: csvio.CsvLayout, id_column: str | None
) -> Iterator[tuple[int, list[str] | None, csvio.RowProblem]]:
    for row, values, problem in csvio.read_records(file.abspath, layout, id_column=id_column):
        if problem is not None:
            yield row, values, problem


@login_required
@require_GET
def check_rows(request: HttpRequest, file_id: str) -> HttpResponse:
    """The problems a run of this file would meet with this ID column (an htmx partial)."""
    file = _get_file_for_user(request, file_id)
    layout, problem = _layout_or_problem(file)
    id_column = request.GET.get("id_column") or None
    problems: list[csvio.RowProblem] = []
    empty = 0
    total = 0
    if layout is not None:
        try:
            for _row, _values, row_problem in _row_problems(file, layout, id_column):
                if row_problem.code == "empty_row":
                    empty += 1
                    continue
                total += 1
                if len(problems) < 100:
                    problems.append(row_problem)
        except csvio.CsvProblem as exc:
            problem = exc.message
    return render(
        request,
        "evaluations/_row_problems.html",
        {
            "file": file,
            "problem": problem,
            "problems": problems,
            "total": total,
            "empty": empty,
            "id_column": id_column or "",
        },
    )


@login_required
@require_GET
def rejected_rows(request: HttpRequest, file_id: str) -> StreamingHttpResponse:
    """The rows with problems, as a CSV with the row number and the problem added."""
    file = _get_file_for_user(request, file_id)
    layout, problem = _layout_or_problem(file)
    if layout is None:
        raise Http404(problem)
    id_column = request.GET.get("id_column") or None

    def rows() -> Iterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        yield "\ufeff".encode()
        writer.writerow(["row", "problem", *layout.header])
        for row, values, row_problem in _row_problems(file, layout, id_column):
            if row_problem.code == "empty_row":
                continue
            cells = [export.neutralize_cell(v) for v in (values or [])]
            writer.writerow([row, row_problem.message, *cells])
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode()

    name = slugify(file.filename.rsplit(".", 1)[0]) or "candidates"
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-rows-with-problems.csv"'
    return response


# --- a run: progress, controls, results -------------------------------------------------


SORTABLE = ("line", "custom_id", "status")


def _results(run: Run, request: HttpRequest) -> dict[str, Any]:
    criteria = run.rubric.criterion_keys if run.rubric else []
    items = Item.objects.filter(run=run).only(
        "id", "custom_id", "line", "status", "result", "error", "attempts"
    )
    status = request.GET.get("status", "")
    if status in Item.Status.values:
        items = items.filter(status=status)
    sort = request.GET.get("sort", "line")
    key = sort.lstrip("-")
    if key in criteria:
        items = items.annotate(
            sort_value=Cast(KT(f"result__scores__{key}"), IntegerField())
        ).order_by(
            F("sort_value").desc(nulls_last=True)
            if sort.startswith("-")
            else F("sort_value").asc(nulls_last=True),
            "line",
        )
    elif key in SORTABLE:
        items = items.order_by(sort, "line")
    else:
        sort = "line"
        items = items.order_by("line")
    top = request.GET.get("top", "")
    if top.isdigit() and int(top) > 0:
        items = items[: int(top)]
        page = Paginator(list(items), max(int(top), 1)).get_page(1)
    else:
        page = Paginator(items, RESULTS_PER_PAGE).get_page(request.GET.get("page"))
    return {
        "run": run,
        "criteria": criteria,
        "labels": {c["key"]: c.get("label", c["key"]) for c in run.rubric.criteria}
        if run.rubric
        else {},
        "page": page,
        "sort": sort,
        "status_filter": status,
        "top": top,
    }


def _progress_context(run: Run) -> dict[str, Any]:
    return {"run": run, "figures": metrics.run_progress(run)}


@login_required
@require_GET
def run_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    run = _get_run_for_user(request, public_id)
    context = {**_progress_context(run), **_results(run, request)}
    context["agreement"] = metrics.pack_agreement(run) if run.is_terminal else None
    return render(request, "evaluations/run_detail.html", context)


@login_required
@require_GET
def run_progress(request: HtmxHttpRequest, public_id: str) -> HttpResponse:
    """The polling fragment: it stops polling (renders without hx-trigger) once the run
    has ended, and tells the page to refresh the results then."""
    run = _get_run_for_user(request, public_id)
    response = render(request, "evaluations/_progress.html", _progress_context(run))
    if not run.is_live:
        response["HX-Trigger"] = "run-ended"
    return response


@login_required
@require_GET
def run_results(request: HttpRequest, public_id: str) -> HttpResponse:
    run = _get_run_for_user(request, public_id)
    return render(request, "evaluations/_results.html", _results(run, request))


def _control(request: HttpRequest, public_id: str, action: str) -> HttpResponse:
    run = _get_run_for_user(request, public_id)
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
    else:
        return HttpResponseBadRequest("unknown action")
    if done:
        messages.success(request, note)
    else:
        messages.warning(request, note if action == "resume" else "Nothing to do for this run.")
    return redirect("evaluations:run", run.public_id)


@login_required
@require_POST
def run_control(request: HttpRequest, public_id: str, action: str) -> HttpResponse:
    return _control(request, public_id, action)


@login_required
@require_GET
def run_download(request: HttpRequest, public_id: str) -> StreamingHttpResponse:
    """The scored CSV, streamed from the database: partial while running, complete after."""
    run = _get_run_for_user(request, public_id)
    if run.kind != Run.Kind.RUBRIC or not run.columns.get("header"):
        raise Http404("This run has no scored CSV.")
    excel = request.GET.get("excel") == "1"
    response = StreamingHttpResponse(
        export.iter_csv_bytes(run, bom=excel), content_type="text/csv; charset=utf-8"
    )
    base = slugify(run.name.rsplit(".", 1)[0]) or "candidates"
    suffix = "scored" if run.status == Run.Status.COMPLETED else "scored-partial"
    response["Content-Disposition"] = f'attachment; filename="{base}-{suffix}.csv"'
    return response


@login_required
@require_GET
def run_file(request: HttpRequest, public_id: str, file_id: str) -> FileResponse:
    """A batch's output or error file (JSONL), for its owner in the browser."""
    run = _get_run_for_user(request, public_id)
    if file_id not in (run.output_file_id, run.error_file_id):
        raise Http404("No such file for this run.")
    file = get_object_or_404(File, pk=file_id, deleted_at=None)
    return FileResponse(open(file.abspath, "rb"), as_attachment=True, filename=file.filename)


@login_required
@require_GET
def item_detail(request: HttpRequest, public_id: str, item_id: int) -> HttpResponse:
    run = _get_run_for_user(request, public_id)
    item = get_object_or_404(Item, run=run, pk=item_id)
    seen = []
    if run.kind == Run.Kind.RUBRIC and run.rubric:
        plan = services.plan_for_run(run, pack_size=1)
        seen = plan.messages([item.input])
    return render(
        request,
        "evaluations/item_detail.html",
        {
            "run": run,
            "item": item,
            "seen": seen,
            "criteria": run.rubric.criteria if run.rubric else [],
            "packed": run.pack_size > 1,
            "candidate_text": prompting.candidate_text(item.input),
        },
    )


# --- rubrics ----------------------------------------------------------------------------


def _latest_rubrics() -> list[Rubric]:
    latest: dict[str, Rubric] = {}
    for rubric in Rubric.objects.order_by("name", "-version"):
        latest.setdefault(rubric.name, rubric)
    return list(latest.values())


@login_required
@require_GET
def rubrics_list(request: HttpRequest) -> HttpResponse:
    return render(request, "evaluations/rubrics_list.html", {"rubrics": _latest_rubrics()})


@login_required
@require_GET
def rubric_detail(request: HttpRequest, pk: int) -> HttpResponse:
    rubric = get_object_or_404(Rubric, pk=pk)
    versions = Rubric.objects.filter(name=rubric.name).order_by("-version")
    return render(
        request,
        "evaluations/rubric_detail.html",
        {"rubric": rubric, "versions": versions, "next": request.GET.get("next", "")},
    )


def _criteria_from_post(request: HttpRequest) -> list[dict[str, Any]]:
    criteria = []
    index = 0
    while f"c-{index}-key" in request.POST:
        key = request.POST.get(f"c-{index}-key", "").strip()
        if key:
            criteria.append(
                {
                    "key": key,
                    "label": request.POST.get(f"c-{index}-label", ""),
                    "description": request.POST.get(f"c-{index}-description", ""),
                    "anchors": {
                        level: request.POST.get(f"c-{index}-a{level}", "")
                        for level in ("1", "4", "7", "10")
                    },
                }
            )
        index += 1
    return criteria


@login_required
def rubric_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    rubric = get_object_or_404(Rubric, pk=pk) if pk else None
    next_url = request.POST.get("next") or request.GET.get("next", "")
    criteria = rubric.criteria if rubric else []
    form = RubricForm(
        request.POST or None,
        initial={
            "name": rubric.name if rubric else "",
            "instructions": rubric.instructions if rubric else "",
            "rationale": rubric.rationale if rubric else False,
        },
    )
    error = ""
    if request.method == "POST":
        criteria = _criteria_from_post(request)
        if form.is_valid():
            try:
                saved = services.rubric_save(
                    rubric=rubric,
                    name=form.cleaned_data["name"],
                    instructions=form.cleaned_data["instructions"],
                    criteria=criteria,
                    rationale=form.cleaned_data["rationale"],
                )
            except services.InputError as exc:
                error = exc.message
            else:
                if rubric and saved.pk != rubric.pk:
                    messages.success(
                        request,
                        f"Saved as version {saved.version}: version {rubric.version} was "
                        "already used by a run, so it stays as it was.",
                    )
                else:
                    messages.success(request, "Rubric saved.")
                target = reverse("evaluations:rubric", args=[saved.pk])
                if next_url.startswith("/") and not next_url.startswith("//"):
                    target += f"?next={next_url}"
                return redirect(target)
    rows = [*criteria, {"key": "", "label": "", "description": "", "anchors": {}}]
    return render(
        request,
        "evaluations/rubric_form.html",
        {"rubric": rubric, "form": form, "criteria": rows, "error": error, "next": next_url},
        status=400 if request.method == "POST" else 200,
    )
