"""Reading a candidate CSV: column roles, the pre-start check, and the ingest into Items.

The row-level file check itself (IDs, unreadable and too-long rows) is `evaluations.intake`,
pure functions over the file that the web check page and `evaluate` show before a run;
here it is applied to a stored File with the run's choices, and the rows become Items.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections import Counter
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.utils import timezone

from .. import csvio, flags, intake, notify, prompting, redact
from ..models import ColumnRole, File, Item, Job, Rubric, Run
from ..prompting import job_key, job_text
from .common import input_problem as _problem_dict
from .files import csv_layout
from .items import ItemWriter
from .jobs import JobsChoice, saved_job_texts
from .rubrics import rubric_default

# The column roles (models.ColumnRole), as plain strings.
ROLE_ID = ColumnRole.ID.value
ROLE_MODEL = ColumnRole.MODEL.value
ROLE_RESULTS = ColumnRole.RESULTS.value
ROLE_AUDIT_ONLY = ColumnRole.AUDIT_ONLY.value
ROLE_JOB = ColumnRole.JOB.value
ROLE_IGNORE = ColumnRole.IGNORE.value
ROLES = tuple(ColumnRole.values)
# "Row number (no ID column)": the rows are numbered (row-2, row-3, …) instead.
ROW_NUMBER = intake.ROW_NUMBER
# What to do with rows too long for the AI model (chosen on the check page or the CLI).
LONG_ROWS_LEAVE_OUT = "leave_out"
LONG_ROWS_TRUNCATE = "truncate"

# Columns that say who a person is rather than what they can do: kept in the output,
# never shown to the model unless someone decides otherwise.
_PERSONAL = re.compile(
    r"(^|_|\b)(name|first.?name|last.?name|full.?name|surname|e.?mail|phone|mobile|tel|"
    r"address|street|zip|postcode|postal|city|birth|dob|age|gender|sex|race|ethnicity|"
    r"religion|nationality|marital|photo|linkedin|url)($|_|\b)",
    re.IGNORECASE,
)
# Columns that hold a protected characteristic (New York City's Local Law 144 audits sex,
# race/ethnicity and their intersection; the EEOC and the EU add age, disability, veteran
# status, religion, marital status, nationality): audit only by default. Matched on the
# whole name (with an optional applicant_/candidate_/self_identified_ before and _band,
# _group, _status, … after), so that a job's "age_requirement" is not taken for one.
_PROTECTED = re.compile(
    r"^(?:candidate|applicant|self.?identified|eeo)?_?"
    r"(sex|gender|gender.?identity|race|ethnicity|race.?ethnicity|race.?and.?ethnicity|"
    r"age|age.?band|age.?group|age.?range|date.?of.?birth|dob|birth.?date|birthdate|"
    r"year.?of.?birth|disability|disabled|veteran|protected.?veteran|religion|faith|"
    r"marital|marital.?status|nationality|citizenship|national.?origin|pregnancy|"
    r"sexual.?orientation)"
    r"_?(?:status|category|group|band|identity|self.?identified)?$",
    re.IGNORECASE,
)
# Columns holding the candidate's own name: replaced with [NAME] wherever it appears in the
# text the model sees (services.privacy). The whole column name must say so: a job's
# "job_position_name" or a school's "institution_name" is not the candidate's name.
_NAME_COLUMN = re.compile(
    r"^(?:candidate|applicant|person)?_?"
    r"(name|first.?name|last.?name|full.?name|surname|given.?name|family.?name|"
    r"middle.?name|preferred.?name|forename)$",
    re.IGNORECASE,
)


# Columns that describe the job the candidate applied for rather than the candidate: a name
# starting with "job" (job_position_name, job title), or saying what the job requires
# (skills_required, experience_requirement, educational requirements).
_JOB_COLUMN = re.compile(r"^job(_|$)|(^|_)(requirements?|required)(_|$)", re.IGNORECASE)
# A job's requirement on a protected characteristic ("Age at most 40 years"): scoring
# candidates against it would discriminate, so it never describes the job to the model.
_PROTECTED_REQUIREMENT = re.compile(
    r"(^|_)(age|gender|sex|race|ethnicity|religion|faith|marital|nationality|citizenship|"
    r"disability|veteran|pregnancy|orientation)(_|$)",
    re.IGNORECASE,
)
# A job's record number (job_id, job_code) tells the model nothing about the job.
_JOB_RECORD = re.compile(r"(^|_)(id|ids|no|number|code|key|ref)$", re.IGNORECASE)
# A header repeated in the file: spreadsheets and pandas add ".1" to the second one.
_REPEATED = re.compile(r"^(?P<base>.+)\.(?P<n>\d+)$")
# The job column whose value is the job's title.
_JOB_TITLE = re.compile(r"title|position", re.IGNORECASE)


def _words(column: str) -> str:
    return column.strip().replace(" ", "_").replace("-", "_")


def job_column_reasons(header: list[str]) -> dict[str, str]:
    """The columns whose names say they describe the job, each with why, in words.

    By name: starting with "job", or saying "requirement(s)" / "required". And a repeated
    header (its name with ".1" added, as spreadsheets and pandas name a second column of the
    same name) placed after such a column: in a file that carries the job beside the
    candidate (resume_data_97.csv's "responsibilities.1" after "age_requirement"), the second
    copy is the job's, the first the candidate's. Record numbers (a job_id too), protected
    characteristics and a job's requirements on them (age_requirement) are never taken for
    the job."""
    reasons: dict[str, str] = {}
    first = None
    for index, column in enumerate(header):
        words = _words(column)
        if (
            intake.is_id_like(column)
            or is_protected(column)
            or _JOB_RECORD.search(words)
            or _PROTECTED_REQUIREMENT.search(words)
        ):
            continue
        if _JOB_COLUMN.search(words):
            reasons[column] = (
                "it describes the job the candidate applied for (its name starts with "
                "“job” or says “requirement” or “required”): the AI reads it once per job, as "
                "what to score the candidate against"
            )
            first = index if first is None else first
    if first is None:
        return reasons
    names = set(header)
    for column in header[first + 1 :]:
        repeated = _REPEATED.match(column)
        if repeated and repeated["base"] in names and column not in reasons:
            base = repeated["base"]
            reasons[column] = (
                f"a second “{base}” column (“.{repeated['n']}” is added to a repeated column "
                f"name) among the job's columns: it describes the job, while “{base}” stays "
                "the candidate's"
            )
    return reasons


def job_columns_in(*, path: Path, layout: csvio.CsvLayout) -> tuple[list[str], dict[str, str]]:
    """The columns named like the job's (job_column_reasons) that the file's values confirm,
    and those they do not, each with why. A title column with a different value for most
    candidates (an export's `Job Title`: 2,322 values in 2,900 rows) names each candidate's
    own title, not the job they applied for: it is not proposed as describing the job (the
    positions' table would have a row per candidate)."""
    named = list(job_column_reasons(layout.header))
    titles = [c for c in named if intake.is_position_like(c) or _JOB_TITLE.search(c)]
    if not titles:
        return named, {}
    rows, distinct = intake.column_values(path, layout, titles)
    own = {
        column: (
            f"a different value for most candidates ({distinct[column]:,} values in "
            f"{rows:,} rows): each candidate's own title, not the job they applied for"
        )
        for column in titles
        if intake.too_many_values(distinct.get(column, 0), rows)
    }
    return [c for c in named if c not in own], own


def is_name_column(column: str) -> bool:
    return bool(_NAME_COLUMN.match(column.strip().replace(" ", "_").replace("-", "_")))


# Columns that hold an earlier judgement of the candidate (a recruiter's score, a decision):
# shown to the model, it could copy the judgement instead of reading the candidate, and a
# comparison with it (how well hrbatch agrees with people) would mean nothing.
_PRIOR_JUDGEMENT = re.compile(
    r"(^|_|\b)(score|scores|scoring|rating|rated|rank|ranking|decision|outcome|hired|"
    r"shortlisted|recommendation|matched|grade|grades|graded|status)($|_|\b)",
    re.IGNORECASE,
)


# --- Columns -------------------------------------------------------------------------


def guess_id_column(*, path: Path, layout: csvio.CsvLayout) -> str | None:
    """One guess for every door: a column named like an ID whose values are filled in and
    unique (the file is read to know); None means the rows are numbered."""
    return intake.guess_id_column(path, layout)


def is_protected(column: str) -> bool:
    """Whether the column's name says it holds a protected characteristic."""
    return bool(_PROTECTED.match(column.strip().replace(" ", "_").replace("-", "_")))


def role_reason(
    column: str,
    id_column: str | None = None,
    header: list[str] | None = None,
    job_columns: list[str] | None = None,
) -> str:
    """Why a column starts with the use it does (empty: shown to the model), in words.
    With the file's `header`, a column may be said to describe the job (a repeated
    column's place among the others tells, job_column_reasons); `job_columns` are the
    job columns someone chose instead (`evaluate --job-columns`). For every column of a
    file, role_reasons: this reads the whole header each time."""
    named = job_column_reasons(header if header is not None else [column])
    return _role_reason(column, id_column, named, set(job_columns or ()), job_columns is not None)


def role_reasons(
    header: list[str], *, id_column: str | None = None, job_columns: list[str] | None = None
) -> dict[str, str]:
    """role_reason for every column of the file, the header read once: the check page and
    `evaluate` say why each column starts as it does, in time linear in the columns."""
    named = job_column_reasons(header)
    chosen = set(job_columns or ())
    return {
        column: _role_reason(column, id_column, named, chosen, job_columns is not None)
        for column in header
    }


def _role_reason(
    column: str, id_column: str | None, named: dict[str, str], chosen: set[str], by_hand: bool
) -> str:
    if column == id_column:
        return "the candidate ID"
    if is_protected(column):
        return (
            "a protected characteristic: never shown to the AI, used only to measure adverse impact"
        )
    if not by_hand and column in named:
        return named[column]
    if by_hand and column in chosen:
        return named.get(column) or "chosen to describe the job the candidate applied for"
    return _candidate_reason(column)


def _candidate_reason(column: str) -> str:
    """Why a column about the candidate is kept from the model (empty: it is shown)."""
    name = column.replace(" ", "_")
    words = _words(column)
    if _JOB_COLUMN.search(words) and _PROTECTED_REQUIREMENT.search(words):
        return (
            "a job requirement on a protected characteristic (such as age): scoring "
            "candidates against it would discriminate, so the AI never sees it"
        )
    if _PRIOR_JUDGEMENT.search(name):
        return (
            "an earlier judgement (a score, rating or decision): shown to the AI it could be "
            "copied instead of the candidate being read"
        )
    if _PERSONAL.search(name):
        return "personal data: it says who someone is, not what they can do"
    if intake.is_id_like(column):
        return "a record number: it says nothing about the candidate"
    return ""


def default_roles(
    header: list[str], id_column: str | None, job_columns: list[str] | None = None
) -> dict[str, str]:
    """ID → id; protected characteristics → audit only (never shown to the model or in
    the results table; used for the adverse-impact report); columns that describe the job
    → job (job_column_reasons; or exactly `job_columns` when given, as `evaluate
    --job-columns` does): their text is given to the model once per job, not as the
    candidate's; personal data, other identifiers and earlier judgements (a human score,
    a decision) → keep in results only (a record number says nothing about a candidate,
    and a score to copy would replace reading one); the rest → model. `role_reason` says
    why, in words."""
    jobs = set(job_column_reasons(header) if job_columns is None else job_columns)
    roles = {}
    for column in header:
        if column == id_column:
            roles[column] = ROLE_ID
        elif is_protected(column):
            roles[column] = ROLE_AUDIT_ONLY
        elif column in jobs:
            roles[column] = ROLE_JOB
        elif _candidate_reason(column):
            roles[column] = ROLE_RESULTS
        else:
            roles[column] = ROLE_MODEL
    return roles


def contact_job_columns(
    *, path: str | Path, layout: csvio.CsvLayout, roles: dict[str, str]
) -> dict[str, str]:
    """Of the columns `roles` has describe the job, those whose values are someone's
    contact details (a candidate's own LinkedIn address where the job's title goes): not
    a description of the job, so kept in the results instead. {column: why, in words}."""
    jobs = [c for c in layout.header if roles.get(c) == ROLE_JOB]
    found = intake.contact_columns(path, layout, jobs) if jobs else {}
    return {
        column: (
            f"its values are links, e-mail addresses or phone numbers in {n:,} of {filled:,} "
            "rows: someone's contact details, not a description of the job, so it is kept "
            "in the results only"
        )
        for column, (n, filled) in found.items()
    }


def proposed_roles(
    *, path: str | Path, layout: csvio.CsvLayout, id_column: str | None
) -> dict[str, str]:
    """default_roles, with the file's values looked at: a column named like the job's that
    holds contact details is kept in the results (contact_job_columns). (What a person is
    proposed, on the check page and by evaluate, also leaves out a title column with a
    value per candidate: job_columns_in. A run made without roles, as tests and benchmarks
    make them, keeps every column named like the job's.)"""
    roles = default_roles(layout.header, id_column)
    contacts = contact_job_columns(path=path, layout=layout, roles=roles)
    return {**roles, **dict.fromkeys(contacts, ROLE_RESULTS)}


def answer_format_setting() -> str:
    """The answer format new runs start with (HRBATCH_ANSWER_FORMAT, checked when the
    settings load: a typo stops the app at start)."""
    return str(settings.HRBATCH.get("ANSWER_FORMAT") or prompting.FORMAT_KEYED)


# --- Jobs: the job columns' text ---------------------------------------------------------


def job_title_column(job_columns: list[str]) -> str:
    """The job column holding the job's title: one named like a title or position, else
    the first."""
    return next((c for c in job_columns if _JOB_TITLE.search(c)), job_columns[0])


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


def job_summary(*, check: intake.FileCheck, top: int = 10) -> JobSummary | None:
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


class JobRedaction:
    """Identity out of the jobs' text, as services.privacy takes it out of the candidates'
    (a job column may hold a candidate's own profile link, a saved job a contact address):
    e-mails, phone numbers and links, and in a job read from the candidate's own row, the
    candidate's name. Counts what it hid in each job once (`hidden`, by job key)."""

    def __init__(self, header: list[str]):
        self.names_at = [i for i, column in enumerate(header) if is_name_column(column)]
        self.region = str(settings.HRBATCH["PHONE_REGION"])
        self.saved: dict[int, tuple[str, Counter[str]]] = {}
        self.hidden: dict[str, int] = {}

    def row(self, job: dict[str, str], values: list[str]) -> tuple[dict[str, str], Counter[str]]:
        """One row's job columns, redacted with that row's names."""
        redactor = redact.Redactor(names=[values[i] for i in self.names_at], region=self.region)
        return {column: redactor(value) for column, value in job.items()}, redactor.counts

    def saved_job(self, job: Job) -> tuple[str, Counter[str]]:
        """A saved job's text, redacted once for the run (no candidate's name: it is the
        team's text, the same for every candidate)."""
        if job.pk not in self.saved:
            redactor = redact.Redactor(region=self.region)
            self.saved[job.pk] = (redactor(job.model_text), redactor.counts)
        return self.saved[job.pk]

    def count(self, key: str, counts: Counter[str]) -> None:
        self.hidden.setdefault(key, sum(counts.values()))

    @property
    def total(self) -> int:
        return sum(self.hidden.values())

    @property
    def jobs(self) -> int:
        return sum(1 for n in self.hidden.values() if n)


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


# --- What the model can read: the check that the web page and the CLI share -------------


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


def roles_with_position(roles: dict[str, str], position_column: str) -> dict[str, str]:
    """With jobs matched by a position column, that column names the job, and the model
    reads the job's text once per job: it is not shown again as the candidate's own
    ("Show to the AI" becomes "Keep in results only")."""
    if position_column and roles.get(position_column) == ROLE_MODEL:
        return {**roles, position_column: ROLE_RESULTS}
    return roles


def file_check(
    *,
    input_file: File,
    id_column: str | None,
    roles: dict[str, str] | None,
    rubric: Rubric | None = None,
    pack_size: int = 1,
    encoding: str = "",
    jobs: JobsChoice | None = None,
    owner: AbstractBaseUser | None = None,
) -> intake.FileCheck:
    """Every row of the file read once with these choices: its problems, rows too long
    for the model, and (FileCheck.refusals) whether Start must be refused and why.
    With `jobs`, candidates are matched to `owner`'s saved jobs (services.jobs.saved_jobs)
    by their position column (positions that match none are refused until mapped by hand,
    or scored without a job).

    The web check page and `manage.py evaluate` both ask this before a run is made, so
    they refuse the same files for the same reasons: duplicate or missing IDs or unreadable
    rows while "leave out rows with problems" is off, and rows too long for the model
    until someone chooses what to do with them. (A run that started anyway would fail at
    once, with nothing but a header to download.) `encoding` is the one a person chose,
    as for run_create, so the check reads the text the run will read."""
    rubric = rubric or rubric_default()
    limit = candidate_chars_limit(rubric=rubric, pack_size=pack_size)
    try:
        layout = csv_layout(path=input_file.abspath, encoding=encoding)
    except csvio.CsvProblem as problem:
        return intake.FileCheck(id_column=id_column, limit=limit, file_problem=problem.message)
    roles = roles_with_position(
        dict(roles or proposed_roles(path=input_file.abspath, layout=layout, id_column=id_column)),
        jobs.position_column if jobs else "",
    )
    model_columns = [c for c in layout.header if roles.get(c) == ROLE_MODEL and c != id_column]
    job_columns = [c for c in layout.header if roles.get(c) == ROLE_JOB and c != id_column]
    return intake.check_file(
        input_file.abspath,
        layout,
        id_column=id_column,
        model_columns=model_columns,
        limit=limit,
        job_columns=job_columns,
        job_title_column=job_title_column(job_columns) if job_columns else "",
        position_column=jobs.position_column if jobs else "",
        saved_jobs=saved_job_texts(owner) if jobs else None,
        job_map=jobs.mapping if jobs else None,
        name_columns=[c for c in layout.header if is_name_column(c)],
        min_text_chars=int(settings.HRBATCH["MIN_TEXT_CHARS"]),
        rest=jobs.rest if jobs else None,
    )


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
    """The positions in `column` of a stored candidate file (intake.count_positions), read
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
    counts, titles = intake.count_positions(input_file.abspath, layout, column)
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


# --- Ingest: the CSV into Items ----------------------------------------------------------


def run_ingest(*, run: Run) -> Run:
    """Stream the CSV into Items in chunks; on any problem, fail the run and keep no Items
    (or, when the run skips invalid rows, leave those rows out and list them)."""
    conf = settings.HRBATCH
    path = run.input_file.abspath
    id_column = run.columns.get("id_column")
    roles = run.columns.get("roles")
    skip_invalid = bool(run.columns.get("skip_invalid"))
    long_rows = run.columns.get("long_rows") or ""
    try:
        layout = csv_layout(path=path, encoding=run.columns.get("encoding"))
        if id_column is not None and id_column not in layout.header:
            # read_records words this one best (it suggests near matches).
            next(iter(csvio.read_records(path, layout, id_column=id_column)), None)
    except csvio.CsvProblem as problem:
        problems = [_problem_dict(problem.code, problem.message, problem.row)]
        return run_fail_validation(run=run, errors=problems)

    header = layout.header
    roles = dict(roles or proposed_roles(path=path, layout=layout, id_column=id_column))
    unknown = sorted(set(roles) - set(header))
    bad_roles = sorted({r for r in roles.values() if r not in ROLES})
    if unknown or bad_roles:
        detail = (
            f"no such columns: {', '.join(unknown)}" if unknown else f"unknown roles: {bad_roles}"
        )
        problems = [_problem_dict("bad_roles", f"Column roles: {detail}.")]
        return run_fail_validation(run=run, errors=problems)
    for column in header:
        roles.setdefault(column, ROLE_IGNORE)
    if id_column:
        roles[id_column] = ROLE_ID
    chosen = run.columns.get("jobs") or None
    roles = roles_with_position(roles, (chosen or {}).get("position_column") or "")
    model_columns = [i for i, c in enumerate(header) if roles[c] == ROLE_MODEL]
    if not model_columns:
        message = "Choose at least one column to show the model."
        return run_fail_validation(run=run, errors=[_problem_dict("no_model_columns", message)])
    other_columns = [
        i for i, c in enumerate(header) if roles[c] in (ROLE_RESULTS, ROLE_AUDIT_ONLY, ROLE_IGNORE)
    ]
    # The job columns go to the model once per job, in the system message: not in the
    # candidate's fields, and kept in `extra` for the results.
    job_indexes = [i for i, c in enumerate(header) if roles[c] == ROLE_JOB]
    job_columns = [header[i] for i in job_indexes]
    title_column = job_title_column(job_columns) if job_columns else ""
    jobs = JobBook(run)
    hiding = JobRedaction(header) if run.columns.get("redact", True) else None
    # Or the jobs are saved jobs matched by the candidates' position column, as chosen
    # when the run was made (run_create's `jobs`): then the file's job columns stay in
    # the results only.
    position_at: int | None = None
    saved: dict[int, Job] = {}
    position_map: dict[str, int | None] = {}
    rest_pk: int | None = None
    if chosen:
        column = chosen.get("position_column") or ""
        if column not in header:
            message = (
                f"The position column '{column}' chosen for matching jobs is not in the "
                "file. Choose the column that names the job each candidate applied for."
            )
            return run_fail_validation(
                run=run, errors=[_problem_dict("no_position_column", message)]
            )
        position_at = header.index(column)
        position_map = dict(chosen.get("map") or {})
        # The job for positions not in the map ("score every other position against…").
        rest_pk = chosen.get("rest")
        wanted = {pk for pk in [*position_map.values(), rest_pk] if pk}
        saved = {job.pk: job for job in Job.objects.filter(pk__in=wanted, run=None)}
    id_index = header.index(id_column) if id_column else None

    run.columns = {
        "encoding": layout.encoding,
        "encoding_label": layout.encoding_label,
        "delimiter": layout.delimiter,
        "delimiter_label": layout.delimiter_label,
        "header": header,
        "id_column": id_column,
        "roles": roles,
        "skip_invalid": skip_invalid,
        "long_rows": long_rows,
        "redact": bool(run.columns.get("redact", True)),
        "jobs": chosen,
    }
    run.save(update_fields=["columns"])
    limit = (
        candidate_chars_limit(rubric=run.rubric, pack_size=run.pack_size)
        if long_rows == LONG_ROWS_LEAVE_OUT and run.rubric
        else None
    )
    left_out: list[dict[str, Any]] = []

    errors: list[dict[str, Any]] = []
    rejected = 0
    warnings = 0
    writer = ItemWriter(run.pk)
    min_chars = int(conf["MIN_TEXT_CHARS"])
    # Rows of (line, custom_id, input, extra, job key or "", flags, the line it copies or
    # None).
    batch: list[tuple[int, str, dict[str, Any], dict[str, Any], str, str, int | None]] = []
    batch_jobs: dict[str, tuple[str, str, int | None]] = {}
    # Each distinct candidate-and-job is scored once (intake.candidate_key): its first row
    # by key, and the Item ids of first rows once inserted.
    copies = _Copies(run.pk)
    total = 0
    max_chars = 0
    unreadable = csvio.ReadStats()
    try:
        for row, values, problem in csvio.read_records(
            path, layout, id_column=id_column, stats=unreadable
        ):
            if problem is not None:
                if problem.code == "empty_row":
                    warnings += 1
                    continue
                rejected += 1
                if len(errors) < conf["MAX_VALIDATION_ERRORS"]:
                    errors.append(_problem_dict(problem.code, problem.message, problem.row))
                elif not skip_invalid:
                    break
                continue
            if (errors and not skip_invalid) or values is None:
                continue  # keep reading to report every problem, but insert nothing more
            fields = {header[i]: values[i] for i in model_columns}
            based_on: int | None = None
            hidden: Counter[str] = Counter()
            if position_at is not None:
                position = prompting.title_key(values[position_at])
                pk = position_map.get(position, rest_pk) if position else None
                job = saved.get(pk) if pk else None
                title, text = (job.title, job.model_text) if job else ("", "")
                if job and hiding is not None:
                    text, hidden = hiding.saved_job(job)
                based_on = job.pk if job else None
            elif job_columns:
                job_values = {header[i]: values[i] for i in job_indexes}
                if hiding is not None:
                    # The title too: rows whose job differs only by a link are one job.
                    job_values, hidden = hiding.row(job_values, values)
                title, text = job_text(job_values, title_column)
            else:
                title, text = "", ""
            # What the job adds to this candidate's prompt counts against what it can hold.
            chars = len(prompting.candidate_text(fields)) + len(prompting.job_section(text))
            if limit is not None and chars > limit:
                # Too long for the model, and its owner chose to leave such rows out.
                rejected += 1
                if len(left_out) < conf["MAX_VALIDATION_ERRORS"]:
                    message = prompting.too_long_message(row=row, chars=chars, limit=limit)
                    left_out.append(_problem_dict("too_long", f"{message} Left out.", row))
                continue
            max_chars = max(max_chars, chars)
            key = job_key(text) if text else ""
            if key:
                batch_jobs.setdefault(key, (title, text, based_on))
                if hiding is not None:
                    hiding.count(key, hidden)
            # Worked out from the text alone, before any model reads it.
            found = flags.join(flags.candidate_flags(fields, min_chars=min_chars))
            batch.append(
                (
                    row,
                    values[id_index].strip() if id_index is not None else f"row-{row}",
                    fields,
                    {header[i]: values[i] for i in [*other_columns, *job_indexes]},
                    key,
                    found,
                    # Too little text is never scored: such rows are not copies either.
                    None
                    if flags.TOO_LITTLE_TEXT in found
                    else copies.first_of(row, fields.values(), key),
                )
            )
            if len(batch) >= conf["INGEST_BATCH"]:
                total += copies.insert(writer, batch, jobs.resolve(batch_jobs))
                batch, batch_jobs = [], {}
                # Shown while a large file is being read.
                Run.objects.filter(pk=run.pk).update(total_count=total)
    except csvio.CsvProblem as problem:
        errors.insert(0, _problem_dict(problem.code, problem.message, problem.row))
        skip_invalid = False  # a file-level problem: nothing in it can be trusted
    total += copies.insert(writer, batch, jobs.resolve(batch_jobs))
    if (errors and not skip_invalid) or total == 0:
        Item.objects.filter(run_id=run.pk).delete()
        Job.objects.filter(run_id=run.pk).delete()
        return run_fail_validation(run=run, errors=errors or left_out)
    # Candidates with nothing to read are never sent to the model, and never retried.
    skipped = Item.objects.filter(run_id=run.pk, flags__contains=flags.TOO_LITTLE_TEXT).update(
        status=Item.Status.SKIPPED, error=flags.TOO_LITTLE_MESSAGE
    )
    errors = sorted(errors + left_out, key=lambda e: e["line"] or 0)
    notes = []
    if rejected:
        notes.append(f"{rejected} row{'s' if rejected != 1 else ''} with problems left out.")
    if warnings:
        notes.append(f"{warnings} empty row{'s' if warnings != 1 else ''} skipped.")
    if skipped:
        notes.append(
            f"{skipped} candidate{'s' if skipped != 1 else ''} with too little text to score "
            f"({'is' if skipped == 1 else 'are'} not sent to the AI)."
        )
    run.total_count = total
    run.skipped_count = skipped
    run.max_input_chars = max_chars
    run.errors = errors
    run.opts = run.opts.replace(
        rejected_count=rejected,
        copy_count=copies.count or None,
        # Shown on the run page and by `evaluate`: damaged bytes were replaced, not rejected.
        unreadable=unreadable.message(),
        unreadable_chars=unreadable.unreadable_chars,
        # Shown beside the candidates' figure in the run's report.
        job_redacted=hiding.total if hiding else None,
        jobs_redacted=hiding.jobs if hiding else None,
    )
    run.status_message = " ".join(notes)
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


class _Copies:
    """The copies of one ingest: rows whose candidate an earlier row already has, for the
    same job (intake.candidate_key), spacing and case aside. A copy's Item points to the
    first row's (Item.copy_of), so the first row is inserted before its copies."""

    def __init__(self, run_id: int):
        self.run_id = run_id
        self.firsts: dict[bytes, int] = {}  # key -> the line of its first row
        self.ids: dict[int, int] = {}  # a first row's line -> its Item id
        self.count = 0

    def first_of(self, line: int, values: Any, job: str) -> int | None:
        """The line this row copies, or None for the first row of its candidate."""
        first = self.firsts.setdefault(intake.candidate_key(values, job), line)
        if first == line:
            return None
        self.count += 1
        return first

    def insert(
        self,
        writer: ItemWriter,
        rows: list[tuple[int, str, dict[str, Any], dict[str, Any], str, str, int | None]],
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
