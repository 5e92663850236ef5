"""Check a candidate file, then create its run: the one flow behind both doors that start
a run from a file, the web check page and `manage.py evaluate`.

- `intake_propose`: what to propose for a file before anyone chose (the ID column, the
  column uses and why, the job columns, the position column), the file read once;
  `model_choice`, the backend and the models offered; `intake_preview`, the first rows
  as they will be read.
- `intake_check`: the check with a person's choices (RunColumns, the jobs choice,
  RunOptions): what a run would meet, why Start must be refused, and the saved job
  versions the positions are pinned to.
- `intake_create`: the run of a check that refused nothing.

The policy and the row reading are the domain's (evaluations.intake); what writes is
run_create (services.runs) and the ingest (services.ingest).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser

from .. import csvio, export, metrics, prompting
from ..intake.check import FileCheck
from ..intake.columns import ROLE_JOB, role_reasons
from ..intake.proposals import Proposals, propose
from ..llm import BackendChoice, available_models, make_backend, resolve_backend
from ..models import File, Job, Rubric, Run, RunColumns, RunOptions
from ..selectors import concurrency_for
from .common import InputError
from .files import csv_layout
from .ingest import Positions, file_check, file_positions
from .jobs import JobsChoice, JobsResolution, jobs_resolve, saved_jobs
from .probes import vram_check
from .runs import run_create

# Re-exported for the doors: the encodings a person may choose on the check page.
ENCODING_CHOICES = csvio.ENCODING_CHOICES


def title_key(title: str) -> str:
    """A position or a saved job's title as they are matched (spacing and case aside)."""
    return prompting.title_key(title)


# --- Before anyone chose -----------------------------------------------------------------


def file_layout(*, path: str | Path, encoding: str = "") -> tuple[csvio.CsvLayout | None, str]:
    """A candidate file's layout read with `encoding` ("" guesses), or None and what is
    wrong with the file, in words."""
    try:
        return csv_layout(path=path, encoding=encoding), ""
    except csvio.CsvProblem as problem:
        return None, problem.message


def valid_encoding(value: str | None) -> str:
    """`value` if it is an encoding a person may choose, else "" (guess)."""
    return value if value and value in dict(ENCODING_CHOICES) else ""


@dataclass
class IntakeProposal:
    """What the check page and `evaluate` propose for a file before anyone chose."""

    layout: csvio.CsvLayout
    found: Proposals
    # The saved jobs the owner may match candidates to, by title_key.
    saved: dict[str, Job] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return self.found.rows

    @functools.cached_property
    def roles(self) -> dict[str, str]:
        """Each column's proposed use (with the ID column guessed)."""
        return self.found.roles(self.layout.header, self.found.id_column)

    @functools.cached_property
    def contacts(self) -> dict[str, str]:
        """The columns named like the job's kept in the results for holding contact
        details, each with why."""
        return self.found.contacts_among(self.layout.header, self.found.id_column)

    @property
    def matching(self) -> bool:
        """Whether to propose matching the candidates to saved jobs by position: when the
        file has no job columns and some of its positions are saved jobs."""
        return bool(self.found.positions & set(self.saved)) and ROLE_JOB not in set(
            self.roles.values()
        )

    def reasons(self) -> list[str]:
        """Why each column starts with the use it does ("": shown to the AI), in the
        file's order."""
        header = self.layout.header
        contacts = self.contacts
        return [
            self.found.own_titles.get(column) or contacts.get(column) or why
            for column, why in role_reasons(header).items()
        ]


def intake_propose(
    *, path: str | Path, layout: csvio.CsvLayout, owner: AbstractBaseUser | None = None
) -> IntakeProposal:
    """Every proposal for a candidate file, the file read once (intake.proposals.propose).
    Raises InputError when the file cannot be read."""
    found = propose(path, layout)
    if found.file_problem:
        raise InputError(found.file_problem)
    return IntakeProposal(layout=layout, found=found, saved=saved_jobs(owner))


@dataclass
class ModelChoice:
    """The backend new runs use and the models offered, the one proposed first."""

    backend: BackendChoice
    models: list[str]
    default: str


def model_choice() -> ModelChoice:
    """The backend (auto: Ollama if it answers, else embedded) and the models it offers."""
    choice = resolve_backend()
    models = available_models(choice)
    default = make_backend(choice.name).default_model
    if choice.name == "embedded" or not models:
        default = models[0] if models else default
        models = models or [default]
    if default not in models:
        default = models[0]
    return ModelChoice(backend=choice, models=models, default=default)


def intake_estimate(*, backend: str, model: str, rows: int) -> tuple[int | None, str]:
    """How long `rows` candidates should take on `model` (None before any run of it was
    measured), and a warning when the largest context a run may get, times the requests
    in flight, would not fit the GPU ("" when it fits)."""
    estimate = metrics.estimate_seconds(model=model, count=rows)
    warning = vram_check(
        backend=backend,
        model=model,
        num_ctx=int(settings.HRBATCH["MAX_NUM_CTX"]),
        slots=concurrency_for(backend=backend, model=model).value,
    )
    return estimate, warning


