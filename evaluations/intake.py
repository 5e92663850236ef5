"""What a candidate file holds before a run is made of it: one reading for every door.

The web check page, `manage.py evaluate` and `services.run_create`'s callers ask the same
questions here, so that they can never disagree: which column is the candidate ID, which
rows have problems, which rows are too long for the AI model, and whether Start must be
refused (and why, in words that name the row and the way out).

Pure reading (no database): the file is streamed through csvio, never held in memory.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from . import csvio, prompting

# Shown in the "Candidate ID column" choice; a column may not carry this name.
ROW_NUMBER = "__row__"

# Named like an identifier: `id`, `ID`, `Resume ID`, `resume_id`, `applicantId`,
# `Candidate #`, `candidate no`, `application number`, `uuid`… A bare `number`, `no` or
# `code` says too little on its own, so those need a word for whose number it is.
_ID_ALONE = r"id|uid|uuid|guid|key|#"
_ID_WORDS = r"id|uid|uuid|guid|key|#|no\.?|nr\.?|num|number|code|ref|reference"
_ID_OWNERS = (
    r"candidate|applicant|application|app|resume|résumé|cv|person|profile|employee|"
    r"record|row|user|student|talent|submission|entry"
)
_ID_LIKE = re.compile(
    rf"^(?:(?:{_ID_ALONE})|(?:{_ID_OWNERS})[\s_.\-]*(?:{_ID_WORDS}))$", re.IGNORECASE
)

# How many rows a message names before it says "and N more".
_FIRST_ROWS = 3
_KEEP_PROBLEMS = 100


def is_id_like(column: str) -> bool:
    return bool(_ID_LIKE.match(column.strip()))


def guess_id_column(path: str | Path, layout: csvio.CsvLayout) -> str | None:
    """The first column named like an ID whose value is filled in and different in every
    non-blank row; None when there is none (the rows are then numbered).

    A name alone is not enough: a public file may have an `id` column that repeats, or
    one that is empty in some rows, and starting with it would refuse those rows.
    """
    # Column index -> the values seen so far, for the columns still in the running.
    seen: dict[int, set[str]] = {
        i: set() for i, name in enumerate(layout.header) if is_id_like(name)
    }
    if not seen:
        return None
    try:
        for _row, values, problem in csvio.read_records(path, layout):
            if problem is not None or values is None:
                continue  # blank rows are skipped; a broken row is reported elsewhere
            for index in list(seen):
                value = values[index].strip()
                if not value or value in seen[index]:
                    del seen[index]
                else:
                    seen[index].add(value)
            if not seen:
                return None
    except csvio.CsvProblem:
        return None
    return layout.header[min(seen)] if seen else None


@dataclass
class FileCheck:
    """What a run of this file with these choices would meet, row by row."""

    id_column: str | None
    limit: int  # characters of a candidate's text the AI model can read
    rows: int = 0  # non-blank data rows
    empty_rows: int = 0
    problems: list[csvio.RowProblem] = field(default_factory=list)  # the first 100
    problem_count: int = 0
    id_problem_rows: list[int] = field(default_factory=list)  # the first few
    id_problem_count: int = 0
    other_problem_rows: list[int] = field(default_factory=list)
    long_rows: list[tuple[int, int]] = field(default_factory=list)  # (row, characters)
    long_count: int = 0
    file_problem: str = ""
    # The columns that describe the job, and the candidates of each job (by job_key).
    job_columns: list[str] = field(default_factory=list)
    job_title_column: str = ""
    jobs: Counter[str] = field(default_factory=Counter)
    job_titles: dict[str, str] = field(default_factory=dict)
    without_job: int = 0

    @property
    def ok(self) -> bool:
        return not (self.file_problem or self.problem_count or self.long_count)

    @property
    def limit_text(self) -> str:
        return f"{self.limit:,}"

    @property
    def long_messages(self) -> list[str]:
        return [
            prompting.too_long_message(row=row, chars=chars, limit=self.limit)
            for row, chars in self.long_rows
        ]

    def refusals(
        self, *, skip_invalid: bool, long_rows: str = "", door: str = "web"
    ) -> dict[str, str]:
        """Why Start must be refused, by the field that fixes it ({} when it may start).

        `door` words the way out for where the person is: a form ("web") or flags ("cli").
        """
        cli = door == "cli"
        refusals: dict[str, str] = {}
        if self.file_problem:
            refusals["__all__"] = self.file_problem
            return refusals
        leave_out = (
            "add --skip-invalid to leave them out" if cli else "tick “Leave out rows with problems”"
        )
        if self.id_problem_count and not skip_invalid:
            n = self.id_problem_count
            other = (
                "choose another column with --id-column (or none, to number the rows)"
                if cli
                else "choose another ID column or Row number"
            )
            refusals["id_column"] = (
                f"{_rows(n)} {'has' if n == 1 else 'have'} a duplicate or missing ID in "
                f"'{self.id_column}' ({_first(self.id_problem_rows, n)}). To start, {other}, "
                f"or {leave_out}."
            )
        other_count = self.problem_count - self.id_problem_count
        if other_count and not skip_invalid:
            refusals["skip_invalid"] = (
                f"{_rows(other_count)} cannot be read as one candidate each "
                f"({_first(self.other_problem_rows, other_count)}). Fix "
                f"{'it' if other_count == 1 else 'them'} in the file and upload it again, or "
                f"{leave_out}."
            )
        if self.long_count and long_rows not in ("leave_out", "truncate"):
            n = self.long_count
            it, its = ("it", "its") if n == 1 else ("them", "their")
            if cli:
                how = (
                    f"--long-rows leave-out, or --long-rows truncate to score {its} first "
                    f"{self.limit:,} characters"
                )
            else:
                how = f"leave {it} out, or score {its} first {self.limit:,} characters"
            refusals["long_rows"] = (
                f"Choose what to do with the {'row' if n == 1 else f'{n} rows'} too long for "
                f"the AI model ({_first([r for r, _ in self.long_rows], n)}): {how}."
            )
        return refusals


def _rows(n: int) -> str:
    return f"{n:,} row{'' if n == 1 else 's'}"


def _first(rows: list[int], total: int) -> str:
    named = ", ".join(f"row {row}" for row in rows[:_FIRST_ROWS])
    if total > _FIRST_ROWS:
        return f"first: {named} and {total - _FIRST_ROWS:,} more"
    return named


def check_file(
    path: str | Path,
    layout: csvio.CsvLayout,
    *,
    id_column: str | None,
    model_columns: list[str],
    limit: int,
    job_columns: list[str] | None = None,
    job_title_column: str = "",
) -> FileCheck:
    """Read every row once: its problems, and how long the text the AI would see is (the
    candidate's, and what their job adds to the instructions: `job_columns`)."""
    check = FileCheck(
        id_column=id_column,
        limit=limit,
        job_columns=list(job_columns or []),
        job_title_column=job_title_column,
    )
    shown = [i for i, name in enumerate(layout.header) if name in set(model_columns)]
    job = [i for i, name in enumerate(layout.header) if name in set(job_columns or [])]
    try:
        for row, values, problem in csvio.read_records(path, layout, id_column=id_column):
            if problem is not None:
                if problem.code == "empty_row":
                    check.empty_rows += 1
                    continue
                check.problem_count += 1
                if len(check.problems) < _KEEP_PROBLEMS:
                    check.problems.append(problem)
                if problem.code in ("duplicate_id", "missing_id"):
                    check.id_problem_count += 1
                    if len(check.id_problem_rows) < _FIRST_ROWS:
                        check.id_problem_rows.append(row)
                elif len(check.other_problem_rows) < _FIRST_ROWS:
                    check.other_problem_rows.append(row)
                continue
            check.rows += 1
            assert values is not None
            chars = len(prompting.candidate_text({layout.header[i]: values[i] for i in shown}))
            if job:
                title, text = prompting.job_text(
                    {layout.header[i]: values[i] for i in job}, job_title_column
                )
                chars += len(prompting.job_section(text))
                if text:
                    key = prompting.job_key(text)
                    check.jobs[key] += 1
                    check.job_titles.setdefault(key, title)
                else:
                    check.without_job += 1
            if chars > limit:
                check.long_count += 1
                if len(check.long_rows) < _KEEP_PROBLEMS:
                    check.long_rows.append((row, chars))
    except csvio.CsvProblem as exc:
        check.file_problem = exc.message
    return check
