"""Runs: create, start and dispatch, pause, resume, cancel, retry, rerun, names, finalize.

Functions are keyword-only and named <entity>_<action> (HackSoft style). The LLM is never
called inside a transaction: SQLite's IMMEDIATE mode would hold the write lock meanwhile.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import os
import shutil
import socket
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Case, F, Q, QuerySet, When
from django.utils import timezone

from hrbatch import diskfull

from .. import export, notify, prompting
from ..llm import (
    BackendError,
    backend_notice,
    call_once,
    make_backend,
    resolve_backend,
    served_model,
)
from ..metrics import clock_stopped_at
from ..models import LONG_ROWS_TRUNCATE, File, Item, Job, Rubric, Run, RunColumns, RunOptions
from ..openai_compat import DEFAULT_MAX_TOKENS, batch_num_ctx
from ..selectors import REPORT_KEEP_FROM, concurrency_for, run_report_kept
from .common import InputError
from .files import disk_full_message, ensure_free_space, is_disk_full
from .ingest import answer_format_setting, plan_for_run, run_ingest
from .processes import holder_alive, lease_holder
from .rubrics import rubric_default
from .tasks_queue import enqueue_on_commit

log = logging.getLogger(__name__)


def consistency_stride(total: int) -> int:
    """Every how many rows a candidate is scored twice (0: never): the consistency sample
    is HRBATCH_CONSISTENCY_PCT of the candidates, at least _MIN and at most _MAX (all of
    them when there are fewer than _MIN)."""
    conf = settings.HRBATCH
    pct = float(conf["CONSISTENCY_PCT"])
    if pct <= 0 or total <= 0:
        return 0
    sample = round(total * pct / 100)
    sample = min(int(conf["CONSISTENCY_MAX"]), max(int(conf["CONSISTENCY_MIN"]), sample), total)
    return max(1, total // sample)


AGREEMENT_SAMPLE_MIN = 10
AGREEMENT_SAMPLE_MAX = 50


# --- Runs: create ----------------------------------------------------------------------


def run_create(
    *,
    owner: AbstractBaseUser | None,
    input_file: File,
    intake: RunColumns | None = None,
    options: RunOptions | None = None,
    rubric: Rubric | None = None,
    model: str = "",
    backend: str = "",
    notify_email: str = "",
    name: str = "",
    start: bool = True,
    defer: bool = False,
    rerun_of: Run | None = None,
    dedupe_key: str | None = None,
) -> Run:
    """Create a rubric run from a candidate CSV: validate and ingest it, then start it.

    `intake` holds what a person chose (RunColumns, as the check page and `evaluate` made
    it: services.intake_create), `options` how it is scored (RunOptions: candidates per
    request). A file that cannot be used gives a run in `failed` with its errors (row
    numbers and fixes) and no Items, never a half-created run that looks valid. With
    `intake.skip_invalid`, rows with problems are left out (and listed) instead;
    `intake.long_rows` says what to do with rows too long for the AI model: leave them out
    (listed), or "truncate" (score their first part, marked in the results); by default
    they fail, saying why. With `intake.redact` (the default), emails, phone numbers, links
    and the candidate's name are hidden from the model (model_view). With `intake.jobs`
    (JobsChoice.for_run: the saved versions pinned when Start was pressed), each candidate
    is scored against the saved job their position column names.
    With `defer`, a worker ingests the file (large uploads) and the caller returns at once.
    With `dedupe_key`, a run holding the same key that has not ended raises
    RunAlreadyStarted instead.
    """
    options = options or RunOptions()
    if options.pack_size < 1 or options.pack_size > 16:
        raise InputError("Pack size must be between 1 and 16 candidates per request.")
    refusal = notify_address_refusal(owner=owner, address=notify_email)
    if refusal:
        raise InputError(refusal)
    ensure_free_space(size=input_file.bytes)
    if dedupe_key:
        options = options.replace(created_by=lease_holder())
    run = _run_insert(
        dedupe_key,
        owner=owner,
        kind=Run.Kind.RUBRIC,
        input_file=input_file,
        rubric=rubric or rubric_default(),
        model=model,
        backend=backend,
        options=options.to_json(),
        columns=(intake or RunColumns()).to_json(),
        notify_email=notify_email,
        name=_run_name(name) or input_file.filename,
        rerun_of=rerun_of,
    )
    if defer:
        enqueue_on_commit("evaluations.tasks.ingest_run", run.pk, start, group=run.public_id)
        return run
    try:
        run_ingest(run=run)
        if start and run.status == Run.Status.VALIDATING:
            run_start(run=run)
    except (OSError, DatabaseError) as exc:
        if not is_disk_full(exc):
            raise
        outcome = _disk_full_at_creation(run)
        raise InputError(disk_full_message(2 * input_file.bytes, outcome=outcome)) from exc
    return run


def notify_address_refusal(*, owner: AbstractBaseUser | None, address: str) -> str:
    """Why a run of `owner` may not e-mail `address` when it ends ("" when it may): the
    web form and `evaluate` say it before anything is made; run_create refuses it."""
    return notify.address_refusal(address.strip(), owner=owner)


def _disk_full_at_creation(run: Run) -> str:
    """What became of a run whose creation found the disk full, in words: never "nothing
    was started" while something was.

    A run still being read goes, with its rows (no half-made run); if even that cannot be
    written, it is left failed, or as it is, and said so. A run that had started (its
    status committed, its tasks not all queued) keeps its candidates and is paused with
    the reason, to be resumed once there is room."""
    status = Run.objects.filter(pk=run.pk).values_list("status", flat=True).first()
    live = Run.objects.filter(status=Run.Status.IN_PROGRESS).exclude(pk=run.pk).exists()
    others = " Runs already in progress wait for room and go on by themselves." if live else ""
    if status in (Run.Status.IN_PROGRESS, Run.Status.PAUSED):
        paused = run_pause(
            run=run,
            reason="The server's disk filled up as this run started. Free space, then resume it.",
        )
        kept = "it is paused" if paused or run.status == Run.Status.PAUSED else "it waits"
        return (
            f"Run {run.public_id} had started: its {run.total_count:,} candidates are kept and "
            f"{kept}; resume it once there is room (`evaluate` resumes it when run again)." + others
        )
    if status is None:
        return "Nothing was started." + others
    try:
        with transaction.atomic():
            Item.objects.filter(run_id=run.pk).delete()
            Run.objects.filter(pk=run.pk).delete()
    except DatabaseError:
        log.warning("could not remove run %s after a full disk", run.pk)
    else:
        return "Nothing was started." + others
    with contextlib.suppress(DatabaseError):
        if Run.objects.filter(pk=run.pk).update(
            status=Run.Status.FAILED,
            failed_at=timezone.now(),
            status_message="The server's disk was full while this run was created.",
            dedupe_key=None,
        ):
            return f"Run {run.public_id} could not be created whole and is marked failed." + others
    return (
        f"Run {run.public_id} could not be created whole, nor removed: nothing of it is "
        "scored; delete it once there is room." + others
    )


class RunAlreadyStarted(Exception):
    """The same input is being scored already: `run` is that run, to follow instead."""

    def __init__(self, run: Run):
        super().__init__(run.public_id)
        self.run = run


# Runs that still hold their dedupe key: they have not ended.
_KEY_HOLDING = (
    Run.Status.VALIDATING,
    Run.Status.IN_PROGRESS,
    Run.Status.PAUSED,
    Run.Status.FINALIZING,
    Run.Status.CANCELLING,
)


def _run_insert(dedupe_key: str | None, **fields: Any) -> Run:
    """Insert a Run; with a key, race-safely: the unique key is the arbiter.

    Check-then-create would let two processes started at once both create a run (and
    score everything twice); the database's unique constraint lets exactly one in.
    """
    if not dedupe_key:
        return Run.objects.create(**fields)
    for _ in range(3):
        # A key held by a run that has ended is free again.
        Run.objects.filter(dedupe_key=dedupe_key).exclude(status__in=_KEY_HOLDING).update(
            dedupe_key=None
        )
        try:
            with transaction.atomic():
                return Run.objects.create(dedupe_key=dedupe_key, **fields)
        except IntegrityError:
            existing = Run.objects.filter(dedupe_key=dedupe_key).first()
            if existing is None or _abandon_if_orphaned(existing):
                continue  # it ended meanwhile, or its creator died: try again
            raise RunAlreadyStarted(existing) from None
    raise InputError("This file is being started by another process; try again in a moment.")


def _abandon_if_orphaned(run: Run) -> bool:
    """A run left `validating` by a process of this machine that died while reading the
    file would hold its key for ever: fail it (conditionally) and free the key."""
    holder = run.opts.created_by or ""
    if run.status != Run.Status.VALIDATING or not holder.startswith(f"{socket.gethostname()}:"):
        return False
    if holder_alive(holder):
        return False
    return bool(
        Run.objects.filter(pk=run.pk, status=Run.Status.VALIDATING).update(
            status=Run.Status.FAILED,
            failed_at=timezone.now(),
            status_message="The process reading this file stopped before it finished.",
            dedupe_key=None,
        )
    )


def run_ingest_and_start(*, run_id: int, start: bool = True) -> Run | None:
    """The deferred half of run_create (a worker reads large files)."""
    run = Run.objects.filter(pk=run_id, status=Run.Status.VALIDATING).first()
    if run is None or run.items.exists():
        return run  # already ingested (a redelivered task) or cancelled meanwhile
    run_ingest(run=run)
    if start and run.status == Run.Status.VALIDATING:
        run_start(run=run)
    return run


# --- Runs: start, dispatch -----------------------------------------------------------


def run_start(*, run: Run) -> Run:
    """Pick the backend and model, size the prompt, and hand the Items to the workers."""
    conf = settings.HRBATCH
    choice = resolve_backend(run.backend or None)
    backend = make_backend(choice.name)
    model = served_model(backend, run.model)
    try:
        info = call_once(backend, lambda b: b.model_info(model))
    except BackendError as exc:
        if exc.transient:
            # No host answers: an outage is a state, not an error (DESIGN.md). The run
            # waits, saying so, and starts by itself once a host answers.
            return _run_wait_for_server(run, backend=choice.name, model=model, message=str(exc))
        return _run_pause_unstartable(run, backend=choice.name, model=model, message=str(exc))

    # A server that serves one model runs it when none was named (OpenAI-compatible).
    model = info.name or model
    opts = run.opts
    if structured := info.details.get("structured_output"):
        opts = opts.replace(structured_output=structured)
    if run.kind == Run.Kind.RUBRIC:
        opts = _rubric_sizes(run, opts, context_length=info.context_length)
    else:
        opts = _batch_sizes(run, opts, context_length=info.context_length)
    opts = opts.replace(
        seed=conf["SEED"] if opts.seed is None else opts.seed,
        temperature=0.0 if opts.temperature is None else opts.temperature,
        keep_alive=conf["KEEP_ALIVE"],
    )
    if notice := backend_notice(choice, backend):
        opts = opts.replace(notice=notice)
    concurrency = concurrency_for(backend=choice.name, model=model, where=backend.where)
    opts = opts.replace(concurrency=concurrency.value, concurrency_source=concurrency.source)
    run.backend = choice.name
    run.model = model
    run.model_digest = info.digest
    run.opts = opts
    _run_mark_started(run)
    run.refresh_from_db()
    return run


def _run_pause_unstartable(run: Run, *, backend: str, model: str, message: str) -> Run:
    """run_start when the server answers but cannot run the model: paused, saying why."""
    run.backend, run.model = backend, model
    if run.status != Run.Status.PAUSED or run.paused_at is None:
        run.paused_at = timezone.now()  # a failed resume keeps the pause's start
    run.status = Run.Status.PAUSED
    run.status_message = f"{message} Then resume the run."
    run.save(update_fields=["backend", "model", "status", "paused_at", "status_message"])
    return run


def _rubric_sizes(run: Run, opts: RunOptions, *, context_length: int | None) -> RunOptions:
    """A rubric run's answer format, context and samples (sets run.prompt_hash)."""
    if opts.answer_format is None and run.in_progress_at is None:
        # Fixed when scoring first starts; a resumed run keeps its own (runs from before
        # the choice existed have none and keep the keyed answers they started with).
        opts = opts.replace(answer_format=answer_format_setting())
        run.opts = opts
    plan = plan_for_run(run)
    pack = plan.pack_size
    num_predict = plan.num_predict(pack)
    num_ctx = prompting.size_num_ctx(
        # LIMIT_STEP to spare: the engine's limit is rounded down to it (prompting).
        prompt_chars=prompting.prompt_chars(
            system_chars=len(plan.system),
            candidate_chars=run.max_input_chars + prompting.LIMIT_STEP,
            pack_size=pack,
        ),
        num_predict=num_predict,
        cap=settings.HRBATCH["MAX_NUM_CTX"],
        model_context=context_length,
    )
    opts = opts.replace(num_ctx=num_ctx, num_predict=num_predict)
    run.prompt_hash = plan.hash
    # The samples are drawn among the candidates to score (not those with too little
    # text, nor the copies of another row, which are never sent), so that they keep
    # their size.
    copies = int(opts.copy_count or 0)
    to_score = run.total_count - run.skipped_count - copies
    if pack > 1 and to_score > 0:
        # About 2% of the candidates (10 to 50) are also scored alone: the agreement
        # sample that shows what packing costs in fidelity.
        sample = min(AGREEMENT_SAMPLE_MAX, max(AGREEMENT_SAMPLE_MIN, to_score // 50))
        opts = opts.replace(agreement_stride=max(1, to_score // sample))
    opts = opts.replace(consistency_stride=consistency_stride(to_score))
    if copies:
        opts = opts.replace(
            agreement_lines=_sampled_lines(run, opts.agreement_stride),
            consistency_lines=_sampled_lines(run, opts.consistency_stride),
        )
    return opts


def _batch_sizes(run: Run, opts: RunOptions, *, context_length: int | None) -> RunOptions:
    """An API batch: one num_ctx for its longest request, the default answer budget."""
    num_ctx = batch_num_ctx(
        longest_chars=run.max_input_chars,
        max_messages=opts.max_messages if opts.max_messages is not None else 1,
        max_tokens=opts.max_tokens or DEFAULT_MAX_TOKENS,
        cap=settings.HRBATCH["MAX_NUM_CTX"],
        model_context=context_length,
    )
    return opts.replace(
        num_ctx=num_ctx,
        num_predict=DEFAULT_MAX_TOKENS,
        # A batch too re-sends a sample with another seed (its metadata's consistency).
        consistency_stride=consistency_stride(run.total_count),
    )


def _run_mark_started(run: Run) -> None:
    """Store what run_start decided and hand the Items out, in one transaction."""
    now = timezone.now()
    with transaction.atomic():
        # A new run (validating) starts, or one that waited for the server to answer; a
        # paused one resumes.
        startable = (
            Q(status=Run.Status.VALIDATING)
            | Q(status__in=Run.ALLOWED_FROM["resume"])
            | Q(status=Run.Status.IN_PROGRESS, in_progress_at=None)
        )
        updated = Run.objects.filter(startable, pk=run.pk).update(
            resumed_at=now,
            paused_seconds=_book_stop(run, now),
            backend=run.backend,
            model=run.model,
            model_digest=run.model_digest,
            prompt_hash=run.prompt_hash,
            options=run.options,
            status=Run.Status.IN_PROGRESS,
            in_progress_at=F("in_progress_at") if run.in_progress_at else now,
            status_message="",
            outage_since=None,
            outage_message="",
            # Waiting for a free worker until one claims some of it (run_scoring_began).
            last_progress_at=None,
        )
        if updated and not run_dispatch(run=run):
            # Nothing to send (every candidate had too little text to score): the run
            # ends now, as it would after its last answer.
            run_id = run.pk
            transaction.on_commit(lambda: run_finalize_if_done(run_id=run_id))


def _run_wait_for_server(run: Run, *, backend: str, model: str, message: str) -> Run:
    """run_start when no host of the LLM server answers: the run is in progress and waits
    as in an outage, saying why (outage_message), instead of pausing.

    A run that scored before (resumed) goes to its workers, which probe the server with
    backoff as in any outage. One that never started has no model details yet (its
    context size, the model's digest): it is not handed out, and run_start is tried again
    (services.recovery.sweep, every few seconds under `evaluate`) until a host answers.
    Its `in_progress_at` stays empty until then: no scoring time is counted meanwhile.
    """
    now = timezone.now()
    startable = (
        Q(status=Run.Status.VALIDATING)
        | Q(status__in=Run.ALLOWED_FROM["resume"])
        | Q(status=Run.Status.IN_PROGRESS, in_progress_at=None)
    )
    with transaction.atomic():
        updated = Run.objects.filter(startable, pk=run.pk).update(
            status=Run.Status.IN_PROGRESS,
            backend=backend,
            model=model,
            resumed_at=now,
            paused_seconds=_book_stop(run, now),
            status_message="",
            outage_since=run.outage_since or now,
            outage_message=message,
            last_progress_at=None,
        )
        if updated and run.in_progress_at is not None:
            run_dispatch(run=run)
    run.refresh_from_db()
    return run


def run_waits_to_start(run: Run) -> bool:
    """Whether `run` was started while no LLM host answered and waits for one before its
    first dispatch (see _run_wait_for_server)."""
    return run.status == Run.Status.IN_PROGRESS and run.in_progress_at is None


def _sampled_lines(run: Run, stride: int | None) -> list[int] | None:
    """The rows of every `stride`-th distinct candidate, in the file's order: a run with
    copies samples these rather than every `stride`-th row, most of which may be copies."""
    if not stride:
        return None
    firsts = (
        Item.objects.filter(run_id=run.pk, copy_of=None)
        .exclude(status=Item.Status.SKIPPED)
        .order_by("line")
    )
    lines = firsts.values_list("line", flat=True).iterator(chunk_size=5000)
    return list(itertools.islice(lines, stride - 1, None, stride))


def chunk_size_for(total: int) -> int:
    """Spread small runs over every worker; cap chunks so a lost task costs little."""
    conf = settings.HRBATCH
    workers = int(settings.Q_CLUSTER.get("workers") or 1)
    per_worker = math.ceil(total / max(workers * 2, 1))
    return max(min(per_worker, conf["CHUNK_SIZE"]), min(20, conf["CHUNK_SIZE"]), 1)


def run_dispatch(*, run: Run, ids: Iterable[int] | None = None) -> int:
    """Enqueue one task per chunk of unclaimed pending Items, once the transaction commits.

    A run whose candidates applied for different jobs is chunked job by job: a task works
    on whole jobs, so the server's slots keep one job's prompt prefix cached while its
    candidates are scored, and two workers work on different jobs rather than interleave
    them (unless the run says otherwise: RunOptions.jobs_interleaved)."""
    # Copies of another row are not sent: they take its scores (engine.worker).
    pending = Item.objects.filter(
        run_id=run.pk, status=Item.Status.PENDING, lease_token=None, copy_of=None
    )
    size = chunk_size_for(run.total_count - int(run.opts.copy_count or 0))
    if not run.opts.jobs_interleaved and Job.objects.filter(run_id=run.pk).exists():
        return _dispatch_by_job(run, pending, ids, size)
    if ids is None:
        ids = pending.order_by("id").values_list("id", flat=True).iterator(chunk_size=5000)
    ranges: list[tuple[int, int]] = []
    current: list[int] = []
    for item_id in ids:
        current.append(item_id)
        if len(current) == size:
            ranges.append((current[0], current[-1]))
            current = []
    if current:
        ranges.append((current[0], current[-1]))

    return _enqueue_chunks(run, [(lo, hi, None) for lo, hi in ranges])


def _enqueue_chunks(run: Run, chunks: list[tuple[int, int, list[int | None] | None]]) -> int:
    """One process_chunk task per (lo, hi, its jobs or None), once the transaction
    commits; the run is marked dispatched."""
    group = run.public_id
    for lo, hi, jobs in chunks:
        if jobs is None:
            args: tuple[Any, ...] = (run.pk, lo, hi)
            name = f"{group}:{lo}-{hi}"
        else:
            args = (run.pk, lo, hi, jobs)
            name = f"{group}:{lo}-{hi}:jobs-{jobs[0] or 0}-{len(jobs)}"
        enqueue_on_commit("evaluations.tasks.process_chunk", *args, group=group, task_name=name)
    Run.objects.filter(pk=run.pk).update(dispatched_at=timezone.now())
    return len(chunks)


def _dispatch_by_job(
    run: Run, pending: QuerySet[Item], ids: Iterable[int] | None, size: int
) -> int:
    """run_dispatch for a run with jobs: each chunk holds whole jobs (a job larger than a
    chunk gets chunks of its own), and its task is told its jobs so that it claims only
    their Items. Small jobs share a chunk: a task per job would pay a task's start and
    its last requests' wait (the window draining) once per job."""
    pairs: list[tuple[int, int | None]] = []
    if ids is None:
        pairs = list(pending.values_list("id", "job_id").iterator(chunk_size=5000))
    else:
        wanted = list(ids)
        for start in range(0, len(wanted), 5000):
            part = wanted[start : start + 5000]
            pairs += Item.objects.filter(pk__in=part).values_list("id", "job_id")
    # The Items without a job first, then job by job, each in the file's order.
    pairs.sort(key=lambda pair: (pair[1] is not None, pair[1] or 0, pair[0]))
    chunks: list[tuple[list[int], list[int | None]]] = []
    current: tuple[list[int], list[int | None]] = ([], [])
    for job_id, members in itertools.groupby(pairs, key=lambda pair: pair[1]):
        job_items = [item_id for item_id, _ in members]
        if len(current[0]) + len(job_items) > size and current[0]:
            chunks.append(current)
            current = ([], [])
        if len(job_items) > size:
            chunks += [
                (job_items[start : start + size], [job_id])
                for start in range(0, len(job_items), size)
            ]
            continue
        current[0].extend(job_items)
        current[1].append(job_id)
    if current[0]:
        chunks.append(current)

    return _enqueue_chunks(run, [(min(ids), max(ids), jobs) for ids, jobs in chunks])


def run_redispatch(*, run: Run) -> int:
    """Enqueue tasks again for every unclaimed pending Item of a running run.

    Safe to over-do: a task claims only Items nobody holds, so a duplicate finds nothing.
    Used when a person restarts after a crash (the broker may have lost queued tasks).
    """
    if not run.may("redispatch") or run_waits_to_start(run):
        return 0  # a run that waits to start is started by run_start, not handed out
    with transaction.atomic():
        return run_dispatch(run=run)


def _items_reset_failed(run_id: int) -> int:
    """The run's failed Items pending again with a fresh set of attempts, and its failed
    count lowered to match (in the caller's transaction); how many."""
    count = Item.objects.filter(run_id=run_id, status=Item.Status.FAILED).update(
        status=Item.Status.PENDING,
        attempts=0,
        finished_at=None,
        lease_token=None,
        lease_until=None,
    )
    if count:
        Run.objects.filter(pk=run_id).update(failed_count=F("failed_count") - count)
    return count


def run_retry_failed(*, run: Run, truncate_long: bool = False) -> int:
    """Give every failed Item of a finished or running run a fresh set of attempts.

    With `truncate_long`, rows too long for the AI model are scored on their first part
    this time (marked `truncated` in the results) instead of failing the same way again.
    """
    if not run.can_retry_failed:
        return 0
    with transaction.atomic():
        if truncate_long and run.kind == Run.Kind.RUBRIC:
            run.intake = run.intake.replace(long_rows=LONG_ROWS_TRUNCATE)
            run.save(update_fields=["columns"])
        count = _items_reset_failed(run.pk)
        if not count:
            return 0
        now = timezone.now()
        # The time it stood completed is not scoring time: booked as a stop.
        idle = (now - run.completed_at).total_seconds() if run.completed_at else 0.0
        reopened = Run.objects.filter(pk=run.pk, status=Run.Status.COMPLETED).update(
            status=Run.Status.IN_PROGRESS,
            completed_at=None,
            notified_at=None,
            paused_seconds=F("paused_seconds") + max(idle, 0.0),
            resumed_at=now,
            last_progress_at=None,
        )
        run.refresh_from_db()
        if run.status == Run.Status.IN_PROGRESS:
            run_dispatch(run=run)
    if reopened:
        log.info("run %s reopened to retry %d failed items", run.pk, count)
    return count


def run_rerun(
    *,
    run: Run,
    owner: AbstractBaseUser | None = None,
    rubric: Rubric | None = None,
    model: str | None = None,
) -> Run:
    """Score the same file again as a new run (linked to the original), optionally with
    another rubric version or model."""
    if run.kind != Run.Kind.RUBRIC:
        raise InputError("Only candidate-file runs can be rerun here.")
    chosen = run.intake
    return run_create(
        owner=owner or run.owner,
        input_file=run.input_file,
        # What was chosen, as stored (the encoding the file was read with, the saved job
        # versions it pinned); the file's layout is read again.
        intake=RunColumns(
            id_column=chosen.id_column,
            roles=chosen.roles,
            skip_invalid=chosen.skip_invalid,
            long_rows=chosen.long_rows,
            redact=chosen.redact,
            encoding=chosen.encoding,
            jobs=chosen.jobs,
        ),
        options=RunOptions(pack_size=run.pack_size),
        rubric=rubric or run.rubric,
        model=run.model if model is None else model,
        backend=run.backend,
        # An address the rules no longer allow is dropped: the owner is told instead.
        notify_email=""
        if notify_address_refusal(owner=owner or run.owner, address=run.notify_email)
        else run.notify_email,
        name=f"{run.name} (rerun)",
        defer=True,
        rerun_of=run,
    )


def run_write_scored_csv(*, run: Run, out: Path, excel: bool = False) -> None:
    """Write a finished run's scored CSV to `out` (the Excel version with `excel`). The
    output file is on the machine that finished the run; from another one (a scale-out
    without shared storage) it is written from the database."""
    if excel or run.output_file is None or not run.output_file.abspath.is_file():
        export.write_scored_csv(run, out, excel=excel)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    # Another evaluate following the same run may write the same file: each writes its
    # own copy and renames it into place, atomically.
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
    shutil.copyfile(run.output_file.abspath, partial)
    os.replace(partial, out)


# --- Runs: names ------------------------------------------------------------------------

RUN_NAME_MAX = Run._meta.get_field("name").max_length or 200


def _run_name(name: str) -> str:
    """One line (it is an e-mail subject and a file name), no stray spaces, not too long."""
    return " ".join(name.split())[:RUN_NAME_MAX]


def run_rename(*, run: Run, name: str) -> Run:
    """Give a run the name people know it by (runs list, page title, e-mail, download)."""
    clean = _run_name(name)
    if not clean:
        raise InputError("Give the run a name, for example the intake or the job it is for.")
    Run.objects.filter(pk=run.pk).update(name=clean)
    run.name = clean
    return run


def run_name_suggestion(*, owner: AbstractBaseUser | None, filename: str) -> str:
    """The file's name, numbered when this person already has a run by that name, so
    that two uploads of one file can be told apart ("pool.csv", "pool.csv (2)", ...)."""
    base = _run_name(filename) or "candidates"
    taken = set(
        Run.objects.filter(owner=owner, name__startswith=base).values_list("name", flat=True)
    )
    if base not in taken:
        return base
    number = 2
    while f"{base} ({number})" in taken:
        number += 1
    return f"{base} ({number})"


# --- Runs: pause, resume, cancel -------------------------------------------------------


def run_pause(*, run: Run, reason: str = "") -> bool:
    """Workers finish the requests in flight, then leave the rest pending."""
    updated = (
        Run.objects.filter(pk=run.pk)
        .that_may("pause")
        .update(status=Run.Status.PAUSED, paused_at=timezone.now(), status_message=reason)
    )
    run.refresh_from_db()
    return bool(updated)


def _book_stop(run: Run, now: Any) -> Any:
    """Run.paused_seconds plus the stop of the scoring clock that ends now (a pause, an
    outage, the wait for a free worker: metrics.clock_stopped_at), for an UPDATE that
    also sets `resumed_at` to `now`, so that the speed, the time left, the elapsed time
    and the e-mail's duration count only the time the run was scoring.

    Conditional in the database: only a row whose `resumed_at` is still the one this copy
    of the run read books it, so a stale copy (someone booked meanwhile) books nothing
    twice.
    """
    stopped = clock_stopped_at(run)
    if stopped is None:
        return F("paused_seconds")
    seconds = max((now - stopped).total_seconds(), 0.0)
    unchanged = Q(resumed_at=run.resumed_at) if run.resumed_at else Q(resumed_at=None)
    return Case(When(unchanged, then=F("paused_seconds") + seconds), default=F("paused_seconds"))


def run_resume(*, run: Run) -> bool:
    if not run.can_resume:
        return False
    run_start(run=run)
    # Still paused means the backend is still unavailable (see status_message).
    return run.status != Run.Status.PAUSED


def run_cancel(*, run: Run) -> bool:
    """Stop a run: what is done stays done, the rest is cancelled, outputs are written."""
    now = timezone.now()
    with transaction.atomic():
        updated = (
            Run.objects.filter(pk=run.pk)
            .that_may("cancel")
            .update(
                status=Run.Status.CANCELLING,
                cancelling_at=now,
                paused_seconds=_book_stop(run, now),
                resumed_at=now,
            )
        )
        if updated:
            items_cancel_unclaimed(run_id=run.pk)
    run.refresh_from_db()
    if updated:
        run_finalize_if_done(run_id=run.pk)
        run.refresh_from_db()
    return bool(updated)


def items_cancel_unclaimed(*, run_id: int, token: str | None = None, reason: str = "") -> int:
    """Cancel pending Items no live worker holds (or those `token` held).

    A cancelled run's Items keep their last error; an expired batch's say `reason` instead
    (services.batches.batch_expire_overdue).
    """
    now = timezone.now()
    items = Item.objects.filter(run_id=run_id, status=Item.Status.PENDING)
    if token is None:
        items = items.filter(Q(lease_token=None) | Q(lease_until__lt=now))
    else:
        items = items.filter(lease_token=token)
    fields: dict[str, Any] = {"error": reason} if reason else {}
    with transaction.atomic():  # the counter moves with the Items, or neither does
        count = items.update(
            status=Item.Status.CANCELLED,
            lease_token=None,
            lease_until=None,
            finished_at=now,
            **fields,
        )
        if count:
            Run.objects.filter(pk=run_id).update(cancelled_count=F("cancelled_count") + count)
    return count


def _sharing_the_server(run: Run) -> QuerySet[Run]:
    """The runs that wait on the same LLM server as `run`: the live ones on its backend
    (the hosts are the deployment's), queued ones included, which no worker of theirs
    has told yet (a queued API batch's metadata says that the server is unreachable)."""
    return Run.objects.filter(
        Q(pk=run.pk)
        | Q(backend=run.backend, status=Run.Status.IN_PROGRESS, in_progress_at__isnull=False)
    )


def run_note_outage(*, run: Run, message: str) -> bool:
    """Say that the LLM server stopped answering; the workers keep probing it.

    Conditional: the first worker to notice sets the time, the others find it set.
    The log keeps which server it was (API clients are not told where the servers are).
    """
    noted = bool(
        _sharing_the_server(run)
        .filter(outage_since=None)
        .update(outage_since=timezone.now(), outage_message=message)
    )
    if noted:
        log.warning("run %s: waiting for the LLM server: %s", run.pk, message)
    return noted


def run_clear_outage(*, run: Run) -> bool:
    """The server answers again: scoring goes on by itself. The outage is booked as a
    stop of the scoring clock (_book_stop), for each run that waited on the server."""
    cleared = False
    for waited in _sharing_the_server(run).filter(outage_since__isnull=False):
        now = timezone.now()
        cleared |= bool(
            Run.objects.filter(pk=waited.pk, outage_since=waited.outage_since).update(
                outage_since=None,
                outage_message="",
                paused_seconds=_book_stop(waited, now),
                resumed_at=now,
            )
        )
    return cleared


def run_note_disk_full(*, run: Run) -> None:
    """Say on a running run (its page, the API, `evaluate`) that its results wait for room
    on the server's disk. Best effort: a full disk may not take even this."""
    with contextlib.suppress(DatabaseError):
        Run.objects.filter(pk=run.pk, status=Run.Status.IN_PROGRESS, status_message="").update(
            status_message=diskfull.message()
        )


def run_clear_disk_full(*, run: Run) -> None:
    """The disk has room again: the run's note goes."""
    with contextlib.suppress(DatabaseError):
        Run.objects.filter(pk=run.pk, status_message__startswith=diskfull.HEADLINE).update(
            status_message=""
        )


def run_scoring_began(*, run_id: int) -> bool:
    """A worker claimed some of a run that waited for one since it was (re)started: its
    scoring clock starts now (the wait is booked as a stop, _book_stop). Once per (re)start:
    conditional on `last_progress_at` still being empty."""
    run = Run.objects.filter(pk=run_id, last_progress_at=None).first()
    if run is None:
        return False
    now = timezone.now()
    return bool(
        Run.objects.filter(pk=run_id, last_progress_at=None).update(
            last_progress_at=now, paused_seconds=_book_stop(run, now), resumed_at=now
        )
    )


# --- Runs: finalize ----------------------------------------------------------------------

# Every Item has ended: scored, failed, cancelled, or never to be sent (too little text).
_NOTHING_PENDING = Q(
    total_count=F("done_count") + F("failed_count") + F("cancelled_count") + F("skipped_count")
)


def _second_pass(run_id: int) -> bool:
    """Give the failed Items of a run that has nothing left pending one more try.

    Once per run, automatically, before it completes: a failure that held through
    every retry may still have been transient (a server that restarted for minutes).
    Failures with a lasting reason (too long, refused by the server) cost at most one
    request and fail again with the same reason.
    """
    with transaction.atomic():
        # The claim is one conditional UPDATE: of several workers finishing at once,
        # exactly one starts the second pass.
        claimed = Run.objects.filter(
            _NOTHING_PENDING,
            pk=run_id,
            status=Run.Status.IN_PROGRESS,
            second_pass_at=None,
            failed_count__gt=0,
        ).update(second_pass_at=timezone.now())
        if not claimed:
            return False
        count = _items_reset_failed(run_id)
        log.info("run %s: second pass for %d failed items", run_id, count)
        run_dispatch(run=Run.objects.get(pk=run_id))
    return True


def run_finalize_if_done(*, run_id: int) -> bool:
    """Write the outputs and set the final status once no Item is pending (idempotent).

    The check and the claim are one conditional UPDATE, so of several workers finishing
    at once exactly one finalises, and a stale read can never complete a cancelled run.
    """
    if Run.objects.filter(pk=run_id, status=Run.Status.CANCELLING).exists():
        # Items whose worker died while the run was being cancelled.
        items_cancel_unclaimed(run_id=run_id)
    elif _second_pass(run_id):
        return False
    for current, final in (
        (Run.Status.CANCELLING, Run.Status.CANCELLED),
        (Run.Status.IN_PROGRESS, Run.Status.COMPLETED),
    ):
        claimed = Run.objects.filter(_NOTHING_PENDING, pk=run_id, status=current).update(
            status=Run.Status.FINALIZING, finalizing_at=timezone.now()
        )
        if claimed:
            return run_finalize(run=Run.objects.get(pk=run_id), final=final)
    return False


def run_finalize(*, run: Run, final: str) -> bool:
    """Write the outputs of a run this process claimed in `finalizing` (run_finalize_if_done,
    or the sweep for one whose worker died meanwhile), then set its final status."""
    run.refresh_from_db()
    # A batch past its completion window was stopped through `cancelling` with
    # `expired_at` set (batches.batch_expire_overdue): it ends `expired`, not cancelled.
    if run.expired_at is not None:
        final = Run.Status.EXPIRED
    try:
        output = export.write_outputs(run)
    except (OSError, DatabaseError) as exc:
        if is_disk_full(exc):
            # Not written: back to where it was, so that the next try claims it again
            # (the worker tries again once there is room).
            back = (
                Run.Status.IN_PROGRESS if final == Run.Status.COMPLETED else Run.Status.CANCELLING
            )
            with contextlib.suppress(DatabaseError):
                Run.objects.filter(pk=run.pk, status=Run.Status.FINALIZING).update(status=back)
        raise
    now = timezone.now()
    fields: dict[str, Any] = {"status": final}
    if final != Run.Status.EXPIRED:
        fields["cancelled_at" if final == Run.Status.CANCELLED else "completed_at"] = now
    if output:
        fields["output_file"] = output
    updated = Run.objects.filter(pk=run.pk, status=Run.Status.FINALIZING).update(**fields)
    run.refresh_from_db()
    if updated:
        notify.run_finished(run=run)
        if run.kind == Run.Kind.RUBRIC and run.total_count >= REPORT_KEEP_FROM:
            # A large run's report takes seconds: worked out now, by the worker, rather
            # than while the person who opened the e-mail waits for the run page.
            try:
                run_report_kept(run)
            except Exception:  # the report is shown anyway, worked out on the page
                log.exception("could not work out the report of run %s ahead", run.pk)
    return bool(updated)
