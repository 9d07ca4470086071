"""Every URL, every role, own office and other office, anonymous: the expected answer.

The URL list comes from the resolver: a new URL without a row in EXPECTED fails here.
Out-of-scope cases, people and documents answer 404 (never 403: that would confirm they
exist); pages a role may not use at all answer 403; POST-only views answer 405 to GET.
"""

from __future__ import annotations

import contextlib
import datetime
import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from biometrics import services as bio_services
from biometrics import worker as bio_worker
from cases import (
    breaches,
    consent,
    handovers,
    importing,
    retention,
    secure_messages,
    services,
    shares,
    subject_requests,
)
from cases.models import (
    Case,
    Notification,
    NotificationKind,
    Office,
    Organisation,
    PartnerKey,
    PossibleDuplicate,
    RetentionRule,
    User,
    WebAuthnDevice,
)
from cases.session_store import SessionStore, key_hash
from rsd import services as rsd_services
from tests.biometrics import prints
from tests.conftest import PNG_BYTES, pdf_bytes
from tip import support

# Who may reach what is decided the same way on both engines: CI walks on SQLite, and the fuzz
# test (tests/test_fuzz.py) sends every page's requests on PostgreSQL too.
pytestmark = [pytest.mark.usefixtures("file_root"), pytest.mark.ci_sqlite]

# URL groups included in settings.urls that are walked elsewhere, with the reason.
NOT_WALKED_HERE = {
    "admin": "the Django admin has its own staff/superuser permissions",
}

# The objects the trafficking pages are walked with (a trafficking case, its first step).
TIP_OBJECTS = "tip"
# Trafficking pages walked on the asylum case: the risk screen at asylum registration.
ON_ASYLUM_CASE = {"tip:registration_screen"}

# How each actor stands towards the scenario's case (see _relation).
ANON, ASSIGNEE, COLLEAGUE, QUEUE_WORKER, SUPERVISOR, FOREIGN, NON_CASE = (
    "anon", "assignee", "colleague", "queue_worker", "supervisor", "foreign", "non_case")
ALL = (ANON, ASSIGNEE, COLLEAGUE, QUEUE_WORKER, SUPERVISOR, FOREIGN, NON_CASE)


def row(default: int, **by_relation):
    """Expected status per relation; anonymous is sent to the login page unless stated."""
    out = dict.fromkeys(ALL, default)
    out[ANON] = 302
    out.update(by_relation)
    return out


CASE_STAFF_PAGE = row(200, non_case=403)
# A case, its person or its document: seen by who may see the case, 404 for everyone else.
IN_SCOPE = row(200, colleague=404, foreign=404, non_case=404)
POST_ONLY = row(405)
EDIT_CASE = row(302, colleague=404, queue_worker=403, foreign=404, non_case=404)



def FOREIGN_SUPERVISOR(status: int) -> dict:
    """The other office's supervisor gets `status`; its caseworker is refused (403)."""
    return {"other_supervisor": status, "other_caseworker": 403}


def OFFICE_ADMIN(status: int) -> dict:
    """The office's administrator gets `status`; its auditor, analyst and system administrator
    403."""
    return {"office_admin": status, "auditor": 403, "analyst": 403, "system_admin": 403}


def AUDITOR(status: int) -> dict:
    """The office's auditor gets `status`; its analyst, administrator and system administrator
    403."""
    return {"auditor": status, "analyst": 403, "office_admin": 403, "system_admin": 403}


def THREAD_READERS(status: int) -> dict:
    """The walk's message thread: its sender (the caseworker), the supervisor of the sender's
    office and the other office's staff get `status`; the other caseworker 404."""
    return row(404, assignee=status, supervisor=status, foreign=status, non_case=403,
               queue_worker={"caseworker": status, "caseworker2": 404})


def ANALYST(status: int) -> dict:
    """The office's analyst gets `status`; its auditor, administrator and system administrator
    403."""
    return {"analyst": status, "auditor": 403, "office_admin": 403, "system_admin": 403}


# Statistics: numbers of one's offices for supervisors and analysts (the other office's
# supervisor sees their own office's).
STATS_READERS = row(403, supervisor=200, foreign=FOREIGN_SUPERVISOR(200), non_case=ANALYST(200))

RETENTION_VIEWERS = row(403, supervisor=200, foreign=FOREIGN_SUPERVISOR(200),
                        non_case={"auditor": 200, "system_admin": 200, "office_admin": 403,
                                  "analyst": 403})


