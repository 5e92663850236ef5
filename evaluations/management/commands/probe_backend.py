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

from evaluations import selectors, services
from evaluations.services.common import BackendError


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
        # A fresh data directory: the knee needs somewhere to be stored.
        services.database_migrate()
        if not as_json:
            out("Warming up, then measuring 1, 2, 4, … requests in flight.")
        try:
            report = services.backend_probe_run(
                backend=opts["backend"],
                model=opts["model"],
                max_concurrency=opts["max_concurrency"],
                requests_per_step=opts["requests_per_step"],
                csv_path=opts["csv"],
                on_line=None if as_json else out,
            )
        except (BackendError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        stored = None if opts["no_store"] else services.backend_probe_store(report=report)
        if as_json:
            data = report.to_json()
            data["stored_id"] = stored.pk if stored else None
            self.stdout.write(json.dumps(data, indent=2))
            return
        for line in report.lines():
            out(line)
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
