"""A person's review of a scored run: decisions and notes on candidates, explanations.

The model scores; a person decides. Every decision or note change is kept (who, when,
what) in ItemDecision, and the latest is on the Item for lists, filters and downloads.
Explanations are asked for on demand, never during bulk scoring (explain.py).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .. import explain, prompting
from ..llm import Backend, BackendError, ChatRequest, call_once, make_backend, resolve_backend
from ..model_view import ModelView
from ..models import Decision, Explanation, Item, ItemDecision, Run
from ..selectors import shortlist
from .common import InputError
from .ingest import plan_for_run

log = logging.getLogger(__name__)

NOTE_MAX = 5000
EXPLAIN_ATTEMPTS = 3


def item_decide(*, item: Item, by: Any, decision: str, note: str) -> Item:
    """Record a person's decision (advance, hold, reject, or "" for none yet) and note."""
    if decision not in ("", *Decision.values):
        raise InputError("Choose advance, hold or reject (or no decision yet).")
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise InputError(f"The note is {len(note):,} characters; keep it under {NOTE_MAX:,}.")
    if decision == item.decision and note == item.note:
        return item
    now = timezone.now()
    person = by if getattr(by, "pk", None) else None
    with transaction.atomic():
        Item.objects.filter(pk=item.pk).update(
            decision=decision, note=note, decided_by=person, decided_at=now
        )
        ItemDecision.objects.create(item=item, decision=decision, note=note, by=person)
    item.refresh_from_db()
    return item


def item_explain(*, item: Item, by: Any = None) -> Explanation:
    """Ask the run's model why it gave `item` its stored scores (it does not change them).

    The request repeats what the model saw when it scored (same instructions, same
    redacted candidate text), then the stored scores. Invalid answers are retried with
    another seed; the explanation is stored with the model, rubric and prompt hash.
    """
    run: Run = item.run
    if run.kind != Run.Kind.RUBRIC or run.rubric is None:
        raise InputError("Only candidates scored on a rubric can be explained.")
    if item.status != Item.Status.DONE or not item.scores:
        raise InputError("This candidate has no scores to explain.")
    plan = plan_for_run(run, pack_size=1, job=item.job.description if item.job else "")
    shown, _ = ModelView(run)(item)
    truncated = (item.result or {}).get("truncated")
    limit = truncated["kept"] if truncated else None
    scored = plan.messages([shown], limit=limit)
    seen_text = scored[-1]["content"]
    opts = run.opts
    num_predict = explain.num_predict(plan.criteria)
    # The scoring request's context, plus the question and the longer answer.
    num_ctx = int(opts.num_ctx or settings.HRBATCH["MAX_NUM_CTX"]) + num_predict + 256
    schema = explain.schema(plan.criteria)
    messages = explain.messages(plan, scored, item.scores)
    seed = int(opts.seed or settings.HRBATCH["SEED"])
    backend_name = run.backend or resolve_backend().name
    problem = ""
    for attempt in range(EXPLAIN_ATTEMPTS):
        backend = make_backend(backend_name)  # call_once closes it after the call
        request = ChatRequest(
            model=run.model,
            messages=messages,
            format=schema,
            options={
                "temperature": 0.0,
                "seed": seed + attempt,
                "num_ctx": num_ctx,
                "num_predict": num_predict,
            },
            keep_alive=opts.keep_alive if isinstance(opts.keep_alive, str) else None,
            whitespace_room=explain.whitespace_room(plan.criteria),
        )
        try:
            answer = call_once(backend, _chat(request))
        except BackendError as exc:
            raise InputError(f"The AI model could not be asked: {exc}") from exc
        try:
            parts = explain.parse(
                answer.content, criteria=plan.criteria, scores=item.scores, seen_text=seen_text
            )
        except prompting.InvalidOutput as exc:
            problem = str(exc)
            continue
        return Explanation.objects.create(
            item=item,
            model=run.model,
            backend=run.backend,
            rubric=run.rubric,
            prompt_hash=run.prompt_hash,
            criteria={key: part.as_dict() for key, part in parts.items()},
            requested_by=by if getattr(by, "pk", None) else None,
        )
    raise InputError(
        f"The AI model did not give a usable explanation after {EXPLAIN_ATTEMPTS} tries "
        f"({problem}). Try again, or use a larger model."
    )


def _chat(request: ChatRequest) -> Any:
    async def call(backend: Backend) -> Any:
        return await backend.chat(request)

    return call


def run_explain_shortlist(
    *, run: Run, by: Any = None, size: int | None = None, item_ids: list[int] | None = None
) -> int:
    """Explain every shortlisted candidate that has no explanation yet; how many were.
    The shortlist is the run's (its best `size`), or with `item_ids` the one a person had
    on screen (a top N among the filters they chose), in that order."""
    if item_ids is None:
        items = shortlist(run, size)
    else:
        found = Item.objects.filter(run_id=run.pk, pk__in=item_ids).in_bulk()
        items = [found[pk] for pk in item_ids if pk in found]
    done = 0
    for item in items:
        if item.explanations.exists():
            continue
        item_explain(item=item, by=by)
        done += 1
    return done
