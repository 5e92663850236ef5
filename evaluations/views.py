"""The web app for the person scoring candidates. Views are thin: services do the work."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Exists, ExpressionWrapper, F, IntegerField, OuterRef, QuerySet, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import slugify
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

from hrbatch import http, uploads

from . import csvio, export, intake, metrics, prompting, services
from .forms import PrepareForm, RubricForm, UploadForm
from .llm import available_models, resolve_backend
from .models import File, Item, Rubric, Run
from .rubrics import rubric_diff as rubric_diff_of

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
    files = File.objects.filter(purpose=File.Purpose.CANDIDATES, deleted_at=None)
    if not request.user.is_staff:
        files = files.filter(owner=request.user)
    return get_object_or_404(files, id=file_id)


def _safe_next(request: HttpRequest) -> str:
    """The `next` page to go back to, if it is on this site; "" otherwise. Every `next`
    is read through here: a `javascript:` or `//other.site` value must never become a
    link or a redirect."""
    target = request.POST.get("next") or request.GET.get("next", "")
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if allowed else ""


# --- runs list --------------------------------------------------------------------------


@login_required
@require_GET
def runs_list(request: HttpRequest) -> HttpResponse:
    runs = _visible_runs(request).select_related("owner", "rubric", "input_file")
    page = Paginator(runs, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "evaluations/runs_list.html",
        {"page": page, "not_started": _uploads_not_started(request)},
    )


def _uploads_not_started(request: HttpRequest) -> list[File]:
    """Candidate files uploaded but never started: listed so they can be resumed or deleted."""
    files = File.objects.filter(purpose=File.Purpose.CANDIDATES, deleted_at=None).filter(
        ~Exists(Run.objects.filter(input_file=OuterRef("pk")))
    )
    if not request.user.is_staff:
        files = files.filter(owner=request.user)
    return list(files.select_related("owner").order_by("-created_at")[:50])


@login_required
@require_POST
def upload_delete(request: HttpRequest, file_id: str) -> HttpResponse:
    file = _get_file_for_user(request, file_id)
    try:
        services.upload_delete(file=file)
    except services.InputError as exc:
        messages.warning(request, exc.message)
    else:
        messages.success(request, f"{file.filename} was deleted.")
    return redirect("evaluations:runs")


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


def _layout_or_problem(file: File, encoding: str = "") -> tuple[csvio.CsvLayout | None, str]:
    try:
        return csvio.sniff(file.abspath, encoding=encoding or None), ""
    except csvio.CsvProblem as problem:
        return None, problem.message


def _chosen_encoding(request: HttpRequest) -> str:
    """The encoding a person picked on the check page; "" lets hrbatch guess."""
    value = request.POST.get("encoding") or request.GET.get("encoding") or ""
    return value if value in dict(csvio.ENCODING_CHOICES) else ""


def _encoding_context(
    file: File,
    encoding: str,
    layout: csvio.CsvLayout | None,
    problem: str = "",
    unreadable: csvio.ReadStats | None = None,
) -> dict[str, Any]:
    """The encoding box and the preview it drives (the first 20 rows as they will be read,
    and how many characters could not be read in the whole file, unless already counted)."""
    preview: list[list[str]] = []
    if layout is not None:
        try:
            if unreadable is None:
                unreadable = csvio.ReadStats()
                csvio.count_records(file.abspath, layout, stats=unreadable)
            preview = csvio.preview(file.abspath, layout, 20)
        except csvio.CsvProblem as exc:
            problem = exc.message
    return {
        "file": file,
        "layout": layout,
        "encoding": encoding,
        "encoding_choices": csvio.ENCODING_CHOICES,
        "encoding_problem": problem,
        "unreadable": unreadable or csvio.ReadStats(),
        "preview": preview,
    }


@login_required
@require_GET
def encoding_preview(request: HttpRequest, file_id: str) -> HttpResponse:
    """The check page's preview read with the chosen encoding (an htmx partial)."""
    file = _get_file_for_user(request, file_id)
    encoding = _chosen_encoding(request)
    layout, problem = _layout_or_problem(file, encoding)
    return render(
        request,
        "evaluations/_encoding_preview.html",
        _encoding_context(file, encoding, layout, problem),
    )


