"""`python manage.py evaluate CANDIDATES.csv --out SCORED.csv`: the engine from a terminal."""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import sys
import time
from pathlib import Path
from typing import Any

from django import db
from django.core.management.base import BaseCommand, CommandError, CommandParser

from evaluations import selectors, services
from evaluations.models import File, Run, RunColumns, RunOptions
from hrbatch import diskfull

SWEEP_SECONDS = 5.0
# How often a follower (an evaluate whose run another process's workers score) checks
# that those workers still run, to take over their work when they have gone.
TAKEOVER_SECONDS = 2.0


class Command(BaseCommand):
    # The worker cluster this process started (None while it follows another's).
    cluster: Any = None
    help = (
        "Score a candidate CSV with the local LLM and write the scored CSV. Re-running the "
        "same command after an interruption resumes the unfinished run of the same file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("candidates", help="The candidate CSV file.")
        parser.add_argument(
            "--out",
            required=True,
            help="Where to write the scored CSV: every original value exactly as in the input, "
            "the input's separator, then the scores (use --excel for a file to open in Excel).",
        )
        parser.add_argument(
            "--rubric",
            default=None,
            help='A shared rubric\'s name for its newest version, or "NAME vN" for version N '
            "(default: the default rubric).",
        )
        parser.add_argument(
            "--id-column",
            default=None,
            help="Column with a unique candidate ID (default: a column named like an ID, "
            "e.g. 'id' or 'Resume ID', whose value is different in every row; else the rows "
            "are numbered).",
        )
        self._add_row_arguments(parser)
        self._add_job_arguments(parser)
        self._add_run_arguments(parser)

    def _add_row_arguments(self, parser: CommandParser) -> None:
        """What to do with rows and columns: invalid and long rows, audit-only columns."""
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="Leave out rows with problems (e.g. a duplicate ID) and score the rest.",
        )
        parser.add_argument(
            "--long-rows",
            choices=["leave-out", "truncate"],
            default="",
            help="What to do with rows too long for the AI model: leave them out, or score "
            "their first part (marked 'truncated' in the results).",
        )
        parser.add_argument(
            "--audit-column",
            action="append",
            default=[],
            metavar="COL",
            help="Mark a column audit only (repeatable): never shown to the model, used only "
            "for the adverse-impact report. Columns named like a protected characteristic "
            "(sex, gender, race, ethnicity, age, disability, veteran, …) already are.",
        )

    def _add_job_arguments(self, parser: CommandParser) -> None:
        """Where each candidate's job comes from: the file's job columns, or saved jobs."""
        parser.add_argument(
            "--job-columns",
            default=None,
            metavar="A,B,C",
            help="The columns that describe the job each candidate applied for (its title "
            "first, then its requirements): each candidate is scored against their job's "
            "text, given to the model once per job. Default: columns named like the job's "
            "(starting with 'job', or saying 'requirement' or 'required'); '' for none.",
        )
        parser.add_argument(
            "--jobs",
            default=None,
            metavar="JOBS.csv",
            help="A jobs file: a CSV with a 'title' column, a 'description' column and any "
            "more columns (requirements, responsibilities…), one row per job. Its jobs are "
            "saved in hrbatch (a new version when a job's text changed) and each candidate is "
            "scored against the job their position column (--job-column) names, case and "
            "spacing aside.",
        )
        parser.add_argument(
            "--jobs-repeated",
            choices=["keep-first", "number"],
            default=None,
            help="When rows of the jobs file repeat a title (spacing and case aside): keep the "
            "first row of each title, or keep them all, the first under its title and the "
            "others numbered ('Nurse #2', 'Nurse #3'). By default such a file is refused, "
            "every problem listed.",
        )
        parser.add_argument(
            "--job-column",
            default=None,
            metavar="COL",
            help="The candidates' position column, matched to the jobs by title (default: the "
            "column that looks like it: few distinct values and a name like position, job, "
            "role, title or requisition). Without --jobs, matched to the jobs already saved "
            "in hrbatch.",
        )
        parser.add_argument(
            "--map-job",
            action="append",
            default=[],
            metavar="'POSITION=JOB TITLE'",
            help="Score the candidates of a position that matches no job title against this "
            "saved job (repeatable); 'POSITION=' (nothing after =) scores them without a job; "
            "'*=' scores every other position that matches no job without one ('*=JOB TITLE': "
            "against that job), however many there are.",
        )

    def _add_run_arguments(self, parser: CommandParser) -> None:
        """How the run is scored and written, and who is told."""
        parser.add_argument(
            "--no-redact",
            dest="redact",
            action="store_false",
            help="Show the model the candidates' text as it is (by default e-mails, phone "
            "numbers, links and the candidate's name are replaced with placeholders).",
        )
        parser.add_argument("--model", default="", help="Model name (e.g. gemma3:12b).")
        parser.add_argument("--backend", default="", choices=["", "auto", "ollama", "embedded"])
        parser.add_argument("--pack-size", type=int, default=1, help="Candidates per request.")
        again = parser.add_mutually_exclusive_group()
        again.add_argument("--fresh", action="store_true", help="Start anew; do not resume.")
        again.add_argument(
            "--retry-failed",
            action="store_true",
            help="Score again the failed candidates of the last run of this same file (as "
            "the run page's 'Retry failed'), then write the whole scored file.",
        )
        parser.add_argument(
            "--excel",
            "--bom",
            dest="excel",
            action="store_true",
            help="Write the Excel version instead: a byte-order mark, and cells that Excel "
            "would run as formulas (starting with = + - @) prefixed with ' (as the web's "
            "Excel download).",
        )
        parser.add_argument("--notify", default="", help="Email address to tell when done.")

    def _roles(
        self,
        proposal: services.IntakeProposal,
        id_column: str | None,
        opts: dict[str, Any],
        *,
        quiet_jobs: bool = False,
    ) -> dict[str, str]:
        """The web page's default column uses, with --job-columns and --audit-column on
        top; says which columns describe the job, which are audit only and which are kept
        from the model for being judgements (or for holding contact details where the job
        goes)."""
        header = proposal.layout.header
        given = opts["job_columns"]
        if given is None:
            # As the check page: a title column with a value per candidate is theirs.
            for column, why in proposal.found.own_titles.items():
                self.stdout.write(
                    f"Not taken for the job: {column}, {why} (name it with --job-columns to "
                    "use it as the job's)."
                )
            job_columns = proposal.found.job_columns
            roles = services.default_roles(header, id_column, job_columns=job_columns)
            contacts = proposal.found.contacts(roles)
        else:
            job_columns = [c.strip() for c in given.split(",") if c.strip()]
            self._check_columns("--job-columns", job_columns, header, id_column)
            roles = services.default_roles(header, id_column, job_columns=job_columns)
            contacts = {}
        roles.update(dict.fromkeys(contacts, services.ROLE_RESULTS))
        audit_columns = opts["audit_column"]
        self._check_columns("--audit-column", audit_columns, header, id_column)
        roles.update(dict.fromkeys(audit_columns, services.ROLE_AUDIT_ONLY))
        jobs = [c for c in header if roles[c] == services.ROLE_JOB]
        if jobs and quiet_jobs:
            self.stdout.write(
                f"Kept in the results (the jobs come from the saved jobs): {', '.join(jobs)}."
            )
        elif jobs:
            how = "--job-columns" if given is not None else "named like the job's"
            self.stdout.write(
                f"Describe the job ({how}; the model reads them once per job): {', '.join(jobs)}."
            )
        reasons = services.role_reasons(header, job_columns=jobs)
        for column in header:
            if roles[column] in (services.ROLE_RESULTS, services.ROLE_AUDIT_ONLY):
                why = contacts.get(column) or reasons[column] or "marked with --audit-column"
                if column in audit_columns:
                    why = "marked with --audit-column: used only to measure adverse impact"
                kept = "audit only" if roles[column] == services.ROLE_AUDIT_ONLY else "kept"
                self.stdout.write(f"Not shown to the model ({kept}): {column}, {why}.")
        return roles

    def _check_columns(
        self, flag: str, columns: list[str], header: list[str], id_column: str | None
    ) -> None:
        """Each column a flag names is in the file, and is not the candidate ID."""
        for column in columns:
            if column not in header:
                near = ", ".join(c for c in header if c.lower() == column.lower())
                if flag == "--job-columns":
                    near = near or ", ".join(
                        c for c, why in services.role_reasons(header).items() if why
                    )
                    raise CommandError(
                        f"{flag} {column}: the file has no such column (did you mean: {near})."
                    )
                raise CommandError(
                    f"{flag} {column}: the file has no such column (its columns: "
                    f"{near or ', '.join(header[:12])})."
                )
            if column == id_column:
                raise CommandError(f"{flag} {column}: that is the candidate ID column.")

    def handle(self, *args: Any, **opts: Any) -> None:
        source = Path(opts["candidates"])
        if not source.is_file():
            raise CommandError(f"No such file: {source}")
        services.database_migrate()  # another evaluate may be starting on this data directory too
        refusal = services.notify_address_refusal(owner=None, address=opts["notify"])
        if refusal:  # before anything is copied or made
            raise CommandError(f"--notify: {refusal}")

        sha256 = services.sha256_of(source)
        run = None if opts["fresh"] else selectors.run_find_resumable(sha256=sha256)
        if opts["retry_failed"]:
            run = self._retry_failed(source, run)
        elif run is not None:
            self.stdout.write(
                f"Resuming run {run.public_id}: {run.finished_count} of {run.total_count} "
                "already finished."
            )
            if run.can_resume:
                services.run_resume(run=run)
            else:
                # The interrupted process's leases are handed back at once (it is gone),
                # and the queue may have lost its tasks.
                services.leases_release_dead()
                services.run_redispatch(run=run)
        else:
            # Keyed by the file's content: the same file started twice at once is one run.
            run = self._create(source, opts, dedupe_key=None if opts["fresh"] else f"cli:{sha256}")

        self.cluster = _ensure_cluster()
        try:
            run = self._watch(run)
        except KeyboardInterrupt:
            self.stderr.write(
                "\nStopped. The run is kept: run the same command again to resume it."
            )
            sys.exit(130)
        finally:
            if self.cluster is not None:
                _stop_cluster(self.cluster)

        if run.status == Run.Status.COMPLETED:
            out = Path(opts["out"])
            services.run_write_scored_csv(run=run, out=out, excel=opts["excel"])
            self.stdout.write(
                self.style.SUCCESS(
                    f"Done: {run.done_count} scored, {run.failed_count} failed"
                    + (
                        f", {run.skipped_count} not scored (too little text)"
                        if run.skipped_count
                        else ""
                    )
                    + f", of {run.total_count}. Wrote {out}"
                )
            )
            agreement = selectors.pack_agreement(run)
            if agreement:
                self.stdout.write(
                    f"Packing {agreement['pack_size']} candidates per request: on a sample of "
                    f"{agreement['sample']} also scored alone, the overall score agreed for "
                    f"{agreement['overall_agreement_pct']}%; mean difference per criterion "
                    + ", ".join(f"{k} {v}" for k, v in agreement["mean_abs_diff"].items())
                )
            return
        raise CommandError(f"Run {run.public_id} ended {run.status}: {run.status_message}")

    def _retry_failed(self, source: Path, unfinished: Run | None) -> Run:
        """The last run of this file, with its failed rows pending again (the same service
        as the web's "Retry failed"); an unfinished run is resumed first."""
        run = unfinished or selectors.run_find_retryable(sha256=services.sha256_of(source))
        if run is None:
            raise CommandError(
                f"No finished run of this file to retry. Score it first: evaluate {source} "
                "--out FILE (without --retry-failed)."
            )
        count = services.run_retry_failed(run=run)
        if count:
            self.stdout.write(
                f"Trying {count} failed candidate{'s' if count != 1 else ''} of run "
                f"{run.public_id} again."
            )
        else:
            self.stdout.write(f"No failed candidates to retry in run {run.public_id}.")
        if run.can_resume:
            services.run_resume(run=run)
        elif unfinished is not None:
            services.run_redispatch(run=run)  # the queue may have lost its tasks
        return run

    def _jobs(self, opts: dict[str, Any], header: list[str]) -> services.JobsChoice:
        """--jobs / --job-column / --map-job: the jobs file saved, and the choice to match
        the candidates' positions to the saved jobs."""
        if opts["jobs"]:
            repeated = (opts.get("jobs_repeated") or "").replace("-", "_")
            try:
                imported = services.jobs_import(
                    path=Path(opts["jobs"]), author=None, repeated=repeated
                )
            except services.JobsFileProblems as exc:
                for _row, message in exc.problems:  # every one, not only the first few
                    self.stderr.write(f"  - {message}")
                way_out = (
                    " Or read it as it is with --jobs-repeated keep-first (the first row of "
                    "each title) or --jobs-repeated number (the others numbered)."
                    if exc.repeated
                    else ""
                )
                raise CommandError(
                    f"{opts['jobs']}: {len(exc.problems)} problem"
                    f"{'s' if len(exc.problems) != 1 else ''} (listed above); nothing was "
                    f"saved. Fix the jobs file and run again.{way_out}"
                ) from exc
            self.stdout.write(f"Jobs file {opts['jobs']}: {imported.summary}")
        column = opts["job_column"] or ""
        if column and column not in header:
            near = ", ".join(header[:30])
            raise CommandError(
                f"--job-column {column}: the file has no such column. Its columns: {near}."
            )
        saved = services.saved_jobs()
        if not saved:
            raise CommandError(
                "No jobs are saved in hrbatch to match the candidates to: give a jobs file "
                "with --jobs JOBS.csv (columns title, description)."
            )
        mapping: dict[str, str] = {}
        rest: str | None = None
        for given in opts["map_job"]:
            position, sep, target = given.partition("=")
            if not sep or not position.strip():
                raise CommandError(
                    f"--map-job {given!r}: write it as 'Position in the file=Job title' (or "
                    "'Position in the file=' to score its candidates without a job, or '*=' "
                    "for every position that matches no job)."
                )
            key = services.title_key(target)
            if key and key not in saved:
                titles = ", ".join(sorted(job.title for job in saved.values())[:30])
                raise CommandError(
                    f"--map-job {given!r}: no saved job is called {target.strip()!r}. Saved "
                    f"jobs: {titles}."
                )
            if position.strip() == "*":  # all the rest, however many
                rest = key
            else:
                mapping[services.title_key(position)] = key
        return services.JobsChoice(position_column=column, mapping=mapping, rest=rest)

    def _position_column(
        self, proposal: services.IntakeProposal, jobs: services.JobsChoice
    ) -> services.JobsChoice:
        """The column the check page would propose as the position column."""
        column, values = proposal.found.position_column, proposal.found.positions
        if not column:
            raise CommandError(
                "No column looks like the position each candidate applied for (few distinct "
                "values, a name like position, job, role, title or requisition). Name it with "
                f"--job-column COL; the file's columns: {', '.join(proposal.layout.header[:30])}."
            )
        self.stdout.write(
            f"Matching jobs by column '{column}' ({len(values)} distinct "
            "values; choose another with --job-column)."
        )
        return dataclasses.replace(jobs, position_column=column)

    def _say_matches(self, check: Any, jobs: services.JobsChoice) -> None:
        by_hand = len(set(check.positions) & set(jobs.mapping))
        saved = set(services.saved_jobs())
        by_title = len((set(check.positions) & saved) - set(jobs.mapping))
        by_rest = len(check.positions) - by_hand - by_title - len(check.unmatched)
        rest = f", {by_rest} by --map-job '*='" if jobs.rest is not None else ""
        n = check.without_job
        self.stdout.write(
            f"Positions in '{check.position_column}': {len(check.positions)} ({by_title} "
            f"matched to a job by title, {by_hand} mapped with --map-job{rest}); {n:,} "
            f"candidate{'s' if n != 1 else ''} scored without a job."
        )
        for key, count in check.unmatched.most_common(50):
            self.stderr.write(
                f"  - “{check.position_titles[key]}” ({count:,} candidate"
                f"{'s' if count != 1 else ''}) matches no job"
            )

    def _create(self, source: Path, opts: dict[str, Any], *, dedupe_key: str | None) -> Run:
        """Check the file with the flags' choices (the web check page's check,
        services.intake), then create its run."""
        layout, problem = services.file_layout(path=source)
        if layout is None:
            raise CommandError(problem)
        try:
            proposal = services.intake_propose(path=source, layout=layout)
        except services.InputError as exc:
            raise CommandError(exc.message) from exc
        id_column = self._id_column(opts, proposal)
        matching = bool(opts["jobs"] or opts["job_column"] or opts["map_job"])
        roles = self._roles(proposal, id_column, opts, quiet_jobs=matching)
        input_file = None
        try:
            rubric = services.rubric_get(opts["rubric"])
            jobs = self._jobs(opts, layout.header) if matching else None
            input_file = services.file_create(
                owner=None, source=source, filename=source.name, purpose=File.Purpose.CANDIDATES
            )
            if jobs is not None and not jobs.position_column:
                jobs = self._position_column(proposal, jobs)  # no --job-column
            # The same check as the web page's before Start.
            checked = services.intake_check(
                input_file=input_file,
                intake=RunColumns(
                    id_column=id_column,
                    roles=roles,
                    skip_invalid=opts["skip_invalid"],
                    long_rows=opts["long_rows"].replace("-", "_"),
                    redact=opts["redact"],
                ),
                jobs=jobs,
                rubric=rubric,
                options=RunOptions(pack_size=opts["pack_size"]),
                door="cli",
            )
            self._say_check(checked)
            run = services.intake_create(
                checked=checked,
                model=opts["model"],
                backend=opts["backend"],
                notify_email=opts["notify"],
                dedupe_key=dedupe_key,
            )
        except services.RunAlreadyStarted as started:
            services.file_delete(file=input_file)  # our copy of the file is not needed
            self.stdout.write(
                f"This file is already being scored by run {started.run.public_id} (started "
                "by another evaluate); following it instead of scoring it twice."
            )
            return started.run
        except (services.InputError, CommandError) as exc:
            if input_file is not None:  # our copy of a file that was not taken
                with contextlib.suppress(OSError, db.DatabaseError):
                    services.file_delete(file=input_file)
            if isinstance(exc, CommandError):
                raise
            raise CommandError(exc.message) from exc
        self._say_created(run)
        return run

    def _id_column(self, opts: dict[str, Any], proposal: services.IntakeProposal) -> str | None:
        """--id-column, or the same guess as the web page's: named like an ID and unique."""
        id_column = opts["id_column"] or proposal.found.id_column
        if id_column and not opts["id_column"]:
            self.stdout.write(
                f"Using column '{id_column}' as the candidate ID: its value is different in "
                "every row (choose another with --id-column)."
            )
        elif not id_column:
            self.stdout.write(
                "No column has a unique ID in every row, so the rows are numbered (row-2, "
                "row-3, …); choose a column with --id-column."
            )
        return id_column

    def _say_check(self, checked: services.IntakeCheck) -> None:
        """What the check found; a refused Start stops here, every problem listed."""
        check = checked.check
        if checked.jobs is not None:
            self._say_matches(check, checked.jobs)
        if refusals := checked.refusals:
            services.file_delete(file=checked.input_file)
            for problem in check.problems[:20]:
                self.stderr.write(f"  - {problem.message}")
            for message in check.long_messages[:20] if "long_rows" in refusals else []:
                self.stderr.write(f"  - {message}")
            raise CommandError(" ".join(refusals.values()))
        for note in check.name_notes:
            self.stdout.write(note)
        if check.empty_rows:
            n = check.empty_rows
            self.stdout.write(f"Skipped {n:,} blank row{'s' if n != 1 else ''}.")
        if check.little_count:
            self.stdout.write(check.little_message)
        if check.copy_count:
            self.stdout.write(check.copies_said)

    def _say_created(self, run: Run) -> None:
        if run.status == Run.Status.FAILED:
            for error in run.errors:
                self.stderr.write(f"  - {error['message']}")
            raise CommandError(f"The file cannot be scored: {run.status_message}")
        opts = run.opts
        if opts.notice:
            self.stdout.write(self.style.WARNING(opts.notice))
        if opts.unreadable:
            self.stdout.write(self.style.WARNING(opts.unreadable))
        jobs = run.jobs.count()
        copies = int(opts.copy_count or 0)
        self.stdout.write(
            f"Run {run.public_id}: {run.total_count} candidates"
            + (f" ({run.total_count - copies:,} distinct, each sent once)" if copies else "")
            + (f" for {jobs} job{'s' if jobs != 1 else ''}" if jobs else "")
            + f", model {run.model} ({run.backend})."
        )

    def _watch(self, run: Run) -> Run:
        tty = self.stdout.isatty()
        last_sweep = last_line = last_look = 0.0
        waiting_for_server = ""
        disk_full_said = 0.0  # when the full disk was last said (0: the disk has room)
        while True:
            run.refresh_from_db()
            now = time.monotonic()
            if self.cluster is None and now - last_look >= TAKEOVER_SECONDS:
                last_look = now
                if run.is_live and not services.clusters_alive():
                    self._take_over(tty)
                    last_sweep = 0.0
            if now - last_sweep >= SWEEP_SECONDS:
                # Recover from dead workers without waiting for the scheduled sweep.
                try:
                    services.sweep()
                except (db.DatabaseError, OSError) as exc:
                    if not services.is_disk_full(exc):
                        raise
                    diskfull.report()  # said below, with what the workers found
                last_sweep = now
            if diskfull.since() is not None and not disk_full_said:
                # Once (the workers wait for room and say nothing here themselves), again
                # only if it lasts.
                disk_full_said = now
                if tty:
                    self.stdout.write("")
                self.stdout.write(
                    self.style.WARNING(
                        f"{diskfull.message()} (Ctrl-C stops waiting; the run is kept.)"
                    )
                )
            elif disk_full_said and diskfull.since() is None:
                disk_full_said = 0.0
                self.stdout.write("There is room on the disk again; scoring goes on.")
            elif disk_full_said and now - disk_full_said >= diskfull.SAY_AGAIN_SECONDS:
                disk_full_said = 0.0  # still full: said again on the next turn
            figures = selectors.run_progress(run)
            if figures["server_unreachable"] != waiting_for_server:
                # An outage is a state: say it once when it starts and once when it ends.
                waiting_for_server = figures["server_unreachable"]
                last_line = 0.0  # and show the progress line with it
                if tty:
                    self.stdout.write("")
                if waiting_for_server:
                    self.stdout.write(
                        self.style.WARNING(
                            f"Waiting for the LLM server: {waiting_for_server} The run goes on "
                            "by itself when it answers (Ctrl-C stops waiting; the run is kept)."
                        )
                    )
                else:
                    self.stdout.write("The LLM server answers again; scoring goes on.")
            if tty or now - last_line >= 5 or run.is_terminal or run.status == Run.Status.PAUSED:
                self.stdout.write(_bar(figures), ending="\r" if tty else "\n")
                self.stdout.flush()
                last_line = now
            if run.is_terminal:
                if tty:
                    self.stdout.write("")
                return run
            if run.status == Run.Status.PAUSED:
                if tty:
                    self.stdout.write("")
                raise CommandError(f"The run is paused: {run.status_message}")
            time.sleep(0.5)

    def _take_over(self, tty: bool) -> None:
        """The process whose workers scored the run this one follows (another evaluate,
        or serve) has gone: score the rest here, starting with what it held or had
        queued, at once."""
        if tty:
            self.stdout.write("")
        self.stdout.write(
            self.style.WARNING(
                "The process that was scoring this run has stopped; this evaluate goes on "
                "with its work."
            )
        )
        services.queue_recover()
        self.cluster = _ensure_cluster()


