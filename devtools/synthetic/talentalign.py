"""A candidate export shaped like the `talentalign` ones a recruiter brought (all invented).

What makes the shape hard, as the real export was:

- 2,900 rows, a `Resume ID` column of UUIDs (the candidate ID);
- a `Job Title` column that is each candidate's *own* current title, not the position they
  applied for: about 2,300 different values (the real file: 2,322), each written once or a
  few times ("Senior Data Analyst – Retail", "Freelance Graphic Designer at Brightwave");
- "Not Provided" in place of a value, and a third of the rows with nothing to read but
  `Skills: Not Provided`;
- a `Skills` column (a list, "Python, SQL, Tableau");
- a `Name` column that now and then holds no name at all but skill words
  ("Linux • Managing"), those same words appearing in the candidate's `Skills`.

Row order, values and the number of distinct titles are fixed by the seed, so a test or a
benchmark that writes 2,900 rows always gets the same file.
"""

from __future__ import annotations

import csv
import os
import uuid
from collections.abc import Iterator
from random import Random
from typing import IO

from devtools.synthetic.data import (
    COMPANY_STEMS,
    FAMILY_SKILLS,
    FIRST_NAMES,
    GENERIC_SKILLS,
    LAST_NAMES,
    QUALIFIERS,
    UNI_PLACES,
)
from devtools.synthetic.generator import MAX_POSITIONS, position_titles

__all__ = [
    "TALENTALIGN_COLUMNS",
    "TALENTALIGN_ROWS",
    "TALENTALIGN_TITLES",
    "talentalign_rows",
    "write_talentalign_csv",
]

TALENTALIGN_COLUMNS: tuple[str, ...] = (
    "Resume ID",
    "Name",
    "Job Title",
    "Location",
    "Experience",
    "Skills",
    "Education",
    "Summary",
)
# The real export's size, and its number of different `Job Title` values.
TALENTALIGN_ROWS = 2900
TALENTALIGN_TITLES = 2322
NOT_PROVIDED = "Not Provided"

_LEVELS = (
    "Junior",
    "Senior",
    "Lead",
    "Principal",
    "Associate",
    "Trainee",
    "Freelance",
    "Interim",
    "Acting",
    "Graduate",
)
_TEAMS = (
    "Retail",
    "Payments",
    "Growth",
    "Logistics",
    "Public Sector",
    "Insurance",
    "Energy",
    "Media",
    "Telecom",
    "Travel",
)
_CITIES = (
    "Austin, TX",
    "Denver, CO",
    "Leeds, UK",
    "Toronto, ON",
    "Lyon, France",
    "Pune, India",
    "Remote",
    "Chicago, IL",
    "Dublin, Ireland",
    "Kraków, Poland",
)
_SKILLS = sorted({skill for skills in FAMILY_SKILLS.values() for skill in skills})


def _title(rng: Random, bases: list[str]) -> str:
    base = rng.choice(bases)
    shape = rng.random()
    if shape < 0.35:
        return f"{rng.choice(_LEVELS)} {base}"
    if shape < 0.6:
        return f"{rng.choice(_LEVELS)} {base} – {rng.choice(_TEAMS)}"
    if shape < 0.85:
        return f"{base} at {rng.choice(COMPANY_STEMS)}"
    return f"{base} ({rng.choice(QUALIFIERS)}, {rng.choice(_TEAMS)})"


def _titles(rng: Random, distinct: int) -> list[str]:
    """`distinct` different titles (spacing and case aside), drawn in a fixed order."""
    # The catalog's own titles, without a level word of their own ("Senior …").
    bases = [
        title.split(" ", 1)[1] if title.split(" ", 1)[0] in _LEVELS else title
        for title in position_titles(MAX_POSITIONS // (1 + len(QUALIFIERS)))
    ]
    seen: set[str] = set()
    titles: list[str] = []
    while len(titles) < distinct:
        title = _title(rng, bases)
        if title.casefold() not in seen:
            seen.add(title.casefold())
            titles.append(title)
    return titles


def talentalign_rows(
    n: int = TALENTALIGN_ROWS, *, seed: int = 0, distinct_titles: int | None = None
) -> Iterator[tuple[str, ...]]:
    """The rows (TALENTALIGN_COLUMNS) of an export of `n` candidates whose `Job Title`
    holds `distinct_titles` different values (by default in the real file's proportion,
    2,322 for 2,900 rows)."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if distinct_titles is None:
        distinct_titles = max(1, round(n * TALENTALIGN_TITLES / TALENTALIGN_ROWS))
    distinct_titles = min(distinct_titles, n)
    rng = Random(f"talentalign:{seed}")
    titles = _titles(rng, distinct_titles)
    # Every title once, the other rows repeat the first few (the common titles), in a
    # shuffled order.
    assigned = titles + [titles[i % min(60, len(titles))] for i in range(n - len(titles))]
    rng.shuffle(assigned)
    for index, title in enumerate(assigned):
        yield _row(Random(f"talentalign:{seed}:{index}"), title)


def _row(rng: Random, title: str) -> tuple[str, ...]:
    resume_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    skills = rng.sample(_SKILLS, rng.randint(3, 7)) + rng.sample(GENERIC_SKILLS, 2)
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    odd = rng.random()
    if odd < 0.04:
        # The export's Name column sometimes holds the candidate's headline skills.
        name = " • ".join(skills[:2])
    elif odd < 0.06:
        name = NOT_PROVIDED
    location = rng.choice(_CITIES) if rng.random() < 0.8 else NOT_PROVIDED
    if rng.random() < 0.33:
        # Nothing to read but a placeholder (the real file: 944 of 2,900 rows).
        return (resume_id, name, title, location, "", NOT_PROVIDED, "", "")
    years = rng.randint(0, 25)
    experience = (
        f"{years} years; {title} since {2025 - min(years, rng.randint(1, 6))}"
        if rng.random() < 0.85
        else NOT_PROVIDED
    )
    education = (
        f"{rng.choice(('B.Sc.', 'B.A.', 'M.Sc.', 'MBA', 'Diploma'))}, "
        f"University of {rng.choice(UNI_PLACES)}"
        if rng.random() < 0.75
        else NOT_PROVIDED
    )
    summary = (
        f"{title} with {years} years of experience in {', '.join(skills[:3])}."
        if rng.random() < 0.7
        else ""
    )
    return (resume_id, name, title, location, experience, ", ".join(skills), education, summary)


def write_talentalign_csv(
    path: str | os.PathLike[str] | IO[str],
    n: int = TALENTALIGN_ROWS,
    *,
    seed: int = 0,
    distinct_titles: int | None = None,
) -> int:
    """Write a talentalign-shaped export of `n` candidates (UTF-8, header row); return the
    number of rows. `path` may be a path or an open text file (opened with newline="")."""
    rows = talentalign_rows(n, seed=seed, distinct_titles=distinct_titles)
    if hasattr(path, "write"):
        return _write(path, rows)  # type: ignore[arg-type]
    with open(path, "w", encoding="utf-8", newline="") as handle:  # type: ignore[arg-type]
        return _write(handle, rows)


def _write(handle: IO[str], rows: Iterator[tuple[str, ...]]) -> int:
    writer = csv.writer(handle)
    writer.writerow(TALENTALIGN_COLUMNS)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count
