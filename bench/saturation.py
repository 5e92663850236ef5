"""Does the engine keep every server slot busy?

    .venv/bin/python bench/saturation.py [--n 1200] [--slots 8] [--latency 0.1]
                                         [--settings 2x8,1x8,2x4,1x4]

A fake Ollama with P slots and a fixed latency L can answer at most P/L requests per
second (default 8 / 0.1 s = 80/s). For each WORKERSxCONCURRENCY setting, a real
`manage.py qcluster` subprocess (fresh, with HRBATCH_WORKERS / HRBATCH_CONCURRENCY set)
scores N candidates against it; the clock runs from `services.runs.run_start` (dispatch) to
the last Item finished. Printed per setting: candidates/s and % of P/L (target >= 95%),
the steady-state rate (10% → 90% of the run), time to the first result, the fake's
max_in_flight and its mean slot occupancy (sampled every 10 ms).

The fake runs in a thread of this process so that its counters can be read: at ~80
requests/s it is far from being GIL-bound, and this process only polls the Run row.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C

if TYPE_CHECKING:
    from devtools.fake_ollama import FakeOllama

TARGET_PCT = 95.0


class Occupancy:
    """Samples the fake's busy slots and queued requests every `interval` s."""

    def __init__(self, fake: FakeOllama, interval: float = 0.01):
        self.fake = fake
        self.interval = interval
        self.samples: list[tuple[float, int, int]] = []
        self._stop = threading.Event()

    def start(self) -> Occupancy:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        fake = self.fake
        while not self._stop.wait(self.interval):
            self.samples.append((time.monotonic(), fake.in_flight, fake.queued))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def mean_busy(self, t_from: float, t_to: float) -> float | None:
        window = [busy for t, busy, _ in self.samples if t_from <= t <= t_to]
        return sum(window) / len(window) if window else None

    def first_request(self) -> float | None:
        return next((t for t, busy, queued in self.samples if busy or queued), None)

    def max_queued(self) -> int:
        return max((q for _, _, q in self.samples), default=0)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=1200, help="candidates per setting (default 1200)")
    p.add_argument("--slots", type=int, default=8, help="P, fake server slots (default 8)")
    p.add_argument("--latency", type=float, default=0.1, help="L, seconds per request (0.1)")
    p.add_argument(
        "--settings",
        default="2x8,1x8,2x4,1x16,1x4",
        help="comma-separated WORKERSxCONCURRENCY (default 2x8,1x8,2x4,1x16,1x4)",
    )
    p.add_argument("--pack-size", type=int, default=1)
    p.add_argument(
        "--what-if",
        action="store_true",
        help="also run each setting with a what-if cluster (bench/_qcluster.py): broker poll "
        "--poll s and the engine + Ollama client imported before the workers fork",
    )
    p.add_argument("--poll", type=float, default=0.1, help="what-if broker poll (0.1 s)")
    p.add_argument(
        "--no-client-baseline",
        action="store_true",
        help="skip the reference runs of the client alone (bench/_client_baseline.py)",
    )
    p.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    args = p.parse_args()
    combos = [tuple(int(x) for x in s.lower().split("x")) for s in args.settings.split(",") if s]

    from devtools.fake_ollama import FakeOllama

    data_dir = C.make_data_dir("saturation")
    fake = FakeOllama(slots=args.slots, latency=args.latency)
    fake.record_requests = False
    fake.start()
    try:
        C.setup_django(data_dir, {"HRBATCH_LLM_BACKEND": "ollama", "OLLAMA_HOST": fake.url})
        return _bench(args, combos, data_dir, fake)
    finally:
        C.stop_all()
        fake.stop()
        C.cleanup(data_dir, args.keep)