def _rubric_to_offer(request: HttpRequest) -> int:
    """Back from the rubric pages with ?rubric=: the version the person just looked at or
    saved (their own copy, say), if they may use it; else the shared default."""
    wanted = request.GET.get("rubric", "")
    if wanted.isdigit():
        rubric = Rubric.objects.visible_to(request.user).filter(pk=int(wanted)).first()
        if rubric is not None:
            return rubric.pk
    return services.rubric_default().pk


@login_required
def prepare(request: HttpRequest, file_id: str) -> HttpResponse:
    file = _get_file_for_user(request, file_id)
    encoding = _chosen_encoding(request)
    layout, problem = _layout_or_problem(file, encoding)
    if layout is None:
        return render(
            request, "evaluations/prepare.html", {"file": file, "problem": problem}, status=400
        )
    unreadable = csvio.ReadStats()
    try:
        rows = csvio.count_records(file.abspath, layout, stats=unreadable)
    except csvio.CsvProblem as exc:
        return render(
            request, "evaluations/prepare.html", {"file": file, "problem": exc.message}, status=400
        )
    id_guess = services.guess_id_column(path=file.abspath, layout=layout)
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
        "id_column": id_guess or services.ROW_NUMBER,
        "rubric": _rubric_to_offer(request),
        "model": default_model,
        "notify_email": request.user.email,
        "name": services.run_name_suggestion(owner=request.user, filename=file.filename),
    }
    form = PrepareForm(
        request.POST or None,
        header=layout.header,
        models=models,
        initial_roles=services.default_roles(layout.header, id_guess),
        initial=initial,
        user=request.user,
    )
    check: intake.FileCheck | None = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        id_column = form.chosen_id_column()
        # The same check as the CLI's (services): refuse Start, next to the field that
        # fixes it, rather than make a run that fails at once.
        check = services.file_check(
            input_file=file,
            id_column=id_column,
            roles=form.roles(),
            rubric=data["rubric"],
            encoding=encoding,
        )
        refusals = check.refusals(skip_invalid=data["skip_invalid"], long_rows=data["long_rows"])
        for field, message in refusals.items():
            form.add_error(None if field == "__all__" else field, message)
        if not refusals:
            try:
                run = services.run_create(
                    owner=request.user,
                    input_file=file,
                    rubric=data["rubric"],
                    model=data["model"],
                    backend=choice.name,
                    id_column=id_column,
                    roles=form.roles(),
                    notify_email=data["notify_email"],
                    skip_invalid=data["skip_invalid"],
                    name=data["name"],
                    long_rows=data["long_rows"],
                    defer=True,
                    encoding=encoding,
                )
            except services.InputError as exc:
                form.add_error(None, exc.message)
            else:
                return redirect("evaluations:run", run.public_id)
    estimate = metrics.estimate_seconds(model=form["model"].value() or default_model, count=rows)
    encoding_box = _encoding_context(file, encoding, layout, unreadable=unreadable)
    guessed = _layout_or_problem(file)[0] if encoding else layout
    encoding_box["detected_encoding_label"] = guessed.encoding_label if guessed else "none"
    preview = encoding_box["preview"]
    first = list(preview[0]) if preview else []
    examples = first + [""] * (len(layout.header) - len(first))
    return render(
        request,
        "evaluations/prepare.html",
        {
            "file": file,
            "layout": layout,
            "rows": rows,
            **encoding_box,
            "form": form,
            "role_rows": list(zip(form.role_fields(), examples, strict=False)),
            "backend": choice,
            "estimate": estimate,
            "checks": _checks_context(
                file,
                check,
                id_column=form["id_column"].value() or "",
                long_rows=form["long_rows"].value() or "",
                long_rows_errors=form.errors.get("long_rows", []),
            )
            if check
            else None,
        },
        status=400 if request.method == "POST" else 200,
    )


def _id_column_param(value: str | None) -> str | None:
    """The ID column asked for in a URL or form; None for Row number."""
    return None if not value or value == services.ROW_NUMBER else value


def _checks_context(
    file: File,
    check: intake.FileCheck,
    *,
    id_column: str,
    long_rows: str,
    long_rows_errors: list[str],
) -> dict[str, Any]:
    """What the row checks partial shows (in the page after a refused Start, or alone)."""
    return {
        "file": file,
        "problem": check.file_problem,
        "problems": check.problems,
        "total": check.problem_count,
        "id_problems": check.id_problem_count,
        "empty": check.empty_rows,
        "check": check,
        "id_column": id_column,
        "long_rows": long_rows,
        "long_rows_errors": long_rows_errors,
    }


