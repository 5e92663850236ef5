"""Backend probes: measure the concurrency knee (knee.measure) and store it; the VRAM check.

`backend_probe_run` sends the run's real request shape (the default rubric's prompt and
schema, realistic candidates, the engine's options) through the Backend interface and
returns the report; `backend_probe_store` keeps it, and HRBATCH_CONCURRENCY=auto uses the
newest one (selectors.concurrency_for). `vram_check` says, before a run, when the context
it needs times the requests in flight would not fit the GPU (evaluations.vram).
"""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from .. import knee, prompting, vram
from ..llm import (
    Backend,
    BackendError,
    ModelInfo,
    call_once,
    make_backend,
    resolve_backend,
    served_model,
)
from ..models import BackendProbe, Run
from ..selectors import concurrency_for
from .ingest import ROLE_MODEL, default_roles
from .rubrics import rubric_default

# Distinct candidates the probe cycles through (each request differs, as in a run, so a
# server's prompt cache only ever holds the shared instructions).
PROBE_CANDIDATES = 64


def probe_candidates(*, count: int = PROBE_CANDIDATES, csv_path: Path | None = None) -> list[dict]:
    """What the model is shown of `count` candidates: the columns a run shows it by
    default (services.default_roles), from a CSV or from realistic synthetic applicants."""
    if csv_path is not None:
        with open(csv_path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            rows = [row for _, row in zip(range(count), reader, strict=False)]
    else:
        from devtools.synthetic import generate_candidates

        rows = list(generate_candidates(count, seed=7))
    if not rows:
        raise ValueError("no candidates to send")
    roles = default_roles(list(rows[0]), None)
    return [
        {k: v for k, v in row.items() if roles.get(k) == ROLE_MODEL and str(v or "").strip()}
        for row in rows
    ]


def backend_probe_run(
    *,
    backend: str | None = None,
    model: str = "",
    max_concurrency: int = 64,
    requests_per_step: int | None = None,
    csv_path: Path | None = None,
    on_line: Callable[[str], None] | None = None,
) -> knee.ProbeReport:
    """Measure the knee of `backend` (auto, ollama, embedded, …) serving `model` (default
    HRBATCH_MODEL, or the backend's own). Raises BackendError when it cannot be asked.

    With `on_line`, the table is written through it as the steps are measured."""
    on_step = knee.TableWriter(on_line) if on_line is not None else None
    conf = settings.HRBATCH
    choice = resolve_backend(backend)
    llm = make_backend(choice.name)
    model = served_model(llm, model or conf["MODEL"])
    rubric = rubric_default()
    plan = prompting.plan_for(
        instructions=rubric.instructions,
        criteria=rubric.criteria,
        rationale=rubric.rationale,
        answer_format=conf["ANSWER_FORMAT"],  # what a run started now would ask for
    )
    candidates = probe_candidates(csv_path=csv_path)

    async def run() -> knee.ProbeReport:
        try:
            info = await llm.model_info(model)
            report = await _measure(
                llm,
                choice.name,
                # An OpenAI-compatible server with no HRBATCH_MODEL: the one model it serves.
                info.name or model,
                plan,
                candidates,
                info=info,
                max_concurrency=max_concurrency,
                requests_per_step=requests_per_step,
                on_step=on_step,
            )
            await _describe_server(llm, report, info=info)
            return report
        finally:
            await llm.aclose()

    return asyncio.run(run())


async def _measure(
    llm: Backend,
    backend: str,
    model: str,
    plan: prompting.PromptPlan,
    candidates: list[dict],
    *,
    info: ModelInfo,
    max_concurrency: int,
    requests_per_step: int | None,
    on_step: Callable[[knee.Step], None] | None,
) -> knee.ProbeReport:
    """The steps measured with the run's real request shape, sized for the longest
    candidate as a run sizes its num_ctx."""
    conf = settings.HRBATCH
    longest = max(len(prompting.candidate_text(c)) for c in candidates)
    num_ctx = prompting.size_num_ctx(
        prompt_chars=prompting.prompt_chars(
            system_chars=len(plan.system), candidate_chars=longest + prompting.LIMIT_STEP
        ),
        num_predict=plan.num_predict(1),
        cap=conf["MAX_NUM_CTX"],
        model_context=info.context_length,
    )
    requests = [
        knee.probe_request(
            plan,
            c,
            model=model,
            num_ctx=num_ctx,
            seed=int(conf["SEED"]),
            keep_alive=conf["KEEP_ALIVE"],
        )
        for c in candidates
    ]
    try:
        # The slots the server says it runs in parallel (llama-server): measured up to.
        slots = sum(s.total for s in await llm.server_slots())
    except BackendError:
        slots = 0
    measurement = await knee.measure(
        llm,
        requests,
        max_concurrency=max_concurrency,
        requests_per_step=requests_per_step,
        at_least=min(slots, max_concurrency),
        on_step=on_step,
    )
    return knee.ProbeReport(
        backend=backend,
        where=llm.where,
        model=model,
        num_ctx=num_ctx,
        num_predict=plan.num_predict(1),
        measurement=measurement,
    )


async def _describe_server(llm: Backend, report: knee.ProbeReport, *, info: ModelInfo) -> None:
    """What the server says about its slots and the model in memory, the GPUs, and a
    warning when the knee's requests would not fit their memory."""
    try:
        loaded = await llm.loaded_models()
    except BackendError:
        loaded = []
    try:
        slots = await llm.server_slots()
    except BackendError:
        slots = []
    report.server = knee.server_view(
        loaded, model=report.model, num_ctx=report.num_ctx, slots=slots
    )
    devices, report.gpu_note = vram.gpu_devices()
    report.gpus = vram.devices_json(devices)
    if devices:
        slots = report.server.slots or report.knee
        model_bytes = report.server.model_vram or report.server.model_size or info.size
        report.vram_warning = await _warning(
            llm, report.model, report.num_ctx, slots, model_bytes, devices
        )


def backend_probe_store(*, report: knee.ProbeReport) -> BackendProbe:
    """Keep the measurement; the newest one for a backend, model and place is the one
    HRBATCH_CONCURRENCY=auto uses."""
    return BackendProbe.objects.create(
        backend=report.backend,
        where=report.where[:500],
        model=report.model,
        concurrency=report.knee,
        table=report.table(),
        details=report.details(),
    )


async def _warning(
    llm: Backend,
    model: str,
    num_ctx: int,
    slots: int,
    model_bytes: int | None,
    devices: list[vram.GpuDevice],
) -> str:
    try:
        arch = vram.architecture_from(await llm.architecture(model))
    except BackendError:
        return ""
    if arch is None or not model_bytes:
        return ""
    estimate = vram.vram_estimate(arch, model_bytes=model_bytes, num_ctx=num_ctx, slots=slots)
    return vram.vram_warning(estimate, sum(d.total for d in devices))


def vram_check(*, backend: str, model: str, num_ctx: int, slots: int) -> str:
    """A warning when `slots` requests of `num_ctx` tokens with `model` would not fit the
    GPU memory pynvml reports ("" when they fit, or when there is no GPU to ask or the
    server cannot describe the model). Asked by the check page and the run page."""
    devices, _ = vram.gpu_devices()
    if not devices or not model:
        return ""
    try:
        llm = make_backend(backend)
    except (BackendError, ValueError):
        return ""

    async def check(b: Backend) -> str:
        size = None
        try:
            loaded = await b.loaded_models()
            size = next((m.size_vram or m.size for m in loaded if m.name == model), None)
            if size is None:
                size = next((m.size for m in await b.list_models() if m.name == model), None)
        except BackendError:
            return ""
        return await _warning(b, model, num_ctx, slots, size, devices)

    try:
        return call_once(llm, check)
    except BackendError:
        return ""


def run_vram_warning(*, run: Run) -> str:
    """The VRAM check for a run that has not ended: its own context size once it started
    (before: the largest a run may get, HRBATCH_MAX_NUM_CTX) times the requests it keeps
    in flight, which the server must hold at once (OLLAMA_NUM_PARALLEL set to match)."""
    if run.is_terminal or not run.backend or not run.model:
        return ""
    opts = run.opts
    num_ctx = int(opts.num_ctx or settings.HRBATCH["MAX_NUM_CTX"])
    slots = int(opts.concurrency or concurrency_for(backend=run.backend, model=run.model).value)
    return vram_check(backend=run.backend, model=run.model, num_ctx=num_ctx, slots=slots)
