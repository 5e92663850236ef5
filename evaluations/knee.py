"""The concurrency knee, measured: how many requests in flight a backend turns into speed.

`measure` sends the run's real request shape (a rubric's prompt and schema, a candidate,
temperature 0, seed, num_ctx, num_predict: `probe_request`) through the Backend interface
at concurrency 1, 2, 4, 8, … until throughput stops rising (less than MIN_GAIN over the
previous step) or the maximum is reached; steps just below a small gain are measured
again (RETAKE_BELOW_GAIN). The knee is the fewest requests in flight that come within
PLATEAU (10%) of the best throughput measured: more than that only wait in the server's
queue. Works for any backend (Ollama, the embedded model, an OpenAI-compatible server):
it only calls `chat`.

`manage.py probe_backend` prints the table and stores the knee (services.backend_probe_store);
`HRBATCH_CONCURRENCY=auto` uses it (selectors.concurrency_for).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from . import prompting, vram
from .llm import Backend, BackendError, ChatRequest, LoadedModel, ServerSlots

# Throughput must rise by at least this share over the previous step to count as a gain:
# the probe stops at the first step that gains less.
MIN_GAIN = 0.05
# The knee: the fewest requests in flight that reach this close to the best throughput
# measured. Past the server's slots, more in flight still gains a few percent by hiding
# the client's own gap between an answer and the next request (each lane waits for its
# answer before sending again); the engine's several workers hide that anyway.
PLATEAU = 0.10
# A step that gained less than this over the one before it makes the one before a knee
# candidate: that one is measured again and keeps its better figure. A pause of a busy
# machine only ever slows a step down, and at exactly the server's slot count there is no
# queue to absorb one, so the candidate is the step a pause misleads most.
RETAKE_BELOW_GAIN = 0.50
WARMUP_REQUESTS = 2
# Requests per step unless told: enough back-to-back requests per lane that a pause of the
# machine (a shared CPU, a GC) moves the figure by a few percent, not by the 5% rule.
REQUESTS_PER_LANE = 8
MIN_REQUESTS_PER_STEP = 16


@dataclass
class Step:
    concurrency: int
    requests: int
    errors: int
    seconds: float
    req_per_s: float
    p50_ms: float
    p95_ms: float
    output_tok_s: float
    prompt_tokens: float  # per request, on average
    output_tokens: float
    # Measured again as a knee candidate (RETAKE_BELOW_GAIN); the better figure is kept.
    retaken: bool = False

    def gain_over(self, previous: Step | None) -> float | None:
        if previous is None or previous.req_per_s <= 0:
            return None
        return self.req_per_s / previous.req_per_s - 1


@dataclass
class Measurement:
    steps: list[Step]
    knee: int
    # The maximum concurrency was reached while throughput was still rising: the knee
    # may be higher.
    reached_max: bool


def knee_of(
    steps: Sequence[Step], *, min_gain: float = MIN_GAIN, plateau: float = PLATEAU
) -> tuple[int, bool]:
    """The knee of a measured table, and whether the steps ran out while the throughput
    was still rising (the last step gained at least `min_gain`: the knee may be higher).

    The knee is the fewest requests in flight whose throughput is within `plateau` of the
    best measured. A pure function of the table, so the rule can be read and tested alone."""
    if not steps:
        raise ValueError("no steps measured")
    gain = steps[-1].gain_over(steps[-2]) if len(steps) > 1 else None
    still_rising = gain is None or gain >= min_gain
    best = max(step.req_per_s for step in steps)
    knee = min(s.concurrency for s in steps if s.req_per_s >= (1 - plateau) * best)
    return knee, still_rising


def concurrency_steps(max_concurrency: int) -> list[int]:
    """1, 2, 4, … doubling, ending at `max_concurrency` itself."""
    steps, c = [], 1
    while c < max_concurrency:
        steps.append(c)
        c *= 2
    steps.append(max(1, max_concurrency))
    return steps


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (0 < share <= 1); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def probe_request(
    plan: prompting.PromptPlan,
    fields: Mapping[str, Any],
    *,
    model: str,
    num_ctx: int,
    seed: int,
    keep_alive: str | int | float | None,
) -> ChatRequest:
    """One candidate's request exactly as the engine sends it (engine.handlers.RubricHandler)."""
    options = {"temperature": 0.0, "seed": seed, "num_ctx": num_ctx}
    return plan.request([fields], model=model, options=options, keep_alive=keep_alive)


