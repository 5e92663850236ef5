"""Saved jobs: the list, one version with its history and runs, what a version changed,
the editor, and reading a jobs file. A job's text is part of the model's instructions, so
saved jobs are governed as rubrics are: the team's jobs are changed by staff; anyone else's
edit or import is their own copy, which only they see and use (services.job_owner). Every
version records who wrote it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.uploadedfile import UploadedFile
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET

from evaluations import selectors, services
from evaluations.models import Job
from hrbatch import http, uploads
from web.forms import JobForm, JobsFileForm
from web.views.access import get_saved_job, safe_next, visible_runs


@login_required
@require_GET
def jobs_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "web/jobs_list.html",
        {"jobs": selectors.saved_jobs_list(request.user), "next": safe_next(request)},
    )


@login_required
@require_GET
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_saved_job(request, pk)
    uses = list(selectors.saved_job_uses(job, visible_runs(request)))
    seen_runs = len({use.run_id for use in uses})
    return render(
        request,
        "web/job_detail.html",
        {
            "job": job,
            "versions": selectors.saved_job_versions(job),
            "previous": job.previous(),
            "uses": uses,
            # Runs are private to their owners (staff aside): only how many others there are.
            "other_runs": selectors.saved_job_run_count(job) - seen_runs,
            "may_edit": job.may_edit(request.user),
            "next": safe_next(request),
        },
    )


@login_required
@require_GET
def job_diff(request: HttpRequest, pk: int) -> HttpResponse:
    """What this version changed from the one it was edited from (or the one before it)."""
    job = get_saved_job(request, pk)
    previous = job.previous()
    return render(
        request,
        "web/job_diff.html",
        {
            "job": job,
            "previous": previous,
            "changes": selectors.job_diff(previous, job) if previous else None,
        },
    )


@login_required
def job_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """A new job, or a new version of one: saving never changes a version in place."""
    job = get_saved_job(request, pk, to_edit=True) if pk else None
    next_url = safe_next(request)
    form = JobForm(
        request.POST or None,
        initial={
            # A new job may start from a title, e.g. a position the file check could not match.
            "title": job.title if job else request.GET.get("title", ""),
            "description": job.description if job else "",
        },
    )
    owner = services.job_owner(job=job, author=request.user)
    error = ""
    if request.method == "POST" and form.is_valid():
        title = form.cleaned_data["title"]
        newest_before = selectors.saved_job_newest(title, owner)
        try:
            saved = services.job_save(
                job=job,
                author=request.user,
                title=title,
                description=form.cleaned_data["description"],
            )
        except services.InputError as exc:
            error = exc.message
        else:
            messages.success(request, _saved_message(job, newest_before, saved))
            target = reverse("web:job", args=[saved.pk])
            if next_url:
                target += "?" + urlencode({"next": next_url})
            return redirect(target)
    return render(
        request,
        "web/job_form.html",
        {
            "job": job,
            "newest": selectors.saved_job_newest(job.title, owner) if job else None,
            # Saving makes (or adds to) the person's own copy rather than the team's job.
            "own_copy": owner is not None,
            "copy_of_team_job": job is not None and job.is_shared and owner is not None,
            "form": form,
            "error": error,
            "next": next_url,
        },
        status=400 if request.method == "POST" else 200,
    )


def _saved_message(edited: Job | None, newest_before: Job | None, saved: Job) -> str:
    yours = "" if saved.is_shared else " Only you see and use it; the team's jobs are unchanged."
    if newest_before is not None and saved.pk == newest_before.pk:
        return f"Nothing changed: version {saved.version} of “{saved.title}” stays the newest."
    if edited is not None and edited.is_shared and not saved.is_shared:
        return (
            f"Saved as your own copy of “{saved.title}” (version {saved.version}): your runs "
            f"score its candidates against it. Only you see it; the team's {edited} is "
            "unchanged for everyone else (staff change the team's jobs)."
        )
    if edited is not None and edited.title_key != saved.title_key:
        return (
            f"Saved as version {saved.version} of “{saved.title}”. A different title is a "
            f"different job: “{edited.title}” stays as it was.{yours}"
        )
    if edited is None and saved.version > 1:
        return (
            f"A job called “{saved.title}” was already saved: saved as version "
            f"{saved.version} of it.{yours}"
        )
    if edited is None:
        return f"Saved as version 1 of “{saved.title}”.{yours}"
    return (
        f"Saved as version {saved.version}. Version {edited.version} stays as it was: runs "
        f"that used it keep it.{yours}"
    )


def _too_large_message() -> str:
    return uploads.too_large_message(
        then="A jobs file holds one row per job and is far smaller. Check that you chose "
        "the jobs file, not the candidates."
    )


@login_required
@csrf_exempt  # only so that the size limit is set before the body is read (as web:upload)
def jobs_import(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and not uploads.limit_upload(request):
        return _import_page(request, error=_too_large_message(), status=413)
    return _jobs_import(request)


@dataclass
class JobsFileRead:
    """What reading a jobs file on a page did: the jobs saved, or why nothing was, and
    when its problems are many or are repeated titles, the refused file kept a while
    (`kept`, its token) for the download of every problem and for the ways out."""

    filename: str
    imported: services.JobsImport | None = None
    error: str = ""
    kept: str = ""
    problems: int = 0
    repeated: int = 0


# A refused jobs file is kept (for the ways out) only up to this size: a jobs file holds
# one row per job, and a bigger one is more likely the candidates chosen by mistake.
_KEEP_MAX_BYTES = 10 * 1024 * 1024


def read_jobs_file(
    request: HttpRequest, uploaded: UploadedFile | None, *, repeated: str = ""
) -> JobsFileRead | None:
    """Read the jobs file a page sent (the jobs page, or "Read jobs file" on the check
    page), the one same way: `uploaded`, or the one kept after a refusal (`jobs_kept`)
    read again with a way out for repeated titles (`repeated`: keep the first, or number
    them); its jobs saved, or why not with nothing saved (over the upload size limit, the
    disk too full, a problem in the file). None when there is neither."""
    if repeated not in (services.REPEATED_KEEP_FIRST, services.REPEATED_NUMBER):
        repeated = ""
    if uploaded is None:
        kept = services.jobs_file_kept(token=request.POST.get("jobs_kept", ""), owner=request.user)
        if kept is None:
            return None
        filename, data = kept
        chunks: Iterable[bytes] = [data]
        size = len(data)
    else:
        filename, chunks = uploaded.name or "jobs.csv", uploaded.chunks()
        size = uploaded.size or 0
        if uploads.too_large(request):
            # Over the upload size limit, which uploads.limit_upload set before the body
            # was read: nothing read, nothing kept.
            return JobsFileRead(filename=filename, error=_too_large_message())
    found = JobsFileRead(filename=filename)
    try:
        # The file itself is not kept: each job in it is saved as a version, with who
        # imported it, which is all a later run or a person looking back needs.
        found.imported = services.jobs_import_upload(
            chunks=chunks, author=request.user, size=size, repeated=repeated
        )
    except services.JobsFileProblems as exc:
        found.error, found.problems, found.repeated = exc.message, len(exc.problems), exc.repeated
        if uploaded is None:
            found.kept = request.POST.get("jobs_kept", "")
        elif (uploaded.size or 0) <= _KEEP_MAX_BYTES:
            uploaded.seek(0)
            found.kept = services.jobs_file_keep(
                data=uploaded.read(), filename=filename, owner=request.user
            )
    except services.InputError as exc:
        found.error = exc.message
    return found


def kept_jobs_file(request: HttpRequest, token: str) -> JobsFileRead | None:
    """A refused jobs file this person kept (JobsFileRead: its name, how many problems, how
    many repeated titles), for the ways out shown again on the next page; None if none."""
    kept = services.jobs_file_kept(token=token, owner=request.user) if token else None
    if kept is None:
        return None
    filename, data = kept
    problems, repeated = services.jobs_upload_problems(data=data)
    return JobsFileRead(filename=filename, kept=token, problems=len(problems), repeated=repeated)


@login_required
@require_GET
def jobs_file_problems(request: HttpRequest, token: str) -> StreamingHttpResponse:
    """Every problem of a refused jobs file (kept a while for its owner), as a CSV."""
    kept = services.jobs_file_kept(token=token, owner=request.user)
    if kept is None:
        raise Http404("This jobs file is no longer kept: read it again to see its problems.")
    filename, data = kept

    def rows() -> Iterator[list[Any]]:
        yield ["row", "problem"]
        for row, message in services.jobs_upload_problems(data=data)[0]:
            # Made safe to open in Excel with every other cell (selectors.excel_csv).
            yield [row or "", message]

    name = slugify(filename.rsplit(".", 1)[0]) or "jobs"
    return http.csv_download(selectors.excel_csv(rows()), f"{name}-problems.csv")


@csrf_protect
def _jobs_import(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _import_page(request)
    form = JobsFileForm(request.POST, request.FILES)
    if uploads.too_large(request):
        return _import_page(request, form, error=_too_large_message(), status=413)
    repeated = request.POST.get("repeated", "")
    valid = form.is_valid()
    read = None if valid else read_jobs_file(request, None, repeated=repeated)
    if read is None and not valid:
        return _import_page(request, form, status=400)
    read = read or read_jobs_file(request, form.cleaned_data["file"], repeated=repeated)
    assert read is not None
    if read.imported is None:
        return _import_page(request, JobsFileForm(), read=read, status=400)
    imported = read.imported
    outcome: dict[int, str] = {}
    for label, jobs in (
        ("New", imported.created),
        ("New version", imported.changed),
        ("Unchanged", imported.unchanged),
    ):
        outcome.update({job.pk: label for job in jobs})
    rows = [(job, outcome[job.pk]) for job in imported.jobs]
    return _import_page(request, read=read, rows=rows, next_url=safe_next(request))


def _import_page(
    request: HttpRequest,
    form: JobsFileForm | None = None,
    *,
    error: str = "",
    status: int = 200,
    read: JobsFileRead | None = None,
    rows: list[tuple[Job, str]] | None = None,
    next_url: str = "",
) -> HttpResponse:
    context = {
        "form": form or JobsFileForm(),
        "error": error or (read.error if read else ""),
        "limit_bytes": settings.HRBATCH_MAX_UPLOAD_BYTES,
        "filename": read.filename if read else "",
        "imported": read.imported if read else None,
        "read": read,
        "own_copies": not request.user.is_staff,
        "rows": rows or [],
        "next": next_url or safe_next(request),
    }
    return render(request, "web/jobs_import.html", context, status=status)
