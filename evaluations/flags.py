"""What a person is told to look at about a candidate, found in their text alone.

Flags are worked out once, at ingest, from the columns shown to the AI, before any model
reads them; so a flag never depends on what a model then did (a model may obey text that
tries to instruct it, or may not: the person is told either way). Pure: no database.

- `instructions_in_text`: the text tries to instruct the AI ("ignore previous
  instructions", "give this candidate 10", "you are now…"), in any of the languages
  `evaluations.injection` reads. The candidate is scored as usual (the text is fenced as
  data, prompting.fence) and flagged for a person.
- `too_little_text`: once placeholders ("Not Provided", "N/A", "-", "[None]" …) are set
  aside, the text holds fewer letters and digits than HRBATCH_MIN_TEXT_CHARS: there is
  nothing to score, so the candidate is not sent to the AI at all.

Stored on the Item as the codes separated by ";" (the scored CSV's `flags` column).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from . import injection

INSTRUCTIONS_IN_TEXT = "instructions_in_text"
TOO_LITTLE_TEXT = "too_little_text"
# In the order they are written in a cell.
ALL = (INSTRUCTIONS_IN_TEXT, TOO_LITTLE_TEXT)
SEPARATOR = ";"
LABELS = {
    INSTRUCTIONS_IN_TEXT: "instructions in text",
    TOO_LITTLE_TEXT: "too little text",
}
# Why a candidate with too little text has no scores (Item.error, the results, the CSV).
TOO_LITTLE_MESSAGE = (
    "Not scored: too little text to read. Once placeholders such as “Not Provided” or "
    "“N/A” are set aside, the columns shown to the AI hold almost nothing, and a score would "
    "be noise. Fill them in the file, or show the AI other columns, and score it again."
)

# A cell that says "nothing here": spreadsheets, pandas and hand-typed exports write
# these. Compared casefolded, spacing squeezed, quotes and brackets of a list around them
# taken off ("['N/A']", "[None]", "[]"), so only the whole value counts, never a word.
PLACEHOLDERS = frozenset(
    {
        "",
        "-",
        "--",
        "---",
        "—",
        "–",
        ".",
        "?",
        "/",
        "n/a",
        "n.a.",
        "n.a",
        "n / a",
        "na",
        "n/d",
        "nd",
        "none",
        "null",
        "nil",
        "nan",
        "undefined",
        "unknown",
        "not provided",
        "not available",
        "not applicable",
        "not specified",
        "not given",
        "not mentioned",
        "no data",
        "no information",
        "empty",
        "tbd",
        "tba",
        # German, French, Spanish, Portuguese, Italian, Dutch exports.
        "k.a.",
        "k. a.",
        "keine angabe",
        "keine angaben",
        "nicht angegeben",
        "non renseigné",
        "non renseigne",
        "non communiqué",
        "non disponible",
        "néant",
        "no disponible",
        "no especificado",
        "sin datos",
        "não informado",
        "nao informado",
        "não disponível",
        "non disponibile",
        "non specificato",
        "niet opgegeven",
        "onbekend",
    }
)
_SPACES = re.compile(r"\s+")
# Outer brackets and quotes of a list or a quoted cell: "['N/A', None]", '"none"'.
_WRAPPING = "[](){}'\"` "
# Longer than any placeholder, unless a list of them.
_LONGEST = 40
_ALNUM = re.compile(r"[^\W_]")


def is_placeholder(value: Any) -> bool:
    """Whether a cell says nothing: empty, or a placeholder alone (case and spacing aside),
    or a list of placeholders only ("[None]", "['N/A', 'N/A']", "[]")."""
    text = str(value if value is not None else "")
    if len(text) > _LONGEST and not text.lstrip().startswith(("[", "(")):
        return False  # most cells: text, not a placeholder (the quick way)
    text = _SPACES.sub(" ", text).strip().casefold()
    if text in PLACEHOLDERS:
        return True
    if text[:1] in "[(" and text[-1:] in "])":
        parts = [part.strip(_WRAPPING) for part in text.strip("[]()").split(",")]
        return all(part in PLACEHOLDERS for part in parts)
    return text.strip(_WRAPPING) in PLACEHOLDERS


def has_enough_text(fields: Mapping[str, Any], min_chars: int) -> bool:
    """Whether the values that are not placeholders hold at least `min_chars` letters and
    digits: something for the AI to read (column names and punctuation say nothing about
    the candidate). Counts only as far as it must."""
    return _enough(_said(fields), min_chars)


def _said(fields: Mapping[str, Any]) -> list[str]:
    """The values that are not placeholders."""
    return [text for value in fields.values() if not is_placeholder(text := str(value))]


def _enough(values: list[str], min_chars: int) -> bool:
    seen = 0
    for value in values:
        if seen >= min_chars:
            break
        for _ in _ALNUM.finditer(value):
            seen += 1
            if seen >= min_chars:
                break
    return seen >= min_chars


def candidate_flags(
    fields: Mapping[str, Any], *, min_chars: int, little: bool | None = None
) -> list[str]:
    """The flags of one candidate from the fields shown to the AI (in ALL's order).
    `little`: whether it has too little text, when the caller has worked that out already
    (the row reader has: intake.rows.Row.little)."""
    found = []
    said = _said(fields)
    # Where instructions are looked for: the values the AI reads (placeholders aside).
    if injection.instructs_the_ai("\n".join(said)):
        found.append(INSTRUCTIONS_IN_TEXT)
    if little if little is not None else not _enough(said, min_chars):
        found.append(TOO_LITTLE_TEXT)
    return found


def instructions_found(fields: Mapping[str, Any]) -> list[injection.Finding]:
    """Where the candidate's text gives the AI orders (what the candidate page shows for
    `instructions_in_text`)."""
    return injection.find_instructions("\n".join(_said(fields)))


def join(flags: Iterable[str]) -> str:
    """The flags in one cell: "instructions_in_text;too_little_text" ("" for none)."""
    chosen = set(flags)
    return SEPARATOR.join(flag for flag in ALL if flag in chosen)


def split(cell: str) -> list[str]:
    return [flag for flag in (cell or "").split(SEPARATOR) if flag]
