"""What a candidate file's values propose, beyond its column names (intake.columns): the
candidate ID column (named like one, and unique), the job columns (a title column with a
value per candidate is the candidate's own), the columns named like the job's that hold
contact details, and the column naming the position each candidate applied for.

`propose` reads the file once for all of them (the check page and `evaluate`); the single
readers below stay for callers that need one answer. Pure reading: the file is streamed
through csvio, nothing is written.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from .. import csvio, prompting, redact
from .columns import (
    MAX_POSITIONS,
    ROLE_JOB,
    ROLE_RESULTS,
    default_roles,
    is_id_like,
    is_position_like,
    is_title_like,
    job_column_reasons,
    position_rank,
    too_many_values,
)

# The first rows read to see what a column holds, when proposing its use: enough to tell,
# and bounded, as the check page reads them again at every change.
PROPOSAL_ROWS = 2000
# A column whose values are contact details in this share of its filled-in rows (or more)
# holds someone's contact details.
CONTACT_SHARE = 0.01


class _IdGuess:
    """The columns named like an ID still in the running: filled in and unique so far."""

    def __init__(self, header: list[str]):
        self.header = header
        self.seen: dict[int, set[str]] = {
            i: set() for i, name in enumerate(header) if is_id_like(name)
        }

    def add(self, values: list[str]) -> None:
        for index in list(self.seen):
            value = values[index].strip()
            if not value or value in self.seen[index]:
                del self.seen[index]
            else:
                self.seen[index].add(value)

    @property
    def column(self) -> str | None:
        return self.header[min(self.seen)] if self.seen else None


class PositionLooks:
    """The distinct values (title keys) of each column named like a position, until it has
    too many to be one."""

    def __init__(self, header: list[str]):
        self.header = header
        self.looks = {i: set[str]() for i, name in enumerate(header) if is_position_like(name)}
        self.rows = 0

    def add(self, values: list[str]) -> None:
        self.rows += 1
        for index in list(self.looks):
            self.looks[index].add(prompting.title_key(values[index]))
            if len(self.looks[index]) > MAX_POSITIONS:
                del self.looks[index]

    def proposal(self) -> tuple[str, int]:
        """Of the columns named like a position, one with few distinct values: at least two
        and at most one for every two rows (a value per candidate is free text)."""
        few = [
            (len(values - {""}), i)
            for i, values in self.looks.items()
            if len(values - {""}) > 1 and not too_many_values(len(values - {""}), self.rows)
        ]
        if not few:
            return "", 0
        count, index = min(few, key=lambda pair: (position_rank(self.header[pair[1]]), pair[1]))
        return self.header[index], count

    def values_of(self, column: str) -> set[str]:
        return self.looks[self.header.index(column)] - {""} if column else set()


class _Contacts:
    """Of some columns, how many of the first PROPOSAL_ROWS rows fill each in, and how many
    with someone's contact details (redact.is_contact)."""

    def __init__(self, header: list[str], columns: list[str] | set[str]):
        wanted = set(columns)
        self.at = [(i, name) for i, name in enumerate(header) if name in wanted]
        self.filled: Counter[str] = Counter()
        self.contacts: Counter[str] = Counter()
        self.read = 0

    def add(self, values: list[str]) -> None:
        if self.read >= PROPOSAL_ROWS:
            return
        self.read += 1
        for index, column in self.at:
            if value := values[index].strip():
                self.filled[column] += 1
                self.contacts[column] += redact.is_contact(value)

    def found(self) -> dict[str, tuple[int, int]]:
        return {
            column: (self.contacts[column], self.filled[column])
            for _index, column in self.at
            if self.contacts[column]
            and self.contacts[column] >= CONTACT_SHARE * self.filled[column]
        }


class _Distinct:
    """How many different values (spacing and case aside, blanks left out) each of some
    columns holds, kept as hashes so that a long text column costs little memory."""

    def __init__(self, header: list[str], columns: list[str]):
        self.at = {column: header.index(column) for column in columns if column in header}
        self.seen: dict[str, set[int]] = {column: set() for column in self.at}
        self.rows = 0

    def add(self, values: list[str]) -> None:
        self.rows += 1
        for column, index in self.at.items():
            if key := prompting.title_key(values[index]):
                self.seen[column].add(hash(key))

    def counts(self) -> dict[str, int]:
        return {column: len(values) for column, values in self.seen.items()}


def _contact_reasons(found: dict[str, tuple[int, int]], roles: dict[str, str]) -> dict[str, str]:
    return {
        column: (
            f"its values are links, e-mail addresses or phone numbers in {n:,} of {filled:,} "
            "rows: someone's contact details, not a description of the job, so it is kept "
            "in the results only"
        )
        for column, (n, filled) in found.items()
        if roles.get(column) == ROLE_JOB
    }


