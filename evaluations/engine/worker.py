"""The worker: process one chunk of a run's Items through the LLM backend.

One django-q2 task runs `process_chunk`. Its thread owns the database; a private event
loop thread (`Loop`) owns the backend and keeps up to CONCURRENCY requests in flight, so
every server slot stays busy. Results are written in short transactions (`ChunkWorker.flush`),
conditional on the lease, so a crash at any moment loses nothing and writes nothing twice.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import heapq
import itertools
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

from django.conf import settings
from django.db import DatabaseError, connections, router, transaction
from django.db.models import F, Q
from django.utils import timezone

from hrbatch import diskfull

from .. import prompting, selectors, services
from ..llm import Backend, BackendError, ChatResult, make_backend
from ..models import Item, Run
from .handlers import RECHECKS, Handler, TooLong, handler_for

log = logging.getLogger(__name__)
T = TypeVar("T")

STATUS_CHECK_SECONDS = 1.0
FLUSH_SECONDS = 0.25
FLUSH_ITEMS = 100
# A server that is down is probed at least this often, so scoring resumes soon after it
# answers again.
OUTAGE_BACKOFF_MAX = 30.0
# Server errors and timeouts are retried for longer, but never more than this far apart.
SERVER_BACKOFF_MAX = 60.0
# While the disk is full, writing is tried again this soon, then less often.
DISK_RETRY_SECONDS = 1.0
DISK_RETRY_MAX = 30.0


class Loop:
    """An event loop in its own thread, owning one backend object."""

    def __init__(self, backend_name: str):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.backend: Backend = self.call(_make(backend_name)).result()

    def call(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def close(self) -> None:
        try:
            self.call(self.backend.aclose()).result(timeout=10)
        except Exception:  # closing is best effort
            log.debug("closing backend failed", exc_info=True)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


async def _make(name: str) -> Backend:
    return make_backend(name)


@dataclass(order=True)
class _Job:
    ready_at: float
    seq: int
    items: list[Item] = field(compare=False)
    # Requests sent for these Items by this worker, and of them the ones that came back
    # as invalid output and as server errors: each kind has its own budget.
    attempt: int = field(compare=False, default=1)
    invalid: int = field(compare=False, default=0)
    server_errors: int = field(compare=False, default=0)
    # Requests that found no server at all (an outage): not attempts, only probes.
    probes: int = field(compare=False, default=0)
    # An extra request for an Item already scored (handlers.RECHECKS: alone when it was
    # scored in a pack; again under a change that should not matter). `calibrating` is
    # the Item's result so far, `then` the rechecks still to do, `answer` and `share` the
    # scoring answer and how many Items it scored: the Item is written with its rechecks,
    # so a kill before they come back leaves it pending (scored again, rechecked again)
    # rather than scored and out of the sample. An outage or a server error is waited out
    # and retried as for any request; an answer that cannot be read is given up.
    calibrating: dict[str, Any] | None = field(compare=False, default=None)
    recheck: str = field(compare=False, default="")
    then: tuple[str, ...] = field(compare=False, default=())
    answer: ChatResult | None = field(compare=False, default=None)
    share: int = field(compare=False, default=1)


@dataclass
class _Writes:
    """What the next short transaction writes."""

    attempts: dict[int, int] = field(default_factory=dict)
    done: list[tuple[Item, dict[str, Any], ChatResult, int]] = field(default_factory=list)
    failed: list[tuple[Item, str]] = field(default_factory=list)
    errors: list[tuple[Item, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.attempts or self.done or self.failed or self.errors)


def process_chunk(run_id: int, lo: int, hi: int, jobs: list[int | None] | None = None) -> int:
    """Claim the pending Items of run `run_id` with ids in [lo, hi] (of these `jobs` when
    given, None standing for no job: services.run_dispatch chunks a run with jobs job by
    job) and score them.

    Returns how many Items this call finished (done or failed).
    """
    run = Run.objects.filter(pk=run_id).first()
    if run is None or run.status != Run.Status.IN_PROGRESS:
        return 0
    worker = ChunkWorker(run, lo, hi, jobs)
    try:
        return worker.work()
    finally:
        worker.close()
        worker._durably(partial(services.run_finalize_if_done, run_id=run_id))


class ChunkWorker:
    # Grouped by job: each job's requests go out one after another, so the server's slots
    # keep that job's prompt prefix cached instead of evicting it for the next candidate's
    # job (a run without jobs keeps the order of its file). bench/jobs_cache.py sets
    # ("id",) to measure the interleaved order against it.
    GROUPED: tuple[Any, ...] = (F("job_id").asc(nulls_first=True), "id")
    ORDER: tuple[Any, ...] = GROUPED

    def __init__(self, run: Run, lo: int, hi: int, jobs: list[int | None] | None = None):
        conf = settings.HRBATCH
        self.run = run
        self.lo, self.hi = lo, hi
        self.jobs = jobs
        self.token = secrets.token_hex(8)
        self.lease = timedelta(seconds=conf["LEASE_SECONDS"])
        self.max_attempts = max(1, int(conf["MAX_ATTEMPTS"]))
        self.max_server_attempts = max(1, int(conf["MAX_SERVER_ATTEMPTS"]))
        self.backoff = float(conf["RETRY_BACKOFF_SECONDS"])
        # HRBATCH_CONCURRENCY, or with `auto` the measured knee (decided at start).
        self.concurrency = selectors.run_concurrency(run)
        self.outage_limit = float(conf["OUTAGE_PAUSE_SECONDS"])
        self.loop: Loop | None = None
        self.writes = _Writes()
        self.using = router.db_for_write(Item)
        connection = connections[self.using]
        table = connection.ops.quote_name(Item._meta.db_table)
        self._json = partial(Item._meta.get_field("result").get_db_prep_save, connection=connection)
        self._time = partial(
            Item._meta.get_field("finished_at").get_db_prep_save, connection=connection
        )
        released = "lease_token = NULL, lease_until = NULL"
        self._done_sql = (
            f"UPDATE {table} SET status = 'done', result = %s, error = '', prompt_tokens = %s, "
            f"completion_tokens = %s, cached_tokens = %s, prompt_eval_ns = %s, "
            f"latency_ms = %s, finished_at = %s, {released} WHERE id = %s"
        )
        self._failed_sql = (
            f"UPDATE {table} SET status = 'failed', error = %s, finished_at = %s, {released} "
            "WHERE id = %s"
        )
        self.finished = 0
        self.seq = itertools.count()
        # The run may still carry an outage noted by a worker that died: clear it on the
        # first answer this worker gets.
        self.outage_noted = True

    def close(self) -> None:
        if self.loop is not None:
            self.loop.close()

    # -- claiming ---------------------------------------------------------------------

    def _claim(self) -> list[Item]:
        now = timezone.now()
        # Copies of another row are never sent: they take its scores (flush).
        chunk = Item.objects.filter(
            run_id=self.run.pk,
            id__gte=self.lo,
            id__lte=self.hi,
            status=Item.Status.PENDING,
            copy_of=None,
        )
        if self.jobs is not None:
            of_jobs = Q(job_id__in=[job for job in self.jobs if job is not None])
            chunk = chunk.filter(of_jobs | Q(job_id=None) if None in self.jobs else of_jobs)
        with transaction.atomic():
            chunk.filter(Q(lease_token=None) | Q(lease_until__lt=now)).update(
                lease_token=self.token,
                lease_until=now + self.lease,
                lease_holder=services.lease_holder(),
            )
        claimed = list(
            Item.objects.filter(lease_token=self.token, status=Item.Status.PENDING)
            # `extra` too: the candidate's name, hidden from the text sent (services.ModelView),
            # is usually a column kept for results; deferred, it cost a query per candidate.
            .only(
                "id", "run_id", "custom_id", "line", "input", "extra", "attempts", "error", "job_id"
            )
            .order_by(*self.ORDER)
        )
        if claimed:
            # The run no longer waits for a free worker: its scoring clock starts.
            services.run_scoring_began(run_id=self.run.pk)
        return claimed

    # -- the loop ---------------------------------------------------------------------

    def work(self) -> int:
        items = self._durably(self._claim)
        if not items:
            return 0
        handler = handler_for(self.run)
        queue: deque[_Job] = deque()
        pack: list[Item] = []
        # Every request sent is counted before it is sent, so an Item whose requests keep
        # killing the worker runs out of this budget instead of looping for ever.
        budget = max(self.max_attempts, self.max_server_attempts)
        for item in items:
            if item.attempts >= budget:
                reason = item.error or "the worker stopped while processing it"
                self.writes.failed.append(
                    (item, f"Gave up after {item.attempts} attempts; last error: {reason}")
                )
                continue
            reason = handler.too_long(item)
            if reason:
                self.writes.failed.append((item, reason))
                continue
            if pack and pack[0].job_id != item.job_id:
                # A pack shares one system message: the candidates of one job.
                queue.append(self._job(pack))
                pack = []
            pack.append(item)
            if len(pack) == handler.pack_size:
                queue.append(self._job(pack))
                pack = []
        if pack:
            queue.append(self._job(pack))
        if not queue:
            self.flush()
            self._durably(self._release)
            return self.finished

        self.loop = Loop(self.run.backend)
        waiting: list[_Job] = []  # heap of jobs waiting for their retry time
        in_flight: dict[concurrent.futures.Future[ChatResult], _Job] = {}
        stopping = False
        outage_since: float | None = None
        last_status = last_flush = last_renew = time.monotonic()

        while queue or waiting or in_flight:
            now = time.monotonic()
            if now - last_status >= STATUS_CHECK_SECONDS:
                last_status = now
                status = Run.objects.filter(pk=self.run.pk).values_list("status", flat=True)
                # Return early: the run was paused or cancelled while we worked.
                stopping = stopping or status.first() != Run.Status.IN_PROGRESS
            if stopping and not in_flight:
                break
            if not stopping:
                self._send(handler, queue, waiting, in_flight)
            timeout = FLUSH_SECONDS
            if not in_flight and waiting:
                timeout = min(
                    max(waiting[0].ready_at - time.monotonic(), 0.01), STATUS_CHECK_SECONDS
                )
            if in_flight:
                done, _ = concurrent.futures.wait(
                    in_flight, timeout=timeout, return_when=concurrent.futures.FIRST_COMPLETED
                )
            else:
                done = set()
                time.sleep(timeout)
            for future in done:
                job = in_flight.pop(future)
                try:
                    answer = future.result()
                except BackendError as exc:
                    if exc.blocks_run:
                        for item in [] if job.recheck else job.items:
                            # The request never ran: not an attempt.
                            self.writes.attempts[item.pk] = self.writes.attempts.get(item.pk, 0) - 1
                        if not exc.transient:
                            # Not an outage: only a person can fix it (pull the model, set
                            # the server's key).
                            services.run_pause(run=self.run, reason=f"{exc} Then resume the run.")
                            stopping = True
                        else:
                            # An outage is a state, not an error: say so at once, keep
                            # probing, and go on by ourselves when the server answers.
                            if outage_since is None:
                                outage_since = time.monotonic()
                                services.run_note_outage(run=self.run, message=str(exc))
                                self.outage_noted = True
                            elif time.monotonic() - outage_since >= self.outage_limit:
                                # The last resort after a long, documented limit.
                                hours = self.outage_limit / 3600
                                services.run_pause(
                                    run=self.run,
                                    reason=f"{exc} It has not answered for {hours:g} h "
                                    "(HRBATCH_OUTAGE_PAUSE_SECONDS), so the run was paused; "
                                    "resume it once the server is back.",
                                )
                                stopping = True
                        delay = min(self.backoff * 2**job.probes, OUTAGE_BACKOFF_MAX)
                        job.probes += 1
                        self._wait(waiting, job, delay)
                        continue
                    if job.recheck:
                        self._recheck_failed(waiting, job, queue, retry=exc.transient)
                        continue
                    self._retry_or_fail(
                        waiting, job, str(exc), retry=exc.transient, server=exc.transient
                    )
                    continue
                except Exception as exc:  # a bug or an unexpected library error
                    log.exception("request failed for run %s", self.run.pk)
                    if job.recheck:
                        self._recheck_failed(waiting, job, queue, retry=False)
                        continue
                    self._retry_or_fail(waiting, job, f"unexpected error: {exc!r}", retry=True)
                    continue
                outage_since = None
                if self.outage_noted:
                    services.run_clear_outage(run=self.run)
                    self.outage_noted = False
                if job.recheck:
                    self._calibrated(handler, job, answer, queue)
                    continue
                try:
                    results = handler.results(job.items, answer)
                except TooLong as exc:
                    for item in job.items:
                        self.writes.failed.append((item, str(exc)))
                    continue
                except prompting.InvalidOutput as exc:
                    self._retry_or_fail(waiting, job, f"invalid output: {exc}", retry=True)
                    continue
                share = len(job.items)
                for item, result in zip(job.items, results, strict=True):
                    rechecks = handler.rechecks(item)
                    if rechecks:
                        # Sent next, so that its Item is written soon (with its rechecks).
                        queue.appendleft(self._recheck(item, result, rechecks, answer, share))
                    else:
                        self.writes.done.append((item, result, answer, share))
            if not stopping:
                # Refill the freed slots before writing: the server never waits on SQLite.
                self._send(handler, queue, waiting, in_flight)
            now = time.monotonic()
            pending_writes = len(self.writes.done) + len(self.writes.failed)
            if self.writes and (pending_writes >= FLUSH_ITEMS or now - last_flush >= FLUSH_SECONDS):
                self.flush()
                last_flush = now
            if now - last_renew >= self.lease.total_seconds() / 3:
                self._durably(self._renew)
                last_renew = now
        self._rechecks_left([*queue, *waiting])
        self.flush()
        self._durably(self._release)
        return self.finished

    def _send(
        self,
        handler: Handler,
        queue: deque[_Job],
        waiting: list[_Job],
        in_flight: dict[concurrent.futures.Future[ChatResult], _Job],
    ) -> None:
        """Keep `concurrency` requests in flight (jobs whose retry time has come first)."""
        assert self.loop is not None
        now = time.monotonic()
        while waiting and waiting[0].ready_at <= now:
            queue.append(heapq.heappop(waiting))
        while queue and len(in_flight) < self.concurrency:
            job = queue.popleft()
            # The seed moves only after invalid output (a server error is no reason to
            # draw another answer): scores stay reproducible.
            request = handler.request(job.items, job.invalid + 1, recheck=job.recheck)
            in_flight[self.loop.call(self.loop.backend.chat(request))] = job
            for item in [] if job.recheck else job.items:
                self.writes.attempts[item.pk] = self.writes.attempts.get(item.pk, 0) + 1

    def _recheck(
        self,
        item: Item,
        result: dict[str, Any],
        rechecks: tuple[str, ...],
        answer: ChatResult | None,
        share: int,
    ) -> _Job:
        return _Job(
            ready_at=0.0,
            seq=next(self.seq),
            items=[item],
            calibrating=result,
            recheck=rechecks[0],
            then=rechecks[1:],
            answer=answer,
            share=share,
        )

    def _calibrated(
        self, handler: Handler, job: _Job, answer: ChatResult, queue: deque[_Job]
    ) -> None:
        assert job.calibrating is not None
        result = job.calibrating
        try:
            (again,) = handler.results(job.items, answer, recheck=job.recheck)
        except Exception:  # an answer that cannot be read: the Item keeps its scores
            log.debug("%s recheck failed for item %s", job.recheck, job.items[0].pk, exc_info=True)
        else:
            result = {**result, RECHECKS[job.recheck]: handler.recheck_value(again)}
        self._recheck_next(job, result, queue)

    def _recheck_next(self, job: _Job, result: dict[str, Any], queue: deque[_Job]) -> None:
        """The Item's next recheck, or, with none left, the Item written with its result."""
        assert job.answer is not None
        if job.then:
            queue.appendleft(self._recheck(job.items[0], result, job.then, job.answer, job.share))
        else:
            self.writes.done.append((job.items[0], result, job.answer, job.share))

    def _recheck_failed(
        self, waiting: list[_Job], job: _Job, queue: deque[_Job], *, retry: bool
    ) -> None:
        """A server error is retried within HRBATCH_MAX_SERVER_ATTEMPTS, with backoff;
        past it, or for any other failure, this recheck is given up."""
        job.server_errors += 1
        if retry and job.server_errors < self.max_server_attempts:
            delay = min(self.backoff * 2 ** (job.server_errors - 1), SERVER_BACKOFF_MAX)
            self._wait(waiting, job, delay)
            return
        assert job.calibrating is not None
        self._recheck_next(job, job.calibrating, queue)

    def _rechecks_left(self, jobs: list[_Job]) -> None:
        """Rechecks not sent when the worker stops. Paused: their Items stay pending, to be
        scored and rechecked again on resume. Cancelled: the Items keep their scores,
        without the rechecks (a cancel cancels what is not scored)."""
        status = Run.objects.filter(pk=self.run.pk).values_list("status", flat=True).first()
        if status not in (Run.Status.CANCELLING, Run.Status.CANCELLED):
            return
        for job in jobs:
            if job.recheck and job.calibrating is not None and job.answer is not None:
                self.writes.done.append((job.items[0], job.calibrating, job.answer, job.share))

    def _job(self, items: list[Item]) -> _Job:
        return _Job(ready_at=0.0, seq=next(self.seq), items=items)

    def _wait(self, waiting: list[_Job], job: _Job, delay: float) -> None:
        job.ready_at = time.monotonic() + delay
        job.seq = next(self.seq)
        heapq.heappush(waiting, job)

    def _retry_or_fail(
        self, waiting: list[_Job], job: _Job, error: str, *, retry: bool, server: bool = False
    ) -> None:
        """Retry within the budget of this kind of failure, else fail the Items.

        Invalid output has HRBATCH_MAX_ATTEMPTS; server errors and timeouts say nothing
        about the candidate, so they get HRBATCH_MAX_SERVER_ATTEMPTS with a longer,
        capped backoff.
        """
        if server:
            job.server_errors += 1
            used, budget, cap = job.server_errors, self.max_server_attempts, SERVER_BACKOFF_MAX
        else:
            job.invalid += 1
            used, budget, cap = job.invalid, self.max_attempts, OUTAGE_BACKOFF_MAX
        if retry and used < budget:
            for item in job.items:
                self.writes.errors.append((item, error))
            delay = min(self.backoff * 2 ** (used - 1), cap)
            job.attempt += 1
            self._wait(waiting, job, delay)
            return
        suffix = f" (after {job.attempt} attempts)" if job.attempt > 1 else ""
        for item in job.items:
            self.writes.failed.append((item, error + suffix))

    # -- writing ----------------------------------------------------------------------

    def _durably(self, write: Callable[[], T]) -> T:
        """`write()`; while the disk is full, wait and try again, the results in hand kept
        (the requests in flight finish meanwhile, none is sent), and go on once there is
        room. Said once, in plain words (hrbatch.diskfull), never as a traceback per try.

        The lease may run out meanwhile: what another worker takes over is not written
        twice (writes are conditional on the lease)."""
        delay = DISK_RETRY_SECONDS
        waited = False
        while True:
            try:
                result = write()
            except (DatabaseError, OSError) as exc:
                if not services.is_disk_full(exc):
                    raise
                if not waited:
                    waited = True
                    log.warning("Writing results of run %s failed: %s", self.run.pk, exc)
                    services.run_note_disk_full(run=self.run)
                diskfull.report()
                # A fresh connection for the next try: the failed write may have left the
                # database connection unusable.
                connections[self.using].close()
                time.sleep(delay)
                delay = min(delay * 2, DISK_RETRY_MAX)
                continue
            if waited:
                diskfull.clear()
                services.run_clear_disk_full(run=self.run)
            return result

    def flush(self) -> None:
        writes, self.writes = self.writes, _Writes()
        if writes:
            self._durably(partial(self._write, writes))

    def _write(self, writes: _Writes) -> None:
        now = timezone.now()
        done = failed = prompt = completion = cached = eval_ns = redacted = 0
        with transaction.atomic():
            by_delta: dict[int, list[int]] = {}
            for pk, delta in writes.attempts.items():
                if delta:
                    by_delta.setdefault(delta, []).append(pk)
            for delta, pks in by_delta.items():
                Item.objects.filter(pk__in=pks).update(attempts=F("attempts") + delta)
            mine = Item.objects.filter(lease_token=self.token, status=Item.Status.PENDING)
            for item, error in writes.errors:
                mine.filter(pk=item.pk).update(error=error)
            # Only Items this worker still holds are written (a lease that ran out may have
            # been taken over). The rows are locked first (PostgreSQL; SQLite's IMMEDIATE
            # transaction already holds the write lock), so the check stays true for the
            # executemany that follows: one statement per flush, not one per Item.
            finishing = [item.pk for item, *_ in writes.done] + [i.pk for i, _ in writes.failed]
            held = set(
                mine.select_for_update().filter(pk__in=finishing).values_list("pk", flat=True)
            )
            done_rows = []
            for item, result, answer, share in writes.done:
                if item.pk not in held:
                    continue
                item_prompt = answer.prompt_tokens // share
                item_cached = (
                    answer.cached_tokens // share if answer.cached_tokens is not None else None
                )
                item_eval = (
                    answer.prompt_eval_ns // share if answer.prompt_eval_ns is not None else None
                )
                item_completion = answer.completion_tokens // share
                done_rows.append(
                    (
                        self._json(result),
                        item_prompt,
                        item_completion,
                        item_cached,
                        item_eval,
                        answer.latency_ms,
                        self._time(now),
                        item.pk,
                    )
                )
                prompt += item_prompt
                redacted += sum((result.get("redacted") or {}).values())
                completion += item_completion
                cached += item_cached or 0
                eval_ns += item_eval or 0
            failed_rows = [
                (error, self._time(now), item.pk)
                for item, error in writes.failed
                if item.pk in held
            ]
            copies_done, copies_failed = self._copies(writes, held, now)
            with connections[self.using].cursor() as cursor:
                if done_rows or copies_done:
                    cursor.executemany(self._done_sql, done_rows + copies_done)
                if failed_rows or copies_failed:
                    cursor.executemany(self._failed_sql, failed_rows + copies_failed)
            done = len(done_rows) + len(copies_done)
            failed = len(failed_rows) + len(copies_failed)
            if done or failed:
                Run.objects.filter(pk=self.run.pk).update(
                    done_count=F("done_count") + done,
                    failed_count=F("failed_count") + failed,
                    prompt_tokens=F("prompt_tokens") + prompt,
                    completion_tokens=F("completion_tokens") + completion,
                    cached_tokens=F("cached_tokens") + cached,
                    prompt_eval_ns=F("prompt_eval_ns") + eval_ns,
                    redacted_count=F("redacted_count") + redacted,
                    last_progress_at=now,
                )
        self.finished += done + failed

    def _copies(
        self, writes: _Writes, held: set[int], now: Any
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """The rows of _done_sql and _failed_sql that give the copies of the Items this
        flush finishes their result (never sent: no tokens, no time) or their failure.

        Their pending copies are locked first (PostgreSQL), so that a cancel meanwhile
        cannot also count them; nobody else writes a copy (it is never claimed)."""
        finished = {item.pk: result for item, result, _, _ in writes.done if item.pk in held}
        errors = {item.pk: error for item, error in writes.failed if item.pk in held}
        if not finished and not errors:
            return [], []
        copies = (
            Item.objects.select_for_update()
            .filter(copy_of__in=[*finished, *errors], status=Item.Status.PENDING)
            .values_list("pk", "copy_of_id")
        )
        done: list[tuple[Any, ...]] = []
        failed: list[tuple[Any, ...]] = []
        when = self._time(now)
        for pk, first in copies:
            if first in finished:
                # The first row's scores, not its consistency rechecks: the sample is of
                # distinct candidates.
                result = {k: v for k, v in finished[first].items() if k not in Item.RECHECK_KEYS}
                done.append((self._json(result), None, None, None, None, None, when, pk))
            else:
                failed.append((errors[first], when, pk))
        return done, failed

    def _renew(self) -> None:
        Item.objects.filter(lease_token=self.token, status=Item.Status.PENDING).update(
            lease_until=timezone.now() + self.lease
        )

    def _release(self) -> None:
        """Hand back what this worker did not finish (paused, cancelled or stopped)."""
        with transaction.atomic():
            status = Run.objects.filter(pk=self.run.pk).values_list("status", flat=True).first()
            if status in (Run.Status.CANCELLING, Run.Status.CANCELLED):
                services.items_cancel_unclaimed(run_id=self.run.pk, token=self.token)
                return
            mine = Item.objects.filter(lease_token=self.token, status=Item.Status.PENDING)
            released = list(mine.order_by("id").values_list("id", flat=True))
            mine.update(lease_token=None, lease_until=None)
            if released and status == Run.Status.IN_PROGRESS:
                # Paused and resumed while we wound down: the resume could not hand out
                # the Items we still held, so hand them out now.
                self.run.refresh_from_db()
                services.run_dispatch(run=self.run, ids=released)
