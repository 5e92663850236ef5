"""Synthetic job applicants for demos, tests and benchmarks (all invented).

The generator (:mod:`.generator`) is kept apart from the words it draws from
(:mod:`.data`); callers import from here::

    from devtools.synthetic import generate_candidates, write_candidates_csv, write_jobs_csv

The jobs they apply for, one requisition per position, are in :mod:`.jobs`. An export
shaped like the `talentalign` one (2,900 rows, a `Job Title` per candidate) is in
:mod:`.talentalign`.
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
from devtools.synthetic.talentalign import (
    TALENTALIGN_COLUMNS,
    TALENTALIGN_ROWS,
    TALENTALIGN_TITLES,
    talentalign_rows,
    write_talentalign_csv,
)

__all__ = [
    "COLUMNS",
    "JOB_COLUMNS",
    "MAX_POSITIONS",
    "REFERENCE_YEAR",
    "TALENTALIGN_COLUMNS",
    "TALENTALIGN_ROWS",
    "TALENTALIGN_TITLES",
    "generate_candidates",
    "job_rows",
    "position_titles",
    "talentalign_rows",
    "write_candidates_csv",
    "write_jobs_csv",
    "write_talentalign_csv",
]
