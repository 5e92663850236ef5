from __future__ import annotations

from django.db import migrations


def seed(apps, schema_editor):
    from evaluations.rubric_content import DEFAULT_CRITERIA, DEFAULT_INSTRUCTIONS, DEFAULT_RUBRIC_NAME

    Rubric = apps.get_model("evaluations", "Rubric")
    Rubric.objects.get_or_create(
        name=DEFAULT_RUBRIC_NAME,
        version=1,
        defaults={
            "instructions": DEFAULT_INSTRUCTIONS,
            "criteria": DEFAULT_CRITERIA,
            "rationale": False,
        },
    )
    # Recovery runs every minute on whichever cluster is up (see services.sweep).
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name="hrbatch-sweep",
        defaults={"func": "evaluations.tasks.sweep", "schedule_type": "I", "minutes": 1},
    )


def unseed(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="hrbatch-sweep").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("evaluations", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
