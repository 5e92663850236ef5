"""Explanations on demand (issue 9, part 2): the request, the schema and the answer's check."""

from __future__ import annotations

import json

import pytest

from evaluations import explain
from evaluations.prompting import InvalidOutput, PromptPlan, plan_for
from evaluations.rubric_content import DEFAULT_CRITERIA, DEFAULT_INSTRUCTIONS

CRITERIA = [c["key"] for c in DEFAULT_CRITERIA]


@pytest.fixture()
def plan() -> PromptPlan:
    return plan_for(
        instructions=DEFAULT_INSTRUCTIONS,
        criteria=DEFAULT_CRITERIA,
        rationale=False,
    )


def test_the_request_repeats_what_the_model_saw_then_asks_about_the_stored_scores(
    plan: PromptPlan,
) -> None:
    scored = plan.messages([{"skills": "Python, SQL", "position": "Data engineer"}])
    scores = dict.fromkeys(CRITERIA, 7)

    sent = explain.messages(plan, scored, scores)

    assert sent[:2] == scored  # byte-identical prefix and candidate text
    assert sent[2]["role"] == "user" and "technical_skills 7" in sent[2]["content"]
    enum = explain.schema(CRITERIA)["properties"]["overall"]["properties"]["would_score"]
    assert enum["enum"] == list(range(1, 11))


def test_quotes_are_checked_against_the_text_and_disagreements_are_kept() -> None:
    seen = "skills: Python,   SQL and Airflow\nposition: Data engineer"
    answer = {
        key: {"rationale": f"Because {key}.", "evidence": "python, sql", "would_score": 7}
        for key in CRITERIA
    }
    answer["overall"] = {"rationale": "Solid.", "evidence": "ten years at Google", "would_score": 5}

    got = explain.parse(
        json.dumps(answer), criteria=CRITERIA, scores=dict.fromkeys(CRITERIA, 7), seen_text=seen
    )

    assert got["technical_skills"].evidence_found and not got["technical_skills"].disagrees
    assert not got["overall"].evidence_found  # not in the text: an invented quote
    assert got["overall"].disagrees and got["overall"].as_dict()["stored_score"] == 7


@pytest.mark.parametrize(
    "content",
    ["not json", "[]", json.dumps({"overall": {"rationale": "x", "would_score": 11}})],
)
def test_answers_that_do_not_fit_are_refused(content: str) -> None:
    with pytest.raises(InvalidOutput):
        explain.parse(content, criteria=CRITERIA, scores={}, seen_text="")