EXPECTED: dict[tuple[str, str], dict] = {
    # Readiness and liveness answer everyone, logged in or not, and only to GET and HEAD.
    ("health", "GET"): row(200, anon=200),
    ("health", "POST"): row(405, anon=405),
    ("health_live", "GET"): row(200, anon=200),
    ("health_live", "POST"): row(405, anon=405),
    ("login", "GET"): row(302, anon=200),
    ("login", "POST"): row(302),  # anonymous logs in; others are already logged in
    ("logout", "GET"): row(405, anon=405),
    ("logout", "POST"): row(302),
    # Whether one's session still runs (a page left open asks): anyone logged in; asking
    # without a session is answered 401, not sent to the login page.
    ("session_remaining", "GET"): row(200, anon=401),
    ("session_remaining", "POST"): row(405, anon=405),
    ("set_language", "GET"): row(302),
    ("set_language", "POST"): row(302),
    ("dashboard", "GET"): row(200),
    ("people_search", "GET"): CASE_STAFF_PAGE,
    ("people_search", "POST"): CASE_STAFF_PAGE,
    ("person_create", "GET"): CASE_STAFF_PAGE,
    # Staff of the other office get the form back: the office is not one of theirs.
    ("person_create", "POST"): row(302, foreign=200, non_case=403),
    ("person_detail", "GET"): IN_SCOPE,
    # One masked value in clear (the page with it, without htmx): who sees the person.
    ("person_reveal", "GET"): POST_ONLY,
    ("person_reveal", "POST"): IN_SCOPE,
    ("person_edit", "GET"): row(200, colleague=404, queue_worker=403, foreign=404, non_case=404),
    ("person_edit", "POST"): EDIT_CASE,
    # GET: the form, on a page of its own (or alone, for htmx).
    ("identity_document_add", "GET"): row(200, colleague=404, queue_worker=403, foreign=404, non_case=404),
    ("identity_document_add", "POST"): EDIT_CASE,
    # Data protection requests: recorded and copied by the caseworkers and supervisors who see
    # the person; the office's auditor sees the register, not the person; refusals are a
    # supervisor's. The walked request is an access request nobody has answered.
    ("subject_request_new", "GET"): row(200, colleague=404, foreign=404, non_case=AUDITOR(404)),
    ("subject_request_new", "POST"): row(302, colleague=404, foreign=404, non_case=AUDITOR(404)),
    ("subject_request_list", "GET"): row(200, non_case=AUDITOR(200)),
    ("subject_request_list", "POST"): row(405, anon=405),
    ("subject_request_detail", "GET"): row(200, colleague=404, foreign=404, non_case=AUDITOR(200)),
    ("subject_request_detail", "POST"): row(405, anon=405),
    ("subject_request_export", "GET"): row(405, anon=405),
    ("subject_request_export", "POST"): row(200, colleague=404, foreign=404, non_case=403),
    ("subject_request_answer", "GET"): row(405, anon=405),
    ("subject_request_answer", "POST"): row(403, supervisor=302, colleague=404, foreign=404),
    # The breach log: anyone of an office reports (the other office's staff post to an office
    # not theirs and get the form back); its supervisors manage and its auditors read.
    ("breach_new", "GET"): row(200, non_case={"auditor": 200, "office_admin": 200,
                                              "system_admin": 403, "analyst": 403}),
    ("breach_new", "POST"): row(302, foreign=400, non_case={"auditor": 302, "office_admin": 302,
                                                            "system_admin": 403, "analyst": 403}),
    ("breach_list", "GET"): row(403, supervisor=200, foreign=FOREIGN_SUPERVISOR(200),
                                non_case=AUDITOR(200)),
    ("breach_list", "POST"): row(405, anon=405),
    ("breach_detail", "GET"): row(403, supervisor=200, foreign=FOREIGN_SUPERVISOR(404),
                                  non_case=AUDITOR(200)),
    ("breach_detail", "POST"): row(403, supervisor=302, foreign=FOREIGN_SUPERVISOR(404)),
    # Naming the people affected: the office's supervisors only, by their cases' references.
    ("breach_people", "GET"): row(405, anon=405),
    ("breach_people", "POST"): row(403, supervisor=302, foreign=FOREIGN_SUPERVISOR(404)),
    # The register of transfers: the office's supervisors record, supervisors and auditors read
    # and export (after a recent code where two-factor authentication is on).
    ("consent_record", "GET"): row(405, anon=405),
    ("consent_record", "POST"): row(302, colleague=404, queue_worker=403, foreign=404,
                                    non_case=403),
    # What waits from other offices: every caseworker's and supervisor's own lists.
    ("office_queue", "GET"): CASE_STAFF_PAGE,
    ("office_queue", "POST"): row(405, anon=405),
    # The regional duplicate check: the case staff's pages; asking about a person is for the
    # caseworkers and supervisors of the person's office who see them. The walk's
    # installation holds no regional key: the inquiry form comes back saying so, and an
    # empty upload comes back with its error.
    ("regional_inquiries", "GET"): row(200, non_case=403),
    ("regional_inquiries", "POST"): row(405, anon=405),
    ("regional_inquire", "GET"): row(200, colleague=404, foreign=404, non_case=403),
    ("regional_inquire", "POST"): row(400, colleague=404, foreign=404, non_case=403),
    ("regional_answer", "GET"): row(405, anon=405),
    ("regional_answer", "POST"): row(400, non_case=403),
    ("regional_read", "GET"): row(405, anon=405),
    ("regional_read", "POST"): row(400, non_case=403),
    ("handover_list", "GET"): row(403, supervisor=200, foreign=FOREIGN_SUPERVISOR(200)),
    ("handover_list", "POST"): row(405, anon=405),
    ("handover_ask", "GET"): row(405, anon=405),
    ("handover_ask", "POST"): row(403, supervisor=400, foreign=FOREIGN_SUPERVISOR(400)),
    ("handover_offer", "GET"): row(403, supervisor=200, foreign=FOREIGN_SUPERVISOR(404)),
    ("handover_offer", "POST"): row(403, supervisor=400, foreign=FOREIGN_SUPERVISOR(404)),
    # Shares: made and ended by the case office's supervisors. The walked POST shares the case
    # with caseworker2 (of the office: no consent needed), who sees the queue's case already.
    ("case_share", "GET"): row(403, supervisor=200, foreign=FOREIGN_SUPERVISOR(404)),
    ("case_share", "POST"): row(403, supervisor={"assigned": 302, "queue": 400},
                                foreign=FOREIGN_SUPERVISOR(404)),
    ("case_unshare", "GET"): row(405, anon=405),
    ("case_unshare", "POST"): row(403, supervisor=302, foreign=FOREIGN_SUPERVISOR(404)),
    # The walked share with an office outside the walk, ended as one entry.
    ("case_office_unshare", "GET"): row(405, anon=405),
    ("case_office_unshare", "POST"): row(403, supervisor=302, foreign=FOREIGN_SUPERVISOR(404)),
    # The walk's handover is offered by the case's office to the other office.
    ("handover_answer", "GET"): row(405, anon=405),
    ("handover_answer", "POST"): row(403, foreign=FOREIGN_SUPERVISOR(302)),
    ("handover_withdraw", "GET"): row(405, anon=405),
    ("handover_withdraw", "POST"): row(403, supervisor=302, foreign=FOREIGN_SUPERVISOR(403)),
    # Secure messages: one's own inbox and one's offices' for case staff; the walk's thread is
    # the caseworker's to the other office (the case is offered to it), with an attachment:
    # read and answered by its sender, the sender's supervisor and the other office's staff.
    ("message_inbox", "GET"): row(200, non_case=403),
    ("message_inbox", "POST"): row(405, anon=405),
    ("message_office_inbox", "GET"): row(200, foreign=404, non_case=403),
    ("message_office_inbox", "POST"): row(405, anon=405),
    ("case_messages", "GET"): row(200, colleague=404, foreign=404, non_case=403),
    ("case_messages", "POST"): row(302, colleague=404, foreign=404, non_case=403),
    ("message_thread", "GET"): THREAD_READERS(200),
    ("message_thread", "POST"): row(405, anon=405),
    ("message_reply", "GET"): row(405, anon=405),
    ("message_reply", "POST"): THREAD_READERS(302),
    ("message_attachment", "GET"): THREAD_READERS(200),
    ("message_attachment", "POST"): row(405, anon=405),
    ("packages", "GET"): row(200, non_case={"auditor": 403, "analyst": 403, "office_admin": 200,
                                            "system_admin": 200}),
    ("packages", "POST"): row(405, anon=405),
    ("package_key_register", "GET"): row(405, anon=405),
    ("package_key_register", "POST"): row(403, non_case={"auditor": 403, "analyst": 403,
                                                         "office_admin": 400,
                                                         "system_admin": 400}),
    ("package_key_revoke", "GET"): row(405, anon=405),
    ("package_key_revoke", "POST"): row(403, non_case={"auditor": 403, "analyst": 403,
                                                       "office_admin": 302,
                                                       "system_admin": 302}),
    ("package_receive", "GET"): row(405, anon=405),
    ("package_receive", "POST"): row(400, non_case=403),
    ("package_send", "GET"): row(403, supervisor=200, foreign=FOREIGN_SUPERVISOR(404)),
    ("package_send", "POST"): row(403, supervisor=400, foreign=FOREIGN_SUPERVISOR(404)),
    ("transfer_list", "GET"): row(403, supervisor=200, foreign=FOREIGN_SUPERVISOR(200),
                                  non_case=AUDITOR(200)),
    ("transfer_list", "POST"): row(405, anon=405),
    ("transfer_new", "GET"): row(403, supervisor=200, foreign=FOREIGN_SUPERVISOR(200),
                                 non_case=AUDITOR(403)),
    # The other office's supervisor posts for an office not theirs: the form comes back.
    ("transfer_new", "POST"): row(403, supervisor=302, foreign=FOREIGN_SUPERVISOR(400),
                                  non_case=AUDITOR(403)),
    ("transfer_export", "GET"): row(403, supervisor=200, foreign=FOREIGN_SUPERVISOR(200),
                                    non_case=AUDITOR(200)),
    ("transfer_export", "POST"): row(405, anon=405),
    ("case_open", "GET"): POST_ONLY,
    ("case_open", "POST"): row(302, colleague=404, foreign=404, non_case=404),
    ("case_list", "GET"): CASE_STAFF_PAGE,
    ("case_detail", "GET"): IN_SCOPE,
    ("case_assign", "GET"): POST_ONLY,
    ("case_assign", "POST"): row(403, supervisor=302, colleague=404, foreign=404, non_case=404),
    ("case_take", "GET"): POST_ONLY,
    # Taking an assigned case redirects with a message; supervisors do not take, they assign.
    ("case_take", "POST"): row(302, colleague=404, foreign=404, non_case=404, supervisor=403),
    ("note_add", "GET"): POST_ONLY,
    ("note_add", "POST"): EDIT_CASE,
    ("document_upload", "GET"): POST_ONLY,
    ("document_upload", "POST"): EDIT_CASE,
    ("document_download", "GET"): IN_SCOPE,
    # Imports are for supervisors; each supervisor imports into their own offices.
    ("import_start", "GET"): row(403, supervisor=200, foreign=FOREIGN_SUPERVISOR(200)),
    # An empty upload: the form comes back with its errors.
    ("import_start", "POST"): row(403, supervisor=400, foreign=FOREIGN_SUPERVISOR(400)),
    # Possible duplicates are reviewed by the supervisors of the pair's office.
    ("duplicate_queue", "GET"): row(403, supervisor=200, foreign=FOREIGN_SUPERVISOR(200)),
    ("duplicate_queue", "POST"): row(405, anon=405),
    ("duplicate_review", "GET"): row(405, anon=405),
    ("duplicate_review", "POST"): row(403, supervisor=302, foreign=FOREIGN_SUPERVISOR(404)),
    ("import_job", "GET"): row(403, supervisor=200, foreign=FOREIGN_SUPERVISOR(404)),
    # The walked job is queued, not interrupted: its supervisor is sent back to its page.
    ("import_resume", "GET"): row(405, anon=405),
    ("import_resume", "POST"): row(403, supervisor=302, foreign=FOREIGN_SUPERVISOR(404)),
    # Staff pages are for office administrators of the office.
    # Retention: runs and rules for supervisors, auditors and system administrators; the
    # rules changed by a system administrator; a legal hold by the person's supervisor.
    ("retention_runs", "GET"): RETENTION_VIEWERS,
    ("retention_runs", "POST"): row(405, anon=405),
    ("retention_run", "GET"): RETENTION_VIEWERS,
    ("retention_run", "POST"): row(405, anon=405),
    ("retention_rules", "GET"): RETENTION_VIEWERS,
    ("retention_rules", "POST"): row(405, anon=405),
    ("retention_rule", "GET"): row(403, non_case={"system_admin": 200, "auditor": 403,
                                                  "analyst": 403, "office_admin": 403}),
    ("retention_rule", "POST"): row(403, non_case={"system_admin": 302, "auditor": 403,
                                                   "analyst": 403, "office_admin": 403}),
    ("person_legal_hold", "GET"): row(403, supervisor=200, colleague=404, foreign=404,
                                      non_case=404),
    ("person_legal_hold", "POST"): row(403, supervisor=302, colleague=404, foreign=404,
                                       non_case=404),
    ("staff", "GET"): row(403, non_case=OFFICE_ADMIN(200)),
    # A new account: the page that shows its first password once.
    ("staff", "POST"): row(403, non_case=OFFICE_ADMIN(200)),
    ("membership_revoke", "GET"): row(403, non_case=OFFICE_ADMIN(200)),
    ("staff_account", "GET"): row(403, non_case=OFFICE_ADMIN(200)),
    # A deactivation without a reason: the form comes back (a temporary password would end
    # the walk colleague's sessions and the password it logs in with).
    ("staff_account", "POST"): row(403, non_case=OFFICE_ADMIN(400)),
    ("membership_revoke", "POST"): row(403, non_case=OFFICE_ADMIN(302)),
    # One's own notifications: the list and "mark all read" for everyone logged in; the walk's
    # notification is the caseworker's (the assignee, or in the queue scenario the caseworker
    # who sees the unassigned case): anyone else's is not found.
    ("notification_list", "GET"): row(200),
    ("notification_list", "POST"): row(405),
    ("notifications_read", "GET"): row(405),
    ("notifications_read", "POST"): row(302),
    ("notification_open", "GET"): row(404, assignee=302,
                                      queue_worker={"caseworker": 302, "caseworker2": 404}),
    ("notification_open", "POST"): row(405),
    ("password_change", "GET"): row(200),
    ("password_change", "POST"): row(200),  # a wrong old password: the form comes back
    # One's own sessions, for everyone logged in. The walked session is an account's outside
    # the walk: ending it is not found for everyone (never 403, which would confirm it).
    ("session_list", "GET"): row(200),
    ("session_list", "POST"): row(405),
    ("session_end", "GET"): row(405),
    ("session_end", "POST"): row(404),
    ("session_end_others", "GET"): row(405),
    ("session_end_others", "POST"): row(302),
    # Two-factor pages: one's own, for everyone logged in. The walk runs with
    # AMPARO_REQUIRE_2FA off and nobody has an app: /two-factor/ and the code page send to the
    # set-up page; a wrong first code comes back with the form; new backup codes need an app.
    ("two_factor", "GET"): row(302),
    ("two_factor", "POST"): row(405),
    ("two_factor_enrol", "GET"): row(200),
    ("two_factor_enrol", "POST"): row(400),
    ("two_factor_verify", "GET"): row(302),
    ("two_factor_verify", "POST"): row(302),
    ("two_factor_manage", "GET"): row(200),
    ("two_factor_manage", "POST"): row(200),
    # Security keys: adding one needs no code first (nobody has a factor); an answer without
    # the page's challenge is refused (the form again, or back to the code page); the walked
    # key is someone else's, so removing it is not found for everyone.
    ("two_factor_key_add", "GET"): row(200),
    ("two_factor_key_add", "POST"): row(400),
    ("two_factor_key_verify", "GET"): row(405),
    ("two_factor_key_verify", "POST"): row(302),
    ("two_factor_key_remove", "GET"): row(405),
    ("two_factor_key_remove", "POST"): row(404),
    # The audit workspace is for auditors of the office, and it only reads (GET).
    ("audit_events", "GET"): row(403, non_case=AUDITOR(200)),
    ("audit_events", "POST"): row(405),
    ("audit_export", "GET"): row(403, non_case=AUDITOR(200)),
    ("audit_export", "POST"): row(405),
    ("audit_case_timeline", "GET"): row(403, non_case=AUDITOR(200)),
    ("audit_case_timeline", "POST"): row(405),
    # The asylum procedure's step forms; the walked step is "register" (the case is "open"):
    # the assignee and the supervisor may take it, a caseworker who does not hold the case not.
    ("rsd:step", "GET"): row(200, colleague=404, queue_worker=403, foreign=404, non_case=404),
    ("rsd:step", "POST"): EDIT_CASE,
    # The application of the walked case is not recorded yet: who may edit the case is sent
    # back to the case page with a message (GET) or gets the service's refusal (POST, 400).
    ("rsd:application_edit", "GET"): EDIT_CASE,
    ("rsd:application_edit", "POST"): row(400, colleague=404, queue_worker=403, foreign=404, non_case=404),
    ("rsd:family_add", "GET"): row(200, colleague=404, queue_worker=403, foreign=404, non_case=404),
    ("rsd:family_add", "POST"): EDIT_CASE,
    # No decision yet: who may print letters is sent back to the case page with a message.
    ("rsd:letter", "GET"): EDIT_CASE,
    ("rsd:letter", "POST"): row(405),
    # Asylum lists. The review queue is for supervisors, each seeing their own offices'.
    ("rsd:review_queue", "GET"): row(403, supervisor=200, foreign=FOREIGN_SUPERVISOR(200)),
    ("rsd:review_queue", "POST"): row(405),
    ("rsd:interviews", "GET"): CASE_STAFF_PAGE,  # one's own interviews, in any office
    ("rsd:interviews", "POST"): row(405),
    # The COI library of one's offices; the other office's staff post to an office not theirs.
    ("rsd:coi_library", "GET"): CASE_STAFF_PAGE,
    ("rsd:coi_library", "POST"): row(302, foreign=400, non_case=403),
    ("rsd:coi_document", "GET"): row(200, foreign=404, non_case=403),
    ("rsd:coi_document", "POST"): row(405),
    ("rsd:coi_retire", "GET"): POST_ONLY,
    ("rsd:coi_retire", "POST"): row(403, supervisor=302, foreign=404),
    # The trafficking procedure, walked on a trafficking case (TIP_OBJECTS) with no victim
    # profile yet: the profile page sends who may change the case back to it.
    ("tip:step", "GET"): row(200, colleague=404, queue_worker=403, foreign=404, non_case=404),
    ("tip:step", "POST"): EDIT_CASE,
    ("tip:profile_edit", "GET"): EDIT_CASE,
    ("tip:profile_edit", "POST"): EDIT_CASE,
    ("tip:event_add", "GET"): row(200, colleague=404, queue_worker=403, foreign=404, non_case=404),
    ("tip:event_add", "POST"): EDIT_CASE,
    ("tip:perpetrator_add", "GET"): row(200, colleague=404, queue_worker=403, foreign=404,
                                         non_case=404),
    ("tip:perpetrator_add", "POST"): EDIT_CASE,
    # The support of a trafficking case: who may change the case (the walked one has a
    # service and a referral, made by its office's supervisor).
    ("tip:risk_assess", "GET"): row(200, colleague=404, queue_worker=403, foreign=404, non_case=404),
    ("tip:risk_assess", "POST"): EDIT_CASE,
    ("tip:plan_edit", "GET"): row(200, colleague=404, queue_worker=403, foreign=404, non_case=404),
    ("tip:plan_edit", "POST"): EDIT_CASE,
    ("tip:service_add", "GET"): row(200, colleague=404, queue_worker=403, foreign=404, non_case=404),
    ("tip:service_add", "POST"): EDIT_CASE,
    ("tip:service_edit", "GET"): row(200, colleague=404, queue_worker=403, foreign=404, non_case=404),
    ("tip:service_edit", "POST"): EDIT_CASE,
    # The person has not consented to referral: the caseworker's form comes back refused (its
    # override field is not theirs); the supervisor refers with the written override.
    ("tip:referral_add", "GET"): row(200, colleague=404, queue_worker=403, foreign=404, non_case=404),
    ("tip:referral_add", "POST"): row(302, assignee=400, colleague=404, queue_worker=403,
                                      foreign=404, non_case=404),
    ("tip:referral_edit", "GET"): row(200, colleague=404, queue_worker=403, foreign=404,
                                      non_case=404),
    ("tip:referral_edit", "POST"): EDIT_CASE,
    # The directory: read by the staff of an office, managed by its supervisors and
    # administrators (the other office's supervisor posts to an office not theirs).
    ("tip:organisations", "GET"): row(200, non_case=OFFICE_ADMIN(200)),
    ("tip:organisations", "POST"): row(403, supervisor=302, foreign=FOREIGN_SUPERVISOR(400),
                                       non_case=OFFICE_ADMIN(302)),
    ("tip:organisation_edit", "GET"): row(403, supervisor=200, foreign=FOREIGN_SUPERVISOR(404),
                                          non_case=OFFICE_ADMIN(200)),
    ("tip:organisation_edit", "POST"): row(403, supervisor=302, foreign=FOREIGN_SUPERVISOR(404),
                                           non_case=OFFICE_ADMIN(302)),
    # The trafficking risk screen of an asylum case (walked on the asylum case): who may change
    # it; the walked POST records a screen without signs.
    ("tip:registration_screen", "GET"): row(200, colleague=404, queue_worker=403, foreign=404,
                                            non_case=404),
    ("tip:registration_screen", "POST"): EDIT_CASE,
    # The CTDC statistics of a supervisor's own offices; a check answers with its report.
    ("tip:ctdc_export", "GET"): row(403, supervisor=200, foreign=FOREIGN_SUPERVISOR(200)),
    ("tip:ctdc_export", "POST"): row(403, supervisor=200, foreign=FOREIGN_SUPERVISOR(200)),
    ("stats:dashboard", "GET"): STATS_READERS,
    ("stats:dashboard", "POST"): row(405, anon=405),
    ("stats:export", "GET"): STATS_READERS,
    ("stats:export", "POST"): row(405, anon=405),
    ("stats:breakdown", "GET"): STATS_READERS,
    ("stats:breakdown", "POST"): row(405, anon=405),
    ("stats:rsd", "GET"): STATS_READERS,
    ("stats:rsd", "POST"): row(405, anon=405),
    ("stats:rsd_export", "GET"): STATS_READERS,
    ("stats:rsd_export", "POST"): row(405, anon=405),
    ("stats:report", "GET"): STATS_READERS,
    ("stats:report", "POST"): row(405, anon=405),
    # UNHCR's annual tables and their files (the applications' CSV when no file is named).
    ("stats:unhcr", "GET"): STATS_READERS,
    ("stats:unhcr", "POST"): row(405, anon=405),
    ("stats:unhcr_export", "GET"): STATS_READERS,
    ("stats:unhcr_export", "POST"): row(405, anon=405),
    # Decision consistency: caseworkers too (their own rows and the office's).
    ("stats:consistency", "GET"): row(200, non_case=ANALYST(200)),
    ("stats:consistency", "POST"): row(405, anon=405),
    # Fingerprints and the face photo: taken by who may change the person's record; the
    # images shown to the case staff who see the person; the 1:1 check by who works on the
    # case. Other roles are refused before any look-up (403).
    ("biometrics:enrol", "GET"): row(200, colleague=404, queue_worker=403, foreign=404, non_case=403),
    ("biometrics:enrol", "POST"): row(302, colleague=404, queue_worker=403, foreign=404, non_case=403),
    ("biometrics:photo", "GET"): row(200, colleague=404, queue_worker=403, foreign=404, non_case=403),
    ("biometrics:photo", "POST"): row(302, colleague=404, queue_worker=403, foreign=404, non_case=403),
    ("biometrics:photo_image", "GET"): row(200, colleague=404, foreign=404, non_case=403),
    ("biometrics:photo_image", "POST"): row(405, anon=405),
    ("biometrics:print_image", "GET"): row(200, colleague=404, foreign=404, non_case=403),
    ("biometrics:print_image", "POST"): row(405, anon=405),
    ("biometrics:verify", "GET"): row(200, colleague=404, queue_worker=403, foreign=404, non_case=403),
    ("biometrics:verify", "POST"): row(302, colleague=404, queue_worker=403, foreign=404, non_case=403),
    # The 1:N search: any caseworker or supervisor, who is shown only the candidates they may
    # see (the walked POST searches with a fresh print of the walked person's finger).
    ("biometrics:search", "GET"): CASE_STAFF_PAGE,
    ("biometrics:search", "POST"): row(302, non_case=403),
    # A search's page (the walked one was asked by the caseworker): only who searched.
    ("biometrics:search_result", "GET"): row(404, assignee=200, non_case=403,
                                             queue_worker={"caseworker": 200, "caseworker2": 404}),
    ("biometrics:search_result", "POST"): row(405, anon=405),
}

