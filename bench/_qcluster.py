"""`manage.py qcluster` with what-if tweaks and tracing, for benchmarks only.

Used by `saturation.py --what-if` to measure suggested changes without editing the engine:
  BENCH_Q_POLL=S      django-q2's broker poll interval (settings.Q_CLUSTER "poll", 0.5 s);
  BENCH_PREIMPORT=1   import the engine and the Ollama client before the workers fork, so a
                      fresh worker does not pay for those imports on its first task;
  BENCH_TRACE_DIR=D   every worker appends, per task, where the time between an LLM answer
                      and the next request went (JSON lines in D/trace-<pid>.jsonl).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hrbatch.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django_q.conf import Conf  # noqa: E402

if os.environ.get("BENCH_Q_POLL"):
    Conf.POLL = float(os.environ["BENCH_Q_POLL"])
if os.environ.get("BENCH_PREIMPORT"):
    import evaluations.engine
    import evaluations.llm.ollama_backend
    import evaluations.tasks  # noqa: F401
if os.environ.get("BENCH_TRACE_DIR"):
    import bisect
    import concurrent.futures
    import json
    import time

    from evaluations import engine
    from evaluations.llm import ollama_backend

    trace_dir = Path(os.environ["BENCH_TRACE_DIR"])
    events: dict[str, list[float]] = {"done": [], "woke": [], "submit": []}
    flushes: list[tuple[float, float]] = []

    original_chat = ollama_backend.OllamaBackend.chat

    async def chat(self, request):  # type: ignore[no-untyped-def]
        try:
            return await original_chat(self, request)
        finally:
            events["done"].append(time.monotonic())  # in the event-loop thread

    ollama_backend.OllamaBackend.chat = chat  # type: ignore[method-assign]

    original_call = engine.Loop.call

    def call(self, coro):  # type: ignore[no-untyped-def]
        events["submit"].append(time.monotonic())
        return original_call(self, coro)

    engine.Loop.call = call  # type: ignore[method-assign]

    original_wait = concurrent.futures.wait

    def wait(*args, **kwargs):  # type: ignore[no-untyped-def]
        result = original_wait(*args, **kwargs)
        if result[0]:
            events["woke"].append(time.monotonic())
        return result

    concurrent.futures.wait = wait  # type: ignore[assignment]

    original_flush = engine.ChunkWorker.flush

    def flush(self):  # type: ignore[no-untyped-def]
        started = time.monotonic()
        try:
            return original_flush(self)
        finally:
            flushes.append((started, time.monotonic()))

    engine.ChunkWorker.flush = flush  # type: ignore[method-assign]

    original_process = engine.process_chunk

    def process_chunk(run_id, lo, hi):  # type: ignore[no-untyped-def]
        for values in events.values():
            values.clear()
        flushes.clear()
        try:
            return original_process(run_id, lo, hi)
        finally:
            _dump()

    def _dump() -> None:
        done, woke, submit = (sorted(events[k]) for k in ("done", "woke", "submit"))
        wake, refill, in_flush = [], [], []
        for t in done:
            i = bisect.bisect_left(woke, t)
            j = bisect.bisect_left(submit, t)
            if i < len(woke):
                wake.append(woke[i] - t)
            if j < len(submit):
                end = submit[j]
                refill.append(end - t)
                in_flush.append(sum(max(0.0, min(b, end) - max(a, t)) for a, b in flushes))
        record = {
            "answers": len(done),
            "refills": len(refill),
            "wake_ms": 1000 * sum(wake) / max(len(wake), 1),
            "refill_ms": 1000 * sum(refill) / max(len(refill), 1),
            "refill_in_flush_ms": 1000 * sum(in_flush) / max(len(in_flush), 1),
            "flushes": len(flushes),
            "flush_ms": 1000 * sum(b - a for a, b in flushes) / max(len(flushes), 1),
        }
        with open(trace_dir / f"trace-{os.getpid()}.jsonl", "a") as out:
            out.write(json.dumps(record) + "\n")

    engine.process_chunk = process_chunk

call_command("qcluster")
