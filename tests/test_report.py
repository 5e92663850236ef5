"""The figures that defend a run (issue 9): `run_report --json`, consistency, adverse impact
and distributions, on a run with audit-only columns scored through the fake Ollama."""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from devtools.fake_ollama import FakeOllama
from devtools.synthetic import generate_candidates
from evaluations import selectors
from evaluations.models import Item, Run
from tests.support.files import write_csv
from tests.support.processes import ROOT, evaluate, finish, subprocess_env
from tests.support.runs import report_json, start_run

pytestmark = pytest.mark.django_db(transaction=True)


def audited_csv(path: Path, n: int = 120) -> Path:
    """Synthetic candidates with a sex and a race/ethnicity column (audit only by name)."""
    rng = random.Random(4)
    rows = []
    for person in generate_candidates(n, seed=9):
        rows.append(
            {
                **person,
                "sex": rng.choice(["Female", "Male"]),
                "race_ethnicity": rng.choice(["Asian", "Black", "Hispanic", "White"]),
            }
        )
    return write_csv(path, rows)


def fields_of(lines: list[str], names: list[str]) -> list[str]:
    """The names of the fields in a candidate's text, in the order they appear."""
    return [line.split(": ", 1)[0] for line in lines if line.split(": ", 1)[0] in names]


