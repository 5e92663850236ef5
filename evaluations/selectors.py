"""Reads: what a person may see and the queries the pages, the API and the CLI share.

Services write; selectors read (HackSoft's split). Nothing here changes the database.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from collections.abc import Iterable, Iterator
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db.models import (
    Count,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    QuerySet,
    Value,
    Window,
)
from django.db.models.fields.json import KT, KeyTextTransform
from django.db.models.functions import Cast, Rank, RowNumber

from . import audit, export, flags, metrics, prompting
from .llm import ModelInfo, model_list, resolve_backend, without_server_addresses
from .models import BackendProbe, ColumnRole, Item, Job, Rubric, Run
from .openai_compat import CHAT_COMPLETIONS, METADATA_VALUE_MAX, completion_content
from .rubric_content import FieldChange, RubricDiff, rubric_diff, word_diff

# --- Rubrics ------------------------------------------------------------------------------


def latest_rubrics(user: Any) -> list[Rubric]:
    """The newest version of each rubric the user sees: shared ones first, then their own
    copies, each group by name."""
    latest: dict[tuple[int | None, str], Rubric] = {}
    for rubric in Rubric.objects.visible_to(user).order_by("name", "-version"):
        latest.setdefault((rubric.owner_id, rubric.name), rubric)
    return sorted(latest.values(), key=lambda r: (not r.is_shared, r.name))


def rubric_newest(*, name: str, owner: Any = None) -> Rubric | None:
    """The newest version of the rubric called `name` of `owner` (None: the shared one)."""
    return Rubric.objects.filter(name=name, owner=owner).order_by("-version").first()


# --- Saved jobs ---------------------------------------------------------------------------


def _runs_by_job(
    title_key: str | None = None, owner: Any = None
) -> dict[tuple[str, int | None], int]:
    """How many runs scored candidates against some version of each saved job, by (title
    key, owner id): a run copies the saved version it used into a Job of its own,
    `based_on` that version. With `title_key`, only that job of `owner` (None: the team's)."""
    copies = Job.objects.filter(run__isnull=False, based_on__run=None)
    if title_key is not None:
        copies = copies.filter(based_on__title_key=title_key, based_on__owner=owner)
    used = (
        copies.order_by()
        .values("based_on__title_key", "based_on__owner")
        .annotate(runs=Count("run", distinct=True))
    )
    return {(row["based_on__title_key"], row["based_on__owner"]): row["runs"] for row in used}


def saved_jobs_list(user: Any) -> list[Job]:
    """The newest version of each saved job `user` sees (the team's, then their own
    copies), by title, each with `run_count`: the runs that used any of its versions."""
    counts = _runs_by_job()
    jobs = list(Job.objects.visible_to(user).latest_saved().select_related("created_by", "owner"))
    jobs.sort(key=lambda job: (not job.is_shared, job.title_key))
    for job in jobs:
        job.run_count = counts.get((job.title_key, job.owner_id), 0)  # type: ignore[attr-defined]
    return jobs


def saved_job_newest(title: str, owner: Any = None) -> Job | None:
    """The newest version of the saved job with this title (spacing and case aside), of
    `owner` (None: the team's)."""
    return (
        Job.objects.saved()
        .filter(title_key=prompting.title_key(title), owner=owner)
        .order_by("-version")
        .first()
    )


def saved_job_run_count(job: Job) -> int:
    """How many runs, anyone's, used any version of this saved job."""
    return _runs_by_job(job.title_key, job.owner_id).get((job.title_key, job.owner_id), 0)


def saved_job_versions(job: Job) -> list[Job]:
    """Every version of a saved job, newest first, each with `run_count`: the runs that
    were scored against that version."""
    versions = list(Job.objects.lineage(job).select_related("created_by"))
    used = (
        Job.objects.filter(run__isnull=False, based_on__in=[v.pk for v in versions])
        .order_by()
        .values("based_on")
        .annotate(runs=Count("run", distinct=True))
    )
    counts = {row["based_on"]: row["runs"] for row in used}
    for version in versions:
        version.run_count = counts.get(version.pk, 0)  # type: ignore[attr-defined]
    return versions


def saved_job_uses(job: Job, runs: QuerySet[Run]) -> QuerySet[Job]:
    """The run copies of any version of this saved job among `runs` (the runs a person may
    see), newest run first, each with its candidate count: which runs scored whom against
    which version."""
    return (
        Job.objects.filter(run__in=runs, based_on__in=Job.objects.lineage(job))
        .select_related("run", "based_on")
        .annotate(candidates=Count("items"))
        .order_by("-run__created_at", "-run_id")
    )


def job_diff(old: Job, new: Job) -> list[FieldChange]:
    """What changed from saved job version `old` to `new`, word by word, as the rubric
    pages show it: the title and what the job asks for."""
    pairs = [
        ("Title", old.title, new.title),
        ("What the job asks for", old.description, new.description),
    ]
    return [FieldChange(label, word_diff(a, b)) for label, a, b in pairs if a != b]


# --- Runs and files ----------------------------------------------------------------------


def run_find_resumable(*, sha256: str, owner: AbstractBaseUser | None = None) -> Run | None:
    """The newest unfinished run of the same input file content (CLI `evaluate` resumes it)."""
    runs = Run.objects.filter(
        input_file__sha256=sha256,
        kind=Run.Kind.RUBRIC,
        status__in=[
            Run.Status.IN_PROGRESS,
            Run.Status.PAUSED,
            Run.Status.FINALIZING,
            Run.Status.CANCELLING,
        ],
    )
    if owner is not None:
        runs = runs.filter(owner=owner)
    return runs.order_by("-created_at").first()


def run_find_retryable(*, sha256: str, owner: AbstractBaseUser | None = None) -> Run | None:
    """The newest run of the same input file content whose failed rows can be tried again
    (finished, running or paused: the states run_retry_failed accepts)."""
    runs = Run.objects.filter(
        input_file__sha256=sha256,
        kind=Run.Kind.RUBRIC,
        status__in=Run.ALLOWED_FROM["retry_failed"],
    )
    if owner is not None:
        runs = runs.filter(owner=owner)
    return runs.order_by("-created_at").first()


def run_too_long_failed(*, run: Run) -> int:
    """How many of a run's failed rows failed for being too long for the AI model."""
    if run.kind != Run.Kind.RUBRIC or not run.failed_count:
        return 0
    return Item.objects.filter(
        run_id=run.pk, status=Item.Status.FAILED, error__contains=prompting.TOO_LONG_WORDS
    ).count()


# --- Results (the results table, shortlist, candidate page) ---------------------------------

# The columns the results table sorts by, besides the scores.
RESULT_SORTS = ("line", "custom_id", "status")
# The job filter's value for the candidates who applied for no job (?job=none).
NO_JOB = "none"
# The flag filter's value for the candidates with any flag (?flag=any).
ANY_FLAG = "any"
NO_JOB_LABEL = "No job"


def run_items(run: Run) -> QuerySet[Item]:
    """A run's candidates (one of them: `run_items(run).get(pk=…)`)."""
    return Item.objects.filter(run=run)


@dataclasses.dataclass
class Shortlist:
    """The `size` best scored candidates by the score `key`, and around the cut-off: how
    many more are tied with the last one, and how many were scored at all."""

    size: int
    key: str
    tied_beyond: int
    scored: int


@dataclasses.dataclass
class Results:
    """One view of a run's results: its rows in order (a shortlist's as a list), the sort
    and the status filter in effect, and the shortlist if one was asked for."""

    items: QuerySet[Item] | list[Item]
    sort: str
    status: str
    shortlist: Shortlist | None = None


def results(
    run: Run,
    *,
    status: str = "",
    sort: str = "line",
    top: int = 0,
    search: str = "",
    at_least: dict[str, int] | None = None,
    at_most: dict[str, int] | None = None,
    job: str = "",
    flag: str = "",
    job_search: str = "",
) -> Results:
    """A run's candidates for the results table: filtered by status, by a text found in
    the ID or the columns kept for results (`search`), by a score range per criterion
    (`at_least`, `at_most`: the lowest and the highest score kept, both included), by
    the job they applied for (`job`: a Job's id, or NO_JOB; `job_search`: a text found in
    its title) and by a flag (`flag`: one of flags.ALL, or ANY_FLAG); sorted by a column
    or a score (`-overall`: best first), or with `top`, a shortlist of the best ones among
    those filtered."""
    criteria = run.rubric.criterion_keys if run.rubric else []
    items = _filtered(
        run_items(run),
        run,
        criteria,
        search=search,
        at_least=at_least or {},
        at_most=at_most or {},
        job=job,
        flag=flag,
        job_search=job_search,
    )
    items = _distinct(run, items, search=search)
    items = items.only(
        "id",
        "custom_id",
        "line",
        "status",
        "result",
        "error",
        "attempts",
        "extra",
        "decision",
        "note",
        "job",
        "flags",
        "copy_of",
    )
    key = sort.lstrip("-")
    if top > 0 and criteria:
        # A shortlist is the N best scored candidates: by the chosen score (best first),
        # else by overall; never the first N rows of the file.
        key = _shortlist_key(sort, criteria)
        ranked = _rank_by(
            items.filter(status=Item.Status.DONE), criteria, key, best_first=True
        ).exclude(rank_score=None)
        chosen = list(ranked[:top])
        tied_beyond = 0
        if len(chosen) == top:
            last = (chosen[-1].rank_score, chosen[-1].rank_others)
            same = ranked.filter(rank_score=last[0], rank_others=last[1]).count()
            tied_beyond = same - sum((i.rank_score, i.rank_others) == last for i in chosen)
        shortlist = Shortlist(size=top, key=key, tied_beyond=tied_beyond, scored=ranked.count())
        return Results(items=chosen, sort=f"-{key}", status="", shortlist=shortlist)
    if status in Item.Status.values:
        items = items.filter(status=status)
    if key in criteria:
        items = _rank_by(items, criteria, key, best_first=sort.startswith("-"))
    elif key in RESULT_SORTS:
        items = items.order_by(sort, "line")
    else:
        sort = "line"
        items = items.order_by("line")
    return Results(items=items, sort=sort, status=status)


def _shortlist_key(sort: str, criteria: list[str]) -> str:
    """The score a shortlist ranks by: the one sorted by, else overall (else the last)."""
    key = sort.lstrip("-")
    return key if key in criteria else ("overall" if "overall" in criteria else criteria[-1])


def _distinct(run: Run, items: QuerySet[Item], *, search: str) -> QuerySet[Item]:
    """One line per distinct candidate: a copy is listed with its first row (its rows said
    there, with_copies), unless the filters leave that row out (a search for the copy's own
    ID finds the copy)."""
    if not run.opts.copy_count:
        return items
    if not search.strip():
        # A copy has its first row's text, job, status and scores: only a search (on the
        # ID and the columns kept for results) can keep one without the other.
        return items.filter(copy_of=None)
    return items.exclude(copy_of__in=items.values("pk"))


# A candidate's copies named on its line of the results, before "and N more".
COPIES_NAMED = 5


def with_copies(run: Run, items: Iterable[Item]) -> Iterator[Item]:
    """The Items, each with its copies' rows (`copy_rows`, in the file's order, and
    `copies_said`: "and 2 copies: rows 7, 19") and, for a copy listed alone, the row it
    repeats (`copy_of_line`); two queries per 2,000 Items, none in a run without copies."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, 2000)):
        rows: dict[int, list[int]] = {}
        firsts: dict[int, int] = {}
        if run.opts.copy_count:
            copies = Item.objects.filter(run_id=run.pk, copy_of__in=[i.pk for i in chunk])
            for first, line in copies.order_by("line").values_list("copy_of_id", "line"):
                rows.setdefault(first, []).append(line)
            alone = [i.copy_of_id for i in chunk if i.copy_of_id is not None]
            if alone:
                firsts = dict(Item.objects.filter(pk__in=alone).values_list("pk", "line"))
        for item in chunk:
            item.copy_rows = rows.get(item.pk, [])  # type: ignore[attr-defined]
            item.copies_said = copies_said(item.copy_rows)  # type: ignore[attr-defined]
            item.copy_of_line = firsts.get(item.copy_of_id or 0)  # type: ignore[attr-defined]
            yield item


def copies_said(rows: list[int]) -> str:
    """[7, 19] -> "and 2 copies: rows 7, 19" ("" for none)."""
    n = len(rows)
    if not n:
        return ""
    named = ", ".join(str(row) for row in rows[:COPIES_NAMED])
    more = f" and {n - COPIES_NAMED:,} more" if n > COPIES_NAMED else ""
    return f"and {n:,} {'copy' if n == 1 else 'copies'}: row{'' if n == 1 else 's'} {named}{more}"


def _filtered(
    items: QuerySet[Item],
    run: Run,
    criteria: list[str],
    *,
    search: str,
    at_least: dict[str, int],
    at_most: dict[str, int],
    job: str = "",
    flag: str = "",
    job_search: str = "",
) -> QuerySet[Item]:
    if flag == ANY_FLAG:
        items = items.exclude(flags="")
    elif flag in flags.ALL:
        # The codes are distinct words, none part of another: a substring is the flag.
        items = items.filter(flags__contains=flag)
    job_search = job_search.strip()
    if job and job_search:
        # A job chosen, then another text searched: the search wins unless that job is
        # among those it finds.
        chosen = Job.objects.filter(run_id=run.pk, pk=int(job) if job.isdigit() else None)
        job = job if chosen.filter(title__icontains=job_search).exists() else ""
    if job == NO_JOB:
        items = items.filter(job__isnull=True)
    elif job.isdigit():
        items = items.filter(job_id=int(job))
    elif job_search:
        items = items.filter(job__title__icontains=job_search)
    search = search.strip()
    if search:
        # The ID, the columns kept for the results (Item.extra) and the columns shown to
        # the AI (Item.input): a recruiter looks for a name as for a skill. Never the
        # audit-only columns, which the results never show.
        roles = run.intake.roles or {}
        stored = {ColumnRole.RESULTS: "extra", ColumnRole.MODEL: "input"}
        found = Q(custom_id__icontains=search)
        for index, column in enumerate(run.intake.header):
            if roles.get(column) in stored:
                # The column's name as a key, whatever it holds ("__", spaces, quotes).
                name = f"search_{index}"
                items = items.alias(**{name: KeyTextTransform(column, stored[roles[column]])})
                found |= Q(**{f"{name}__icontains": search})
        items = items.filter(found)
    for bound, lookup in ((at_least, "gte"), (at_most, "lte")):
        for key, value in bound.items():
            if key in criteria and value:
                name = f"score_{lookup}_{key}"
                items = items.alias(**{name: _score(key)}).filter(
                    **{f"{name}__{lookup}": int(value)}
                )
    return items


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


def run_jobs_said(run: Run) -> str:
    """The run's jobs in words, for its page ("" without jobs): how many, where they came
    from, and how many candidates were scored without one."""
    count = run.jobs.count()
    if not count:
        return ""
    chosen = run.intake.jobs or {}
    if chosen:
        source = f"saved jobs matched by “{chosen.get('position_column')}”"
    else:
        source = "from the file's job columns"
    without = Item.objects.filter(run=run, job=None).count()
    said = f"{count} job{'s' if count != 1 else ''}, {source}"
    if without:
        said += f"; {without:,} candidate{'s' if without != 1 else ''} without a job"
    return said


# --- Jobs: the filter's choices and a shortlist per job ------------------------------------


@dataclasses.dataclass(frozen=True)
class JobChoice:
    """One choice of the results' job filter: its value in the address (?job=…), its name
    and how many of the run's candidates applied for it."""

    value: str
    label: str
    count: int


def job_choices(run: Run) -> list[JobChoice]:
    """The job filter's choices: each of the run's jobs with its candidates, then "No
    job" when some candidates have none. Empty when the run has no jobs (no filter)."""
    labels = run.job_labels()
    if not labels:
        return []
    counts = dict(
        Item.objects.filter(run_id=run.pk)
        .order_by()
        .values("job_id")
        .annotate(n=Count("id"))
        .values_list("job_id", "n")
    )
    choices = [JobChoice(str(pk), label, counts.get(pk, 0)) for pk, label in labels.items()]
    if counts.get(None):
        choices.append(JobChoice(NO_JOB, NO_JOB_LABEL, counts[None]))
    return choices


@dataclasses.dataclass
class JobShortlist:
    """One job's shortlist: the job's name ("" for the candidates without a job), the
    filter value that picks its candidates, its candidates' ids in rank order, how many
    more of them have the same scores as its last one, and how many of the job's
    candidates were scored (and kept by the filters)."""

    label: str
    value: str
    pks: list[int]
    tied_beyond: int
    scored: int


def shortlists_per_job(
    run: Run,
    *,
    top: int,
    sort: str = "",
    job: str = "",
    search: str = "",
    at_least: dict[str, int] | None = None,
    at_most: dict[str, int] | None = None,
    flag: str = "",
    job_search: str = "",
) -> list[JobShortlist]:
    """The `top` best candidates of each job among those filtered (50 positions, 50
    shortlists), each ranked, cut and its ties counted exactly as results(top=…) does
    for the whole run; jobs in the order of their names, the candidates without a job
    last as one more group. With `job`, that job's only.

    One query whatever the number of jobs: the database ranks each job's candidates
    (window functions partitioned by job) and returns the first `top` of each with what
    the cut needs. A query per job took 30 s at 2,322 jobs."""
    criteria = run.rubric.criterion_keys if run.rubric else []
    groups = [(pk, str(pk), label) for pk, label in run.job_labels().items()]
    if Item.objects.filter(run_id=run.pk, job__isnull=True).exists():
        groups.append((None, NO_JOB, ""))
    if job:
        groups = [group for group in groups if group[1] == job]
    if not criteria or not groups:
        return []
    items = _filtered(
        run_items(run),
        run,
        criteria,
        search=search,
        at_least=at_least or {},
        at_most=at_most or {},
        job=job,
        flag=flag,
        job_search=job_search,
    )
    key = _shortlist_key(sort, criteria)
    ranked = _rank_by(
        _distinct(run, items, search=search).filter(status=Item.Status.DONE),
        criteria,
        key,
        best_first=True,
    ).exclude(rank_score=None)
    per_job = [F("job_id")]
    scores = [F("rank_score").desc(), F("rank_others").desc()]
    rows = (
        ranked.order_by()
        .annotate(
            # Its place in the job, ties broken by row as the results page does.
            position=Window(RowNumber(), partition_by=per_job, order_by=[*scores, "line"]),
            # The place of the first of the job's candidates with the same scores.
            tie_start=Window(Rank(), partition_by=per_job, order_by=scores),
            scored=Window(Count("id"), partition_by=per_job),
            same=Window(Count("id"), partition_by=[*per_job, "rank_score", "rank_others"]),
        )
        .filter(position__lte=top)
        .values_list("job_id", "position", "pk", "tie_start", "scored", "same")
    )
    found: dict[int | None, list[tuple[int, int, int, int, int]]] = {}
    for job_id, *row in rows:
        found.setdefault(job_id, []).append(tuple(row))  # type: ignore[arg-type]
    shortlists = []
    for pk, value, label in groups:
        chosen = sorted(found.get(pk, []))
        tied_beyond = 0
        if len(chosen) == top:
            # The job's candidates with the last one's scores, less those in the list.
            _, _, tie_start, _, same = chosen[-1]
            tied_beyond = same - (top - tie_start + 1)
        scored = chosen[0][3] if chosen else 0
        shortlists.append(JobShortlist(label, value, [c[1] for c in chosen], tied_beyond, scored))
    return shortlists


def job_shortlist_items(
    run: Run, shortlists: Iterable[JobShortlist]
) -> Iterator[tuple[JobShortlist, list[Item]]]:
    """Each job's shortlist with its candidates, whole (for a download, with their copies'
    rows), read a few thousand at a time whatever the number of jobs."""
    batch: list[JobShortlist] = []
    size = 0
    for one in [*shortlists, None]:
        if one is not None:
            batch.append(one)
            size += len(one.pks)
            if size < REVIEW_BATCH:
                continue
        pks = [pk for shortlist in batch for pk in shortlist.pks]
        whole = (
            Item.objects.select_related("decided_by").prefetch_related("explanations").in_bulk(pks)
        )
        items = {item.pk: item for item in with_copies(run, [whole[pk] for pk in pks])}
        for shortlist in batch:
            yield shortlist, [items[pk] for pk in shortlist.pks]
        batch, size = [], 0


# Candidates read at once for a download.
REVIEW_BATCH = 2000


# --- The run's report: distributions, shortlist, consistency, adverse impact ------------------

# The shortlist the adverse-impact report counts as "selected" when a run has none set:
# the best 10% of the scored candidates, at least 1 and at most 100.
SHORTLIST_SHARE = 0.10
SHORTLIST_MAX = 100


def shortlist_size(run: Run, scored: int | None = None) -> int:
    """The run's shortlist size (with `scored`: the size of a shortlist among that many
    scored candidates, a job's): the size set on the run, else the best 10%."""
    if run.opts.shortlist_size:
        return int(run.opts.shortlist_size)
    scored = distinct_done(run) if scored is None else scored
    return max(1, min(SHORTLIST_MAX, math.ceil(scored * SHORTLIST_SHARE)))


def distinct_done(run: Run) -> int:
    """The run's scored candidates, each counted once: its copies (Item.copy_of) aside."""
    if not run.opts.copy_count:
        return run.done_count
    return Item.objects.filter(run_id=run.pk, status=Item.Status.DONE, copy_of=None).count()


def shortlist(run: Run, size: int | None = None) -> list[Item]:
    """The shortlist in rank order (the same ranking as the results page's)."""
    return list(results(run, top=size or shortlist_size(run)).items)


def score_distributions(run: Run) -> dict[str, dict[int, int]]:
    """How many scored candidates got each score 1-10, per criterion (counted in the
    database: one grouped query per criterion)."""
    criteria = run.rubric.criterion_keys if run.rubric else []
    # Each candidate once: a copy has its first row's scores.
    done = Item.objects.filter(run_id=run.pk, status=Item.Status.DONE, copy_of=None)
    out: dict[str, dict[int, int]] = {}
    for key in criteria:
        rows = done.annotate(score=_score(key)).values("score").annotate(n=Count("id"))
        out[key] = audit.distribution(
            score for row in rows if row["score"] is not None for score in [row["score"]] * row["n"]
        )
    return out


def audit_columns(run: Run) -> list[str]:
    """The run's audit-only columns, in the file's order."""
    return run.intake.columns_of(ColumnRole.AUDIT_ONLY)


def impact_report(run: Run, *, size: int | None = None) -> list[dict[str, Any]]:
    """Selection rates and impact ratios per audit-only column (and the first two
    crossed), on both bases: above the median overall, and in the shortlist."""
    columns = audit_columns(run)
    criteria = run.rubric.criterion_keys if run.rubric else []
    if not columns or not criteria:
        return []
    chosen = {item.pk for item in shortlist(run, size)}
    overall = "overall" if "overall" in criteria else criteria[-1]
    people = (
        audit.Scored(groups=groups, scores=scores, shortlisted=pk in chosen)
        for _, pk, groups, scores in _audit_rows(run, columns, criteria)
    )
    return audit.impact(people, columns=columns, criteria=criteria, overall=overall)


def _audit_rows(
    run: Run, columns: list[str], criteria: list[str], which: Q | None = None
) -> Iterable[tuple[int | None, int, dict[str, str], dict[str, int]]]:
    """The scored candidates (`which` of them) as the adverse-impact report reads them:
    (job id, Item id, audit-only values, scores). The database picks the values out of
    the JSON: at 170,000 candidates, decoding every row's columns and result in Python
    took longer than the report itself."""
    picked = {f"audit_{i}": KT(f"extra__{c}") for i, c in enumerate(columns)}
    picked |= {f"score_{i}": _score(k) for i, k in enumerate(criteria)}
    rows = (
        # Each candidate once (a copy is not another person), as in the shortlist.
        Item.objects.filter(which or Q(), run_id=run.pk, status=Item.Status.DONE, copy_of=None)
        .annotate(**picked)
        .values_list("job_id", "pk", *picked)
        .iterator(chunk_size=2000)
    )
    for job_id, pk, *values in rows:
        groups = {c: "" if v is None else str(v) for c, v in zip(columns, values, strict=False)}
        found = values[len(columns) :]
        scores = {k: v for k, v in zip(criteria, found, strict=True) if v is not None}
        yield job_id, pk, groups, scores


def consistency_report(run: Run) -> dict[str, Any]:
    """How far the re-scored sample moved (audit.consistency), with how many of it would
    cross the shortlist's cut-off, and the reading in plain words."""
    criteria = run.rubric.criterion_keys if run.rubric else []
    stride = int(run.opts.consistency_stride or 0)
    empty = {"sample": 0, "criteria": {}, "crossing_cutoff": None}
    if not criteria or not stride:
        return {**empty, "reading": audit.consistency_reading(empty)}
    overall = "overall" if "overall" in criteria else criteria[-1]
    pairs = []
    for result in Item.objects.filter(
        run_id=run.pk, status=Item.Status.DONE, result__has_key=Item.RECHECK_SCORES
    ).values_list("result", flat=True):
        pairs.append((result["scores"], result[Item.RECHECK_SCORES]))
    ranked = shortlist(run)
    cutoff = (ranked[-1].result or {}).get("scores", {}).get(overall) if ranked else None
    figures = audit.consistency(pairs, criteria=criteria, cutoff=cutoff, overall=overall)
    figures["cutoff"] = cutoff
    labels = {c["key"]: (c.get("label") or c["key"]).lower() for c in run.rubric.criteria}
    figures["reading"] = audit.consistency_reading(figures, labels)
    least = job_consistency_min()
    if figures["criteria"] and figures["sample"] < least:
        # No verdict on fewer than HRBATCH_CONSISTENCY_MIN (a run cut short, a small one):
        # the figures are shown, the words "stable" or "unstable" are not earned.
        figures["reading"] = (
            f"Too few candidates were re-scored to say whether the scores are stable: "
            f"{figures['sample']} re-scored, at least {least} needed (HRBATCH_CONSISTENCY_MIN)."
        )
    return figures


# --- The same figures per job -------------------------------------------------------------

# A job's own figures rest on that job's candidates only, and say so when they are too few.
# Adverse impact: at least 1 / audit.SMALL_GROUP_SHARE (50) scored candidates; with fewer,
# a single person is more than 2% of the job, so the rule that keeps the run's ratios off
# tiny groups could never apply and every ratio would rest on a handful of people.
# Consistency: at least HRBATCH_CONSISTENCY_MIN re-scored candidates, the fewest a run's
# own sample holds.
JOB_IMPACT_MIN = math.ceil(1 / audit.SMALL_GROUP_SHARE)
TOO_FEW = "too few candidates to say"


def job_consistency_min() -> int:
    return max(1, int(settings.HRBATCH["CONSISTENCY_MIN"]))


def jobs_report(run: Run) -> list[dict[str, Any]]:
    """Consistency and adverse impact per job, as consistency_report and impact_report give
    them for the run, where the job has enough candidates (JOB_IMPACT_MIN scored,
    job_consistency_min() re-scored), else None and a note in plain words. Each job's
    shortlist (the impact's "shortlist" basis, the consistency's cut-off) is its own best
    10% (shortlist_size). Jobs in the order of their names, then the candidates without a
    job. Empty for a run without jobs."""
    labels = run.job_labels()
    if not labels or not run.rubric:
        return []
    counts = {
        row["job_id"]: row
        for row in Item.objects.filter(run_id=run.pk)
        .order_by()
        .values("job_id")
        .annotate(
            n=Count("id"),
            # Each candidate once, as in the job's shortlist.
            scored=Count("id", filter=Q(status=Item.Status.DONE, copy_of=None)),
        )
    }
    pairs: dict[int | None, list[tuple[dict[str, int], dict[str, int]]]] = {}
    for job_id, result in Item.objects.filter(
        run_id=run.pk, status=Item.Status.DONE, result__has_key=Item.RECHECK_SCORES
    ).values_list("job_id", "result"):
        pairs.setdefault(job_id, []).append((result["scores"], result[Item.RECHECK_SCORES]))
    groups: list[tuple[int | None, str, str]] = [
        (pk, str(pk), label) for pk, label in labels.items()
    ]
    if None in counts:
        groups.append((None, NO_JOB, NO_JOB_LABEL))
    audit_of = _JobAudit(run)
    large = [pk for pk, _, _ in groups if counts.get(pk, {}).get("scored", 0) >= JOB_IMPACT_MIN]
    if audit_of.columns and large:
        audit_of.people = _scored_people_by_job(run, large, audit_of.columns, audit_of.criteria)
    return [
        audit_of.entry(pk, value, label, counts.get(pk, {}), pairs.get(pk, []))
        for pk, value, label in groups
    ]


class _JobAudit:
    """jobs_report's figures for one job at a time, from what the run holds for all."""

    def __init__(self, run: Run):
        assert run.rubric is not None
        self.run = run
        self.criteria = run.rubric.criterion_keys
        self.overall = "overall" if "overall" in self.criteria else self.criteria[-1]
        self.names = {c["key"]: (c.get("label") or c["key"]).lower() for c in run.rubric.criteria}
        self.columns = audit_columns(run)
        self.sampled = bool(run.opts.consistency_stride)
        self.least = job_consistency_min()
        # Per job, the scored candidates as the audit reads them (_scored_people_by_job).
        self.people: dict[int | None, list[tuple[int, dict[str, str], dict[str, int]]]] = {}

    def entry(
        self,
        pk: int | None,
        value: str,
        label: str,
        counts: dict[str, int],
        rescored: list[tuple[dict[str, int], dict[str, int]]],
    ) -> dict[str, Any]:
        scored = counts.get("scored", 0)
        size = shortlist_size(self.run, scored)
        entry: dict[str, Any] = {
            "job": label,
            "job_id": pk,
            "candidates": counts.get("n", 0),
            "scored": scored,
            "shortlist_size": size,
            "rescored": len(rescored),
            "consistency": None,
            "consistency_lowest": None,
            "impact": None,
            "impact_lowest": None,
            # Whether the job has too few candidates for the figure (the notes say so).
            "consistency_too_few": self.sampled and len(rescored) < self.least,
            "impact_too_few": bool(self.columns) and scored < JOB_IMPACT_MIN,
        }
        chosen = self._consistency(entry, rescored, size, value)
        self._impact(entry, pk, scored, size, value, chosen)
        return entry

    def _consistency(
        self,
        entry: dict[str, Any],
        rescored: list[tuple[dict[str, int], dict[str, int]]],
        size: int,
        value: str,
    ) -> list[Item] | None:
        """The job's consistency, or the note that says why there is none; the job's
        shortlist when it was read for the cut-off."""
        if not self.sampled:
            entry["consistency_note"] = "not measured (no re-scored sample in this run)"
            return None
        if len(rescored) < self.least:
            entry["consistency_note"] = (
                f"{TOO_FEW} ({len(rescored)} re-scored; {self.least} needed)"
            )
            return None
        chosen = list(results(self.run, top=size, job=value).items)
        cutoff = chosen[-1].scores.get(self.overall) if chosen else None
        figures = audit.consistency(
            rescored, criteria=self.criteria, cutoff=cutoff, overall=self.overall
        )
        figures["cutoff"] = cutoff
        figures["reading"] = audit.consistency_reading(figures, self.names)
        entry["consistency"] = figures
        entry["consistency_lowest"] = _consistency_lowest(figures, self.names)
        entry["consistency_note"] = ""
        return chosen

    def _impact(
        self,
        entry: dict[str, Any],
        pk: int | None,
        scored: int,
        size: int,
        value: str,
        chosen: list[Item] | None,
    ) -> None:
        """The job's adverse impact, or the note that says why there is none."""
        if not self.columns:
            entry["impact_note"] = "no audit-only columns in this run"
            return
        if scored < JOB_IMPACT_MIN:
            entry["impact_note"] = f"{TOO_FEW} ({scored} scored; {JOB_IMPACT_MIN} needed)"
            return
        if chosen is None:
            chosen = list(results(self.run, top=size, job=value).items)
        picked = {item.pk for item in chosen}
        rows = audit.impact(
            (
                audit.Scored(groups=groups_of, scores=scores, shortlisted=item_pk in picked)
                for item_pk, groups_of, scores in self.people.get(pk, [])
            ),
            columns=self.columns,
            criteria=self.criteria,
            overall=self.overall,
        )
        entry["impact"] = rows
        entry["impact_lowest"] = _impact_lowest(rows)
        entry["impact_note"] = ""


def _scored_people_by_job(
    run: Run, jobs: list[int | None], columns: list[str], criteria: list[str]
) -> dict[int | None, list[tuple[int, dict[str, str], dict[str, int]]]]:
    """The scored candidates of `jobs` (None: those without a job) as the audit reads them:
    (Item id, audit-only values, scores), per job, in one pass."""
    which = Q(job_id__in=[pk for pk in jobs if pk is not None])
    if None in jobs:
        which |= Q(job__isnull=True)
    found: dict[int | None, list[tuple[int, dict[str, str], dict[str, int]]]] = {}
    for job_id, pk, groups, scores in _audit_rows(run, columns, criteria, which):
        found.setdefault(job_id, []).append((pk, groups, scores))
    return found


def _consistency_lowest(figures: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """The criterion re-scored the same least often, and whether every criterion reads as
    stable (audit.consistency_reading's rule): one line of a compact table."""
    criteria = figures["criteria"]
    key, worst = min(criteria.items(), key=lambda kv: kv[1]["exact_agreement"])
    stable = all(
        f["exact_agreement"] >= audit.STABLE_EXACT and f["mean_abs_diff"] <= audit.STABLE_MAD
        for f in criteria.values()
    )
    return {"criterion": key, "label": names.get(key, key), **worst, "stable": stable}


def _impact_lowest(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any] | None]:
    """Per basis, the group with the lowest impact ratio (those left out of the ratios
    aside) and how many groups are below four-fifths: one line of a compact table."""
    lowest: dict[str, dict[str, Any] | None] = {}
    for basis in (audit.ABOVE_MEDIAN, audit.SHORTLIST):
        rated = [r for r in rows if r["basis"] == basis and r["impact_ratio"] is not None]
        worst = min(rated, key=lambda r: r["impact_ratio"], default=None)
        lowest[basis] = (
            None
            if worst is None
            else {
                "column": worst["column"],
                "group": worst["group"],
                "impact_ratio": worst["impact_ratio"],
                "flagged": sum(r["flag"] for r in rated),
            }
        )
    return lowest


# Up to this many sampled lines are looked up by line number (one IN list), more by a scan.
SAMPLED_LINES_LOOKUP = 1000


def batch_consistency(run: Run) -> dict[str, Any] | None:
    """An API batch's consistency sample: how many of its lines were sent again with
    another seed, and the share whose answer came back word for word the same; where
    answers are JSON objects with whole-number values, per key too (exact agreement and
    mean absolute difference, over the lines whose two answers both have it). None until
    a line has been sent again."""
    stride = int(run.opts.consistency_stride or 0)
    if run.kind != Run.Kind.BATCH or not stride:
        return None
    sampled = Item.objects.filter(run_id=run.pk, status=Item.Status.DONE)
    lines = range(stride, run.total_count + 1, stride)
    if len(lines) <= SAMPLED_LINES_LOOKUP:
        # The sampled lines only (the unique index on run and line finds them): the
        # batch object is read at every poll.
        sampled = sampled.filter(line__in=lines)
    else:
        sampled = sampled.filter(result__has_key=Item.RECHECK_SCORES)
    pairs = [
        (completion_content(result), result[Item.RECHECK_SCORES])
        for result in sampled.values_list("result", flat=True)
        if Item.RECHECK_SCORES in (result or {})
    ]
    if not pairs:
        return None
    figures: dict[str, Any] = {
        "sample": len(pairs),
        "exact_agreement": round(sum(a == b for a, b in pairs) / len(pairs), 4),
    }
    diffs: dict[str, list[int]] = {}
    for first, again in pairs:
        one, two = _json_object(first), _json_object(again)
        for key, value in one.items():
            other = two.get(key)
            if _whole(value) and _whole(other):
                diffs.setdefault(key, []).append(abs(value - other))
    if diffs:
        figures["keys"] = {
            key: {
                "exact_agreement": round(sum(d == 0 for d in found) / len(found), 4),
                "mean_abs_diff": round(sum(found) / len(found), 3),
            }
            for key, found in diffs.items()
        }
    return figures


def batch_consistency_metadata(figures: dict[str, Any]) -> str:
    """The figures as one metadata value: compact JSON of at most METADATA_VALUE_MAX (512)
    characters, OpenAI's limit (the per-key figures are left out when they would not fit)."""
    text = json.dumps(figures, separators=(",", ":"))
    if len(text) > METADATA_VALUE_MAX:
        text = json.dumps({k: v for k, v in figures.items() if k != "keys"}, separators=(",", ":"))
    return text


def _json_object(content: Any) -> dict[str, Any]:
    if not isinstance(content, str):
        return {}
    try:
        found = json.loads(content)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# A finished run's report is worked out once and kept (Django's cache: files in the data
# directory, shared by every process): at 170,000 candidates and 50 jobs it takes seconds.
# Runs smaller than this are worked out on each view, and not kept ahead of time.
REPORT_KEEP_FROM = 5000


def run_report_kept(run: Run) -> dict[str, Any]:
    """run_report for the run page and its CSV: a finished run's from the cache, worked out
    when it is not there. The key holds what a report depends on, so a run that is retried,
    or scored again, gets a new one."""
    if not run.is_terminal:
        return run_report(run)
    key = ":".join(
        str(part)
        for part in (
            "run-report-v2",
            run.public_id,
            run.status,
            run.completed_at and run.completed_at.timestamp(),
            run.done_count,
            run.failed_count,
            shortlist_size(run),
        )
    )
    report = cache.get(key)
    if report is None:
        report = run_report(run)
        cache.set(key, report, timeout=30 * 24 * 3600)
    return report


def flag_counts(run: Run) -> dict[str, int]:
    """How many of the run's candidates carry each flag (flags.ALL, every one listed)."""
    counts = dict.fromkeys(flags.ALL, 0)
    cells = (
        Item.objects.filter(run_id=run.pk)
        .exclude(flags="")
        .values_list("flags")
        .annotate(n=Count("id"))
        .order_by()
    )
    for cell, n in cells:
        for flag in flags.split(cell):
            counts[flag] = counts.get(flag, 0) + n
    return counts


def run_report(run: Run) -> dict[str, Any]:
    """Everything `run_report --json`, the report CSV and the run page show."""
    return {
        "run": {
            "id": run.public_id,
            "name": run.name,
            "status": run.status,
            "model": run.model,
            "rubric": str(run.rubric) if run.rubric else None,
            "prompt_hash": run.prompt_hash,
            "answer_format": run.answer_format,
            # How the server was held to the answer (an OpenAI-compatible server:
            # gbnf, json_schema or json_object), and answers the model padded with
            # whitespace its server's grammar let through.
            "structured_output": run.opts.structured_output,
            "padded_answers": run.padded_answers,
            "candidates": run.total_count,
            "scored": run.done_count,
            # Rows that repeat another candidate: they take its scores, and the figures
            # below count each candidate once.
            "copies": int(run.opts.copy_count or 0),
            "redacted": run.redacted_count,
            # The same in the jobs' text, each job counted once, and in how many jobs.
            "redacted_in_jobs": run.opts.job_redacted or 0,
            "jobs_redacted": run.opts.jobs_redacted or 0,
            # Flagged for a person: text that tries to instruct the AI (scored, fenced as
            # data), and too little text to score (not sent to the AI).
            **flag_counts(run),
            "shortlist_size": shortlist_size(run),
            "audit_columns": audit_columns(run),
            "tokens": {
                "prompt": run.prompt_tokens,
                "cached": run.cached_tokens,
                "output": run.completion_tokens,
                **metrics.per_candidate_tokens(run),
                "cached_share_pct": metrics.token_savings_pct(run),
            },
        },
        "consistency": consistency_report(run),
        "impact": impact_report(run),
        "distributions": score_distributions(run),
        # The same figures per job, where a job has enough candidates (jobs_report).
        "jobs": jobs_report(run),
        "job_minimums": {
            "impact_scored": JOB_IMPACT_MIN,
            "consistency_rescored": job_consistency_min(),
        },
    }


def review_items(run: Run, found: Results) -> Iterable[Item]:
    """The candidates of a results view, whole (for a download), in the view's order,
    each with its copies' rows (with_copies)."""
    if isinstance(found.items, list):
        pks = [item.pk for item in found.items]
        whole = (
            Item.objects.select_related("decided_by").prefetch_related("explanations").in_bulk(pks)
        )
        return list(with_copies(run, [whole[pk] for pk in pks]))
    return with_copies(
        run,
        found.items.defer(None)
        .select_related("decided_by")
        .prefetch_related("explanations")
        .iterator(chunk_size=2000),
    )


# --- Concurrency: how many requests a worker keeps in flight -------------------------------

# Without a measurement (HRBATCH_CONCURRENCY=auto and no probe_backend for the backend and
# model): enough for a GPU server's usual slot count. The embedded backend runs one
# request at a time whatever this is.
DEFAULT_CONCURRENCY = 8


@dataclasses.dataclass(frozen=True)
class ConcurrencyChoice:
    value: int
    # "setting" (HRBATCH_CONCURRENCY is a number), "measured" (a probe) or "default".
    origin: str
    probe: BackendProbe | None = None

    @property
    def source(self) -> str:
        """Where the figure came from, in words for the run page."""
        if self.origin == "setting":
            return "set by HRBATCH_CONCURRENCY"
        if self.origin == "measured" and self.probe is not None:
            return f"measured by probe_backend on {self.probe.created_at:%Y-%m-%d %H:%M} UTC"
        return "default, run `manage.py probe_backend` to measure"


def concurrency_for(*, backend: str, model: str, where: str | None = None) -> ConcurrencyChoice:
    """Requests in flight per worker task for this backend and model: HRBATCH_CONCURRENCY
    when it is a number; with `auto` (the default) the knee of the newest probe_backend
    of this backend, model and place (`where`: hosts or base URLs; None: any place), else
    DEFAULT_CONCURRENCY. The one decision: run_start records it on the run, the engine
    keeps that many in flight and the run page says where it came from."""
    setting = settings.HRBATCH["CONCURRENCY"]
    if str(setting).strip().lower() not in ("", "auto"):
        return ConcurrencyChoice(max(1, int(setting)), "setting")
    probes = BackendProbe.objects.filter(backend=backend, model=model)
    if where is not None:
        probes = probes.filter(where=where)
    probe = probes.order_by("-created_at", "-id").first()
    if probe is not None:
        return ConcurrencyChoice(max(1, probe.concurrency), "measured", probe)
    return ConcurrencyChoice(DEFAULT_CONCURRENCY, "default")


def run_concurrency(run: Run) -> int:
    """What the engine keeps in flight for `run`: the figure recorded when it started
    (runs started before it was recorded: decided now, from any place)."""
    recorded = run.opts.concurrency
    if recorded:
        return int(recorded)
    return concurrency_for(backend=run.backend, model=run.model).value


# --- What the doors show: figures, flags, downloads, the LLM backend ----------------------


def run_progress(run: Run) -> dict[str, Any]:
    """The run's progress figures as the run page, the API and the CLI show them (one
    source: metrics.run_progress)."""
    return metrics.run_progress(run)


def pack_agreement(run: Run) -> dict[str, Any] | None:
    """How far scores of candidates packed K to a request agree with their scores alone
    (metrics.pack_agreement); None for a run that did not pack."""
    return metrics.pack_agreement(run)


def duration_said(seconds: int) -> str:
    """A duration in words, as the pages and e-mails write it (metrics.format_duration)."""
    return metrics.format_duration(seconds)


# The flag filter's choices: (value, words).
FLAG_CHOICES = [(ANY_FLAG, "any flag"), *((flag, flags.LABELS[flag]) for flag in flags.ALL)]
# Each flag in words.
FLAG_LABELS = flags.LABELS


def flag_filter(value: str) -> str:
    """The flag chosen in the results' filter (one of flags.ALL, or ANY_FLAG); "" for
    anything else (no filter)."""
    return value if value == ANY_FLAG or value in flags.ALL else ""


# How an order hidden in a candidate's text was written, in words (injection.Finding.how).
_HOW_WORDS = {
    "plain": "",
    "signs for letters": "written with digits or signs for letters",
    "spaced out": "written with its letters spaced out",
    "run together": "written with its words run together",
    "backwards": "written backwards",
    "rot13": "written in ROT13",
}


def item_flags(item: Item) -> dict[str, Any]:
    """The candidate's flags, and for text that tries to instruct the AI, where (the
    passages found, as the detector read them): `item_flags`, `flag_labels` and
    `instructions_found` (the first five) for the candidate's page."""
    found_flags = flags.split(item.flags)
    found = []
    if flags.INSTRUCTIONS_IN_TEXT in found_flags:
        for finding in flags.instructions_found(item.input or {}):
            how = finding.how.replace("base64, ", "")
            words = _HOW_WORDS.get(how, how)
            if finding.how.startswith("base64"):
                words = ", ".join(w for w in ("hidden in base64", words) if w)
            found.append({"excerpt": finding.excerpt, "how": words})
    return {
        "item_flags": found_flags,
        "flag_labels": flags.LABELS,
        "instructions_found": found[:5],
    }


def candidate_text(fields: dict[str, Any]) -> str:
    """A candidate's fields as the text the model reads (prompting.candidate_text)."""
    return prompting.candidate_text(fields)


def rubric_changes(rubric: Rubric) -> tuple[Rubric | None, RubricDiff | None]:
    """The version `rubric` follows (the one before it, or the one it was copied from),
    and what it changed from it; (None, None) for a first version."""
    previous = rubric.previous()
    return previous, rubric_diff(previous, rubric) if previous else None


def scored_csv(run: Run, *, excel: bool = False) -> Iterator[bytes]:
    """The scored CSV streamed from the database: partial while the run scores."""
    return export.iter_csv_bytes(run, excel=excel)


def review_csv(run: Run, found: Results) -> Iterator[bytes]:
    """The candidates of a results view (review_items), each with its decision and note,
    as a CSV for Excel."""
    rows = export.review_rows(run, review_items(run, found), excel=True)
    return export.csv_chunks(rows, bom=True)


def job_shortlists_csv(run: Run, lists: list[JobShortlist]) -> Iterator[bytes]:
    """Every job's shortlist (shortlists_per_job) in one CSV for Excel: the job first,
    then the rank within the job."""
    shortlists = (
        (one.label, items, one.tied_beyond, one.scored)
        for one, items in job_shortlist_items(run, lists)
    )
    return export.csv_chunks(export.job_shortlist_rows(run, shortlists, excel=True), bom=True)


def run_report_csv(run: Run) -> Iterator[bytes]:
    """The run's report (consistency, adverse impact, distributions) as one CSV for Excel."""
    return export.csv_chunks(export.report_rows(run_report_kept(run)), bom=True)


def excel_csv(rows: Iterable[list[Any]]) -> Iterator[bytes]:
    """Any rows as a CSV for Excel: every cell made safe to open (export.csv_chunks)."""
    return export.csv_chunks(rows, bom=True)


def public_message(text: str) -> str:
    """A message as a /v1 client may read it: where the LLM servers run is internal, so
    their addresses are replaced by words (llm.without_server_addresses)."""
    return without_server_addresses(text)


def batch_endpoint(run: Run) -> str:
    """The endpoint of a /v1 batch's requests (the one there is, unless it said)."""
    return run.opts.endpoint or CHAT_COMPLETIONS


def batch_live_figures(run: Run) -> dict[str, Any]:
    """A /v1 batch's progress as its metadata shows it while requests are still to run
    (None where there is no figure yet)."""
    figures = metrics.run_progress(run)
    return {
        "completion_pct": figures["percent"],
        "eta_seconds": figures["eta_seconds"],
        "throughput_req_per_sec": figures["throughput_per_sec"],
        "token_savings_pct": figures["token_savings_pct"],
        # Said at once while the LLM server is down; the batch goes on when it answers.
        # (Where the server runs is internal: the run's page for staff says it.)
        "server_unreachable": public_message(figures["server_unreachable"])[:512] or None,
        # Waiting behind other runs for a free worker: its place in that queue.
        "queue_position": figures["queue_position"],
    }


def batch_errors(run: Run) -> list[dict[str, Any]]:
    """The problems that failed a /v1 batch's file, as its `errors` list shows them."""
    return [
        {
            "code": e.get("code"),
            "message": public_message(e.get("message") or ""),
            "param": e.get("param"),
            "line": e.get("line"),
        }
        for e in run.errors
    ]


def models_served() -> tuple[str, list[ModelInfo]]:
    """The configured LLM backend's name, and the models it serves (/v1/models)."""
    choice = resolve_backend()
    return choice.name, model_list(choice)


def backend_said() -> tuple[str, str]:
    """The LLM backend `serve` uses, in words ("ollama at http://…"), and what it must
    say of it ("" or, say, that the embedded demo model is not for hiring decisions)."""
    choice = resolve_backend()
    said = choice.name
    if said == "ollama":
        said += f" at {', '.join(settings.HRBATCH['OLLAMA_HOSTS'])}"
    return said, choice.notice
