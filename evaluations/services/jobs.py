"""Saved jobs: typed in the web app or read from a jobs file, kept for reuse, versioned.

A saved job is a title and what the job asks for. Candidates are matched to saved jobs by
their position column (title_key: spacing and case aside); a run copies the versions it
matched when it reads its file (ingest.JobBook), so a later edit never changes what a
finished run was scored against.

A job's text is part of the model's instructions, so saved jobs are governed as rubrics
are: the team's jobs are changed only by staff (and the command line); anyone else's edit
or import is their own copy, which only they see and which scores only their runs (their
copy of a title is the one their positions match). The check page shows the version each
position is scored against and Start pins those versions (JobsResolution).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
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


def job_owner(*, job: Job | None, author: AbstractBaseUser | None) -> Any:
    """Whose job an edit by `author` saves (None: the team's). Staff and the command line
    (None) change the team's jobs; anyone else's edit of a team's job, their new jobs and
    their imports are their own copies; an owner's edit of their copy stays theirs."""
    if job is not None and job.may_edit(author):
        return job.owner
    return None if author is None or author.is_staff else author


def job_save(
    *, job: Job | None, author: AbstractBaseUser | None, title: str, description: str
) -> Job:
    """Save a job typed in the web app (or changed): a new version of the job with that
    title, as `author` (None: the command line), in the team's jobs or in the author's own
    copies (job_owner). Saving the text the newest version already has changes nothing and
    returns that version."""
    title = " ".join(title.split())
    description = description.strip()
    if problem := job_problem(title=title, description=description):
        raise InputError(problem)
    key = title_key(title)
    owner = job_owner(job=job, author=author)
    try:
        with transaction.atomic():
            lineage = Job.objects.saved().filter(title_key=key, owner=owner)
            latest = lineage.order_by("-version").first()
            same = latest is not None and (latest.title, latest.description) == (title, description)
            if same:
                return latest
            # What this version is compared with: the one edited, else the job's newest;
            # a first copy of a team's job, against the team's version it departs from.
            based_on = job or latest
            if based_on is None and owner is not None:
                based_on = Job.objects.latest_saved().filter(title_key=key, owner=None).first()
            return Job.objects.create(
                title=title,
                description=description,
                title_key=key,
                key="",
                version=(latest.version + 1) if latest else 1,
                owner=owner,
                created_by=author,
                based_on=based_on,
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


# What to do with rows that repeat another row's title (spacing and case aside): refuse
# the file (the default), keep the first row of each title, or keep them all, the first
# under its title and the others numbered ("Nurse #2", "Nurse #3").
REPEATED_REFUSE = ""
REPEATED_KEEP_FIRST = "keep_first"
REPEATED_NUMBER = "number"
REPEATED_CHOICES = (REPEATED_REFUSE, REPEATED_KEEP_FIRST, REPEATED_NUMBER)
# How many of a jobs file's problems a message names; every one is in jobs_file_problems.
_PROBLEMS_SHOWN = 5


class JobsFileProblems(InputError):
    """A jobs file that was not read: the message names the first problems; `problems`
    holds every one as (row or None, message), and `repeated` counts the rows that repeat
    a title (a way out: keep the first, or number them)."""

    def __init__(self, message: str, problems: list[tuple[int | None, str]], repeated: int):
        super().__init__(message)
        self.problems = problems
        self.repeated = repeated


def jobs_file_problems(
    path: str | Path, *, repeated: str = REPEATED_REFUSE
) -> tuple[list[tuple[str, str]], list[tuple[int | None, str]], int]:
    """A jobs file read without raising: its jobs as (title, what it asks for), every
    problem as (row or None, message), and how many rows repeat an earlier row's title.
    With `repeated` (REPEATED_KEEP_FIRST, REPEATED_NUMBER) those rows are no problem."""
    try:
        layout = csv_layout(path=path)
    except csvio.CsvProblem as problem:
        return [], [(None, f"The jobs file cannot be read: {problem.message}")], 0
    header = layout.header
    columns = _jobs_columns(header)
    if isinstance(columns, str):
        return [], [(None, columns)], 0
    title_at, described_at, more = columns
    titles = _Titles(repeated)
    jobs: list[tuple[str, str]] = []
    problems: list[tuple[int | None, str]] = []
    try:
        for row, values, problem in csvio.read_records(path, layout):
            if problem is not None:
                if problem.code != "empty_row":
                    problems.append((problem.row, problem.message))
                continue
            assert values is not None
            title = " ".join(values[title_at].split())
            parts = [values[described_at].strip()] if described_at is not None else []
            parts += [f"{header[i]}: {values[i].strip()}" for i in more if values[i].strip()]
            description = "\n".join(part for part in parts if part)
            if not title:
                problems.append((row, f"Row {row} has no title. Write the job's title in it."))
                continue
            kept, refusal = titles.take(row, title)
            if refusal:
                problems.append((row, refusal))
            if kept is None:
                continue
            if not description:
                problems.append(
                    (
                        row,
                        f"Row {row} (“{kept}”) says nothing about what the job asks for. "
                        "Fill in its description.",
                    )
                )
                continue
            jobs.append((kept, description))
    except csvio.CsvProblem as problem:
        problems.append((problem.row, problem.message))
    return jobs, problems, titles.repeats


def _jobs_columns(header: list[str]) -> tuple[int, int | None, list[int]] | str:
    """Where a jobs file has its title and its description, and which other columns say
    more of what the job asks for; or, when it lacks one of the two, what to change."""
    plain = [_plain(name) for name in header]
    title_at = next((i for i, p in enumerate(plain) if p in _TITLE_NAMES), None)
    if title_at is None:
        return (
            "The jobs file needs a “title” column (the job's title as the candidates' "
            f"position column writes it); its columns are: {', '.join(header)}. Rename the "
            "title column to “title”."
        )
    described = [i for i, p in enumerate(plain) if p in _DESCRIPTION_NAMES and i != title_at]
    described_at = described[0] if described else None
    more = [i for i in range(len(header)) if i not in (title_at, described_at)]
    if described_at is None and not more:
        return (
            "The jobs file needs a “description” column saying what each job asks for "
            "(requirements, responsibilities, must-haves); it has only "
            f"“{header[title_at]}”."
        )
    return title_at, described_at, more


class _Titles:
    """The titles of a jobs file's rows so far, and what becomes of a row that repeats
    one (`repeated`: refused, left out, or numbered "Nurse #2")."""

    def __init__(self, repeated: str):
        self.repeated = repeated
        self.first_row: dict[str, int] = {}
        # A title's rows so far, to number the repeats ("Nurse #2").
        self.copies: dict[str, int] = {}
        self.repeats = 0

    def take(self, row: int, title: str) -> tuple[str | None, str]:
        """(the row's title as kept, or None when the row is left out; why it is refused,
        or "")."""
        key = title_key(title)
        if key in self.first_row:
            self.repeats += 1
            if self.repeated == REPEATED_KEEP_FIRST:
                return None, ""
            if self.repeated != REPEATED_NUMBER:
                return None, (
                    f"Row {row} repeats the title “{title}” of row {self.first_row[key]}. "
                    "Keep one row per job (or give them different titles)."
                )
            self.copies[key] = self.copies.get(key, 1) + 1
            numbered = f"{title} #{self.copies[key]}"
            while title_key(numbered) in self.first_row:  # "Nurse #2" was a title already
                self.copies[key] += 1
                numbered = f"{title} #{self.copies[key]}"
            title, key = numbered, title_key(numbered)
        self.first_row[key] = row
        return title, ""


def jobs_file_read(path: str | Path, *, repeated: str = REPEATED_REFUSE) -> list[tuple[str, str]]:
    """The jobs in a jobs file, as (title, what it asks for): a CSV with a `title` column,
    a `description` column, and optionally more columns, each added to the description as
    "<column>: <value>". Every problem names its row and the fix; a file with problems
    raises JobsFileProblems, which holds them all. `repeated` says what to do with rows
    that repeat a title (REPEATED_KEEP_FIRST, REPEATED_NUMBER; by default they are
    problems)."""
    jobs, problems, repeats = jobs_file_problems(path, repeated=repeated)
    if problems:
        messages = [message for _row, message in problems]
        more_text = (
            f" (and {len(messages) - _PROBLEMS_SHOWN} more problems)"
            if len(messages) > _PROBLEMS_SHOWN
            else ""
        )
        raise JobsFileProblems(
            "The jobs file was not read, nothing was saved: "
            + " ".join(messages[:_PROBLEMS_SHOWN])
            + more_text,
            problems,
            repeats if repeated == REPEATED_REFUSE else 0,
        )
    if not jobs:
        raise InputError("The jobs file has no jobs in it: one row per job, under the header.")
    return jobs


def jobs_import(
    *, path: str | Path, author: AbstractBaseUser | None, repeated: str = REPEATED_REFUSE
) -> JobsImport:
    """Read a jobs file and save each job: new, a new version when its text changed, or
    as it was. All or nothing: a file with a problem saves no job. A person who is not
    staff imports into their own copies (job_owner); the command line (None) and staff
    into the team's jobs. `repeated`: see jobs_file_read."""
    rows = jobs_file_read(path, repeated=repeated)
    owner = job_owner(job=None, author=author)
    found = JobsImport()
    with transaction.atomic():
        for title, description in rows:
            lineage = Job.objects.saved().filter(title_key=title_key(title), owner=owner)
            latest = lineage.order_by("-version").first()
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
    *,
    chunks: Iterable[bytes],
    author: AbstractBaseUser | None,
    size: int | None = None,
    repeated: str = REPEATED_REFUSE,
) -> JobsImport:
    """jobs_import for a file that arrives as bytes (the web app's upload): written to a
    temporary file for the CSV reader, which needs to read it twice, and removed once read.
    The file is not kept: every job it held is saved, with who imported it, as a version
    of its job; a file with a problem saves nothing and leaves nothing behind (the web
    app may keep its bytes a while with jobs_file_keep, for the ways out). A file of
    `size` bytes is refused first unless the data directory has room for its jobs
    (ensure_free_space, as for every upload)."""
    if size is not None:
        ensure_free_space(size=size)
    with _as_file(chunks) as name:
        return jobs_import(path=name, author=author, repeated=repeated)


@contextlib.contextmanager
def _as_file(chunks: Iterable[bytes]) -> Iterator[str]:
    """Bytes written to a temporary file for the CSV reader, removed on the way out."""
    handle, name = tempfile.mkstemp(prefix="hrbatch-jobs-", suffix=".csv")
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
        yield name
    finally:
        Path(name).unlink(missing_ok=True)


def jobs_upload_problems(*, data: bytes) -> tuple[list[tuple[int | None, str]], int]:
    """Every problem of a jobs file held as bytes (the web app's kept upload), and how
    many of its rows repeat an earlier row's title."""
    with _as_file([data]) as name:
        _jobs, problems, repeats = jobs_file_problems(name)
    return problems, repeats


# A jobs file that was refused is kept this long (in the cache, never in the database), so
# that its owner can download the whole list of its problems or import it with a way out
# (keep the first of repeated titles, or number them) without choosing the file again.
KEPT_JOBS_FILE_SECONDS = 3600


def jobs_file_keep(*, data: bytes, filename: str, owner: AbstractBaseUser) -> str:
    """Keep a refused jobs file's bytes for its owner a while; the token names it."""
    token = secrets.token_urlsafe(16)
    cache.set(
        f"hrbatch:jobs-file:{token}",
        {"owner": owner.pk, "filename": filename, "data": data},
        KEPT_JOBS_FILE_SECONDS,
    )
    return token


def jobs_file_kept(*, token: str, owner: AbstractBaseUser) -> tuple[str, bytes] | None:
    """A kept jobs file (its name and bytes) if `owner` kept it and it has not expired."""
    if not token or len(token) > 64:
        return None
    kept = cache.get(f"hrbatch:jobs-file:{token}")
    if not kept or kept.get("owner") != owner.pk:
        return None
    return str(kept["filename"]), bytes(kept["data"])


def saved_jobs(owner: AbstractBaseUser | None = None) -> dict[str, Job]:
    """The saved job each title stands for, for `owner` (None: the command line, the team's
    jobs only), by title_key: the newest version of their own copy of that title if they
    have one, else the newest version of the team's."""
    found: dict[str, Job] = {}
    latest = Job.objects.visible_to(owner).latest_saved().select_related("created_by")
    for job in latest.order_by("title_key"):
        if job.title_key not in found or not job.is_shared:
            found[job.title_key] = job
    return found


def saved_job_texts(owner: AbstractBaseUser | None = None) -> dict[str, str]:
    """The text the model reads for each of `owner`'s saved jobs (saved_jobs), by
    title_key: what the file check matches candidates' positions against."""
    return {key: job.model_text for key, job in saved_jobs(owner).items()}


@dataclass(frozen=True)
class JobsChoice:
    """Candidates matched to saved jobs by their position column: the column, the
    positions a person mapped by hand (a position's title_key → the title_key of the saved
    job to score it against, "" to score its candidates without a job), and what to do with
    the rest, the positions that match no saved job's title: `rest` None refuses Start
    until each is mapped, "" scores them without a job, a title_key against that job.
    `pinned`, once Start was pressed: each position's title_key → the pk of the saved job
    version it is scored against (None: without a job), as the check page showed them
    (jobs_resolve); a run stores that."""

    position_column: str
    mapping: dict[str, str] = field(default_factory=dict)
    rest: str | None = None
    pinned: dict[str, int | None] | None = None

    def target(self, position: str, saved: dict[str, Any]) -> str | None:
        """The title_key of the saved job a position is scored against ("": none; None:
        it matches nothing and was not mapped), given the saved jobs by title_key."""
        if position in self.mapping:
            return self.mapping[position]
        if position in saved:
            return position
        return self.rest

    def for_run(self, owner: AbstractBaseUser | None = None) -> dict[str, object]:
        """As a run stores it (Run.columns["jobs"]), the saved versions fixed: the
        position column, and each position's title_key → the saved Job's pk (None:
        without a job). The versions pinned at Start, or else `owner`'s newest now."""
        if self.pinned is not None:
            return {"position_column": self.position_column, "map": dict(self.pinned)}
        stored: dict[str, object] = {
            "position_column": self.position_column,
            "map": job_map_resolve(self.mapping, owner),
        }
        if self.rest:
            stored["rest"] = job_map_resolve({"*": self.rest}, owner)["*"]
        return stored


def job_map_resolve(
    mapping: dict[str, str], owner: AbstractBaseUser | None = None
) -> dict[str, int | None]:
    """A run's position → saved job choices as stored for its ingest: each position's
    title_key to the pk of the saved job version it is scored against (None: without a
    job). `mapping` holds the positions a person mapped by hand (title_key → the saved
    job's title_key, "" for none); every other position goes to `owner`'s saved job of
    its own title, when there is one."""
    jobs = saved_jobs(owner)
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


@dataclass
class JobsResolution:
    """Each position of a file and the saved job version it is scored against, as the
    check page shows it and Start pins it: `targets` (title_key → the Job, or None for
    without a job) and `unmatched` (the positions that match nothing and are not mapped)."""

    targets: dict[str, Job | None]
    unmatched: set[str]
    # The saved job each title stands for (saved_jobs), as read for this resolution.
    saved: dict[str, Job] = field(default_factory=dict)

    @property
    def pinned(self) -> dict[str, int | None]:
        return {key: (job.pk if job else None) for key, job in self.targets.items()}

    @property
    def versions(self) -> list[int]:
        """The saved job versions the positions are scored against (their pks)."""
        return sorted({job.pk for job in self.targets.values() if job is not None})

    @property
    def digest(self) -> str:
        """A short fingerprint of which position goes to which version: Start compares
        it with the page's, so a mapping changed elsewhere meanwhile is caught too."""
        text = "\n".join(f"{key}\t{pk}" for key, pk in sorted(self.pinned.items()))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def jobs_resolve(
    *, choice: JobsChoice, owner: AbstractBaseUser | None, positions: Iterable[str]
) -> JobsResolution:
    """The saved job version each position (title_key) is scored against for `owner`,
    read once: what the check page shows, and what Start compares and pins."""
    saved = saved_jobs(owner)
    targets: dict[str, Job | None] = {}
    unmatched: set[str] = set()
    for position in positions:
        target = choice.target(position, saved)
        if target is None or (target and target not in saved):
            unmatched.add(position)
        else:
            targets[position] = saved[target] if target else None
    return JobsResolution(targets=targets, unmatched=unmatched, saved=saved)


__all__ = [
    "DESCRIPTION_COLUMN",
    "REPEATED_CHOICES",
    "REPEATED_KEEP_FIRST",
    "REPEATED_NUMBER",
    "REPEATED_REFUSE",
    "TITLE_COLUMN",
    "JobsChoice",
    "JobsFileProblems",
    "JobsImport",
    "JobsResolution",
    "job_map_resolve",
    "job_owner",
    "job_problem",
    "job_save",
    "jobs_file_keep",
    "jobs_file_kept",
    "jobs_file_problems",
    "jobs_file_read",
    "jobs_import",
    "jobs_import_upload",
    "jobs_resolve",
    "jobs_upload_problems",
    "saved_job_texts",
    "saved_jobs",
]