def _bench(
    args: argparse.Namespace, combos: list[tuple[int, ...]], data_dir: Path, fake: Any
) -> int:
    from django.conf import settings

    from evaluations import services
    from evaluations.models import Run, RunColumns, RunOptions

    n, slots, latency = args.n, args.slots, args.latency
    ideal = slots / latency * args.pack_size
    print(
        f"saturation: N={n}, fake Ollama {slots} slots × {latency} s (in-process thread) → "
        f"ideal P/L = {ideal:.0f} candidates/s ({n / ideal:.1f} s), pack size "
        f"{args.pack_size}, {os.cpu_count()} CPUs, code {C.code_version()}",
        flush=True,
    )
    csv_path = data_dir / "candidates.csv"
    C.generate_csv(csv_path, n)

    rows = []
    ncpu = os.cpu_count() or 1
    # The first run_start in a process imports the Ollama client (~0.15 s); do it now so
    # that the first setting is not charged for it.
    import evaluations.llm.ollama_backend  # noqa: F401

    run = None
    cases = [(w, c, False) for w, c in combos]
    if args.what_if:
        cases = [case for w, c in combos for case in ((w, c, False), (w, c, True))]
    for workers, concurrency, what_if in cases:
        label = f"{workers} × {concurrency}" + (
            f" what-if (poll {args.poll} s, preimport)" if what_if else ""
        )
        if what_if:
            os.environ.update(BENCH_Q_POLL=str(args.poll), BENCH_PREIMPORT="1")
        else:
            os.environ.pop("BENCH_Q_POLL", None)
            os.environ.pop("BENCH_PREIMPORT", None)
        os.environ["HRBATCH_WORKERS"] = str(workers)
        os.environ["HRBATCH_CONCURRENCY"] = str(concurrency)
        # This process dispatches, and sizes chunks by the cluster's worker count.
        settings.Q_CLUSTER["workers"] = workers
        run = services.runs.run_create(
            owner=None,
            input_file=C.upload(csv_path),
            backend="ollama",
            start=False,
            intake=RunColumns(id_column="id"),
            options=RunOptions(pack_size=args.pack_size),
        )
        cluster = C.start_qcluster(
            data_dir / f"qcluster-{workers}x{concurrency}{'-whatif' if what_if else ''}.log",
            what_if=what_if,
        )
        try:
            C.wait_cluster_up(cluster, workers, timeout=60)
            time.sleep(1.0)  # let the scheduled sweep (due at start-up) run first
            fake.reset()
            occupancy = Occupancy(fake).start()
            sampler = C.TreeSampler(roots={"cluster": cluster.pid, "driver": os.getpid()}).start()
            t0 = time.monotonic()
            run = services.runs.run_start(run=run)
            dispatch = time.monotonic() - t0
            if run.status != Run.Status.IN_PROGRESS:
                print(f"  {label}: run did not start: {run.status} {run.status_message}")
                continue
            run, timeline, t_finished, _t_terminal = C.wait_for_run(
                run.pk, max(60.0, 6 * n / ideal), t0=t0, poll=0.05, alive=[cluster]
            )
            occupancy.stop()
            sampler.stop()
        finally:
            C.stop_process(cluster)
            C.PROCS.remove(cluster)
        finished = run.done_count + run.failed_count
        first = timeline.first_at(1)
        if t_finished:
            rate = finished / t_finished
        else:
            rate = finished / max(timeline.points[-1][0], 1e-9) if timeline.points else 0.0
        span = max(sampler.stopped - sampler.started, 1e-9)
        foreign_pct = 100 * max(sampler.foreign_cpu, 0.0) / (span * ncpu)
        steady = timeline.rate_between(0.1, 0.9, run.total_count)
        first_req = occupancy.first_request()
        first_req = first_req - t0 if first_req is not None else None
        busy = occupancy.mean_busy(t0 + (first or 0.0), t0 + (t_finished or 1e9))
        tail = (t_finished - timeline.first_at(int(0.9 * run.total_count))) if t_finished else None
        rows.append(
            [
                label,
                workers * concurrency,
                services.runs.chunk_size_for(run.total_count),
                f"{finished}/{run.total_count}"
                + ("" if run.failed_count == 0 else f" ({run.failed_count} failed)"),
                f"{t_finished:.2f} s" if t_finished else "timeout",
                f"{rate:.1f}/s",
                f"{100 * rate / ideal:.1f}%",
                f"{steady:.1f}/s ({100 * steady / ideal:.0f}%)" if steady else "-",
                f"{dispatch:.2f} s",
                f"{first_req:.2f} s" if first_req is not None else "-",
                f"{first:.2f} s" if first else "-",
                f"{tail:.2f} s" if tail is not None else "-",
                fake.max_in_flight,
                f"{busy:.2f}/{slots}" if busy is not None else "-",
                occupancy.max_queued(),
                f"{foreign_pct:.0f}%",
                C.verdict(100 * rate / ideal >= TARGET_PCT),
            ]
        )
        print(
            f"  {label}: {rate:.1f}/s = {100 * rate / ideal:.1f}% of P/L "
            f"(max_in_flight {fake.max_in_flight}, chats {fake.chat_count})",
            flush=True,
        )

    print()
    print(
        f"Results: N={n} per setting, P={slots} slots, L={latency} s, ideal P/L = {ideal:.0f}/s;"
        " clock = run_start (dispatch) → last Item finished"
    )
    print(
        C.table(
            rows,
            [
                "workers × conc.",
                "in flight max",
                "chunk",
                "finished",
                "wall",
                "achieved",
                "% of P/L",
                "steady 10→90%",
                "run_start",
                "1st request",
                "1st result",
                "last 10%",
                "fake max_in_flight",
                "mean busy slots",
                "max queued at fake",
                "other procs CPU",
                f"≥ {TARGET_PCT:.0f}%",
            ],
        )
    )
    if not args.no_client_baseline and run is not None:
        _client_baseline(args, data_dir, fake, run, sorted({w * c for w, c in combos}), ideal)
    return 0


