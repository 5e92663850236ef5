"""Ingest through the service: good files become Items; bad files become a failed run
with row-numbered errors and no Items, never a half-created run that looks valid."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evaluations import csvio, services
from evaluations.models import Item, Run
from tests.support.runs import run_kwargs, upload

pytestmark = pytest.mark.django_db


def _ingest(path: Path, **kwargs: Any) -> Run:
    kwargs.setdefault("id_column", "id")
    return services.runs.run_create(
        owner=None, input_file=upload(path), start=False, **run_kwargs(**kwargs)
    )


def test_a_good_file_becomes_items_with_columns_split_by_role(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes(
        "id;name;email;skills;years\r\nc1;Zoë Müller;zoe@example.com;Python; SQL;5\r\n".replace(
            "Python; SQL", '"Python; SQL"'
        ).encode("cp1252")
        + '"c2";"Ana";"ana@example.org";"Go,\nRust";"3,5"\r\n'.encode("cp1252")
    )
    run = _ingest(path)

    assert run.status == Run.Status.VALIDATING and run.total_count == 2
    assert run.columns["encoding"] == "cp1252" and run.columns["delimiter"] == ";"
    assert run.columns["roles"] == {
        "id": "id",
        "name": "audit",
        "email": "audit",
        "skills": "model",
        "years": "model",
    }
    first, second = Item.objects.filter(run=run).order_by("line")
    assert (first.line, first.custom_id) == (2, "c1")
    assert first.input == {"skills": "Python; SQL", "years": "5"}
    assert first.extra == {"name": "Zoë Müller", "email": "zoe@example.com"}
    assert (second.line, second.input["skills"], second.input["years"]) == (3, "Go,\nRust", "3,5")


def test_without_an_id_column_rows_get_their_row_number(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("skills\nPython\n\nGo\n", encoding="utf-8")
    run = _ingest(path, id_column=None)

    assert run.total_count == 2
    assert list(Item.objects.filter(run=run).values_list("custom_id", flat=True)) == [
        "row-2",
        "row-4",
    ]
    assert "1 empty row skipped" in run.status_message


def test_roles_choose_what_the_model_sees(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("id,gender,skills,notes\nc1,f,Python,internal\n", encoding="utf-8")
    run = _ingest(path, roles={"id": "id", "gender": "audit", "skills": "model", "notes": "ignore"})

    item = Item.objects.get(run=run)
    assert item.input == {"skills": "Python"}
    assert item.extra == {"gender": "f", "notes": "internal"}


BAD_FILES: list[tuple[str, bytes, dict[str, Any], list[str]]] = [
    ("empty", b"", {}, ["empty"]),
    ("header only", b"id,skills\r\n", {}, ["header row but no candidates"]),
    ("xlsx", b"PK\x03\x04" + b"\x00" * 200, {}, ["Excel", "CSV UTF-8"]),
    ("binary", bytes(range(256)) * 4, {}, ["does not look like a CSV"]),
    ("ragged", b"id,skills,years\nc1,Python,3\nc2,Go\n", {}, ["Row 3", "2 values", "3 columns"]),
    ("duplicate ids", b"id,skills\nc1,a\nc2,b\nc1,c\n", {}, ["Row 4", "row 2", "'c1'"]),
    ("missing id", b"id,skills\nc1,a\n,b\n", {}, ["Row 3", "no value in the ID column"]),
    ("no such id column", b"ID,skills\nc1,a\n", {"id_column": "id"}, ["Did you mean 'ID'"]),
    ("only personal columns", b"id,name\nc1,Ann\n", {}, ["at least one column"]),
]


@pytest.mark.parametrize(
    ("content", "kwargs", "phrases"),
    [pytest.param(c, k, p, id=name) for name, c, k, p in BAD_FILES],
)
def test_a_bad_file_fails_the_run_with_its_clear_message_and_keeps_no_items(
    tmp_path: Path, content: bytes, kwargs: dict[str, Any], phrases: list[str]
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    run = _ingest(path, **kwargs)

    assert run.status == Run.Status.FAILED
    assert run.total_count == 0 and not Item.objects.filter(run=run).exists()
    text = " ".join(e["message"] for e in run.errors)
    for phrase in phrases:
        assert phrase.lower() in text.lower(), text
    assert run.status_message


def test_every_problem_is_listed_with_its_row_not_only_the_first(tmp_path: Path) -> None:
    rows = ["id,skills"] + [f"c{i},x" for i in range(2, 3000)] + ["c5,dup", "c7,dup", ",none"]
    path = tmp_path / "many.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    run = _ingest(path)

    assert run.status == Run.Status.FAILED
    assert [(e["code"], e["line"]) for e in run.errors] == [
        ("duplicate_id", 3000),
        ("duplicate_id", 3001),
        ("missing_id", 3002),
    ]
    assert "3 problems" in run.status_message
    # Items inserted in earlier chunks were removed again.
    assert not Item.objects.filter(run=run).exists()


def test_skipping_invalid_rows_keeps_the_good_ones_and_lists_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text(
        "id,skills,years\nc1,Python,3\nc2,Go\nc1,Rust,4\nc4,SQL,5\n,Java,1\n", encoding="utf-8"
    )
    run = _ingest(path, skip_invalid=True)

    assert run.status == Run.Status.VALIDATING
    assert run.total_count == 2
    assert sorted(Item.objects.filter(run=run).values_list("custom_id", flat=True)) == ["c1", "c4"]
    assert [(e["code"], e["line"]) for e in run.errors] == [
        ("ragged_row", 3),
        ("duplicate_id", 4),
        ("missing_id", 6),
    ]
    assert run.options["rejected_count"] == 3
    assert "3 rows with problems left out" in run.status_message


def test_a_file_with_no_good_row_fails_even_when_skipping(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("id,skills\n,Python\n,Go\n", encoding="utf-8")
    run = _ingest(path, skip_invalid=True)

    assert run.status == Run.Status.FAILED and not Item.objects.filter(run=run).exists()


@pytest.mark.parametrize(
    "name",
    [
        "id",
        "ID",
        "Resume ID",
        "resume_id",
        "applicant_id",
        "applicantId",
        "Candidate #",
        "candidate no",
        "application number",
        "Employee No.",
        "uuid",
    ],
)
def test_a_unique_column_named_like_an_id_is_guessed_as_the_id(tmp_path: Path, name: str) -> None:
    path = tmp_path / "c.csv"
    path.write_text(f'skills,"{name}"\nPython,a-1\n\n,\nGo,a-2\n', encoding="utf-8")
    layout = csvio.sniff(path)

    assert services.ingest.guess_id_column(path=path, layout=layout) == name
    # Another column named like an ID is kept out of the model's view too.
    assert services.default_roles(layout.header, None)[name] == services.ROLE_RESULTS


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("skills,number\nPython,1\nGo,2\n", "a bare 'number' says too little"),
        ("skills,key_skills\nPython,a\nGo,b\n", "not an ID name"),
        ("skills,id\nPython,1\nGo,1\n", "repeats"),
        ("skills,Resume ID\nPython,1\nGo,\n", "blank in a row"),
    ],
)
def test_no_id_is_guessed_unless_named_like_one_and_unique(
    tmp_path: Path, content: str, why: str
) -> None:
    path = tmp_path / "c.csv"
    path.write_text(content, encoding="utf-8")
    assert services.ingest.guess_id_column(path=path, layout=csvio.sniff(path)) is None, why


@pytest.mark.resumes35
def test_a_human_score_in_the_resume_file_starts_hidden_from_the_ai(tmp_path: Path) -> None:
    # The résumé file carries `matched_score`, a person's judgement of each candidate:
    # shown to the model, it could be copied instead of the candidate being read.
    from tests.support.files import resumes

    layout = csvio.sniff(resumes())
    roles = services.default_roles(layout.header, None)

    assert roles["matched_score"] == services.ROLE_RESULTS
    assert roles["skills"] == services.ROLE_MODEL
    assert roles["career_objective"] == services.ROLE_MODEL
    for column in ("Recruiter rating", "interview_outcome", "Rank", "hired"):
        assert services.default_roles([column, "skills"], None)[column] == services.ROLE_RESULTS
    for column in ("skills", "responsibilities", "career_objective"):
        assert services.default_roles([column], None)[column] == services.ROLE_MODEL


@pytest.mark.parametrize("guessed", [True, False])
def test_an_ats_export_is_read_by_its_resume_id_with_blank_rows_skipped(guessed: bool) -> None:
    """An applicant-tracking export as recruiters download it (tests/fixtures: CRLF, a
    multi-line cell, "Not Provided" placeholders, blank rows in the middle and at the end):
    the `Resume ID` column of UUIDs is the ID, each candidate is an Item at the row a
    spreadsheet shows, and the blank rows are skipped and said."""
    import csv

    from tests.support.files import fixture

    path = fixture("ats_export_resume_id.csv")
    with open(path, encoding="utf-8", newline="") as handle:
        records = list(enumerate(csv.reader(handle), start=1))
    header, data = records[0][1], records[1:]
    rows = [(line, values) for line, values in data if any(v.strip() for v in values)]
    blank = len(data) - len(rows)
    assert blank >= 3 and header[0] == "Resume ID"

    layout = csvio.sniff(path)
    assert services.ingest.guess_id_column(path=path, layout=layout) == "Resume ID"
    # Or the check page's "Row number" choice: the rows are numbered.
    run = _ingest(path, id_column="Resume ID" if guessed else None)

    assert run.status == Run.Status.VALIDATING, run.status_message
    items = list(Item.objects.filter(run=run).order_by("line"))
    assert [item.line for item in items] == [line for line, _ in rows]
    expected = [values[0] for _, values in rows] if guessed else [f"row-{n}" for n, _ in rows]
    assert [item.custom_id for item in items] == expected
    assert f"{blank} empty rows skipped" in run.status_message
    # Name, e-mail and phone are kept from the model; the rest is the candidate's.
    assert {"Name", "Email", "Phone"} <= set(items[0].extra)
    assert {"Skills", "Experience"} <= set(items[0].input)
