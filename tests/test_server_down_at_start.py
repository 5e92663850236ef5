"""A run starts with the LLM hosts that answer; with none, it waits as in an outage.

Configured as the README tells people: `OLLAMA_HOST` (one host, or several separated by
commas) in the environment of a real `evaluate` subprocess; the hosts are fake Ollama
servers over HTTP, one of them stopped (its port closed: a machine that is down).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.fake_ollama import FakeOllama
from devtools.synthetic import write_candidates_csv
from tests.support.files import read_csv
from tests.support.output import Output
from tests.support.processes import evaluate, finish, query, subprocess_env, wait_for

pytestmark = pytest.mark.slow


def test_one_dead_host_of_two_does_not_stop_the_run(tmp_path: Path) -> None:
    source = tmp_path / "candidates.csv"
    write_candidates_csv(source, 60, seed=21)
    out = tmp_path / "scored.csv"
    with FakeOllama(slots=4, latency=0.02) as healthy, FakeOllama(slots=4) as dead:
        dead.stop()  # a GPU machine that is down when the run starts
        env = subprocess_env(tmp_path, healthy, OLLAMA_HOST=f"{dead.url},{healthy.url}")

        output = finish(evaluate(source, out, env))

        assert healthy.chat_count == 60  # every request went to the host that answers
    assert "Done: 60 scored, 0 failed, of 60." in output
    assert "paused" not in output.lower()
    assert query(env, "SELECT status, status_message FROM evaluations_run") == [("completed", "")]
    assert {r["status"] for r in read_csv(out)} == {"done"}


def test_with_the_only_host_down_at_start_evaluate_waits_and_scores_when_it_answers(
    tmp_path: Path,
) -> None:
    source = tmp_path / "candidates.csv"
    write_candidates_csv(source, 40, seed=22)
    out = tmp_path / "scored.csv"
    with FakeOllama(slots=4, latency=0.02) as fake:
        fake.stop()  # Ollama is not running yet
        env = subprocess_env(tmp_path, fake)
        output = Output(evaluate(source, out, env))

        wait_for(lambda: output.has("Waiting for the LLM server"), 60, "the wait to be said")
        assert output.has(f"not reachable at {fake.url}")
        # Waiting, as in an outage: not paused, not failed, nothing sent anywhere.
        ((status, since),) = query(env, "SELECT status, outage_since FROM evaluations_run")
        assert status == "in_progress" and since is not None
        assert output.process.poll() is None

        fake.start()  # Ollama comes up on the same address
        text = output.finish(timeout=120)

        assert fake.chat_count == 40
    assert output.process.returncode == 0, text
    assert "The LLM server answers again; scoring goes on." in text
    assert "Done: 40 scored, 0 failed, of 40." in text
    assert query(env, "SELECT status, outage_since FROM evaluations_run") == [("completed", None)]
    rows = read_csv(out)
    assert [r["id"] for r in rows] == [r["id"] for r in read_csv(source)]
    assert {r["status"] for r in rows} == {"done"}
