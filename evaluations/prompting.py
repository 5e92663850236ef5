"""Prompts, output schema and output parsing for rubric runs.

Decided in DESIGN.md: one stateless request per candidate (or a pack of K), a
byte-identical shared prefix (rubric + instructions) with the candidate last, and a
short output constrained by a JSON schema of integer scores.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SCORE_MIN = 1
SCORE_MAX = 10
RATIONALE_MAX_CHARS = 300
# Tokens of JSON a model needs for five small integers (keys, braces, whitespace).
SCORES_TOKENS = 64
RATIONALE_TOKENS = 110
# Conservative: real tokenizers average about 4 characters per token on English text,
# so sizing the context at 3 leaves room rather than letting the server truncate.
CHARS_PER_TOKEN = 3.0
MESSAGE_OVERHEAD_TOKENS = 16
# Characters around the candidates' text in one request ("Candidate:", pack labels, the
# chat template): counted when sizing the context and when deciding a row is too long.
PROMPT_EXTRA_CHARS = 200
CANDIDATE_EXTRA_CHARS = 40
LIMIT_STEP = 100


class InvalidOutput(ValueError):
    """The model's answer did not match the schema; worth a retry."""


@dataclass(frozen=True)
class Criterion:
    key: str
    label: str
    description: str
    anchors: Mapping[str, str]


@dataclass(frozen=True)
class PromptPlan:
    """Everything that is shared by every request of one run."""

    system: str
    criteria: tuple[str, ...]
    rationale: bool
    pack_size: int

    @property
    def hash(self) -> str:
        body = json.dumps(
            {"system": self.system, "schema": self.schema(self.pack_size)}, sort_keys=True
        )
        return hashlib.sha256(body.encode()).hexdigest()

    def schema(self, count: int) -> dict[str, Any]:
        one = scores_schema(self.criteria, self.rationale)
        if self.pack_size == 1:
            return one
        keys = [f"candidate_{i}" for i in range(1, count + 1)]
        return {
            "type": "object",
            "properties": {k: one for k in keys},
            "required": keys,
        }

    def messages(
        self, candidates: Sequence[Mapping[str, Any]], *, limit: int | None = None
    ) -> list[dict[str, str]]:
        """The chat messages for one request: the shared prefix, then the candidate(s).

        With `limit`, each candidate's text is cut to its first `limit` characters (only
        for a run whose owner chose that for rows too long for the model)."""
        if self.pack_size == 1:
            if len(candidates) != 1:
                raise ValueError("one candidate per request when pack_size is 1")
            user = "Candidate:\n" + candidate_text(candidates[0], limit=limit)
        else:
            parts = [f"Score each of these {len(candidates)} candidates on its own."]
            for i, fields in enumerate(candidates, start=1):
                parts.append(f"### candidate_{i}\n{candidate_text(fields, limit=limit)}")
            user = "\n\n".join(parts)
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user}]

    def num_predict(self, count: int) -> int:
        per = SCORES_TOKENS + (RATIONALE_TOKENS if self.rationale else 0)
        return per * count + (16 if count > 1 else 0)

    def parse(self, content: str, count: int) -> list[dict[str, Any]]:
        """Validate the model's JSON; one {"scores", "rationale"?} per candidate, in order."""
        try:
            data = json.loads(content)
        except (TypeError, ValueError) as exc:
            raise InvalidOutput(f"the model did not answer with JSON: {_clip(content)}") from exc
        if self.pack_size == 1:
            return [parse_scores(data, self.criteria, self.rationale)]
        if not isinstance(data, dict):
            raise InvalidOutput(f"expected a JSON object, got: {_clip(content)}")
        results = []
        for i in range(1, count + 1):
            key = f"candidate_{i}"
            if key not in data:
                raise InvalidOutput(f"the answer has no scores for {key}")
            results.append(parse_scores(data[key], self.criteria, self.rationale))
        return results


def plan_for(
    *,
    instructions: str,
    criteria: Sequence[Mapping[str, Any]],
    rationale: bool,
    pack_size: int = 1,
    job: str = "",
) -> PromptPlan:
    """The plan of one run's requests; with `job` (the job's text, Job.description), of
    the requests for that job's candidates: the job follows the rubric (job_section)."""
    crits = [
        Criterion(
            key=c["key"],
            label=c.get("label") or c["key"],
            description=c.get("description", ""),
            anchors=c.get("anchors") or {},
        )
        for c in criteria
    ]
    system = system_prompt(instructions, crits, rationale=rationale, pack_size=pack_size)
    if job_section(job):
        # The job goes before the answer's format, which stays the last thing the model
        # reads (a small model forgets a format it read before a long job).
        rubric, _, answer = system.rpartition("\n\n")
        system = f"{rubric}{job_section(job)}\n\n{answer}"
    return PromptPlan(
        system=system,
        criteria=tuple(c.key for c in crits),
        rationale=rationale,
        pack_size=pack_size,
    )


def system_prompt(
    instructions: str, criteria: Sequence[Criterion], *, rationale: bool, pack_size: int
) -> str:
    lines = [instructions.strip(), "", "Criteria (each scored 1-10):"]
    for c in criteria:
        lines.append(f"- {c.key} ({c.label}): {c.description}".rstrip())
        for level in ("1", "4", "7", "10"):
            if level in c.anchors:
                lines.append(f"    {level} = {c.anchors[level]}")
    keys = ", ".join(f'"{c.key}"' for c in criteria)
    answer = f"an object with the integer keys {keys}"
    if rationale:
        answer += (
            f' and "rationale": one or two sentences (at most {RATIONALE_MAX_CHARS} '
            "characters) citing the evidence"
        )
    lines.append("")
    if pack_size == 1:
        lines.append(f"Answer with JSON only: {answer}.")
    else:
        lines.append(
            "You will be given several candidates labelled candidate_1, candidate_2, and so "
            "on. Score each one independently, as if it were the only one. Answer with JSON "
            f"only: an object whose key for each candidate is its label and whose value is "
            f"{answer}."
        )
    return "\n".join(lines)


