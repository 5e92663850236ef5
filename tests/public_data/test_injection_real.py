"""Instructions in the text (issue 17, item 5) on real résumés nobody here wrote: the flag
must stay quiet on them (at most 1% false alarms), as the ingest computes it."""

from __future__ import annotations

import pytest

from evaluations import flags
from evaluations.models import Item, Run
from tests.support.files import rows_of, shared_data
from tests.support.runs import start_run

REAL = "resume_data_97.csv"


def test_real_résumés_raise_at_most_one_percent_of_false_alarms() -> None:
    rows = rows_of(shared_data(REAL))

    # Every column of each row: more text than the AI is shown, so more chances to be wrong.
    alarms = [
        index
        for index, row in enumerate(rows)
        if flags.INSTRUCTIONS_IN_TEXT in flags.candidate_flags(row, min_chars=2)
    ]

    assert len(rows) == 97
    assert len(alarms) <= 0.01 * len(rows), alarms


@pytest.mark.django_db(transaction=True)
def test_the_ingest_of_the_real_file_flags_at_most_one_percent() -> None:
    run = start_run(shared_data(REAL), id_column=None, start=False)

    assert run.total_count == 97, run.status_message
    flagged = Item.objects.filter(run=run, flags__contains=flags.INSTRUCTIONS_IN_TEXT).count()
    assert flagged <= 0.01 * run.total_count
    # Every one of them has text to read.
    assert not Item.objects.filter(run=run, status=Item.Status.SKIPPED).exists()
    assert run.status == Run.Status.VALIDATING  # read, not started: no model was asked