def _bar(f: dict[str, Any], width: int = 30) -> str:
    total = f["total"] or 1
    filled = int(width * f["finished"] / total)
    rate = f["throughput_per_sec"]
    eta = f["eta_seconds"]
    eta_text = time.strftime("%H:%M:%S", time.gmtime(eta)) if eta is not None else "--:--:--"
    status = "waiting for the LLM server" if f["server_unreachable"] else f["status"]
    if f["queue_position"]:
        status = f"waiting for a free worker (position {f['queue_position']})"
    return (
        f"[{'#' * filled}{'.' * (width - filled)}] {f['finished']}/{f['total']} "
        f"done {f['done']}  failed {f['failed']}  "
        f"{(f'{rate:.1f}' if rate is not None else '-')}/s  ETA {eta_text}  {status}"
    )


def _stop_cluster(cluster: Any, timeout: float = 15.0) -> None:
    """Stop the cluster we started; a worker killed while holding one of the cluster's
    queue locks can leave its shutdown waiting forever, so do not wait forever."""
    import psutil

    cluster.stop_event.set()
    cluster.sentinel.join(timeout)
    if cluster.sentinel.is_alive():
        for child in psutil.Process().children(recursive=True):
            child.kill()


def _ensure_cluster() -> Any:
    """Start a worker cluster in this process unless one is already running."""
    from django_q.brokers import get_broker
    from django_q.cluster import Cluster

    if services.clusters_alive():
        return None
    cluster = Cluster(get_broker())
    # The cluster forks: a child must not share (and later close) our database socket.
    db.connections.close_all()
    # Its processes share our terminal: a full disk is said once, by us (_watch).
    diskfull.leave_it_to_this_process()
    cluster.start()
    # Cluster() took over SIGINT to stop itself; we want Ctrl-C to reach our loop too.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    return cluster
