"""The column policy: what each column of a candidate file is taken for, from its name.

Which column is the candidate ID, which say who a person is (kept in the results, never
shown to the AI), which hold a protected characteristic (audit only), which describe the
job the candidate applied for, which hold the candidate's own name (redacted from the text
the AI reads), which an earlier judgement; the use each column starts with, and why, in
words. Pure: it reads neither the file (intake.proposals looks at the values) nor the
database, and writes nothing.
"""

from __future__ import annotations

import re

from ..models import ColumnRole

# The column roles (models.ColumnRole), as plain strings.
ROLE_ID = ColumnRole.ID.value
ROLE_MODEL = ColumnRole.MODEL.value
ROLE_RESULTS = ColumnRole.RESULTS.value
ROLE_AUDIT_ONLY = ColumnRole.AUDIT_ONLY.value
ROLE_JOB = ColumnRole.JOB.value
ROLE_IGNORE = ColumnRole.IGNORE.value
ROLES = tuple(ColumnRole.values)

# "Row number (no ID column)" in the Candidate ID column choice: the rows are numbered
# (row-2, row-3, …) instead. A column may not carry this name.
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


def id_column_from(value: str | None) -> str | None:
    """The ID column a form, a URL or a flag names; None for Row number (or nothing)."""
    return None if not value or value == ROW_NUMBER else value


def is_id_like(column: str) -> bool:
    return bool(_ID_LIKE.match(column.strip()))


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
# text the model sees (evaluations.model_view). The whole column name must say so: a job's
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
            is_id_like(column)
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
    if is_id_like(column):
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


def is_title_like(column: str) -> bool:
    """Named like a job's title ("title", "position")."""
    return bool(_JOB_TITLE.search(column))


def job_title_column(job_columns: list[str]) -> str:
    """The job column holding the job's title: one named like a title or position, else
    the first."""
    return next((c for c in job_columns if _JOB_TITLE.search(c)), job_columns[0])


def roles_with_position(roles: dict[str, str], position_column: str) -> dict[str, str]:
    """With jobs matched by a position column, that column names the job, and the model
    reads the job's text once per job: it is not shown again as the candidate's own
    ("Show to the AI" becomes "Keep in results only")."""
    if position_column and roles.get(position_column) == ROLE_MODEL:
        return {**roles, position_column: ROLE_RESULTS}
    return roles


def run_roles(
    header: list[str], roles: dict[str, str], *, id_column: str | None, position_column: str = ""
) -> dict[str, str]:
    """Every column's use as a run reads the file: the roles chosen, a column left out of
    them ignored, the ID column the ID (whatever it was given), and a position column
    matched to saved jobs kept in the results (roles_with_position)."""
    complete = {column: roles.get(column, ROLE_IGNORE) for column in header}
    if id_column:
        complete[id_column] = ROLE_ID
    return roles_with_position(complete, position_column)


def too_many_values(distinct: int, rows: int) -> bool:
    """Whether a column with `distinct` different values in `rows` rows says something of
    each candidate rather than of the job they applied for: more than one value for every
    two rows (an export's `Job Title` with 2,322 values in 2,900 rows is the candidate's
    own title, not a position)."""
    return distinct > max(2, rows // 2)


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


def position_rank(column: str) -> tuple[bool, int]:
    """Which name says "the position applied for" most plainly: a plural ("positions",
    "role_positions") is more often the candidate's own history; then position or
    requisition before job, role and title."""
    lowered = column.casefold()
    plural = re.search(r"(position|role|title|job|opening|vacancie)s([\s_.\-]|$)", lowered)
    rank = next((rank for rank, word in enumerate(_POSITION_WORDS) if word in lowered), 99)
    return bool(plural), rank
