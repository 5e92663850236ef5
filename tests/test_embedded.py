"""The whole pipeline with real inference: the embedded SmolLM2-135M model on this CPU."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evaluations.models import Item, Run
from evaluations.rubric_content import DEFAULT_CRITERIA
from tests.support.files import candidates_csv, read_output
from tests.support.runs import start_run

CRITERIA = [c["key"] for c in DEFAULT_CRITERIA]

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def embedded(settings: Any) -> Any:
    settings.HRBATCH = {**settings.HRBATCH, "LLM_BACKEND": "embedded", "EMBEDDED_THREADS": 2}
    return settings


def _scores(run: Run) -> dict[str, dict[str, int]]:
    return {i.custom_id: i.scores for i in Item.objects.filter(run=run)}


def test_the_embedded_model_scores_candidates_end_to_end(embedded: Any, tmp_path: Path) -> None:
    source = candidates_csv(tmp_path, 5, seed=11)
    run = start_run(source)

    assert run.status == Run.Status.COMPLETED, run.status_message
    assert run.backend == "embedded" and run.model == "smollm2:135m"
    assert "not for hiring decisions" in run.options["notice"]
    assert run.done_count + run.failed_count == 5
    assert run.done_count >= 4  # grammar-constrained output parses; allow one odd retry
    for item in Item.objects.filter(run=run, status=Item.Status.DONE):
        assert set(item.scores) == set(CRITERIA)
        assert all(1 <= v <= 10 for v in item.scores.values())
        assert item.prompt_tokens and item.prompt_tokens > 100
    # The shared prefix stays in llama.cpp's context: later candidates reuse it.
    assert run.cached_tokens > 0
    rows = read_output(run)
    assert len(rows) == 5 and all(r["overall"] for r in rows if r["status"] == "done")

    # Same input + same model + temperature 0 → the same scores.
    again = start_run(source)
    assert again.status == Run.Status.COMPLETED
    assert _scores(again) == _scores(run)
