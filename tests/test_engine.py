"""The scoring engine against the fake Ollama server, through the real `ollama` client."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from devtools.fake_ollama import FakeOllama
from evaluations import export, metrics, services
from evaluations.models import Item, Run, RunColumns
from evaluations.rubric_content import DEFAULT_CRITERIA
from tests.support.files import candidates_csv, read_output, write_csv
from tests.support.runs import start_run

CRITERIA = [c["key"] for c in DEFAULT_CRITERIA]

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_scores_every_candidate_and_writes_the_scored_csv(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    source = candidates_csv(tmp_path, 40)
    run = start_run(source)

    assert run.status == Run.Status.COMPLETED, run.status_message
    assert (run.total_count, run.done_count, run.failed_count) == (40, 40, 0)
    assert Item.objects.filter(run=run, status=Item.Status.DONE).count() == 40
    for item in Item.objects.filter(run=run):
        assert set(item.scores) == set(CRITERIA)
        assert all(1 <= v <= 10 for v in item.scores.values())
        assert item.attempts == 1
        assert item.prompt_tokens and item.completion_tokens and item.latency_ms is not None
    assert run.prompt_tokens > 0 and run.completion_tokens > 0
    assert run.model == "gemma3:12b" and run.backend == "ollama"
    assert len(run.model_digest) == 64 and len(run.prompt_hash) == 64

    rows = read_output(run)
    with open(source, encoding="utf-8", newline="") as handle:
        original = list(__import__("csv").DictReader(handle))
    assert [r["id"] for r in rows] == [r["id"] for r in original]
    assert list(rows[0])[: len(original[0])] == list(original[0])
    for out, src in zip(rows, original, strict=True):
        # Every original column kept exactly (the Excel download is the defused one).
        assert {k: out[k] for k in src} == src
        assert out["status"] == "done" and out["error"] == ""
        assert all(1 <= int(out[key]) <= 10 for key in CRITERIA)


def test_formulas_in_cells_are_neutralised_in_the_scored_csv_for_excel(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    rows = [
        {"id": "c1", "skills": '=HYPERLINK("http://evil.example","click")', "note": "@SUM(A1)"},
        {"id": "c2", "skills": "+cmd|' /C calc'!A0", "note": "-2+3"},
        {"id": "c3", "skills": "Python", "note": "plain"},
    ]
    run = start_run(write_csv(tmp_path / "evil.csv", rows))

    excel = b"".join(export.iter_csv_bytes(run, excel=True)).decode("utf-8-sig")
    out = {r["id"]: r for r in csv.DictReader(io.StringIO(excel))}
    assert out["c1"]["skills"].startswith("'=") and out["c1"]["note"] == "'@SUM(A1)"
    assert out["c2"]["skills"].startswith("'+") and out["c2"]["note"] == "'-2+3"
    assert out["c3"]["skills"] == "Python"
    # The stored file, for other programs, keeps the values exactly as uploaded.
    assert [{k: r[k] for k in rows[0]} for r in read_output(run)] == rows
    # The model saw the original text; only the spreadsheet output is defused.
    assert Item.objects.get(run=run, custom_id="c1").input["skills"].startswith("=HYPERLINK")


def test_requests_are_stateless_with_a_byte_identical_prefix_and_candidate_last(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    run = start_run(candidates_csv(tmp_path, 12))

    requests = fake_ollama.requests
    assert len(requests) == 12
    systems = {r["messages"][0]["content"] for r in requests}
    assert len(systems) == 1
    system = systems.pop()
    assert "technical_skills" in system and "10 =" in system
    for request in requests:
        assert [m["role"] for m in request["messages"]] == ["system", "user"]
        assert request["stream"] is False
        options = request["options"]
        assert options["temperature"] == 0 and options["seed"] == 42
        # The cap: the longest answer, and room for the whitespace Ollama's grammar (made
        # from the schema, never a grammar of ours) lets stand between the scores.
        plan = services.plan_for_run(run)
        assert options["num_ctx"] >= 2048
        assert options["num_predict"] == plan.num_predict(1) + plan.whitespace_room(1)
        assert plan.num_predict(1) <= 64
        assert request["keep_alive"] == "30m"
        # The default answer: the five scores in the rubric's order, each an enum 1..10.
        assert request["format"] == {
            "type": "array",
            "items": {"type": "integer", "enum": list(range(1, 11))},
            "minItems": 5,
            "maxItems": 5,
        }
        assert f"the scores for {', '.join(CRITERIA)}, in that order" in system
    # One candidate per request, never an earlier one in context.
    users = [r["messages"][1]["content"] for r in requests]
    assert len(set(users)) == 12
    view = services.ModelView(run)  # identity hidden in the text, as sent
    for item in Item.objects.filter(run=run):
        matching = [u for u in users if view(item)[0]["cover_note"] in u]
        assert len(matching) == 1
    # Personal data is kept for the output but never shown to the model.
    for user in users:
        assert "@example." not in user and "name:" not in user


def test_invalid_output_is_retried_with_a_new_seed_then_scored(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    fake_ollama.garbage_next = 3
    run = start_run(candidates_csv(tmp_path, 10))

    assert run.status == Run.Status.COMPLETED
    assert run.done_count == 10
    retried = Item.objects.filter(run=run, attempts=2)
    assert retried.count() == 3
    assert all(item.error == "" for item in retried)
    seeds = [r["options"]["seed"] for r in fake_ollama.requests]
    assert seeds.count(43) == 3  # the retry drew with seed + 1


def test_items_fail_with_their_reason_after_the_last_attempt(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    engine_settings.HRBATCH = {**engine_settings.HRBATCH, "MAX_SERVER_ATTEMPTS": 4}
    fake_ollama.error_rate = 1.0
    run = start_run(candidates_csv(tmp_path, 5))

    assert run.status == Run.Status.COMPLETED
    assert (run.done_count, run.failed_count) == (0, 5)
    for item in Item.objects.filter(run=run):
        assert item.status == Item.Status.FAILED
        assert item.attempts == 4  # server errors have their own budget
        assert "unexpected EOF" in item.error and "after 4 attempts" in item.error
    # 4 attempts each, then the one automatic second pass at the end of the run.
    assert fake_ollama.chat_count == 5 * 4 * 2
    assert {r["status"] for r in read_output(run)} == {"failed"}


def test_a_server_unreachable_at_start_is_waited_for_with_an_actionable_message(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    fake_ollama.stop()
    run = start_run(candidates_csv(tmp_path, 3))

    # An outage, not a pause: the run waits, saying why and what to do.
    assert run.status == Run.Status.IN_PROGRESS and run.outage_since is not None
    assert f"not reachable at {fake_ollama.url}" in run.outage_message
    assert "ollama serve" in run.outage_message
    assert run.total_count == 3 and fake_ollama.chat_count == 0
    assert metrics.run_progress(run)["elapsed_seconds"] == 0  # nothing is scoring yet

    services.sweep()  # still down: it keeps waiting
    run.refresh_from_db()
    assert run.status == Run.Status.IN_PROGRESS and run.outage_since is not None

    fake_ollama.start()
    services.sweep()  # the periodic recovery starts it once a host answers
    run.refresh_from_db()
    assert run.status == Run.Status.COMPLETED and run.done_count == 3
    assert run.outage_since is None and run.model_digest


def test_a_model_that_is_not_pulled_pauses_the_run_with_the_pull_command(
    engine_settings: Any, tmp_path: Path
) -> None:
    run = start_run(candidates_csv(tmp_path, 3), model="qwen3:235b")

    assert run.status == Run.Status.PAUSED
    assert "run `ollama pull qwen3:235b`" in run.status_message


def test_a_server_outage_mid_run_pauses_and_resume_finishes_it(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    run = start_run(candidates_csv(tmp_path, 6), start=False)
    from evaluations import engine

    # The model check passes while the server is up; then it goes away mid-run.
    real = engine.process_chunk

    def stop_server_then_process(run_id: int, lo: int, hi: int) -> int:
        fake_ollama.stop()
        return real(run_id, lo, hi)

    engine.process_chunk = stop_server_then_process  # type: ignore[assignment]
    try:
        services.runs.run_start(run=run)
    finally:
        engine.process_chunk = real  # type: ignore[assignment]
    run.refresh_from_db()
    assert run.status == Run.Status.PAUSED
    assert "not reachable" in run.status_message
    assert run.done_count == 0
    assert not Item.objects.filter(run=run, attempts__gt=0).exists()  # outages cost no attempt

    fake_ollama.start()
    assert services.run_resume(run=run)
    run.refresh_from_db()
    assert run.status == Run.Status.COMPLETED
    assert run.done_count == 6


def test_pause_resume_and_cancel(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    run = start_run(candidates_csv(tmp_path, 8), start=False)
    # Paused before any worker started: nothing is processed.
    assert services.run_pause(run=run)
    assert run.status == Run.Status.PAUSED
    from evaluations import engine

    first = Item.objects.filter(run=run).order_by("id").first()
    last = Item.objects.filter(run=run).order_by("id").last()
    assert first and last
    assert engine.process_chunk(run.pk, first.pk, last.pk) == 0
    assert fake_ollama.chat_count == 0

    assert services.run_resume(run=run)
    run.refresh_from_db()
    assert run.status == Run.Status.COMPLETED and run.done_count == 8

    second = start_run(candidates_csv(tmp_path, 5, seed=1, name="second.csv"), start=False)
    assert services.run_cancel(run=second)
    second.refresh_from_db()
    assert second.status == Run.Status.CANCELLED
    assert second.cancelled_count == 5
    assert {r["status"] for r in read_output(second)} == {"cancelled"}


def test_pack_size_scores_k_candidates_per_request(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    run = start_run(candidates_csv(tmp_path, 10), pack_size=4)

    assert run.status == Run.Status.COMPLETED and run.done_count == 10
    # A pack's answer is an array of K answers (each the five scores), in the given order.
    packed = [r for r in fake_ollama.requests if r["format"]["items"]["type"] == "array"]
    # 4 + 4 + 2 (the other requests are the agreement sample)
    assert sorted(r["format"]["minItems"] for r in packed) == [2, 4, 4]
    assert all(r["format"]["maxItems"] == r["format"]["minItems"] for r in packed)
    first = next(r for r in packed if r["format"]["minItems"] == 4)
    assert first["format"]["items"]["minItems"] == 5
    assert "\n\n<candidate_4>\n" in first["messages"][1]["content"]
    assert all(1 <= v <= 10 for i in Item.objects.filter(run=run) for v in i.scores.values())


def test_a_packed_run_measures_its_agreement_with_single_scoring_on_a_sample(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    run = start_run(candidates_csv(tmp_path, 40), pack_size=4)

    assert run.status == Run.Status.COMPLETED and run.done_count == 40
    sampled = [i for i in Item.objects.filter(run=run) if "single_scores" in i.result]
    assert len(sampled) == 10  # 40 // 4: lines 4, 8, …, 40
    singles = [r for r in fake_ollama.requests if r["format"]["items"]["type"] == "integer"]
    assert len(singles) == 10 and fake_ollama.chat_count == 10 + 10
    assert all(r["messages"][1]["content"].startswith("<candidate>\n") for r in singles)

    agreement = metrics.pack_agreement(run)
    assert agreement is not None
    assert agreement["pack_size"] == 4 and agreement["sample"] == 10
    assert 0 <= agreement["overall_agreement_pct"] <= 100
    assert set(agreement["mean_abs_diff"]) == set(CRITERIA)
    assert metrics.pack_agreement(start_run(candidates_csv(tmp_path, 3, name="b.csv"))) is None


def test_a_candidate_too_long_for_the_context_is_flagged_not_truncated(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    engine_settings.HRBATCH = {**engine_settings.HRBATCH, "MAX_NUM_CTX": 2048}
    rows = [
        {
            "id": f"c{i}",
            "position": "Data Analyst",
            "cover_note": "I like data. " * (2 + i if i else 2000),
        }
        for i in range(4)
    ]
    run = start_run(write_csv(tmp_path / "long.csv", rows))

    assert run.status == Run.Status.COMPLETED
    long_item = Item.objects.get(run=run, custom_id="c0")
    assert long_item.status == Item.Status.FAILED
    limit = services.ingest.candidate_chars_limit(rubric=run.rubric)  # what the check page says
    assert long_item.error.startswith(
        f"Row 2 is too long for the AI model: 26,035 characters; the model can read about "
        f"{limit:,}."
    )
    assert "num_ctx" not in long_item.error and "HRBATCH" not in long_item.error
    assert Item.objects.filter(run=run, status=Item.Status.DONE).count() == 3
    assert fake_ollama.chat_count == 3  # the long one was never sent
    assert run.options["num_ctx"] == 2048


def test_the_same_input_gives_the_same_scores(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    source = candidates_csv(tmp_path, 15)
    first = start_run(source)
    second = start_run(source)

    def scores(run: Run) -> dict[str, Any]:
        return {i.custom_id: i.scores for i in Item.objects.filter(run=run)}

    assert scores(first) == scores(second)
    assert first.prompt_hash == second.prompt_hash


def test_the_sweep_requeues_items_of_a_worker_that_died(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    run = start_run(candidates_csv(tmp_path, 6), start=False)
    # A worker claimed three Items and died: its lease runs out.
    ids = list(Item.objects.filter(run=run).order_by("id").values_list("id", flat=True)[:3])
    Item.objects.filter(pk__in=ids).update(
        lease_token="dead", lease_until=timezone.now() - timedelta(seconds=1), attempts=1
    )
    services.runs.run_start(run=run)  # dispatches the three unclaimed Items only
    run.refresh_from_db()
    assert run.done_count == 3 and run.status == Run.Status.IN_PROGRESS

    report = services.sweep()
    assert report["released"] == 3
    run.refresh_from_db()
    assert run.status == Run.Status.COMPLETED
    assert run.done_count == 6
    assert Item.objects.filter(pk__in=ids, attempts=2).count() == 3
    assert len(read_output(run)) == 6


def test_progress_figures_measure_throughput_and_prefix_reuse(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    run = start_run(candidates_csv(tmp_path, 30))
    figures = metrics.run_progress(run)

    assert figures["percent"] == 100.0 and figures["pending"] == 0
    assert figures["throughput_per_sec"] and figures["throughput_per_sec"] > 0
    assert figures["eta_seconds"] is None
    assert figures["gpu"] is None  # no NVIDIA GPU here: unknown, not a crash
    # The fake server caches the shared prefix per slot: most prompt tokens are reused.
    assert figures["token_savings_pct"] is not None and figures["token_savings_pct"] > 30
    json.dumps(figures)  # one source for the web page, the API and the CLI


def test_retry_failed_gives_failed_items_fresh_attempts_and_reopens_the_run(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    fake_ollama.error_rate = 1.0  # the server fails every request for a while
    run = start_run(candidates_csv(tmp_path, 6))
    assert (run.status, run.done_count, run.failed_count) == (Run.Status.COMPLETED, 0, 6)
    fake_ollama.error_rate = 0.0

    assert services.run_retry_failed(run=run) == 6
    run.refresh_from_db()
    assert (run.status, run.done_count, run.failed_count) == (Run.Status.COMPLETED, 6, 0)
    assert {r["status"] for r in read_output(run)} == {"done"}
    assert services.run_retry_failed(run=run) == 0


def test_a_rerun_is_a_new_linked_run_of_the_same_file_with_another_model(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    run = start_run(candidates_csv(tmp_path, 5))
    rerun = services.run_rerun(run=run, model="llama3.2:3b")
    rerun.refresh_from_db()

    assert rerun.pk != run.pk and rerun.rerun_of_id == run.pk
    assert rerun.input_file_id == run.input_file_id
    assert rerun.status == Run.Status.COMPLETED and rerun.done_count == 5
    assert rerun.model == "llama3.2:3b" and run.model == "gemma3:12b"
    assert rerun.columns["roles"] == run.columns["roles"]


def test_a_deferred_run_is_ingested_and_started_by_a_worker(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    from tests.support.runs import upload

    run = services.runs.run_create(
        owner=None,
        input_file=upload(candidates_csv(tmp_path, 7)),
        defer=True,
        intake=RunColumns(id_column="id"),
    )
    run.refresh_from_db()  # tasks run inline here; on a cluster a worker would do this
    assert run.status == Run.Status.COMPLETED and run.done_count == 7


def test_a_chunk_that_found_its_run_in_progress_claims_nothing_once_it_is_paused(
    engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    """A task checks the run's status, then claims: a pause in between must stop it (a worker
    cluster scored four more candidates after a pause had been seen through)."""
    from evaluations.engine.worker import ChunkWorker

    run = start_run(candidates_csv(tmp_path, 6), start=False)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.IN_PROGRESS)
    run.refresh_from_db()
    first = Item.objects.filter(run=run).order_by("id").first()
    last = Item.objects.filter(run=run).order_by("id").last()
    assert first and last
    worker = ChunkWorker(run, first.pk, last.pk)  # what process_chunk does after its check
    assert services.run_pause(run=run)

    assert worker.work() == 0
    assert fake_ollama.chat_count == 0
    assert not Item.objects.filter(run=run, lease_token__isnull=False).exists()
    worker.close()

    assert services.run_resume(run=run)
    run.refresh_from_db()
    assert run.status == Run.Status.COMPLETED and run.done_count == 6