def _own_titles(named: list[str], distinct: _Distinct) -> dict[str, str]:
    """The title columns named like the job's with a different value for most candidates,
    each with why: each candidate's own title, not the job they applied for."""
    counts = distinct.counts()
    return {
        column: (
            f"a different value for most candidates ({counts[column]:,} values in "
            f"{distinct.rows:,} rows): each candidate's own title, not the job they applied for"
        )
        for column in named
        if column in counts and too_many_values(counts[column], distinct.rows)
    }


@dataclass
class Proposals:
    """What the check page and `evaluate` propose for a file, from one reading of it."""

    rows: int = 0  # non-blank data rows
    unreadable: csvio.ReadStats = field(default_factory=csvio.ReadStats)
    id_column: str | None = None  # guess_id_column's guess
    # The columns named like the job's that the values confirm, and those they do not
    # (job_columns_in), and the contact details found in the columns named like the job's.
    job_columns: list[str] = field(default_factory=list)
    own_titles: dict[str, str] = field(default_factory=dict)
    named_contacts: dict[str, tuple[int, int]] = field(default_factory=dict)
    # The column that looks like the position applied for, and its distinct title keys.
    position_column: str = ""
    positions: set[str] = field(default_factory=set)
    file_problem: str = ""

    def contacts(self, roles: dict[str, str]) -> dict[str, str]:
        """Of the columns `roles` has describe the job, those holding contact details,
        each with why (contact_job_columns)."""
        return _contact_reasons(self.named_contacts, roles)

    def roles(self, header: list[str], id_column: str | None) -> dict[str, str]:
        """default_roles with the values looked at: a title column with a value per
        candidate is not the job's, and a job column of contact details is kept in the
        results (contacts_among the roles by name)."""
        roles = default_roles(header, id_column, job_columns=self.job_columns)
        return {**roles, **dict.fromkeys(self.contacts(roles), ROLE_RESULTS)}

    def contacts_among(self, header: list[str], id_column: str | None) -> dict[str, str]:
        """The job columns (as `roles` would have them before) that hold contact details,
        each with why."""
        return self.contacts(default_roles(header, id_column, job_columns=self.job_columns))


def propose(path: str | Path, layout: csvio.CsvLayout) -> Proposals:
    """Every proposal for the file, the file read once: the rows and unreadable
    characters (as csvio.count_records), the ID column (guess_id_column), the job columns
    (job_columns_in), the contact details among them (contact_job_columns) and the
    position column (propose_position_column). A file that cannot be read gives its
    problem in `file_problem`."""
    header = layout.header
    named = list(job_column_reasons(header))
    titles = [c for c in named if is_position_like(c) or is_title_like(c)]
    ids, looks = _IdGuess(header), PositionLooks(header)
    contacts, distinct = _Contacts(header, named), _Distinct(header, titles)
    found = Proposals()
    try:
        for _row, values, problem in csvio.read_records(path, layout, stats=found.unreadable):
            if problem is not None and problem.code == "empty_row":
                continue
            found.rows += 1
            if problem is not None or values is None:
                # A broken row is reported by the check; and an ID column cannot be unique
                # where it could not be read, so it is no guess (guess_id_column).
                continue
            ids.add(values)
            looks.add(values)
            contacts.add(values)
            distinct.add(values)
    except csvio.CsvProblem as exc:
        found.file_problem = exc.message
        return found
    found.id_column = ids.column
    found.own_titles = _own_titles(titles, distinct)
    found.job_columns = [c for c in named if c not in found.own_titles]
    found.named_contacts = contacts.found()
    found.position_column, _ = looks.proposal()
    found.positions = looks.values_of(found.position_column)
    return found


def guess_id_column(path: str | Path, layout: csvio.CsvLayout) -> str | None:
    """The first column named like an ID whose value is filled in and different in every
    non-blank row; None when there is none (the rows are then numbered).

    A name alone is not enough: a public file may have an `id` column that repeats, or
    one that is empty in some rows, and starting with it would refuse those rows.
    """
    ids = _IdGuess(layout.header)
    if not ids.seen:
        return None
    try:
        for _row, values, problem in csvio.read_records(path, layout):
            if problem is not None or values is None:
                continue  # blank rows are skipped; a broken row is reported elsewhere
            ids.add(values)
            if not ids.seen:
                return None
    except csvio.CsvProblem:
        return None
    return ids.column


class _Reader(Protocol):
    def add(self, values: list[str]) -> None: ...


