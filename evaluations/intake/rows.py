"""The one reading of a candidate file's rows, for the check before a run and the ingest.

Given the file, its layout and what a person chose (the ID column, the column roles,
redaction, the jobs, what to do with long rows), each row's fields shown to the AI, its
job (from the file's job columns, or the saved job its position names), its length
against what the model can read, its flags and whether it repeats an earlier candidate
are worked out here, once: `intake.check.check_file` counts what `read_rows` yields,
`services.ingest.run_ingest` writes it. So the check page can never promise what the
ingest then does differently.

Pure reading (no database): the file is streamed through csvio; saved jobs come in as
plain values (SavedJob).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .. import csvio, flags, prompting, redact
from .columns import (
    ROLE_AUDIT_ONLY,
    ROLE_IGNORE,
    ROLE_JOB,
    ROLE_MODEL,
    ROLE_RESULTS,
    is_name_column,
    job_title_column,
)


def candidate_key(values: Iterable[str], job: str = "") -> bytes:
    """What makes two rows the same candidate: the same text shown to the AI (each column's
    value, spacing and case aside) for the same job (`job`: its prompting.job_key, "" for
    none). The check page counts copies by it and the ingest scores each key once.

    16 bytes of BLAKE2b: a set of them for 170,000 rows stays a few MB."""
    digest = hashlib.blake2b(job.encode(), digest_size=16)
    for value in values:
        # str.split() also splits on the unit separator, so no value can forge a border.
        digest.update(b"\x1f" + " ".join(value.split()).casefold().encode())
    return digest.digest()


@dataclass(frozen=True)
class SavedJob:
    """A saved job version as candidates are matched to it: what the model reads of it."""

    pk: int
    title: str
    text: str


@dataclass
class PositionJobs:
    """Candidates matched to saved jobs by their position column: each position's
    title_key → the saved job it is scored against (None: without a job); `rest` for the
    positions not in `targets`, unless `refuse_rest` (then they match no job: the check
    refuses Start until each is mapped). `missing`: positions mapped to a job that is not
    saved any more (they match no job either)."""

    column: str
    targets: dict[str, SavedJob | None]
    rest: SavedJob | None = None
    refuse_rest: bool = False
    missing: set[str] = field(default_factory=set)

    def match(self, position: str) -> tuple[SavedJob | None, bool]:
        """The job of a position (a title_key; "" for a blank one), and whether it
        matches no job."""
        if not position:
            return None, False
        if position in self.missing:
            return None, True
        if position in self.targets:
            return self.targets[position], False
        return (None, True) if self.refuse_rest else (self.rest, False)


class JobRedaction:
    """Identity out of the jobs' text, as model_view takes it out of the candidates' (a
    job column may hold a candidate's own profile link, a saved job a contact address):
    e-mails, phone numbers and links, and in a job read from the candidate's own row, the
    candidate's name. Counts what it hid in each job once (`hidden`, by job key)."""

    def __init__(self, header: list[str], *, region: str):
        self.names_at = [i for i, column in enumerate(header) if is_name_column(column)]
        self.region = region
        self.saved: dict[int, tuple[str, Counter[str]]] = {}
        self.hidden: dict[str, int] = {}

    def row(self, job: dict[str, str], values: list[str]) -> tuple[dict[str, str], Counter[str]]:
        """One row's job columns, redacted with that row's names."""
        redactor = redact.Redactor(names=[values[i] for i in self.names_at], region=self.region)
        return {column: redactor(value) for column, value in job.items()}, redactor.counts

    def saved_job(self, job: SavedJob) -> tuple[str, Counter[str]]:
        """A saved job's text, redacted once for the run (no candidate's name: it is the
        team's text, the same for every candidate)."""
        if job.pk not in self.saved:
            redactor = redact.Redactor(region=self.region)
            self.saved[job.pk] = (redactor(job.text), redactor.counts)
        return self.saved[job.pk]

    def count(self, key: str, counts: Counter[str]) -> None:
        self.hidden.setdefault(key, sum(counts.values()))

    @property
    def total(self) -> int:
        return sum(self.hidden.values())

    @property
    def jobs(self) -> int:
        return sum(1 for n in self.hidden.values() if n)


class RowPlan:
    """How every row of one file is read with one set of choices: `roles` gives the
    columns of `header` their use (columns.run_roles); `jobs`, saved jobs matched by
    position (else the job columns describe the job); `limit`, the characters the model
    can read (None: not checked); `leave_out_long`, rows over it are left out; rows whose
    shown columns hold fewer than `min_chars` letters and digits have too little text."""

    def __init__(
        self,
        header: list[str],
        *,
        id_column: str | None,
        roles: dict[str, str],
        redact: bool = True,
        region: str = "",
        jobs: PositionJobs | None = None,
        limit: int | None = None,
        leave_out_long: bool = False,
        min_chars: int = 0,
    ):
        self.header = header
        self.id_at = header.index(id_column) if id_column else None
        self.model_at = [i for i, c in enumerate(header) if roles.get(c) == ROLE_MODEL]
        self.job_at = [i for i, c in enumerate(header) if roles.get(c) == ROLE_JOB]
        kept = (ROLE_RESULTS, ROLE_AUDIT_ONLY, ROLE_IGNORE)
        # Item.extra: what the results keep, the job columns last.
        self.extra_at = [i for i, c in enumerate(header) if roles.get(c) in kept] + self.job_at
        self.job_columns = [header[i] for i in self.job_at] if jobs is None else []
        self.title_column = job_title_column(self.job_columns) if self.job_columns else ""
        self.jobs = jobs
        # A position column not in the file matches nobody (the ingest refuses it first).
        in_file = jobs is not None and jobs.column in header
        self.position_at = header.index(jobs.column) if in_file and jobs else None
        self.hiding = JobRedaction(header, region=region) if redact else None
        self.limit = limit
        self.leave_out_long = leave_out_long
        self.min_chars = min_chars


@dataclass
class Row:
    """One readable row as a run takes it."""

    line: int  # the spreadsheet row
    values: list[str]
    custom_id: str
    fields: dict[str, str]  # shown to the AI, in the file's order
    job_title: str
    job_text: str  # with identity taken out when the run redacts
    job_key: str  # prompting.job_key of job_text ("" without a job)
    based_on: int | None  # the saved job it is copied from
    position: str  # the position column's value, as a title_key
    position_title: str  # as written, spacing aside
    unmatched: bool  # its position matches no job
    chars: int  # what the model reads of it: the candidate's text and the job's section
    long: bool  # more than the model can read
    left_out: bool  # long, and such rows are left out
    little: bool  # too little text to score (never sent to the AI, never a copy)
    copy_of: int | None  # the line of the earlier row it repeats
    hidden: Counter[str]  # what was taken out of the job's text

    def extra(self, plan: RowPlan) -> dict[str, str]:
        """Item.extra: the columns kept for the results, audit and the job."""
        return {plan.header[i]: self.values[i] for i in plan.extra_at}


def _row_job(
    plan: RowPlan, values: list[str]
) -> tuple[str, str, int | None, str, str, bool, Counter[str]]:
    """(title, text, saved job pk, position key, position title, unmatched, hidden)."""
    hidden: Counter[str] = Counter()
    if plan.jobs is not None:
        if plan.position_at is None:
            return "", "", None, "", "", False, hidden
        written = " ".join(values[plan.position_at].split())
        position = prompting.title_key(written)
        job, unmatched = plan.jobs.match(position)
        if job is None:
            return "", "", None, position, written, unmatched, hidden
        text = job.text
        if plan.hiding is not None:
            text, hidden = plan.hiding.saved_job(job)
        return job.title, text, job.pk, position, written, False, hidden
    if plan.job_at:
        job_values = {plan.header[i]: values[i] for i in plan.job_at}
        if plan.hiding is not None:
            # The title too: rows whose job differs only by a link are one job.
            job_values, hidden = plan.hiding.row(job_values, values)
        title, text = prompting.job_text(job_values, plan.title_column)
        return title, text, None, "", "", False, hidden
    return "", "", None, "", "", False, hidden


def read_rows(
    path: str | Path,
    layout: csvio.CsvLayout,
    plan: RowPlan,
    *,
    id_column: str | None,
    stats: csvio.ReadStats | None = None,
) -> Iterator[Row | csvio.RowProblem]:
    """Each record of the file: a Row, or the RowProblem that keeps it out (csvio's:
    empty rows, unreadable rows, duplicate or missing IDs). Raises csvio.CsvProblem for a
    problem of the whole file."""
    firsts: dict[bytes, int] = {}  # the first line of each candidate-and-job
    for line, values, problem in csvio.read_records(path, layout, id_column=id_column, stats=stats):
        if problem is not None:
            yield problem
            continue
        assert values is not None
        fields = {plan.header[i]: values[i] for i in plan.model_at}
        title, text, based_on, position, written, unmatched, hidden = _row_job(plan, values)
        # What the job adds to this candidate's prompt counts against what it can hold.
        chars = len(prompting.candidate_text(fields)) + len(prompting.job_section(text))
        long = plan.limit is not None and chars > plan.limit
        left_out = long and plan.leave_out_long
        little = bool(plan.min_chars) and not flags.has_enough_text(fields, plan.min_chars)
        key = prompting.job_key(text) if text else ""
        first = None
        if not left_out:
            if key and plan.hiding is not None:
                plan.hiding.count(key, hidden)
            if not little:  # too little text is never scored: such rows are no copies
                first = firsts.setdefault(candidate_key(fields.values(), key), line)
        yield Row(
            line=line,
            values=values,
            custom_id=values[plan.id_at].strip() if plan.id_at is not None else f"row-{line}",
            fields=fields,
            job_title=title,
            job_text=text,
            job_key=key,
            based_on=based_on,
            position=position,
            position_title=written,
            unmatched=unmatched,
            chars=chars,
            long=long,
            left_out=left_out,
            little=little,
            copy_of=first if first is not None and first != line else None,
            hidden=hidden,
        )
