"""Item.input keeps an object's keys in the order they were written on PostgreSQL too
(`json` rather than `jsonb`; see models.OrderedJSONField). SQLite stores JSON as text
already: nothing changes there (no table rebuild)."""

from __future__ import annotations

from typing import Any

from django.db import migrations

import evaluations.models


def _to_json(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        # Rows stored before keep jsonb's order (it is lost); the prompt puts a
        # candidate's fields in the file's order anyway (services.privacy.ModelView).
        schema_editor.execute(
            'ALTER TABLE "evaluations_item" ALTER COLUMN "input" TYPE json USING "input"::json'
        )


def _to_jsonb(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            'ALTER TABLE "evaluations_item" ALTER COLUMN "input" TYPE jsonb USING "input"::jsonb'
        )


class Migration(migrations.Migration):
    dependencies = [
        ("evaluations", "0011_job_created_by_help"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="item",
                    name="input",
                    field=evaluations.models.OrderedJSONField(),
                ),
            ],
            database_operations=[migrations.RunPython(_to_json, _to_jsonb)],
        ),
    ]
