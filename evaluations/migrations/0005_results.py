"""Run.resumed_at and Run.paused_seconds: elapsed time and speed leave out paused time."""

from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("evaluations", "0004_rubric_governance"),
    ]

    operations = [
        migrations.AddField(
            model_name="run",
            name="resumed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="run",
            name="paused_seconds",
            field=models.FloatField(default=0.0),
        ),
    ]
