"""django-q2 task entry points: take ids, call the engine or a service. Nothing else.

Services enqueue these by dotted path ("evaluations.tasks.process_chunk"), so they never
import this module or the engine.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model

from . import engine
from .models import Run
from .services.batches import batch_ingest_and_start
from .services.recovery import sweep as recovery_sweep
from .services.reviews import run_explain_shortlist
from .services.runs import run_ingest_and_start


def process_chunk(run_id: int, lo: int, hi: int, jobs: list[int | None] | None = None) -> int:
    if jobs is None:  # a run without jobs: the chunk as it always was
        return engine.process_chunk(run_id, lo, hi)
    return engine.process_chunk(run_id, lo, hi, jobs)


def ingest_run(run_id: int, start: bool = True) -> None:
    run_ingest_and_start(run_id=run_id, start=start)


def ingest_batch(run_id: int) -> None:
    batch_ingest_and_start(run_id=run_id)


def sweep() -> dict[str, int]:
    return recovery_sweep()


def explain_shortlist(
    run_id: int, user_id: int | None = None, item_ids: list[int] | None = None
) -> int:
    run = Run.objects.get(pk=run_id)
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    return run_explain_shortlist(run=run, by=user, item_ids=item_ids)
