import os

from celery import Celery
from celery.signals import worker_init

# Servers and workers run production settings unless told otherwise; manage.py defaults to dev.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.prod")

app = Celery("amparo")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect  # type: ignore[untyped-decorator]  # celery ships no types
def _refuse_broken_procedures(**kwargs: object) -> None:
    from cases.checks import refuse_to_start

    refuse_to_start()
