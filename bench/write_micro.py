"""What do the engine's two SQLite write paths cost per Item? (behind engine_ceiling's profile)

    .venv/bin/python bench/write_micro.py [--n 20000] [--batch 100]

1. Ingest (INGEST_BATCH = 2000 rows per transaction):
     I-A. one `Item(...)` per row + `Item.objects.bulk_create(batch)` (how
          services inserted Items until commit 47ce8e3);
     I-B. `services.items.ItemWriter.insert` (today: one `executemany(INSERT …)` per batch), or a
          hand-written executemany on code older than that.
2. Results: the engine's flush (`engine.ChunkWorker.flush`) once wrote each finished Item
   with its own `QuerySet.filter(lease_token=…, status="pending", pk=…).update(…)` in one
   transaction per flush (<= FLUSH_ITEMS = 100 Items).
     R-A. exactly that pattern;
     R-B. the same conditional UPDATE (WHERE id = ? AND lease_token = ? AND status =
          'pending', same columns) through one `cursor.executemany()` per flush.
Prints µs per Item and the implied single-process ceiling. Same SQLite settings as the app
(WAL, synchronous=NORMAL, IMMEDIATE transactions). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=20_000, help="Items per variant (default 20000)")
    p.add_argument("--batch", type=int, default=100, help="Items per result flush (100)")
    p.add_argument("--keep", action="store_true")
    args = p.parse_args()
    data_dir = C.make_data_dir("writes")
    try:
        C.setup_django(data_dir, {"HRBATCH_LLM_BACKEND": "ollama"})
        return _bench(args, data_dir)
    finally:
        C.cleanup(data_dir, args.keep)


def _bench(args: argparse.Namespace, data_dir: Path) -> int:
    from django.conf import settings
    from django.db import connection, transaction
    from django.db.models import F
    from django.utils import timezone

    from evaluations import csvio, services
    from evaluations.models import Item, Run

    n = args.n
    csv_path = data_dir / "candidates.csv"
    C.generate_csv(csv_path, n)
    input_file = C.upload(csv_path)
    layout = csvio.sniff(csv_path)
    header = layout.header
    model_cols = [i for i, c in enumerate(header) if c not in ("id", "name", "email", "phone")]
    other_cols = [i for i, c in enumerate(header) if c in ("name", "email", "phone")]
    rows = [
        (row, values)
        for row, values, problem in csvio.read_records(csv_path, layout, id_column="id")
        if problem is None and values is not None
    ]
    ingest_batch = settings.HRBATCH["INGEST_BATCH"]
    timings: dict[str, tuple[float, str]] = {}

    def new_run() -> Run:
        return Run.objects.create(kind=Run.Kind.RUBRIC, input_file=input_file, options={})

    # I-A: Item instances + bulk_create (services before 47ce8e3) --------------------------
    run_a = new_run()
    t0 = time.perf_counter()
    for i in range(0, n, ingest_batch):
        batch = [
            Item(
                run_id=run_a.pk,
                line=row,
                custom_id=values[0],
                input={header[j]: values[j] for j in model_cols},
                extra={header[j]: values[j] for j in other_cols},
            )
            for row, values in rows[i : i + ingest_batch]
        ]
        with transaction.atomic():
            Item.objects.bulk_create(batch)
    timings["I-A. ingest: Item() + bulk_create (before 47ce8e3)"] = (
        time.perf_counter() - t0,
        "rows",
    )

    # I-B: today's services.items.ItemWriter (one executemany per batch), or a hand-written
    # executemany on code that predates it ---------------------------------------------------
    run_b = new_run()
    table = Item._meta.db_table
    try:
        from evaluations.services.items import ItemWriter as writer_cls
    except ImportError:  # code from before services.items held it
        writer_cls = getattr(services, "ItemWriter", None)
    t0 = time.perf_counter()
    if writer_cls is not None:
        label = "I-B. ingest: services.items.ItemWriter executemany (today)"
        writer = writer_cls(run_b.pk)
        for i in range(0, n, ingest_batch):
            writer.insert(
                [
                    (
                        row,
                        values[0],
                        {header[j]: values[j] for j in model_cols},
                        {header[j]: values[j] for j in other_cols},
                    )
                    for row, values in rows[i : i + ingest_batch]
                ]
            )
    else:
        label = "I-B. ingest: one executemany per batch"
        insert = (
            f'INSERT INTO "{table}" (run_id, line, custom_id, input, extra, status, attempts, '
            "error) VALUES (%s, %s, %s, %s, %s, 'pending', 0, '')"
        )
        for i in range(0, n, ingest_batch):
            params = [
                (
                    run_b.pk,
                    row,
                    values[0],
                    json.dumps({header[j]: values[j] for j in model_cols}),
                    json.dumps({header[j]: values[j] for j in other_cols}),
                )
                for row, values in rows[i : i + ingest_batch]
            ]
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.executemany(insert, params)
    timings[label] = (time.perf_counter() - t0, "rows")

    def stored(run: Run) -> list[tuple[object, object]]:
        items = Item.objects.filter(run_id=run.pk).order_by("line")
        return list(items.values_list("input", "extra")[:50])

    same_input = stored(run_a) == stored(run_b)

    # Results: lease both runs' Items -----------------------------------------------------------
    token = "benchtoken000001"
    Item.objects.filter(run_id__in=[run_a.pk, run_b.pk]).update(
        lease_token=token, lease_until=timezone.now()
    )
    ids_a = list(Item.objects.filter(run_id=run_a.pk).order_by("id").values_list("id", flat=True))
    ids_b = list(Item.objects.filter(run_id=run_b.pk).order_by("id").values_list("id", flat=True))
    result = {
        "scores": {
            "technical_skills": 7,
            "communication": 6,
            "cultural_fit": 7,
            "leadership_potential": 5,
            "overall": 7,
        }
    }

    # R-A: the engine's pattern -------------------------------------------------------------------
    mine = Item.objects.filter(lease_token=token, status=Item.Status.PENDING)
    t0 = time.perf_counter()
    for i in range(0, len(ids_a), args.batch):
        now = timezone.now()
        with transaction.atomic():
            done = 0
            for pk in ids_a[i : i + args.batch]:
                done += mine.filter(pk=pk).update(
                    status=Item.Status.DONE,
                    result=result,
                    error="",
                    prompt_tokens=900,
                    completion_tokens=40,
                    cached_tokens=None,
                    prompt_eval_ns=1000,
                    latency_ms=5,
                    finished_at=now,
                    lease_token=None,
                    lease_until=None,
                )
            Run.objects.filter(pk=run_a.pk).update(done_count=F("done_count") + done)
    timings["R-A. results: one ORM update per Item (today)"] = (time.perf_counter() - t0, "Items")

    # R-B: one executemany per flush ---------------------------------------------------------
    update = (
        f'UPDATE "{table}" SET status = %s, result = %s, error = %s, prompt_tokens = %s, '
        "completion_tokens = %s, cached_tokens = %s, prompt_eval_ns = %s, latency_ms = %s, "
        "finished_at = %s, lease_token = NULL, lease_until = NULL "
        "WHERE id = %s AND lease_token = %s AND status = %s"
    )
    payload = json.dumps(result)
    t0 = time.perf_counter()
    for i in range(0, len(ids_b), args.batch):
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with transaction.atomic(), connection.cursor() as cursor:
            params = [
                ("done", payload, "", 900, 40, None, 1000, 5, now, pk, token, "pending")
                for pk in ids_b[i : i + args.batch]
            ]
            cursor.executemany(update, params)
            done = cursor.rowcount
            Run.objects.filter(pk=run_b.pk).update(done_count=F("done_count") + done)
    timings["R-B. results: one executemany per flush"] = (time.perf_counter() - t0, "Items")

    done_a = Item.objects.filter(run_id=run_a.pk, status="done").count()
    done_b = Item.objects.filter(run_id=run_b.pk, status="done").count()
    same_result = Item.objects.get(pk=ids_a[0]).result == Item.objects.get(pk=ids_b[0]).result
    table_rows = [
        [name, f"{1e6 * s / n:.0f} µs", f"{n / s:,.0f} {unit}/s"]
        for name, (s, unit) in timings.items()
    ]
    print(
        f"write_micro: {n} Items per variant; ingest {ingest_batch} rows per transaction, "
        f"results {args.batch} per transaction; SQLite WAL; code {C.code_version()}"
    )
    print(
        f"checks: same input/extra stored by I-A and I-B: {bool(same_input)}; Items done by "
        f"R-A {done_a}, R-B {done_b}; same stored result: {same_result}"
    )
    print(C.table(table_rows, ["write path", "per Item", "single-process ceiling"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
