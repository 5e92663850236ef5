"""The runs list, a run's page (progress, controls, downloads) and one candidate's page."""

from __future__ import annotations

import json
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
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from evaluations import selectors, services
from evaluations.models import Decision, File, Item, Run
from hrbatch import http
from hrbatch.accounts import not_activity
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
    context: dict[str, Any] = {"run": run, "figures": selectors.run_progress(run)}
    if run.can_retry_failed and run.is_terminal and run.rubric:
        # Once the run has finished, rows that failed for being too long can be retried
        # on their first part.
        context["too_long_failed"] = selectors.run_too_long_failed(run=run)
        context["too_long_kept"] = f"{services.run_chars_limit(run=run):,}"
    return context


@login_required
@require_GET
def run_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    run = get_run_for_user(request, public_id)
    context = {**_progress_context(run), **results_context(run, request)}
    context["agreement"] = selectors.pack_agreement(run) if run.is_terminal else None
    context["jobs_said"] = selectors.run_jobs_said(run)
    # Before and while it runs: would its context × requests in flight fit the GPU?
    context["vram_warning"] = services.run_vram_warning(run=run)
    if run.is_terminal and run.kind == Run.Kind.RUBRIC and run.done_count:
        context.update(_report_context(run, request))
    return render(request, "web/run_detail.html", context)


# The run page's "Per job" table shows this many jobs at a time (an export may have
# thousands of positions: the whole table made the page 1 MB); the report CSV has them all.
REPORT_JOBS_PER_PAGE = 50


def _report_context(run: Run, request: HttpRequest) -> dict[str, Any]:
    report = selectors.run_report_kept(run)
    size = report["run"]["shortlist_size"]
    # The jobs with figures of their own first (by name), then those with too few
    # candidates to say: with thousands of positions, most.
    jobs = sorted(report["jobs"], key=lambda job: not (job["consistency"] or job["impact"]))
    return {
        "report_jobs": Paginator(jobs, REPORT_JOBS_PER_PAGE).get_page(request.GET.get("jobs_page")),
        "report_jobs_with_figures": sum(bool(j["consistency"] or j["impact"]) for j in jobs),
        "report": report,
        "labels": {c["key"]: c.get("label") or c["key"] for c in run.rubric.criteria},
        "impact_bases": [
            ("above_median", "scoring above the median overall score (LL144's scoring rate)"),
            ("shortlist", f"in the shortlist (the best {size})"),
        ],
    }


@login_required
@require_GET
def run_report(request: HttpRequest, public_id: str) -> StreamingHttpResponse:
    """The run's report (consistency, adverse impact, distributions) as one CSV."""
    run = get_run_for_user(request, public_id)
    if run.kind != Run.Kind.RUBRIC:
        raise Http404("Only candidate runs have a report.")
    base = _download_name(run) or "candidates"
    return http.csv_download(selectors.run_report_csv(run), f"{base}-report.csv")


# Polling, not a person: it must not keep an unattended page's session alive for ever.
@not_activity
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
    return http.download_name(run.name)


