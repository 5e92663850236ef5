"""The check before a run against the ingest that follows it: both read the rows with
evaluations.intake.rows, so what the check page and `evaluate` count is what the run
holds. Shared by tests/test_intake.py (the suite's files) and tests/public_data (the
public ones)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from evaluations import prompting, services
from evaluations.models import Item, Run, RunColumns
from tests.support.runs import upload


def check_then_ingest(
    path: Path,
    *,
    owner: Any = None,
    jobs: services.JobsChoice | None = None,
    long_rows: str = services.LONG_ROWS_LEAVE_OUT,
    redact: bool = True,
    id_column: str | None = "",
) -> tuple[services.FileCheck, Run]:
    """The file checked with what the check page proposes (rows with problems and rows
    too long left out, so that Start is not refused; the ID column guessed unless named),
    then ingested as a run (not
    started) through the same service."""
    layout, problem = services.file_layout(path=path)
    assert layout is not None, problem
    proposal = services.intake_propose(path=path, layout=layout, owner=owner)
    checked = services.intake_check(
        input_file=upload(path, owner),
        intake=RunColumns(
            id_column=proposal.found.id_column if id_column == "" else id_column,
            roles=proposal.roles,
            skip_invalid=True,
            long_rows=long_rows,
            redact=redact,
        ),
        jobs=jobs,
        owner=owner,
    )
    assert not checked.refusals, checked.refusals
    run = services.intake_create(checked=checked, start=False)
    run.refresh_from_db()
    assert run.status == Run.Status.VALIDATING, run.status_message
    return checked.check, run


def assert_the_check_counted_what_the_ingest_made(check: services.FileCheck, run: Run) -> None:
    """Every figure of the check equals what the ingest wrote."""
    items = Item.objects.filter(run=run)
    left_out = check.long_count if run.intake.long_rows == services.LONG_ROWS_LEAVE_OUT else 0
    assert not check.file_problem
    # Candidates: the readable rows, less the long ones left out; the rows with problems
    # (and the long rows) are what was rejected.
    assert run.total_count == items.count() == check.rows - left_out
    assert (run.opts.rejected_count or 0) == check.problem_count + left_out
    assert run.skipped_count == check.little_count
    assert int(run.opts.copy_count or 0) == check.copy_count
    assert items.exclude(copy_of=None).count() == check.copy_count
    scored = items.filter(copy_of=None).exclude(status=Item.Status.SKIPPED)
    assert check.distinct - left_out == scored.count()
    if not left_out:  # (the check counts the jobs of every readable row)
        made = Counter(items.exclude(job=None).values_list("job__key", flat=True))
        assert made == check.jobs
        assert run.jobs.count() == len(check.jobs)
        if check.job_columns or check.position_column:
            assert items.filter(job=None).count() == check.without_job
    if check.position_column:
        column = check.position_column
        positions = Counter(
            key
            for extra in items.values_list("extra", flat=True)
            if (key := prompting.title_key(extra.get(column, "")))
        )
        assert positions == check.positions
