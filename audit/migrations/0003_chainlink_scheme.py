"""Links get a hash scheme: the links that exist keep scheme 1 (SHA-256, as they were
made), every new one is keyed (scheme 2). No row is updated: the column is added with a
default that fills the existing rows, then the default becomes 2."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_triggers")]

    operations = [
        migrations.AddField(
            model_name="chainlink", name="scheme",
            field=models.SmallIntegerField(db_default=1),
        ),
        migrations.AlterField(
            model_name="chainlink", name="scheme",
            field=models.SmallIntegerField(db_default=2, default=2),
        ),
    ]
