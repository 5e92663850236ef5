"""Handlers: how one kind of run turns Items into backend requests and answers into results.

`RubricHandler` scores candidates on a rubric (prompting's plan and schema); `BatchHandler`
sends the /v1/batches request lines, mapped by openai_compat. The worker (engine.worker)
asks `handler_for(run)` and never looks at the kind of run itself.
"""

from __future__ import annotations

from typing import Any, Protocol

from django.conf import settings

from .. import prompting, services
from ..llm import ChatRequest, ChatResult
from ..models import Item, Job, Run
from ..openai_compat import (
    DEFAULT_MAX_TOKENS,
    INVALID_BODY,
    ChatCompletionBody,
    Prepared,
    RequestProblem,
    Unsupported,
    chat_completion,
    chat_request,
    completion_content,
    cut_message,
    fingerprint,
    prepare,
    too_long_message,
    validate,
)


class TooLong(Exception):
    """Not worth a retry: the candidate does not fit the run's context window."""


# The rechecks an Item already scored may get, and where their scores go in its result:
# alone, when it was scored in a pack (what packing costs, metrics.pack_agreement); again
# with another seed and its fields in reverse order, a change that should not matter
# (the run's consistency, selectors.consistency_report).
RECHECK_SINGLE = "single"
RECHECK_CONSISTENCY = "consistency"
RECHECKS = {RECHECK_SINGLE: Item.SINGLE_SCORES, RECHECK_CONSISTENCY: Item.RECHECK_SCORES}
# Far from the seeds that retries and the second pass draw (seed + a few).
CONSISTENCY_SEED_OFFSET = 7919


class Handler(Protocol):
    """How one kind of run turns Items into requests and answers into results."""

    pack_size: int

    def too_long(self, item: Item) -> str | None: ...

    def rechecks(self, item: Item) -> tuple[str, ...]:
        """The rechecks (RECHECKS) this Item gets once it is scored, in order."""
        ...

    def request(self, items: list[Item], attempt: int, *, recheck: str = "") -> ChatRequest: ...

    def results(
        self, items: list[Item], answer: ChatResult, *, recheck: str = ""
    ) -> list[dict[str, Any]]:
        """One result per Item; raise prompting.InvalidOutput to retry."""
        ...

    def recheck_value(self, result: dict[str, Any]) -> Any:
        """What the Item keeps of a recheck's result (under RECHECKS[recheck])."""
        ...


