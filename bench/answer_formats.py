"""Answer formats on the embedded model: output tokens, time, failures, agreement (issue 10).

    .venv/bin/python bench/answer_formats.py [--limit 40] [--synthetic 10]
                                             [--formats keyed,array,compact] [--pack 1]

Each answer format (HRBATCH_ANSWER_FORMAT: `keyed` objects, `array` of five scores in the
rubric's order) scores the same candidates through the real services and engine with the
embedded backend (llama-cpp-python + SmolLM2-135M, real inference on the CPU; tasks run
inline in this process, one model loaded once). Two sets of candidates: the first
`--limit` rows of ../shared/data/resume_data_97.csv (97 real résumés, all with --limit 97)
and `--synthetic` candidates from `manage.py generate_candidates`.

Printed per set and format: candidates scored and failed (after HRBATCH_MAX_ATTEMPTS tries),
candidates that needed more than one try (an invalid answer or one cut at the token cap),
output (answer) tokens per scored candidate (retries included) and the median of the
accepted answers, the token cap the run used, prompt tokens per candidate, seconds per
candidate (wall clock of the run, model load included), the model's own time per answer,
the commonest five scores with their share and the number of distinct answers (a small
model may answer the same numbers whatever the candidate), and this process's CPU seconds
per candidate (the least disturbed by other work on a
shared machine; each run also says how much CPU other processes took); then the agreement
of each format's scores with the keyed format's on the same candidates, per criterion:
identical, and within ±1.

The run's consistency sample (every run re-scores ~2% again) is turned off here, so that
each format's figures are its candidates' only. Nothing is asserted; the 135M demo
model's scores are not hiring judgements, what this measures is what each format costs
and how far it moves the scores. `--backend ollama` measures the same on a real model
(OLLAMA_HOST, HRBATCH_MODEL), where agreement says something about the format.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C

DEFAULT_FILE = C.PUBLIC_RESUMES


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--file", type=Path, default=DEFAULT_FILE, help="real résumés (CSV)")
    p.add_argument("--limit", type=int, default=40, help="first N rows of --file (default 40)")
    p.add_argument("--synthetic", type=int, default=10, help="synthetic candidates (10)")
    p.add_argument("--formats", default="keyed,array,compact", help="first is the reference")
    p.add_argument("--pack", type=int, default=1, help="candidates per request (1)")
    p.add_argument(
        "--backend",
        default="embedded",
        choices=["embedded", "ollama"],
        help="embedded (default) or ollama (OLLAMA_HOST, HRBATCH_MODEL): a real model",
    )
    p.add_argument("--timeout", type=float, default=1200.0, help="per run, seconds (1200)")
    p.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    args = p.parse_args()
    data_dir = C.make_data_dir("formats")
    try:
        C.setup_django(data_dir, {"HRBATCH_LLM_BACKEND": args.backend})
        return _bench(args, data_dir)
    finally:
        C.unload_embedded_model()
        C.stop_all()
        C.cleanup(data_dir, args.keep)


def _first_rows(source: Path, target: Path, n: int) -> Path:
    with source.open(encoding="utf-8-sig", newline="") as fin:
        rows = list(csv.reader(fin))
    with target.open("w", encoding="utf-8", newline="") as fout:
        csv.writer(fout).writerows(rows[: n + 1])
    return target


def _bench(args: argparse.Namespace, data_dir: Path) -> int:
    from django.conf import settings
    from django_q.conf import Conf

    from evaluations import services
    from evaluations.engine import handlers
    from evaluations.llm import make_backend
    from evaluations.models import RunOptions

    Conf.SYNC = True  # tasks run inline, in this process
    handlers.RubricHandler.rechecks = lambda self, item: ()  # type: ignore[method-assign]
    formats = [f for f in args.formats.split(",") if f]
    backend = make_backend(args.backend)
    threads = getattr(backend, "threads", "-")
    print(
        f"answer_formats: {args.backend} backend, model {backend.default_model or 'default'}, "
        f"{threads} llama.cpp threads, "
        f"{os.cpu_count()} CPUs, formats {formats}, pack size {args.pack}, "
        f"HRBATCH_MAX_ATTEMPTS={settings.HRBATCH['MAX_ATTEMPTS']}, code {C.code_version()}",
        flush=True,
    )
    sets: list[tuple[str, Path]] = []
    if args.limit:
        sets.append(
            (
                f"real résumés (first {args.limit})",
                _first_rows(args.file, data_dir / "real.csv", args.limit),
            )
        )
    if args.synthetic:
        path = data_dir / "synthetic.csv"
        C.generate_csv(path, args.synthetic)
        sets.append((f"synthetic ({args.synthetic})", path))

    table: list[list[Any]] = []
    agreement: list[list[Any]] = []
    for label, path in sets:
        input_file = C.upload(path)
        scores: dict[str, dict[int, dict[str, int]]] = {}
        criteria: list[str] = []
        for fmt in formats:
            settings.HRBATCH["ANSWER_FORMAT"] = fmt
            run = services.runs.run_create(
                owner=None,
                input_file=input_file,
                backend=args.backend,
                start=False,
                options=RunOptions(pack_size=args.pack),
            )
            t0 = time.monotonic()
            with C.SelfPeak() as use:
                services.runs.run_start(run=run)
                run, _, _, t_end = C.wait_for_run(run.pk, args.timeout, t0=t0, poll=0.2)
            seconds = t_end if t_end is not None else time.monotonic() - t0
            assert run.answer_format == fmt, (run.answer_format, fmt)
            criteria = list(run.rubric.criterion_keys) if run.rubric else []
            row, scores[fmt] = _figures(run, seconds)
            cpu = f"{use.cpu / max(run.total_count, 1):.2f}"
            table.append([label, fmt, *row, cpu])
            print(
                f"  {label}, {fmt}: {run.status} in {seconds:.1f} s; "
                f"{C.foreign_note(use.foreign, use.seconds)}",
                flush=True,
            )
        ref = formats[0]
        for fmt in formats[1:]:
            common = sorted(set(scores[ref]) & set(scores[fmt]))
            for key in criteria:
                pairs = [(scores[ref][line][key], scores[fmt][line][key]) for line in common]
                same = sum(a == b for a, b in pairs)
                near = sum(abs(a - b) <= 1 for a, b in pairs)
                n = max(len(pairs), 1)
                pair = f"{fmt} vs {ref}"
                shares = [f"{same / n:.0%}", f"{near / n:.0%}"]
                agreement.append([label, pair, key, len(pairs), *shares])

    print()
    print(f"Results: {args.backend} backend, {os.cpu_count()} CPUs, pack size {args.pack}")
    print(
        C.table(
            table,
            [
                "candidates",
                "format",
                "scored",
                "failed",
                "retried",
                "output tok/cand",
                "median answer tok",
                "token cap",
                "prompt tok/cand",
                "s/cand (wall)",
                "model s/answer",
                "commonest answer",
                "distinct answers",
                "CPU s/cand",
            ],
        )
    )
    if agreement:
        print()
        print("Agreement with the reference format on the same candidates (both scored)")
        print(
            C.table(
                agreement, ["candidates", "formats", "criterion", "compared", "same", "within ±1"]
            )
        )
    return 0


def _figures(run: Any, seconds: float) -> tuple[list[Any], dict[int, dict[str, int]]]:
    from evaluations.models import Item

    items = Item.objects.filter(run_id=run.pk)
    done = items.filter(status=Item.Status.DONE)
    retried = items.filter(attempts__gt=1).count()
    answers = [t for t in done.values_list("completion_tokens", flat=True) if t is not None]
    latencies = [ms for ms in done.values_list("latency_ms", flat=True) if ms is not None]
    scored = max(run.done_count, 1)
    row = [
        f"{run.done_count}/{run.total_count}",
        run.failed_count,
        retried,
        f"{run.completion_tokens / scored:.1f}",
        f"{statistics.median(answers):.0f}" if answers else "-",
        run.opts.num_predict,
        f"{run.prompt_tokens / scored:.0f}",
        f"{seconds / max(run.total_count, 1):.2f}",
        f"{statistics.mean(latencies) / 1000:.2f}" if latencies else "-",
    ]
    scores = {line: result["scores"] for line, result in done.values_list("line", "result")}
    # A small model may answer the same five numbers whatever the candidate (counting
    # 1, 2, 3, 4, 5, or all 10s): the commonest answer and its share show it.
    answers_seen = Counter(tuple(s.values()) for s in scores.values())
    if answers_seen:
        common, times = answers_seen.most_common(1)[0]
        row.append(f"{list(common)} {times / len(scores):.0%}")
        row.append(len(answers_seen))
    else:
        row.extend(["-", 0])
    return row, scores


if __name__ == "__main__":
    raise SystemExit(main())
