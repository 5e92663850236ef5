"""``manage.py generate_candidates N --out FILE.csv [--positions P] [--jobs-out JOBS.csv]``:
write synthetic applicants as CSV, and the jobs they applied for beside them; with
``--shape talentalign``, an export shaped like the `talentalign` one (a `Resume ID`, a
`Job Title` per candidate, "Not Provided" placeholders)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from devtools.synthetic import (
    MAX_POSITIONS,
    write_candidates_csv,
    write_jobs_csv,
    write_talentalign_csv,
)


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def _positions(value: str) -> int:
    number = _positive_int(value)
    if number > MAX_POSITIONS:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_POSITIONS}, got {number}")
    return number


class Command(BaseCommand):
    help = (
        "Write N realistic synthetic job applicants (all invented) to a CSV file for demos, "
        "tests and benchmarks. Deterministic for a given --seed; use --out - for stdout."
    )
    # Pure file generation: no database, no URLconf needed.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("n", type=_positive_int, help="Number of candidates (>= 1).")
        parser.add_argument(
            "--out",
            required=True,
            help='Output CSV path, or "-" for stdout.',
        )
        parser.add_argument("--seed", type=int, default=0, help="Random seed (default 0).")
        parser.add_argument(
            "--positions",
            type=_positions,
            default=50,
            help=f"Number of distinct job titles, 1-{MAX_POSITIONS} (default 50).",
        )
        parser.add_argument(
            "--shape",
            choices=["hrbatch", "talentalign"],
            default="hrbatch",
            help="The file's shape: hrbatch's own columns (id, name, position, skills, …), "
            "or 'talentalign', an export with a Resume ID, a Job Title per candidate (about "
            "8 different titles for every 10 rows), 'Not Provided' placeholders and a Name "
            "column that sometimes holds skills.",
        )
        parser.add_argument(
            "--jobs-out",
            default="",
            metavar="JOBS.csv",
            help=(
                "Also write the jobs file: one row per position (title, description, "
                "requirements, responsibilities), its title exactly as in the candidates' "
                "position column."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        n = options["n"]
        out = options["out"]
        seed = options["seed"]
        positions = options["positions"]
        jobs_out = options.get("jobs_out") or ""
        # call_command(..., n=5) bypasses argparse types, so check again.
        if not isinstance(n, int) or n < 1:
            raise CommandError(f"n must be an integer >= 1, got {n!r}")
        if not isinstance(positions, int) or not 1 <= positions <= MAX_POSITIONS:
            raise CommandError(f"--positions must be between 1 and {MAX_POSITIONS}")
        if jobs_out == "-" and out == "-":
            raise CommandError(
                "--out - and --jobs-out - would both write to stdout; give one of them a file."
            )
        if jobs_out and jobs_out != "-" and os.path.abspath(jobs_out) == os.path.abspath(out):
            raise CommandError("--jobs-out must be another file than --out.")

        started = time.perf_counter()
        if options.get("shape") == "talentalign":
            if jobs_out:
                raise CommandError(
                    "--jobs-out goes with hrbatch's own shape: a talentalign export names no "
                    "position applied for."
                )
            target = "stdout" if out == "-" else out
            try:
                count = write_talentalign_csv(
                    _StdoutWriter(self) if out == "-" else out, n, seed=seed
                )
            except OSError as exc:
                raise CommandError(f"cannot write {out}: {exc}") from exc
            (self.stderr if out == "-" else self.stdout).write(
                f"Wrote {count} candidates (talentalign shape) to {target} in "
                f"{time.perf_counter() - started:.1f}s"
            )
            return
        if out == "-":
            count = write_candidates_csv(_StdoutWriter(self), n, seed=seed, positions=positions)
            target = "stdout"
            report = self.stderr  # keep stdout pure CSV
        else:
            try:
                count = write_candidates_csv(out, n, seed=seed, positions=positions)
            except OSError as exc:
                raise CommandError(f"cannot write {out}: {exc}") from exc
            target = out
            report = self.stdout
        elapsed = time.perf_counter() - started
        report.write(f"Wrote {count} candidates to {target} in {elapsed:.1f}s")
        if jobs_out:
            try:
                jobs = write_jobs_csv(
                    _StdoutWriter(self) if jobs_out == "-" else jobs_out, positions=positions
                )
            except OSError as exc:
                raise CommandError(f"cannot write {jobs_out}: {exc}") from exc
            where = "stdout" if jobs_out == "-" else jobs_out
            (self.stderr if "-" in (out, jobs_out) else self.stdout).write(
                f"Wrote {jobs} jobs to {where}, one per position (its title is the candidates' "
                "position)"
            )


class _StdoutWriter:
    """File-like adapter: csv.writer -> the command's stdout, without OutputWrapper's endings."""

    def __init__(self, command: BaseCommand) -> None:
        self._out = command.stdout

    def write(self, text: str) -> int:
        try:
            self._out.write(text, ending="")
        except BrokenPipeError:  # e.g. `generate_candidates 1000 --out - | head`
            sys.stderr.close()
            raise SystemExit(0) from None
        return len(text)