# Opens the job's part of the system message (the item page shows it under this title).
JOB_HEADING = "The job the candidate applied for:"


def job_section(job: str) -> str:
    """What a job adds to the system message, after the rubric and before the answer's
    format ("" without a job, so a run without job columns keeps its prompt byte for byte).
    After the rubric, so that instructions and rubric stay a prefix shared by every job,
    and the job's text a prefix shared by every candidate of that job."""
    if not job.strip():
        return ""
    return (
        f"\n\n{JOB_HEADING}\n{job.strip()}\n\n"
        "Score the candidate against this job's requirements: what it asks for in skills, "
        "education and experience."
    )


def job_text(values: Mapping[str, str], title_column: str) -> tuple[str, str]:
    """(title, text) of the job in one row's job columns, the text as the model reads it:
    "Job: <title>", then "<column>: <value>" for each other filled-in job column. ("", "")
    when every job column is empty: that candidate is scored without a job."""
    title = " ".join(str(values.get(title_column) or "").split())
    lines = [f"Job: {title}"] if title else []
    for column, value in values.items():
        value = str(value or "").strip()
        if column != title_column and value:
            lines.append(f"{column}: {value}")
    text = "\n".join(lines)
    if text and not title:
        title = text.splitlines()[0][:200]
    return title, text


def job_key(text: str) -> str:
    """The same job in other words of spacing or case is the same job."""
    return hashlib.sha256(" ".join(text.split()).casefold().encode()).hexdigest()


def candidate_text(fields: Mapping[str, Any], *, limit: int | None = None) -> str:
    text = "\n".join(f"{key}: {value}" for key, value in fields.items() if str(value).strip())
    return text if limit is None else text[:limit]


def scores_schema(criteria: Sequence[str], rationale: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        key: {"type": "integer", "minimum": SCORE_MIN, "maximum": SCORE_MAX} for key in criteria
    }
    required = list(criteria)
    if rationale:
        properties["rationale"] = {"type": "string", "maxLength": RATIONALE_MAX_CHARS}
        required.append("rationale")
    return {"type": "object", "properties": properties, "required": required}


def parse_scores(data: Any, criteria: Sequence[str], rationale: bool) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidOutput(f"expected a JSON object of scores, got: {_clip(json.dumps(data))}")
    scores: dict[str, int] = {}
    for key in criteria:
        if key not in data:
            raise InvalidOutput(f'the answer has no "{key}" score')
        value = data[key]
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidOutput(f'"{key}" is not a whole number: {value!r}')
        if not SCORE_MIN <= value <= SCORE_MAX:
            raise InvalidOutput(f'"{key}" is {value}, outside {SCORE_MIN}-{SCORE_MAX}')
        scores[key] = value
    result: dict[str, Any] = {"scores": scores}
    if rationale:
        text = data.get("rationale")
        result["rationale"] = str(text).strip()[:RATIONALE_MAX_CHARS] if text else ""
    return result


def estimate_tokens(text_chars: int) -> int:
    return math.ceil(text_chars / CHARS_PER_TOKEN)


def size_num_ctx(
    *, prompt_chars: int, num_predict: int, cap: int, model_context: int | None = None
) -> int:
    """A context window that holds the longest prompt of the run plus the answer.

    One value per run: Ollama reloads the model whenever num_ctx changes.
    """
    needed = estimate_tokens(prompt_chars) + MESSAGE_OVERHEAD_TOKENS * 2 + num_predict
    size = max(2048, 1024 * math.ceil(needed / 1024))
    limit = min(cap, model_context) if model_context else cap
    return min(size, limit)


def _clip(text: str | None, limit: int = 120) -> str:
    text = (text or "").strip().replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def prompt_chars(*, system_chars: int, candidate_chars: int, pack_size: int = 1) -> int:
    """The length of a request's prompt whose longest candidate has `candidate_chars`."""
    return system_chars + pack_size * (candidate_chars + CANDIDATE_EXTRA_CHARS) + PROMPT_EXTRA_CHARS


def candidate_chars_limit(*, system_chars: int, num_ctx: int, num_predict: int) -> int:
    """The longest candidate text (in characters) that fits a context of `num_ctx` tokens
    beside the system prompt and the answer: the inverse of size_num_ctx(prompt_chars()).

    The one definition of "too long for the model", used by the check page before a run
    and by the engine during it, so that the two never disagree. Rounded down to whole
    hundreds: that is the number people are told ("about 24,000") and the length kept when
    they choose to score the first part of a long row. (run_start sizes the context with
    LIMIT_STEP characters to spare, so the rounding never makes a row that fits too long.)
    """
    prompt_tokens = num_ctx - MESSAGE_OVERHEAD_TOKENS * 2 - num_predict
    room = math.floor(prompt_tokens * CHARS_PER_TOKEN) - system_chars - PROMPT_EXTRA_CHARS
    return max(0, (room - CANDIDATE_EXTRA_CHARS) // LIMIT_STEP * LIMIT_STEP)


# Every message about a row too long for the model says this (services count them by it).
TOO_LONG_WORDS = "too long for the AI model"


def too_long_message(*, row: int, chars: int, limit: int) -> str:
    return (
        f"Row {row} is {TOO_LONG_WORDS}: {chars:,} characters; the model can read about {limit:,}."
    )