ACTORS = ["anonymous", "caseworker", "caseworker2", "supervisor", "auditor", "analyst",
          "office_admin", "system_admin", "other_caseworker", "other_supervisor", "referred"]

# A caseworker of the other office to whom both walked cases are shared, the procedure part
# only: they get what the other office's caseworker gets, except on these pages.
REFERRED = "referred"
REFERRED_SEES: dict[tuple[str, str], int] = {
    ("case_detail", "GET"): 200,
    ("person_detail", "GET"): 200,
    ("person_reveal", "POST"): 200,
    # Who sees the person sees their data protection requests (a share opens who they are).
    ("subject_request_detail", "GET"): 200,
    # A referral is what offices write to each other about: who sees the case reads and writes
    # its messages.
    ("case_messages", "GET"): 200,
    ("case_messages", "POST"): 302,
    # They see the person but work in another office: they do not ask about them.
    ("regional_inquire", "GET"): 403,
    ("regional_inquire", "POST"): 403,
    # Who sees the person sees their photo and prints; taking them, or checking the
    # person's identity on the case, is for who works on it.
    ("biometrics:photo_image", "GET"): 200,
    ("biometrics:print_image", "GET"): 200,
    # They see the case and its person, so a change is refused, not hidden.
    **{(name, method): 403 for name, methods in {
        "rsd:step": "GP", "rsd:application_edit": "GP", "rsd:family_add": "GP", "rsd:letter": "G",
        "tip:step": "GP", "tip:profile_edit": "GP", "tip:event_add": "GP",
        "tip:perpetrator_add": "GP", "tip:risk_assess": "GP", "tip:plan_edit": "GP",
        "tip:service_add": "GP", "tip:service_edit": "GP", "tip:referral_add": "GP",
        "tip:referral_edit": "GP", "tip:registration_screen": "GP", "person_edit": "GP",
        "identity_document_add": "GP",
        "subject_request_new": "GP", "person_legal_hold": "GP", "case_open": "P",
        "biometrics:enrol": "GP", "biometrics:photo": "GP", "biometrics:verify": "GP",
        "consent_record": "P", "subject_request_export": "P", "subject_request_answer": "P",
        "case_assign": "P", "case_take": "P", "note_add": "P", "document_upload": "P",
    }.items() for method in (("GET",) if "G" in methods else ()) + (("POST",) if "P" in methods else ())},
}


