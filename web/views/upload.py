"""Upload a candidate file, check it (encoding, columns, rubric, model, rows with problems)
and start a run; or delete an upload that was never started.

The check and the start are services.intake's (the same flow as `manage.py evaluate`):
this door reads the form, shows what the service found, and says why Start is refused."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import slugify
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from evaluations import services
from evaluations.models import File, IntakeSpec, RunColumns
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
from web.views.jobs import JobsFileRead, kept_jobs_file, read_jobs_file

# --- upload -----------------------------------------------------------------------------


def _too_large_message(size: int | None = None) -> str:
    return uploads.too_large_message(
        size=size,
        then="Split the candidates into several files, or ask IT to raise HRBATCH_MAX_UPLOAD_MB.",
    )


@login_required
@csrf_exempt  # only so that the size limit can be set before the body is read; see _upload
def upload(request: HtmxHttpRequest) -> HttpResponse:
    # Refuse before reading the body when it says it is too large: nothing touches the disk.
    if request.method == "POST" and not uploads.limit_upload(request):
        length = uploads.declared_length(request)
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


def _layout_or_problem(file: File, encoding: str = "") -> tuple[Any, str]:
    """The file's layout read with `encoding` ("" guesses), or None and its problem."""
    return services.file_layout(path=file.abspath, encoding=encoding)


def _chosen_encoding(request: HttpRequest) -> str:
    """The encoding a person picked on the check page; "" lets hrbatch guess."""
    return services.valid_encoding(request.POST.get("encoding") or request.GET.get("encoding"))


# The preview's width: a row of 3,000,000 values must not make a page of 60 MB. Every
# column still has its row (and its first value) under "What the AI may see".
PREVIEW_COLUMNS = 50
PREVIEW_CHARS = 200


