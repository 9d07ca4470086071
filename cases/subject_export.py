"""The copy of everything held about a person, for their access request: one content, as
JSON and as PDF, in the language they read (docs/architecture.md#data-subject-requests).

`cases` writes the sections it owns (the person, identity documents, cases, steps,
documents, requests); an app adds its own by registering a provider from its
AppConfig.ready(), as the asylum procedure does for applications, interviews and decisions.
The office's internal working papers (staff notes, assessments) are left out unless a
supervisor includes them; the copy says what was left out.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from io import BytesIO
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from cases import pdfs
from cases.models import (
    Case,
    CaseDeadline,
    CaseParticipant,
    CaseStep,
    Consent,
    Document,
    Note,
    Person,
    SubjectRequest,
    Transfer,
)
from cases.vocab import country_name, language_name, specific_need_label
from cases.workflow import definitions

FORMAT = "amparo-subject-access/1"
Value = str | int | bool | list[str] | datetime.date | datetime.datetime | None


@dataclass
class Section:
    key: str                     # stable, for scripts: "person", "rsd.interviews"
    title: str                   # in the copy's language
    labels: dict[str, str]       # field -> label in the copy's language, in order
    records: list[dict[str, Value]] = field(default_factory=list)


@dataclass
class Export:
    language: str
    generated_at: datetime.datetime
    office: str
    request_received_on: datetime.date
    sections: list[Section]
    withheld: list[str]          # what was left out, in the copy's language


# A provider returns an app's sections (and what it withheld) for the person.
Provider = Callable[[Person, bool], tuple[list[Section], list[str]]]
_providers: dict[str, Provider] = {}


def register(name: str, provider: Provider) -> None:
    _providers[name] = provider


def label(model: type[models.Model], name: str) -> str:
    f = model._meta.get_field(name)
    return str(f.verbose_name if isinstance(f, models.Field) else name)


def section(key: str, title: str, model: type[models.Model] | None, fields: list[str],
            rows: list[dict[str, Value]], extra: dict[str, str] | None = None) -> Section:
    """A section whose labels are the model's own field names, plus `extra` ones."""
    labels = {name: capfirst((extra or {}).get(name) or (label(model, name) if model else name))
              for name in fields}
    return Section(key, title, labels, rows)


def display(instance: models.Model, name: str) -> str:
    return str(getattr(instance, f"get_{name}_display")())


def _state(case: Case) -> str:
    return definitions.state_label(case)


def _step_label(case: Case, step: CaseStep) -> str:
    wf = definitions.for_case(case)
    if wf is not None and step.transition in wf.transitions:
        return str(wf.transition(step.transition).label)
    return step.transition


def _given_purpose(text: str) -> str:
    """A transfer's purpose without a supervisor's reason for sharing without consent (an
    internal working paper, kept in the register), in whichever language it was written."""
    prefixes = set()
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            prefixes.add(_("Shared without the person's consent: %(reason)s").split("%")[0].strip())
    return "\n".join(line for line in text.splitlines()
                     if not any(line.startswith(p) for p in prefixes))


