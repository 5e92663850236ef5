"""The public files of ../shared/data against the suite's own fixtures: every quirk the
fixtures claim to carry is one the public file really has, so that `make test` (which
never reads ../shared) meets what users bring.

Collected only by `make test-public-data`, which also runs every test marked `resumes35`
again with the public file in place of tests/fixtures/resumes_35_columns.csv."""

from __future__ import annotations

import csv
from pathlib import Path

from evaluations import csvio
from tests.support.files import fixture, shared_data


def _records(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def test_the_resume_fixture_carries_the_public_files_quirks() -> None:
    public, ours = shared_data("resume_data_97.csv"), fixture("resumes_35_columns.csv")
    real, mine = _records(public), _records(ours)

    # The same 35 columns in the same order, the byte-order mark in the same place.
    assert mine[0] == real[0] and len(real[0]) == 35
    assert [i for i, name in enumerate(real[0]) if name.startswith("\ufeff")] == [
        real[0].index("\ufeffjob_position_name")
    ]
    assert not public.read_bytes().startswith(b"\xef\xbb\xbf")
    assert not ours.read_bytes().startswith(b"\xef\xbb\xbf")
    # hrbatch reads both headers the same way.
    assert csvio.sniff(public).header == csvio.sniff(ours).header

    def quirks(rows: list[list[str]]) -> dict[str, set[str]]:
        header = [name.lstrip("\ufeff") for name in rows[0]]
        found: dict[str, set[str]] = {"multi-line": set(), "list": set(), "empty": set()}
        for row in rows[1:]:
            for name, value in zip(header, row, strict=True):
                if "\n" in value:
                    found["multi-line"].add(name)
                if value.startswith("[") and value.endswith("]"):
                    found["list"].add(name)
                if not value.strip():
                    found["empty"].add(name)
        return found

    theirs, carried = quirks(real), quirks(mine)
    # Multi-line cells and list literals in the public file's columns are in ours too.
    assert {"responsibilities", "responsibilities.1", "skills_required"} <= carried["multi-line"]
    assert theirs["multi-line"] >= {"responsibilities", "responsibilities.1"}
    assert len(carried["list"] & theirs["list"]) >= 0.8 * len(theirs["list"])
    # Empty cells in the columns where the public file leaves them empty.
    assert len(carried["empty"] & theirs["empty"]) >= 0.6 * len(theirs["empty"])
    # No row has a value for an ID: neither file has an ID column.
    assert not any(name.lower() in {"id", "resume id", "candidate_id"} for name in real[0])
    # The rows damaged_resume_csv edits exist once in each.
    for phrase in (b"Big data analytics", b"Fresher looking", b"Professional accountant"):
        assert public.read_bytes().count(phrase) == ours.read_bytes().count(phrase) == 1
