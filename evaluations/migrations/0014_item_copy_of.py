import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("evaluations", "0013_item_flags"),
    ]

    operations = [
        migrations.AddField(
            model_name="item",
            name="copy_of",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="copies",
                to="evaluations.item",
            ),
        ),
    ]
