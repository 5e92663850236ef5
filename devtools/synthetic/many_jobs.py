"""Candidates who applied for thousands of different jobs (all invented): an export whose
job columns name a job per candidate or nearly, such as a talent platform's with 2,322
distinct positions among 2,900 rows.

    write_many_jobs_csv(path, 2900, 2322)

The synthetic applicants of :mod:`devtools.synthetic.generator` with two job columns
(`job_title`, `skills_required`: job columns by their names): rows 1 to `jobs` one job
each, the rest spread over those jobs at random.
"""

from __future__ import annotations

import csv
from pathlib import Path
from random import Random

from devtools.synthetic.generator import generate_candidates

_SKILLS = ("Python", "SQL", "Excel", "Nursing", "Sales", "Payroll", "Welding", "Spark")


def job_title(k: int) -> str:
    """The title of the k-th job (0-based)."""
    return f"Position {k:04d}"


def write_many_jobs_csv(path: Path, n: int, jobs: int, *, seed: int = 17) -> Path:
    """`n` candidates whose job columns name `jobs` distinct jobs (`jobs` ≤ `n`)."""
    assert 0 < jobs <= n
    rng = Random(seed)
    rows = []
    for i, person in enumerate(generate_candidates(n, seed=seed)):
        person.pop("position", None)
        k = i if i < jobs else rng.randrange(jobs)
        rows.append(
            {
                **person,
                "job_title": job_title(k),
                "skills_required": f"{_SKILLS[k % len(_SKILLS)]}; {k % 7 + 1}+ years",
            }
        )
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path