def _client_baseline(
    args: argparse.Namespace,
    data_dir: Path,
    fake: Any,
    run: Any,
    in_flight: list[int],
    ideal: float,
) -> None:
    """The engine's own request payloads through its OllamaBackend, no engine around it,
    from a separate process (like a worker), with the same number in flight."""
    import dataclasses
    import json
    import subprocess

    from evaluations import engine
    from evaluations.models import Item

    handler = engine.handler_for(run)
    items = list(Item.objects.filter(run_id=run.pk).order_by("id"))
    k = handler.pack_size
    bodies = [
        dataclasses.asdict(handler.request(items[i : i + k], 1)) for i in range(0, len(items), k)
    ]
    path = data_dir / "requests.json"
    path.write_text(json.dumps(bodies))
    rows = []
    for concurrency in in_flight:
        fake.reset()
        try:
            out = subprocess.run(
                [
                    C.PY,
                    str(C.ROOT / "bench" / "_client_baseline.py"),
                    fake.url,
                    str(path),
                    str(concurrency),
                ],
                cwd=C.ROOT,
                capture_output=True,
                text=True,
                timeout=300,
                check=True,
            ).stdout
            figures = json.loads(out.strip().splitlines()[-1])
        except (subprocess.SubprocessError, ValueError, IndexError) as exc:
            rows.append([concurrency, "failed", str(exc)[:60], "", "", ""])
            continue
        rate = figures["rate"] * k
        rows.append(
            [
                concurrency,
                f"{rate:.1f}/s",
                f"{100 * rate / ideal:.1f}%",
                f"{figures['latency_mean_ms']:.1f} ms",
                f"{figures['latency_p99_ms']:.1f} ms",
                fake.max_in_flight,
            ]
        )
    print(
        f"\nReference: the client alone (engine's OllamaBackend and payloads, one event loop in "
        f"a separate process, no engine, no database), {len(bodies)} requests, "
        f"L = {args.latency * 1000:.0f} ms"
    )
    print(
        C.table(
            rows,
            [
                "in flight",
                "achieved",
                "% of P/L",
                "mean latency",
                "p99 latency",
                "fake max_in_flight",
            ],
        )
    )


if __name__ == "__main__":
    sys.exit(main())
