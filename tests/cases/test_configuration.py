"""What a system administrator configures in the administration site (cases/admin.py,
cases/configuration.py): who may, and that it counts: non-working days and deadline periods
move the deadlines opened after the change and no others; organisations; the dashboard; the
demo's system administrator.

Deadlines are counted by a toy procedure defined here, in the Belize office (2026: George
Price Day Thursday 15 Jan is a public holiday), so that the expected dates can be worked out by
hand. The asylum procedure's use of the office settings is tested in tests/rsd/test_configuration.py.
"""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from cases import services, workflow
from cases.models import (
    Case,
    CaseDeadline,
    ConfigurationVersion,
    DeadlinePeriod,
    Holiday,
    Membership,
    Office,
    Organisation,
    Role,
    User,
)
from cases.workflow import CALENDAR, WORKING, Clock, State, Transition, Workflow

pytestmark = pytest.mark.django_db

D = datetime.date
CW, SUP = Role.CASEWORKER, Role.SUPERVISOR
START = D(2026, 1, 5)  # a Monday
# 10 working days from Monday 5 Jan 2026 in Belize: George Price Day (Thu 15) is skipped.
DUE = D(2026, 1, 20)


def _toy() -> Workflow:
    return Workflow(
        name="toy_config", kind="asylum", label="Toy procedure", country="",
        states={s.name: s for s in (State("open", "Open"), State("review", "Review"),
                                    State("done", "Done", closed=True))},
        transitions={t.name: t for t in (
            Transition("submit", "Submit", ("open",), "review", (CW, SUP)),
            Transition("extend", "Extend", ("review",), "review", (SUP,)),
            Transition("finish", "Finish", ("review",), "done", (SUP,)),
        )},
        clocks=(Clock("review", "Review", 10, unit=WORKING, starts=("submit", "extend"),
                      stops=("done",)),),
    )


@pytest.fixture
def toy(use_workflow) -> Workflow:
    return use_workflow(_toy())


@pytest.fixture
def open_toy_case(toy, caseworker, office, person_data):
    def make() -> Case:
        person = services.register_person(by=caseworker, office=office, data=person_data())
        case = services.open_case(by=caseworker, person=person, kind="asylum")
        Case.objects.filter(pk=case.pk).update(procedure=toy.name)
        return Case.objects.get(pk=case.pk)
    return make


def submit(case: Case, by: User, on: datetime.date = START) -> datetime.date:
    """Open the review deadline on `on`; its due date."""
    workflow.fire(case=case, name="submit", by=by, on=on)
    return CaseDeadline.objects.get(case=case, clock="review", met_at__isnull=True).due_on


@pytest.fixture
def superuser(db) -> User:
    return User.objects.create_superuser("root-config", "root@example.invalid", "x" * 20)


@pytest.fixture
def admin_client(client, system_admin) -> Client:
    client.force_login(system_admin)
    return client


# --- Who may -----------------------------------------------------------------------------------

MODELS = ("holiday", "deadlineperiod", "organisation", "office")


@pytest.fixture
def objects(office, system_admin, toy) -> dict[str, object]:
    return {
        "holiday": Holiday.objects.create(country="BZ", date=D(2026, 1, 8), name="Decreed"),
        "deadlineperiod": DeadlinePeriod.objects.create(procedure=toy.name, clock="review", days=5),
        "organisation": Organisation.objects.create(name="Casa Refugio", kind="shelter", country="BZ"),
        "office": office,
    }


def admin_pages(objects: dict[str, object]) -> list[str]:
    urls = [reverse("admin:cases_holiday_public")]
    for model in MODELS:
        pk = objects[model].pk  # type: ignore[attr-defined]
        urls += [reverse(f"admin:cases_{model}_changelist"), reverse(f"admin:cases_{model}_add"),
                 reverse(f"admin:cases_{model}_change", args=[pk]),
                 reverse(f"admin:cases_{model}_history", args=[pk])]
        if model != "office":
            urls.append(reverse(f"admin:cases_{model}_delete", args=[pk]))
    return urls


@pytest.mark.parametrize("who", ["caseworker", "supervisor", "auditor", "office_admin",
                                 "other_supervisor"])
def test_no_other_role_reaches_the_configuration(request, client, who, objects):
    client.force_login(request.getfixturevalue(who))
    for url in admin_pages(objects):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url
    response = client.post(reverse("admin:cases_holiday_add"),
                           {"country": "BZ", "date": "2026-02-02", "name": "Nope"})
    assert response.status_code == 302
    assert not Holiday.objects.filter(name="Nope").exists()


