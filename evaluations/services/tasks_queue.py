"""Enqueue django-q2 tasks once the transaction commits.

Tasks are named by dotted path ("evaluations.tasks.process_chunk"), so services never
import the engine or the task module.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction


def enqueue_on_commit(task: str, *args: Any, **kwargs: Any) -> None:
    """Enqueue `task` (a dotted path) with `args` when the current transaction commits
    (at once outside one), so a worker never looks for rows not yet visible."""

    def enqueue() -> None:
        from django_q.tasks import async_task

        async_task(task, *args, **kwargs)

    transaction.on_commit(enqueue)
