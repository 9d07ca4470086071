from django.core.checks import Error, Tags, register
from django.core.exceptions import ImproperlyConfigured

from audit import signing


@register(Tags.security)
def check_audit_key(app_configs, **kwargs):
    try:
        signing.private_key()
    except (ImproperlyConfigured, ValueError) as exc:
        return [Error(str(exc), hint="Development: 'python manage.py init_audit_key'.",
                      id="amparo.E101")]
    return []
