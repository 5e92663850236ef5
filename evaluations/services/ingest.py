"""The ingest: a candidate file's rows into Items, as the run's choices say.

The rows are read by `intake.rows.read_rows`, the same reading the check before a run
counts (intake.check, through `file_check` here), so the check page and the ingest agree
row for row; the column policy is `intake.columns`. Here it is applied to a stored File,
and the rows become Items and the jobs Jobs.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.utils import timezone

from .. import csvio, flags, notify, prompting
from ..intake.check import FileCheck, check_file
from ..intake.columns import (
    ROLE_AUDIT_ONLY,
    ROLE_ID,
    ROLE_IGNORE,
    ROLE_JOB,
    ROLE_MODEL,
    ROLE_RESULTS,
    ROLES,
    ROW_NUMBER,
    default_roles,
    id_column_from,
    is_name_column,
    is_protected,
    job_column_reasons,
    job_title_column,
    role_reason,
    role_reasons,
    run_roles,
)
from ..intake.proposals import (
    contact_job_columns,
    count_positions,
    job_columns_in,
    proposed_roles,
)
from ..intake.proposals import guess_id_column as guess_id_column_in
from ..intake.rows import PositionJobs, Row, RowPlan, SavedJob, read_rows
from ..models import (
    LONG_ROWS_LEAVE_OUT,
    LONG_ROWS_TRUNCATE,
    File,
    Item,
    Job,
    Rubric,
    Run,
    RunColumns,
)
from ..prompting import job_key, job_text
from .common import input_problem as _problem_dict
from .files import csv_layout
from .items import ItemWriter, run_items_delete
from .jobs import JobsChoice, saved_jobs
from .rubrics import rubric_default

# Re-exported for services/__init__ and the services that import them from here (the
# column policy itself lives in intake.columns and intake.proposals).
__all__ = [
    "LONG_ROWS_LEAVE_OUT",
    "LONG_ROWS_TRUNCATE",
    "ROLES",
    "ROLE_AUDIT_ONLY",
    "ROLE_ID",
    "ROLE_IGNORE",
    "ROLE_JOB",
    "ROLE_MODEL",
    "ROLE_RESULTS",
    "ROW_NUMBER",
    "ItemWriter",
    "JobBook",
    "JobSummary",
    "Positions",
    "candidate_chars_limit",
    "contact_job_columns",
    "default_roles",
    "file_check",
    "file_positions",
    "guess_id_column",
    "id_column_from",
    "is_name_column",
    "is_protected",
    "job_column_reasons",
    "job_columns_in",
    "job_key",
    "job_summary",
    "job_text",
    "job_title_column",
    "plan_for_run",
    "position_jobs",
    "proposed_roles",
    "role_reason",
    "role_reasons",
    "run_chars_limit",
    "run_fail_validation",
    "run_ingest",
]


def guess_id_column(*, path: Path, layout: csvio.CsvLayout) -> str | None:
    """One guess for every door: a column named like an ID whose values are filled in and
    unique (the file is read to know); None means the rows are numbered."""
    return guess_id_column_in(path, layout)


def answer_format_setting() -> str:
    """The answer format new runs start with (HRBATCH_ANSWER_FORMAT, checked when the
    settings load: a typo stops the app at start)."""
    return str(settings.HRBATCH.get("ANSWER_FORMAT") or prompting.FORMAT_KEYED)


@dataclasses.dataclass
class JobSummary:
    """The jobs a candidate file's job columns describe: how many, and the candidates of
    the largest ones (shown on the check page before a run)."""

    columns: list[str]
    title_column: str
    count: int
    top: list[tuple[str, int]]
    without_job: int

    @property
    def more(self) -> int:
        return self.count - len(self.top)


def job_summary(*, check: FileCheck, top: int = 10) -> JobSummary | None:
    """The jobs the file check found with its job columns (None when no column describes
    the job): rows whose job columns say the same thing are one job, as the ingest will
    make them."""
    if not check.job_columns:
        return None
    return JobSummary(
        columns=check.job_columns,
        title_column=check.job_title_column,
        count=len(check.jobs),
        top=[(check.job_titles[key], n) for key, n in check.jobs.most_common(top)],
        without_job=check.without_job,
    )


# --- The check before a run: the web page and the CLI share it -------------------------


def position_jobs(choice: JobsChoice, owner: AbstractBaseUser | None) -> PositionJobs:
    """A jobs choice as the check reads it: each position to `owner`'s saved job of its
    title or the one mapped by hand, newest versions now (or those pinned at Start); the
    positions neither matches are refused until mapped, unless `rest` says where they go."""
    saved = saved_jobs(owner)
    targets: dict[str, SavedJob | None] = {key: _saved(job) for key, job in saved.items()}
    missing = set()
    for position, target in choice.mapping.items():
        if not target:
            targets[position] = None
        elif target in saved:
            targets[position] = targets[target]
        else:
            missing.add(position)
    rest = saved.get(choice.rest) if choice.rest else None
    return PositionJobs(
        column=choice.position_column,
        targets=targets,
        rest=_saved(rest) if rest else None,
        # Positions that match nothing wait to be mapped (or their job is not saved).
        refuse_rest=choice.rest is None or bool(choice.rest and rest is None),
        missing=missing,
    )


def _stored_position_jobs(stored: dict[str, Any]) -> PositionJobs:
    """The jobs choice a run stored (JobsChoice.for_run) as its ingest reads it: each
    position to the saved job version pinned for it, every other one to `rest` (or
    without a job)."""
    mapping: dict[str, int | None] = dict(stored.get("map") or {})
    rest_pk = stored.get("rest")
    wanted = {pk for pk in [*mapping.values(), rest_pk] if pk}
    found = {job.pk: _saved(job) for job in Job.objects.filter(pk__in=wanted, run=None)}
    return PositionJobs(
        column=str(stored.get("position_column") or ""),
        targets={key: found.get(pk) if pk else None for key, pk in mapping.items()},
        rest=found.get(rest_pk) if rest_pk else None,
    )


def _saved(job: Job) -> SavedJob:
    return SavedJob(pk=job.pk, title=job.title, text=job.model_text)


def file_check(
    *,
    input_file: File,
    intake: RunColumns | None = None,
    rubric: Rubric | None = None,
    pack_size: int = 1,
    jobs: JobsChoice | None = None,
    owner: AbstractBaseUser | None = None,
) -> FileCheck:
    """Every row of the file read once with these choices (`intake`: the ID column, the
    roles, the encoding, redaction, long rows, as run_create takes them): its problems,
    rows too long for the model, and (FileCheck.refusals) whether Start must be refused
    and why. With `jobs`, candidates are matched to `owner`'s saved jobs (position_jobs)
    by their position column (positions that match none are refused until mapped by
    hand, or scored without a job).

    The web check page and `manage.py evaluate` both ask this before a run is made, so
    they refuse the same files for the same reasons: duplicate or missing IDs or unreadable
    rows while "leave out rows with problems" is off, and rows too long for the model
    until someone chooses what to do with them. (A run that started anyway would fail at
    once, with nothing but a header to download.) The rows are read as the ingest reads
    them (intake.rows), so what it counts is what the run will hold."""
    intake = intake or RunColumns()
    id_column = intake.id_column
    limit = candidate_chars_limit(rubric=rubric or rubric_default(), pack_size=pack_size)
    try:
        layout = csv_layout(path=input_file.abspath, encoding=intake.encoding)
    except csvio.CsvProblem as problem:
        return FileCheck(id_column=id_column, limit=limit, file_problem=problem.message)
    path = input_file.abspath
    roles = intake.roles or proposed_roles(path=path, layout=layout, id_column=id_column)
    position = jobs.position_column if jobs else ""
    plan = RowPlan(
        layout.header,
        id_column=id_column,
        roles=run_roles(layout.header, roles, id_column=id_column, position_column=position),
        redact=intake.redact,
        region=str(settings.HRBATCH["PHONE_REGION"]),
        jobs=position_jobs(jobs, owner) if jobs else None,
        limit=limit,
        leave_out_long=intake.long_rows == LONG_ROWS_LEAVE_OUT,
        min_chars=int(settings.HRBATCH["MIN_TEXT_CHARS"]),
    )
    return check_file(path, layout, plan, id_column=id_column, limit=limit)


@dataclasses.dataclass
class Positions:
    """The positions of a file's position column: the candidates of each (by title_key,
    blanks left out) and its title as first written."""

    column: str
    counts: Counter[str]
    titles: dict[str, str]


# A file's positions are read once per column and encoding, then kept a while: the check
# page pages and searches through thousands of them without reading the file again.
_POSITIONS_SECONDS = 3600


def file_positions(*, input_file: File, column: str, encoding: str = "") -> Positions:
    """The positions in `column` of a stored candidate file (intake.proposals.count_positions), read
    once and kept in the cache (the file's content, the column and the encoding name them)."""
    name = hashlib.sha256(f"{input_file.sha256}\n{encoding}\n{column}".encode()).hexdigest()
    key = f"hrbatch:positions:{name}"
    found = cache.get(key)
    if isinstance(found, Positions):
        return found
    try:
        layout = csvio.sniff(input_file.abspath, encoding=encoding or None)
    except csvio.CsvProblem:
        return Positions(column=column, counts=Counter(), titles={})
    counts, titles = count_positions(input_file.abspath, layout, column)
    positions = Positions(column=column, counts=counts, titles=titles)
    cache.set(key, positions, _POSITIONS_SECONDS)
    return positions


def run_chars_limit(*, run: Run) -> int:
    """The characters of a candidate's text this started run's model can read (the
    engine's limit: the run's own context size, instructions and answer)."""
    assert run.rubric is not None
    opts = run.opts
    if opts.num_ctx is None:  # not started yet: the largest context allowed
        return candidate_chars_limit(
            rubric=run.rubric, pack_size=run.pack_size, answer_format=opts.answer_format
        )
    return prompting.candidate_chars_limit(
        system_chars=len(plan_for_run(run).system),
        num_ctx=int(opts.num_ctx),
        num_predict=int(opts.num_predict or 0),
    )


class JobBook:
    """The jobs of one run's ingest: the Job id for each job text, found in memory, else
    in the database (a resumed ingest), else created, a batch of rows at a time."""

    def __init__(self, run: Run):
        self.run = run
        self.ids: dict[str, int] = {}
        # The longest job section of the run, in characters (sizes the context).
        self.max_extra_chars = 0

    def resolve(self, jobs: dict[str, tuple[str, str, int | None]]) -> dict[str, int]:
        """Job ids for {key: (title, text, the saved job it is copied from or None)},
        creating the Jobs not seen before."""
        missing = {key: job for key, job in jobs.items() if key not in self.ids}
        if missing:
            found = Job.objects.filter(run=self.run, key__in=list(missing))
            self.ids.update({key: pk for pk, key in found.values_list("pk", "key")})
            new = [
                Job(
                    run=self.run,
                    key=key,
                    title=title[:500],
                    title_key=prompting.title_key(title)[:500],
                    description=text,
                    based_on_id=based_on,
                )
                for key, (title, text, based_on) in missing.items()
                if key not in self.ids
            ]
            Job.objects.bulk_create(new)
            self.ids.update({job.key: job.pk for job in new})
        return self.ids


def plan_for_run(run: Run, *, pack_size: int | None = None, job: str = "") -> prompting.PromptPlan:
    """The run's prompt, in the answer format stored on it (keyed for runs from before
    there was a choice; see run_start); with `job` (a Job's description), that job's
    candidates' prompt."""
    rubric = run.rubric
    assert rubric is not None
    return prompting.plan_for(
        instructions=rubric.instructions,
        criteria=rubric.criteria,
        rationale=rubric.rationale,
        pack_size=pack_size or run.pack_size,
        answer_format=run.opts.answer_format or prompting.FORMAT_KEYED,
        job=job,
    )


# --- What the model can read ------------------------------------------------------------


def candidate_chars_limit(
    *,
    rubric: Rubric,
    pack_size: int = 1,
    model_context: int | None = None,
    answer_format: str | None = None,
) -> int:
    """How many characters of a candidate's text the AI model can read with this rubric:
    the context run_start would give the longest candidate (HRBATCH_MAX_NUM_CTX, or the
    model's own limit when known), less the instructions and the answer."""
    plan = prompting.plan_for(
        instructions=rubric.instructions,
        criteria=rubric.criteria,
        rationale=rubric.rationale,
        pack_size=pack_size,
        answer_format=answer_format or answer_format_setting(),
    )
    num_predict = plan.num_predict(pack_size)
    largest = prompting.size_num_ctx(
        prompt_chars=1 << 40,  # longer than anything: the largest context allowed
        num_predict=num_predict,
        cap=settings.HRBATCH["MAX_NUM_CTX"],
        model_context=model_context,
    )
    return prompting.candidate_chars_limit(
        system_chars=len(plan.system), num_ctx=largest, num_predict=num_predict
    )


# --- Ingest: the CSV into Items ----------------------------------------------------------


def run_ingest(*, run: Run) -> Run:
    """Stream the CSV into Items in chunks; on any problem, fail the run and keep no Items
    (or, when the run skips invalid rows, leave those rows out and list them)."""
    planned = _ingest_plan(run)
    if isinstance(planned, Run):
        return planned  # failed: the choices do not fit the file
    layout, plan = planned
    ingest = _Ingest(run, plan)
    unreadable = csvio.ReadStats()
    try:
        rows = read_rows(
            run.input_file.abspath, layout, plan, id_column=run.intake.id_column, stats=unreadable
        )
        for row in rows:
            if not ingest.take(row):
                break
    except csvio.CsvProblem as problem:
        ingest.errors.insert(0, _problem_dict(problem.code, problem.message, problem.row))
        ingest.skip_invalid = False  # a file-level problem: nothing in it can be trusted
    ingest.flush()
    return ingest.finish(unreadable)


def _ingest_plan(run: Run) -> tuple[csvio.CsvLayout, RowPlan] | Run:
    """The file's layout and how its rows are read with the run's choices, stored on the
    run (RunColumns); or the run failed, saying which choice does not fit the file."""
    chosen = run.intake
    path = run.input_file.abspath
    id_column = chosen.id_column
    try:
        layout = csv_layout(path=path, encoding=chosen.encoding)
        if id_column is not None and id_column not in layout.header:
            # read_records words this one best (it suggests near matches).
            next(iter(csvio.read_records(path, layout, id_column=id_column)), None)
    except csvio.CsvProblem as problem:
        return _fail(run, problem.code, problem.message, problem.row)
    header = layout.header
    roles = dict(chosen.roles or proposed_roles(path=path, layout=layout, id_column=id_column))
    unknown = sorted(set(roles) - set(header))
    bad_roles = sorted({r for r in roles.values() if r not in ROLES})
    if unknown or bad_roles:
        detail = (
            f"no such columns: {', '.join(unknown)}" if unknown else f"unknown roles: {bad_roles}"
        )
        return _fail(run, "bad_roles", f"Column roles: {detail}.")
    stored = chosen.jobs or None
    column = str((stored or {}).get("position_column") or "")
    roles = run_roles(header, roles, id_column=id_column, position_column=column)
    if ROLE_MODEL not in roles.values():
        return _fail(run, "no_model_columns", "Choose at least one column to show the model.")
    if stored and column not in header:
        message = (
            f"The position column '{column}' chosen for matching jobs is not in the "
            "file. Choose the column that names the job each candidate applied for."
        )
        return _fail(run, "no_position_column", message)
    run.intake = dataclasses.replace(
        chosen,
        encoding=layout.encoding,
        encoding_label=layout.encoding_label,
        delimiter=layout.delimiter,
        delimiter_label=layout.delimiter_label,
        header=header,
        roles=roles,
        jobs=stored,
    )
    run.save(update_fields=["columns"])
    leave_out = chosen.long_rows == LONG_ROWS_LEAVE_OUT and run.rubric is not None
    plan = RowPlan(
        header,
        id_column=id_column,
        roles=roles,
        redact=chosen.redact,
        region=str(settings.HRBATCH["PHONE_REGION"]),
        # Or the jobs are saved jobs matched by the candidates' position column, as chosen
        # when the run was made: then the file's job columns stay in the results only.
        jobs=_stored_position_jobs(stored) if stored else None,
        limit=candidate_chars_limit(rubric=run.rubric, pack_size=run.pack_size)
        if leave_out and run.rubric
        else None,
        leave_out_long=leave_out,
        min_chars=int(settings.HRBATCH["MIN_TEXT_CHARS"]),
    )
    return layout, plan


def _fail(run: Run, code: str, message: str, line: int | None = None) -> Run:
    return run_fail_validation(run=run, errors=[_problem_dict(code, message, line)])


# A row as inserted: (line, custom_id, input, extra, job key or "", flags, the line of the
# row it copies or None).
_ItemRow = tuple[int, str, dict[str, Any], dict[str, Any], str, str, int | None]


class _Ingest:
    """One ingest's rows on their way into Items: a batch at a time, with the problems,
    the rows left out and the jobs met so far."""

    def __init__(self, run: Run, plan: RowPlan):
        conf = settings.HRBATCH
        self.run = run
        self.plan = plan
        self.skip_invalid = run.intake.skip_invalid
        self.max_errors = int(conf["MAX_VALIDATION_ERRORS"])
        self.batch_size = int(conf["INGEST_BATCH"])
        self.min_chars = int(conf["MIN_TEXT_CHARS"])
        self.errors: list[dict[str, Any]] = []
        self.left_out: list[dict[str, Any]] = []
        self.rejected = 0
        self.warnings = 0
        self.total = 0
        self.max_chars = 0
        self.writer = ItemWriter(run.pk)
        self.jobs = JobBook(run)
        self.copies = _Copies(run.pk)
        self.batch: list[_ItemRow] = []
        self.batch_jobs: dict[str, tuple[str, str, int | None]] = {}

    def take(self, row: Row | csvio.RowProblem) -> bool:
        """One row read; False when reading on is of no use (too many problems to list)."""
        if isinstance(row, csvio.RowProblem):
            if row.code == "empty_row":
                self.warnings += 1
                return True
            self.rejected += 1
            if len(self.errors) < self.max_errors:
                self.errors.append(_problem_dict(row.code, row.message, row.row))
            elif not self.skip_invalid:
                return False
            return True
        if self.errors and not self.skip_invalid:
            return True  # keep reading to report every problem, but insert nothing more
        if row.left_out:
            # Too long for the model, and its owner chose to leave such rows out.
            self.rejected += 1
            if len(self.left_out) < self.max_errors:
                limit = self.plan.limit or 0
                message = prompting.too_long_message(row=row.line, chars=row.chars, limit=limit)
                self.left_out.append(_problem_dict("too_long", f"{message} Left out.", row.line))
            return True
        self.max_chars = max(self.max_chars, row.chars)
        if row.job_key:
            self.batch_jobs.setdefault(row.job_key, (row.job_title, row.job_text, row.based_on))
        # Worked out from the text alone, before any model reads it.
        found = flags.join(
            flags.candidate_flags(row.fields, min_chars=self.min_chars, little=row.little)
        )
        extra = row.extra(self.plan)
        self.batch.append(
            (row.line, row.custom_id, row.fields, extra, row.job_key, found, row.copy_of)
        )
        if row.copy_of is not None:
            self.copies.count += 1
        if len(self.batch) >= self.batch_size:
            self.flush()
            # Shown while a large file is being read.
            Run.objects.filter(pk=self.run.pk).update(total_count=self.total)
        return True

    def flush(self) -> None:
        self.total += self.copies.insert(
            self.writer, self.batch, self.jobs.resolve(self.batch_jobs)
        )
        self.batch, self.batch_jobs = [], {}

    def finish(self, unreadable: csvio.ReadStats) -> Run:
        """The run with its figures, or failed with every problem and no Items."""
        run = self.run
        if (self.errors and not self.skip_invalid) or self.total == 0:
            run_items_delete(run_id=run.pk)
            return run_fail_validation(run=run, errors=self.errors or self.left_out)
        # Candidates with nothing to read are never sent to the model, and never retried.
        skipped = Item.objects.filter(run_id=run.pk, flags__contains=flags.TOO_LITTLE_TEXT).update(
            status=Item.Status.SKIPPED, error=flags.TOO_LITTLE_MESSAGE
        )
        hiding = self.plan.hiding
        run.total_count = self.total
        run.skipped_count = skipped
        run.max_input_chars = self.max_chars
        run.errors = sorted(self.errors + self.left_out, key=lambda e: e["line"] or 0)
        run.opts = run.opts.replace(
            rejected_count=self.rejected,
            copy_count=self.copies.count or None,
            # Shown on the run page and by `evaluate`: damaged bytes were replaced, not rejected.
            unreadable=unreadable.message(),
            unreadable_chars=unreadable.unreadable_chars,
            # Shown beside the candidates' figure in the run's report.
            job_redacted=hiding.total if hiding else None,
            jobs_redacted=hiding.jobs if hiding else None,
        )
        run.status_message = " ".join(self._notes(skipped))
        run.save(
            update_fields=[
                "total_count",
                "skipped_count",
                "max_input_chars",
                "errors",
                "options",
                "status_message",
            ]
        )
        return run

    def _notes(self, skipped: int) -> list[str]:
        notes = []
        if rejected := self.rejected:
            notes.append(f"{rejected} row{'s' if rejected != 1 else ''} with problems left out.")
        if warnings := self.warnings:
            notes.append(f"{warnings} empty row{'s' if warnings != 1 else ''} skipped.")
        if skipped:
            notes.append(
                f"{skipped} candidate{'s' if skipped != 1 else ''} with too little text to "
                f"score ({'is' if skipped == 1 else 'are'} not sent to the AI)."
            )
        return notes


class _Copies:
    """The copies of one ingest: rows whose candidate an earlier row already has, for the
    same job, spacing and case aside (intake.rows.Row.copy_of). A copy's Item points to the
    first row's (Item.copy_of), so the first row is inserted before its copies."""

    def __init__(self, run_id: int):
        self.run_id = run_id
        self.ids: dict[int, int] = {}  # a first row's line -> its Item id
        self.count = 0

    def insert(
        self,
        writer: ItemWriter,
        rows: list[_ItemRow],
        jobs: dict[str, int],
    ) -> int:
        """Insert a batch of rows: the first rows, then (their ids known) the copies."""
        firsts = [row for row in rows if row[6] is None]
        inserted = writer.insert(
            [
                (line, cid, body, extra, jobs[key] if key else None, found)
                for line, cid, body, extra, key, found, _ in firsts
            ]
        )
        if firsts:
            lines = [row[0] for row in firsts]
            inserted_ids = Item.objects.filter(
                run_id=self.run_id, line__gte=min(lines), line__lte=max(lines), copy_of=None
            ).values_list("line", "pk")
            self.ids.update(inserted_ids)
        copies = [
            (line, cid, body, extra, jobs[key] if key else None, found, self.ids[first])
            for line, cid, body, extra, key, found, first in rows
            if first is not None
        ]
        return inserted + writer.insert(copies)


def run_fail_validation(*, run: Run, errors: list[dict[str, Any]]) -> Run:
    """Fail a run whose input cannot be used, with every problem found (`errors`: code,
    message, line), and tell its owner."""
    count = len(errors)
    first = errors[0]["message"]
    run.errors = errors
    run.status = Run.Status.FAILED
    run.failed_at = timezone.now()
    run.status_message = first if count == 1 else f"{count} problems in the file; first: {first}"
    run.total_count = 0
    run.save(update_fields=["errors", "status", "failed_at", "status_message", "total_count"])
    notify.run_finished(run=run)
    return run
