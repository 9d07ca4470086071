"""The retention pages are office-scoped: a supervisor or an auditor reads, of each run, the
rules of their offices and the counts and failures of their offices' records only; a system
administrator reads whole runs."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from cases import retention, services
from cases.models import Role
from tests.cases.test_retention import TODAY, idle, only, reread, rule

pytestmark = pytest.mark.usefixtures("file_root", "default_rules")
EN = {"accept-language": "en"}


@pytest.fixture
def people(caseworker, other_caseworker, office, other_office, person_data):
    """Two idle people here, one in the other office (one of them fails to be erased)."""
    def make(by, where, name):
        return idle(services.register_person(by=by, office=where,
                                             data=person_data(given_names=name, documents=[])),
                    datetime.date(2020, 1, 1))
    return (make(caseworker, office, "Ana"), make(caseworker, office, "Bea"),
            make(other_caseworker, other_office, "Lejos"))


def _rows(client, user, run):
    client.force_login(user)
    page = client.get(reverse("retention_run", args=[run.pk]), headers=EN)
    assert page.status_code == 200
    return page.content.decode()


def test_each_office_reads_its_own_counts_of_a_global_rule(people, supervisor, other_supervisor,
                                                          auditor, system_admin, office,
                                                          other_office, monkeypatch):
    only("person.no_case", "login.counter")
    rule("person.no_case", years=1)
    rule("person.no_case", office=other_office, years=2)
    here_a, here_b, there = people
    real = services.shred_person

    def failing(*, by, person, code, note=""):
        if person.pk == here_b.pk:
            raise RuntimeError("storage unreachable")
        return real(by=by, person=person, code=code, note=note)
    monkeypatch.setattr(services, "shred_person", failing)

    run = retention.run(today=TODAY)

    assert reread(here_a).erased_at and reread(there).erased_at and not reread(here_b).erased_at
    assert (run.done, run.failed) == (2, 1)

    mine = retention.scoped_report(supervisor, run)
    assert [(r["record_type"], r["office"], r["due"], r["erased"], r["failed"])
            for r in mine["rules"]] == [("person.no_case", None, 2, 1, 1)]
    assert (mine["done"], mine["failed"]) == (1, 1)
    assert [e["object"] for e in mine["errors"]] == [str(here_b.pk)]
    assert retention.scoped_report(auditor, run) == mine

    theirs = retention.scoped_report(other_supervisor, run)
    # (NULL offices sort first on SQLite, last on PostgreSQL.)
    assert sorted(((r["office"], r["due"], r["erased"]) for r in theirs["rules"]),
                  key=lambda r: r[0] or 0) == [(None, 0, 0), (other_office.pk, 1, 1)]
    assert (theirs["done"], theirs["failed"], theirs["errors"]) == (1, 0, [])

    everything = retention.scoped_report(system_admin, run)
    assert {r["record_type"] for r in everything["rules"]} == {"person.no_case", "login.counter"}
    assert (everything["done"], everything["failed"]) == (2, 1)
    assert len(everything["errors"]) == 1


def test_the_pages_show_only_the_viewers_offices(client, people, supervisor, other_supervisor,
                                                 make_user, other_office):
    only("person.no_case")
    rule("person.no_case", years=1)
    rule("person.no_case", office=other_office, years=2)
    run = retention.run(today=TODAY)
    assert run.done == 3

    page = _rows(client, supervisor, run)
    assert "2 done, 0 failed" in page
    assert other_office.code not in page
    listed = client.get(reverse("retention_runs"), headers=EN).content.decode()
    assert "<td>2</td>" in listed and "<td>3</td>" not in listed

    page = _rows(client, other_supervisor, run)
    assert "1 done, 0 failed" in page and other_office.code in page

    both = make_user(Role.SUPERVISOR, other_office)
    services.grant_membership(by=None, user=both, office=supervisor.memberships.get().office,
                              role=Role.AUDITOR)
    assert "3 done, 0 failed" in _rows(client, both, run)


def test_a_run_without_office_counts_shows_only_the_offices_own_rules(client, people, supervisor,
                                                                     system_admin, office):
    only("person.no_case")
    rule("person.no_case", years=1)
    rule("person.no_case", office=office, years=2)
    run = retention.run(today=TODAY)
    del run.report["offices"]  # as recorded before counts were kept per office
    run.save(update_fields=["report"])

    mine = retention.scoped_report(supervisor, run)
    assert [r["office"] for r in mine["rules"]] == [office.pk]
    assert len(retention.scoped_report(system_admin, run)["rules"]) == 2
