"""Reads: what a person may see and the queries the pages, the API and the CLI share.

Services write; selectors read (HackSoft's split). Nothing here changes the database.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import ExpressionWrapper, F, IntegerField, QuerySet, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from . import prompting
from .models import Item, Rubric, Run

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


def results(run: Run, *, status: str = "", sort: str = "line", top: int = 0) -> Results:
    """A run's candidates for the results table: filtered by status and sorted by a column
    or a score (`-overall`: best first), or with `top`, a shortlist of the best ones."""
    criteria = run.rubric.criterion_keys if run.rubric else []
    items = run_items(run).only(
        "id", "custom_id", "line", "status", "result", "error", "attempts", "extra"
    )
    key = sort.lstrip("-")
    if top > 0 and criteria:
        # A shortlist is the N best scored candidates: by the chosen score (best first),
        # else by overall; never the first N rows of the file.
        key = key if key in criteria else ("overall" if "overall" in criteria else criteria[-1])
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
