"""The engine: workers that run a run's Items through the LLM backend.

`worker` holds the loop (leases, the in-flight window, flushes); `handlers` the two kinds of
run (rubric scoring, API batch lines). tasks.py calls `process_chunk`.
"""

from __future__ import annotations

from .handlers import BatchHandler, Handler, RubricHandler, TooLong, handler_for
from .worker import ChunkWorker, Loop, process_chunk

__all__ = [
    "BatchHandler",
    "ChunkWorker",
    "Handler",
    "Loop",
    "RubricHandler",
    "TooLong",
    "handler_for",
    "process_chunk",
]
