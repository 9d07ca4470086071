import os

from django.core.wsgi import get_wsgi_application

# Servers and workers run production settings unless told otherwise; manage.py defaults to dev.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.prod")
application = get_wsgi_application()

from cases.checks import refuse_to_start  # noqa: E402  (needs the apps loaded)

refuse_to_start()
