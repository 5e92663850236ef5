"""The database does not change what the model reads (issue 17, item 27).

PostgreSQL stores JSON as `jsonb`, which keeps an object's keys in an order of its own
(shorter keys first), not the order they were written in; SQLite keeps them as written. The
same file scored on each must send the model the same requests, byte for byte: `evaluate`
runs once on SQLite and once on PostgreSQL against one fake Ollama server, which records
every request body it receives.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devtools.fake_ollama import FakeOllama
from tests.support.files import write_csv
from tests.support.processes import evaluate, finish, subprocess_env

# Column names whose lengths are out of order: jsonb would read them back as cv, skills,
# education_history, summary_of_experience.
HEADER = [
    "id",
    "name",
    "summary_of_experience",
    "skills",
    "cv",
    "education_history",
    "job_title",
    "job_requirements",
]
MODEL_COLUMNS = ["summary_of_experience", "skills", "cv", "education_history"]


def _rows(n: int) -> list[dict[str, str]]:
    jobs = [("Data Engineer", "Python, SQL, Airflow"), ("Nurse", "RN licence, 2 years acute care")]
    rows = []
    for i in range(1, n + 1):
        title, requirements = jobs[i % 2]
        values = [
            f"c{i:03d}",
            f"Person Number{i}",
            f"{i + 2} years building things; led {i % 5} people.",
            f"Python {i}; SQL; Excel",
            f"CV of candidate {i}: projects, talks and a thesis.",
            f"BSc {2000 + i % 20}",
            title,
            requirements,
        ]
        rows.append(dict(zip(HEADER, values, strict=True)))
    return rows


def _sent(fake: FakeOllama) -> list[str]:
    """Every request body the server received, as JSON text with its keys in the order
    they came, sorted (the requests of one run arrive in no fixed order)."""
    return sorted(json.dumps(request, ensure_ascii=False) for request in fake.requests)


@pytest.mark.slow
def test_the_same_file_sends_byte_identical_requests_on_sqlite_and_postgresql(
    tmp_path: Path, fake_ollama: FakeOllama, scale_out: dict[str, str]
) -> None:
    source = write_csv(tmp_path / "candidates.csv", _rows(40))
    sent: dict[str, list[str]] = {}
    outputs: dict[str, bytes] = {}
    for database, extra in (("sqlite", {}), ("postgresql", scale_out)):
        fake_ollama.reset()
        # With the consistency sample, whose second requests read the fields in reverse.
        env = subprocess_env(tmp_path / database, fake_ollama, HRBATCH_CONSISTENCY_PCT="2", **extra)
        if database == "sqlite":
            env.pop("DATABASE_URL", None)
        out = tmp_path / f"{database}.csv"
        finish(evaluate(source, out, env))
        sent[database] = _sent(fake_ollama)
        outputs[database] = out.read_bytes()

    # 40 candidates and the consistency sample's 20 second requests, on each.
    assert len(sent["sqlite"]) == len(sent["postgresql"]) == 60
    assert sent["sqlite"] == sent["postgresql"]
    assert outputs["sqlite"] == outputs["postgresql"]
    # The fields in the file's order (and, for the consistency sample, in reverse).
    orders = {tuple(_labels(json.loads(body))) for body in sent["postgresql"]}
    assert orders == {tuple(MODEL_COLUMNS), tuple(reversed(MODEL_COLUMNS))}


def _labels(request: dict[str, Any]) -> list[str]:
    """The candidate's field names in the order the user message gives them."""
    user = request["messages"][-1]["content"]
    labels = [line.split(":", 1)[0] for line in user.splitlines()]
    return [label for label in labels if label in HEADER]