def test_the_staff_flag_alone_opens_nothing(client, make_user, office, objects):
    """A staff account without the system administrator role (given by hand, say) is refused."""
    flagged = make_user(Role.OFFICE_ADMIN, office, is_staff=True)
    client.force_login(flagged)
    for url in admin_pages(objects):
        assert client.get(url).status_code == 403, url
    index = client.get(reverse("admin:index")).content.decode()
    for model in MODELS:
        assert reverse(f"admin:cases_{model}_changelist") not in index
    assert client.post(reverse("admin:cases_organisation_add"), {
        "name": "Nope", "kind": "ngo", "country": "BZ"}).status_code == 403
    assert not Organisation.objects.filter(name="Nope").exists()


def test_anonymous_is_sent_to_the_login(client, objects):
    for url in admin_pages(objects):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url


@pytest.mark.parametrize("who", ["system_admin", "superuser"])
def test_system_administrators_and_superusers_keep_the_configuration(request, client, who, objects):
    client.force_login(request.getfixturevalue(who))
    for url in admin_pages(objects):
        assert client.get(url).status_code == 200, url
    index = client.get(reverse("admin:index")).content.decode()
    for model in MODELS:
        assert reverse(f"admin:cases_{model}_changelist") in index


def test_a_system_administrator_deletes_no_office(admin_client, office):
    assert admin_client.get(reverse("admin:cases_office_delete", args=[office.pk])).status_code == 403
    assert admin_client.post(reverse("admin:cases_office_delete", args=[office.pk]),
                             {"post": "yes"}).status_code == 403
    assert Office.objects.filter(pk=office.pk).exists()


def test_losing_the_role_closes_the_configuration(client, system_admin, objects, superuser):
    client.force_login(system_admin)
    assert client.get(reverse("admin:cases_holiday_changelist")).status_code == 200
    services.revoke_membership(by=superuser, membership=system_admin.memberships.get(role=Role.SYSTEM_ADMIN))
    response = client.get(reverse("admin:cases_holiday_changelist"))
    assert response.status_code == 302 and "/login/" in response["Location"]


# --- Non-working days --------------------------------------------------------------------------

def test_a_day_added_in_the_admin_moves_the_next_deadline(admin_client, system_admin, open_toy_case,
                                                          caseworker):
    before = open_toy_case()
    assert submit(before, caseworker) == DUE  # counted (and kept) before the change

    response = admin_client.post(reverse("admin:cases_holiday_add"), {
        "country": "BZ", "date": "2026-01-08", "name": "Día de duelo nacional"})
    assert response.status_code == 302, response.content.decode()[:2000]

    holiday = Holiday.objects.get()
    assert (holiday.country.code, holiday.created_by) == ("BZ", system_admin)
    assert submit(open_toy_case(), caseworker) == DUE + datetime.timedelta(days=1)
    # The deadline opened before keeps its day.
    assert CaseDeadline.objects.get(case=before).due_on == DUE
    event = AuditEvent.objects.get(action="config.change")
    assert (event.actor_id, event.object_type, event.object_id) == (
        system_admin.pk, "cases.holiday", str(holiday.pk))
    assert event.details == {"operation": "add", "fields": ["country", "date", "name"]}
    assert "duelo" not in str(event.details)


