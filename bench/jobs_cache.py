"""Fifty jobs: the server's prompt cache with candidates interleaved vs grouped by job.

    .venv/bin/python bench/jobs_cache.py [--jobs 50] [--n 800] [--embedded-n 60]
                                         [--embedded-jobs 10]

Each candidate is scored against their job's text, which follows the rubric in the system
message (instructions + rubric + the job + the answer's format): the same bytes for every
candidate of that job. The
server can reuse that prefix only while it is still in its cache. Sent in the file's order
(jobs interleaved, as hrbatch did before jobs), a slot mostly holds another job's prefix;
sent job by job (services.runs.run_dispatch chunks a run per job, the worker sends a chunk by
job), the slots keep the current job's prefix.

The 50-position case as a user has it (`generate_candidates --positions N --jobs-out`):
synthetic candidates with a position column, and a jobs file with one hand-written
requisition per position (devtools.synthetic.jobs). The jobs file is saved and the
candidates matched to it by position, as `evaluate --jobs` does. The file is scored twice
per backend through the real services and engine, interleaved then grouped, and printed per
run: the cached share of prompt tokens, how the run page shows it
(metrics.token_savings_pct), and candidates/s.

- The fake Ollama server (devtools.fake_ollama, in this process): FakeOllama(slots=4) keeps
  a per-slot prefix cache as Ollama's runner does, and sleeps --per-token seconds per
  prompt token it must evaluate (not the cached ones), so speed depends on the cache.
- The embedded model (llama-cpp-python, SmolLM2-135M, CPU): llama.cpp reuses the prefix
  the next prompt shares with the previous one; the backend reports those cached tokens.
  It scores a few seconds per candidate on 2 cores, so it gets fewer candidates and, by
  default, 10 of the positions (6 candidates per job: with 50 jobs and 60 candidates
  most jobs would have one candidate, and no order could share a job's prefix).

Tasks run inline in this process (django-q2 sync mode), the consistency sample is off
(HRBATCH_CONSISTENCY_PCT=0) so that both orders score exactly the same requests, and the
interleaved order is the run's own option (RunOptions.jobs_interleaved, set before it
starts): services.runs.run_dispatch then chunks it in the file's order, and the worker sends a
chunk dispatched that way in the file's order.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C


def write_jobs_csv(path: Path, n: int, jobs: int) -> tuple[int, float, Path]:
    """The 50-position case as a user has it: candidates with a position column, in the
    generator's (interleaved) order, and the jobs file beside them (generate_candidates
    --positions N --jobs-out), one hand-written requisition per position. Returns
    (distinct positions, mean job text characters, the jobs file)."""
    from devtools.synthetic import job_rows, write_candidates_csv
    from devtools.synthetic import write_jobs_csv as write_jobs

    write_candidates_csv(path, n, seed=11, positions=jobs)
    jobs_path = path.with_name(path.stem + "-jobs.csv")
    write_jobs(jobs_path, positions=jobs)
    with open(path, encoding="utf-8", newline="") as handle:
        positions = {row["position"] for row in csv.DictReader(handle)}
    sizes = [
        sum(len(v) for v in row.values()) for row in job_rows(jobs) if row["title"] in positions
    ]
    return len(positions), sum(sizes) / len(sizes), jobs_path


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--jobs", type=int, default=50, help="positions (default 50)")
    p.add_argument(
        "--n", type=int, default=800, help="candidates on the fake (default 800; 0 skips it)"
    )
    p.add_argument(
        "--embedded-n",
        type=int,
        default=60,
        help="candidates on the embedded model (default 60; 0 skips it)",
    )
    p.add_argument(
        "--embedded-jobs", type=int, default=10, help="positions on the embedded model (10)"
    )
    p.add_argument("--slots", type=int, default=4, help="fake server slots (default 4)")
    p.add_argument(
        "--per-token",
        type=float,
        default=0.0001,
        help="fake: seconds per evaluated prompt token (default 0.0001: 10,000 tok/s)",
    )
    p.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    args = p.parse_args()

    data_dir = C.make_data_dir("jobs")
    try:
        C.setup_django(data_dir, {"HRBATCH_CONSISTENCY_PCT": "0", "HRBATCH_CONCURRENCY": "4"})
        return _bench(args, data_dir)
    finally:
        C.unload_embedded_model()
        C.stop_all()
        C.cleanup(data_dir, args.keep)


def _score(
    *, csv_path: Path, jobs_path: Path, backend: str, grouped: bool, timeout: float
) -> tuple[Any, float]:
    """One run of the file, in one order, its candidates matched to the jobs file's jobs
    by their position column (as `evaluate --jobs` does); (run, seconds from run_start to
    completed). Says how much CPU other processes took meanwhile."""
    from evaluations import services
    from evaluations.models import RunColumns

    services.jobs_import(path=jobs_path, author=None)
    run = services.runs.run_create(
        owner=None,
        input_file=C.upload(csv_path),
        backend=backend,
        start=False,
        intake=RunColumns(jobs=services.JobsChoice(position_column="position").for_run()),
    )
    if not grouped:
        run.opts = run.opts.replace(jobs_interleaved=True)
        run.save(update_fields=["options"])
    t0 = time.monotonic()
    with C.SelfPeak() as usage:
        services.runs.run_start(run=run)  # sync mode: returns when every task has run
        run, _, _, t_terminal = C.wait_for_run(run.pk, timeout, t0=t0, poll=0.1)
    seconds = t_terminal or (time.monotonic() - t0)
    label = "grouped by job" if grouped else "interleaved"
    print(
        f"  {backend}, {label}: {run.status}, {run.done_count} done, {run.failed_count} failed "
        f"in {seconds:.1f} s; {C.foreign_note(usage.foreign, usage.seconds)}",
        flush=True,
    )
    return run, seconds


def _row(label: str, run: Any, seconds: float, server_cached: float | None) -> list[Any]:
    from evaluations import metrics

    shown = metrics.token_savings_pct(run)
    return [
        label,
        f"{run.done_count}/{run.total_count}",
        run.jobs.count(),
        f"{run.prompt_tokens / max(run.done_count, 1):.0f}",
        "-" if server_cached is None else f"{server_cached:.1f}%",
        "-" if shown is None else f"{shown:.1f}%",
        f"{seconds:.1f} s",
        f"{run.done_count / seconds:.2f}",
    ]


def _bench(args: argparse.Namespace, data_dir: Path) -> int:
    from django.conf import settings
    from django_q.conf import Conf

    Conf.SYNC = True  # tasks run inline, in this process (as the test-suite does)
    header = [
        "order",
        "done",
        "jobs",
        "prompt tok/cand",
        "cached share (server)",
        "run page cache figure",
        "wall",
        "candidates/s",
    ]
    print(
        f"jobs_cache: HRBATCH_CONCURRENCY={settings.HRBATCH['CONCURRENCY']}, "
        f"{os.cpu_count()} CPUs, code {C.code_version()}",
        flush=True,
    )
    rows = []
    if args.n:
        csv_path = data_dir / "candidates.csv"
        jobs, job_chars, jobs_path = write_jobs_csv(csv_path, args.n, args.jobs)
        print(
            f"  fake: {args.n} candidates for {jobs} jobs (job text ≈ {job_chars:.0f} characters)",
            flush=True,
        )
        rows += _fake_runs(args, csv_path, jobs_path)

    if args.embedded_n:
        small = data_dir / "candidates-embedded.csv"
        jobs, job_chars, small_jobs = write_jobs_csv(small, args.embedded_n, args.embedded_jobs)
        print(
            f"  embedded: {args.embedded_n} candidates for {jobs} jobs (job text ≈ "
            f"{job_chars:.0f} characters)",
            flush=True,
        )
        for grouped in (False, True):
            run, seconds = _score(
                csv_path=small,
                jobs_path=small_jobs,
                backend="embedded",
                grouped=grouped,
                timeout=3600,
            )
            share = 100 * run.cached_tokens / max(run.prompt_tokens, 1)
            label = "grouped by job" if grouped else "interleaved"
            rows.append(_row(f"embedded, {label}", run, seconds, share))

    print()
    print(
        f"Results: fake Ollama (slots={args.slots}, {args.per_token * 1e6:.0f} µs per evaluated "
        f"prompt token), {args.n} candidates, {args.jobs} positions; embedded SmolLM2-135M, "
        f"{args.embedded_n} candidates, {args.embedded_jobs} positions"
    )
    print(C.table(rows, header))
    print(
        "cached share (server): prompt tokens the server found in its cache (the fake's "
        "counters; the embedded backend's report). Run page cache figure: "
        "metrics.token_savings_pct, as the run page shows it."
    )
    return 0


def _fake_runs(args: argparse.Namespace, csv_path: Path, jobs_path: Path) -> list[list[Any]]:
    from django.conf import settings

    from devtools.fake_ollama import FakeOllama

    rows = []
    with FakeOllama(slots=args.slots, per_token_latency=args.per_token) as fake:
        settings.HRBATCH = {**settings.HRBATCH, "OLLAMA_HOSTS": [fake.url]}
        fake.record_requests = False
        for grouped in (False, True):
            fake.reset()
            run, seconds = _score(
                csv_path=csv_path,
                jobs_path=jobs_path,
                backend="ollama",
                grouped=grouped,
                timeout=900,
            )
            share = 100 * fake.cached_tokens_total / max(fake.prompt_tokens_total, 1)
            label = "grouped by job" if grouped else "interleaved"
            rows.append(_row(f"fake, {label}", run, seconds, share))
    return rows


if __name__ == "__main__":
    sys.exit(main())
