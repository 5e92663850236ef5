"""Copies of one candidate: how many requests hrbatch saves by scoring each once.

    .venv/bin/python bench/duplicates.py [--rows 962] [--distinct 166] [--csv FILE]
                                         [--latency 0.02] [--slots 4] [--keep]

Kaggle's public UpdatedResumeDataSet.csv (Category + a multi-line Resume) has 962 rows but
only 166 distinct résumés. hrbatch scores each distinct candidate-and-job once (the same
text shown to the AI for the same job, spacing and case aside) and gives the copies its
scores. This scores a file of that shape (devtools.synthetic.resumes: the real file's
categories and sizes, exact and near copies), or `--csv FILE` (the real file, say),
through the real services and engine against the fake Ollama server, and prints:

- what the check page says (copies, distinct candidates) and the time of that check;
- the requests sent: scoring requests (one per distinct candidate) and the consistency
  sample's rechecks (HRBATCH_CONSISTENCY_PCT, default 2%, at least 20), against what one
  request per row would have sent (the rows, and the same sample);
- the share of requests saved, the run's time and the rows finished per second.

Tasks run inline in this process (django-q2 sync mode) on SQLite in a temporary data
directory; the fake server answers each request after --latency seconds (a GPU's time
per candidate is what the saving is about; the fake's own cost is nothing).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rows", type=int, default=962, help="rows of the generated file (962)")
    p.add_argument("--distinct", type=int, default=166, help="distinct résumés in it (166)")
    p.add_argument("--csv", type=Path, help="score this file instead of a generated one")
    p.add_argument("--slots", type=int, default=4, help="fake server slots (default 4)")
    p.add_argument(
        "--latency", type=float, default=0.02, help="fake: seconds per request (default 0.02)"
    )
    p.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    args = p.parse_args()

    data_dir = C.make_data_dir("duplicates")
    try:
        C.setup_django(data_dir, {"HRBATCH_CONCURRENCY": str(args.slots)})
        return _bench(args, data_dir)
    finally:
        C.stop_all()
        C.cleanup(data_dir, args.keep)


def _bench(args: argparse.Namespace, data_dir: Path) -> int:
    from django.conf import settings
    from django_q.conf import Conf

    from devtools.fake_ollama import FakeOllama
    from devtools.synthetic.resumes import write_resume_dataset
    from evaluations import services
    from evaluations.models import Item, RunColumns
    from evaluations.services.runs import consistency_stride

    Conf.SYNC = True  # tasks run inline, in this process (as the test-suite does)
    if args.csv:
        path, shape = args.csv, f"{args.csv.name}"
    else:
        path = write_resume_dataset(data_dir / "UpdatedResumeDataSet.csv", args.rows, args.distinct)
        shape = f"generated: {args.rows} rows, {args.distinct} distinct résumés"
    print(f"duplicates: {shape}; code {C.code_version()}", flush=True)

    upload = C.upload(path)
    t0 = time.perf_counter()
    check = services.file_check(input_file=upload, intake=RunColumns())
    check_seconds = time.perf_counter() - t0
    print(f"  check page: {check.copies_said or 'no copies'} ({check_seconds:.2f} s)", flush=True)

    with FakeOllama(slots=args.slots, latency=args.latency) as fake:
        settings.HRBATCH = {**settings.HRBATCH, "LLM_BACKEND": "ollama", "OLLAMA_HOSTS": [fake.url]}
        fake.record_requests = False
        run = services.runs.run_create(
            owner=None,
            input_file=upload,
            backend="ollama",
            start=False,
            intake=RunColumns(id_column=None),
        )
        t0 = time.monotonic()
        with C.SelfPeak() as usage:
            services.runs.run_start(run=run)  # sync mode: returns when every task has run
            run, _, _, t_terminal = C.wait_for_run(run.pk, 1800, t0=t0, poll=0.1)
        seconds = t_terminal or (time.monotonic() - t0)
        sent = fake.chat_count

    rows = run.total_count
    rechecks = Item.objects.filter(run=run, result__has_key=Item.RECHECK_SCORES).count()
    scoring = sent - rechecks
    # One request per row, as before copies were told apart: every row, and the sample
    # drawn from every row.
    stride = consistency_stride(rows)
    before = rows + (len(range(stride, rows + 2, stride)) if stride else 0)
    header = ["", "rows", "distinct", "scoring requests", "rechecks", "requests", "saved"]
    table = [
        ["one request per row", rows, "-", rows, before - rows, before, "-"],
        [
            "each candidate once",
            rows,
            rows - int(run.opts.copy_count or 0),
            scoring,
            rechecks,
            sent,
            f"{100 * (1 - sent / before):.1f}% of requests",
        ],
    ]
    print()
    print(C.table(table, header))
    print(
        f"Scoring requests alone: {rows} → {scoring}, {100 * (1 - scoring / rows):.1f}% saved. "
        f"Run {run.status}: {run.done_count} done, {run.failed_count} failed in {seconds:.1f} s "
        f"({run.done_count / seconds:.1f} rows/s at {args.latency * 1000:.0f} ms per request, "
        f"{args.slots} slots); {C.foreign_note(usage.foreign, usage.seconds)}."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
