"""Saved jobs: the list, one version with its history and runs, what a version changed,
the editor, and reading a jobs file. Saved jobs are the whole team's: any signed-in person
may add a version, and every version records who wrote it."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET

from evaluations import selectors, services
from evaluations.models import Job
from hrbatch import uploads
from web.forms import JobForm, JobsFileForm
from web.views.access import get_saved_job, safe_next, visible_runs


@login_required
@require_GET
def jobs_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "web/jobs_list.html",
        {"jobs": selectors.saved_jobs_list(), "next": safe_next(request)},
    )


@login_required
@require_GET
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_saved_job(pk)
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
            "next": safe_next(request),
        },
    )


@login_required
@require_GET
def job_diff(request: HttpRequest, pk: int) -> HttpResponse:
    """What this version changed from the one it was edited from (or the one before it)."""
    job = get_saved_job(pk)
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
    job = get_saved_job(pk) if pk else None
    next_url = safe_next(request)
    form = JobForm(
        request.POST or None,
        initial={
            # A new job may start from a title, e.g. a position the file check could not match.
            "title": job.title if job else request.GET.get("title", ""),
            "description": job.description if job else "",
        },
    )
    error = ""
    if request.method == "POST" and form.is_valid():
        title = form.cleaned_data["title"]
        newest_before = selectors.saved_job_newest(title)
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
            "newest": selectors.saved_job_newest(job.title) if job else None,
            "form": form,
            "error": error,
            "next": next_url,
        },
        status=400 if request.method == "POST" else 200,
    )


def _saved_message(edited: Job | None, newest_before: Job | None, saved: Job) -> str:
    if newest_before is not None and saved.pk == newest_before.pk:
        return f"Nothing changed: version {saved.version} of “{saved.title}” stays the newest."
    if edited is not None and edited.title_key != saved.title_key:
        return (
            f"Saved as version {saved.version} of “{saved.title}”. A different title is a "
            f"different job: “{edited.title}” stays as it was."
        )
    if edited is None and saved.version > 1:
        return (
            f"A job called “{saved.title}” was already saved: saved as version "
            f"{saved.version} of it."
        )
    if edited is None:
        return f"Saved as version 1 of “{saved.title}”."
    return (
        f"Saved as version {saved.version}. Version {edited.version} stays as it was: runs "
        "that used it keep it."
    )


def _too_large_message() -> str:
    limit = settings.HRBATCH_MAX_UPLOAD_BYTES // (1024 * 1024)
    return (
        f"The largest file hrbatch accepts is {limit} MB; a jobs file holds one row per job "
        "and is far smaller. Check that you chose the jobs file, not the candidates."
    )


def jobs_upload_read(
    request: HttpRequest, uploaded: UploadedFile
) -> tuple[services.JobsImport | None, str]:
    """A jobs file sent from the jobs page or from the check page ("Read jobs file"), read
    the one same way: its jobs saved, or why not with nothing saved (over the upload size
    limit, which uploads.limit_upload set before the body was read; the disk too full; a
    problem in the file)."""
    if uploads.too_large(request):
        return None, _too_large_message()
    try:
        # The file itself is not kept: each job in it is saved as a version, with who
        # imported it, which is all a later run or a person looking back needs.
        imported = services.jobs_import_upload(
            chunks=uploaded.chunks(), author=request.user, size=uploaded.size
        )
    except services.InputError as exc:
        return None, exc.message
    return imported, ""


@login_required
@csrf_exempt  # only so that the size limit is set before the body is read (as web:upload)
def jobs_import(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and not uploads.limit_upload(request):
        return _import_page(request, error=_too_large_message(), status=413)
    return _jobs_import(request)


@csrf_protect
def _jobs_import(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _import_page(request)
    form = JobsFileForm(request.POST, request.FILES)
    if uploads.too_large(request):
        return _import_page(request, form, error=_too_large_message(), status=413)
    if not form.is_valid():
        return _import_page(request, form, status=400)
    uploaded = form.cleaned_data["file"]
    imported, error = jobs_upload_read(request, uploaded)
    if imported is None:
        return _import_page(request, form, error=error, status=400)
    outcome: dict[int, str] = {}
    for label, jobs in (
        ("New", imported.created),
        ("New version", imported.changed),
        ("Unchanged", imported.unchanged),
    ):
        outcome.update({job.pk: label for job in jobs})
    rows = [(job, outcome[job.pk]) for job in imported.jobs]
    return _import_page(
        request, filename=uploaded.name, imported=imported, rows=rows, next_url=safe_next(request)
    )


def _import_page(
    request: HttpRequest,
    form: JobsFileForm | None = None,
    *,
    error: str = "",
    status: int = 200,
    filename: str = "",
    imported: services.JobsImport | None = None,
    rows: list[tuple[Job, str]] | None = None,
    next_url: str = "",
) -> HttpResponse:
    context = {
        "form": form or JobsFileForm(),
        "error": error,
        "limit_bytes": settings.HRBATCH_MAX_UPLOAD_BYTES,
        "filename": filename,
        "imported": imported,
        "rows": rows or [],
        "next": next_url or safe_next(request),
    }
    return render(request, "web/jobs_import.html", context, status=status)