async def _step(
    backend: Backend, concurrency: int, count: int, next_request: Callable[[], ChatRequest]
) -> Step:
    latencies: list[float] = []
    prompt = output = errors = 0
    remaining = itertools.count()
    failures: list[BackendError] = []

    async def lane() -> None:
        nonlocal prompt, output, errors
        while next(remaining) < count:
            request = next_request()
            started = time.monotonic()
            try:
                answer = await backend.chat(request)
            except BackendError as exc:
                if exc.blocks_run:
                    raise
                errors += 1
                failures.append(exc)
                continue
            latencies.append(time.monotonic() - started)
            prompt += answer.prompt_tokens
            output += answer.completion_tokens

    started = time.monotonic()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    seconds = time.monotonic() - started
    done = len(latencies)
    if not done:
        raise failures[0] if failures else RuntimeError("no request finished")
    return Step(
        concurrency=concurrency,
        requests=done,
        errors=errors,
        seconds=round(seconds, 3),
        req_per_s=round(done / seconds, 3),
        p50_ms=round(statistics.median(latencies) * 1000, 1),
        p95_ms=round(percentile(latencies, 0.95) * 1000, 1),
        output_tok_s=round(output / seconds, 1),
        prompt_tokens=round(prompt / done, 1),
        output_tokens=round(output / done, 1),
    )


async def measure(
    backend: Backend,
    requests: Sequence[ChatRequest],
    *,
    max_concurrency: int = 64,
    requests_per_step: int | None = None,
    min_gain: float = MIN_GAIN,
    at_least: int = 1,
    on_step: Callable[[Step], None] | None = None,
) -> Measurement:
    """Warm up (load the model, fill its prompt cache), then measure each concurrency step
    until the throughput stops rising. `requests` are cycled through; each step sends
    `requests_per_step` of them (default: REQUESTS_PER_LANE per request in flight, at least
    MIN_REQUESTS_PER_STEP), so every lane of the step runs several requests back to back.

    The steps up to `at_least` in flight (the slots the server says it has) are always
    measured: one step that gains nothing (a CPU-bound prompt, a pause of a shared machine)
    does not stop the probe short of the slots the server runs in parallel."""
    if not requests:
        raise ValueError("no requests to send")
    cycle = itertools.cycle(requests)

    def next_request() -> ChatRequest:
        return next(cycle)

    for _ in range(WARMUP_REQUESTS):
        await backend.chat(next_request())
    steps: list[Step] = []
    for concurrency in concurrency_steps(max_concurrency):
        count = requests_per_step or max(MIN_REQUESTS_PER_STEP, REQUESTS_PER_LANE * concurrency)
        step = await _step(backend, concurrency, max(count, concurrency), next_request)
        steps.append(step)
        if on_step is not None:
            on_step(step)
        gain = step.gain_over(steps[-2] if len(steps) > 1 else None)
        if gain is not None and gain < min_gain and concurrency >= at_least:
            break
    for i in range(1, len(steps)):
        gain = steps[i].gain_over(steps[i - 1])
        if gain is not None and gain < RETAKE_BELOW_GAIN and not steps[i - 1].retaken:
            previous = steps[i - 1]
            count = requests_per_step or max(
                MIN_REQUESTS_PER_STEP, REQUESTS_PER_LANE * previous.concurrency
            )
            again = await _step(
                backend, previous.concurrency, max(count, previous.concurrency), next_request
            )
            again.retaken = True
            if on_step is not None:
                on_step(again)
            better = again if again.req_per_s > previous.req_per_s else previous
            better.retaken = True
            steps[i - 1] = better
    knee, reached_max = knee_of(steps, min_gain=min_gain)
    return Measurement(steps=steps, knee=knee, reached_max=reached_max)