def test_deleting_the_day_counts_it_again(admin_client, open_toy_case, caseworker):
    holiday = Holiday.objects.create(country="BZ", date=D(2026, 1, 8), name="Cierre")
    assert submit(open_toy_case(), caseworker) == DUE + datetime.timedelta(days=1)

    response = admin_client.post(reverse("admin:cases_holiday_delete", args=[holiday.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Holiday.objects.exists()
    assert submit(open_toy_case(), caseworker) == DUE
    assert AuditEvent.objects.filter(action="config.change", details__operation="delete").count() == 1


def test_another_countrys_day_changes_nothing(open_toy_case, caseworker):
    Holiday.objects.create(country="MX", date=D(2026, 1, 8), name="Otro país")
    assert submit(open_toy_case(), caseworker) == DUE


def test_a_change_saved_by_another_process_is_seen_at_the_next_computation(open_toy_case, caseworker):
    """Another process saved a day: the row and a new version reach this process only through
    the database (no signal here), and the next deadline counts it."""
    assert workflow.add_days(START, 10, unit=WORKING, country="BZ") == DUE  # read and kept
    Holiday.objects.bulk_create([Holiday(country="BZ", date=D(2026, 1, 8), name="Decretado")])
    assert workflow.add_days(START, 10, unit=WORKING, country="BZ") == DUE  # same version: kept
    ConfigurationVersion.objects.update_or_create(pk=1, defaults={"token": "saved-elsewhere"})

    assert workflow.add_days(START, 10, unit=WORKING, country="BZ") == DUE + datetime.timedelta(days=1)
    assert submit(open_toy_case(), caseworker) == DUE + datetime.timedelta(days=1)
    assert not workflow.is_working_day(D(2026, 1, 8), "BZ")
    assert workflow.working_days_between(START, DUE + datetime.timedelta(days=1), "BZ") == 10


def test_a_calendar_period_ending_on_an_added_day_runs_to_the_next_working_day():
    assert workflow.add_days(D(2026, 1, 1), 7, unit=CALENDAR, country="BZ") == D(2026, 1, 8)
    Holiday.objects.create(country="BZ", date=D(2026, 1, 8), name="Cierre de oficinas")
    assert workflow.add_days(D(2026, 1, 1), 7, unit=CALENDAR, country="BZ") == D(2026, 1, 9)


def test_one_day_once_per_country(admin_client):
    Holiday.objects.create(country="BZ", date=D(2026, 1, 8), name="Cierre")
    response = admin_client.post(reverse("admin:cases_holiday_add"), {
        "country": "BZ", "date": "2026-01-08", "name": "Otra vez"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert Holiday.objects.count() == 1


def test_the_admin_shows_the_public_holidays_already_counted(admin_client):
    Holiday.objects.create(country="BZ", date=D(2026, 1, 8), name="Cierre de oficinas")
    url = reverse("admin:cases_holiday_public")
    page = admin_client.get(url, {"country": "BZ", "year": "2026"}).content.decode()
    assert "2026-01-15" in page and "George Price" in page  # the package's, read-only
    assert "Cierre de oficinas" in page
    mexico = admin_client.get(url, {"country": "MX", "year": "2027"}).content.decode()
    assert "2027-02-01" in mexico and "Cierre de oficinas" not in mexico  # Constitution Day
    changelist = admin_client.get(reverse("admin:cases_holiday_changelist")).content.decode()
    assert url in changelist
    assert admin_client.get(url, {"country": "BZ", "year": "nope"}).status_code == 200


# --- Deadline periods --------------------------------------------------------------------------

def period_form(procedure: str, clock: str, days: object, unit: str = CALENDAR) -> dict[str, object]:
    return {"procedure": procedure, "clock": clock, "days": days, "unit": unit}


@pytest.mark.parametrize(("data", "field"), [
    (period_form("toy_config", "decision", 5), "clock"),    # a clock of another procedure
    (period_form("toy_config", "nope", 5), "clock"),        # no such clock anywhere
    (period_form("rsd.nowhere", "review", 5), "procedure"),
    (period_form("toy_config", "review", 0), "days"),
    (period_form("toy_config", "review", -3), "days"),
    (period_form("toy_config", "review", 5, "fortnights"), "unit"),
    (period_form("toy_config", "review", ""), "days"),  # half filled
])
def test_a_wrong_period_is_refused_on_the_form(admin_client, toy, data, field):
    response = admin_client.post(reverse("admin:cases_deadlineperiod_add"), data)
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not DeadlinePeriod.objects.exists()


def test_a_clock_of_another_procedure_names_the_procedures_own(toy):
    period = DeadlinePeriod(procedure="rsd.bz", clock="decision", days=10, unit=WORKING)
    with pytest.raises(ValidationError) as refused:
        period.full_clean()
    assert "Appeal period" in str(refused.value.message_dict["clock"])


def test_a_period_takes_effect_for_deadlines_opened_after_it(admin_client, open_toy_case, caseworker,
                                                             supervisor):
    running = open_toy_case()
    assert submit(running, caseworker) == DUE

    response = admin_client.post(reverse("admin:cases_deadlineperiod_add"),
                                 period_form("toy_config", "review", 3, CALENDAR))
    assert response.status_code == 302

    assert submit(open_toy_case(), caseworker) == D(2026, 1, 8)
    assert CaseDeadline.objects.get(case=running).due_on == DUE  # keeps its due date
    # Restarted after the change: a new deadline, the new period.
    workflow.fire(case=running, name="extend", by=supervisor, on=D(2026, 1, 6))
    assert CaseDeadline.objects.get(case=running, met_at__isnull=True).due_on == D(2026, 1, 9)


def test_the_form_says_running_deadlines_keep_their_date(admin_client, toy):
    page = admin_client.get(reverse("admin:cases_deadlineperiod_add")).content.decode()
    assert "Deadlines already running keep their due date." in page
    assert 'id="deadline-periods"' in page and "10 working days" in page  # the law's period


def test_the_database_wins_over_settings(settings, use_workflow, open_toy_case, caseworker):
    settings.AMPARO_DEADLINES = {"toy_config": {"review": (20, CALENDAR)}}
    use_workflow(_toy())  # registered again, with the settings' period
    assert submit(open_toy_case(), caseworker) == D(2026, 1, 26)  # 25 Jan is a Sunday
    DeadlinePeriod.objects.create(procedure="toy_config", clock="review", days=3, unit=CALENDAR)
    assert submit(open_toy_case(), caseworker) == D(2026, 1, 8)
    assert workflow.get("toy_config").clock_in_force("review").days == 3
    assert workflow.law_clock("toy_config", "review").days == 10


def test_the_list_shows_the_laws_and_the_settings_period(admin_client, settings, use_workflow):
    settings.AMPARO_DEADLINES = {"toy_config": {"review": (20, CALENDAR)}}
    use_workflow(_toy())
    DeadlinePeriod.objects.create(procedure="toy_config", clock="review", days=3, unit=CALENDAR)
    page = admin_client.get(reverse("admin:cases_deadlineperiod_changelist")).content.decode()
    assert "10 working days" in page and "20 calendar days" in page and "3 calendar days" in page


def test_a_stored_period_that_no_longer_fits_changes_nothing(open_toy_case, caseworker, toy):
    DeadlinePeriod.objects.create(procedure="toy_config", clock="review", days=0, unit="fortnights")
    assert submit(open_toy_case(), caseworker) == DUE


# --- Organisations -----------------------------------------------------------------------------

def organisation_form(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Asociación de Apoyo Legal", "kind": "legal_aid", "country": "BZ",
        "city": "Belmopan", "services": ["legal", "psychosocial"], "phone": "610 1234",
        "email": "contacto@example.org", "website": "https://example.org", "is_active": "on",
        "notes": "Atiende lunes a viernes."}
    data.update(changes)
    return data


def test_an_organisation_is_kept_with_its_phone_in_international_form(admin_client):
    response = admin_client.post(reverse("admin:cases_organisation_add"), organisation_form())
    assert response.status_code == 302, response.content.decode()[:3000]
    org = Organisation.objects.get()
    assert org.phone == "+5016101234"
    assert org.services == ["legal", "psychosocial"]
    assert org.service_labels() == ["Legal", "Psychosocial"]
    page = admin_client.get(reverse("admin:cases_organisation_changelist")).content.decode()
    assert "+5016101234" in page


@pytest.mark.parametrize(("changes", "field"), [
    ({"phone": "12"}, "phone"),
    ({"phone": "llamar al centro"}, "phone"),
    ({"phone": "+52 1"}, "phone"),
    ({"services": ["legal", "astrology"]}, "services"),
    ({"email": "not-an-address"}, "email"),
    ({"kind": ""}, "kind"),
    ({"name": ""}, "name"),
])
def test_a_wrong_organisation_is_refused_on_the_form(admin_client, changes, field):
    response = admin_client.post(reverse("admin:cases_organisation_add"), organisation_form(**changes))
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not Organisation.objects.exists()


def test_an_organisation_saved_twice_is_one_organisation_with_history(admin_client):
    admin_client.post(reverse("admin:cases_organisation_add"), organisation_form())
    org = Organisation.objects.get()
    url = reverse("admin:cases_organisation_change", args=[org.pk])
    admin_client.post(url, organisation_form(city="Belize City"))
    admin_client.post(url, organisation_form(city="Belize City"))
    assert Organisation.objects.count() == 1
    assert Organisation.objects.get().city == "Belize City"
    assert org.history.count() == 3


# --- Offices -----------------------------------------------------------------------------------

def office_form(office: Office, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "code": office.code, "name": office.name, "country": office.country.code,
        "city": office.city, "is_active": "on", "address": "Ring Road, Belmopan",
        "appeal_body": "", "abandon_after_no_shows": ""}
    data.update(changes)
    return data


def test_a_system_administrator_sets_an_offices_procedure_settings(admin_client, office):
    url = reverse("admin:cases_office_change", args=[office.pk])
    page = admin_client.get(url).content.decode()
    assert "Belize: Refugees Act (rsd.bz)" in page  # decided by the country
    assert admin_client.post(url, office_form(office, abandon_after_no_shows="3")).status_code == 302
    office.refresh_from_db()
    assert (office.abandon_after_no_shows, office.address) == (3, "Ring Road, Belmopan")

    for wrong in ("0", "11", "dos"):
        response = admin_client.post(url, office_form(office, abandon_after_no_shows=wrong))
        assert response.status_code == 200, wrong
        assert "abandon_after_no_shows" in response.context["adminform"].form.errors
    admin_client.post(url, office_form(office))
    office.refresh_from_db()
    assert office.abandon_after_no_shows is None  # back to the procedure's default


# --- Dashboard ---------------------------------------------------------------------------------

def test_the_system_administrators_dashboard_counts_the_configuration(admin_client, office,
                                                                       other_office, caseworker, toy):
    from django.utils import timezone

    this_year = timezone.localdate().year
    Office.objects.create(code="GT-GUA", name="Cerrada", country="GT", is_active=False)
    Holiday.objects.create(country="BZ", date=D(this_year, 1, 8), name="Este año")
    Holiday.objects.create(country="BZ", date=D(this_year - 1, 1, 8), name="El año pasado")
    DeadlinePeriod.objects.create(procedure="toy_config", clock="review", days=5)
    Organisation.objects.create(name="Activa", kind="ngo", country="BZ")
    Organisation.objects.create(name="Cerrada", kind="ngo", country="BZ", is_active=False)

    page = admin_client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    def card(name: str) -> str:
        start = page.index(f'id="card-{name}"')
        return page[start:page.index("</div></div>", start)]

    assert '<div class="fs-3">2</div>' in card("offices")
    assert '<div class="fs-3">2</div>' in card("staff")  # the system administrator and the caseworker
    assert '<div class="fs-3">1</div>' in card("holidays") and str(this_year) in card("holidays")
    assert '<div class="fs-3">1</div>' in card("periods")
    assert '<div class="fs-3">1</div>' in card("organisations")
    for model in ("office", "holiday", "deadlineperiod", "organisation"):
        assert reverse(f"admin:cases_{model}_changelist") in page
    assert reverse("admin:cases_user_changelist") not in page  # the superuser's
    holidays = admin_client.get(f"{reverse('admin:cases_holiday_changelist')}?year={this_year}")
    assert holidays.status_code == 200
    assert [h.name for h in holidays.context["cl"].result_list] == ["Este año"]


def test_a_superuser_sees_the_configuration_too(client, superuser):
    client.force_login(superuser)
    page = client.get(reverse("dashboard")).content.decode()
    assert 'id="configuration"' in page and reverse("admin:cases_user_changelist") in page


@pytest.mark.parametrize("who", ["caseworker", "supervisor", "auditor", "office_admin"])
def test_no_other_role_sees_the_configuration_cards(request, client, who):
    client.force_login(request.getfixturevalue(who))
    page = client.get(reverse("dashboard")).content.decode()
    assert 'id="configuration"' not in page


# --- Demo --------------------------------------------------------------------------------------

def test_the_demo_has_one_system_administrator_and_prints_its_login():
    first, second = StringIO(), StringIO()
    call_command("seed_demo", people=0, stdout=first)
    sysadmin = User.objects.get(username="sysadmin")
    memberships = set(Membership.objects.filter(user=sysadmin).values_list("role", "office__code"))
    assert {role for role, _code in memberships} == {Role.SYSTEM_ADMIN}
    assert len(memberships) == Office.objects.count() == 4
    assert sysadmin.is_staff and not sysadmin.is_superuser and sysadmin.check_password("amparo-demo-only")
    users, count = User.objects.count(), Membership.objects.count()

    call_command("seed_demo", people=0, stdout=second)

    assert (User.objects.count(), Membership.objects.count()) == (users, count)
    assert User.objects.filter(username="sysadmin").count() == 1
    for out in (first.getvalue(), second.getvalue()):
        assert "System administrator" in out and ": sysadmin" in out
    assert "Nothing added" in second.getvalue()
    client = Client()
    assert client.login(username="sysadmin", password="amparo-demo-only")
    assert client.get(reverse("admin:cases_holiday_changelist")).status_code == 200