def _row_problems(
    file: File, layout: csvio.CsvLayout, id_column: str | None
) -> Iterator[tuple[int, list[str] | None, csvio.RowProblem]]:
    for row, values, problem in csvio.read_records(file.abspath, layout, id_column=id_column):
        if problem is not None:
            yield row, values, problem


@login_required
@require_GET
def check_rows(request: HttpRequest, file_id: str) -> HttpResponse:
    """The problems a run of this file would meet with these choices (an htmx partial):
    the ID column, the columns shown to the AI and the rubric (rows too long for it)."""
    file = _get_file_for_user(request, file_id)
    encoding = _chosen_encoding(request)
    layout, problem = _layout_or_problem(file, encoding)
    if layout is None:
        return render(request, "evaluations/_row_problems.html", {"checks": {"problem": problem}})
    id_column = _id_column_param(request.GET.get("id_column"))
    defaults = services.default_roles(layout.header, id_column)
    roles = {}
    for index, column in enumerate(layout.header):
        role = request.GET.get(f"role_{index}")
        roles[column] = role if role in services.ROLES else defaults[column]
    rubric_pk = request.GET.get("rubric", "")
    rubrics = Rubric.objects.visible_to(request.user)
    rubric = rubrics.filter(pk=int(rubric_pk)).first() if rubric_pk.isdigit() else None
    check = services.file_check(
        input_file=file, id_column=id_column, roles=roles, rubric=rubric, encoding=encoding
    )
    checks = _checks_context(
        file,
        check,
        id_column=request.GET.get("id_column") or services.ROW_NUMBER,
        long_rows=request.GET.get("long_rows", ""),
        long_rows_errors=[],
    )
    return render(request, "evaluations/_row_problems.html", {"checks": checks})


@login_required
@require_GET
def rejected_rows(request: HttpRequest, file_id: str) -> StreamingHttpResponse:
    """The rows with problems, as a CSV with the row number and the problem added."""
    file = _get_file_for_user(request, file_id)
    layout, problem = _layout_or_problem(file, _chosen_encoding(request))
    if layout is None:
        raise Http404(problem)
    id_column = _id_column_param(request.GET.get("id_column"))

    def rows() -> Iterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=layout.delimiter)  # as the upload, for its Excel
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


def _score(key: str) -> Cast:
    return Cast(KT(f"result__scores__{key}"), IntegerField())


def _rank_by(
    items: QuerySet[Item], criteria: list[str], key: str, *, best_first: bool
) -> QuerySet[Item]:
    """Items ordered by one score, ties broken by the average of the other scores, then
    by row. The sum of the other scores orders exactly as their average does (every
    scored candidate has all of them) and, being an integer, compares exactly when the
    shortlist looks for ties at its cut-off."""
    others = [_score(k) for k in criteria if k != key]
    items = items.annotate(rank_score=_score(key))
    if others:
        total = others[0]
        for other in others[1:]:
            total = total + other
        items = items.annotate(rank_others=ExpressionWrapper(total, output_field=IntegerField()))
    else:
        items = items.annotate(rank_others=Value(0, output_field=IntegerField()))
    order = [
        F(name).desc(nulls_last=True) if best_first else F(name).asc(nulls_last=True)
        for name in ("rank_score", "rank_others")
    ]
    return items.order_by(*order, "line")


