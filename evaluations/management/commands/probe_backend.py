"""`manage.py probe_backend [--model M] [--max-concurrency 64] [--backend auto|ollama|…]
[--requests-per-step N] [--csv FILE] [--json] [--no-store]`: measure the concurrency knee.

Sends the run's real request shape through the backend at 1, 2, 4, 8, … requests in
flight until throughput stops rising, prints the table, the knee, what the server says
about its slots and the model's VRAM, and the GPU memory; stores the knee, which
HRBATCH_CONCURRENCY=auto (the default) uses for runs of that backend and model
(services.backend_probe_run / backend_probe_store, selectors.concurrency_for).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from evaluations import locks, probe, selectors, services, vram
from evaluations.llm import BackendError


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


class Command(BaseCommand):
    help = (
        "Measure how many requests in flight the LLM backend turns into speed (the knee), "
        "print the table and store the knee for HRBATCH_CONCURRENCY=auto."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--model", default="", help="Model to probe (default HRBATCH_MODEL).")
        parser.add_argument(
            "--backend",
            default=None,
            help="auto, ollama, embedded, … (default HRBATCH_LLM_BACKEND).",
        )
        parser.add_argument("--max-concurrency", type=_positive_int, default=64)
        parser.add_argument(
            "--requests-per-step",
            type=_positive_int,
            default=None,
            help="Requests per step (default 8 per request in flight, at least 16).",
        )
        parser.add_argument(
            "--csv", type=Path, default=None, help="Candidates to send (default: synthetic)."
        )
        parser.add_argument("--json", action="store_true", help="Print JSON (for scripts).")
        parser.add_argument(
            "--no-store", action="store_true", help="Measure and print only; store nothing."
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        out = self.stdout.write
        as_json = opts["json"]
        if opts["csv"] is not None and not opts["csv"].is_file():
            raise CommandError(f"No such file: {opts['csv']}")
        locks.migrate()  # a fresh data directory: the knee needs somewhere to be stored
        if not as_json:
            out("Warming up, then measuring 1, 2, 4, … requests in flight.")
            out(probe.TABLE_HEADER)
        steps: list[probe.Step] = []

        def on_step(step: probe.Step) -> None:
            if not as_json:
                if step.retaken:  # measured again: a line of its own, no gain
                    out(probe.format_row(step))
                else:
                    out(probe.format_row(step, steps[-1] if steps else None))
            if not step.retaken:
                steps.append(step)

        try:
            report = services.backend_probe_run(
                backend=opts["backend"],
                model=opts["model"],
                max_concurrency=opts["max_concurrency"],
                requests_per_step=opts["requests_per_step"],
                csv_path=opts["csv"],
                on_step=on_step,
            )
        except (BackendError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        stored = None if opts["no_store"] else services.backend_probe_store(report=report)
        if as_json:
            data = report.to_json()
            data["stored_id"] = stored.pk if stored else None
            self.stdout.write(json.dumps(data, indent=2))
            return
        self._print(report, stored)

    def _print(self, report: probe.ProbeReport, stored: Any) -> None:
        out = self.stdout.write
        out(
            f"(gain: throughput over the previous step; the probe stops below "
            f"{probe.MIN_GAIN:.0%}. *: measured again as a knee candidate, the better "
            "figure counts)"
        )
        out("")
        where = f" at {report.where}" if report.where else ""
        out(f"Backend {report.backend}{where}, model {report.model}")
        out(f"Request shape: num_ctx {report.num_ctx:,}, num_predict {report.num_predict}")
        knee = f"Knee: {report.knee} request{'s' if report.knee != 1 else ''} in flight"
        if report.measurement.reached_max:
            knee += " (throughput was still rising at --max-concurrency: the knee may be higher)"
        else:
            knee += (
                f" (the fewest within {probe.PLATEAU:.0%} of the best throughput; more "
                "only wait in the server's queue)"
            )
        out(knee)
        server = report.server
        out(f"Server slots: {server.slots if server.slots else '?'} ({server.note})")
        out(
            "Model in VRAM: "
            + (vram.gib(server.model_vram) if server.model_vram is not None else "not reported")
        )
        if report.gpus:
            for gpu in report.gpus:
                out(
                    f"GPU {gpu['index']}: {gpu['name']}, {vram.gib(gpu['total'])} total, "
                    f"{vram.gib(gpu['used'])} used, {vram.gib(gpu['free'])} free"
                )
        else:
            out(f"GPU memory: {report.gpu_note}")
        if report.vram_warning:
            out(f"WARNING: {report.vram_warning}")
        if stored is None:
            out("Not stored (--no-store).")
            return
        choice = selectors.concurrency_for(
            backend=report.backend, model=report.model, where=report.where
        )
        if choice.origin == "setting":
            out(
                f"Stored. HRBATCH_CONCURRENCY is set to {choice.value}, so runs use that; "
                "unset it (or set it to auto) to use the knee."
            )
        else:
            out(
                f"Stored. Runs of {report.model} on this backend now keep {choice.value} "
                "requests in flight per worker (HRBATCH_CONCURRENCY=auto)."
            )
