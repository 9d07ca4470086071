"""The history tables that belong to a case, as apps register them.

Every model with simple-history rows about a case (the case itself, its notes, an asylum
application...) is a source of the case's timeline. `cases` imports no procedure app: each
app registers its own sources from its AppConfig.ready(), the way dashboard sections are
registered (cases/dashboard.py); whoever reads a case's history (the auditor's timeline)
asks `sources()` for them. See docs/architecture.md#audit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Model, QuerySet
from django.utils.translation import gettext_lazy as _

from cases import events, workflow
from cases.models import (
    Case,
    CaseParticipant,
    CaseStep,
    CaseUserObjectPermission,
    Document,
    IdentityDocument,
    Note,
    OfficeShare,
    Person,
)

Rows = Callable[[Case], "QuerySet[Any]"]


@dataclass(frozen=True)
class Source:
    """A model whose history rows belong to a case.

    `rows` selects, from the model's history table, the rows about one case; `label` names
    the kind of record ("note", "interview"). `steps` marks the case's own history, whose
    rows change `STEP_FIELDS` when a step of the procedure is taken. `open_fields` are the
    office's own record rather than the person's (why a person was erased): their values are
    shown to whoever may read the timeline."""

    model: type[Model]
    rows: Rows
    label: events.Label
    steps: bool = False
    open_fields: tuple[str, ...] = ()


# What the workflow engine changes on the case when it records a step.
STEP_FIELDS = ("state", "step_no")

_sources: dict[str, Source] = {}


def register(model: type[Model], *, rows: Rows, label: events.Label, steps: bool = False,
             open_fields: tuple[str, ...] = ()) -> Source:
    """Add (or replace: ready() may run twice in tests) the source for `model`."""
    source = Source(model=model, rows=rows, label=label, steps=steps, open_fields=open_fields)
    _sources[model._meta.label_lower] = source
    return source


def sources() -> list[Source]:
    """Every registered source, in the order they were first registered."""
    return list(_sources.values())


def step_labels(case: Case, numbers: Iterable[int]) -> dict[int, str]:
    """These steps of the case, by number: the label of the transition taken, from the case's
    procedure (the transition's name when the procedure no longer has it)."""
    wf = workflow.for_case(case)
    out = {}
    steps = CaseStep.objects.filter(case=case, number__in=list(numbers))
    for number, name in steps.values_list("number", "transition"):
        transition = wf.transitions.get(name) if wf is not None else None
        out[number] = str(transition.label) if transition is not None else name
    return out


def of_case(model: type[Model]) -> Rows:
    """Rows of `model`'s history whose `case` is the case: the usual source."""
    manager = model.history  # type: ignore[attr-defined]  # simple-history's manager
    return lambda case: manager.filter(case_id=case.pk)


def register_cases() -> None:
    """The sources of `cases`: the case, its people, notes, documents and access grants."""
    register(Case, rows=lambda case: Case.history.filter(id=case.pk), label=_("case"), steps=True)
    register(CaseParticipant, rows=of_case(CaseParticipant), label=_("participant"))
    register(Note, rows=of_case(Note), label=_("note"))
    register(Document, rows=of_case(Document), label=_("document"))
    register(Person, rows=lambda case: Person.history.filter(id=case.principal_id),
             label=_("person"), open_fields=("erasure_code", "erasure_note"))
    register(IdentityDocument,
             rows=lambda case: IdentityDocument.history.filter(person_id=case.principal_id),
             label=_("identity document"))
    register(CaseUserObjectPermission,
             rows=lambda case: CaseUserObjectPermission.history.filter(content_object_id=case.pk),
             label=_("access grant"))
    register(OfficeShare, rows=of_case(OfficeShare), label=_("share with an office"))
