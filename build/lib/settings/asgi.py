import os

from django.core.asgi import get_asgi_application

# Servers and workers run production settings unless told otherwise; manage.py defaults to dev.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.prod")
application = get_asgi_application()

from cases.checks import refuse_to_start  # noqa: E402  (needs the apps loaded)

refuse_to_start()
