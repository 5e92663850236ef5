"""Project what a GPU does with hrbatch's requests, from measured tokens per candidate.

    .venv/bin/python bench/project_gpu.py --run batch_… [--profile rtx4080-gemma3-12b]
    .venv/bin/python bench/project_gpu.py --prompt-tokens 700 --cached-share 0.6 --output-tokens 50
    .venv/bin/python bench/project_gpu.py --measure [--backend ollama] [--model gemma3:12b]

Tokens per candidate (prompt, of which cached, output) come from a real run (`--run ID`
reads them from the database HRBATCH_DATA_DIR points at) or from the flags. A GPU profile
gives prompt (prefill) tokens/s, decode tokens/s of one request alone, and the aggregate
decode speed at N parallel slots. Printed per slot count: the GPU seconds one candidate
costs, candidates/s and the hours for 170,000 candidates, then the assumptions.

`--measure` replaces the projection with a measurement: probe-style requests (the run's
request shape, as `manage.py probe_backend` sends them) against the configured backend,
through the same table. Nothing is stored.

The shipped profile is an RTX 4080 (16 GB) running gemma3:12b (Q4_K_M) under Ollama /
llama.cpp, built from PUBLISHED figures for the closest card and model, scaled as said
beside each figure (PROFILES below). It is a projection, not a measurement: replace it
with `--measure` on the real card.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

POOL = 170_000


@dataclass(frozen=True)
class Profile:
    name: str
    model: str
    description: str
    # Prompt evaluation of uncached tokens, tokens/s (compute-bound; one request at a time).
    prefill_tps: float
    # Decode speed of one request alone, tokens/s (memory-bandwidth-bound).
    decode_tps: float
    # Aggregate decode speed at N slots as a multiple of decode_tps (batching efficiency).
    batch_gain: dict[int, float]
    sources: list[str] = field(default_factory=list)

    def decode_at(self, slots: int) -> float:
        return self.decode_tps * self.batch_gain[slots]


# RTX 4080 16 GB, gemma3:12b Q4_K_M. No published llama-bench figure for exactly this pair
# was found, so each figure is a published one for the closest pair, scaled:
#
# * Llama 3 8B Q4_K_M on an RTX 4080 16 GB, llama.cpp llama-bench (May 2024):
#   tg512 = 108.15 tokens/s, pp512 = 5389.74 tokens/s.
#   https://github.com/XiongjieDai/GPU-Benchmarks-on-LLM-Inference (README, "LLaMA 3",
#   NVIDIA GPUs table; the same README gives the 8B Q4_K_M file as 4.58 GB).
# * Model sizes in Ollama's library: gemma3:12b (12.2B, Q4_K_M) 8.1 GB, llama3.1:8b
#   4.7 GB. https://github.com/ollama/ollama (README model table; also
#   https://ollama.com/library/gemma3).
# * Decoding is memory-bandwidth-bound: every output token reads all the weights once, so
#   decode speed scales with 4.7 / 8.1 → 108.15 × 0.580 = 62.8 tokens/s. (gemma3:12b's
#   8.1 GB includes its vision encoder, which text decoding does not read: the scaling is
#   on the slow side.)
# * Prefill is compute-bound: it scales with parameters, 8.0B / 12.2B → 5389.74 × 0.656 =
#   3534 tokens/s.
# * Batching efficiency (aggregate decode at N parallel sequences over one alone): llama.cpp
#   CUDA, llama 8B Q4_0 on an RTX 3090, tokens/s at microbatch 1, 2, 4, 8 = 155.02, 277.36,
#   468.95, 570.67 (×1.79, ×3.03, ×3.68), https://github.com/ggml-org/llama.cpp/pull/15802
#   (the PR's benchmark table). Same quantized matrix-vector kernels on Ada; the 4080's
#   curve is assumed to have the same shape. 16 slots: ×4.0, assumed (the curve flattens:
#   +3% from 7 to 8); a 16 GB card cannot hold 16 gemma3:12b contexts of 8k anyway.
RTX4080_GEMMA3_12B = Profile(
    name="rtx4080-gemma3-12b",
    model="gemma3:12b",
    description="RTX 4080 16 GB, gemma3:12b Q4_K_M (Ollama / llama.cpp), from published "
    "figures for Llama 3 8B on the 4080 scaled to gemma3:12b",
    prefill_tps=round(5389.74 * 8.0 / 12.2),
    decode_tps=round(108.15 * 4.7 / 8.1, 1),
    batch_gain={1: 1.0, 2: 277.36 / 155.02, 4: 468.95 / 155.02, 8: 570.67 / 155.02, 16: 4.0},
    sources=[
        "https://github.com/XiongjieDai/GPU-Benchmarks-on-LLM-Inference",
        "https://github.com/ollama/ollama",
        "https://github.com/ggml-org/llama.cpp/pull/15802",
    ],
)
PROFILES = {p.name: p for p in (RTX4080_GEMMA3_12B,)}

ASSUMPTIONS = [
    "GPU time per candidate = uncached prompt tokens / prefill tokens/s + output tokens / "
    "aggregate decode tokens/s at N slots; prefill and decode do not overlap (llama.cpp "
    "mixes them in one batch, so this errs slow).",
    "Cached prompt tokens (the shared rubric prefix a slot still holds) cost nothing.",
    "Every output token is one decoding step for its slot; N slots decode together at the "
    "profile's aggregate speed (its batching efficiency), whatever their prompts.",
    "The server is kept full (hrbatch keeps ≥ N requests in flight) and its own overhead "
    "(HTTP, JSON-schema grammar, sampling) is left out: real figures are lower.",
    "Every slot holds its num_ctx of KV cache in VRAM: check that N fits "
    "(manage.py probe_backend warns when it would not).",
]


@dataclass(frozen=True)
class Tokens:
    prompt: float
    cached_share: float
    output: float
    source: str
    # The model whose tokenizer counted them ("" when given by hand).
    model: str = ""

    @property
    def uncached(self) -> float:
        return self.prompt * (1 - self.cached_share)


def seconds_per_candidate(tokens: Tokens, profile: Profile, slots: int) -> float:
    return tokens.uncached / profile.prefill_tps + tokens.output / profile.decode_at(slots)


def _table(rows: list[tuple[str, str, str, float]], first: str = "slots") -> None:
    """One line per slot count (projected) or requests in flight (measured)."""
    print(f"{first:>9}  {'decode tok/s':>12}  {'GPU s/cand':>10}  {'cand/s':>8}  {'hours':>8}")
    for slots, decode, per, rate in rows:
        hours = POOL / rate / 3600 if rate > 0 else float("inf")
        print(f"{slots:>9}  {decode:>12}  {per:>10}  {rate:>8.2f}  {hours:>8.1f}")


def project(tokens: Tokens, profile: Profile) -> None:
    print(f"Profile: {profile.description}")
    print(
        f"  prefill {profile.prefill_tps:,.0f} tok/s, decode {profile.decode_tps:.1f} tok/s "
        "alone, aggregate ×" + ", ×".join(f"{g:.2f} at {n}" for n, g in profile.batch_gain.items())
    )
    print("  sources: " + "; ".join(profile.sources))
    print(
        f"Tokens per candidate ({tokens.source}): prompt {tokens.prompt:,.0f}, cached "
        f"{tokens.cached_share:.0%} (uncached {tokens.uncached:,.0f}), output {tokens.output:.1f}"
    )
    if tokens.model and tokens.model != profile.model:
        print(
            f"  (counted by {tokens.model}'s tokenizer; {profile.model}'s counts the same text "
            "differently, usually in fewer tokens for a larger vocabulary)"
        )
    print(f"Projected for {POOL:,} candidates:")
    rows = []
    for slots in sorted(profile.batch_gain):
        per = seconds_per_candidate(tokens, profile, slots)
        rows.append((str(slots), f"{profile.decode_at(slots):.0f}", f"{per:.3f}", 1 / per))
    _table(rows)
    print("Assumptions:")
    for line in ASSUMPTIONS:
        print(f"  - {line}")


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hrbatch.settings")
    import django

    django.setup()
    from evaluations import locks

    locks.migrate()


def tokens_of_run(public_id: str) -> Tokens:
    from evaluations import metrics
    from evaluations.models import Run

    run = Run.objects.filter(public_id=public_id).first()
    if run is None:
        raise SystemExit(f"no run {public_id} in {os.environ.get('HRBATCH_DATA_DIR', 'data/')}")
    if not run.done_count:
        raise SystemExit(f"run {public_id} has no scored candidate yet")
    saved = metrics.token_savings_pct(run)
    return Tokens(
        prompt=run.prompt_tokens / run.done_count,
        cached_share=(saved or 0.0) / 100,
        output=run.completion_tokens / run.done_count,
        source=f"run {public_id}, {run.model} on {run.backend}, {run.done_count} scored",
        model=run.model,
    )


def measure(args: argparse.Namespace) -> None:
    from evaluations import knee, services

    report = services.backend_probe_run(
        backend=args.backend,
        model=args.model,
        max_concurrency=args.max_concurrency,
        requests_per_step=args.requests_per_step,
    )
    steps = report.measurement.steps
    print(f"Measured: {report.backend} at {report.where or '(in-process)'}, model {report.model}")
    for line in knee.format_table(steps):
        print("  " + line)
    best = max(steps, key=lambda s: s.req_per_s)
    print(
        f"Tokens per candidate (measured by the probe): prompt {best.prompt_tokens:,.0f}, "
        f"output {best.output_tokens:.1f}; knee {report.knee}"
    )
    print(f"Measured for {POOL:,} candidates:")
    rows = []
    for step in steps:
        rate = step.req_per_s
        per = f"{1 / rate:.3f}" if rate else "-"
        rows.append((str(step.concurrency), f"{step.output_tok_s:.0f}", per, rate))
    _table(rows, first="in flight")
    print("(Measured, not projected: decode tok/s is output tokens/s over all slots, GPU s/cand")
    print(" the wall-clock seconds per candidate at that many requests in flight.)")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--run", help="read tokens per candidate from this run (its batch_… id)")
    p.add_argument("--prompt-tokens", type=float, help="prompt tokens per candidate")
    p.add_argument("--cached-share", type=float, default=0.0, help="0..1 of them cached")
    p.add_argument("--output-tokens", type=float, help="output tokens per candidate")
    p.add_argument("--profile", default=RTX4080_GEMMA3_12B.name, choices=sorted(PROFILES))
    p.add_argument("--measure", action="store_true", help="measure the configured backend")
    p.add_argument("--backend", default=None, help="with --measure: auto, ollama, embedded, …")
    p.add_argument("--model", default="", help="with --measure: the model (HRBATCH_MODEL)")
    p.add_argument("--max-concurrency", type=int, default=16, help="with --measure")
    p.add_argument("--requests-per-step", type=int, default=None, help="with --measure")
    args = p.parse_args()

    if args.measure:
        _setup_django()
        measure(args)
        return 0
    if args.run:
        _setup_django()
        tokens = tokens_of_run(args.run)
    elif args.prompt_tokens is not None and args.output_tokens is not None:
        if not 0 <= args.cached_share <= 1:
            p.error("--cached-share is a share between 0 and 1")
        tokens = Tokens(args.prompt_tokens, args.cached_share, args.output_tokens, "as given")
    else:
        p.error("give --run ID, or --prompt-tokens and --output-tokens, or --measure")
    project(tokens, PROFILES[args.profile])
    return 0


if __name__ == "__main__":
    sys.exit(main())
