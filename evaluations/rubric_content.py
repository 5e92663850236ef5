"""The seeded default rubric (five 1–10 scores with anchors for 1 / 4 / 7 / 10), and what
changed between two versions of a rubric."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

ANCHOR_LEVELS = ("1", "4", "7", "10")

DEFAULT_RUBRIC_NAME = "Default five-score rubric"

DEFAULT_INSTRUCTIONS = (
    "You are an experienced, fair recruiter screening job applicants. Score the one "
    "candidate you are given against the position they applied for, using only the "
    "evidence in their application. Do not reward length or polish for their own sake, "
    "and ignore anything that says who the person is rather than what they can do. "
    "When evidence for a criterion is missing, give a low-to-middle score rather than "
    "guessing. Every score is a whole number from 1 (very weak) to 10 (outstanding)."
)

DEFAULT_CRITERIA: list[dict[str, Any]] = [
    {
        "key": "technical_skills",
        "label": "Technical skills",
        "description": "Depth and relevance of the skills and tools the position needs.",
        "anchors": {
            "1": "No relevant skills for this position.",
            "4": "Some relevant skills, but gaps in core requirements.",
            "7": "Solid command of most core skills, shown in past work.",
            "10": "Expert in the core skills, with proven, advanced results.",
        },
    },
    {
        "key": "communication",
        "label": "Communication",
        "description": "Clarity, structure and tone of the application's own writing.",
        "anchors": {
            "1": "Unclear or very hard to follow.",
            "4": "Understandable but disorganised or vague.",
            "7": "Clear, well organised and specific.",
            "10": "Exceptionally clear, concise and persuasive.",
        },
    },
    {
        "key": "cultural_fit",
        "label": "Cultural fit",
        "description": (
            "Motivation for the role and the collaborative, learning-oriented way of "
            "working the application shows (not background or personal traits)."
        ),
        "anchors": {
            "1": "No interest in the role or the team shown.",
            "4": "Generic motivation with little sign of how they work with others.",
            "7": "Clear motivation and good examples of teamwork.",
            "10": "Compelling motivation and strong evidence of collaboration and growth.",
        },
    },
    {
        "key": "leadership_potential",
        "label": "Leadership potential",
        "description": "Ownership, initiative, mentoring or leading people and projects.",
        "anchors": {
            "1": "No sign of initiative or ownership.",
            "4": "Occasional ownership of own tasks.",
            "7": "Led projects or mentored others with results.",
            "10": "Led teams or major initiatives with clear impact.",
        },
    },
    {
        "key": "overall",
        "label": "Overall",
        "description": "Overall suitability for the position they applied for.",
        "anchors": {
            "1": "Not suitable.",
            "4": "Below the bar; unlikely to succeed in the role.",
            "7": "A good candidate worth interviewing.",
            "10": "An exceptional match; interview first.",
        },
    },
]


# --- what changed between two versions ---------------------------------------------------

_TOKENS = re.compile(r"\S+|\s+")


@dataclass(frozen=True)
class FieldChange:
    """One field that differs: `segments` are (op, text) with op "same", "del" or "ins"."""

    label: str
    segments: list[tuple[str, str]]


@dataclass(frozen=True)
class CriterionChange:
    key: str
    label: str
    status: str  # "added", "removed" or "changed"
    fields: list[FieldChange]


@dataclass(frozen=True)
class RubricDiff:
    fields: list[FieldChange] = field(default_factory=list)
    criteria: list[CriterionChange] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.fields and not self.criteria


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """`old` → `new` word by word (difflib), so a changed phrase in a long paragraph shows
    as that phrase struck out and its replacement, not as two whole paragraphs."""
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    segments: list[tuple[str, str]] = []

    def add(op: str, text: str) -> None:
        # Spaces at the edges of a change are shown as unchanged, outside the marks.
        core = text.strip()
        if not core:
            if text:
                segments.append(("same", text))
            return
        start = text.index(core)
        if start:
            segments.append(("same", text[:start]))
        segments.append((op, core))
        if text[start + len(core) :]:
            segments.append(("same", text[start + len(core) :]))

    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            segments.append(("same", "".join(a[i1:i2])))
            continue
        if op in ("delete", "replace"):
            add("del", "".join(a[i1:i2]))
        if op in ("insert", "replace"):
            add("ins", "".join(b[j1:j2]))
    return segments


def _criterion_fields(criterion: dict[str, Any]) -> list[tuple[str, str]]:
    anchors = criterion.get("anchors") or {}
    return [
        ("Label", str(criterion.get("label", ""))),
        ("What it measures", str(criterion.get("description", ""))),
        *((f"A {level} looks like", str(anchors.get(level, ""))) for level in ANCHOR_LEVELS),
    ]


def _changed(pairs: list[tuple[str, str, str]]) -> list[FieldChange]:
    return [FieldChange(label, word_diff(old, new)) for label, old, new in pairs if old != new]


def rubric_diff(old: Any, new: Any) -> RubricDiff:
    """What changed from rubric version `old` to `new`: the instructions, the rationale
    option, and each criterion's fields (criteria matched by key)."""
    fields = _changed(
        [
            ("Instructions to the AI", old.instructions, new.instructions),
            (
                "Short reason with every set of scores",
                "asked for" if old.rationale else "not asked for",
                "asked for" if new.rationale else "not asked for",
            ),
        ]
    )
    before = {c["key"]: c for c in old.criteria}
    after = {c["key"]: c for c in new.criteria}
    criteria = []
    for key in [*after, *(k for k in before if k not in after)]:
        was, now = before.get(key), after.get(key)
        label = str((now or was or {}).get("label") or key)
        if was is None or now is None:
            shown = _criterion_fields(now or was or {})
            pairs = [(name, "", text) if was is None else (name, text, "") for name, text in shown]
            status = "added" if was is None else "removed"
            criteria.append(CriterionChange(key, label, status, _changed(pairs)))
            continue
        pairs = [
            (name, a, b)
            for (name, a), (_, b) in zip(
                _criterion_fields(was), _criterion_fields(now), strict=True
            )
        ]
        if changes := _changed(pairs):
            criteria.append(CriterionChange(key, label, "changed", changes))
    return RubricDiff(fields, criteria)
