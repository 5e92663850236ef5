"""Explanations on demand: why a candidate got the scores stored for them (issue 9).

Bulk scoring asks for numbers only (fast, few output tokens). A person who has to defend a
score asks for an explanation afterwards: the model is shown the same prefix and the same
candidate text it scored, and the scores already stored, and asked for each criterion for a
short rationale quoting the evidence from that text, and the score it would give itself.
The explanation never changes the stored scores; where the model would now give another
score, the page says so. Each quote is checked against the text the model saw.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import answer_grammar
from .prompting import SCORE_MAX, SCORE_MIN, InvalidOutput, PromptPlan

RATIONALE_CHARS = 300
EVIDENCE_CHARS = 200
# About 120 tokens of JSON per criterion (a rationale, a quote, a score).
TOKENS_PER_CRITERION = 120

INSTRUCTION = (
    "These scores were already given to this candidate: {scores}.\n"
    'Explain them. For each criterion give: "rationale", one or two sentences (at most '
    f'{RATIONALE_CHARS} characters) saying why; "evidence", a short exact quote (at most '
    f"{EVIDENCE_CHARS} characters) copied from the candidate's material above (between "
    "the tags) that supports it, "
    'or "" if the text has none; and "would_score", the score you would give yourself '
    f"({SCORE_MIN}-{SCORE_MAX}). Answer with JSON only."
)


@dataclass(frozen=True)
class Explanation:
    """One criterion's explanation, as stored."""

    rationale: str
    evidence: str
    would_score: int
    stored_score: int
    # Whether the quote is really in the text the model saw (spacing and case aside).
    evidence_found: bool

    @property
    def disagrees(self) -> bool:
        return self.would_score != self.stored_score

    def as_dict(self) -> dict[str, Any]:
        return {
            "rationale": self.rationale,
            "evidence": self.evidence,
            "would_score": self.would_score,
            "stored_score": self.stored_score,
            "evidence_found": self.evidence_found,
        }


def messages(
    plan: PromptPlan, candidate_messages: Sequence[Mapping[str, str]], scores: Mapping[str, int]
) -> list[dict[str, str]]:
    """The scoring request's own messages (same prefix, same candidate text), then the
    stored scores and the question."""
    shown = ", ".join(f"{key} {scores.get(key, '?')}" for key in plan.criteria)
    return [
        *(dict(m) for m in candidate_messages),
        {"role": "user", "content": INSTRUCTION.format(scores=shown)},
    ]


def schema(criteria: Sequence[str]) -> dict[str, Any]:
    one = {
        "type": "object",
        "properties": {
            "rationale": {"type": "string", "maxLength": RATIONALE_CHARS},
            "evidence": {"type": "string", "maxLength": EVIDENCE_CHARS},
            # enum, not minimum/maximum: some grammar converters ignore integer bounds.
            "would_score": {"type": "integer", "enum": list(range(SCORE_MIN, SCORE_MAX + 1))},
        },
        "required": ["rationale", "evidence", "would_score"],
    }
    return {
        "type": "object",
        "properties": {key: one for key in criteria},
        "required": list(criteria),
    }


def num_predict(criteria: Sequence[str]) -> int:
    return TOKENS_PER_CRITERION * len(criteria) + 32


def whitespace_room(criteria: Sequence[str]) -> int:
    """The tokens a server that constrains the explanation by its schema alone may let the
    model spend on whitespace between its JSON tokens (answer_grammar): added to the cap
    there, so that a padded explanation is not cut off."""
    one = {"rationale": "", "evidence": "", "would_score": SCORE_MAX}
    skeleton = json.dumps({key: one for key in criteria}, separators=(",", ":"))
    return answer_grammar.schema_whitespace_room(skeleton)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def parse(
    content: str, *, criteria: Sequence[str], scores: Mapping[str, int], seen_text: str
) -> dict[str, Explanation]:
    try:
        data = json.loads(content)
    except (TypeError, ValueError) as exc:
        raise InvalidOutput(f"the model did not answer with JSON: {content[:120]!r}") from exc
    if not isinstance(data, dict):
        raise InvalidOutput("expected a JSON object with one entry per criterion")
    seen = _squash(seen_text)
    out: dict[str, Explanation] = {}
    for key in criteria:
        part = data.get(key)
        if not isinstance(part, dict):
            raise InvalidOutput(f'the explanation has no "{key}"')
        would = part.get("would_score")
        if isinstance(would, str) and would.strip().isdigit():
            would = int(would)
        if isinstance(would, bool) or not isinstance(would, int):
            raise InvalidOutput(f'"{key}.would_score" is not a whole number: {would!r}')
        if not SCORE_MIN <= would <= SCORE_MAX:
            raise InvalidOutput(f'"{key}.would_score" is {would}, outside 1-10')
        evidence = str(part.get("evidence") or "").strip().strip('"').strip()[:EVIDENCE_CHARS]
        out[key] = Explanation(
            rationale=str(part.get("rationale") or "").strip()[:RATIONALE_CHARS],
            evidence=evidence,
            would_score=would,
            stored_score=int(scores.get(key, 0)),
            evidence_found=bool(evidence) and _squash(evidence) in seen,
        )
    return out
