"""How fast can the engine go when the LLM costs nothing?

    .venv/bin/python bench/engine_ceiling.py [--n 170000] [--workers 2] [--concurrency 8]

Phases (each printed with its target):
  1. generate N synthetic candidates (`manage.py generate_candidates`, subprocess; not a target)
  2. ingest: `services.runs.run_create(..., start=False)` in this process → rows/s, peak RSS
  3. process: a fake Ollama (latency 0, 16 slots, `python -m devtools.fake_ollama` subprocess)
     and a real `manage.py qcluster` subprocess (as `manage.py serve` runs it); the clock
     starts at `services.runs.run_start` (dispatch) and stops when every Item is finished and
     when the run is `completed` (the worker also writes the scored CSV while finalizing)
     → candidates/s; peak RSS of every process of the cluster tree, sampled every 0.5 s;
     CPU seconds per process, with the fake server's share shown apart (on a 2-core machine
     it competes with the engine for the same cores)
  4. export: `export.write_scored_csv` in this process → rows/s, peak RSS
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C

TARGET_INGEST = 10_000  # rows/s
TARGET_PROCESS = 500  # candidates/s
TARGET_RSS = 300 * C.MB  # per process
TARGET_EXPORT = 20_000  # rows/s


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=170_000, help="candidates (default 170000)")
    p.add_argument("--slots", type=int, default=16, help="fake server slots (default 16)")
    p.add_argument("--workers", type=int, default=None, help="HRBATCH_WORKERS (default: env or 2)")
    p.add_argument("--concurrency", type=int, default=None, help="HRBATCH_CONCURRENCY")
    p.add_argument("--chunk-size", type=int, default=None, help="HRBATCH_CHUNK_SIZE")
    p.add_argument("--pack-size", type=int, default=1)
    p.add_argument(
        "--timeout",
        type=float,
        default=1200.0,
        help="give up on processing after this many seconds (default 1200)",
    )
    p.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    args = p.parse_args()

    env = {"HRBATCH_LLM_BACKEND": "ollama"}
    for name, value in (
        ("HRBATCH_WORKERS", args.workers),
        ("HRBATCH_CONCURRENCY", args.concurrency),
        ("HRBATCH_CHUNK_SIZE", args.chunk_size),
    ):
        if value is not None:
            env[name] = str(value)

    data_dir = C.make_data_dir("ceiling")
    try:
        fake, url = C.start_fake(slots=args.slots, latency=0.0)
        env["OLLAMA_HOST"] = url
        C.setup_django(data_dir, env)
        return _bench(args, data_dir, fake)
    finally:
        C.stop_all()
        C.cleanup(data_dir, args.keep)


def _bench(args: argparse.Namespace, data_dir: Path, fake: object) -> int:
    from django.conf import settings

    from evaluations import export, metrics, services
    from evaluations.models import Item, Run, RunColumns, RunOptions

    n = args.n
    workers = settings.Q_CLUSTER["workers"]
    conf = settings.HRBATCH
    print(
        f"engine_ceiling: N={n}, fake Ollama latency 0 × {args.slots} slots (subprocess), "
        f"HRBATCH_WORKERS={workers}, HRBATCH_CONCURRENCY={conf['CONCURRENCY']}, "
        f"HRBATCH_CHUNK_SIZE={conf['CHUNK_SIZE']}, pack size {args.pack_size}, "
        f"{os.cpu_count()} CPUs, code {C.code_version()}, data dir {data_dir}",
        flush=True,
    )

    # 1. generate -------------------------------------------------------------------------
    csv_path = data_dir / "candidates.csv"
    gen_s = C.generate_csv(csv_path, n)
    size = csv_path.stat().st_size
    print(f"[1/4] generated {n} candidates ({size / C.MB:.1f} MB) in {gen_s:.1f} s", flush=True)

    # 2. ingest ---------------------------------------------------------------------------
    with C.SelfPeak() as up:
        input_file = C.upload(csv_path)
    with C.SelfPeak() as ing:
        run = services.runs.run_create(
            owner=None,
            input_file=input_file,
            backend="ollama",
            start=False,
            intake=RunColumns(id_column="id"),
            options=RunOptions(pack_size=args.pack_size),
        )
    run.refresh_from_db()
    if run.status != Run.Status.VALIDATING:
        print(f"ingest failed: {run.status} {run.status_message}")
        return 1
    ingest_rate = run.total_count / ing.seconds
    print(
        f"[2/4] ingested {run.total_count} rows in {ing.seconds:.1f} s "
        f"({ingest_rate:,.0f} rows/s; file_create {up.seconds:.1f} s), peak RSS "
        f"{C.mb(ing.peak)} (+{C.mb(ing.peak - ing.start_rss)}); "
        f"{C.foreign_note(ing.foreign, ing.seconds)}",
        flush=True,
    )

    # 3. process --------------------------------------------------------------------------
    cluster = C.start_qcluster(data_dir / "qcluster.log")
    roles = C.wait_cluster_up(cluster, workers, timeout=60)
    sampler = C.TreeSampler(
        roots={
            "qcluster main": cluster.pid,
            "fake Ollama (subprocess)": fake.pid,
            "bench driver (polls Run)": os.getpid(),
        },
        interval=0.5,
        shallow=frozenset({"bench driver (polls Run)"}),
        extra=lambda: _wal_bytes(data_dir),
    ).start()
    t0 = time.monotonic()
    run = services.runs.run_start(run=run)
    dispatch_s = time.monotonic() - t0
    if run.status != Run.Status.IN_PROGRESS:
        print(f"run did not start: {run.status} {run.status_message}")
        return 1
    run, timeline, t_finished, t_terminal = C.wait_for_run(
        run.pk, args.timeout, t0=t0, alive=[cluster, fake]
    )
    sampler.stop()
    roles.update(C.cluster_roles(cluster))
    wall = t_terminal or t_finished or (time.monotonic() - t0)
    finished = run.done_count + run.failed_count
    first_done = timeline.first_at(1)
    steady = timeline.rate_between(0.1, 0.9, run.total_count)
    e2e = finished / t_finished if t_finished else finished / (time.monotonic() - t0)
    e2e_completed = finished / t_terminal if t_terminal else None
    print(
        f"[3/4] processed {finished}/{run.total_count} (done {run.done_count}, failed "
        f"{run.failed_count}) status {run.status}; dispatch {dispatch_s:.2f} s, first result "
        f"after {first_done or float('nan'):.1f} s, all finished after "
        f"{t_finished or float('nan'):.1f} s, completed after {t_terminal or float('nan'):.1f} s",
        flush=True,
    )
    progress = metrics.run_progress(run)
    C.stop_process(cluster)

    # 4. export ---------------------------------------------------------------------------
    out = data_dir / "scored.csv"
    with C.SelfPeak() as exp:
        size_out = export.write_scored_csv(run, out)
    rows = Item.objects.filter(run_id=run.pk).count()
    export_rate = rows / exp.seconds
    print(
        f"[4/4] exported {rows} rows ({size_out / C.MB:.1f} MB) in {exp.seconds:.1f} s "
        f"({export_rate:,.0f} rows/s), peak RSS {C.mb(exp.peak)}; "
        f"{C.foreign_note(exp.foreign, exp.seconds)}",
        flush=True,
    )

    # report -------------------------------------------------------------------------------
    print()
    print(
        f"Results (N={n}, {os.cpu_count()} CPUs, SQLite WAL, workers={workers}, "
        f"concurrency={conf['CONCURRENCY']}, chunk={services.runs.chunk_size_for(run.total_count)})"
    )
    rows_out = [
        [
            "ingest (run_create start=False)",
            f"{ingest_rate:,.0f} rows/s",
            f">= {TARGET_INGEST:,} rows/s",
            C.verdict(ingest_rate >= TARGET_INGEST),
        ],
        [
            "ingest peak RSS (driver)",
            C.mb(ing.peak),
            f"<= {C.mb(TARGET_RSS)}",
            C.verdict(ing.peak <= TARGET_RSS),
        ],
        [
            "process end to end (dispatch → all finished)",
            f"{e2e:,.0f} cand/s",
            f">= {TARGET_PROCESS} cand/s",
            C.verdict(e2e >= TARGET_PROCESS),
        ],
        [
            "  … incl. finalize (→ status completed)",
            f"{e2e_completed:,.0f} cand/s" if e2e_completed else "-",
            "",
            "",
        ],
        ["  … steady state (10% → 90%)", f"{steady:,.0f} cand/s" if steady else "-", "", ""],
        ["  … run_progress throughput_per_sec", f"{progress['throughput_per_sec']}", "", ""],
        [
            "export (write_scored_csv)",
            f"{export_rate:,.0f} rows/s",
            f">= {TARGET_EXPORT:,} rows/s",
            C.verdict(export_rate >= TARGET_EXPORT),
        ],
        [
            "export peak RSS (driver)",
            C.mb(exp.peak),
            f"<= {C.mb(TARGET_RSS)}",
            C.verdict(exp.peak <= TARGET_RSS),
        ],
    ]
    print(C.table(rows_out, ["phase", "measured", "target", "verdict"]))

    # per-process table for the processing phase
    for pid, role in roles.items():
        sampler.relabel(pid, role)
    for stat in sampler.stats.values():
        if stat.role == "qcluster main child":
            stat.role = "worker"  # born after the start (a recycled worker)
    span = max(sampler.stopped - sampler.started, 1e-9)
    ncpu = os.cpu_count() or 1
    total_cpu = sum(s.cpu_used for s in sampler.stats.values())
    by_role = sampler.by_role()
    prow = []
    for role in sorted(by_role, key=lambda r: (r.startswith("bench"), r.startswith("fake"), r)):
        entry = by_role[role]
        prow.append(
            [
                role,
                entry["count"],
                C.mb(entry["peak_rss"]),
                f"{entry['cpu']:.1f} s",
                f"{100 * entry['cpu'] / span:.0f}%",
                f"{100 * entry['cpu'] / (span * ncpu):.0f}%",
                C.verdict(entry["peak_rss"] <= TARGET_RSS) if not role.startswith("bench") else "",
            ]
        )
    print(
        f"\nProcessing phase, {span:.1f} s sampled every 0.5 s: CPU available "
        f"{span * ncpu:.0f} CPU·s, used {total_cpu:.0f} CPU·s "
        f"({100 * total_cpu / (span * ncpu):.0f}%)"
    )
    print(
        C.table(
            prow,
            [
                "process",
                "pids",
                "peak RSS",
                "CPU time",
                "% of 1 core",
                f"% of {ncpu} cores",
                "RSS <= 300 MB",
            ],
        )
    )
    fake_cpu = by_role.get("fake Ollama (subprocess)", {}).get("cpu", 0.0)
    engine_cpu = sum(v["cpu"] for k, v in by_role.items() if not k.startswith(("fake", "bench")))
    print(
        f"fake server CPU share: {100 * fake_cpu / max(total_cpu, 1e-9):.0f}% of all CPU used "
        f"({fake_cpu:.0f} CPU·s); engine (cluster tree) {engine_cpu:.0f} CPU·s = "
        f"{1000 * engine_cpu / max(finished, 1):.2f} ms CPU per candidate"
    )
    if t_finished is None:
        rate = finished / max(time.monotonic() - t0, 1e-9)
        print(
            f"!! processing stopped at the {args.timeout:.0f} s timeout; extrapolated time for "
            f"{run.total_count}: {run.total_count / max(rate, 1e-9):.0f} s at {rate:.0f}/s"
        )
    print(f"processing phase: {C.foreign_note(sampler.foreign_cpu, span)}")
    if sampler.top_foreign:
        print(
            "  busiest other processes: "
            + ", ".join(f"{name} {cpu:.1f} CPU·s" for name, cpu in sampler.top_foreign)
        )
    print(f"wall: processing {wall:.1f} s")
    _print_timeline(sampler, timeline, t0, ncpu)
    return 0


def _wal_bytes(data_dir: Path) -> int:
    try:
        return (data_dir / "hrbatch.sqlite3-wal").stat().st_size
    except OSError:
        return 0


def _print_timeline(sampler: C.TreeSampler, timeline: C.Timeline, t0: float, ncpu: int) -> None:
    """Throughput, CPU (this benchmark's processes vs others) and WAL size over time."""
    if len(sampler.history) < 3 or len(timeline.points) < 3:
        return
    end = timeline.points[-1][0]
    bins = 10
    width = max(end / bins, 1.0)
    rows = []
    for b in range(bins):
        lo, hi = b * width, min((b + 1) * width, end)
        if hi <= lo:
            break
        pts = [p for p in timeline.points if lo <= p[0] <= hi]
        hist = [h for h in sampler.history if lo <= h[0] - t0 <= hi]
        if len(pts) < 2 or len(hist) < 2:
            continue
        rate = (pts[-1][1] - pts[0][1]) / max(pts[-1][0] - pts[0][0], 1e-9)
        dt = max(hist[-1][0] - hist[0][0], 1e-9)
        own = (hist[-1][1] - hist[0][1]) / (dt * ncpu)
        busy = (hist[-1][2] - hist[0][2]) / (dt * ncpu)
        wal = max(h[3] or 0 for h in hist)
        rows.append(
            [
                f"{lo:.0f}–{hi:.0f} s",
                f"{rate:,.0f}/s",
                f"{100 * own:.0f}%",
                f"{100 * max(busy - own, 0):.0f}%",
                C.mb(wal),
            ]
        )
    print("\nOver time (CPU as % of all cores):")
    print(
        C.table(
            rows, ["interval", "candidates/s", "benchmark procs CPU", "other procs CPU", "WAL max"]
        )
    )


if __name__ == "__main__":
    sys.exit(main())
