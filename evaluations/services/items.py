"""Item rows written in bulk with one statement each: the ingest's inserts (a CSV's
candidates, a batch's requests) and the worker's results (done or failed).

Django's bulk_create and a per-row save compile the SQL of every field of every row: three
quarters of the time of a 170,000-line ingest, and most of a flush of results. Here each
statement is built once, its values prepared as the model fields prepare them
(get_db_prep_save), and sent with one executemany.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connections, router, transaction

from ..models import Item, Job

# A result of the worker: (Item id, result, prompt tokens, completion tokens, cached
# tokens, prompt eval ns, latency ms); the token figures are None for a copy (never sent).
Done = tuple[int, dict[str, Any], int | None, int | None, int | None, int | None, int | None]
# (Item id, error)
Failed = tuple[int, str]


class ItemWriter:
    """Inserts the Items of one run (`insert`) and writes results to them (`finish`).

    An insert's other columns take their model defaults (from Item._meta), and only line,
    custom_id, input and extra (and job, flags, the Item it copies) vary.
    """

    _VARYING = ("line", "custom_id", "input", "extra", "job", "flags", "copy_of")

    def __init__(self, run_id: int):
        self.using = router.db_for_write(Item)
        self.connection = connections[self.using]
        quote = self.connection.ops.quote_name
        fields = [f for f in Item._meta.concrete_fields if not f.primary_key]
        self.template: list[Any] = []
        for field in fields:
            if field.name == "run":
                self.template.append(run_id)
            elif field.name in self._VARYING:
                self.template.append(None)
            else:
                default = field.get_default()
                self.template.append(field.get_db_prep_save(default, self.connection))
        names = [f.name for f in fields]
        self.slots = tuple(names.index(name) for name in self._VARYING)
        self.json_field = Item._meta.get_field("input")
        self.result_field = Item._meta.get_field("result")
        self.time_field = Item._meta.get_field("finished_at")
        table = quote(Item._meta.db_table)
        self.sql = "INSERT INTO {} ({}) VALUES ({})".format(
            table,
            ", ".join(quote(f.column) for f in fields),
            ", ".join(["%s"] * len(fields)),
        )
        released = "lease_token = NULL, lease_until = NULL"
        self.done_sql = (
            f"UPDATE {table} SET status = 'done', result = %s, error = '', prompt_tokens = %s, "
            f"completion_tokens = %s, cached_tokens = %s, prompt_eval_ns = %s, "
            f"latency_ms = %s, finished_at = %s, {released} WHERE id = %s"
        )
        self.failed_sql = (
            f"UPDATE {table} SET status = 'failed', error = %s, finished_at = %s, {released} "
            "WHERE id = %s"
        )

    def insert(
        self,
        rows: list[tuple[int, str, dict[str, Any], dict[str, Any]]]
        | list[tuple[int, str, dict[str, Any], dict[str, Any], int | None, str]]
        | list[tuple[int, str, dict[str, Any], dict[str, Any], int | None, str, int | None]],
    ) -> int:
        """Rows of (line, custom_id, input, extra[, job id, flags[, the Item it copies]]),
        in one short transaction."""
        if not rows:
            return 0
        line_at, custom_id_at, input_at, extra_at, job_at, flags_at, copy_at = self.slots
        prepare = self.json_field.get_db_prep_save
        params = []
        for line, custom_id, body, extra, *rest in rows:
            values = list(self.template)
            values[line_at] = line
            values[custom_id_at] = custom_id
            values[input_at] = prepare(body, self.connection)
            values[extra_at] = prepare(extra, self.connection)
            values[job_at] = rest[0] if rest else None
            values[flags_at] = rest[1] if len(rest) > 1 else ""
            values[copy_at] = rest[2] if len(rest) > 2 else None
            params.append(values)
        with transaction.atomic(using=self.using), self.connection.cursor() as cursor:
            cursor.executemany(self.sql, params)
        return len(rows)

    def finish(self, done: list[Done], failed: list[Failed], *, now: datetime) -> None:
        """Items done with their result, and Items failed with their error, finished at
        `now`, their lease released. The caller holds them (the worker checks its lease
        under a row lock, in the transaction this runs in)."""
        when = self.time_field.get_db_prep_save(now, self.connection)
        prepare = self.result_field.get_db_prep_save
        with self.connection.cursor() as cursor:
            if done:
                cursor.executemany(
                    self.done_sql,
                    [
                        (prepare(result, self.connection), *figures, when, pk)
                        for pk, result, *figures in done
                    ],
                )
            if failed:
                cursor.executemany(self.failed_sql, [(error, when, pk) for pk, error in failed])


def run_items_delete(*, run_id: int) -> None:
    """A run's Items and its Jobs (its positions, or a batch's system-message groups):
    what a run whose input will not be scored keeps none of."""
    Item.objects.filter(run_id=run_id).delete()
    Job.objects.filter(run_id=run_id).delete()
