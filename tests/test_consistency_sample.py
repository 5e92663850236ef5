"""The consistency sample is whole whatever happens to the run, and a sample smaller than
HRBATCH_CONSISTENCY_MIN earns no verdict.

The sample's size is set the way people set it (HRBATCH_CONSISTENCY_PCT in the
environment of a real `evaluate`); the run is killed with kill -9 and meets an outage of
the fake Ollama server on its way.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from devtools.fake_ollama import FakeOllama
from devtools.synthetic import write_candidates_csv
from evaluations.models import Item, Run
from tests.support.files import candidates_csv
from tests.support.output import Output
from tests.support.processes import done_ids, evaluate, query, subprocess_env, wait_for
from tests.support.runs import report_json, start_run


@pytest.mark.slow
def test_the_sample_stays_whole_after_a_kill_9_and_an_outage(tmp_path: Path) -> None:
    source = tmp_path / "candidates.csv"
    write_candidates_csv(source, 300, seed=41)
    out = tmp_path / "scored.csv"
    with FakeOllama(slots=4, latency=0.1) as fake:
        # 10% of 300: every 10th row is scored a second time.
        env = subprocess_env(tmp_path, fake, HRBATCH_CONSISTENCY_PCT="10")
        first = evaluate(source, out, env)
        wait_for(lambda: len(done_ids(env)) >= 100, 120, "100 candidates scored")
        os.killpg(first.pid, signal.SIGKILL)  # the whole evaluate, its workers with it
        first.communicate()

        rerun = Output(evaluate(source, out, env))
        wait_for(lambda: rerun.has("Resuming run"), 60, "the rerun to resume the run")
        fake.stop()  # the server goes away for a while...
        wait_for(lambda: rerun.has("Waiting for the LLM server"), 60, "the outage to be said")
        time.sleep(2)
        fake.start()  # ...and comes back
        text = rerun.finish(timeout=240)
    assert rerun.process.returncode == 0, text
    assert "Done: 300 scored, 0 failed, of 300." in text

    ((options,),) = query(env, "SELECT options FROM evaluations_run")
    stride = json.loads(options)["consistency_stride"]
    assert stride == 10
    sampled = query(
        env, f"SELECT result FROM evaluations_item WHERE status = 'done' AND line % {stride} = 0"
    )
    assert len(sampled) == 30
    rechecked = [row for row in sampled if Item.RECHECK_SCORES in json.loads(row[0])]
    assert len(rechecked) == 30  # every candidate of the sample was scored a second time


@pytest.mark.django_db(transaction=True)
def test_a_sample_smaller_than_the_minimum_gets_figures_but_no_verdict(
    consistency: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    # 12 candidates: all of them re-scored, fewer than HRBATCH_CONSISTENCY_MIN (20).
    run = start_run(candidates_csv(tmp_path, 12))
    assert run.status == Run.Status.COMPLETED

    figures = report_json(run)["consistency"]

    assert figures["sample"] == 12 and figures["criteria"]
    assert "stable" not in figures["reading"].replace("whether the scores are stable", "")
    assert "12 re-scored, at least 20 needed" in figures["reading"]
