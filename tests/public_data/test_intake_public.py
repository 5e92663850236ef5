"""The check before a run against the ingest, on the public files of ../shared/data: what
the check page counts is what the run holds (as tests/test_intake.py on the suite's own
files). Collected only by `make test-public-data`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.files import SHARED_DATA, shared_data
from tests.support.intake import assert_the_check_counted_what_the_ingest_made, check_then_ingest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", sorted(path.name for path in SHARED_DATA.glob("*.csv")))
@pytest.mark.parametrize("redact", [True, False])
def test_the_check_counts_what_the_ingest_makes_of_a_public_file(name: str, redact: bool) -> None:
    check, run = check_then_ingest(shared_data(name), redact=redact)
    assert check.rows > 0
    assert_the_check_counted_what_the_ingest_made(check, run)


def test_every_public_file_is_checked() -> None:
    assert any(Path(SHARED_DATA).glob("*.csv")), f"no CSV file in {SHARED_DATA}"