def _relation(actor: str, scenario: str) -> str:
    if actor == "anonymous":
        return ANON
    if actor in ("caseworker", "caseworker2"):
        if scenario == "queue":
            return QUEUE_WORKER
        return ASSIGNEE if actor == "caseworker" else COLLEAGUE
    if actor == "supervisor":
        return SUPERVISOR
    if actor.startswith("other_"):
        return FOREIGN
    if actor == REFERRED:
        return REFERRED
    return NON_CASE


def expected(name: str, method: str, actor: str, scenario: str) -> int:
    """The status the walk expects for `actor` on URL `name` in `scenario`."""
    relation = _relation(actor, scenario)
    looked_up = actor
    if relation == REFERRED:
        if (name, method) in REFERRED_SEES:
            return REFERRED_SEES[(name, method)]
        relation, looked_up = FOREIGN, "other_caseworker"
    want = EXPECTED[(name, method)][relation]
    if isinstance(want, dict):  # by actor, else by scenario
        want = want[looked_up] if looked_up in want else want[scenario]
    return want


def share_with_referred(user: User, objects: dict, by: User) -> None:
    """The walked asylum and trafficking cases shared with `user`, the procedure part only."""
    for case_id in (objects["case_id"], objects[TIP_OBJECTS]["case_id"]):
        shares.share(by=by, case=Case.objects.get(pk=case_id), user=user, parts=["procedure"],
                     until=timezone.localdate() + datetime.timedelta(days=3),
                     reason="Walked referral", override="Walked without consent")


