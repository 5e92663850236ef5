"""What a candidate file holds before a run is made of it: one reading for every door.

The web check page, `manage.py evaluate` and `services.run_create`'s callers ask the same
questions here, so that they can never disagree: which column is the candidate ID, which
rows have problems, which rows are too long for the AI model, and whether Start must be
refused (and why, in words that name the row and the way out).

Pure reading (no database): the file is streamed through csvio, never held in memory.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from . import csvio, flags, prompting, redact

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
    *,
    id_column: str | None,
    model_columns: list[str],
    limit: int,
    job_columns: list[str] | None = None,
    job_title_column: str = "",
    position_column: str = "",
    saved_jobs: dict[str, str] | None = None,
    job_map: dict[str, str] | None = None,
    name_columns: list[str] | None = None,
    min_text_chars: int = 0,
    rest: str | None = None,
) -> FileCheck:
    """Read every row once: its problems, and how long the text the AI would see is (the
    candidate's, and what their job adds to the instructions: `job_columns`).

    With `saved_jobs` (title_key → the job's text as the model reads it), the jobs come
    from those instead: each candidate's `position_column` value is matched by title
    (spacing and case aside), or by `job_map` (a position's title_key → the title_key of
    the job chosen for it by hand, "" for none); positions that match nothing are counted
    in `unmatched`, unless `rest` says where they go ("": without a job; a title_key: that
    job). Also proposes the position column (FileCheck.proposed_position_column), and
    counts the values of the `name_columns` that do not look like names.
    Rows whose shown columns hold fewer than `min_text_chars` letters and digits
    (placeholders aside) are counted as too little text to score."""
    check = FileCheck(
        id_column=id_column,
        limit=limit,
        job_columns=list(job_columns or []) if saved_jobs is None else [],
        job_title_column=job_title_column if saved_jobs is None else "",
        position_column=position_column if saved_jobs is not None else "",
    )
    header = layout.header
    shown_names, job_names = set(model_columns), set(check.job_columns)
    shown = [i for i, name in enumerate(header) if name in shown_names]
    job = [i for i, name in enumerate(header) if name in job_names]
    position_at = header.index(position_column) if check.position_column in header else None
    job_map = job_map or {}
    person_names = set(name_columns or [])
    names_at = [(i, name) for i, name in enumerate(header) if name in person_names]
    # Values seen in each column named like a position, until there are too many.
    looks = {i: set[str]() for i, name in enumerate(header) if is_position_like(name)}
    # The first row of each distinct candidate-and-job (candidate_key).
    firsts: dict[bytes, int] = {}
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
            for index, column in names_at:
                if name := values[index].strip():
                    check.name_rows[column] += 1
                    if not redact.looks_like_name(name):
                        check.not_names[column] += 1
            fields = {header[i]: values[i] for i in shown}
            chars = len(prompting.candidate_text(fields))
            little = bool(min_text_chars) and not flags.has_enough_text(fields, min_text_chars)
            if little:
                check.little_count += 1
                if len(check.little_rows) < _FIRST_ROWS:
                    check.little_rows.append(row)
            for index in list(looks):
                looks[index].add(prompting.title_key(values[index]))
                if len(looks[index]) > MAX_POSITIONS:
                    del looks[index]
            text = ""
            if saved_jobs is not None:
                if position_at is not None and (title := " ".join(values[position_at].split())):
                    key = prompting.title_key(title)
                    check.positions[key] += 1
                    check.position_titles.setdefault(key, title)
                    target = job_map.get(key, key)
                    if rest is not None and key not in job_map and key not in saved_jobs:
                        target = rest
                    if target:
                        text = saved_jobs.get(target, "")
                        if not text:
                            check.unmatched[key] += 1
                chars += len(prompting.job_section(text))
                if text:
                    check.jobs[prompting.job_key(text)] += 1
                else:
                    check.without_job += 1
            elif job:
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
            key = candidate_key((values[i] for i in shown), prompting.job_key(text) if text else "")
            # Too little text is never scored: such rows are not copies either.
            first = row if little else firsts.setdefault(key, row)
            if first != row:
                check.copy_count += 1
                if len(check.copy_rows) < _KEEP_PROBLEMS:
                    check.copy_rows.append((row, first))
            if chars > limit:
                check.long_count += 1
                if len(check.long_rows) < _KEEP_PROBLEMS:
                    check.long_rows.append((row, chars))
    except csvio.CsvProblem as exc:
        check.file_problem = exc.message
    check.proposed_position_column, check.proposed_position_values = _proposal(
        looks, header, check.rows
    )
    return check


# The first rows read to see what a column holds, when proposing its use: enough to tell,
# and bounded, as the check page reads them again at every change.
PROPOSAL_ROWS = 2000
# A column whose values are contact details in this share of its filled-in rows (or more)
# holds someone's contact details.
CONTACT_SHARE = 0.01


def contact_columns(
    path: str | Path, layout: csvio.CsvLayout, columns: list[str], *, rows: int = PROPOSAL_ROWS
) -> dict[str, tuple[int, int]]:
    """Of `columns`, those whose values are someone's contact details (a link, an e-mail
    address or a phone number alone, or a LinkedIn profile: redact.is_contact) in at least
    CONTACT_SHARE of their filled-in values, among the first `rows` rows: {column: (rows
    with contact details, rows filled in)}."""
    wanted = set(columns)
    at = [(i, name) for i, name in enumerate(layout.header) if name in wanted]
    filled: Counter[str] = Counter()
    contacts: Counter[str] = Counter()
    if not at:
        return {}
    read = 0
    try:
        for _row, values, problem in csvio.read_records(path, layout):
            if problem is not None or values is None:
                continue
            for index, column in at:
                if value := values[index].strip():
                    filled[column] += 1
                    contacts[column] += redact.is_contact(value)
            read += 1
            if read >= rows:
                break
    except csvio.CsvProblem:
        pass  # the file check says what is wrong with the file
    return {
        column: (contacts[column], filled[column])
        for _index, column in at
        if contacts[column] and contacts[column] >= CONTACT_SHARE * filled[column]
    }


def propose_position_column(path: str | Path, layout: csvio.CsvLayout) -> tuple[str, set[str]]:
    """The column that looks like the position each candidate applied for, and its
    distinct values as title keys (("", set()) when none does): what check_file proposes,
    read alone (only the columns named like a position are looked at)."""
    header = layout.header
    looks = {i: set[str]() for i, name in enumerate(header) if is_position_like(name)}
    rows = 0
    if not looks:
        return "", set()
    try:
        for _row, values, problem in csvio.read_records(path, layout):
            if problem is not None or values is None:
                continue
            rows += 1
            for index in list(looks):
                looks[index].add(prompting.title_key(values[index]))
                if len(looks[index]) > MAX_POSITIONS:
                    del looks[index]
            if not looks:
                break
    except csvio.CsvProblem:
        return "", set()
    column, _ = _proposal(looks, header, rows)
    return column, (looks[header.index(column)] - {""}) if column else set()


def too_many_values(distinct: int, rows: int) -> bool:
    """Whether a column with `distinct` different values in `rows` rows says something of
    each candidate rather than of the job they applied for: more than one value for every
    two rows (an export's `Job Title` with 2,322 values in 2,900 rows is the candidate's
    own title, not a position)."""
    return distinct > max(2, rows // 2)


def _proposal(looks: dict[int, set[str]], header: list[str], rows: int) -> tuple[str, int]:
    """Of the columns named like a position, one with few distinct values: at least two
    and at most one for every two rows (a value per candidate is free text)."""
    few = [
        (len(values - {""}), i)
        for i, values in looks.items()
        if len(values - {""}) > 1 and not too_many_values(len(values - {""}), rows)
    ]
    if not few:
        return "", 0
    count, index = min(few, key=lambda pair: (_position_rank(header[pair[1]]), pair[1]))
    return header[index], count


def column_values(
    path: str | Path, layout: csvio.CsvLayout, columns: list[str]
) -> tuple[int, dict[str, int]]:
    """The readable rows of a file, and how many different values (spacing and case aside,
    blanks left out) each of `columns` holds: what tells a column about the job from one
    about each candidate (too_many_values). Values are kept as hashes, so a long text
    column costs little memory."""
    at = {column: layout.header.index(column) for column in columns if column in layout.header}
    seen: dict[str, set[int]] = {column: set() for column in at}
    rows = 0
    try:
        for _row, values, problem in csvio.read_records(path, layout):
            if problem is not None or values is None:
                continue
            rows += 1
            for column, index in at.items():
                if key := prompting.title_key(values[index]):
                    seen[column].add(hash(key))
    except csvio.CsvProblem:
        pass  # the check names the problem; what was read so far still tells
    return rows, {column: len(values) for column, values in seen.items()}


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


# A column that may say which position the candidate applied for: named like one, and
# holding few distinct values (a column with more is free text, not a position).
_POSITION_WORDS = ("position", "requisition", "vacancy", "opening", "job", "role", "title", "post")
_POSITION_LIKE = re.compile(
    r"(^|[\s_.\-])(job|position|role|title|requisition|req|vacancy|opening|posting|post|"
    r"applied[\s_.\-]*for)s?([\s_.\-]|$)|^(jobtitle|position|role|requisition)",
    re.IGNORECASE,
)
# A column with more distinct values than this is not a position column.
MAX_POSITIONS = 1000


def is_position_like(column: str) -> bool:
    """Named like the position a candidate applied for, and not a record number, nor a
    requirement (job_id, requisition_no and skills_required say something else)."""
    name = column.strip()
    if is_id_like(name) or re.search(r"(^|[\s_.\-])(id|no|nr|number|code|key)$", name, re.I):
        return False
    if re.search(r"requirement|required|description|responsibilit|skill", name, re.I):
        return False
    # The candidate's own jobs: their current or past role is not the one applied for.
    if re.search(r"current|previous|past|last|former|prior|recent|held", name, re.I):
        return False
    return bool(_POSITION_LIKE.search(name))


def _position_rank(column: str) -> tuple[bool, int]:
    """Which name says "the position applied for" most plainly: a plural ("positions",
    "role_positions") is more often the candidate's own history; then position or
    requisition before job, role and title."""
    lowered = column.casefold()
    plural = re.search(r"(position|role|title|job|opening|vacancie)s([\s_.\-]|$)", lowered)
    rank = next((rank for rank, word in enumerate(_POSITION_WORDS) if word in lowered), 99)
    return bool(plural), rank
