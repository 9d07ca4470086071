from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from audit import signing


@register(Tags.security)
def check_audit_key(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    try:
        signing.private_key()
    except (ImproperlyConfigured, ValueError) as exc:
        return [Error(str(exc), hint="Development: 'python manage.py init_audit_key'.",
                      id="amparo.E101")]
    return []


@register(Tags.security, deploy=True)
def check_retention(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    from django.conf import settings

    if settings.AMPARO_AUDIT_RETENTION_YEARS < 6:
        return [Warning(
            f"AMPARO_AUDIT_RETENTION_YEARS is {settings.AMPARO_AUDIT_RETENTION_YEARS}; audit "
            "records are to be kept at least 6 years.", id="amparo.W101")]
    return []


@register(Tags.security)
def check_linker(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    from django.conf import settings

    mode = getattr(settings, "AMPARO_AUDIT_LINKER", "inline")
    if mode not in ("inline", "background"):
        return [Error(f"AMPARO_AUDIT_LINKER is {mode!r}.",
                      hint="Use 'inline' (link after each commit; no broker) or 'background' (the "
                      "audit.link task under celery beat links every AMPARO_AUDIT_LINK_SECONDS).",
                      id="amparo.E102")]
    return []
