"""Run figures, one source for the web page, the API and the CLI."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from . import vram
from .models import Item, Run

# Enough first answers to include the cold start of every server slot.
COLD_SAMPLE = 50


def run_progress(run: Run) -> dict[str, Any]:
    now = timezone.now()
    finished = run.finished_count
    pending = run.pending_count
    throughput = _throughput(run, now)
    eta = int(pending / throughput) if throughput and pending and run.is_live else None
    if run.outage_since or clock_stopped_at(run):
        # Nothing is scored until the server answers again, the run is resumed, or a
        # worker takes it: no time left is promised meanwhile.
        eta = None
    return {
        "status": run.status,
        "total": run.total_count,
        "done": run.done_count,
        "failed": run.failed_count,
        "cancelled": run.cancelled_count,
        # Never sent to the model: too little text to score.
        "skipped": run.skipped_count,
        "pending": pending,
        "finished": finished,
        # Rows that repeat another candidate for the same job: never sent, they take its
        # scores (counted in `done` and `failed` with it).
        "copies": int(run.opts.copy_count or 0),
        # Answers the model padded with whitespace (its server took only the schema).
        "padded": run.padded_answers,
        "percent": run.percent,
        "throughput_per_sec": round(throughput, 2) if throughput is not None else None,
        "eta_seconds": eta,
        "elapsed_seconds": elapsed_seconds(run, now),
        # The file is still being read: there is nothing to count yet.
        "reading": run.status == Run.Status.VALIDATING,
        "prompt_tokens": run.prompt_tokens,
        "completion_tokens": run.completion_tokens,
        "token_savings_pct": token_savings_pct(run),
        **per_candidate_tokens(run),
        "error_rate_pct": round(100.0 * run.failed_count / finished, 1) if finished else 0.0,
        "gpu": gpu_memory(),
        "backend": run.backend,
        "model": run.model,
        # The LLM server is not answering: the run waits and goes on by itself.
        "server_unreachable": run.outage_message if run.outage_since and run.is_live else "",
        "server_unreachable_seconds": (
            max(int((now - run.outage_since).total_seconds()), 0)
            if run.outage_since and run.is_live
            else None
        ),
        # Started, none of it taken by a worker yet while other runs hold the workers:
        # its place among the runs waiting (1: next).
        "queue_position": queue_position(run),
    }


def clock_stopped_at(run: Run) -> datetime | None:
    """When the scoring clock stopped, while it is stopped: the run is paused, waits for
    the LLM server, or waits for a free worker (started or resumed, none of it claimed
    since: `last_progress_at` is empty). Never before `resumed_at`: the time stopped
    before it is already counted in `paused_seconds` (services.runs books each stop
    when it ends, and moves `resumed_at` to that moment)."""
    if run.is_terminal or run.in_progress_at is None:
        return None
    stops = []
    if run.status == Run.Status.PAUSED and run.paused_at is not None:
        stops.append(run.paused_at)
    if run.outage_since is not None:
        stops.append(run.outage_since)
    if run.status == Run.Status.IN_PROGRESS and run.last_progress_at is None:
        stops.append(run.resumed_at or run.in_progress_at)
    if not stops:
        return None
    began = min(stops)
    return max(began, run.resumed_at) if run.resumed_at is not None else began


def queue_position(run: Run) -> int | None:
    """Where a run that waits for a free worker stands among the runs waiting (1: it is
    next), while other runs hold the workers; None when it is not waiting for one."""
    if (
        run.status != Run.Status.IN_PROGRESS
        or run.in_progress_at is None
        or run.last_progress_at is not None
        or run.outage_since is not None  # it says that it waits for the server instead
    ):
        return None
    waiting = Run.objects.filter(
        status=Run.Status.IN_PROGRESS,
        last_progress_at=None,
        in_progress_at__isnull=False,
        outage_since=None,
    )
    scoring = Run.objects.filter(status=Run.Status.IN_PROGRESS, last_progress_at__isnull=False)
    if not scoring.exclude(pk=run.pk).exists():
        return None  # no other run holds the workers: it is being taken now
    since = run.resumed_at or run.in_progress_at
    ahead = waiting.filter(Q(resumed_at__lt=since) | Q(resumed_at=since, pk__lt=run.pk)).count()
    return ahead + 1


def active_seconds(run: Run, now: Any = None) -> float:
    """Time spent scoring: from the start of scoring to the end (or now), less the time
    the clock was stopped (paused, waiting for the LLM server or for a free worker, see
    clock_stopped_at). Nothing before the run first started scoring."""
    start = run.in_progress_at
    if start is None:
        return 0.0
    end = run.completed_at or run.cancelled_at or run.failed_at or run.expired_at
    if end is None:
        end = clock_stopped_at(run) or now or timezone.now()
    return max((end - start).total_seconds() - run.paused_seconds, 0.0)


def elapsed_seconds(run: Run, now: Any = None) -> int:
    """Whole seconds spent scoring (see active_seconds)."""
    return int(active_seconds(run, now))


def format_duration(seconds: int) -> str:
    """12345 → '3 h 25 min'; 95 → '1 min 35 s'; 7 → '7 s'."""
    hours, rest = divmod(max(int(seconds), 0), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def _throughput(run: Run, now: Any) -> float | None:
    """Candidates scored (or failed) per second of scoring.

    While a run goes on: over the last window, never reaching back past the last (re)start,
    so a pause does not dilute it (while paused: the window before the pause). Once it
    has ended: over the whole time it was scoring. Cancelled candidates were never
    processed, and all get the moment of the cancel as their end: they never count.
    """
    if not run.in_progress_at:
        return None
    if run.is_terminal:
        seconds = active_seconds(run, now)
        return (run.done_count + run.failed_count) / seconds if seconds > 0 else None
    window = settings.HRBATCH["THROUGHPUT_WINDOW_SECONDS"]
    # Stopped (paused, an outage, waiting for a worker): the window before the stop. It
    # never reaches back past the end of the last stop either (`resumed_at`), so that the
    # speed right after an outage is not diluted by it.
    end = clock_stopped_at(run) or now
    since = max(end - timedelta(seconds=window), run.resumed_at or run.in_progress_at)
    seconds = (end - since).total_seconds()
    if seconds <= 0:
        return None
    count = Item.objects.filter(
        run_id=run.pk,
        status__in=[Item.Status.DONE, Item.Status.FAILED],
        finished_at__gt=since,
        finished_at__lte=end,
    ).count()
    return count / seconds


def per_candidate_tokens(run: Run) -> dict[str, float | None]:
    """What each scored candidate cost the model, retries and check samples included:
    prompt tokens (and the share the server's cache spared) and output tokens. Output
    tokens are what a GPU pays for most (one decoding step per token). Copies of another
    row cost nothing (never sent), so they are not counted."""
    done = run.done_count
    if run.opts.copy_count:
        done -= Item.objects.filter(
            run_id=run.pk, status=Item.Status.DONE, copy_of__isnull=False
        ).count()
    return {
        "prompt_tokens_per_candidate": round(run.prompt_tokens / done, 1) if done else None,
        "output_tokens_per_candidate": round(run.completion_tokens / done, 1) if done else None,
    }


def token_savings_pct(run: Run) -> float | None:
    """Share of prompt tokens the server did not have to evaluate thanks to its cache.

    Exact where the backend reports cached tokens; otherwise measured from durations
    (Ollama ≤ 0.12 counts the whole prompt in prompt_eval_count even when cached):
    the time actually spent against what the same tokens cost cold.
    """
    if not run.prompt_tokens:
        return None
    if run.cached_tokens:
        return round(100.0 * run.cached_tokens / run.prompt_tokens, 1)
    if not run.prompt_eval_ns:
        return None
    sample = Item.objects.filter(
        run_id=run.pk, status=Item.Status.DONE, prompt_eval_ns__gt=0, prompt_tokens__gt=0
    ).order_by("finished_at", "id")[:COLD_SAMPLE]
    cold = max(
        (ns / tokens for ns, tokens in sample.values_list("prompt_eval_ns", "prompt_tokens")),
        default=0,
    )
    if not cold:
        return None
    saved = 1.0 - run.prompt_eval_ns / (run.prompt_tokens * cold)
    return round(100.0 * min(max(saved, 0.0), 1.0), 1)


def gpu_memory() -> list[dict[str, Any]] | None:
    """Memory of each NVIDIA GPU on this machine, or None when there is none (pynvml is
    read in one place: vram.gpu_devices)."""
    devices, _ = vram.gpu_devices()
    if not devices:
        return None
    return [
        {"index": d.index, "name": d.name, "used_bytes": d.used, "total_bytes": d.total}
        for d in devices
    ]


def pack_agreement(run: Run) -> dict[str, Any] | None:
    """How far packing K candidates per request moved the scores, on the run's sample
    of candidates that were also scored alone (None when K = 1 or no sample yet)."""
    stride = int(run.opts.agreement_stride or 0)
    if run.pack_size <= 1 or not stride:
        return None
    pairs = [
        (result["scores"], result[Item.SINGLE_SCORES])
        for result in Item.objects.filter(run_id=run.pk, status=Item.Status.DONE)
        .annotate(slot=F("line") % stride)
        .filter(slot=0)
        .values_list("result", flat=True)
        if result and Item.SINGLE_SCORES in result
    ]
    if not pairs:
        return None
    keys = list(pairs[0][1])
    return {
        "pack_size": run.pack_size,
        "sample": len(pairs),
        "overall_agreement_pct": round(
            100.0 * sum(p.get("overall") == s.get("overall") for p, s in pairs) / len(pairs), 1
        ),
        "mean_abs_diff": {
            key: round(sum(abs(p[key] - s[key]) for p, s in pairs) / len(pairs), 2) for key in keys
        },
    }


def estimate_seconds(*, model: str, count: int) -> int | None:
    """How long `count` candidates should take on `model`, from the measured throughput
    of the last finished runs on it; None before any run has been measured."""
    runs = Run.objects.filter(
        model=model,
        status=Run.Status.COMPLETED,
        in_progress_at__isnull=False,
        completed_at__isnull=False,
        done_count__gt=0,
    ).order_by("-completed_at")[:5]
    done = seconds = 0.0
    for run in runs:
        done += run.done_count
        seconds += max(active_seconds(run), 1.0)
    if not done:
        return None
    # Rounded up: a small file takes a second or so, never "0 s".
    return math.ceil(count * seconds / done)