def _results(run: Run, request: HttpRequest) -> dict[str, Any]:
    criteria = run.rubric.criterion_keys if run.rubric else []
    labels = {c["key"]: c.get("label", c["key"]) for c in run.rubric.criteria} if run.rubric else {}
    items = Item.objects.filter(run=run).only(
        "id", "custom_id", "line", "status", "result", "error", "attempts", "extra"
    )
    status = request.GET.get("status", "")
    sort = request.GET.get("sort", "line")
    key = sort.lstrip("-")
    top = request.GET.get("top", "")
    shortlist: dict[str, Any] | None = None
    if top.isdigit() and int(top) > 0 and criteria:
        # A shortlist is the N best scored candidates: by the chosen score (best first),
        # else by overall; never the first N rows of the file.
        size = int(top)
        key = key if key in criteria else ("overall" if "overall" in criteria else criteria[-1])
        sort = f"-{key}"
        status = ""
        ranked = _rank_by(
            items.filter(status=Item.Status.DONE), criteria, key, best_first=True
        ).exclude(rank_score=None)
        chosen = list(ranked[:size])
        tied_beyond = 0
        if len(chosen) == size:
            last = (chosen[-1].rank_score, chosen[-1].rank_others)
            same = ranked.filter(rank_score=last[0], rank_others=last[1]).count()
            tied_beyond = same - sum((i.rank_score, i.rank_others) == last for i in chosen)
        shortlist = {
            "size": size,
            "label": labels.get(key, key).lower(),
            "tied_beyond": tied_beyond,
            "scored": ranked.count(),
        }
        page = Paginator(chosen, max(size, 1)).get_page(1)
    else:
        if status in Item.Status.values:
            items = items.filter(status=status)
        if key in criteria:
            items = _rank_by(items, criteria, key, best_first=sort.startswith("-"))
        elif key in SORTABLE:
            items = items.order_by(sort, "line")
        else:
            sort = "line"
            items = items.order_by("line")
        page = Paginator(items, RESULTS_PER_PAGE).get_page(request.GET.get("page"))
    roles = run.columns.get("roles") or {}
    # Who the candidate is (name, position…): the columns kept for the results only, which
    # never reach the model (they live in Item.extra, not Item.input).
    identity = [c for c in run.columns.get("header", []) if roles.get(c) == services.ROLE_AUDIT]
    return {
        "run": run,
        "criteria": criteria,
        "labels": labels,
        "identity_columns": identity,
        "column_count": 3 + len(criteria),
        "page": page,
        "sort": sort,
        "status_filter": status,
        "top": top if shortlist else "",
        "shortlist": shortlist,
    }


def _progress_context(run: Run) -> dict[str, Any]:
    context: dict[str, Any] = {"run": run, "figures": metrics.run_progress(run)}
    if run.status == Run.Status.COMPLETED and run.rubric:
        # Rows that failed for being too long can be retried on their first part.
        context["too_long_failed"] = services.run_too_long_failed(run=run)
        context["too_long_kept"] = f"{services.run_chars_limit(run=run):,}"
    return context


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
def run_results(request: HtmxHttpRequest, public_id: str) -> HttpResponse:
    run = _get_run_for_user(request, public_id)
    context = _results(run, request)
    response = render(request, "evaluations/_results.html", context)
    if request.htmx:
        # The address bar follows a filter or sort made in place, so that a reload or a
        # shared link shows the same list; the refresh at the end of a run only replaces.
        params = QueryDict(mutable=True)
        params.update({key: value for key, value in request.GET.items() if value})
        if context["shortlist"]:
            params["sort"] = context["sort"]  # the score the shortlist is ranked by
        query = params.urlencode()
        page_url = reverse("evaluations:run", args=[run.public_id]) + (f"?{query}" if query else "")
        header = "HX-Replace-Url" if request.htmx.trigger == "results" else "HX-Push-Url"
        response[header] = page_url
    return response


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
    return redirect("evaluations:run", run.public_id)


@login_required
@require_POST
def run_control(request: HttpRequest, public_id: str, action: str) -> HttpResponse:
    return _control(request, public_id, action)


@login_required
@require_POST
def run_rename(request: HttpRequest, public_id: str) -> HttpResponse:
    run = _get_run_for_user(request, public_id)
    try:
        services.run_rename(run=run, name=request.POST.get("name", ""))
    except services.InputError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Renamed to “{run.name}”.")
    return redirect("evaluations:run", run.public_id)


def _download_name(run: Run) -> str:
    """The run's name as a file name: 'March intake.csv (2)' → 'march-intake-2'."""
    return slugify(re.sub(r"\.(csv|tsv|txt)\b", "", run.name, flags=re.IGNORECASE))


@login_required
@require_GET
def run_download(request: HttpRequest, public_id: str) -> StreamingHttpResponse:
    """The scored CSV, streamed from the database: partial while running, complete after."""
    run = _get_run_for_user(request, public_id)
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
    run = _get_run_for_user(request, public_id)
    if file_id not in (run.output_file_id, run.error_file_id):
        raise Http404("No such file for this run.")
    return http.file_download(get_object_or_404(File, pk=file_id, deleted_at=None))


