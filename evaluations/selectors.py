"""Reads: what a person may see and the queries the pages, the API and the CLI share.

Services write; selectors read (HackSoft's split). Nothing here changes the database.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser

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