def _group(resolver: URLResolver) -> str:
    """The included module's name, or the app name of an included (patterns, app) tuple."""
    if isinstance(resolver.urlconf_name, str):
        return resolver.urlconf_name
    return resolver.app_name or getattr(resolver.urlconf_module, "__name__", "?")


def walked_urls() -> list[tuple[str, str]]:
    """(name, module) of every named URL, minus the groups in NOT_WALKED_HERE."""
    found: list[tuple[str, str]] = []

    def walk(patterns, module: str, namespace: str = "") -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                name = _group(p)
                if name in NOT_WALKED_HERE:
                    continue
                walk(p.url_patterns, name, f"{namespace}{p.namespace}:" if p.namespace else namespace)
            elif isinstance(p, URLPattern):
                assert p.name, f"{p.pattern} has no name: it cannot be walked"
                found.append((namespace + p.name, module))

    walk(get_resolver().url_patterns, "settings.urls")
    return found


def _pattern_kwargs(name: str) -> list[str]:
    """The keyword arguments of a named URL, with its namespaces ("rsd:step") or without."""
    resolver = get_resolver()
    *namespaces, short = name.split(":")
    for namespace in namespaces:
        resolver = resolver.namespace_dict[namespace][1]
    return resolver.reverse_dict.getlist(short)[0][0][0][1]