class RubricHandler:
    def __init__(self, run: Run):
        self.run = run
        self.plan = services.plan_for_run(run)
        self.pack_size = self.plan.pack_size
        opts = run.opts
        assert opts.num_ctx is not None and opts.num_predict is not None  # set by run_start
        self.num_ctx = int(opts.num_ctx)
        self.num_predict = int(opts.num_predict)
        self.seed = int(opts.seed or 0)
        self.temperature = float(opts.temperature or 0.0)
        self.keep_alive = opts.keep_alive
        # The same limit the check page showed before the run (prompting has the one
        # definition); with the run's own context size.
        self.limit = services.run_chars_limit(run=run)
        # Rows too long for the model: scored on their first `limit` characters (marked
        # in the results) when the run's owner chose that, else failed with the reason.
        self.truncate = run.intake.truncates
        # The end-of-run second pass draws new seeds: with temperature 0 the same seed
        # would give a deterministic model the same invalid answer again.
        self.second_pass_offset = (
            int(settings.HRBATCH["MAX_ATTEMPTS"]) if run.second_pass_at is not None else 0
        )
        # With K > 1, a sample is also scored alone so that the run can report how far
        # packing moved the scores (DESIGN.md: the trade is measured, never assumed).
        self.single = services.plan_for_run(run, pack_size=1) if self.pack_size > 1 else None
        self.stride = int(opts.agreement_stride or 0)
        # Every run re-scores a sample under a change that should not matter (issue 9).
        self.consistency_stride = int(opts.consistency_stride or 0)
        # A run with copies names its samples' rows (distinct candidates only).
        self.agreement_lines = _lines(opts.agreement_lines)
        self.consistency_lines = _lines(opts.consistency_lines)
        # Identity out of the text before it is sent; what was hidden, per Item.
        self.view = services.ModelView(run)
        self.hidden: dict[int, dict[str, int]] = {}
        # One plan per job (its text follows the rubric in the system message, the same
        # bytes for every candidate of the job), read when the first of its candidates comes.
        self.job_texts: dict[int, str] = {}
        self.rooms: dict[int | None, int] = {}
        self.plans: dict[tuple[int | None, bool], prompting.PromptPlan] = {(None, False): self.plan}
        if self.single is not None:
            self.plans[(None, True)] = self.single

    def _job_text(self, job_id: int | None) -> str:
        if job_id is None:
            return ""
        if job_id not in self.job_texts:
            found = Job.objects.filter(pk=job_id).values_list("description", flat=True).first()
            self.job_texts[job_id] = found or ""
        return self.job_texts[job_id]

    def _plan(self, job_id: int | None, *, single: bool = False) -> prompting.PromptPlan:
        """The plan for a job's candidates (alone, for `single`: a pack's recheck)."""
        key = (job_id, single and self.single is not None)
        plan = self.plans.get(key)
        if plan is None:
            plan = self.plans[key] = services.plan_for_run(
                self.run, pack_size=1 if key[1] else None, job=self._job_text(job_id)
            )
        return plan

    def _room(self, item: Item) -> int:
        """The characters of this candidate's text the model can read: the run's limit,
        less what its job adds to the system message (worked out once per job)."""
        room = self.rooms.get(item.job_id)
        if room is None:
            job = prompting.job_section(self._job_text(item.job_id))
            room = self.rooms[item.job_id] = self.limit - len(job)
        return room

    def _shown(self, item: Item) -> dict[str, Any]:
        fields, counts = self.view(item)
        if counts:
            self.hidden[item.pk] = {kind: n for kind, n in counts.items() if n}
        return fields

    def rechecks(self, item: Item) -> tuple[str, ...]:
        found = []
        if self.single is not None and _sampled(item, self.stride, self.agreement_lines):
            found.append(RECHECK_SINGLE)
        if _sampled(item, self.consistency_stride, self.consistency_lines):
            found.append(RECHECK_CONSISTENCY)
        return tuple(found)

    def _chars(self, item: Item) -> int:
        return len(prompting.candidate_text(item.input))

    def too_long(self, item: Item) -> str | None:
        chars, room = self._chars(item), self._room(item)
        if chars <= room or self.truncate:
            return None
        message = prompting.too_long_message(row=item.line, chars=chars, limit=room)
        return (
            f"{message} It was not scored rather than cut without telling you: retry it and "
            f"choose to score its first {room:,} characters, or shorten it in the file."
        )

    def request(self, items: list[Item], attempt: int, *, recheck: str = "") -> ChatRequest:
        # A pack holds the candidates of one job (the worker packs them so).
        plan = self._plan(items[0].job_id, single=bool(recheck))
        fields = [self._shown(item) for item in items]
        # Same seed on the first attempt, for reproducible scores; a retry after invalid
        # output needs a different draw, deterministically.
        seed = self.seed + (attempt - 1) + self.second_pass_offset
        if recheck == RECHECK_CONSISTENCY:
            # What should not matter: another seed, and the fields in reverse order.
            seed += CONSISTENCY_SEED_OFFSET
            fields = [dict(reversed(list(f.items()))) for f in fields]
        return plan.request(
            fields,
            model=self.run.model,
            options={"temperature": self.temperature, "seed": seed, "num_ctx": self.num_ctx},
            keep_alive=self.keep_alive,
            limit=self._room(items[0]) if self.truncate else None,
        )

    def results(
        self, items: list[Item], answer: ChatResult, *, recheck: str = ""
    ) -> list[dict[str, Any]]:
        plan = self._plan(items[0].job_id, single=bool(recheck))
        if answer.prompt_tokens and answer.prompt_tokens > self.num_ctx - self.plan.num_predict(
            len(items)
        ):
            rows = ", ".join(str(item.line) for item in items)
            which = f"Row {rows}" if len(items) == 1 else f"Rows {rows}"
            raise TooLong(
                f"{which} turned out {prompting.TOO_LONG_WORDS}: it filled all the model "
                "could read, so the model may not have seen the end of it. It was not scored; "
                "shorten it in the file and retry."
            )
        if answer.done_reason == "length":
            raise prompting.InvalidOutput(prompting.cut_off_message(answer.content))
        results = plan.parse(answer.content, len(items))
        for item, result in zip(items, results, strict=True):
            if item.pk in self.hidden:
                result["redacted"] = self.hidden[item.pk]
        if self.truncate:
            for item, result in zip(items, results, strict=True):
                chars, room = self._chars(item), self._room(item)
                if chars > room:
                    result["truncated"] = {"chars": chars, "kept": room}
        return results

    def recheck_value(self, result: dict[str, Any]) -> Any:
        return result["scores"]


