"""What the signed-in person may see, and where a `next` link may lead.

Every run, file, rubric and saved job a view shows is looked up through here: a thing the person may
not see answers 404 (not 403), so that ids do not leak.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.middleware import HtmxDetails

from evaluations.models import File, Job, Rubric, Run
from hrbatch import http


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def visible_runs(request: HttpRequest) -> QuerySet[Run]:
    runs = Run.objects.all()
    return runs if request.user.is_staff else runs.filter(owner=request.user)


def visible_files(request: HttpRequest) -> QuerySet[File]:
    """Candidate files not deleted: staff see everyone's, others their own."""
    files = File.objects.filter(purpose=File.Purpose.CANDIDATES, deleted_at=None)
    return files if request.user.is_staff else files.filter(owner=request.user)


def get_run_for_user(request: HttpRequest, public_id: str) -> Run:
    """The run, if this user may see it; 404 (not 403) so ids do not leak."""
    return get_object_or_404(visible_runs(request).select_related("rubric"), public_id=public_id)


def get_file_for_user(request: HttpRequest, file_id: str) -> File:
    return get_object_or_404(visible_files(request), id=file_id)


def get_rubric_for_user(request: HttpRequest, pk: int, *, to_edit: bool = False) -> Rubric:
    """Shared rubrics and the user's own copies; staff may also look at (not edit) anyone's,
    which the admin's history links to. 404, not 403, so other people's rubrics do not leak."""
    rubrics = Rubric.objects.select_related("owner", "created_by")
    if to_edit or not request.user.is_staff:
        rubrics = rubrics.visible_to(request.user)
    return get_object_or_404(rubrics, pk=pk)


def get_saved_job(request: HttpRequest, pk: int, *, to_edit: bool = False) -> Job:
    """A saved job, any version, if this person may see it: the team's jobs and their own
    copies; staff may also look at (not edit) anyone's copy. Another person's copy, and a
    run's own copy of a job (seen on its run's pages, which check who may see the run),
    answer 404, not 403, so that they do not leak."""
    jobs = Job.objects.saved().select_related("created_by", "owner")
    if to_edit or not request.user.is_staff:
        jobs = jobs.visible_to(request.user)
    return get_object_or_404(jobs, pk=pk)


def usable_rubric(request: HttpRequest, pk: str) -> Rubric | None:
    """The rubric a run may use, named by a query parameter (a shared one or the user's own
    copy); None if there is no such rubric or the value is not a number."""
    number = http.whole_number(pk, low=1, high=http.MAX_ID)
    if number is None:
        return None
    return Rubric.objects.visible_to(request.user).filter(pk=number).first()


def safe_next(request: HttpRequest) -> str:
    """The `next` page to go back to, if it is on this site; "" otherwise. Every `next`
    is read through here: a `javascript:` or `//other.site` value must never become a
    link or a redirect."""
    target = request.POST.get("next") or request.GET.get("next", "")
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if allowed else ""
