"""A run's results table: filtered, sorted or shortlisted in place (an htmx partial), and
the same table inside the run's page."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from evaluations import selectors, services
from evaluations.models import Run
from hrbatch import http
from web.views.access import HtmxHttpRequest, get_run_for_user

RESULTS_PER_PAGE = 50


def _bound(request: HttpRequest, prefix: str) -> dict[str, int]:
    """{"overall": 7} from ?min_overall=7 with prefix "min_" (1-10; anything else is no
    filter)."""
    found = {}
    for name, value in request.GET.items():
        score = http.whole_number(value, low=1, high=10) if name.startswith(prefix) else None
        if score is not None:
            found[name.removeprefix(prefix)] = score
    return found


def _at_least(request: HttpRequest) -> dict[str, int]:
    """The lowest score kept per criterion: ?min_overall=7."""
    return _bound(request, "min_")


def _at_most(request: HttpRequest) -> dict[str, int]:
    """The highest score kept per criterion: ?max_overall=9."""
    return _bound(request, "max_")


def _job(request: HttpRequest) -> str:
    """The job chosen in the filter: ?job=<its id>, or ?job=none for the candidates
    without one (anything else is no filter)."""
    job = request.GET.get("job", "")
    if job == selectors.NO_JOB:
        return job
    pk = http.whole_number(job, low=1, high=http.MAX_ID)
    return str(pk) if pk is not None else ""


def _top(request: HttpRequest) -> int:
    """The shortlist's size (?top=N, at most TOP_MAX); 0 for none."""
    return http.whole_number(request.GET.get("top"), low=1, high=TOP_MAX, clamp=True) or 0


def _flag(request: HttpRequest) -> str:
    """The flag chosen in the filter: ?flag=instructions_in_text, ?flag=any (anything
    else is no filter)."""
    return selectors.flag_filter(request.GET.get("flag", ""))


def _job_search(request: HttpRequest) -> str:
    """The text typed in the job search (?job_q=…): with many jobs, a part of a title."""
    return request.GET.get("job_q", "").strip()


def _found(run: Run, request: HttpRequest) -> selectors.Results:
    return selectors.results(
        run,
        status=request.GET.get("status", ""),
        sort=request.GET.get("sort", "line"),
        top=_top(request),
        search=request.GET.get("q", ""),
        at_least=_at_least(request),
        at_most=_at_most(request),
        job=_job(request),
        flag=_flag(request),
        job_search=_job_search(request),
    )


# Up to this many jobs, the job filter is a list of them all; with more (an export with
# thousands of positions), a search on their titles, then a list of those that match.
JOB_LIST_MAX = 100


def _job_filter(jobs: list[selectors.JobChoice], job: str, job_search: str) -> dict[str, Any]:
    """The job filter's choices: every job, or with more than JOB_LIST_MAX, those whose
    name holds the text searched (when they are few enough to list) and the one chosen."""
    if len(jobs) <= JOB_LIST_MAX:
        return {"job_options": jobs, "many_jobs": False, "job_matches": len(jobs)}
    typed = job_search.casefold()
    matching = [c for c in jobs if typed in c.label.casefold()] if typed else []
    options = matching if len(matching) <= JOB_LIST_MAX else []
    if job and not any(c.value == job for c in options):
        options = [c for c in jobs if c.value == job] + options
    return {"job_options": options, "many_jobs": True, "job_matches": len(matching)}


# The per-job shortlist's size until someone picks another.
TOP_PER_JOB = 10
TOP_PER_JOB_MAX = 10_000
# The largest shortlist of a whole run (a larger ?top= asks for this many).
TOP_MAX = 10_000


def results_context(run: Run, request: HttpRequest) -> dict[str, Any]:
    """What the results table shows for the filter, sort and shortlist in the query."""
    criteria = run.rubric.criterion_keys if run.rubric else []
    labels = {c["key"]: c.get("label", c["key"]) for c in run.rubric.criteria} if run.rubric else {}
    found = _found(run, request)
    at_least, at_most = _at_least(request), _at_most(request)
    shortlist: dict[str, Any] | None = None
    if found.shortlist is not None:
        shortlist = {
            "size": found.shortlist.size,
            "label": labels.get(found.shortlist.key, found.shortlist.key).lower(),
            "tied_beyond": found.shortlist.tied_beyond,
            "scored": found.shortlist.scored,
        }
        page = Paginator(found.items, max(found.shortlist.size, 1)).get_page(1)
    else:
        page = Paginator(found.items, RESULTS_PER_PAGE).get_page(request.GET.get("page"))
    # Each candidate's copies are listed on its line (and a copy alone names its row).
    page.object_list = list(selectors.with_copies(run, page.object_list))
    # Who the candidate is (name, position…): the columns kept for the results only, which
    # never reach the model (they live in Item.extra, not Item.input).
    identity = run.intake.columns_of(services.ROLE_RESULTS)
    jobs = selectors.job_choices(run) if run.kind == Run.Kind.RUBRIC else []
    job = _job(request)
    return {
        "jobs": jobs,
        **_job_filter(jobs, job, _job_search(request)),
        "job_search": _job_search(request),
        "job_list_max": JOB_LIST_MAX,
        "job_filter": job,
        "flag_filter": _flag(request),
        "flag_choices": selectors.FLAG_CHOICES,
        "flag_labels": selectors.FLAG_LABELS,
        "job_names": {int(c.value): c.label for c in jobs if c.value.isdigit()},
        # The per-job shortlist's form carries the filters in effect, but not the
        # shortlist of the whole run nor the page.
        "per_job_filters": [
            (name, value)
            for name, value in request.GET.items()
            if value and name not in ("top", "page", "per_job")
        ],
        "top_per_job": TOP_PER_JOB,
        "run": run,
        "criteria": criteria,
        "labels": labels,
        "identity_columns": identity,
        "column_count": 4 + len(criteria) + (1 if jobs else 0),
        "page": page,
        "sort": found.sort,
        "status_filter": found.status,
        "top": str(found.shortlist.size) if found.shortlist else "",
        "shortlist": shortlist,
        "search": request.GET.get("q", ""),
        # Filters other than the search: an empty list then says no candidate matches.
        "filtered": bool(at_least or at_most or job or found.status),
        "at_least": at_least,
        "at_most": at_most,
        "empty_ranges": [
            labels.get(key, key) for key in criteria if at_most.get(key, 11) < at_least.get(key, 0)
        ],
        "score_choices": [str(n) for n in range(1, 11)],
    }