def _read_good_rows(path: str | Path, layout: csvio.CsvLayout, reader: _Reader) -> bool:
    """Feed every readable row to `reader`; False when a problem in the file stopped it
    (the check names it; what was read so far may still tell)."""
    try:
        for _row, values, problem in csvio.read_records(path, layout):
            if problem is None and values is not None:
                reader.add(values)
    except csvio.CsvProblem:
        return False
    return True


def contact_columns(
    path: str | Path, layout: csvio.CsvLayout, columns: list[str]
) -> dict[str, tuple[int, int]]:
    """Of `columns`, those whose values are someone's contact details (a link, an e-mail
    address or a phone number alone, or a LinkedIn profile: redact.is_contact) in at least
    CONTACT_SHARE of their filled-in values, among the first PROPOSAL_ROWS rows: {column:
    (rows with contact details, rows filled in)}."""
    contacts = _Contacts(layout.header, columns)
    if not contacts.at:
        return {}
    try:
        for _row, values, problem in csvio.read_records(path, layout):
            if problem is not None or values is None:
                continue
            contacts.add(values)
            if contacts.read >= PROPOSAL_ROWS:
                break
    except csvio.CsvProblem:
        pass  # the file check says what is wrong with the file
    return contacts.found()


def contact_job_columns(
    *, path: str | Path, layout: csvio.CsvLayout, roles: dict[str, str]
) -> dict[str, str]:
    """Of the columns `roles` has describe the job, those whose values are someone's
    contact details (a candidate's own LinkedIn address where the job's title goes): not
    a description of the job, so kept in the results instead. {column: why, in words}."""
    jobs = [c for c in layout.header if roles.get(c) == ROLE_JOB]
    return _contact_reasons(contact_columns(path, layout, jobs) if jobs else {}, roles)


def proposed_roles(
    *, path: str | Path, layout: csvio.CsvLayout, id_column: str | None
) -> dict[str, str]:
    """default_roles, with the file's values looked at: a column named like the job's that
    holds contact details is kept in the results (contact_job_columns). (What a person is
    proposed, on the check page and by evaluate, also leaves out a title column with a
    value per candidate: Proposals.roles. A run made without roles, as tests and
    benchmarks make them, keeps every column named like the job's.)"""
    roles = default_roles(layout.header, id_column)
    contacts = contact_job_columns(path=path, layout=layout, roles=roles)
    return {**roles, **dict.fromkeys(contacts, ROLE_RESULTS)}


def job_columns_in(*, path: Path, layout: csvio.CsvLayout) -> tuple[list[str], dict[str, str]]:
    """The columns named like the job's (job_column_reasons) that the file's values confirm,
    and those they do not, each with why. A title column with a different value for most
    candidates (an export's `Job Title`: 2,322 values in 2,900 rows) names each candidate's
    own title, not the job they applied for: it is not proposed as describing the job (the
    positions' table would have a row per candidate)."""
    named = list(job_column_reasons(layout.header))
    titles = [c for c in named if is_position_like(c) or is_title_like(c)]
    if not titles:
        return named, {}
    distinct = _Distinct(layout.header, titles)
    _read_good_rows(path, layout, distinct)  # the check names a problem
    own = _own_titles(titles, distinct)
    return [c for c in named if c not in own], own


def propose_position_column(path: str | Path, layout: csvio.CsvLayout) -> tuple[str, set[str]]:
    """The column that looks like the position each candidate applied for, and its
    distinct values as title keys (("", set()) when none does): what the check proposes,
    read alone (only the columns named like a position are looked at)."""
    looks = PositionLooks(layout.header)
    if not looks.looks:
        return "", set()
    if not _read_good_rows(path, layout, looks):
        return "", set()
    column, _ = looks.proposal()
    return column, looks.values_of(column)


def count_positions(
    path: str | Path, layout: csvio.CsvLayout, column: str
) -> tuple[Counter[str], dict[str, str]]:
    """The candidates of each position in `column` (by title_key; blanks left out) over
    every readable row, and each position's title as first written: the check page's
    table of positions, whichever column a person picks."""
    counts: Counter[str] = Counter()
    titles: dict[str, str] = {}
    if column not in layout.header:
        return counts, titles
    index = layout.header.index(column)
    try:
        for _row, values, problem in csvio.read_records(path, layout):
            if problem is not None or values is None:
                continue
            if title := " ".join(values[index].split()):
                key = prompting.title_key(title)
                counts[key] += 1
                titles.setdefault(key, title)
    except csvio.CsvProblem:
        pass  # the row checks name the problem
    return counts, titles