@dataclass
class ServerView:
    """What the server says about the loaded model: VRAM, context, parallel slots (with
    several servers that report theirs, their sum; each one's in `servers`)."""

    model_vram: int | None = None
    model_size: int | None = None
    context_length: int | None = None
    slots: int | None = None
    note: str = ""
    servers: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def server_view(
    loaded: Sequence[LoadedModel],
    *,
    model: str,
    num_ctx: int,
    slots: Sequence[ServerSlots] = (),
) -> ServerView:
    """What the servers say: the slots they report (llama.cpp's /props and /slots) when
    they do, otherwise what Ollama's /api/ps tells of them (ollama_view)."""
    view = ollama_view(loaded, model=model, num_ctx=num_ctx)
    if slots:
        view.slots = sum(s.total for s in slots)
        view.servers = [asdict(s) for s in slots]
        view.note = slots_note(slots)
    return view


def slots_note(slots: Sequence[ServerSlots]) -> str:
    """The slots in words: per server, and with several servers their sum (requests go to
    all of them, so the knee measured is of them together)."""

    def one(s: ServerSlots) -> str:
        said = f"{s.total} slot{'s' if s.total != 1 else ''}"
        if s.ctx:
            said += f" of {s.ctx:,} tokens each"
        if s.busy is not None:
            said += f", {s.busy} busy now"
        return said

    if len(slots) == 1:
        return f"as the server at {slots[0].where} reports them (/props, /slots): {one(slots[0])}"
    each = "; ".join(f"{s.where}: {one(s)}" for s in slots)
    return f"the sum over the {len(slots)} servers that report them (/props, /slots): {each}"


def ollama_view(loaded: Sequence[LoadedModel], *, model: str, num_ctx: int) -> ServerView:
    """Read Ollama's /api/ps for `model`. Ollama allocates num_ctx × OLLAMA_NUM_PARALLEL
    tokens of context; when /api/ps reports that total, the slot count follows from it.
    When it reports num_ctx itself, the slot count (set on the server) cannot be told."""
    found = next((m for m in loaded if m.name == model), None)
    if found is None:
        if not loaded:
            return ServerView(
                note="the server does not report its loaded models (no /api/ps); its "
                "parallel slots cannot be told: the knee measured is the effective figure"
            )
        return ServerView(note=f"{model} is not among the models the server reports loaded")
    view = ServerView(
        model_vram=found.size_vram, model_size=found.size, context_length=found.context_length
    )
    context = found.context_length
    if context and num_ctx and context >= 2 * num_ctx and context % num_ctx == 0:
        view.slots = context // num_ctx
        view.note = (
            f"the server allocated {context:,} tokens of context for num_ctx {num_ctx:,}: "
            f"{view.slots} parallel slots (OLLAMA_NUM_PARALLEL)"
        )
    else:
        reported = f"{context:,}" if context else "no figure"
        view.note = (
            "parallel slots: cannot be told (OLLAMA_NUM_PARALLEL is set on the server; "
            f"/api/ps reports a context of {reported} for num_ctx {num_ctx:,}); the knee "
            "measured is the effective figure"
        )
    return view