def _lines(lines: list[int] | None) -> frozenset[int] | None:
    return None if lines is None else frozenset(lines)


def _sampled(item: Item, stride: int, lines: frozenset[int] | None) -> bool:
    """Whether the Item is in a sample: its row named (a run with copies), else every
    `stride`-th row."""
    if stride <= 0:
        return False
    return item.line in lines if lines is not None else item.line % stride == 0


class BatchHandler:
    """The engine's handler for batch runs: one request line → one Ollama /api/chat call,
    mapped by openai_compat.

    As every run, a batch re-sends a sample of its lines (HRBATCH_CONSISTENCY_PCT) with
    another seed; the second answer's content is kept beside the first in Item.result
    (never in the output file, never counted as a request or tokens of the batch), and the
    batch's metadata reports how often the two agree (selectors.batch_consistency)."""

    pack_size = 1

    def __init__(self, run: Run):
        self.run = run
        opts = run.opts
        assert opts.num_ctx is not None  # set by run_start
        self.num_ctx = int(opts.num_ctx)
        self.default_max_tokens = int(opts.num_predict or DEFAULT_MAX_TOKENS)
        self.keep_alive = opts.keep_alive
        self.fingerprint = fingerprint(run.model_digest)
        self.seed = int(opts.seed or 0)
        self.consistency_stride = int(opts.consistency_stride or 0)
        self._prepared: dict[int, tuple[ChatCompletionBody, Prepared]] = {}

    def rechecks(self, item: Item) -> tuple[str, ...]:
        if self.consistency_stride > 0 and item.line % self.consistency_stride == 0:
            return (RECHECK_CONSISTENCY,)
        return ()

    def too_long(self, item: Item) -> str | None:
        """Why this request cannot be sent (failed at once, not retried), or None."""
        try:
            _, prepared = self._prepare(item)
        except (Unsupported, RequestProblem) as exc:
            return str(exc)
        return None if prepared.num_predict > 0 else too_long_message(self.num_ctx, prepared)

    def _prepare(self, item: Item) -> tuple[ChatCompletionBody, Prepared]:
        found = self._prepared.get(item.pk)
        if found is None:
            # Valid since ingest; read again as the model the mapping takes.
            body = validate(ChatCompletionBody, item.input, code=INVALID_BODY)
            prepared = prepare(
                body, num_ctx=self.num_ctx, default_max_tokens=self.default_max_tokens
            )
            found = self._prepared[item.pk] = (body, prepared)
        return found

    def request(self, items: list[Item], attempt: int, *, recheck: str = "") -> ChatRequest:
        (item,) = items
        body, prepared = self._prepare(item)
        request = chat_request(
            body, prepared, model=self.run.model, num_ctx=self.num_ctx, keep_alive=self.keep_alive
        )
        if recheck == RECHECK_CONSISTENCY:
            # What should not matter: another seed (the line's own, else the run's, moved).
            seed = request.options.get("seed")
            seed = (self.seed if seed is None else int(seed)) + CONSISTENCY_SEED_OFFSET
            request.options = {**request.options, "seed": seed}
        return request

    def results(
        self, items: list[Item], answer: ChatResult, *, recheck: str = ""
    ) -> list[dict[str, Any]]:
        problem = cut_message(self.num_ctx, answer)
        if problem:
            raise TooLong(problem)
        return [chat_completion(answer, model=self.run.model, fingerprint=self.fingerprint)]

    def recheck_value(self, result: dict[str, Any]) -> Any:
        return completion_content(result)


def handler_for(run: Run) -> Handler:
    """The handler for this kind of run: rubric scoring, or the /v1/batches request lines."""
    if run.kind == Run.Kind.RUBRIC:
        return RubricHandler(run)
    return BatchHandler(run)
