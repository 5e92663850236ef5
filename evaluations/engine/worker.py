"""The worker: process one chunk of a run's Items through the LLM backend.

One django-q2 task runs `process_chunk`. Its thread owns the database; a private event
loop thread (`Loop`) owns the backend and keeps up to CONCURRENCY requests in flight, so
every server slot stays busy. Results are written in short transactions (`ChunkWorker.flush`,
through services.items.ItemWriter, the statements the ingest writes Items with too),
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
from django.db import DatabaseError, connections, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from hrbatch import diskfull

from .. import answer_grammar, prompting, selectors
from ..llm import Backend, BackendError, ChatResult, make_backend
from ..models import Item, Run
from ..services.files import is_disk_full
from ..services.items import Done, Failed, ItemWriter
from ..services.processes import lease_holder
from ..services.runs import (
    items_cancel_unclaimed,
    run_clear_disk_full,
    run_clear_outage,
    run_dispatch,
    run_finalize_if_done,
    run_note_disk_full,
    run_note_outage,
    run_pause,
    run_scoring_began,
)
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
class _Request:
    """One request in the window: sent, waiting to be sent, or waiting for its retry time."""

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
    # Answers the model padded with whitespace (answer_grammar.padding).
    padded: int = 0

    def __bool__(self) -> bool:
        return bool(self.attempts or self.done or self.failed or self.errors or self.padded)


def process_chunk(run_id: int, lo: int, hi: int, jobs: list[int | None] | None = None) -> int:
    """Claim the pending Items of run `run_id` with ids in [lo, hi] (of these `jobs` when
    given, None standing for no job: run_dispatch chunks a run with jobs job by
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
        worker._durably(partial(run_finalize_if_done, run_id=run_id))


class ChunkWorker:
    def __init__(self, run: Run, lo: int, hi: int, jobs: list[int | None] | None = None):
        conf = settings.HRBATCH
        self.run = run
        self.lo, self.hi = lo, hi
        # The positions (Job ids) whose Items this chunk holds, when dispatched job by job.
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
        self.writer = ItemWriter(run.pk)
        self.using = self.writer.using
        self.finished = 0
        self.seq = itertools.count()
        # The window: requests to send, requests waiting for their retry time (a heap),
        # and requests in flight by the future of their answer.
        self.queue: deque[_Request] = deque()
        self.waiting: list[_Request] = []
        self.in_flight: dict[concurrent.futures.Future[ChatResult], _Request] = {}
        # The run was paused or cancelled, or must be: nothing more is sent.
        self.stopping = False
        # When the server stopped answering (time.monotonic()), None while it answers.
        self.outage_since: float | None = None
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
        # Only while the run is in progress, asked in the claim itself: a task that found it
        # in progress may claim after a pause or cancel, and would score until its next
        # status check.
        in_progress = Exists(
            Run.objects.filter(pk=OuterRef("run_id"), status=Run.Status.IN_PROGRESS)
        )
        with transaction.atomic():
            chunk.filter(in_progress).filter(Q(lease_token=None) | Q(lease_until__lt=now)).update(
                lease_token=self.token,
                lease_until=now + self.lease,
                lease_holder=lease_holder(),
            )
        claimed = list(
            Item.objects.filter(lease_token=self.token, status=Item.Status.PENDING)
            # `extra` too: the candidate's name, hidden from the text sent (ModelView in
            # evaluations.model_view), is usually a column kept for results; deferred, it cost a
            # query per candidate.
            .only(
                "id", "run_id", "custom_id", "line", "input", "extra", "attempts", "error", "job_id"
            )
            .order_by(*self._order())
        )
        if claimed:
            # The run no longer waits for a free worker: its scoring clock starts.
            run_scoring_began(run_id=self.run.pk)
        return claimed

    def _order(self) -> tuple[Any, ...]:
        """A chunk dispatched job by job is sent grouped by job: each job's requests go out
        one after another, so the server's slots keep that job's prompt prefix cached
        instead of evicting it for the next candidate's job. Otherwise (a run without jobs,
        or one dispatched in the file's order: RunOptions.jobs_interleaved) in the file's
        order."""
        if self.jobs is None:
            return ("id",)
        return (F("job_id").asc(nulls_first=True), "id")

    # -- the loop ---------------------------------------------------------------------

    def work(self) -> int:
        items = self._durably(self._claim)
        if not items:
            return 0
        handler = handler_for(self.run)
        self.queue = self._requests(handler, items)
        if self.queue:
            self.loop = Loop(self.run.backend)
            self._score(handler)
            self._rechecks_left([*self.queue, *self.waiting])
        self.flush()
        self._durably(self._release)
        return self.finished

    def _requests(self, handler: Handler, items: list[Item]) -> deque[_Request]:
        """The requests for the claimed Items, in packs of the handler's size (a pack
        holds the candidates of one job); Items out of attempts or too long fail here."""
        requests: deque[_Request] = deque()
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
                requests.append(self._request(pack))
                pack = []
            pack.append(item)
            if len(pack) == handler.pack_size:
                requests.append(self._request(pack))
                pack = []
        if pack:
            requests.append(self._request(pack))
        return requests

    def _score(self, handler: Handler) -> None:
        """Keep the window full until every request is answered or given up, or the run
        stops; results are written every FLUSH_SECONDS or FLUSH_ITEMS, the lease renewed."""
        last_status = last_flush = last_renew = time.monotonic()
        while self.queue or self.waiting or self.in_flight:
            now = time.monotonic()
            if now - last_status >= STATUS_CHECK_SECONDS:
                last_status = now
                status = Run.objects.filter(pk=self.run.pk).values_list("status", flat=True)
                # Return early: the run was paused or cancelled while we worked.
                self.stopping = self.stopping or status.first() != Run.Status.IN_PROGRESS
            if self.stopping and not self.in_flight:
                break
            if not self.stopping:
                self._send(handler)
            for future in self._answered():
                self._take(handler, self.in_flight.pop(future), future)
            if not self.stopping:
                # Refill the freed slots before writing: the server never waits on SQLite.
                self._send(handler)
            now = time.monotonic()
            pending_writes = len(self.writes.done) + len(self.writes.failed)
            if self.writes and (pending_writes >= FLUSH_ITEMS or now - last_flush >= FLUSH_SECONDS):
                self.flush()
                last_flush = now
            if now - last_renew >= self.lease.total_seconds() / 3:
                self._durably(self._renew)
                last_renew = now

    def _answered(self) -> set[concurrent.futures.Future[ChatResult]]:
        """The requests answered within FLUSH_SECONDS (or, with none in flight, after
        waiting for the first retry time, at most STATUS_CHECK_SECONDS)."""
        timeout = FLUSH_SECONDS
        if not self.in_flight and self.waiting:
            timeout = min(
                max(self.waiting[0].ready_at - time.monotonic(), 0.01), STATUS_CHECK_SECONDS
            )
        if not self.in_flight:
            time.sleep(timeout)
            return set()
        done, _ = concurrent.futures.wait(
            self.in_flight, timeout=timeout, return_when=concurrent.futures.FIRST_COMPLETED
        )
        return done

    def _send(self, handler: Handler) -> None:
        """Keep `concurrency` requests in flight (those whose retry time has come first)."""
        assert self.loop is not None
        now = time.monotonic()
        while self.waiting and self.waiting[0].ready_at <= now:
            self.queue.append(heapq.heappop(self.waiting))
        while self.queue and len(self.in_flight) < self.concurrency:
            request = self.queue.popleft()
            # The seed moves only after invalid output (a server error is no reason to
            # draw another answer): scores stay reproducible.
            chat = handler.request(request.items, request.invalid + 1, recheck=request.recheck)
            self.in_flight[self.loop.call(self.loop.backend.chat(chat))] = request
            for item in [] if request.recheck else request.items:
                self.writes.attempts[item.pk] = self.writes.attempts.get(item.pk, 0) + 1

    # -- an answer --------------------------------------------------------------------

    def _take(
        self,
        handler: Handler,
        request: _Request,
        future: concurrent.futures.Future[ChatResult],
    ) -> None:
        """What came back for `request`: an answer, or why there is none."""
        try:
            answer = future.result()
        except BackendError as exc:
            self._backend_failed(request, exc)
            return
        except Exception as exc:  # a bug or an unexpected library error
            log.exception("request failed for run %s", self.run.pk)
            if request.recheck:
                self._recheck_failed(request, retry=False)
                return
            self._retry_or_fail(request, f"unexpected error: {exc!r}", retry=True)
            return
        self._server_answers()
        if self.run.kind == Run.Kind.RUBRIC and answer_grammar.padding(answer.content):
            # Said on the run: its server let the model pad answers with whitespace.
            self.writes.padded += 1
        if request.recheck:
            self._calibrated(handler, request, answer)
        else:
            self._scored(handler, request, answer)

    def _scored(self, handler: Handler, request: _Request, answer: ChatResult) -> None:
        """The Items' results, written next, or after their rechecks (sent first)."""
        try:
            results = handler.results(request.items, answer)
        except TooLong as exc:
            for item in request.items:
                self.writes.failed.append((item, str(exc)))
            return
        except prompting.InvalidOutput as exc:
            self._retry_or_fail(request, f"invalid output: {exc}", retry=True)
            return
        share = len(request.items)
        for item, result in zip(request.items, results, strict=True):
            rechecks = handler.rechecks(item)
            if rechecks:
                # Sent next, so that its Item is written soon (with its rechecks).
                self.queue.appendleft(self._recheck(item, result, rechecks, answer, share))
            else:
                self.writes.done.append((item, result, answer, share))

    def _backend_failed(self, request: _Request, exc: BackendError) -> None:
        """A request the backend did not answer: the run is blocked (an outage, or a
        problem only a person can fix), or this request failed and is retried or given up."""
        if exc.blocks_run:
            self._blocked(request, exc)
        elif request.recheck:
            self._recheck_failed(request, retry=exc.transient)
        else:
            self._retry_or_fail(request, str(exc), retry=exc.transient, server=exc.transient)

    def _blocked(self, request: _Request, exc: BackendError) -> None:
        """The request never ran (not an attempt): it waits, with backoff, for the server,
        and the run says why it is blocked."""
        for item in [] if request.recheck else request.items:
            self.writes.attempts[item.pk] = self.writes.attempts.get(item.pk, 0) - 1
        if exc.transient:
            self._in_outage(exc)
        else:
            # Not an outage: only a person can fix it (pull the model, set the server's key).
            run_pause(run=self.run, reason=f"{exc} Then resume the run.")
            self.stopping = True
        delay = min(self.backoff * 2**request.probes, OUTAGE_BACKOFF_MAX)
        request.probes += 1
        self._wait(request, delay)

    def _in_outage(self, exc: BackendError) -> None:
        """An outage is a state, not an error: say so at once, keep probing, and go on by
        ourselves when the server answers; pause only after HRBATCH_OUTAGE_PAUSE_SECONDS."""
        if self.outage_since is None:
            self.outage_since = time.monotonic()
            run_note_outage(run=self.run, message=str(exc))
            self.outage_noted = True
        elif time.monotonic() - self.outage_since >= self.outage_limit:
            # The last resort after a long, documented limit.
            hours = self.outage_limit / 3600
            run_pause(
                run=self.run,
                reason=f"{exc} It has not answered for {hours:g} h "
                "(HRBATCH_OUTAGE_PAUSE_SECONDS), so the run was paused; "
                "resume it once the server is back.",
            )
            self.stopping = True

    def _server_answers(self) -> None:
        """An answer came: any outage is over, and the run no longer says otherwise."""
        self.outage_since = None
        if self.outage_noted:
            run_clear_outage(run=self.run)
            self.outage_noted = False

    # -- rechecks and retries ---------------------------------------------------------

    def _recheck(
        self,
        item: Item,
        result: dict[str, Any],
        rechecks: tuple[str, ...],
        answer: ChatResult | None,
        share: int,
    ) -> _Request:
        return _Request(
            ready_at=0.0,
            seq=next(self.seq),
            items=[item],
            calibrating=result,
            recheck=rechecks[0],
            then=rechecks[1:],
            answer=answer,
            share=share,
        )

    def _calibrated(self, handler: Handler, request: _Request, answer: ChatResult) -> None:
        assert request.calibrating is not None
        result = request.calibrating
        try:
            (again,) = handler.results(request.items, answer, recheck=request.recheck)
        except Exception:  # an answer that cannot be read: the Item keeps its scores
            log.debug(
                "%s recheck failed for item %s", request.recheck, request.items[0].pk, exc_info=True
            )
        else:
            result = {**result, RECHECKS[request.recheck]: handler.recheck_value(again)}
        self._recheck_next(request, result)

    def _recheck_next(self, request: _Request, result: dict[str, Any]) -> None:
        """The Item's next recheck, or, with none left, the Item written with its result."""
        assert request.answer is not None
        if request.then:
            self.queue.appendleft(
                self._recheck(request.items[0], result, request.then, request.answer, request.share)
            )
        else:
            self.writes.done.append((request.items[0], result, request.answer, request.share))

    def _recheck_failed(self, request: _Request, *, retry: bool) -> None:
        """A server error is retried within HRBATCH_MAX_SERVER_ATTEMPTS, with backoff;
        past it, or for any other failure, this recheck is given up."""
        request.server_errors += 1
        if retry and request.server_errors < self.max_server_attempts:
            delay = min(self.backoff * 2 ** (request.server_errors - 1), SERVER_BACKOFF_MAX)
            self._wait(request, delay)
            return
        assert request.calibrating is not None
        self._recheck_next(request, request.calibrating)

    def _rechecks_left(self, requests: list[_Request]) -> None:
        """Rechecks not sent when the worker stops. Paused: their Items stay pending, to be
        scored and rechecked again on resume. Cancelled: the Items keep their scores,
        without the rechecks (a cancel cancels what is not scored)."""
        status = Run.objects.filter(pk=self.run.pk).values_list("status", flat=True).first()
        if status not in (Run.Status.CANCELLING, Run.Status.CANCELLED):
            return
        for request in requests:
            if request.recheck and request.calibrating is not None and request.answer is not None:
                self.writes.done.append(
                    (request.items[0], request.calibrating, request.answer, request.share)
                )

    def _request(self, items: list[Item]) -> _Request:
        return _Request(ready_at=0.0, seq=next(self.seq), items=items)

    def _wait(self, request: _Request, delay: float) -> None:
        request.ready_at = time.monotonic() + delay
        request.seq = next(self.seq)
        heapq.heappush(self.waiting, request)

    def _retry_or_fail(
        self, request: _Request, error: str, *, retry: bool, server: bool = False
    ) -> None:
        """Retry within the budget of this kind of failure, else fail the Items.

        Invalid output has HRBATCH_MAX_ATTEMPTS; server errors and timeouts say nothing
        about the candidate, so they get HRBATCH_MAX_SERVER_ATTEMPTS with a longer,
        capped backoff.
        """
        if server:
            request.server_errors += 1
            used, budget, cap = request.server_errors, self.max_server_attempts, SERVER_BACKOFF_MAX
        else:
            request.invalid += 1
            used, budget, cap = request.invalid, self.max_attempts, OUTAGE_BACKOFF_MAX
        if retry and used < budget:
            for item in request.items:
                self.writes.errors.append((item, error))
            delay = min(self.backoff * 2 ** (used - 1), cap)
            request.attempt += 1
            self._wait(request, delay)
            return
        suffix = f" (after {request.attempt} attempts)" if request.attempt > 1 else ""
        for item in request.items:
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
                if not is_disk_full(exc):
                    raise
                if not waited:
                    waited = True
                    log.warning("Writing results of run %s failed: %s", self.run.pk, exc)
                    run_note_disk_full(run=self.run)
                diskfull.report()
                # A fresh connection for the next try: the failed write may have left the
                # database connection unusable.
                connections[self.using].close()
                time.sleep(delay)
                delay = min(delay * 2, DISK_RETRY_MAX)
                continue
            if waited:
                diskfull.clear()
                run_clear_disk_full(run=self.run)
            return result

    def flush(self) -> None:
        writes, self.writes = self.writes, _Writes()
        if writes:
            self._durably(partial(self._write, writes))

    def _write(self, writes: _Writes) -> None:
        now = timezone.now()
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
            done, totals = self._results(writes, held)
            failed = [(item.pk, error) for item, error in writes.failed if item.pk in held]
            copies_done, copies_failed = self._copies(writes, held)
            self.writer.finish(done + copies_done, failed + copies_failed, now=now)
            finished_done = len(done) + len(copies_done)
            finished_failed = len(failed) + len(copies_failed)
            if writes.padded:
                Run.objects.filter(pk=self.run.pk).update(
                    padded_answers=F("padded_answers") + writes.padded
                )
            if finished_done or finished_failed:
                Run.objects.filter(pk=self.run.pk).update(
                    done_count=F("done_count") + finished_done,
                    failed_count=F("failed_count") + finished_failed,
                    prompt_tokens=F("prompt_tokens") + totals["prompt"],
                    completion_tokens=F("completion_tokens") + totals["completion"],
                    cached_tokens=F("cached_tokens") + totals["cached"],
                    prompt_eval_ns=F("prompt_eval_ns") + totals["eval_ns"],
                    redacted_count=F("redacted_count") + totals["redacted"],
                    last_progress_at=now,
                )
        self.finished += finished_done + finished_failed

    @staticmethod
    def _results(writes: _Writes, held: set[int]) -> tuple[list[Done], dict[str, int]]:
        """The done Items this worker still holds, each with its share of its answer's
        tokens and time (a pack's answer scored several), and the run's totals of them."""
        done: list[Done] = []
        totals = dict.fromkeys(("prompt", "completion", "cached", "eval_ns", "redacted"), 0)
        for item, result, answer, share in writes.done:
            if item.pk not in held:
                continue
            prompt = answer.prompt_tokens // share
            cached = answer.cached_tokens // share if answer.cached_tokens is not None else None
            eval_ns = answer.prompt_eval_ns // share if answer.prompt_eval_ns is not None else None
            completion = answer.completion_tokens // share
            done.append((item.pk, result, prompt, completion, cached, eval_ns, answer.latency_ms))
            totals["prompt"] += prompt
            totals["redacted"] += sum((result.get("redacted") or {}).values())
            totals["completion"] += completion
            totals["cached"] += cached or 0
            totals["eval_ns"] += eval_ns or 0
        return done, totals

    def _copies(self, writes: _Writes, held: set[int]) -> tuple[list[Done], list[Failed]]:
        """The copies of the Items this flush finishes, with their result (never sent: no
        tokens, no time) or their failure.

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
        done: list[Done] = []
        failed: list[Failed] = []
        for pk, first in copies:
            if first in finished:
                # The first row's scores, not its consistency rechecks: the sample is of
                # distinct candidates.
                result = {k: v for k, v in finished[first].items() if k not in Item.RECHECK_KEYS}
                done.append((pk, result, None, None, None, None, None))
            else:
                failed.append((pk, errors[first]))
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
                items_cancel_unclaimed(run_id=self.run.pk, token=self.token)
                return
            mine = Item.objects.filter(lease_token=self.token, status=Item.Status.PENDING)
            released = list(mine.order_by("id").values_list("id", flat=True))
            mine.update(lease_token=None, lease_until=None)
            if released and status == Run.Status.IN_PROGRESS:
                # Paused and resumed while we wound down: the resume could not hand out
                # the Items we still held, so hand them out now.
                self.run.refresh_from_db()
                run_dispatch(run=self.run, ids=released)
