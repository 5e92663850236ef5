"""Work outlives the process that was doing it: a follower takes over, a new `serve`
hands out at once what the killed one had queued.

Real processes as a person runs them (`evaluate` in two terminals, `serve`), Ctrl-C as
SIGINT to the terminal's process group, `kill -9`; the LLM is the fake Ollama server
with a delay per request, so that the runs last long enough to be interrupted.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from devtools import live
from devtools.fake_ollama import FakeOllama
from devtools.synthetic import write_candidates_csv
from tests.support.files import read_csv, write_jsonl
from tests.support.output import Output
from tests.support.processes import done_ids, evaluate, query, subprocess_env, wait_for
from tests.support.runs import request_line

pytestmark = pytest.mark.slow


def test_a_follower_takes_over_when_the_evaluate_it_follows_is_stopped(tmp_path: Path) -> None:
    source = tmp_path / "candidates.csv"
    write_candidates_csv(source, 400, seed=31)
    # 2 slots x 0.2 s: about 10 candidates a second, so the run lasts half a minute.
    with FakeOllama(slots=2, latency=0.2) as fake:
        env = subprocess_env(tmp_path, fake)
        leader = evaluate(source, tmp_path / "first.csv", env)
        # Scoring for a few seconds: its worker cluster is registered as running.
        wait_for(lambda: len(done_ids(env)) >= 40, 90, "the first evaluate to score")
        follower = Output(evaluate(source, tmp_path / "second.csv", env))
        wait_for(
            lambda: follower.has("following it instead") or follower.has("Resuming run"),
            60,
            "the second evaluate to follow the first's run",
        )
        assert len(done_ids(env)) < 400, "the run ended before the first evaluate was stopped"

        os.killpg(leader.pid, signal.SIGINT)  # Ctrl-C in the first terminal
        said, _ = leader.communicate(timeout=60)
        assert leader.returncode == 130, said
        assert "run the same command again to resume it" in said

        text = follower.finish(timeout=240)
    assert follower.process.returncode == 0, text
    assert "this evaluate goes on with its work" in text
    assert "Done: 400 scored, 0 failed, of 400." in text
    # Every row exactly once, in the file and in the database.
    rows = read_csv(tmp_path / "second.csv")
    assert [r["id"] for r in rows] == [r["id"] for r in read_csv(source)]
    assert {r["status"] for r in rows} == {"done"}
    assert query(env, "SELECT status, done_count, total_count FROM evaluations_run") == [
        ("completed", 400, 400)
    ]
    assert query(env, "SELECT COUNT(*) FROM evaluations_item WHERE status = 'done'") == [(400,)]


def _batch(client: Any, path: Path, lines: int, name: str) -> str:
    """A /v1 batch of `lines` chat requests, created as an API client creates one."""
    write_jsonl(
        path, [request_line(f"{name}-{i}", f"Candidate {i} of {name}.") for i in range(lines)]
    )
    with open(path, "rb") as handle:
        uploaded = client.files.create(file=handle, purpose="batch")
    batch = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    return str(batch.id)


def _counts(env: dict[str, str], batch_id: str) -> tuple[str, int, int]:
    ((status, done, total),) = query(
        env,
        "SELECT status, done_count, total_count FROM evaluations_run "
        f"WHERE public_id = '{batch_id}'",
    )
    return status, done, total


def test_after_kill_9_of_serve_a_queued_batch_is_handed_out_at_once(tmp_path: Path) -> None:
    from openai import OpenAI

    # 2 slots x 0.2 s: the first batch keeps both workers busy for half a minute, so the
    # second one waits in the queue behind it, nothing of it scored yet.
    with FakeOllama(slots=2, latency=0.2) as fake:
        env = live.app_env(tmp_path / "data", fake)  # the defaults: a 60 s lease
        live.manage(env, "migrate", "-v", "0")
        create = "from django.contrib.auth.models import User; User.objects.create_user('ines')"
        live.manage(env, "shell", "-c", create)
        key = live.manage(env, "create_api_key", "--name", "screening", "--user", "ines")
        serve, url = live.start_serve(env)
        try:
            client = OpenAI(base_url=url + "/v1", api_key=key.stdout.strip(), max_retries=0)
            first = _batch(client, tmp_path / "first.jsonl", 300, "first")
            wait_for(lambda: _counts(env, first)[1] >= 10, 90, "the first batch to be scored")
            # Its file is read by a worker too: that task waits behind the first batch's.
            queued = _batch(client, tmp_path / "queued.jsonl", 40, "queued")
            time.sleep(3)  # the worker cluster takes tasks from the queue ahead of its workers
            os.kill(serve.pid, signal.SIGKILL)  # the cluster dies with serve
            serve.wait()
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(serve.pid, signal.SIGKILL)
        assert _counts(env, queued)[1] == 0, "the second batch was not waiting in the queue"

        serve, _ = live.start_serve(env)
        try:
            # Well before the stall check (HRBATCH_STALL_SECONDS, 10 min) would notice.
            for batch_id in (first, queued):
                wait_for(
                    lambda batch_id=batch_id: _counts(env, batch_id)[0] == "completed",
                    180,
                    f"batch {batch_id} to complete under the new serve",
                )
        finally:
            live.stop_serve(serve)
    assert _counts(env, first) == ("completed", 300, 300)
    assert _counts(env, queued) == ("completed", 40, 40)
    # Nothing is left locked in the task queue for a worker that is gone.
    assert query(env, "SELECT COUNT(*) FROM django_q_ormq") == [(0,)]
