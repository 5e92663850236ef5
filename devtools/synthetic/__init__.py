"""Synthetic job applicants for demos, tests and benchmarks (all invented).

The generator (:mod:`.generator`) is kept apart from the words it draws from
(:mod:`.data`); callers import from here::

    from devtools.synthetic import generate_candidates, write_candidates_csv, write_jobs_csv

The jobs they apply for, one requisition per position, are in :mod:`.jobs`.
"""

from __future__ import annotations

from devtools.synthetic.generator import (
    COLUMNS,
    MAX_POSITIONS,
    REFERENCE_YEAR,
    generate_candidates,
    position_titles,
    write_candidates_csv,
)
from devtools.synthetic.jobs import JOB_COLUMNS, job_rows, write_jobs_csv

__all__ = [
    "COLUMNS",
    "JOB_COLUMNS",
    "MAX_POSITIONS",
    "REFERENCE_YEAR",
    "generate_candidates",
    "job_rows",
    "position_titles",
    "write_candidates_csv",
    "write_jobs_csv",
]