def walk_url(name: str, objects: dict) -> str:
    """The URL `name` with the scenario's objects; the trafficking pages take the trafficking
    case's."""
    own = objects[TIP_OBJECTS] if name.startswith("tip:") and name not in ON_ASYLUM_CASE else {}
    return reverse(name, kwargs={k: own.get(k, objects.get(k)) for k in _pattern_kwargs(name)})


def test_every_url_has_an_expectation():
    names = {name for name, _ in walked_urls()}
    expected = {name for name, _ in EXPECTED}

    assert names - expected == set(), "add these URLs to EXPECTED"
    assert expected - names == set(), "these URLs are gone: remove them from EXPECTED"
    assert {"dashboard", "case_detail", "login", "logout", "set_language"} <= names


def test_the_excluded_groups_are_still_there():
    """An entry of NOT_WALKED_HERE that matches nothing would hide nothing; keep the list true."""
    modules = set()

    def walk(patterns):
        for p in patterns:
            if isinstance(p, URLResolver):
                modules.add(_group(p))
                walk(p.url_patterns)

    walk(get_resolver().url_patterns)
    assert "cases.urls" in modules
    assert set(NOT_WALKED_HERE) <= modules


@pytest.fixture
def referred(make_user, other_office) -> User:
    return make_user("caseworker", other_office)


@pytest.fixture
def scenario_objects(request, caseworker, caseworker2, supervisor, office, other_office,
                     person_data):
    """The case under test: assigned to `caseworker`, or waiting in the office queue."""
    scenario = request.param
    # The search page builds this process's gallery: each walk starts and ends without one.
    bio_worker.forget()
    request.addfinalizer(bio_worker.forget)
    person = services.register_person(by=caseworker, office=office, data=person_data())
    victim = services.register_person(by=caseworker, office=office, data=person_data())
    assigned = scenario == "assigned"
    case = services.open_case(by=caseworker, person=person, kind="asylum", assign_to_me=assigned)
    trafficking = services.open_case(by=caseworker, person=victim, kind="trafficking",
                                     assign_to_me=assigned)
    uploader = caseworker if assigned else supervisor
    document = services.add_document(by=uploader, case=case, title="Pasaporte",
                                      filename="pasaporte.pdf", data=pdf_bytes("passport"))
    job = importing.queue_import(by=supervisor, office=office, data=b"given_names\n",
                                 filename="empty.csv")
    membership = caseworker2.memberships.get()
    services.register_person(by=caseworker, office=office, data=person_data(), check_duplicates=True)
    pair = PossibleDuplicate.objects.get(other=person)
    source = rsd_services.add_coi_source(
        by=supervisor, office=office, title="Honduras: situación de seguridad", publisher="ACNUR",
        published_on=datetime.date(2025, 6, 1), country="HN", document=pdf_bytes("coi"))
    notification = Notification.objects.create(
        recipient=caseworker, office=office, case=case, kind=NotificationKind.DOCUMENT,
        params={"reference": case.reference})
    asked = subject_requests.record_request(by=caseworker, person=person, kind="access",
                                            channel="writing", received_on=timezone.localdate())
    breach = breaches.report_breach(by=caseworker, office=office, nature="confidentiality",
                                    discovered_at=timezone.now() - datetime.timedelta(hours=1),
                                    description="Walked breach")
    # Seeded by migration; a live-server test's flush removes it, so it is made again there.
    rule = RetentionRule.objects.get_or_create(record_type="login.counter", office=None,
                                               defaults={"days": 30, "action": "delete"})[0]
    run = retention.run(dry_run=True)
    handover = handovers.offer(by=supervisor, case=case, to_office=other_office,
                               reason="Walked handover")
    # The person consented to sharing with another office: the walked thread reaches it.
    consent.record(by=supervisor, person=person, purpose="sharing", given=True, language="es")
    thread = secure_messages.start_thread(
        by=caseworker, case=case, subject="Walked subject", body="Walked message",
        offices=[other_office], upload=secure_messages.Upload("walked.png", PNG_BYTES))
    partner_key = PartnerKey.objects.create(
        office_code="GT-GUA", name="Walked partner", country="GT", signing_key=bytes(32),
        encryption_key=bytes(32), fingerprint="WALK " * 9 + "WALK", organisation=_partner(),
        registered_by=supervisor)
    # A share with a staff member of the other office outside the walk.
    reader = User.objects.create_user(username="shared.reader", password="pw-for-tests-only")
    services.grant_membership(by=None, user=reader, office=other_office, role="caseworker")
    shares.share(by=supervisor, case=case, user=reader, parts=["procedure"],
                 until=timezone.localdate() + datetime.timedelta(days=7), reason="Walked",
                 override="Walked without consent")
    # A share with an office outside the walk (nobody works there yet).
    far = Office.objects.create(code="PA-PTY", name="Walked far office", country="PA")
    office_share = shares.share_with_office(
        by=supervisor, case=case, office=far, parts=["notes"],
        until=timezone.localdate() + datetime.timedelta(days=7), reason="Walked")
    # A security key of an account outside the walk (its owner would be asked for it).
    tip_support = _tip_support(supervisor, office, trafficking)
    # A finger and a photo of the walked person, taken by the supervisor (who may in both
    # scenarios).
    capture = bio_services.enrol_finger(by=supervisor, person=person, finger=1,
                                        data=prints.impression(21, 1), dedupe=False)
    bio_services.set_photo(by=supervisor, person=person, data=prints.face())
    # A search from the search page by the caseworker, waiting for the worker.
    search = bio_services.queue_search(by=caseworker, images={1: prints.impression(21, 2)})
    key_owner = User.objects.create_user(username="key.owner", password="pw-for-tests-only")
    key = WebAuthnDevice.objects.create(
        user=key_owner,
        name="Walked key", credential_id=b"walked-credential", public_key=b"walked-public-key")
    # An open session of that account.
    their_session = SessionStore()
    their_session[SESSION_KEY] = str(key_owner.pk)
    their_session.create()
    return scenario, {"key_id": key.pk, "session_id": key_hash(their_session.session_key),
                      "share_user_id": reader.pk,
                      "office_share_id": office_share.pk, "partner_key_id": partner_key.pk,
                      "source_id": source.pk, "capture_id": capture.pk, "search_id": search.pk,
                      "handover_id": handover.pk, "thread_id": thread.pk,
                      "attachment_id": thread.messages.get().attachments.get().pk,
                      "inbox_office_id": office.pk, "breach_id": breach.pk, "run_id": run.pk,
                      "rule_id": rule.pk, "notification_id": notification.pk,
                      "request_id": asked.pk,
                      "person_id": person.pk, "case_id": case.pk, "reference": case.reference,
                      "document_id": document.pk,
                      "job_id": job.pk, "pair_id": pair.pk, "membership_id": membership.pk,
                      "name": "register",
                      "user_id": caseworker2.pk,
                      # Named only by the trafficking pages: at the top too, for the fuzzer.
                      **tip_support,
                      TIP_OBJECTS: {"case_id": trafficking.pk, "name": "record_profile", **tip_support}}


