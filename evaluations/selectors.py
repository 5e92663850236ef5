"""Reads: what a person may see and the queries the pages, the API and the CLI share.

Services write; selectors read (HackSoft's split). Nothing here changes the database.
"""

from __future__ import annotations

from typing import Any

from .models import Rubric

# --- Rubrics ------------------------------------------------------------------------------


def latest_rubrics(user: Any) -> list[Rubric]:
    """The newest version of each rubric the user sees: shared ones first, then their own
    copies, each group by name."""
    latest: dict[tuple[int | None, str], Rubric] = {}
    for rubric in Rubric.objects.visible_to(user).order_by("name", "-version"):
        latest.setdefault((rubric.owner_id, rubric.name), rubric)
    return sorted(latest.values(), key=lambda r: (not r.is_shared, r.name))


# --- Runs and files (services moved here: find resumable/retryable runs, …) -----------------


# --- Results (the results table, shortlist, candidate page) ---------------------------------