def test_run_report_json_has_consistency_impact_and_distributions(
    consistency: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    run = start_run(audited_csv(tmp_path / "c.csv"), roles=None)
    assert run.status == Run.Status.COMPLETED, run.status_message
    assert selectors.audit_columns(run) == ["sex", "race_ethnicity"]

    report = report_json(run)

    assert report["run"]["id"] == run.public_id
    # Consistency: 2% of 120 is under the minimum of 20, so 20 (every 6th row) re-scored.
    rechecked = Item.objects.filter(run=run, result__has_key=Item.RECHECK_SCORES)
    assert report["consistency"]["sample"] == rechecked.count() == 20
    for figures in report["consistency"]["criteria"].values():
        assert 0 <= figures["exact_agreement"] <= 1 and figures["mean_abs_diff"] >= 0
    assert isinstance(report["consistency"]["crossing_cutoff"], int)
    assert report["consistency"]["reading"].startswith("Scores are")
    # Distributions: every scored candidate counted once per criterion.
    for counts in report["distributions"].values():
        assert sum(counts.values()) == run.done_count == 120
    # Impact: each column, their intersection, both bases, figures from the scores.
    columns = {(r["column"], r["basis"]) for r in report["impact"]}
    assert columns == {
        (c, b)
        for c in ("sex", "race_ethnicity", "sex × race_ethnicity")
        for b in ("above_median", "shortlist")
    }
    items = list(Item.objects.filter(run=run, status=Item.Status.DONE))
    median = statistics.median(i.scores["overall"] for i in items)
    women = [i for i in items if i.extra["sex"] == "Female"]
    row = next(
        r
        for r in report["impact"]
        if (r["column"], r["group"], r["basis"]) == ("sex", "Female", "above_median")
    )
    assert row["count"] == len(women)
    assert row["selected"] == sum(i.scores["overall"] > median for i in women)
    rates = {
        r["group"]: r["selection_rate"]
        for r in report["impact"]
        if r["column"] == "sex" and r["basis"] == "above_median"
    }
    best = max(rates.values())
    assert row["impact_ratio"] == pytest.approx(rates["Female"] / best, abs=0.001)
    assert row["flag"] == (row["impact_ratio"] < 0.8)
    shortlisted = sum(
        r["selected"]
        for r in report["impact"]
        if r["column"] == "sex" and r["basis"] == "shortlist"
    )
    assert shortlisted == report["run"]["shortlist_size"] == 12  # 10% of 120


def test_the_rechecks_change_the_seed_and_the_order_of_the_fields_only(
    consistency: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    run = start_run(audited_csv(tmp_path / "c.csv", n=40), roles=None)
    roles = run.columns["roles"]
    shown = [c for c in run.columns["header"] if roles[c] == "model"]

    first, *others = [
        r for r in fake_ollama.requests if "<candidate>" in r["messages"][-1]["content"]
    ]
    by_text: dict[str, list[dict[str, Any]]] = {}
    for request in [first, *others]:
        lines = request["messages"][-1]["content"].splitlines()[1:-1]
        by_text.setdefault("\n".join(sorted(lines)), []).append(request)
    twice = [pair for pair in by_text.values() if len(pair) == 2]
    assert (
        len(twice)
        == Item.objects.filter(run=run, result__has_key=Item.RECHECK_SCORES).count()
        == 20
    )
    for scored, again in twice:
        assert again["options"]["seed"] != scored["options"]["seed"]
        assert again["messages"][0] == scored["messages"][0]  # the same instructions
        body = scored["messages"][-1]["content"].splitlines()[1:-1]
        reordered = again["messages"][-1]["content"].splitlines()[1:-1]
        assert sorted(reordered) == sorted(body) and reordered != body
        # The fields in reverse order (whatever order the database kept them in).
        assert fields_of(reordered, shown) == fields_of(body, shown)[::-1]


@pytest.mark.slow
def test_run_report_latest_in_a_subprocess_after_evaluate(
    tmp_path: Path, fake_ollama: FakeOllama
) -> None:
    # Set as README says: 2% of 60 is 1, so the minimum decides: 10 (every 6th row).
    env = subprocess_env(
        tmp_path, fake_ollama, HRBATCH_CONSISTENCY_PCT="2", HRBATCH_CONSISTENCY_MIN="10"
    )
    finish(evaluate(audited_csv(tmp_path / "c.csv", n=60), tmp_path / "out.csv", env))

    done = subprocess.run(
        [sys.executable, "manage.py", "run_report", "--latest", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(done.stdout)
    assert set(report) >= {"run", "consistency", "impact", "distributions"}
    assert report["run"]["audit_columns"] == ["sex", "race_ethnicity"]
    assert {
        "column",
        "group",
        "count",
        "selected",
        "selection_rate",
        "impact_ratio",
        "flag",
        "basis",
    } <= set(report["impact"][0])
    assert report["consistency"]["sample"] == 10

    text = subprocess.run(
        [sys.executable, "manage.py", "run_report", "--latest"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "Adverse impact, selected = scoring above the median overall:" in text


def test_a_finished_runs_report_is_worked_out_once_and_again_when_the_run_changes(
    consistency: Any,
    fake_ollama: FakeOllama,
    tmp_path: Path,
    django_assert_max_num_queries: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Kept ahead by the worker from this size up (5,000 in real use).
    monkeypatch.setattr(selectors, "REPORT_KEEP_FROM", 50)
    monkeypatch.setattr("evaluations.services.runs.REPORT_KEEP_FROM", 50)
    run = start_run(audited_csv(tmp_path / "c.csv"), roles=None)
    assert run.status == Run.Status.COMPLETED

    # The worker worked it out when the run finished: the page reads it, asking the
    # database nothing more.
    with django_assert_max_num_queries(0):
        kept = selectors.run_report_kept(run)
    assert kept == selectors.run_report(run)
    # A run scored again (retry, a new completion) is a new report.
    first = Item.objects.filter(run=run).order_by("id").first()
    assert first is not None
    Item.objects.filter(pk=first.pk).update(status=Item.Status.FAILED, result=None)
    Run.objects.filter(pk=run.pk).update(failed_count=1, done_count=run.done_count - 1)
    run.refresh_from_db()
    assert selectors.run_report_kept(run)["run"]["scored"] == 119  # not the kept one

    from evaluations import services

    services.run_retry_failed(run=run)
    run.refresh_from_db()
    assert run.status == Run.Status.COMPLETED and run.done_count == 120
    with django_assert_max_num_queries(0):
        again = selectors.run_report_kept(run)  # kept when the retried run finished
    assert again == selectors.run_report(run) and again["run"]["scored"] == 120
