"""Saved jobs: typed in the web app or read from a jobs file, kept for reuse, versioned.

A saved job is a title and what the job asks for. Candidates are matched to saved jobs by
their position column (title_key: spacing and case aside); a run copies the versions it
matched when it reads its file (ingest.JobBook), so a later edit never changes what a
finished run was scored against.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from .. import csvio
from ..models import Job
from ..prompting import title_key
from .common import InputError
from .files import csv_layout, ensure_free_space

# A jobs file's columns: the title, and what the job asks for. Any further column is what
# the job asks for too ("requirements: …"), added after the description.
TITLE_COLUMN = "title"
DESCRIPTION_COLUMN = "description"
# Other names people give those two columns (spacing, case and _ aside).
_TITLE_NAMES = {"title", "jobtitle", "job", "position", "positiontitle", "role", "name", "jobname"}
_DESCRIPTION_NAMES = {"description", "jobdescription", "details", "summary", "text"}
# A saved job's text is read by the model before every one of its candidates: long enough
# for a real job ad, short enough to leave the candidate room.
MAX_DESCRIPTION_CHARS = 8000


def _plain(name: str) -> str:
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def job_problem(*, title: str, description: str) -> str:
    """What is wrong with a job as typed, in words for the person typing it; "" if nothing.
    job_save refuses such a job; a form may ask first (the admin does)."""
    title = " ".join(title.split())
    description = description.strip()
    if not title:
        return "Give the job a title, as candidates' position column writes it."
    if not description:
        return (
            f"Write what the job “{title}” asks for: its requirements, responsibilities "
            "and must-haves. The AI scores each candidate against this text."
        )
    if len(description) > MAX_DESCRIPTION_CHARS:
        return (
            f"What the job “{title}” asks for is {len(description):,} characters; keep it "
            f"under {MAX_DESCRIPTION_CHARS:,} (the AI reads it before every candidate)."
        )
    return ""


def job_save(
    *, job: Job | None, author: AbstractBaseUser | None, title: str, description: str
) -> Job:
    """Save a job typed in the web app (or changed): a new version of the job with that
    title, as `author` (None: the command line). Saving the text the newest version already
    has changes nothing and returns that version."""
    title = " ".join(title.split())
    description = description.strip()
    if problem := job_problem(title=title, description=description):
        raise InputError(problem)
    key = title_key(title)
    try:
        with transaction.atomic():
            latest = Job.objects.saved().filter(title_key=key).order_by("-version").first()
            same = latest is not None and (latest.title, latest.description) == (title, description)
            if same:
                return latest
            return Job.objects.create(
                title=title,
                description=description,
                title_key=key,
                key="",
                version=(latest.version + 1) if latest else 1,
                created_by=author,
                based_on=job if job is not None else latest,
            )
    except IntegrityError:
        # Someone else saved this version number between our read and our write.
        raise InputError(
            f"Someone saved a version of “{title}” at the same moment. Nothing of yours was "
            "saved: look at the job's newest version, then save again if yours is still "
            "needed (your text is still in the form)."
        ) from None


@dataclass
class JobsImport:
    """What reading a jobs file did: the saved jobs it made (new, or a new version) and
    the ones whose text was already saved."""

    jobs: list[Job] = field(default_factory=list)
    created: list[Job] = field(default_factory=list)
    changed: list[Job] = field(default_factory=list)
    unchanged: list[Job] = field(default_factory=list)

    @property
    def summary(self) -> str:
        parts = [f"{len(self.jobs)} job{'s' if len(self.jobs) != 1 else ''} read"]
        if self.created:
            parts.append(f"{len(self.created)} new")
        if self.changed:
            parts.append(f"{len(self.changed)} with a new version")
        if self.unchanged:
            parts.append(f"{len(self.unchanged)} already saved as they are")
        return ", ".join(parts) + "."


def jobs_file_read(path: str | Path) -> list[tuple[str, str]]:
    """The jobs in a jobs file, as (title, what it asks for): a CSV with a `title` column,
    a `description` column, and optionally more columns, each added to the description as
    "<column>: <value>". Every problem names its row and the fix."""
    try:
        layout = csv_layout(path=path)
    except csvio.CsvProblem as problem:
        raise InputError(f"The jobs file cannot be read: {problem.message}") from None
    header = layout.header
    plain = [_plain(name) for name in header]
    title_at = next((i for i, p in enumerate(plain) if p in _TITLE_NAMES), None)
    if title_at is None:
        raise InputError(
            "The jobs file needs a “title” column (the job's title as the candidates' "
            f"position column writes it); its columns are: {', '.join(header)}. Rename the "
            "title column to “title”."
        )
    described = [i for i, p in enumerate(plain) if p in _DESCRIPTION_NAMES and i != title_at]
    described_at = described[0] if described else None
    more = [i for i in range(len(header)) if i not in (title_at, described_at)]
    if described_at is None and not more:
        raise InputError(
            "The jobs file needs a “description” column saying what each job asks for "
            "(requirements, responsibilities, must-haves); it has only "
            f"“{header[title_at]}”."
        )
    jobs: list[tuple[str, str]] = []
    first_row: dict[str, int] = {}
    problems: list[str] = []
    try:
        for row, values, problem in csvio.read_records(path, layout):
            if problem is not None:
                if problem.code != "empty_row":
                    problems.append(problem.message)
                continue
            assert values is not None
            title = " ".join(values[title_at].split())
            parts = [values[described_at].strip()] if described_at is not None else []
            parts += [f"{header[i]}: {values[i].strip()}" for i in more if values[i].strip()]
            description = "\n".join(part for part in parts if part)
            if not title:
                problems.append(f"Row {row} has no title. Write the job's title in it.")
                continue
            key = title_key(title)
            if key in first_row:
                problems.append(
                    f"Row {row} repeats the title “{title}” of row {first_row[key]}. Keep one "
                    "row per job (or give them different titles)."
                )
                continue
            first_row[key] = row
            if not description:
                problems.append(
                    f"Row {row} (“{title}”) says nothing about what the job asks for. Fill in "
                    "its description."
                )
                continue
            jobs.append((title, description))
    except csvio.CsvProblem as problem:
        problems.append(problem.message)
    if problems:
        more_text = f" (and {len(problems) - 5} more problems)" if len(problems) > 5 else ""
        raise InputError(
            "The jobs file was not read, nothing was saved: " + " ".join(problems[:5]) + more_text
        )
    if not jobs:
        raise InputError("The jobs file has no jobs in it: one row per job, under the header.")
    return jobs


def jobs_import(*, path: str | Path, author: AbstractBaseUser | None) -> JobsImport:
    """Read a jobs file and save each job: new, a new version when its text changed, or
    as it was. All or nothing: a file with a problem saves no job."""
    rows = jobs_file_read(path)
    found = JobsImport()
    with transaction.atomic():
        for title, description in rows:
            before = Job.objects.saved().filter(title_key=title_key(title)).order_by("-version")
            latest = before.first()
            job = job_save(job=None, author=author, title=title, description=description)
            found.jobs.append(job)
            if latest is None:
                found.created.append(job)
            elif latest.pk == job.pk:
                found.unchanged.append(job)
            else:
                found.changed.append(job)
    return found


def jobs_import_upload(
    *, chunks: Iterable[bytes], author: AbstractBaseUser | None, size: int | None = None
) -> JobsImport:
    """jobs_import for a file that arrives as bytes (the web app's upload): written to a
    temporary file for the CSV reader, which needs to read it twice, and removed once read.
    The file is not kept: every job it held is saved, with who imported it, as a version
    of its job; a file with a problem saves nothing and leaves nothing behind. A file of
    `size` bytes is refused first unless the data directory has room for its jobs
    (ensure_free_space, as for every upload)."""
    if size is not None:
        ensure_free_space(size=size)
    handle, name = tempfile.mkstemp(prefix="hrbatch-jobs-", suffix=".csv")
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
        return jobs_import(path=name, author=author)
    finally:
        Path(name).unlink(missing_ok=True)


def saved_jobs() -> dict[str, Job]:
    """The newest version of every saved job, by title_key."""
    return {job.title_key: job for job in Job.objects.latest_saved()}


def saved_job_texts() -> dict[str, str]:
    """The text the model reads for each saved job (newest versions), by title_key: what
    the file check matches candidates' positions against."""
    return {key: job.model_text for key, job in saved_jobs().items()}


@dataclass(frozen=True)
class JobsChoice:
    """Candidates matched to saved jobs by their position column: the column, and the
    positions a person mapped by hand (a position's title_key → the title_key of the saved
    job to score it against, "" to score its candidates without a job)."""

    position_column: str
    mapping: dict[str, str] = field(default_factory=dict)

    def for_run(self) -> dict[str, object]:
        """As a run stores it (Run.columns["jobs"]), the saved versions fixed now: the
        position column, and each position's title_key → the saved Job's pk (None:
        without a job)."""
        return {"position_column": self.position_column, "map": job_map_resolve(self.mapping)}


def job_map_resolve(mapping: dict[str, str]) -> dict[str, int | None]:
    """A run's position → saved job choices as stored for its ingest: each position's
    title_key to the pk of the saved job version it is scored against (None: without a
    job). `mapping` holds the positions a person mapped by hand (title_key → the saved
    job's title_key, "" for none); every other position goes to the saved job of its own
    title, when there is one."""
    jobs = saved_jobs()
    resolved: dict[str, int | None] = {key: job.pk for key, job in jobs.items()}
    for position, target in mapping.items():
        if not target:
            resolved[position] = None
        elif target in jobs:
            resolved[position] = jobs[target].pk
        else:
            raise InputError(
                f"There is no saved job called “{target}” to score “{position}” against."
            )
    return resolved


__all__ = [
    "DESCRIPTION_COLUMN",
    "TITLE_COLUMN",
    "JobsChoice",
    "JobsImport",
    "job_map_resolve",
    "job_problem",
    "job_save",
    "jobs_file_read",
    "jobs_import",
    "jobs_import_upload",
    "saved_job_texts",
    "saved_jobs",
]
