"""generate_candidates: synthetic applicant CSVs (devtools.synthetic + management command)."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from devtools.live import ROOT
from devtools.synthetic import (
    COLUMNS,
    MAX_POSITIONS,
    generate_candidates,
    position_titles,
    write_candidates_csv,
)
from devtools.synthetic.jobs import QUALIFIER_NOTES

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


# sha256 of the files a seed writes: a seed means the same file from one version to the
# next. Pinned when the generator moved to devtools/synthetic/, and again when healthcare
# positions and per-position applicant weights came in (issue 11: fifty positions, some
# with many applicants, some with few).
PINNED_SHA256 = {
    (3000, 7, 50): "a9c9320d8441a4b3552cbd8bc6eda736e03aa7ed81bd80433de9858db65aba22",
    (500, 11, MAX_POSITIONS): "cdb7f40c7a1248acfe3d20920b09e820220f56290998de3ffc97d078b13fa1b5",
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


# --- The jobs file: --positions N --jobs-out JOBS.csv --------------------------------------

JOB_HEADER = ["title", "description", "requirements", "responsibilities"]
# Words that would make a requirement about who someone is rather than what they can do.
PROTECTED = re.compile(
    r"\b(age|aged|years old|young|youthful|mature|recent graduates?|digital native|"
    r"native (english )?speaker|gender|male|female|man|woman|men|women|race|racial|"
    r"ethnic\w*|religio\w*|nationality|citizen\w*|married|marital|pregnan\w*|disabilit\w*|"
    r"able-bodied|physically fit|sexual|veteran|"
    # A maximum of experience shuts out older applicants (an age proxy).
    r"up to \d+ years|at most \d+ years|no more than \d+ years)\b",
    re.IGNORECASE,
)


def generate(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`manage.py generate_candidates ARGS` as a user runs it, in its own process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    env["HRBATCH_DATA_DIR"] = str(tmp_path / "data")
    return subprocess.run(
        [sys.executable, "manage.py", "generate_candidates", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def read_jobs(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")  # no BOM: the header's first name is "title"
    raw.decode("utf-8")
    return read_rows(path)


@pytest.fixture(scope="module")
def fifty(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """5,000 candidates over 50 positions and their jobs file, written by the command."""
    where = tmp_path_factory.mktemp("fifty")
    candidates, jobs = where / "candidates.csv", where / "jobs.csv"
    done = generate(
        where,
        "5000",
        "--out",
        str(candidates),
        "--positions",
        "50",
        "--jobs-out",
        str(jobs),
        "--seed",
        "7",
    )
    assert done.returncode == 0, done.stderr
    return {"where": where, "candidates": candidates, "jobs": jobs, "stdout": done.stdout}


def test_jobs_out_writes_one_job_per_position_titled_as_the_candidates_position(
    fifty: dict[str, Any],
) -> None:
    assert f"Wrote 5000 candidates to {fifty['candidates']}" in fifty["stdout"]
    assert f"Wrote 50 jobs to {fifty['jobs']}, one per position" in fifty["stdout"]
    header, jobs = read_jobs(fifty["jobs"])
    assert header == JOB_HEADER
    assert len(jobs) == 50
    titles = [job["title"] for job in jobs]
    assert len(set(titles)) == 50 and titles == position_titles(50)
    _, candidates = read_rows(fifty["candidates"])
    assert len(candidates) == 5000
    # Every candidate's position is a job's title, exactly; every job has candidates.
    assert {row["position"] for row in candidates} == set(titles)
    # Functions across the company, not one department: engineering, data, sales, finance,
    # HR, operations and healthcare among them.
    for title in ("Senior Backend Engineer", "Data Scientist", "Account Executive"):
        assert title in titles
    for title in ("Senior Accountant", "HR Business Partner", "Operations Manager"):
        assert title in titles
    for title in ("Registered Nurse", "Medical Assistant", "Pharmacy Technician"):
        assert title in titles


def test_the_jobs_say_specifically_what_each_position_asks_for(fifty: dict[str, Any]) -> None:
    _, jobs = read_jobs(fifty["jobs"])
    _, candidates = read_rows(fifty["candidates"])
    for job in jobs:
        assert all(job[column].strip() for column in JOB_HEADER), job["title"]
        sentences = re.findall(r"[.!?](?:\s|$)", job["description"])
        assert 1 <= len(sentences) <= 3, job["description"]
        requirements = job["requirements"].split("; ")
        assert len(requirements) >= 5, job["title"]
        # Experience as a requisition states it: a minimum, or none for an entry-level job.
        experience = r"^(\d+\+ (years|months)\b|No minimum experience)"
        assert re.search(experience, job["requirements"]), job
        assert len(job["responsibilities"].split("; ")) >= 4, job["title"]
        assert not PROTECTED.search(" ".join(job.values())), job["title"]
    # Specific to each position: no two jobs ask for the same.
    assert len({job["requirements"] for job in jobs}) == 50
    assert len({job["description"] for job in jobs}) == 50
    credential = re.compile(r"certif|\b(CPA|CPP|PMP|CFA|SHRM|CIPD|CPIM|ISTQB|CISSP|Six Sigma)\b")
    certified = [job for job in jobs if credential.search(job["requirements"])]
    assert len(certified) >= 10
    # The candidates applied for these jobs: the skills most often listed by a position's
    # applicants are named in its requirements.
    skills: dict[str, Counter[str]] = {}
    for row in candidates:
        skills.setdefault(row["position"], Counter()).update(row["skills"].split("; "))
    for job in jobs:
        top = [skill for skill, _ in skills[job["title"]].most_common(3)]
        for skill in top:
            assert skill.lower() in job["requirements"].lower(), (job["title"], skill)


def test_some_positions_get_many_applicants_and_some_few(fifty: dict[str, Any]) -> None:
    _, candidates = read_rows(fifty["candidates"])
    counts = sorted(Counter(row["position"] for row in candidates).values())
    # 5,000 applicants: the busiest positions draw hundreds, the quietest a few dozen.
    assert counts[-1] >= 8 * counts[0], counts
    assert sum(counts[-10:]) >= 4 * sum(counts[:10]), counts
    assert counts[0] >= 10  # but every position has applicants to score


def test_jobs_out_is_deterministic_and_leaves_the_candidates_as_before(
    fifty: dict[str, Any], tmp_path: Path
) -> None:
    again, jobs = tmp_path / "again.csv", tmp_path / "jobs.csv"
    done = generate(tmp_path, "3000", "--out", str(again), "--seed", "7", "--jobs-out", str(jobs))
    assert done.returncode == 0, done.stderr
    # The candidates are the file this seed always wrote (pinned above), jobs file or not.
    assert hashlib.sha256(again.read_bytes()).hexdigest() == PINNED_SHA256[(3000, 7, 50)]
    # The jobs do not depend on the seed: the same 50 positions, the same text.
    assert jobs.read_bytes() == fifty["jobs"].read_bytes()
    other = tmp_path / "other-jobs.csv"
    small = tmp_path / "small.csv"
    done = generate(tmp_path, "10", "--out", str(small), "--seed", "8", "--jobs-out", str(other))
    assert done.returncode == 0, done.stderr
    assert other.read_bytes() == jobs.read_bytes()


def test_qualified_positions_get_their_base_job_and_what_the_qualifier_adds(
    tmp_path: Path,
) -> None:
    candidates, jobs = tmp_path / "c.csv", tmp_path / "jobs.csv"
    done = generate(
        tmp_path, "3000", "--out", str(candidates), "--positions", "90", "--jobs-out", str(jobs)
    )
    assert done.returncode == 0, done.stderr
    _, rows = read_jobs(jobs)
    by_title = {row["title"]: row for row in rows}
    assert len(by_title) == 90
    _, people = read_rows(candidates)
    assert {row["position"] for row in people} <= set(by_title)
    remote = by_title["Senior Backend Engineer (Remote)"]
    base = by_title["Senior Backend Engineer"]
    assert remote["description"] == base["description"] + " " + QUALIFIER_NOTES["Remote"]
    assert remote["requirements"] == base["requirements"]


def test_jobs_out_with_candidates_on_stdout_keeps_stdout_pure_csv(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.csv"
    done = generate(tmp_path, "20", "--out", "-", "--positions", "5", "--jobs-out", str(jobs))
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout, newline="")))
    assert len(rows) == 20 and "Wrote 5 jobs to" in done.stderr
    assert [row["title"] for row in read_jobs(jobs)[1]] == position_titles(5)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "-", "--jobs-out", "-"], "would both write to stdout"),
        (["--out", "same.csv", "--jobs-out", "same.csv"], "another file than --out"),
        (["--out", "c.csv", "--jobs-out", "missing-dir/jobs.csv"], "cannot write"),
    ],
)
def test_jobs_out_refuses_what_it_cannot_do_and_says_why(
    tmp_path: Path, args: list[str], message: str
) -> None:
    done = generate(tmp_path, "5", *[str(tmp_path / a) if a.endswith(".csv") else a for a in args])
    assert done.returncode == 1 and message in done.stderr, done.stderr
