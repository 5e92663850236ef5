"""Reading a candidate CSV: column roles, the pre-start check, and the ingest into Items.

The row-level file check itself (IDs, unreadable and too-long rows) is `evaluations.intake`,
pure functions over the file that the web check page and `evaluate` show before a run;
here it is applied to a stored File with the run's choices, and the rows become Items.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, router, transaction
from django.utils import timezone

from .. import csvio, intake, notify, prompting
from ..models import ColumnRole, File, Item, Rubric, Run
from .rubrics import rubric_default

# The column roles (models.ColumnRole), as plain strings.
ROLE_ID = ColumnRole.ID.value
ROLE_MODEL = ColumnRole.MODEL.value
ROLE_RESULTS = ColumnRole.RESULTS.value
ROLE_AUDIT_ONLY = ColumnRole.AUDIT_ONLY.value
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


def role_reason(column: str, id_column: str | None = None) -> str:
    """Why a column starts with the use it does (empty: shown to the model), in words."""
    name = column.replace(" ", "_")
    if column == id_column:
        return "the candidate ID"
    if is_protected(column):
        return (
            "a protected characteristic: never shown to the AI, used only to measure adverse impact"
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


def default_roles(header: list[str], id_column: str | None) -> dict[str, str]:
    """ID → id; protected characteristics → audit only (never shown to the model or in
    the results table; used for the adverse-impact report); personal data, other
    identifiers and earlier judgements (a human score, a decision) → keep in results only
    (a record number says nothing about a candidate, and a score to copy would replace
    reading one); the rest → model. `role_reason` says why, in words."""
    roles = {}
    for column in header:
        if column == id_column:
            roles[column] = ROLE_ID
        elif is_protected(column):
            roles[column] = ROLE_AUDIT_ONLY
        elif role_reason(column):
            roles[column] = ROLE_RESULTS
        else:
            roles[column] = ROLE_MODEL
    return roles


def answer_format_setting() -> str:
    """The answer format new runs start with (HRBATCH_ANSWER_FORMAT)."""
    value = str(settings.HRBATCH.get("ANSWER_FORMAT") or prompting.FORMAT_KEYED)
    if value not in prompting.ANSWER_FORMATS:
        raise ImproperlyConfigured(
            f"HRBATCH_ANSWER_FORMAT is {value!r}; set it to one of "
            f"{', '.join(prompting.ANSWER_FORMATS)}."
        )
    return value


def plan_for_run(run: Run, *, pack_size: int | None = None) -> prompting.PromptPlan:
    """The run's prompt, in the answer format stored on it (keyed for runs from before
    there was a choice; see run_start)."""
    rubric = run.rubric
    assert rubric is not None
    return prompting.plan_for(
        instructions=rubric.instructions,
        criteria=rubric.criteria,
        rationale=rubric.rationale,
        pack_size=pack_size or run.pack_size,
        answer_format=run.opts.answer_format or prompting.FORMAT_KEYED,
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


def file_check(
    *,
    input_file: File,
    id_column: str | None,
    roles: dict[str, str] | None,
    rubric: Rubric | None = None,
    pack_size: int = 1,
    encoding: str = "",
) -> intake.FileCheck:
    """Every row of the file read once with these choices: its problems, rows too long
    for the model, and (FileCheck.refusals) whether Start must be refused and why.

    The web check page and `manage.py evaluate` both ask this before a run is made, so
    they refuse the same files for the same reasons: duplicate or missing IDs or unreadable
    rows while "leave out rows with problems" is off, and rows too long for the model
    until someone chooses what to do with them. (A run that started anyway would fail at
    once, with nothing but a header to download.) `encoding` is the one a person chose,
    as for run_create, so the check reads the text the run will read."""
    rubric = rubric or rubric_default()
    limit = candidate_chars_limit(rubric=rubric, pack_size=pack_size)
    try:
        layout = csvio.sniff(input_file.abspath, encoding=encoding or None)
    except csvio.CsvProblem as problem:
        return intake.FileCheck(id_column=id_column, limit=limit, file_problem=problem.message)
    roles = dict(roles or default_roles(layout.header, id_column))
    model_columns = [c for c in layout.header if roles.get(c) == ROLE_MODEL and c != id_column]
    return intake.check_file(
        input_file.abspath,
        layout,
        id_column=id_column,
        model_columns=model_columns,
        limit=limit,
    )


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
        layout = csvio.sniff(path, encoding=run.columns.get("encoding") or None)
        if id_column is not None and id_column not in layout.header:
            # read_records words this one best (it suggests near matches).
            next(iter(csvio.read_records(path, layout, id_column=id_column)), None)
    except csvio.CsvProblem as problem:
        problems = [_problem_dict(problem.code, problem.message, problem.row)]
        return run_fail_validation(run=run, errors=problems)

    header = layout.header
    roles = dict(roles or default_roles(header, id_column))
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
    model_columns = [i for i, c in enumerate(header) if roles[c] == ROLE_MODEL]
    if not model_columns:
        message = "Choose at least one column to show the model."
        return run_fail_validation(run=run, errors=[_problem_dict("no_model_columns", message)])
    other_columns = [
        i for i, c in enumerate(header) if roles[c] in (ROLE_RESULTS, ROLE_AUDIT_ONLY, ROLE_IGNORE)
    ]
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
    batch: list[tuple[int, str, dict[str, Any], dict[str, Any]]] = []
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
            chars = len(prompting.candidate_text(fields))
            if limit is not None and chars > limit:
                # Too long for the model, and its owner chose to leave such rows out.
                rejected += 1
                if len(left_out) < conf["MAX_VALIDATION_ERRORS"]:
                    message = prompting.too_long_message(row=row, chars=chars, limit=limit)
                    left_out.append(_problem_dict("too_long", f"{message} Left out.", row))
                continue
            max_chars = max(max_chars, chars)
            batch.append(
                (
                    row,
                    values[id_index].strip() if id_index is not None else f"row-{row}",
                    fields,
                    {header[i]: values[i] for i in other_columns},
                )
            )
            if len(batch) >= conf["INGEST_BATCH"]:
                total += writer.insert(batch)
                batch = []
                # Shown while a large file is being read.
                Run.objects.filter(pk=run.pk).update(total_count=total)
    except csvio.CsvProblem as problem:
        errors.insert(0, _problem_dict(problem.code, problem.message, problem.row))
        skip_invalid = False  # a file-level problem: nothing in it can be trusted
    total += writer.insert(batch)
    if (errors and not skip_invalid) or total == 0:
        Item.objects.filter(run_id=run.pk).delete()
        return run_fail_validation(run=run, errors=errors or left_out)
    errors = sorted(errors + left_out, key=lambda e: e["line"] or 0)
    notes = []
    if rejected:
        notes.append(f"{rejected} row{'s' if rejected != 1 else ''} with problems left out.")
    if warnings:
        notes.append(f"{warnings} empty row{'s' if warnings != 1 else ''} skipped.")
    run.total_count = total
    run.max_input_chars = max_chars
    run.errors = errors
    run.opts = run.opts.replace(
        rejected_count=rejected,
        # Shown on the run page and by `evaluate`: damaged bytes were replaced, not rejected.
        unreadable=unreadable.message(),
        unreadable_chars=unreadable.unreadable_chars,
    )
    run.status_message = " ".join(notes)
    run.save(
        update_fields=["total_count", "max_input_chars", "errors", "options", "status_message"]
    )
    return run


class ItemWriter:
    """Inserts Items with one executemany per chunk.

    bulk_create compiles the SQL of every field of every row, three quarters of the time
    of a 170,000-line ingest. Here the statement is built once, the other columns take
    their model defaults (from Item._meta), and only line, custom_id, input and extra vary.
    """

    _VARYING = ("line", "custom_id", "input", "extra")

    def __init__(self, run_id: int):
        self.using = router.db_for_write(Item)
        self.connection = connections[self.using]
        quote = self.connection.ops.quote_name
        fields = [f for f in Item._meta.concrete_fields if not f.primary_key]
        self.template: list[Any] = []
        for field in fields:
            if field.name == "run":
                self.template.append(run_id)
            elif field.name in self._VARYING:
                self.template.append(None)
            else:
                default = field.get_default()
                self.template.append(field.get_db_prep_save(default, self.connection))
        names = [f.name for f in fields]
        self.slots = tuple(names.index(name) for name in self._VARYING)
        self.json_field = Item._meta.get_field("input")
        self.sql = "INSERT INTO {} ({}) VALUES ({})".format(
            quote(Item._meta.db_table),
            ", ".join(quote(f.column) for f in fields),
            ", ".join(["%s"] * len(fields)),
        )

    def insert(self, rows: list[tuple[int, str, dict[str, Any], dict[str, Any]]]) -> int:
        """Rows of (line, custom_id, input, extra), in one short transaction."""
        if not rows:
            return 0
        line_at, custom_id_at, input_at, extra_at = self.slots
        prepare = self.json_field.get_db_prep_save
        params = []
        for line, custom_id, body, extra in rows:
            values = list(self.template)
            values[line_at] = line
            values[custom_id_at] = custom_id
            values[input_at] = prepare(body, self.connection)
            values[extra_at] = prepare(extra, self.connection)
            params.append(values)
        with transaction.atomic(using=self.using), self.connection.cursor() as cursor:
            cursor.executemany(self.sql, params)
        return len(rows)


def _problem_dict(code: str, message: str, line: int | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "line": line}


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