def _tip_support(supervisor, office, case) -> dict:
    """An organisation of the office's directory, a service and a referral (without consent,
    on the supervisor's override) of the walked trafficking case."""
    organisation = support.add_organisation(by=supervisor, office=office, data=support.OrganisationData(
        name="Walked shelter", org_type="NGO", country="BZ"))
    service = support.add_service(by=supervisor, case=case, data=support.ServiceData(kind="shelter"))
    referral = support.refer(by=supervisor, case=case, data=support.ReferralData(
        organisation=organisation, service_kind="legal", referred_on=timezone.localdate(),
        override="Walked override"))
    return {"organisation_id": organisation.pk, "service_id": service.pk, "referral_id": referral.pk}


def _partner() -> Organisation:
    return Organisation.objects.get_or_create(name="Casa del Migrante", kind="shelter",
                                              country="GT")[0]


def _post_data(name: str, office, caseworker2, caseworker) -> dict:
    person_form = {"office": office.pk, "given_names": "Rosa Elena",
                   "family_names": "Caal Tzul", "sex": "female"}
    return {
        "health": {},
        "health_live": {},
        "login": {"username": caseworker.username, "password": "pw-for-tests-only"},
        "logout": {},
        "session_remaining": {},
        "set_language": {"language": "en", "next": "/"},
        "person_create": person_form,
        "person_edit": person_form,
        "person_reveal": {"field": "phone"},
        "people_search": {"name": "Núñez"},
        "identity_document_add": {"document_type": "passport", "document_number": "X1"},
        "subject_request_new": {"kind": "correction", "channel": "in_person",
                                "received_on": timezone.localdate().isoformat(),
                                "details": "Walked correction"},
        "subject_request_list": {},
        "subject_request_detail": {},
        "subject_request_export": {},
        "subject_request_answer": {"action": "refuse", "answer": "Walked refusal"},
        "breach_new": {"office": office.pk, "nature": "availability",
                       "discovered_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
                       "description": "Walked report"},
        "breach_list": {},
        "breach_detail": {"risk": "low", "status": "contained", "actions": "Walked action"},
        "breach_people": {"references": " ".join(
            Case.objects.filter(office=office).values_list("reference", flat=True))},
        "consent_record": {"purpose": "statistics", "given": "yes", "language": "es"},
        "handover_list": {},
        "office_queue": {},
        "regional_inquiries": {},
        "regional_inquire": {"to": PartnerKey.objects.get(office_code="GT-GUA").pk},
        "regional_answer": {},
        "regional_read": {},
        "handover_ask": {"office": office.pk, "reference": "BZ-BMP-2026-000001",
                         "reason": "Walked request"},
        "handover_offer": {"reason": "Walked offer"},
        "case_share": {"recipient": caseworker2.memberships.get().pk, "parts": ["notes"],
                       "until": (timezone.localdate() + datetime.timedelta(days=7)).isoformat(),
                       "reason": "Walked share"},
        "case_unshare": {},
        "case_office_unshare": {},
        "handover_answer": {"action": "reject", "answer": "Walked answer"},
        "handover_withdraw": {},
        "message_inbox": {},
        "message_office_inbox": {},
        "case_messages": {"offices": [office.pk], "subject": "Walked subject",
                          "body": "Walked message"},
        "message_thread": {},
        "message_reply": {"body": "Walked answer"},
        "message_attachment": {},
        "packages": {},
        "package_key_register": {},
        "package_key_revoke": {},
        "package_receive": {},
        "package_send": {"reason": "Walked package"},
        "transfer_list": {},
        "transfer_new": {"office": office.pk, "transferred_on": timezone.localdate().isoformat(),
                         "to_organisation": _partner().pk, "channel": "email",
                         "legal_basis": "Consent 1/2026", "categories": "case files",
                         "people_count": 1, "purpose": "Walked referral"},
        "transfer_export": {},
        "case_open": {"kind": "asylum", "assign_to_me": "on"},
        "case_assign": {"assignee": caseworker2.pk, "reason": "Workload"},
        "case_take": {},
        "note_add": {"text": "Walked note"},
        "import_start": {},
        "import_resume": {},
        "duplicate_queue": {},
        "duplicate_review": {"decision": "dismiss"},
        "retention_runs": {},
        "retention_run": {},
        "retention_rules": {},
        "retention_rule": {"years": 0, "months": 0, "days": 60, "enabled": "on"},
        "person_legal_hold": {"reason": "Orden judicial de conservación"},
        "staff": {"office": office.pk, "role": "caseworker", "username": "nuevo.gestor",
                  "first_name": "Nuevo", "last_name": "Gestor"},
        "membership_revoke": {},
        "staff_account": {"action": "deactivate", "reason": ""},
        "password_change": {"old_password": "wrong", "new_password1": "x", "new_password2": "x"},
        "session_list": {},
        "session_end": {},
        "session_end_others": {},
        "two_factor": {},
        "two_factor_enrol": {"code": "000000"},
        "two_factor_verify": {"code": "000000"},
        "two_factor_manage": {"code": "000000"},
        "two_factor_key_add": {"name": "Walked key", "credential": "{}"},
        "two_factor_key_verify": {"credential": "{}", "next": "/"},
        "two_factor_key_remove": {},
        "notification_list": {},
        "notifications_read": {},
        "notification_open": {},
        "audit_events": {"action": "case.view"},
        "audit_export": {},
        "audit_case_timeline": {},
        "rsd:step": {"expected_step": 0, "application_date": timezone.localdate().isoformat(),
                     "channel": "office", "modality": "regular", "claim_summary": "Walked claim",
                     "interviewer_gender": "any"},
        "rsd:application_edit": {"channel": "office", "modality": "regular",
                                 "claim_summary": "Walked claim", "interviewer_gender": "any"},
        "rsd:family_add": {"given_names": "Ana", "family_names": "Núñez", "sex": "female",
                           "relationship": "child", "accompanying": "on", "derivative": "on"},
        "rsd:letter": {},
        "rsd:review_queue": {},
        "rsd:interviews": {},
        "rsd:coi_library": {"office": office.pk, "title": "Country report", "publisher": "UNHCR",
                            "published_on": "2025-01-15", "country": "SV",
                            "url": "https://coi.example.org/sv"},
        "rsd:coi_document": {},
        "rsd:coi_retire": {},
        "tip:step": {"expected_step": 0, "age_when_trafficked": 17, "exploitation_types": ["ForcedLabour"],
                     "narrative": "Walked profile"},
        "tip:profile_edit": {"reason": "Walked correction"},
        "tip:event_add": {"kind": "Transit", "country": "GT", "place": "Walked place"},
        "tip:registration_screen": {"screened_on": timezone.localdate().isoformat()},
        "tip:perpetrator_add": {"role": "Transporter", "name": "Walked alias"},
        "tip:risk_assess": {"assessed_on": timezone.localdate().isoformat(), "individual": "high",
                            "household": "low", "community": "medium"},
        "tip:plan_edit": {"objectives": "Walked objectives", "review_on": "2027-01-15"},
        "tip:service_add": {"kind": "medical", "status": "planned"},
        "tip:service_edit": {"kind": "shelter", "status": "cancelled"},
        "tip:referral_add": {"organisation": _walked_organisation(office), "service_kind": "medical",
                             "referred_on": timezone.localdate().isoformat(),
                             "override": "Walked override"},
        "tip:referral_edit": {"status": "accepted"},
        "tip:organisations": {"office": office.pk, "name": "Walked clinic",
                              "org_type": "HealthServiceOrganisation", "country": "BZ"},
        "tip:organisation_edit": {"name": "Walked shelter", "org_type": "NGO", "country": "BZ",
                                  "phone": "+501 000 0000"},
        "tip:ctdc_export": {"k": 11, "action": "check"},
        "stats:dashboard": {},
        "stats:export": {},
        "stats:breakdown": {},
        "stats:consistency": {},
        "stats:rsd": {},
        "stats:rsd_export": {},
        "stats:report": {},
        "stats:unhcr": {},
        "stats:unhcr_export": {},
        "biometrics:enrol": {"finger": 1, "device": "Walked scanner", "consent": "on",
                             "capture": SimpleUploadedFile("dedo.png", prints.impression(21, 2))},
        "biometrics:photo": {"consent": "on", "photo": SimpleUploadedFile("cara.jpg", prints.face(1))},
        "biometrics:photo_image": {},
        "biometrics:print_image": {},
        "biometrics:search_result": {},
        "biometrics:verify": {"kind": "interview", "finger": 1,
                              "capture": SimpleUploadedFile("dedo.png", prints.impression(21, 2))},
        "biometrics:search": {"fingers-TOTAL_FORMS": 2, "fingers-INITIAL_FORMS": 0,
                              "fingers-0-finger": 1,
                              "fingers-0-image": SimpleUploadedFile("dedo.png", prints.impression(21, 2))},
        "document_upload": {"title": "Foto",
                            "file": SimpleUploadedFile("foto.png", PNG_BYTES, "image/png")},
    }[name]


