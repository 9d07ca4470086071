# When a temporary password was set: it expires (cases/passwords.py).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0045_two_factor_secrets'),
    ]

    operations = [
        migrations.AddField(
            model_name='historicaluser',
            name='temporary_password_set_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='user',
            name='temporary_password_set_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
