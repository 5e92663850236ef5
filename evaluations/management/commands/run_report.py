"""`manage.py run_report (RUN_ID | --latest) [--json]`: the figures that defend a run.

Consistency (the re-scored sample), adverse impact per audit-only column (selection rates
and impact ratios, above the median and in the shortlist), the same two per job where a
job has enough candidates, and the score distributions: the same figures as the run page
and its report CSV (evaluations.selectors.run_report).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from evaluations import selectors
from evaluations.models import Run


class Command(BaseCommand):
    help = "Print a run's consistency, adverse-impact and distribution figures."

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("run", nargs="?", help="The run's id (batch_…), as in its address.")
        which.add_argument("--latest", action="store_true", help="The latest candidate run.")
        parser.add_argument("--json", action="store_true", help="Print JSON (for scripts).")

    def handle(self, *args: Any, **opts: Any) -> None:
        runs = Run.objects.filter(kind=Run.Kind.RUBRIC)
        run = runs.order_by("-created_at", "-id").first() if opts["latest"] else None
        if opts["run"]:
            run = runs.filter(public_id=opts["run"]).first()
            if run is None:
                raise CommandError(f"No candidate run {opts['run']} (see the runs page).")
        if run is None:
            raise CommandError("No candidate run yet.")
        report = selectors.run_report(run)
        if opts["json"]:
            self.stdout.write(json.dumps(report, indent=2, ensure_ascii=False))
            return
        self._print(report)

    def _print(self, report: dict[str, Any]) -> None:
        run = report["run"]
        out = self.stdout.write
        out(f"Run {run['id']} ({run['name']}): {run['scored']} of {run['candidates']} scored")
        out(
            f"Model {run['model']}, rubric {run['rubric']}, prompt {run['prompt_hash'][:12]}, "
            f"answers {run['answer_format']}"
        )
        tokens = run["tokens"]
        if tokens["output_tokens_per_candidate"] is not None:
            cached = tokens["cached_share_pct"]
            out(
                f"Tokens per scored candidate: prompt {tokens['prompt_tokens_per_candidate']}"
                f" ({'—' if cached is None else f'{cached}%'} cached), "
                f"answer {tokens['output_tokens_per_candidate']}"
            )
        if run.get("padded_answers"):
            out(
                f"Padded with whitespace: {run['padded_answers']} answers (the server took only "
                "the schema; the compact answer format leaves whitespace one place)"
            )
        out(f"Hidden from the model in the text: {run['redacted']} e-mails, phones, links, names")
        if run.get("redacted_in_jobs"):
            out(
                f"Hidden from the model in the jobs' text: {run['redacted_in_jobs']} more "
                f"(in {run['jobs_redacted']} job{'s' if run['jobs_redacted'] != 1 else ''})"
            )
        out(
            f"Flagged: {run['instructions_in_text']} with text that tries to instruct the AI, "
            f"{run['too_little_text']} with too little text to score (not sent to the AI)"
        )
        consistency = report["consistency"]
        out("")
        out(f"Consistency: {consistency['reading']}")
        for name, figures in consistency["criteria"].items():
            out(
                f"  {name:<22} same score {figures['exact_agreement']:.0%}, within 1 "
                f"{figures['within_one']:.0%}, mean difference {figures['mean_abs_diff']}"
            )
        if consistency.get("crossing_cutoff") is not None:
            out(f"  would cross the shortlist cut-off: {consistency['crossing_cutoff']}")
        out("")
        if not report["impact"]:
            out("Adverse impact: no audit-only columns in this run.")
        for basis in ("above_median", "shortlist"):
            rows = [r for r in report["impact"] if r["basis"] == basis]
            if not rows:
                continue
            words = (
                "scoring above the median overall"
                if basis == "above_median"
                else (f"in the shortlist (top {run['shortlist_size']})")
            )
            out(f"Adverse impact, selected = {words}:")
            for r in rows:
                ratio = "excluded (<2% or unknown)" if r["excluded"] else r["impact_ratio"]
                flag = "  BELOW 0.8" if r["flag"] else ""
                out(
                    f"  {r['column']:<20} {r['group']:<28} {r['count']:>6} "
                    f"{r['selection_rate']:>7.1%}  {ratio}{flag}"
                )
        if report["jobs"]:
            self._print_jobs(report)
        out("")
        out("Score distributions (score: count):")
        for name, counts in report["distributions"].items():
            out(f"  {name:<22} " + " ".join(f"{k}:{v}" for k, v in counts.items()))

    def _print_jobs(self, report: dict[str, Any]) -> None:
        """One line per job: its candidates, its consistency and its lowest impact ratios,
        or why it has none (too few candidates to say)."""
        out = self.stdout.write
        least = report["job_minimums"]
        out("")
        out(
            f"Per job (consistency from {least['consistency_rescored']} re-scored candidates, "
            f"adverse impact from {least['impact_scored']} scored):"
        )
        for job in report["jobs"]:
            out(f"  {job['job'] or 'No job'}: {job['scored']} of {job['candidates']} scored")
            low = job["consistency_lowest"]
            if low:
                out(
                    f"    consistency: {'stable' if low['stable'] else 'UNSTABLE'}, same score "
                    f"{low['exact_agreement']:.0%} at worst ({low['label']}), "
                    f"{job['rescored']} re-scored"
                )
            else:
                out(f"    consistency: {job['consistency_note']}")
            if job["impact_lowest"] is None:
                out(f"    adverse impact: {job['impact_note']}")
                continue
            for basis, words in (("above_median", "above the median"), ("shortlist", "shortlist")):
                lowest = job["impact_lowest"][basis]
                if lowest is None:
                    out(f"    adverse impact ({words}): no ratio")
                    continue
                flag = f"  {lowest['flagged']} BELOW 0.8" if lowest["flagged"] else ""
                out(
                    f"    adverse impact ({words}): lowest ratio {lowest['impact_ratio']} "
                    f"({lowest['column']}: {lowest['group']}){flag}"
                )
