"""Writes stamped with who and why: cases.updates."""

from __future__ import annotations

import pytest

from cases.models import Case, Note
from cases.updates import model_update, stamp


def test_only_the_fields_that_differ_are_saved_with_user_and_reason(supervisor, caseworker,
                                                                   caseworker2, case):
    before = Case.objects.get(pk=case.pk)

    changed = model_update(case, by=supervisor, reason="Speaks Mam", assigned_to=caseworker2,
                           kind=case.kind, office=case.office)

    assert changed == ["assigned_to"]
    stored = Case.objects.get(pk=case.pk)
    assert stored.assigned_to == caseworker2
    assert stored.updated_at > before.updated_at  # the model's updated_at goes with them
    latest = case.history.latest("history_date")
    assert (latest.history_user, latest.history_change_reason) == (supervisor, "Speaks Mam")
    assert latest.assigned_to_id == caseworker2.pk


def test_nothing_is_saved_when_nothing_differs(supervisor, caseworker, case):
    rows = case.history.count()
    before = Case.objects.get(pk=case.pk).updated_at

    assert model_update(case, by=supervisor, reason="No change", assigned_to=caseworker) == []

    assert case.history.count() == rows
    assert Case.objects.get(pk=case.pk).updated_at == before


def test_an_unknown_field_is_a_programming_error(supervisor, case):
    with pytest.raises(ValueError, match="no field 'assignee'"):
        model_update(case, by=supervisor, assignee=None)


def test_a_model_without_updated_at_saves_just_its_fields(caseworker, case):
    note = Note(case=case, person_id=case.principal_id, author=caseworker, text="Primera cita")
    stamp(note, by=caseworker)
    note.save()

    assert model_update(note, by=caseworker, reason="Typo", text="Primera entrevista") == ["text"]

    assert Note.objects.get(pk=note.pk).text == "Primera entrevista"
    created, changed = note.history.order_by("history_date")
    assert (created.history_user, created.history_change_reason) == (caseworker, None)
    assert (changed.history_user, changed.history_change_reason) == (caseworker, "Typo")


def test_a_blank_reason_clears_an_earlier_one(supervisor, caseworker, caseworker2, case):
    model_update(case, by=supervisor, reason="  Leave  ", assigned_to=caseworker2)
    model_update(case, by=supervisor, assigned_to=caseworker)

    first, second = case.history.order_by("-history_date")[:2][::-1]
    assert first.history_change_reason == "Leave"  # trimmed
    assert second.history_change_reason is None


def test_stamp_names_the_system_when_no_user_acts(case):
    stamp(case, by=None, reason="Nightly sweep")
    case.save()

    latest = case.history.latest("history_date")
    assert (latest.history_user, latest.history_change_reason) == (None, "Nightly sweep")