def _walked_organisation(office):
    from tip.models import SupportOrganisation

    return SupportOrganisation.objects.get(office=office, name="Walked shelter").pk


@contextlib.contextmanager
def _rolled_back():
    """A block rolled back at its end, marked as a test case's own block (as Django's
    TestCase marks its blocks) so that steps, which refuse outer transactions, still run."""
    block = transaction.atomic()
    block._from_testcase = True
    with block:
        yield
        transaction.set_rollback(True)


@pytest.mark.parametrize("scenario_objects", ["assigned", "queue"], indirect=True)
@pytest.mark.parametrize("actor", ACTORS)
def test_walk(request, client, actor, scenario_objects, office, caseworker, caseworker2,
              supervisor):
    scenario, objects = scenario_objects
    relation = _relation(actor, scenario)
    user = None if actor == "anonymous" else request.getfixturevalue(actor)
    if relation == REFERRED:
        share_with_referred(user, objects, supervisor)
    login_url = reverse("login")
    mismatches = []

    for name, _module in walked_urls():
        methods = [m for (n, m) in EXPECTED if n == name]
        assert methods, f"no expectation for URL {name!r}"
        url = walk_url(name, objects)
        for method in methods:
            want = expected(name, method, actor, scenario)
            # Each request starts from the same data and session: logging in or out, taking
            # or erasing in one request must not change what the next one sees.
            client.logout()
            if user is not None:
                client.force_login(user)
            with _rolled_back():
                if method == "GET":
                    response = client.get(url)
                else:
                    response = client.post(url, _post_data(name, office, caseworker2, caseworker))
            if response.status_code != want:
                mismatches.append(f"{method} {url} ({name}): {response.status_code}, want {want}")
            elif relation == ANON and want == 302 and name not in (
                "login", "logout", "set_language"
            ):
                assert response["Location"].startswith(login_url), url

    assert mismatches == [], f"{actor} on the {scenario} case:\n" + "\n".join(mismatches)


@pytest.mark.parametrize("scenario_objects", ["assigned"], indirect=True)
def test_a_download_in_scope_returns_the_plaintext(client, caseworker, scenario_objects):
    _scenario, objects = scenario_objects
    client.force_login(caseworker)

    response = client.get(reverse("document_download", kwargs={
        "case_id": objects["case_id"], "document_id": objects["document_id"]}))

    assert response.status_code == 200
    assert response.content == pdf_bytes("passport")
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "pasaporte" not in response["Content-Disposition"]  # file names are personal data
    reference = Case.objects.get(pk=objects["case_id"]).reference
    assert re.fullmatch(rf'attachment; filename="{reference}-\d{{8}}-\d{{6}}\.pdf"',
                        response["Content-Disposition"])
