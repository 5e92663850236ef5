"""generate_candidates: synthetic applicant CSVs (devtools.synthetic + management command)."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from devtools.synthetic import (
    COLUMNS,
    MAX_POSITIONS,
    generate_candidates,
    position_titles,
    write_candidates_csv,
)

EXPECTED_COLUMNS = [
    "id",
    "name",
    "email",
    "phone",
    "position",
    "years_experience",
    "skills",
    "education",
    "work_history",
    "cover_note",
]


def run(n: int, out: Path | str, *extra: str) -> str:
    stdout = io.StringIO()
    call_command("generate_candidates", str(n), "--out", str(out), *extra, stdout=stdout)
    return stdout.getvalue()


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, str]]]:
    """One 3,000-row file shared by the content checks (about 0.1 s to generate)."""
    path = tmp_path_factory.mktemp("gen") / "candidates.csv"
    run(3000, path, "--seed", "7")
    _, rows = read_rows(path)
    return path, rows


def test_command_writes_parseable_csv(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    message = run(250, path, "--seed", "3")

    assert re.fullmatch(rf"Wrote 250 candidates to {re.escape(str(path))} in \d+\.\ds\n", message)
    header, rows = read_rows(path)
    assert header == EXPECTED_COLUMNS == list(COLUMNS)
    assert len(rows) == 250
    assert all(None not in row and all(v != "" for v in row.values()) for row in rows)
    ids = [row["id"] for row in rows]
    assert len(set(ids)) == 250
    assert ids[:3] == ["C000001", "C000002", "C000003"]
    assert len({row["email"] for row in rows}) == 250
    assert path.read_bytes()[:3] != b"\xef\xbb\xbf"  # no BOM


def test_same_seed_is_byte_identical_and_other_seed_differs(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    run(400, a, "--seed", "42")
    run(400, b, "--seed", "42")
    run(400, c, "--seed", "43")

    assert a.read_bytes() == b.read_bytes()
    _, rows_a = read_rows(a)
    _, rows_c = read_rows(c)
    assert rows_a != rows_c
    # Most rows differ, not just one field somewhere.
    assert sum(ra["name"] != rc["name"] for ra, rc in zip(rows_a, rows_c, strict=True)) > 300


# sha256 of the files the generator wrote before it moved from evaluations/synthetic.py to
# devtools/synthetic/ (code and word lists split apart): a seed still means the same file.
PINNED_SHA256 = {
    (3000, 7, 50): "14a4c00d5bb75e74e61b37f4afc00c3c0f3b39360fada12456cf72b89384e143",
    (500, 11, MAX_POSITIONS): "dcb710f17be11f9f06a9e29799c9eb0f0f71046845994eedeca869975ec76743",
}


@pytest.mark.parametrize(("n", "seed", "positions"), list(PINNED_SHA256))
def test_a_seed_still_writes_the_same_file_as_before(
    n: int, seed: int, positions: int, tmp_path: Path
) -> None:
    path = tmp_path / "pinned.csv"
    run(n, path, "--seed", str(seed), "--positions", str(positions))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest == PINNED_SHA256[(n, seed, positions)]


def test_prefix_of_larger_run_equals_smaller_run() -> None:
    small = list(generate_candidates(10, seed=5))
    large = list(generate_candidates(1000, seed=5))
    assert large[:10] == small


def test_default_50_positions_and_positions_option(
    big: tuple[Path, list[dict[str, str]]], tmp_path: Path
) -> None:
    _, rows = big
    seen = {row["position"] for row in rows}
    assert seen == set(position_titles(50))
    assert len(seen) == 50
    assert {"Senior Backend Engineer", "HR Business Partner", "Data Analyst"} <= seen

    path = tmp_path / "few.csv"
    run(300, path, "--positions", "4")
    _, few = read_rows(path)
    assert {row["position"] for row in few} == set(position_titles(4))


def test_newlines_and_non_ascii_survive_round_trip(big: tuple[Path, list[dict[str, str]]]) -> None:
    path, rows = big
    expected = list(generate_candidates(3000, seed=7))
    assert rows == expected  # exact round trip, embedded newlines and all

    multiline = [row for row in rows if "\n" in row["cover_note"]]
    assert len(multiline) > 100
    assert not any("\n" in v for row in rows for k, v in row.items() if k != "cover_note")

    non_ascii = [row for row in rows if any(not v.isascii() for v in row.values())]
    assert 3 <= len(non_ascii) <= 40  # about 1 row in 200
    assert all(not row["name"].isascii() for row in non_ascii)
    assert all(row["email"].isascii() for row in rows)
    assert path.read_bytes().decode("utf-8")  # valid UTF-8


def test_fields_look_plausible(big: tuple[Path, list[dict[str, str]]]) -> None:
    _, rows = big
    for row in rows:
        assert re.fullmatch(r"[a-z0-9._]+@example\.(com|org)", row["email"]), row["email"]
        assert re.fullmatch(r"\+1-\d{3}-555-01\d\d", row["phone"]), row["phone"]
        assert 3 <= len(row["skills"].split("; ")) <= 8
        assert 0 <= int(row["years_experience"]) <= 30
        assert " in " in row["education"]
        assert 1 <= len(re.findall(r"\(\d{4}(?:-(?:\d{4}|present))?\)", row["work_history"])) <= 3
        sentences = re.findall(r"[.!?](?:\s|$)", row["cover_note"])
        assert 2 <= len(sentences) <= 5, row["cover_note"]
    assert any("," in row["work_history"] for row in rows)
    assert any('"' in row["work_history"] for row in rows)


def test_variety_relevant_to_scoring(big: tuple[Path, list[dict[str, str]]]) -> None:
    _, rows = big
    years = [int(row["years_experience"]) for row in rows]
    assert min(years) == 0
    assert max(years) >= 25
    assert len(set(years)) >= 25
    juniors = sum(y <= 2 for y in years)
    seniors = sum(y >= 10 for y in years)
    assert juniors > 200 and seniors > 200
    assert sorted(years)[len(years) // 2] < 15  # skewed toward fewer years

    notes = [row["cover_note"] for row in rows]
    assert sum(len(n) < 120 for n in notes) > 200  # terse
    assert sum(len(n) > 350 for n in notes) > 200  # rich
    assert len(set(notes)) > 2900  # few exact repeats, even among terse notes

    # Skill/position match varies: some applicants list mostly on-target skills, others barely.
    by_title: dict[str, set[str]] = {}
    for row in rows:
        if row["position"] == "Data Analyst":
            by_title.setdefault(row["id"], set(row["skills"].split("; ")))
    core = {"SQL", "Excel", "Tableau", "Python", "Data visualization", "A/B testing"}
    overlaps = [len(skills & core) for skills in by_title.values()]
    assert len(overlaps) > 30
    assert min(overlaps) == 0 and max(overlaps) >= 4


def test_out_dash_writes_csv_to_stdout() -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("generate_candidates", "20", "--out", "-", stdout=stdout, stderr=stderr)

    rows = list(csv.DictReader(io.StringIO(stdout.getvalue(), newline="")))
    assert len(rows) == 20
    assert rows == list(generate_candidates(20))
    assert "Wrote 20 candidates to stdout" in stderr.getvalue()


def test_write_candidates_csv_matches_command(tmp_path: Path) -> None:
    direct, via_command = tmp_path / "direct.csv", tmp_path / "cmd.csv"
    assert write_candidates_csv(direct, 50, seed=9, positions=10) == 50
    run(50, via_command, "--seed", "9", "--positions", "10")
    assert direct.read_bytes() == via_command.read_bytes()


@pytest.mark.parametrize(
    "argv",
    [
        ["0", "--out", "x.csv"],
        ["-3", "--out", "x.csv"],
        ["ten", "--out", "x.csv"],
        ["5"],  # --out is required
        ["5", "--out", "x.csv", "--positions", "0"],
        ["5", "--out", "x.csv", "--positions", "100000"],
    ],
)
def test_bad_arguments_are_rejected(argv: list[str], tmp_path: Path) -> None:
    with pytest.raises(CommandError):
        call_command("generate_candidates", *argv, stdout=io.StringIO())
    assert not (tmp_path / "x.csv").exists()


def test_unwritable_path_is_a_command_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cannot write"):
        run(5, tmp_path / "missing-dir" / "c.csv")


def test_library_validates_arguments() -> None:
    with pytest.raises(ValueError):
        generate_candidates(5, positions=0)
    with pytest.raises(ValueError):
        generate_candidates(-1)
    assert list(generate_candidates(0)) == []