def _own_sections(person: Person, internal: bool) -> tuple[list[Section], list[str]]:
    out = [section("person", _("Your record"), Person, [
        "given_names", "family_names", "aliases", "date_of_birth", "sex", "nationalities",
        "languages", "phone", "email", "address", "specific_needs", "created_at",
        "restricted_at"], [{
            "given_names": person.given_names, "family_names": person.family_names,
            "aliases": list(person.aliases or []), "date_of_birth": person.date_of_birth,
            "sex": display(person, "sex"),
            "nationalities": [country_name(c) for c in person.nationalities],
            "languages": [language_name(c) for c in person.languages],
            "phone": person.phone, "email": person.email, "address": person.address,
            "specific_needs": [specific_need_label(c) for c in person.specific_needs or []],
            "created_at": person.created_at, "restricted_at": person.restricted_at,
        }], extra={"created_at": _("registered on")})]
    docs = list(person.documents.order_by("document_type", "pk"))
    if docs:
        out.append(section("identity_documents", _("Identity documents"),
                           type(docs[0]), ["document_type", "number", "issuing_country"], [
            {"document_type": display(d, "document_type"), "number": d.number,
             "issuing_country": country_name(d.issuing_country.code) if d.issuing_country else ""}
            for d in docs]))
    parts = list(CaseParticipant.objects.filter(person=person).select_related("case__office")
                 .order_by("case__opened_at"))
    cases = [p.case for p in parts]
    if parts:
        out.append(section("cases", _("Your cases"), Case, [
            "reference", "office", "kind", "role", "state", "opened_at", "closed_at"], [
            {"reference": p.case.reference, "office": p.case.office.name,
             "kind": display(p.case, "kind"), "role": display(p, "role"),
             "state": _state(p.case), "opened_at": p.case.opened_at, "closed_at": p.case.closed_at}
            for p in parts], extra={"role": _("you are")}))
        by_id = {c.pk: c for c in cases}
        steps = list(CaseStep.objects.filter(case__in=cases).order_by("case_id", "number"))
        if steps:
            out.append(section("steps", _("What happened in your cases"), None,
                               ["case", "on", "step"], [
                {"case": by_id[s.case_id].reference, "on": s.effective_on,
                 "step": _step_label(by_id[s.case_id], s)} for s in steps],
                extra={"case": _("case"), "on": _("date"), "step": _("step")}))
        running = list(CaseDeadline.objects.filter(case__in=cases, met_at__isnull=True)
                       .order_by("due_on"))
        if running:
            out.append(section("deadlines", _("Deadlines running"), None, ["case", "deadline", "due_on"], [
                {"case": by_id[d.case_id].reference,
                 "deadline": definitions.clock_label(by_id[d.case_id], d.clock), "due_on": d.due_on}
                for d in running],
                extra={"case": _("case"), "deadline": _("deadline"), "due_on": _("due on")}))
    documents = list(Document.objects.filter(person=person).select_related("case")
                     .order_by("created_at"))
    if documents:
        out.append(section("documents", _("Documents on file"), Document,
                           ["case", "title", "filename", "created_at"], [
            {"case": d.case.reference, "title": d.title, "filename": d.filename,
             "created_at": d.created_at} for d in documents],
            extra={"case": _("case"), "created_at": _("added on")}))
    withheld = []
    notes = Note.objects.filter(person=person).select_related("case").order_by("created_at")
    if internal:
        rows = [{"case": n.case.reference, "created_at": n.created_at, "text": n.text} for n in notes]
        if rows:
            out.append(section("notes", _("Staff notes"), Note, ["case", "created_at", "text"], rows,
                               extra={"case": _("case"), "created_at": _("date")}))
    elif notes.exists():
        withheld.append(_("Staff notes on your cases (%(count)d).") % {"count": notes.count()})
    requests = list(SubjectRequest.objects.filter(person=person).order_by("recorded_at"))
    out.append(section("requests", _("Your requests about your data"), SubjectRequest,
                       ["kind", "received_on", "status", "details", "answer"], [
        {"kind": display(r, "kind"), "received_on": r.received_on, "status": display(r, "status"),
         "details": r.details, "answer": r.answer} for r in requests]))
    consents = list(Consent.objects.filter(person=person, replaced_at__isnull=True)
                    .order_by("purpose"))
    if consents:
        out.append(section("consents", _("Your consent"), Consent,
                           ["purpose", "given", "recorded_at"], [
            {"purpose": display(c, "purpose"), "given": _("yes") if c.given else _("no"),
             "recorded_at": c.recorded_at} for c in consents],
            extra={"recorded_at": _("recorded on")}))
    # Who received their data (the register of transfers), as it stands: an entry put right
    # by a correction is shown as corrected; the copies given to the person are left out.
    given = list(Transfer.objects.filter(models.Q(person=person) | models.Q(case__in=cases))
                 .filter(subject_request__isnull=True, corrections__isnull=True)
                 .select_related("to_office", "to_organisation", "case")
                 .order_by("transferred_on", "recorded_at"))
    if given:
        out.append(section("transfers", _("Who your data was given to"), Transfer,
                           ["transferred_on", "recipient", "case", "categories", "purpose"], [
            {"transferred_on": t.transferred_on,
             "recipient": t.to_office.name if t.to_office else str(t.to_organisation or ""),
             "case": t.case.reference if t.case else "", "categories": t.categories,
             "purpose": t.purpose if internal else _given_purpose(t.purpose)} for t in given],
            extra={"recipient": _("given to")}))
    return out, withheld


def build(*, request: SubjectRequest, language: str, internal: bool) -> Export:
    """Everything held about the request's person, in `language` (reads their sealed data:
    the caller checked who may, and records the export)."""
    person = request.person
    with translation.override(language):
        sections, withheld = _own_sections(person, internal)
        for provider in _providers.values():
            more, left_out = provider(person, internal)
            sections.extend(more)
            withheld.extend(left_out)
        return Export(language=language, generated_at=timezone.now(), office=person.office.name,
                      request_received_on=request.received_on, sections=sections,
                      withheld=[str(w) for w in withheld])


# --- Rendering ------------------------------------------------------------------------------

def _json_value(value: Value) -> Any:
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def to_json(export: Export) -> bytes:
    data = {
        "format": FORMAT, "language": export.language,
        "generated_at": _json_value(export.generated_at), "office": export.office,
        "request_received_on": _json_value(export.request_received_on),
        "withheld": export.withheld,
        "sections": [{"key": s.key, "title": s.title, "labels": s.labels,
                      "records": [{k: _json_value(v) for k, v in r.items()} for r in s.records]}
                     for s in export.sections],
    }
    return json.dumps(data, ensure_ascii=False, indent=2).encode()


def _text(value: Value) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, datetime.datetime):
        return date_format(timezone.localtime(value), "DATETIME_FORMAT")
    if isinstance(value, datetime.date):
        return date_format(value, "DATE_FORMAT")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def to_pdf(export: Export) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    pdfs.register_fonts()
    buffer = BytesIO()
    with translation.override(export.language):
        doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=pdfs.MARGIN, rightMargin=pdfs.MARGIN,
                                topMargin=pdfs.MARGIN, bottomMargin=pdfs.MARGIN,
                                title=_("Your personal data"), author=export.office)

        def para(text: str, style: Any = pdfs.BODY) -> Paragraph:
            return Paragraph(escape(text, quote=False).replace("\n", "<br/>"), style)

        flow: list[Any] = [
            para(export.office, pdfs.BOLD),
            para(_("Your personal data"), pdfs.TITLE),
            para(_("This is a copy of the personal data %(office)s holds about you, produced "
                   "on %(date)s in answer to your request of %(received)s.") % {
                "office": export.office, "date": _text(export.generated_at),
                "received": _text(export.request_received_on)}),
        ]
        if export.withheld:
            flow.append(para(_("Not included: the office's internal working papers. You may "
                               "ask the office about them."), pdfs.BOLD))
            flow.extend(para("• " + w) for w in export.withheld)
        for s in export.sections:
            flow.append(para(s.title, pdfs.TITLE))
            if not s.records:
                flow.append(para(_("Nothing recorded.")))
            for i, record in enumerate(s.records):
                if i:
                    flow.append(Spacer(1, 6))
                for name, heading in s.labels.items():
                    flow.append(para(f"{heading}: {_text(record.get(name))}"))
        doc.build(flow)
    return buffer.getvalue()