@login_required
@require_GET
def item_detail(request: HttpRequest, public_id: str, item_id: int) -> HttpResponse:
    run = _get_run_for_user(request, public_id)
    item = get_object_or_404(Item, run=run, pk=item_id)
    seen = []
    truncated = (item.result or {}).get("truncated") if run.kind == Run.Kind.RUBRIC else None
    if run.kind == Run.Kind.RUBRIC and run.rubric:
        plan = services.plan_for_run(run, pack_size=1)
        seen = plan.messages([item.input], limit=truncated["kept"] if truncated else None)
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
            "truncated_note": (
                f"Only the first {truncated['kept']:,} of its {truncated['chars']:,} characters "
                "were scored: the row was too long for the AI model, and whoever started the "
                "run chose to score its first part."
            )
            if truncated
            else "",
        },
    )


# --- rubrics ----------------------------------------------------------------------------


def _latest_rubrics(user: Any) -> list[Rubric]:
    """The newest version of each rubric the user sees: shared ones, then their own."""
    latest: dict[tuple[int | None, str], Rubric] = {}
    for rubric in Rubric.objects.visible_to(user).order_by("name", "-version"):
        latest.setdefault((rubric.owner_id, rubric.name), rubric)
    return sorted(latest.values(), key=lambda r: (not r.is_shared, r.name))


def _get_rubric_for_user(request: HttpRequest, pk: int, *, to_edit: bool = False) -> Rubric:
    """Shared rubrics and the user's own copies; staff may also look at (not edit) anyone's,
    which the admin's history links to. 404, not 403, so other people's rubrics do not leak."""
    rubrics = Rubric.objects.select_related("owner", "created_by")
    if to_edit or not request.user.is_staff:
        rubrics = rubrics.visible_to(request.user)
    return get_object_or_404(rubrics, pk=pk)


@login_required
@require_GET
def rubrics_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "evaluations/rubrics_list.html",
        {"rubrics": _latest_rubrics(request.user), "next": _safe_next(request)},
    )


@login_required
@require_GET
def rubric_detail(request: HttpRequest, pk: int) -> HttpResponse:
    rubric = _get_rubric_for_user(request, pk)
    versions = Rubric.objects.lineage(rubric).select_related("created_by")
    return render(
        request,
        "evaluations/rubric_detail.html",
        {
            "rubric": rubric,
            "versions": versions,
            "may_edit": rubric.may_edit(request.user),
            "previous": rubric.previous(),
            "next": _safe_next(request),
        },
    )


@login_required
@require_GET
def rubric_diff(request: HttpRequest, pk: int) -> HttpResponse:
    """What this version changed from the one before it (or the one it was copied from)."""
    rubric = _get_rubric_for_user(request, pk)
    previous = rubric.previous()
    return render(
        request,
        "evaluations/rubric_diff.html",
        {
            "rubric": rubric,
            "previous": previous,
            "diff": rubric_diff_of(previous, rubric) if previous else None,
        },
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
    rubric = _get_rubric_for_user(request, pk, to_edit=True) if pk else None
    next_url = _safe_next(request)
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
                    author=request.user,
                    name=form.cleaned_data["name"],
                    instructions=form.cleaned_data["instructions"],
                    criteria=criteria,
                    rationale=form.cleaned_data["rationale"],
                )
            except services.InputError as exc:
                error = exc.message
            else:
                messages.success(request, _saved_message(rubric, saved))
                target = reverse("evaluations:rubric", args=[saved.pk])
                if next_url:
                    target += "?" + urlencode({"next": next_url})
                return redirect(target)
    rows = [*criteria, {"key": "", "label": "", "description": "", "anchors": {}}]
    return render(
        request,
        "evaluations/rubric_form.html",
        {
            "rubric": rubric,
            "form": form,
            "criteria": rows,
            "error": error,
            "next": next_url,
            "may_edit": rubric.may_edit(request.user) if rubric else True,
        },
        status=400 if request.method == "POST" else 200,
    )


def _saved_message(edited: Rubric | None, saved: Rubric) -> str:
    if edited is None:
        return "Rubric saved." if saved.is_shared else "Rubric saved; only you see it."
    if edited.is_shared and not saved.is_shared:
        return (
            f"Saved as your own copy (version {saved.version}). Only you see it; the shared "
            f"rubric {edited} is unchanged for everyone else."
        )
    if saved.pk == edited.pk:
        return "Rubric saved."
    if saved.is_shared:
        return (
            f"Saved as version {saved.version} of the shared rubric; version "
            f"{edited.version} stays as it was and can still be chosen for a run."
        )
    return (
        f"Saved as version {saved.version}: version {edited.version} was already used "
        "by a run, so it stays as it was."
    )
