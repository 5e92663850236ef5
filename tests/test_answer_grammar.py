"""The answer as a grammar with no room for whitespace (evaluations.answer_grammar), and what
a run does where the server takes only the schema and lets the model pad its answer."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from devtools.fake_ollama import FakeOllama, padded_json
from evaluations import answer_grammar, prompting, services
from evaluations.engine.handlers import handler_for
from evaluations.llm import ChatResult
from evaluations.models import Item, Run
from evaluations.rubric_content import DEFAULT_CRITERIA
from tests.support.files import candidates_csv
from tests.support.runs import report_json, start_run

CRITERIA = [c["key"] for c in DEFAULT_CRITERIA]
FORMATS = prompting.ANSWER_FORMATS


def _plan(answer_format: str, *, pack_size: int = 1, rationale: bool = False) -> Any:
    return prompting.plan_for(
        instructions="Score the candidate.",
        criteria=DEFAULT_CRITERIA,
        rationale=rationale,
        pack_size=pack_size,
        answer_format=answer_format,
    )


def _one(answer_format: str, scores: list[int], rationale: str | None) -> Any:
    if answer_format == prompting.FORMAT_ARRAY:
        return [*scores, rationale] if rationale is not None else scores
    if answer_format == prompting.FORMAT_COMPACT:
        text = ",".join(map(str, scores))
        return [text, rationale] if rationale is not None else text
    keyed: dict[str, Any] = dict(zip(CRITERIA, scores, strict=True))
    if rationale is not None:
        keyed["rationale"] = rationale
    return keyed


def _answer(plan: Any, count: int, *, rationale: str | None, indent: int | None = None) -> str:
    ones = [_one(plan.answer_format, [10, 1, 7, 9, 3], rationale) for _ in range(count)]
    body: Any = ones[0]
    if plan.pack_size > 1:
        positional = plan.answer_format in prompting.POSITIONAL
        body = ones if positional else {f"candidate_{i}": a for i, a in enumerate(ones, 1)}
    separators = (",", ":") if indent is None else None
    return json.dumps(body, indent=indent, separators=separators, ensure_ascii=False)


@pytest.mark.parametrize("answer_format", FORMATS)
@pytest.mark.parametrize("pack_size", [1, 3])
@pytest.mark.parametrize("rationale", [False, True])
def test_the_grammar_admits_the_compact_answer_and_nothing_padded(
    answer_format: str, pack_size: int, rationale: bool
) -> None:
    plan = _plan(answer_format, pack_size=pack_size, rationale=rationale)
    count = pack_size
    grammar = plan.grammar(count)
    why = 'Strong Python, "led" a team.\nNo Kubernetes.' if rationale else None
    compact = _answer(plan, count, rationale=why)

    assert grammar.matches(compact), (grammar.regex, compact)
    # What the grammar admits is what the run reads, whatever the format.
    results = plan.parse(compact, count)
    assert [r["scores"]["technical_skills"] for r in results] == [10] * count
    # Not a character of whitespace outside the rationale, nor a score outside 1..10.
    pretty = _answer(plan, count, rationale=why, indent=2)
    assert pretty == compact or not grammar.matches(pretty)
    assert not grammar.matches(compact + "\n") and not grammar.matches(" " + compact)
    assert not grammar.matches(compact.replace(",", ", ", 1))
    assert not grammar.matches(compact.replace("10", "11", 1))
    assert not grammar.matches(compact.replace("1", "0", 1).replace("10", "0", 1))
    # GBNF: the whole answer from `root`; no rule of the grammar writes whitespace.
    gbnf = grammar.gbnf
    assert gbnf.startswith("root ::= ")
    rules = dict(line.split(" ::= ", 1) for line in gbnf.strip().splitlines())
    assert set(rules) == {"root", "score"} | ({"char"} if rationale else set())
    literals = re.findall(r'"((?:[^"\\]|\\.)*)"', rules["root"] + rules["score"])
    assert literals and not any(re.search(r"\s|\\[nt]", lit) for lit in literals)
    assert ("char ::=" in gbnf) == rationale


def test_a_pack_of_fewer_candidates_has_its_own_grammar() -> None:
    plan = _plan("keyed", pack_size=4)
    two = _answer(plan, 2, rationale=None)
    assert plan.grammar(2).matches(two)
    assert not plan.grammar(4).matches(two)


def test_padding_counts_only_whitespace_beyond_single_spaces_outside_strings() -> None:
    assert answer_grammar.padding("[7,6,8,5,7]") == 0
    assert answer_grammar.padding("[7, 6, 8, 5, 7]") == 0
    assert answer_grammar.padding('{"rationale": "two  spaces\\n inside"}') == 0
    assert answer_grammar.padding("[\n  7,\n  6\n]") == 3 + 3 + 1
    padded = padded_json("[7,6,8,5,7]")
    assert answer_grammar.padding(padded) == 11 * 21
    assert json.loads(padded) == [7, 6, 8, 5, 7]


@pytest.mark.parametrize("answer_format", FORMATS)
def test_the_room_for_whitespace_holds_the_most_a_schema_grammar_allows(
    answer_format: str,
) -> None:
    """Under llama.cpp's converter (Ollama's), "\\n" and 20 tabs may follow every JSON token:
    the cap plus the room holds such an answer, token for character."""
    for pack_size, rationale in [(1, False), (1, True), (3, False)]:
        plan = _plan(answer_format, pack_size=pack_size, rationale=rationale)
        longest = _answer(plan, pack_size, rationale="" if rationale else None)
        padded = padded_json(longest)
        assert len(padded) <= plan.num_predict(pack_size) + plan.whitespace_room(pack_size)


def test_a_cut_off_answer_says_plainly_when_whitespace_filled_it() -> None:
    padded = padded_json("[7,6,8,5,7]")[:40]
    said = prompting.cut_off_message(padded)
    assert said.startswith("the answer was cut off at the token limit")
    assert prompting.WHITESPACE_WORDS in said and "HRBATCH_ANSWER_FORMAT=compact" in said
    # An answer cut off for another reason (a long rationale) is not blamed on whitespace.
    other = prompting.cut_off_message('[7,6,8,5,7,"The candidate has a strong backgr')
    assert other == "the answer was cut off at the token limit"


# --- Through Ollama (the faithful fake): the schema only ----------------------------------


@pytest.mark.django_db(transaction=True)
def test_ollama_gets_room_for_padding_so_a_padded_answer_is_scored_and_the_run_says_so(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path, client: Any, owner: Any
) -> None:
    fake_ollama.pad_next = 3
    run = start_run(candidates_csv(tmp_path, 6), owner=owner)

    assert run.status == Run.Status.COMPLETED, run.status_message
    assert (run.done_count, run.failed_count) == (6, 0)
    assert Item.objects.filter(run=run, attempts=1).count() == 6  # none cut off and retried
    assert run.padded_answers == 3
    plan = services.plan_for_run(run)
    scoring = [r for r in fake_ollama.requests if r["format"] == plan.schema(1)]
    assert scoring and all(
        r["options"]["num_predict"] == plan.num_predict(1) + plan.whitespace_room(1)
        for r in scoring
    )
    # Ollama takes no grammar: nothing but its own fields is sent.
    assert all("grammar" not in r for r in fake_ollama.requests)

    report = report_json(run)
    assert report["run"]["padded_answers"] == 3
    client.force_login(owner)
    page = client.get(reverse("web:run", args=[run.public_id])).content.decode()
    assert "The AI padded 3 answers with blank space" in page
    assert "HRBATCH_ANSWER_FORMAT=compact" in page


@pytest.mark.django_db(transaction=True)
def test_an_answer_cut_off_by_padding_fails_naming_runaway_whitespace(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    run = start_run(candidates_csv(tmp_path, 2))
    item = Item.objects.filter(run=run).first()
    assert item is not None
    handler = handler_for(run)
    cut = padded_json("[7,6,8,5,7]")[:60]
    answer = ChatResult(content=cut, prompt_tokens=10, completion_tokens=60, done_reason="length")

    with pytest.raises(prompting.InvalidOutput, match=prompting.WHITESPACE_WORDS):
        handler.results([item], answer)


# --- The embedded model: llama-cpp-python takes the grammar itself -------------------------


@pytest.mark.slow
@pytest.mark.parametrize("answer_format", FORMATS)
def test_the_embedded_model_answers_exactly_in_the_grammar(answer_format: str) -> None:
    from evaluations.llm import call_once
    from evaluations.llm.embedded import EmbeddedBackend

    plan = _plan(answer_format, pack_size=2)
    candidates = [
        {"skills": "Python, Django, PostgreSQL; 6 years", "summary": "Backend engineer"},
        {"skills": "Excel, payroll", "summary": "HR assistant, 2 years"},
    ]
    request = plan.request(
        candidates, model="smollm2:135m", options={"temperature": 0.0, "seed": 3, "num_ctx": 2048}
    )
    backend = EmbeddedBackend(threads=2)
    answer = call_once(backend, lambda b: b.chat(request))

    assert answer.done_reason == "stop"
    assert plan.grammar(2).matches(answer.content), answer.content
    assert answer_grammar.padding(answer.content) == 0
    assert len(plan.parse(answer.content, 2)) == 2
