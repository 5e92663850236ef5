"""Upload a candidate file, check it (encoding, columns, rubric, model, rows with problems)
and start a run; or delete an upload that was never started."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from evaluations import csvio, export, intake, metrics, selectors, services
from evaluations.llm import available_models, make_backend, resolve_backend
from evaluations.models import File
from hrbatch import http, uploads
from web.forms import (
    JOBS_FROM_COLUMNS,
    JOBS_FROM_SAVED,
    MAP_PREFIX,
    WITHOUT_JOB,
    PrepareForm,
    UploadForm,
    job_choice_from,
)
from web.views.access import HtmxHttpRequest, get_file_for_user, usable_rubric

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
    return render(request, "web/upload.html", context, status=status)


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
    target = reverse("web:prepare", args=[stored.id])
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
    file = get_file_for_user(request, file_id)
    encoding = _chosen_encoding(request)
    layout, problem = _layout_or_problem(file, encoding)
    return render(
        request,
        "web/_encoding_preview.html",
        _encoding_context(file, encoding, layout, problem),
    )


def _rubric_to_offer(request: HttpRequest) -> int:
    """Back from the rubric pages with ?rubric=: the version the person just looked at or
    saved (their own copy, say), if they may use it; else the shared default."""
    rubric = usable_rubric(request, request.GET.get("rubric", ""))
    return rubric.pk if rubric is not None else services.rubric_default().pk


@login_required
def prepare(request: HttpRequest, file_id: str) -> HttpResponse:
    file = get_file_for_user(request, file_id)
    encoding = _chosen_encoding(request)
    layout, problem = _layout_or_problem(file, encoding)
    if layout is None:
        return render(request, "web/prepare.html", {"file": file, "problem": problem}, status=400)
    unreadable = csvio.ReadStats()
    try:
        rows = csvio.count_records(file.abspath, layout, stats=unreadable)
    except csvio.CsvProblem as exc:
        return render(
            request, "web/prepare.html", {"file": file, "problem": exc.message}, status=400
        )
    id_guess = services.guess_id_column(path=file.abspath, layout=layout)
    choice = resolve_backend()
    models = available_models(choice)
    default_model = make_backend(choice.name).default_model
    if choice.name == "embedded" or not models:
        default_model = models[0] if models else default_model
        models = models or [default_model]
    if default_model not in models:
        default_model = models[0]
    # Jobs: the file's own job columns, or saved jobs matched by the column that looks
    # like the position applied for: from the start only when the file has no job columns
    # and some of its positions are saved jobs.
    default_roles = services.default_roles(layout.header, id_guess)
    # A column named like the job's whose values are contact details stays in the results.
    contacts = services.contact_job_columns(path=file.abspath, layout=layout, roles=default_roles)
    default_roles.update(dict.fromkeys(contacts, services.ROLE_RESULTS))
    saved = services.saved_jobs()
    proposed, positions = intake.propose_position_column(file.abspath, layout)
    matching = bool(positions & set(saved)) and services.ROLE_JOB not in default_roles.values()
    initial = {
        "jobs_from": JOBS_FROM_SAVED if matching else JOBS_FROM_COLUMNS,
        "position_column": proposed,
        "id_column": id_guess or services.ROW_NUMBER,
        "rubric": _rubric_to_offer(request),
        "model": default_model,
        "notify_email": request.user.email,
        "name": services.run_name_suggestion(owner=request.user, filename=file.filename),
    }
    data = request.POST or None
    importing = request.method == "POST" and "import_jobs" in request.POST
    if importing:
        data = _import_jobs(request)
    form = PrepareForm(
        data,
        header=layout.header,
        models=models,
        initial_roles=default_roles,
        initial=initial,
        user=request.user,
    )
    if importing:
        # Reading a jobs file is not a Start: the page comes back with the person's
        # choices as they were, without what Start would refuse ("Scoring did not start").
        form.errors.clear()
    check: intake.FileCheck | None = None
    jobs: services.JobsChoice | None = None
    if request.method == "POST" and not importing and form.is_valid():
        data = form.cleaned_data
        id_column = form.chosen_id_column()
        # The same check as the CLI's (services): refuse Start, next to the field that
        # fixes it, rather than make a run that fails at once.
        jobs = form.job_choice()
        check = services.file_check(
            input_file=file,
            id_column=id_column,
            roles=form.roles(),
            rubric=data["rubric"],
            encoding=encoding,
            jobs=jobs,
        )
        refusals = check.refusals(skip_invalid=data["skip_invalid"], long_rows=data["long_rows"])
        for field, message in refusals.items():
            field = {"__all__": None, "jobs": "position_column"}.get(field, field)
            form.add_error(field, message)
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
                    redact=data["redact"],
                    defer=True,
                    encoding=encoding,
                    jobs=jobs,
                )
            except services.InputError as exc:
                form.add_error(None, exc.message)
            else:
                return redirect("web:run", run.public_id)
    estimate = metrics.estimate_seconds(model=form["model"].value() or default_model, count=rows)
    chosen_model = form["model"].value() or default_model
    # Would the largest context a run may get, times the requests in flight, fit the GPU?
    vram_warning = services.vram_check(
        backend=choice.name,
        model=chosen_model,
        num_ctx=int(settings.HRBATCH["MAX_NUM_CTX"]),
        slots=selectors.concurrency_for(backend=choice.name, model=chosen_model).value,
    )
    encoding_box = _encoding_context(file, encoding, layout, unreadable=unreadable)
    guessed = _layout_or_problem(file)[0] if encoding else layout
    encoding_box["detected_encoding_label"] = guessed.encoding_label if guessed else "none"
    preview = encoding_box["preview"]
    first = list(preview[0]) if preview else []
    examples = first + [""] * (len(layout.header) - len(first))
    return render(
        request,
        "web/prepare.html",
        {
            "file": file,
            "layout": layout,
            "rows": rows,
            **encoding_box,
            "form": form,
            "role_rows": list(
                zip(
                    form.role_fields(),
                    examples,
                    [
                        contacts.get(column) or services.role_reason(column, header=layout.header)
                        for column in layout.header
                    ],
                    strict=False,
                )
            ),
            "backend": choice,
            "saved_jobs": services.saved_jobs() if importing else saved,
            "proposed_position": (proposed, len(positions)),
            "estimate": estimate,
            "vram_warning": vram_warning,
            "checks": _checks_context(
                file,
                check,
                id_column=form["id_column"].value() or "",
                long_rows=form["long_rows"].value() or "",
                long_rows_errors=form.errors.get("long_rows", []),
                jobs=services.job_summary(check=check),
                choice=jobs,
            )
            if check
            else None,
        },
        status=400 if request.method == "POST" and not importing else 200,
    )


def _import_jobs(request: HttpRequest) -> Any:
    """ "Read jobs file" on the check page: the jobs saved (or what is wrong with the file,
    nothing saved), and the page again with the person's choices as they were, now
    matching by position against the saved jobs."""
    upload = request.FILES.get("jobs_file")
    if upload is None:
        messages.error(request, "Choose a jobs file first (a CSV with title and description).")
    else:
        try:
            found = services.jobs_import_upload(chunks=upload.chunks(), author=request.user)
        except services.InputError as exc:
            messages.error(request, f"{upload.name}: {exc.message}")
        else:
            messages.success(request, f"{upload.name}: {found.summary}")
    data = request.POST.copy()
    if upload is not None:
        data["jobs_from"] = JOBS_FROM_SAVED
    return data


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
    jobs: services.JobSummary | None = None,
    choice: services.JobsChoice | None = None,
) -> dict[str, Any]:
    """What the row checks partial shows (in the page after a refused Start, or alone),
    with the jobs the job columns describe, or the positions matched to saved jobs."""
    return {
        "jobs": jobs if choice is None else None,
        "positions": _positions(file, check, choice) if choice is not None else None,
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


def _positions(file: File, check: intake.FileCheck, choice: services.JobsChoice) -> dict[str, Any]:
    """The positions in the position column, each with its candidates and the saved job
    it is scored against (a select, to map it by hand): those that match no job first."""
    saved = services.saved_jobs()
    options = [(key, f"{job.title} (v{job.version})") for key, job in saved.items()]
    options.sort(key=lambda option: option[1].casefold())
    rows = []
    for key, count in check.positions.most_common():
        if key in choice.mapping:
            chosen = choice.mapping[key] or WITHOUT_JOB
        else:
            chosen = key if key in saved else ""
        rows.append(
            {
                "name": MAP_PREFIX + key,
                "title": check.position_titles[key],
                "count": count,
                "chosen": chosen,
                "unmatched": key in check.unmatched,
                "by_title": key in saved and key not in choice.mapping,
            }
        )
    rows.sort(key=lambda row: not row["unmatched"])
    return {
        "column": choice.position_column,
        "rows": rows,
        "options": options,
        "without_job_value": WITHOUT_JOB,
        "unmatched": len(check.unmatched),
        "jobs": len(check.jobs),
        "without_job": check.without_job,
        "saved_count": len(saved),
        # "Type this job": the new job's page, its title filled in, and back here after.
        "new_job": reverse("web:job_new"),
        "back": reverse("web:prepare", args=[file.id]),
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
    file = get_file_for_user(request, file_id)
    encoding = _chosen_encoding(request)
    layout, problem = _layout_or_problem(file, encoding)
    if layout is None:
        return render(request, "web/_row_problems.html", {"checks": {"problem": problem}})
    id_column = _id_column_param(request.GET.get("id_column"))
    defaults = services.default_roles(layout.header, id_column)
    roles = {}
    for index, column in enumerate(layout.header):
        role = request.GET.get(f"role_{index}")
        roles[column] = role if role in services.ROLES else defaults[column]
    rubric = usable_rubric(request, request.GET.get("rubric", ""))
    choice = job_choice_from(request.GET)
    if choice is not None and not choice.position_column:
        choice = None  # nothing to match by yet: the form says to choose the column
    check = services.file_check(
        input_file=file,
        id_column=id_column,
        roles=roles,
        rubric=rubric,
        encoding=encoding,
        jobs=choice,
    )
    checks = _checks_context(
        file,
        check,
        id_column=request.GET.get("id_column") or services.ROW_NUMBER,
        long_rows=request.GET.get("long_rows", ""),
        long_rows_errors=[],
        jobs=services.job_summary(check=check),
        choice=choice,
    )
    # The positions' table lives in the jobs step: swapped in there, out of band.
    checks["oob"] = True
    return render(request, "web/_row_problems.html", {"checks": checks})


@login_required
@require_GET
def rejected_rows(request: HttpRequest, file_id: str) -> StreamingHttpResponse:
    """The rows with problems, as a CSV with the row number and the problem added."""
    file = get_file_for_user(request, file_id)
    layout, problem = _layout_or_problem(file, _chosen_encoding(request))
    if layout is None:
        raise Http404(problem)
    id_column = _id_column_param(request.GET.get("id_column"))

    def rows() -> Iterator[list[Any]]:
        yield ["row", "problem", *layout.header]
        for row, values, row_problem in _row_problems(file, layout, id_column):
            if row_problem.code != "empty_row":
                yield [row, row_problem.message, *(values or [])]

    # With the upload's separator and a byte-order mark, for the Excel that saved it
    # (csv_chunks then guards every cell, the header's included, against formulas).
    chunks = export.csv_chunks(rows(), delimiter=layout.delimiter, bom=True)
    name = slugify(file.filename.rsplit(".", 1)[0]) or "candidates"
    return http.csv_download(chunks, f"{name}-rows-with-problems.csv")


# --- an upload never started ----------------------------------------------------------


@login_required
@require_POST
def upload_delete(request: HttpRequest, file_id: str) -> HttpResponse:
    file = get_file_for_user(request, file_id)
    try:
        services.upload_delete(file=file)
    except services.InputError as exc:
        messages.warning(request, exc.message)
    else:
        messages.success(request, f"{file.filename} was deleted.")
    return redirect("web:runs")