@dataclass
class FilePreview:
    """The first rows of a file as they will be read, and the characters of the whole
    file that could not be read in its encoding."""

    rows: list[list[str]]
    unreadable: csvio.ReadStats
    problem: str = ""


def intake_preview(
    *,
    path: str | Path,
    layout: csvio.CsvLayout,
    rows: int = 20,
    chars: int | None = None,
    unreadable: csvio.ReadStats | None = None,
) -> FilePreview:
    """The first `rows` rows (each value cut at `chars`), and the unreadable characters
    (counted here unless given: a reading of the file already counted them)."""
    try:
        if unreadable is None:
            unreadable = csvio.ReadStats()
            csvio.count_records(path, layout, stats=unreadable)
        shown = csvio.preview(path, layout, rows, columns=len(layout.header), chars=chars)
    except csvio.CsvProblem as exc:
        return FilePreview(rows=[], unreadable=unreadable or csvio.ReadStats(), problem=exc.message)
    return FilePreview(rows=shown, unreadable=unreadable)


def problem_rows_csv(
    *, path: str | Path, layout: csvio.CsvLayout, id_column: str | None
) -> Iterator[bytes]:
    """The rows with problems, as a CSV with the row number and the problem added, with
    the upload's separator and a byte-order mark, for the Excel that saved it (every cell,
    the header's included, guarded against formulas)."""

    def rows() -> Iterator[list[Any]]:
        yield ["row", "problem", *layout.header]
        for row, values, problem in csvio.read_records(path, layout, id_column=id_column):
            if problem is not None and problem.code != "empty_row":
                yield [row, problem.message, *(values or [])]

    return export.csv_chunks(rows(), delimiter=layout.delimiter, bom=True)


# --- Check, then create ------------------------------------------------------------------


@dataclass
class IntakeCheck:
    """What a run of a file with these choices would meet, and why Start is refused ({}
    when it may start), by the field that fixes it."""

    input_file: File
    intake: RunColumns
    options: RunOptions
    rubric: Rubric | None
    owner: AbstractBaseUser | None
    check: FileCheck
    refusals: dict[str, str]
    # The jobs choice, its saved versions pinned once nothing is refused, and how each
    # position resolved (None without saved jobs).
    jobs: JobsChoice | None = None
    resolution: JobsResolution | None = None
    positions: Positions | None = None

    def refuse(self, field: str, message: str) -> None:
        """A refusal the door found (the page's jobs changed since it was shown)."""
        self.refusals[field] = message


def intake_check(
    *,
    input_file: File,
    intake: RunColumns,
    jobs: JobsChoice | None = None,
    rubric: Rubric | None = None,
    options: RunOptions | None = None,
    owner: AbstractBaseUser | None = None,
    door: str = "web",
) -> IntakeCheck:
    """Every row of the file read once with these choices (services.ingest.file_check):
    its problems, rows too long for the model, copies, the jobs; and why Start must be
    refused, worded for the `door` ("web": a form, "cli": flags). With `jobs` and nothing
    refused, the saved job versions each position is scored against are pinned, as the
    check matched them (what the page showed is what the run uses)."""
    options = options or RunOptions()
    check = file_check(
        input_file=input_file,
        intake=intake,
        rubric=rubric,
        pack_size=options.pack_size,
        jobs=jobs,
        owner=owner,
    )
    refusals = check.refusals(
        skip_invalid=intake.skip_invalid, long_rows=intake.long_rows, door=door
    )
    checked = IntakeCheck(
        input_file=input_file,
        intake=intake,
        options=options,
        rubric=rubric,
        owner=owner,
        check=check,
        refusals=refusals,
        jobs=jobs,
    )
    if jobs is not None and jobs.position_column and not refusals:
        checked.positions = file_positions(
            input_file=input_file, column=jobs.position_column, encoding=intake.encoding
        )
        checked.resolution = jobs_resolve(
            choice=jobs, owner=owner, positions=checked.positions.counts
        )
        checked.jobs = dataclasses.replace(jobs, pinned=checked.resolution.pinned)
    return checked


def intake_create(
    *,
    checked: IntakeCheck,
    model: str = "",
    backend: str = "",
    notify_email: str = "",
    name: str = "",
    start: bool = True,
    defer: bool = False,
    dedupe_key: str | None = None,
) -> Run:
    """The run of a checked file (run_create), its jobs as the check pinned them. Raises
    InputError when the check refused Start."""
    if checked.refusals:
        raise InputError(" ".join(checked.refusals.values()))
    jobs = checked.jobs.for_run(checked.owner) if checked.jobs is not None else None
    return run_create(
        owner=checked.owner,
        input_file=checked.input_file,
        intake=dataclasses.replace(checked.intake, jobs=jobs),
        options=checked.options,
        rubric=checked.rubric,
        model=model,
        backend=backend,
        notify_email=notify_email,
        name=name,
        start=start,
        defer=defer,
        dedupe_key=dedupe_key,
    )
