"""Only the methods the pages use reach a view; logging out clears what the browser kept."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEvent


@pytest.mark.parametrize("method", ["TRACE", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_are_refused_before_any_view(client, caseworker, case, method):
    client.force_login(caseworker)
    before = AuditEvent.objects.count()
    for url in (reverse("dashboard"), reverse("case_detail", args=[case.pk]), reverse("health")):
        response = client.generic(method, url)
        assert response.status_code == 405, (method, url)
        assert response["Allow"] == "GET, HEAD, POST"
    # Answered as a GET, the case page would have recorded a view of the case.
    assert AuditEvent.objects.count() == before


def test_get_head_and_post_still_reach_the_views(client, caseworker, case):
    client.force_login(caseworker)
    assert client.get(reverse("case_detail", args=[case.pk])).status_code == 200
    assert client.head(reverse("health")).status_code == 200


def test_logging_out_clears_the_browsers_cache_and_storage(client, caseworker):
    client.force_login(caseworker)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache", "storage"'
    assert client.get(reverse("dashboard")).status_code == 302  # to the login page
