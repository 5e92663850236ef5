"""The web app on a 170,000-candidate run: how fast the progress fragment answers (it is
polled every 2 s by every open run page) and whether the CSV download streams with flat
memory. Prints figures; asserts nothing.

    .venv/bin/python bench/web_progress.py [--n 170000] [--polls 60]

Targets (issue 3): progress fragment <= 50 ms; download memory flat (does not grow with N).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=170_000)
    parser.add_argument("--polls", type=int, default=60)
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="hrbatch-bench-web-"))
    os.environ["HRBATCH_DATA_DIR"] = str(data)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hrbatch.settings")
    import django

    django.setup()
    import psutil
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db.models import F
    from django.test import Client
    from django.utils import timezone

    from devtools.synthetic import write_candidates_csv
    from evaluations import services
    from evaluations.models import File, Item, Run, RunColumns

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", "bench@example.com", "x")
    source = data / "candidates.csv"
    write_candidates_csv(source, args.n, seed=1)
    upload = services.file_create(
        owner=user, source=source, filename=source.name, purpose=File.Purpose.CANDIDATES
    )
    started = time.perf_counter()
    run = services.runs.run_create(
        owner=user, input_file=upload, start=False, intake=RunColumns(id_column="id")
    )
    ingest_s = time.perf_counter() - started

    # Half the run scored, the last minute's worth recently: a run in full swing.
    now = timezone.now()
    half = args.n // 2
    ids = list(Item.objects.filter(run=run).order_by("id").values_list("id", flat=True))
    scores = {"technical_skills": 7, "communication": 6, "cultural_fit": 5}
    scores |= {"leadership_potential": 4, "overall": 6}
    Item.objects.filter(pk__in=ids[:half]).update(
        status=Item.Status.DONE, result={"scores": scores}, finished_at=now, prompt_tokens=700
    )
    Run.objects.filter(pk=run.pk).update(
        status=Run.Status.IN_PROGRESS,
        in_progress_at=now - timezone.timedelta(hours=2),
        done_count=half,
        prompt_tokens=F("done_count") * 700,
        prompt_eval_ns=F("done_count") * 700 * 20_000,
    )
    run.refresh_from_db()

    client = Client()
    client.force_login(user)
    url = f"/runs/{run.public_id}/progress/"
    client.get(url, headers={"HX-Request": "true"})  # warm up
    timings = []
    for _ in range(args.polls):
        t0 = time.perf_counter()
        response = client.get(url, headers={"HX-Request": "true"})
        timings.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200
    timings.sort()

    process = psutil.Process()
    rss_before = process.memory_info().rss
    peak = rss_before
    t0 = time.perf_counter()
    response = client.get(f"/runs/{run.public_id}/download.csv")
    size = 0
    for count, chunk in enumerate(response.streaming_content):
        size += len(chunk)
        if count % 20 == 0:
            peak = max(peak, process.memory_info().rss)
    rows = args.n + 1  # the header and one row per candidate (cells may hold newlines)
    download_s = time.perf_counter() - t0
    peak = max(peak, process.memory_info().rss)

    print(f"hrbatch web benchmark — {args.n:,} candidates, SQLite, {os.cpu_count()} cores")
    print(f"  ingest (setup)            {args.n / ingest_s:>10,.0f} rows/s")
    print(
        f"  progress fragment         median {statistics.median(timings):6.1f} ms   "
        f"p95 {timings[int(len(timings) * 0.95) - 1]:6.1f} ms   max {timings[-1]:6.1f} ms"
        f"   (target <= 50 ms; {args.polls} polls)"
    )
    print(
        f"  CSV download (streamed)   {rows - 1:,} rows, {size / 1e6:,.1f} MB in "
        f"{download_s:.1f} s = {(rows - 1) / download_s:,.0f} rows/s"
    )
    print(
        f"  memory while streaming    RSS {rss_before / 2**20:,.0f} MB before, peak "
        f"{peak / 2**20:,.0f} MB (+{(peak - rss_before) / 2**20:,.1f} MB for a "
        f"{size / 2**20:,.0f} MB file)"
    )


if __name__ == "__main__":
    main()
