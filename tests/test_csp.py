"""The Content-Security-Policy header, and pages that need nothing inline to work under it."""

import re

import pytest
from django.urls import reverse

from cases import services

INLINE = [
    re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),  # a script without src
    re.compile(r"<style\b", re.I),
    re.compile(r"\sstyle=\"", re.I),
    re.compile(r"\son[a-z]+=\"", re.I),  # onclick, onchange ...
    re.compile(r"javascript:", re.I),
]


def test_every_page_carries_the_policy(client, caseworker):
    client.force_login(caseworker)
    policy = client.get(reverse("dashboard"))["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))

    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"  # no nonce unless a page used one
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert "unsafe" not in policy
    assert client.get(reverse("login"))["Content-Security-Policy"] == policy  # logged out too


@pytest.mark.parametrize("who", ["caseworker", "supervisor", "auditor", "office_admin", "system_admin"])
def test_no_page_needs_inline_script_or_style(request, client, who, case, file_root):
    user = request.getfixturevalue(who)
    services.add_document(by=case.assigned_to, case=case, title="Foto", filename="f.pdf",
                          data=b"%PDF-1.4\n%%EOF\n")
    client.force_login(user)
    pages = [reverse("dashboard"), reverse("case_list"), reverse("case_detail", args=[case.pk]),
             reverse("person_detail", args=[case.principal_id]), reverse("person_create"),
             reverse("people_search"), reverse("notification_list"), reverse("duplicate_queue"),
             reverse("import_start"), reverse("staff"), "/audit/", "/admin/", "/no-such-page/",
             reverse("two_factor_manage"), reverse("two_factor_enrol"), reverse("two_factor_key_add"),
             reverse("session_list")]
    shown = 0
    for url in pages:
        response = client.get(url)
        if response.status_code not in (200, 403, 404) or "text/html" not in response.get("Content-Type", ""):
            continue
        shown += 1
        html = response.content.decode()
        for pattern in INLINE:
            assert not pattern.search(html), f"{url} as {who}: {pattern.pattern} {pattern.search(html)}"
    assert shown >= 2
