"""The check before a run: what a run of this file with these choices would meet.

The web check page and `manage.py evaluate` ask the same questions here (through
services.intake), so that they can never disagree: which rows have problems, which are
too long for the AI model, which repeat an earlier candidate, which jobs the candidates
are scored against, and whether Start must be refused (and why, in words that name the
row and the way out). It counts what intake.rows.read_rows yields, the same rows the
ingest then writes.

Pure reading (no database): the file is streamed through csvio, never held in memory.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .. import csvio, prompting, redact
from .columns import is_name_column
from .proposals import PositionLooks
from .rows import Row, RowPlan, read_rows

# How many rows a message names before it says "and N more".
_FIRST_ROWS = 3
_KEEP_PROBLEMS = 100


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
    # Rows whose columns shown to the AI hold too little text to score (placeholders such
    # as "Not Provided" aside): not sent to the AI, flagged too_little_text. The first few.
    little_rows: list[int] = field(default_factory=list)
    little_count: int = 0
    file_problem: str = ""
    # The columns that describe the job, and the candidates of each job (by job_key).
    job_columns: list[str] = field(default_factory=list)
    job_title_column: str = ""
    jobs: Counter[str] = field(default_factory=Counter)
    job_titles: dict[str, str] = field(default_factory=dict)
    without_job: int = 0
    # Jobs matched by the candidates' position column (saved jobs, or a jobs file): the
    # column, the candidates of each position (by title_key, with the title as first
    # written), and the positions that match no job and were not mapped by hand.
    position_column: str = ""
    positions: Counter[str] = field(default_factory=Counter)
    position_titles: dict[str, str] = field(default_factory=dict)
    unmatched: Counter[str] = field(default_factory=Counter)
    # The column that looks like the position applied for (few distinct values, a name
    # like position, job, role, title, requisition), and how many values it has.
    proposed_position_column: str = ""
    proposed_position_values: int = 0
    # The columns holding the candidate's own name: in how many rows each is filled in, and
    # in how many of those its value does not look like a person's name (redact.
    # looks_like_name), so that its words are not taken out of the text there.
    name_rows: Counter[str] = field(default_factory=Counter)
    not_names: Counter[str] = field(default_factory=Counter)

    # Rows that repeat an earlier row's candidate for the same job (candidate_key): each
    # distinct candidate is scored once, its copies take its scores. The first few as
    # (row, the row it repeats).
    copy_count: int = 0
    copy_rows: list[tuple[int, int]] = field(default_factory=list)

    @property
    def distinct(self) -> int:
        """The candidates the AI will read: the rows that can be scored, copies and rows
        with too little text aside."""
        return self.rows - self.copy_count - self.little_count

    @property
    def copies_said(self) -> str:
        """The copies in words, with the first rows ("" when there are none)."""
        n = self.copy_count
        if not n:
            return ""
        named = ", ".join(f"row {row} repeats row {first}" for row, first in self.copy_rows[:3])
        more = f" and {n - 3:,} more" if n > 3 else ""
        return (
            f"{_rows(n)} {'repeats' if n == 1 else 'repeat'} an earlier row: the same "
            f"candidate for the same job, spacing and case aside ({named}{more}). "
            f"{self.distinct:,} distinct candidate{'' if self.distinct == 1 else 's'} will be "
            "sent to the AI, each once; every copy takes its scores and is listed with it in "
            "the results and shortlists."
        )

    @property
    def ok(self) -> bool:
        return not (self.file_problem or self.problem_count or self.long_count)

    @property
    def limit_text(self) -> str:
        return f"{self.limit:,}"

    @property
    def name_notes(self) -> list[str]:
        """Said on the check page (and by `evaluate`) for each name column that holds
        something else than names in some rows."""
        return [
            f"“{column}” does not look like people's names in {n:,} of "
            f"{self.name_rows[column]:,} rows: its words are not redacted there."
            for column, n in self.not_names.items()
        ]

    @property
    def little_message(self) -> str:
        """The rows with too little text, in words ("" when there are none)."""
        n = self.little_count
        if not n:
            return ""
        return (
            f"{_candidates(n)} ({_first(self.little_rows, n)}) "
            f"{'has' if n == 1 else 'have'} too little text to score: once placeholders such "
            "as “Not Provided” or “N/A” are set aside, the columns shown to the AI hold almost "
            f"nothing. {'It is' if n == 1 else 'They are'} not sent to the AI, and marked "
            "too_little_text in the results."
        )

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
        if self.unmatched:
            n = len(self.unmatched)
            shown = ", ".join(
                f"“{self.position_titles[key]}” ({_candidates(count)})"
                for key, count in self.unmatched.most_common(_FIRST_ROWS)
            )
            more = f" and {n - _FIRST_ROWS:,} more" if n > _FIRST_ROWS else ""
            if cli:
                how = (
                    "map each with --map-job 'Position in the file=Saved job title', or "
                    "--map-job 'Position in the file=' to score its candidates without a job "
                    "(--map-job '*=' for every position that matches no job)"
                )
            else:
                how = (
                    "choose a job for each below, or “Score without a job” (“Score every "
                    "unmatched position without a job” for all of them)"
                )
            refusals["jobs"] = (
                f"{n:,} position{'' if n == 1 else 's'} in '{self.position_column}' "
                f"match{'es' if n == 1 else ''} no job: {shown}{more}. To start, {how}."
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


def _candidates(n: int) -> str:
    return f"{n:,} candidate{'' if n == 1 else 's'}"


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
    plan: RowPlan,
    *,
    id_column: str | None,
    limit: int,
) -> FileCheck:
    """Read every row once (read_rows, with `plan`: the choices), and count what a run
    would meet: problems, rows too long for the model (over `limit` characters, the
    candidate's text and what their job adds), too little text, copies, the jobs (from the
    job columns, or the saved jobs matched by position: positions that match none are
    counted in `unmatched`). Also proposes the position column
    (FileCheck.proposed_position_column), and counts the values of the name columns that
    do not look like names."""
    check = FileCheck(
        id_column=id_column,
        limit=limit,
        job_columns=list(plan.job_columns),
        job_title_column=plan.title_column,
        position_column=plan.jobs.column if plan.jobs is not None else "",
    )
    names_at = [(i, name) for i, name in enumerate(layout.header) if is_name_column(name)]
    looks = PositionLooks(layout.header)
    try:
        for row in read_rows(path, layout, plan, id_column=id_column):
            if isinstance(row, csvio.RowProblem):
                _count_problem(check, row)
                continue
            check.rows += 1
            looks.add(row.values)
            for index, column in names_at:
                if name := row.values[index].strip():
                    check.name_rows[column] += 1
                    if not redact.looks_like_name(name):
                        check.not_names[column] += 1
            _count_row(check, row, saved=plan.jobs is not None)
    except csvio.CsvProblem as exc:
        check.file_problem = exc.message
    check.proposed_position_column, check.proposed_position_values = looks.proposal()
    return check


def _count_problem(check: FileCheck, problem: csvio.RowProblem) -> None:
    if problem.code == "empty_row":
        check.empty_rows += 1
        return
    check.problem_count += 1
    if len(check.problems) < _KEEP_PROBLEMS:
        check.problems.append(problem)
    if problem.code in ("duplicate_id", "missing_id"):
        check.id_problem_count += 1
        if len(check.id_problem_rows) < _FIRST_ROWS:
            check.id_problem_rows.append(problem.row)
    elif len(check.other_problem_rows) < _FIRST_ROWS:
        check.other_problem_rows.append(problem.row)


def _count_row(check: FileCheck, row: Row, *, saved: bool) -> None:
    if row.little:
        check.little_count += 1
        if len(check.little_rows) < _FIRST_ROWS:
            check.little_rows.append(row.line)
    if row.position:
        check.positions[row.position] += 1
        check.position_titles.setdefault(row.position, row.position_title)
        if row.unmatched:
            check.unmatched[row.position] += 1
    if saved or check.job_columns:
        if row.job_key:
            check.jobs[row.job_key] += 1
            if not saved:
                check.job_titles.setdefault(row.job_key, row.job_title)
        else:
            check.without_job += 1
    if row.copy_of is not None:
        check.copy_count += 1
        if len(check.copy_rows) < _KEEP_PROBLEMS:
            check.copy_rows.append((row.line, row.copy_of))
    if row.long:
        check.long_count += 1
        if len(check.long_rows) < _KEEP_PROBLEMS:
            check.long_rows.append((row.line, row.chars))