def _encoding_context(
    file: File, encoding: str, layout: Any, problem: str = "", unreadable: Any = None
) -> dict[str, Any]:
    """The encoding box and the preview it drives (the first 20 rows as they will be read,
    and how many characters could not be read in the whole file, unless already counted)."""
    shown = (
        services.intake_preview(
            path=file.abspath, layout=layout, chars=PREVIEW_CHARS, unreadable=unreadable
        )
        if layout is not None
        else None
    )
    preview = shown.rows if shown else []
    header = layout.header if layout is not None else []
    return {
        "first_row": preview[0] if preview else [],
        "preview_header": header[:PREVIEW_COLUMNS],
        "preview_more": max(0, len(header) - PREVIEW_COLUMNS),
        "file": file,
        "layout": layout,
        "encoding": encoding,
        "encoding_choices": services.ENCODING_CHOICES,
        "encoding_problem": (shown.problem if shown else "") or problem,
        "unreadable": shown.unreadable if shown else unreadable,
        "preview": [row[:PREVIEW_COLUMNS] for row in preview],
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
@csrf_exempt  # only so that a jobs file's size limit is set before the body is read; see _prepare
@never_cache  # Back must show the choices as they are now, not as the page was drawn
def prepare(request: HttpRequest, file_id: str) -> HttpResponse:
    # "Read jobs file" sends a file with the page's choices: the file is held to the upload
    # size limit as on the jobs page, and the choices are read whatever the file's size.
    if request.method == "POST":
        uploads.limit_upload(request, keep_fields=True)
    return _prepare(request, file_id)


@csrf_protect
def _prepare(request: HttpRequest, file_id: str) -> HttpResponse:
    file = get_file_for_user(request, file_id)
    spec = file.spec
    encoding = _chosen_encoding(request)
    if request.method == "GET" and "encoding" not in request.GET:
        encoding = services.valid_encoding(spec.encoding)  # as the person left it
    layout, problem = _layout_or_problem(file, encoding)
    if layout is None:
        return render(request, "web/prepare.html", {"file": file, "problem": problem}, status=400)
    if request.method == "POST" and "import_jobs" in request.POST:
        # "Read jobs file": the choices kept (the jobs now matched by position when it was
        # read), then the page again by GET, so that Back and Reload never send it twice.
        data, jobs_read = _import_jobs(request)
        services.file_choices_update(file=file, changes=_choices_from(data, layout.header))
        target = reverse("web:prepare", args=[file.id])
        if jobs_read is not None and jobs_read.kept:
            target += "?" + urlencode({"jobs_kept": jobs_read.kept})
        return redirect(target + "#field-jobs_file")
    try:
        # What to propose, the file read once (services.intake, as `evaluate` does).
        proposal = services.intake_propose(path=file.abspath, layout=layout, owner=request.user)
    except services.InputError as exc:
        return render(
            request, "web/prepare.html", {"file": file, "problem": exc.message}, status=400
        )
    offered = services.model_choice()
    form = _prepare_form(request, file, proposal, offered)
    checked: services.IntakeCheck | None = None
    if request.method == "POST" and form.is_valid():
        checked = _check_to_start(request, file, form, encoding)
        if not checked.refusals:
            data = form.cleaned_data
            try:
                run = services.intake_create(
                    checked=checked,
                    model=data["model"],
                    backend=offered.backend.name,
                    notify_email=data["notify_email"],
                    name=data["name"],
                    defer=True,
                )
            except services.InputError as exc:
                form.add_error(None, exc.message)
            else:
                services.file_choices_clear(file=file)  # started: nothing left to keep
                return redirect("web:run", run.public_id)
    return _prepare_page(request, file, encoding, form, proposal, offered, checked)


def _prepare_form(
    request: HttpRequest,
    file: File,
    proposal: services.IntakeProposal,
    offered: services.ModelChoice,
) -> PrepareForm:
    """The check page's form: as posted (its choices kept until Start or Delete), or with
    what hrbatch proposes, overridden by what the person chose last time (IntakeSpec).
    Jobs: the file's own job columns, or saved jobs matched by the column that looks like
    the position applied for: from the start only when the file has no job columns and
    some of its positions are saved jobs."""
    header = proposal.layout.header
    initial = {
        "jobs_from": JOBS_FROM_SAVED if proposal.matching else JOBS_FROM_COLUMNS,
        "position_column": proposal.found.position_column,
        "id_column": proposal.found.id_column or services.ROW_NUMBER,
        "rubric": _rubric_to_offer(request),
        "model": offered.default,
        "notify_email": request.user.email,
        "name": services.run_name_suggestion(owner=request.user, filename=file.filename),
    }
    roles = proposal.roles
    if request.method == "POST":
        # Kept until Start or Delete, whatever happens next (IntakeSpec).
        services.file_choices_update(file=file, changes=_choices_from(request.POST, header))
    else:
        spec = file.spec
        initial = _initial_from(spec, initial, request, header=header, models=offered.models)
        roles = {**roles, **_roles_from(spec, header)}
    return PrepareForm(
        request.POST or None,
        header=header,
        models=offered.models,
        initial_roles=roles,
        initial=initial,
        user=request.user,
    )


def _check_to_start(
    request: HttpRequest, file: File, form: PrepareForm, encoding: str
) -> services.IntakeCheck:
    """The same check as the CLI's (services.intake_check), with the form's choices: what
    refuses Start is said next to the field that fixes it, rather than a run made that
    fails at once."""
    data = form.cleaned_data
    checked = services.intake_check(
        input_file=file,
        intake=RunColumns(
            id_column=form.chosen_id_column(),
            roles=form.roles(),
            skip_invalid=data["skip_invalid"],
            long_rows=data["long_rows"],
            redact=data["redact"],
            encoding=encoding,
        ),
        jobs=form.job_choice(file.spec),
        rubric=data["rubric"],
        owner=request.user,
    )
    # What the page showed is what the run uses: the saved versions are pinned now,
    # unless one changed since the page showed them (then shown again).
    changed = _jobs_changed(request.POST, checked.resolution) if checked.resolution else ""
    if changed:
        checked.refuse("jobs", changed)
    for field, message in checked.refusals.items():
        form.add_error({"__all__": None, "jobs": "position_column"}.get(field, field), message)
    return checked


def _prepare_page(
    request: HttpRequest,
    file: File,
    encoding: str,
    form: PrepareForm,
    proposal: services.IntakeProposal,
    offered: services.ModelChoice,
    checked: services.IntakeCheck | None,
) -> HttpResponse:
    layout = proposal.layout
    chosen_model = form["model"].value() or offered.default
    estimate, vram_warning = services.intake_estimate(
        backend=offered.backend.name, model=chosen_model, rows=proposal.rows
    )
    encoding_box = _encoding_context(file, encoding, layout, unreadable=proposal.found.unreadable)
    guessed = _layout_or_problem(file)[0] if encoding else layout
    encoding_box["detected_encoding_label"] = guessed.encoding_label if guessed else "none"
    first = list(encoding_box["first_row"])
    examples = first + [""] * (len(layout.header) - len(first))
    checks = None
    if checked is not None:
        checks = _checks_context(
            request,
            file,
            checked.check,
            id_column=form["id_column"].value() or "",
            long_rows=form["long_rows"].value() or "",
            long_rows_errors=form.errors.get("long_rows", []),
            jobs=services.job_summary(check=checked.check),
            choice=checked.jobs,
            encoding=encoding,
        )
    context = {
        "file": file,
        "layout": layout,
        "rows": proposal.rows,
        **encoding_box,
        "form": form,
        "role_rows": list(zip(form.role_fields(), examples, proposal.reasons(), strict=False)),
        "backend": offered.backend,
        "saved_jobs": proposal.saved,
        "jobs_read": kept_jobs_file(request, request.GET.get("jobs_kept", "")),
        "proposed_position": (proposal.found.position_column, len(proposal.found.positions)),
        "estimate": estimate,
        "vram_warning": vram_warning,
        "checks": checks,
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "web/prepare.html", context, status=status)


def _import_jobs(request: HttpRequest) -> tuple[Any, JobsFileRead | None]:
    """ "Read jobs file" on the check page: the jobs saved (or what is wrong with the file,
    nothing saved, and the ways out: every problem as a download, and for repeated titles
    "keep the first" or "number them"), and the page again with the person's choices as
    they were, now matching by position against the saved jobs."""
    way_out = request.POST.get("import_jobs", "")
    read = read_jobs_file(request, request.FILES.get("jobs_file"), repeated=way_out)
    if read is None:
        messages.error(request, "Choose a jobs file first (a CSV with title and description).")
    elif read.imported is None:
        messages.error(request, f"{read.filename}: {read.error}")
    else:
        messages.success(request, f"{read.filename}: {read.imported.summary}")
    data = request.POST.copy()
    if read is not None and read.imported is not None:
        data["jobs_from"] = JOBS_FROM_SAVED
    return data, read


def _choices_from(data: QueryDict, header: list[str]) -> dict[str, Any]:
    """The check page's choices in a post of its form, as IntakeSpec keeps them (the
    positions mapped by hand are kept apart, by position_map)."""
    changes: dict[str, Any] = {}
    if "encoding" in data:
        changes["encoding"] = services.valid_encoding(data["encoding"])
    for name in ("id_column", "model", "name", "notify_email", "jobs_from", "position_column"):
        if name in data:
            changes[name] = data[name]
    if "long_rows" in data:
        changes["long_rows"] = data["long_rows"]
    roles = {
        column: data[f"role_{index}"]
        for index, column in enumerate(header)
        if data.get(f"role_{index}") in services.ROLES
    }
    if roles:
        changes["roles"] = roles
    if (rubric := http.whole_number(data.get("rubric"), low=1, high=http.MAX_ID)) is not None:
        changes["rubric"] = rubric
    if "id_column" in data:  # the whole form: an unticked box is not sent
        changes["skip_invalid"] = "skip_invalid" in data
        changes["redact"] = "redact" in data
    return changes


def _initial_from(
    spec: IntakeSpec,
    initial: dict[str, Any],
    request: HttpRequest,
    *,
    header: list[str],
    models: list[str],
) -> dict[str, Any]:
    """The check page's fields as the person left them (IntakeSpec), where still valid;
    a rubric just chosen on the rubric pages (?rubric=) comes first."""
    out = dict(initial)
    if spec.id_column == services.ROW_NUMBER or spec.id_column in header:
        out["id_column"] = spec.id_column
    if spec.rubric and "rubric" not in request.GET and usable_rubric(request, str(spec.rubric)):
        out["rubric"] = spec.rubric
    if spec.model in models:
        out["model"] = spec.model
    for name in ("name", "notify_email", "skip_invalid", "redact"):
        if getattr(spec, name) is not None:
            out[name] = getattr(spec, name)
    if spec.long_rows in (services.LONG_ROWS_LEAVE_OUT, services.LONG_ROWS_TRUNCATE):
        out["long_rows"] = spec.long_rows
    if spec.jobs_from in (JOBS_FROM_COLUMNS, JOBS_FROM_SAVED):
        out["jobs_from"] = spec.jobs_from
    if spec.position_column == "" or spec.position_column in header:
        out["position_column"] = spec.position_column
    return out


def _roles_from(spec: IntakeSpec, header: list[str]) -> dict[str, str]:
    return {
        column: role
        for column, role in (spec.roles or {}).items()
        if column in header and role in services.ROLES
    }


def _jobs_changed(data: QueryDict, resolution: services.JobsResolution) -> str:
    """Why Start must show the positions again ("" when the saved job versions and the
    mapping are those the page showed, carried by its form): someone saved a newer version
    of a job meanwhile, or the mapping changed in another window."""
    again = "Check the job each position is scored against below, then press Start again."
    if not data.get("jobs_digest"):
        return f"The jobs each position is scored against were not shown yet. {again}"
    shown = {
        pk
        for value in data.get("jobs_versions", "").split(",")
        if (pk := http.whole_number(value, low=1, high=http.MAX_ID)) is not None
    }
    now = {job.pk: job for job in resolution.targets.values() if job is not None}
    newer = [job for pk, job in sorted(now.items()) if pk not in shown]
    if newer:
        named = "; ".join(
            f"“{job.title}” is now {'' if job.is_shared else 'your copy, '}version "
            f"{job.version} ({job.created_by.get_username() if job.created_by else 'command line'}"
            f", {job.created_at:%d %b %H:%M})"
            for job in newer[:3]
        )
        more = f" and {len(newer) - 3} more" if len(newer) > 3 else ""
        return f"Saved jobs changed since this page was shown: {named}{more}. {again}"
    if shown != set(now) or data.get("jobs_digest") != resolution.digest:
        return (
            "The job chosen for some positions changed since this page was shown (in another "
            f"window?). {again}"
        )
    return ""


def _checks_context(
    request: HttpRequest,
    file: File,
    check: services.FileCheck,
    *,
    id_column: str,
    long_rows: str,
    long_rows_errors: list[str],
    jobs: services.JobSummary | None = None,
    choice: services.JobsChoice | None = None,
    encoding: str = "",
) -> dict[str, Any]:
    """What the row checks partial shows (in the page after a refused Start, or alone),
    with the jobs the job columns describe, or the positions matched to saved jobs."""
    return {
        "jobs": jobs if choice is None else None,
        "positions": _positions(request, file, choice, encoding=encoding)
        if choice is not None and choice.position_column
        else None,
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


# Positions in one page of the check page's table: a file may have thousands (an export's
# free-text title column), and the page stays as light with 2,322 as with 5.
POSITIONS_PAGE = 25
# Up to this many saved jobs, each row's select lists them all; with more, the closest few
# by title (and the one chosen) and "Another saved job…", which lists them all for that row.
ALL_JOBS_IN_SELECT = 60
_CLOSEST = 8
# The select's value that asks for every saved job in one row's select.
MORE_JOBS = "__more__"


def _page_number(value: str | None) -> int:
    return http.whole_number(value, low=1, high=999_999) or 1


def _positions(
    request: HttpRequest,
    file: File,
    choice: services.JobsChoice,
    *,
    encoding: str,
    query: str | None = None,
    page: int | None = None,
    expand: str = "",
) -> dict[str, Any]:
    """One page of the positions in the position column (search and paging server-side,
    those that match no job first), each with its candidates and the saved job version it
    is scored against (title, version, author, a link to read its text) in a select to map
    it by hand; and, for Start, the versions shown (jobs_versions, jobs_digest)."""
    data = request.POST if request.method == "POST" else request.GET
    query = (data.get("positions_q", "") if query is None else query).strip()[:200]
    page = _page_number(data.get("positions_page")) if page is None else page
    positions = services.file_positions(
        input_file=file, column=choice.position_column, encoding=encoding
    )
    resolution = services.jobs_resolve(
        choice=choice, owner=request.user, positions=positions.counts
    )
    saved = resolution.saved
    counts = positions.counts
    order = sorted(counts, key=lambda key: (key not in resolution.unmatched, -counts[key], key))
    if query:
        wanted = query.casefold()
        order = [
            key for key in order if wanted in key or wanted in positions.titles[key].casefold()
        ]
    pages = max(1, -(-len(order) // POSITIONS_PAGE))
    page = min(max(page, 1), pages)
    shown = order[(page - 1) * POSITIONS_PAGE : page * POSITIONS_PAGE]
    select = _JobSelect(saved, expand=expand)
    rows = [
        {
            "key": key,
            "name": MAP_PREFIX + key,
            "title": positions.titles[key],
            "count": counts[key],
            **select.row(key, choice),
            "job": resolution.targets.get(key),
            "unmatched": key in resolution.unmatched,
            "by_title": key in saved and key not in choice.mapping,
            "by_rest": key not in saved
            and key not in choice.mapping
            and key not in resolution.unmatched,
        }
        for key in shown
    ]
    unmatched_candidates = sum(counts[key] for key in resolution.unmatched)
    return {
        "column": choice.position_column,
        "count": len(counts),
        "rows": rows,
        "without_job_value": WITHOUT_JOB,
        "unmatched": len(resolution.unmatched),
        "unmatched_candidates": unmatched_candidates,
        "rest_without_job": choice.rest == "",
        "jobs": len(resolution.versions),
        "without_job": sum(counts[key] for key, job in resolution.targets.items() if job is None),
        "saved_count": len(saved),
        "query": query,
        "page": page,
        "pages": pages,
        "found": len(order),
        "first": (page - 1) * POSITIONS_PAGE + 1 if shown else 0,
        "last": (page - 1) * POSITIONS_PAGE + len(shown),
        "versions": ",".join(str(pk) for pk in resolution.versions),
        "digest": resolution.digest,
        "file": file,
        # "Type this job" and "Read": a job's pages, and back here after (the page keeps
        # every choice meanwhile: IntakeSpec).
        "new_job": reverse("web:job_new"),
        "back": reverse("web:prepare", args=[file.id]),
    }


class _JobSelect:
    """Each position's select of saved jobs: every saved job when there are few (written
    once, each row marks its own); else the closest few by title, the one chosen, and
    "Another saved job…" (every one, for the row being expanded)."""

    def __init__(self, saved: dict[str, Any], *, expand: str = ""):
        self.saved = saved
        self.expand = expand
        self.labels = {
            key: f"{job.title} ({'' if job.is_shared else 'your copy '}v{job.version})"
            for key, job in saved.items()
        }
        every = sorted(self.labels, key=lambda key: self.labels[key].casefold())
        self.all_html = str(
            format_html_join("", '<option value="{}">{}</option>', _pairs(every, self.labels))
        )
        self.few = len(saved) <= ALL_JOBS_IN_SELECT
        self.words = {key: set(_words(key)) for key in saved} if not self.few else {}

    def row(self, key: str, choice: services.JobsChoice) -> dict[str, Any]:
        """The job chosen for a position, and its select's options."""
        saved = self.saved
        if key in choice.mapping:
            chosen = choice.mapping[key] or WITHOUT_JOB
        else:
            chosen = key if key in saved else ""
        if self.few or key == self.expand:
            options = self.all_html
        else:
            # The saved jobs closest to this position by title, and the one chosen.
            mine = set(_words(key))
            closest = sorted(
                saved, key=lambda job: (-len(mine & self.words[job]), self.labels[job])
            )
            picked = [job for job in closest[:_CLOSEST] if mine & self.words[job]]
            if chosen in saved and chosen not in picked:
                picked.insert(0, chosen)
            options = str(
                format_html_join("", '<option value="{}">{}</option>', _pairs(picked, self.labels))
            ) + str(
                format_html(
                    '<option value="{}">Another saved job… ({} in all)</option>',
                    MORE_JOBS,
                    len(saved),
                )
            )
        if chosen and chosen != WITHOUT_JOB:
            value = str(format_html('<option value="{}">', chosen))
            options = options.replace(value, value[:-1] + " selected>", 1)
        return {"chosen": chosen, "options": mark_safe(options)}  # built by format_html_join


def _pairs(keys: list[str], labels: dict[str, str]) -> list[tuple[str, str]]:
    return [(key, labels[key]) for key in keys]


def _words(title_key: str) -> list[str]:
    return [word for word in re.split(r"\W+", title_key) if len(word) > 1]


@login_required
@require_GET
@never_cache
def check_rows(request: HttpRequest, file_id: str) -> HttpResponse:
    """The problems a run of this file would meet with these choices (an htmx partial):
    the ID column, the columns shown to the AI and the rubric (rows too long for it)."""
    file = get_file_for_user(request, file_id)
    encoding = _chosen_encoding(request)
    layout, problem = _layout_or_problem(file, encoding)
    if layout is None:
        return render(request, "web/_row_problems.html", {"checks": {"problem": problem}})
    id_column = services.id_column_from(request.GET.get("id_column"))
    defaults = services.default_roles(layout.header, id_column)
    roles = {}
    for index, column in enumerate(layout.header):
        role = request.GET.get(f"role_{index}")
        roles[column] = role if role in services.ROLES else defaults[column]
    rubric = usable_rubric(request, request.GET.get("rubric", ""))
    choice = job_choice_from(request.GET, file.spec)
    if choice is not None and not choice.position_column:
        choice = None  # nothing to match by yet: the form says to choose the column
    # On the page's first check the choice is not drawn yet: as the person left it.
    long_rows = request.GET.get("long_rows") or file.spec.long_rows or ""
    check = services.file_check(
        input_file=file,
        intake=RunColumns(id_column=id_column, roles=roles, encoding=encoding, long_rows=long_rows),
        rubric=rubric,
        jobs=choice,
        owner=request.user,
    )
    checks = _checks_context(
        request,
        file,
        check,
        id_column=request.GET.get("id_column") or services.ROW_NUMBER,
        long_rows=long_rows,
        long_rows_errors=[],
        jobs=services.job_summary(check=check),
        choice=choice,
        encoding=encoding,
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
    id_column = services.id_column_from(request.GET.get("id_column"))
    chunks = services.problem_rows_csv(path=file.abspath, layout=layout, id_column=id_column)
    name = slugify(file.filename.rsplit(".", 1)[0]) or "candidates"
    return http.csv_download(chunks, f"{name}-rows-with-problems.csv")


# --- the check page's choices, kept until Start or Delete --------------------------------


@login_required
@require_POST
def prepare_save(request: HttpRequest, file_id: str) -> HttpResponse:
    """Keep the check page's choices as they change (an htmx post of its form): going to
    "Type this job" and back, or reloading, finds them as they were (IntakeSpec)."""
    file = get_file_for_user(request, file_id)
    layout, _problem = _layout_or_problem(file, _chosen_encoding(request))
    header = layout.header if layout is not None else []
    services.file_choices_update(file=file, changes=_choices_from(request.POST, header))
    return HttpResponse(status=204)


def _table_choice(request: HttpRequest, file: File) -> services.JobsChoice | None:
    """The jobs choice a positions table request stands for: the position column it was
    sent with, else the one kept (IntakeSpec)."""
    data = request.POST if request.method == "POST" else request.GET
    spec = file.spec
    column = data.get("position_column", spec.position_column or "")
    return job_choice_from({"jobs_from": JOBS_FROM_SAVED, "position_column": column}, spec)


def _positions_response(request: HttpRequest, file: File, *, expand: str = "") -> HttpResponse:
    choice = _table_choice(request, file)
    encoding = _chosen_encoding(request)
    table = (
        _positions(request, file, choice, encoding=encoding, expand=expand)
        if choice is not None and choice.position_column
        else None
    )
    return render(request, "web/_job_matching.html", {"m": table})


@login_required
@require_GET
@never_cache
def positions(request: HttpRequest, file_id: str) -> HttpResponse:
    """The positions' table of the check page: one page of it, or a search (htmx)."""
    return _positions_response(request, get_file_for_user(request, file_id))


@login_required
@require_POST
def position_map(request: HttpRequest, file_id: str) -> HttpResponse:
    """Map a position by hand (`position`: its title_key; its select `map:<position>`:
    a saved job's title_key, WITHOUT_JOB, or "" to forget the mapping), or score every
    position that matches no job without one (`unmatched`: "without_job", or "choose" to
    undo): kept server-side with the file (IntakeSpec), never posted with Start. Answers
    the table again, and tells the row checks to look again."""
    file = get_file_for_user(request, file_id)
    unmatched = request.POST.get("unmatched")
    if unmatched in ("without_job", "choose"):
        services.file_choices_update(
            file=file, changes={"unmatched_without_job": unmatched == "without_job"}
        )
    else:
        position = request.POST.get("position", "")
        value = request.POST.get(MAP_PREFIX + position, "")
        if not position or len(position) > 500:
            return HttpResponse("Which position?", status=400)
        if value == MORE_JOBS:
            # Nothing chosen yet: the table again, every saved job in this row's select.
            return _positions_response(request, file, expand=position)
        if value == WITHOUT_JOB:
            target: str | None = ""
        elif not value:
            target = None  # back to its own title's job, if any
        elif value in services.saved_jobs(request.user):
            target = value
        else:
            return HttpResponse("There is no such saved job.", status=400)
        services.file_choices_update(file=file, job_map={position: target})
    response = _positions_response(request, file)
    response["HX-Trigger"] = "jobs-mapped"
    return response


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
