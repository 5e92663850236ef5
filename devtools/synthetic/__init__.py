"""Synthetic job applicants for demos, tests and benchmarks (all invented).

The generator (:mod:`.generator`) is kept apart from the words it draws from
(:mod:`.data`); callers import from here::

    from devtools.synthetic import generate_candidates, write_candidates_csv
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

__all__ = [
    "COLUMNS",
    "MAX_POSITIONS",
    "REFERENCE_YEAR",
    "generate_candidates",
    "position_titles",
    "write_candidates_csv",
]