@login_required
@require_GET
def run_results(request: HtmxHttpRequest, public_id: str) -> HttpResponse:
    run = get_run_for_user(request, public_id)
    context = results_context(run, request)
    response = render(request, "web/_results.html", context)
    if request.htmx:
        # The address bar follows a filter or sort made in place, so that a reload or a
        # shared link shows the same list; the refresh at the end of a run only replaces.
        params = QueryDict(mutable=True)
        params.update({key: value for key, value in request.GET.items() if value})
        if context["shortlist"]:
            params["sort"] = context["sort"]  # the score the shortlist is ranked by
        query = params.urlencode()
        page_url = reverse("web:run", args=[run.public_id]) + (f"?{query}" if query else "")
        header = "HX-Replace-Url" if request.htmx.trigger == "results" else "HX-Push-Url"
        response[header] = page_url
    return response


@login_required
@require_GET
def run_shortlist_download(request: HttpRequest, public_id: str) -> StreamingHttpResponse:
    """The list on screen (a shortlist in rank order, or the filtered candidates in their
    order), with each candidate's decision and note, as a CSV for Excel."""
    run = get_run_for_user(request, public_id)
    found = _found(run, request)
    which = f"top-{found.shortlist.size}" if found.shortlist else "list"
    base = http.download_name(run.name) or "candidates"
    return http.csv_download(selectors.review_csv(run, found), f"{base}-{which}.csv")


@login_required
@require_GET
def run_shortlist_per_job_download(request: HttpRequest, public_id: str) -> StreamingHttpResponse:
    """The best N candidates of each job (?top=N) among those the filters keep, every job's
    shortlist in one CSV for Excel: the job first, then the rank within the job."""
    run = get_run_for_user(request, public_id)
    top = request.GET.get("top")
    size = http.whole_number(top, low=1, high=TOP_PER_JOB_MAX, clamp=True) or TOP_PER_JOB
    lists = selectors.shortlists_per_job(
        run,
        top=size,
        sort=request.GET.get("sort", ""),
        job=_job(request),
        search=request.GET.get("q", ""),
        at_least=_at_least(request),
        at_most=_at_most(request),
        flag=_flag(request),
        job_search=_job_search(request),
    )
    base = http.download_name(run.name) or "candidates"
    return http.csv_download(
        selectors.job_shortlists_csv(run, lists), f"{base}-top-{size}-per-job.csv"
    )


@login_required
@require_POST
def run_explain_shortlist(request: HttpRequest, public_id: str) -> HttpResponse:
    """Explain the shortlist's candidates in the background (one model call each): the
    shortlist on screen (the results' query), else the run's own (the report's)."""
    run = get_run_for_user(request, public_id)
    if run.kind != Run.Kind.RUBRIC or not run.is_terminal:
        messages.error(request, "A run's shortlist can be explained once the run has ended.")
        return redirect("web:run", run.public_id)
    # The shortlist on screen (?top=N with its sort and filters, from the results), whose
    # count its button shows; else the run's own, the report's.
    found = _found(run, request)
    item_ids = [item.pk for item in found.items] if found.shortlist else None
    count = len(item_ids) if item_ids is not None else selectors.shortlist_size(run)
    services.enqueue_on_commit(
        "evaluations.tasks.explain_shortlist",
        run.pk,
        request.user.pk,
        item_ids,
        group=run.public_id,
    )
    messages.success(
        request,
        f"Explaining the {count} shortlisted candidates; each candidate's page shows its "
        "explanation once it is ready.",
    )
    query = request.GET.urlencode()  # back to the list as it was
    return redirect(reverse("web:run", args=[run.public_id]) + (f"?{query}" if query else ""))
