# Login places and notices about one's own account (cases/login_places.py).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0046_user_temporary_password_set_at'),
    ]

    operations = [
        migrations.AlterField(
            model_name='notification',
            name='case',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='cases.case'),
        ),
        migrations.AlterField(
            model_name='notification',
            name='kind',
            field=models.CharField(choices=[('assigned', 'Case assigned'), ('waiting', 'Step waiting for you'), ('deadline', 'Deadline soon'), ('document', 'Document added'), ('transfer_offered', 'Transfer offered to your office'), ('case_requested', 'Case asked for by another office'), ('transfer_accepted', 'Transfer accepted'), ('transfer_rejected', 'Transfer rejected'), ('transfer_withdrawn', 'Transfer withdrawn'), ('shared', 'Case shared with you'), ('share_ended', 'Share ended'), ('rate_limited', 'Usage limit reached'), ('new_login_place', 'Login from a new browser or place')], max_length=20),
        ),
        migrations.AlterField(
            model_name='notification',
            name='office',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='cases.office'),
        ),
        migrations.CreateModel(
            name='LoginPlace',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.CharField(max_length=64)),
                ('first_seen', models.DateTimeField()),
                ('last_seen', models.DateTimeField()),
                ('user', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('user', 'key'), name='cases_login_place_key')],
            },
        ),
    ]