@dataclass
class ProbeReport:
    backend: str
    where: str
    model: str
    num_ctx: int
    num_predict: int
    measurement: Measurement
    server: ServerView = field(default_factory=ServerView)
    gpus: list[dict[str, Any]] = field(default_factory=list)
    gpu_note: str = ""
    vram_warning: str = ""

    @property
    def knee(self) -> int:
        return self.measurement.knee

    def table(self) -> list[dict[str, Any]]:
        return [asdict(step) for step in self.measurement.steps]

    def details(self) -> dict[str, Any]:
        return {
            "num_ctx": self.num_ctx,
            "num_predict": self.num_predict,
            "reached_max": self.measurement.reached_max,
            "min_gain": MIN_GAIN,
            "server": self.server.to_json(),
            "gpus": self.gpus,
            "gpu_note": self.gpu_note,
            "vram_warning": self.vram_warning,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "where": self.where,
            "model": self.model,
            "knee": self.knee,
            "table": self.table(),
            **self.details(),
        }

    def lines(self) -> list[str]:
        """The report in words, after its table (probe_backend): the request shape, the
        knee, what the server says about its slots and the model's VRAM, the GPUs."""
        lines = [
            f"(gain: throughput over the previous step; the probe stops below "
            f"{MIN_GAIN:.0%}. *: measured again as a knee candidate, the better "
            "figure counts)",
            "",
        ]
        where = f" at {self.where}" if self.where else ""
        lines.append(f"Backend {self.backend}{where}, model {self.model}")
        lines.append(f"Request shape: num_ctx {self.num_ctx:,}, num_predict {self.num_predict}")
        said = f"Knee: {self.knee} request{'s' if self.knee != 1 else ''} in flight"
        if self.measurement.reached_max:
            said += " (throughput was still rising at --max-concurrency: the knee may be higher)"
        else:
            said += (
                f" (the fewest within {PLATEAU:.0%} of the best throughput; more "
                "only wait in the server's queue)"
            )
        lines.append(said)
        server = self.server
        lines.append(f"Server slots: {server.slots if server.slots else '?'} ({server.note})")
        lines.append(
            "Model in VRAM: "
            + (vram.gib(server.model_vram) if server.model_vram is not None else "not reported")
        )
        if self.gpus:
            lines += [
                f"GPU {gpu['index']}: {gpu['name']}, {vram.gib(gpu['total'])} total, "
                f"{vram.gib(gpu['used'])} used, {vram.gib(gpu['free'])} free"
                for gpu in self.gpus
            ]
        else:
            lines.append(f"GPU memory: {self.gpu_note}")
        if self.vram_warning:
            lines.append(f"WARNING: {self.vram_warning}")
        return lines


TABLE_HEADER = (
    f"{'in flight':>9}  {'req/s':>8}  {'gain':>6}  {'p50 ms':>8}  {'p95 ms':>8}  "
    f"{'out tok/s':>9}  {'prompt tok':>10}  {'out tok':>7}  {'errors':>6}"
)


def format_row(step: Step, previous: Step | None = None) -> str:
    """One measured step as a line of the table; the gain is over `previous`."""
    gain = step.gain_over(previous)
    gain_text = "" if gain is None else f"{gain:+.0%}"
    mark = "*" if step.retaken else ""
    return (
        f"{f'{step.concurrency}{mark}':>9}  {step.req_per_s:>8.2f}  {gain_text:>6}  "
        f"{step.p50_ms:>8.0f}  {step.p95_ms:>8.0f}  {step.output_tok_s:>9.1f}  "
        f"{step.prompt_tokens:>10.0f}  {step.output_tokens:>7.1f}  {step.errors:>6}"
    )


class TableWriter:
    """The table written as the steps are measured (an `on_step` of `measure`): the header
    first, then each step's row with its gain over the step before it; a step measured
    again gets a line of its own, without gain, and is not the next one's previous."""

    def __init__(self, out: Callable[[str], None]):
        self.out = out
        self.steps: list[Step] = []
        out(TABLE_HEADER)

    def __call__(self, step: Step) -> None:
        if step.retaken:
            self.out(format_row(step))
            return
        self.out(format_row(step, self.steps[-1] if self.steps else None))
        self.steps.append(step)


def format_table(steps: Sequence[Step]) -> list[str]:
    """The measured steps as aligned text lines (probe_backend, bench/project_gpu.py)."""
    return [TABLE_HEADER] + [
        format_row(step, steps[i - 1] if i else None) for i, step in enumerate(steps)
    ]