@login_required
@require_GET
def run_download(request: HttpRequest, public_id: str) -> StreamingHttpResponse:
    """The scored CSV, streamed from the database: partial while running, complete after."""
    run = get_run_for_user(request, public_id)
    if run.kind != Run.Kind.RUBRIC or not run.intake.header:
        raise Http404("This run has no scored CSV.")
    excel = request.GET.get("excel") == "1"
    base = _download_name(run) or "candidates"
    suffix = "scored" if run.status == Run.Status.COMPLETED else "scored-partial"
    return http.csv_download(selectors.scored_csv(run, excel=excel), f"{base}-{suffix}.csv")


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
    item = get_object_or_404(selectors.run_items(run).select_related("job", "copy_of"), pk=item_id)
    (item,) = selectors.with_copies(run, [item])  # the rows of its copies
    seen = []
    answer_schema = ""
    truncated = (item.result or {}).get("truncated") if run.kind == Run.Kind.RUBRIC else None
    view = services.ModelView(run)  # the file's column order, whatever the database
    if run.kind == Run.Kind.RUBRIC and run.rubric:
        # The job's text closes the instructions, as in the request the engine sent.
        plan = services.plan_for_run(run, pack_size=1, job=item.job.description if item.job else "")
        shown, _ = view(item)  # identity hidden as the engine hid it
        seen = plan.messages([shown], limit=truncated["kept"] if truncated else None)
        # The shape the answer was held to (the grammar the server built from it).
        answer_schema = json.dumps(plan.schema(1))
    # Protected characteristics are for the fairness report, not for whoever decides.
    audit_only = run.intake.columns_of(services.ROLE_AUDIT_ONLY)
    # The job's columns are shown as the job, not as text kept from the AI.
    job_columns = run.intake.columns_of(services.ROLE_JOB)
    return render(
        request,
        "web/item_detail.html",
        {
            "run": run,
            "item": item,
            "seen": seen,
            "answer_schema": answer_schema,
            "criteria": run.rubric.criteria if run.rubric else [],
            "packed": run.pack_size > 1,
            "candidate_text": selectors.candidate_text(view.in_file_order(item.input)),
            "copy_rows": item.copy_rows,  # type: ignore[attr-defined]
            # "2 copies: rows 7, 19"
            "copies_said": item.copies_said.removeprefix("and "),  # type: ignore[attr-defined]
            **_neighbours(run, item),
            **_explanation_context(run, item),
            "decision_choices": [("", "No decision yet"), *Decision.choices],
            "history": list(item.decisions.select_related("by")[:50]),
            "kept_out": {
                k: v
                for k, v in view.in_file_order(item.extra or {}).items()
                if k not in audit_only and k not in job_columns
            },
            "job": item.job,
            **selectors.item_flags(item),
            "audit_only": audit_only,
            "hidden": _hidden_words((item.result or {}).get("redacted") or {}),
            "truncated_note": (
                f"Only the first {truncated['kept']:,} of its {truncated['chars']:,} characters "
                "were scored: the row was too long for the AI model, and whoever started the "
                "run chose to score its first part."
            )
            if truncated
            else "",
        },
    )


HIDDEN_WORDS = {
    "email": ("e-mail address", "e-mail addresses"),
    "phone": ("phone number", "phone numbers"),
    "url": ("link", "links"),
    "name": ("mention of their name", "mentions of their name"),
}


def _hidden_words(counts: dict[str, int]) -> str:
    """{"email": 1, "phone": 2} -> "1 e-mail address and 2 phone numbers"."""
    # In HIDDEN_WORDS' order, not the stored one (jsonb keeps keys in an order of its own).
    parts = [
        f"{n} {HIDDEN_WORDS[kind][n != 1]}" for kind in HIDDEN_WORDS if (n := counts.get(kind))
    ]
    return " and ".join([", ".join(parts[:-1]), parts[-1]] if len(parts) > 1 else parts)


def _neighbours(run: Run, item: Item) -> dict[str, int | None]:
    """The previous and next candidate in the file's order."""
    items = selectors.run_items(run)
    before = items.filter(line__lt=item.line).order_by("-line").values_list("pk", flat=True)
    after = items.filter(line__gt=item.line).order_by("line").values_list("pk", flat=True)
    return {"previous": before.first(), "next": after.first()}


def _explanation_context(run: Run, item: Item) -> dict[str, Any]:
    explanation = item.explanations.select_related("rubric").first()
    if explanation is None:
        return {"explanation": None}
    labels = {
        c["key"]: c.get("label") or c["key"] for c in (run.rubric.criteria if run.rubric else [])
    }
    disagreeing = set(explanation.disagreements)
    # In the rubric's order (PostgreSQL's jsonb keeps keys in an order of its own).
    rows = [
        {"label": label, **explanation.criteria[key]}
        for key, label in labels.items()
        if key in explanation.criteria
    ]
    return {
        "explanation": explanation,
        "explanation_rows": rows,
        # In the rubric's order too.
        "disagreement_labels": [label for key, label in labels.items() if key in disagreeing],
    }


@login_required
@require_POST
def item_decide(request: HttpRequest, public_id: str, item_id: int) -> HttpResponse:
    run = get_run_for_user(request, public_id)
    item = get_object_or_404(selectors.run_items(run), pk=item_id)
    try:
        services.item_decide(
            item=item,
            by=request.user,
            decision=request.POST.get("decision", ""),
            note=request.POST.get("note", ""),
        )
    except services.InputError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Decision saved.")
    return redirect("web:item", run.public_id, item.pk)


@login_required
@require_POST
def item_explain(request: HttpRequest, public_id: str, item_id: int) -> HttpResponse:
    """Ask the run's model to explain this candidate's stored scores (a few seconds on a
    GPU; the page waits for it)."""
    run = get_run_for_user(request, public_id)
    item = get_object_or_404(selectors.run_items(run), pk=item_id)
    try:
        services.item_explain(item=item, by=request.user)
    except services.InputError as exc:
        messages.error(request, exc.message)
    return redirect(f"{reverse('web:item', args=[run.public_id, item.pk])}#explanation")
