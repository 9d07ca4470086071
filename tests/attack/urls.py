"""Test-only URLs: the application's, plus a page open to SQL injection on purpose.

Used only by tests/attack/test_sqlmap.py (through settings.ROOT_URLCONF in one test) to
prove that sqlmap, with the options the suite uses, finds an injection when there is one.
Never included by settings.urls.
"""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import path

from settings.urls import urlpatterns as app_urlpatterns


def injectable(request: HttpRequest) -> HttpResponse:
    """The office names matching `code`, with the value pasted into the SQL (the flaw)."""
    code = request.GET.get("code", "")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT name FROM cases_office WHERE code = '{code}'")  # noqa: S608
        names = [row[0] for row in cursor.fetchall()]
    return HttpResponse("\n".join(["<p>Offices</p>", *names]), content_type="text/html")


urlpatterns = [path("attack-test/injectable/", injectable, name="attack_injectable"),
               *app_urlpatterns]
