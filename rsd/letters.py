"""Decision letters on refugee status as PDF, written in the applicant's language."""

import datetime
import re
from dataclasses import dataclass
from html import escape
from io import BytesIO

from django.utils import translation
from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_countries import countries
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer

from cases.pdfs import BODY, BOLD, MARGIN, TITLE, register_fonts

OUTCOME_LABELS = {
    "recognized": gettext_lazy("Refugee status recognized"),
    "rejected": gettext_lazy("Application rejected"),
    "complementary": gettext_lazy("Complementary protection granted"),
}
OUTCOME_SENTENCES = {
    "recognized": gettext_lazy("Your application has been accepted: you are recognized as a refugee."),
    "rejected": gettext_lazy("Your application has been rejected: you are not recognized as a refugee."),
    "complementary": gettext_lazy(
        "You are not recognized as a refugee, but you are granted complementary protection."
    ),
}
BASIS_LABELS = {
    "convention": gettext_lazy("the 1951 Convention relating to the Status of Refugees"),
    "cartagena": gettext_lazy("the wider refugee definition of the 1984 Cartagena Declaration"),
    "complementary": gettext_lazy("the national rules on complementary protection"),
}
GROUND_LABELS = {
    "race": gettext_lazy("race"),
    "religion": gettext_lazy("religion"),
    "nationality": gettext_lazy("nationality"),
    "social_group": gettext_lazy("membership of a particular social group"),
    "political_opinion": gettext_lazy("political opinion"),
    "generalized_violence": gettext_lazy("generalized violence"),
    "foreign_aggression": gettext_lazy("foreign aggression"),
    "internal_conflict": gettext_lazy("internal conflicts"),
    "massive_hr_violations": gettext_lazy("massive violation of human rights"),
    "public_order": gettext_lazy("other circumstances which have seriously disturbed public order"),
}
APPEAL_SENTENCES = {
    "recognized": gettext_lazy("Your appeal has been allowed: you are recognized as a refugee."),
    "rejected": gettext_lazy("Your appeal has been dismissed: the decision on your application stands."),
}
RIGHTS_SENTENCE = gettext_lazy(
    "As a refugee you are protected against return to a country where your life or freedom would be "
    "at risk, and you have the right to an identity document, to work, to education, to health care "
    "and to family reunification, in accordance with national law."
)
APPEALABLE = {"rejected", "complementary"}


@dataclass(frozen=True)
class LetterContent:
    language: str
    office_name: str
    office_country: str
    reference: str
    applicant_name: str
    family_names: list[str]
    issued_on: datetime.date
    authority: str
    outcome: str
    legal_basis: str
    grounds: list[str]
    reasons: str
    decided_on: datetime.date
    delivered_on: datetime.date | None
    appeal_due_on: datetime.date | None
    appeal_body: str
    appeal: bool = False        # a decision on appeal: final, nothing more to appeal here
    office_address: str = ""    # the letterhead's postal address, as the office writes it


def _check(content: LetterContent) -> None:
    if content.outcome not in OUTCOME_SENTENCES:
        raise ValueError(f"Unknown outcome {content.outcome!r}; use one of {sorted(OUTCOME_SENTENCES)}.")
    if content.legal_basis != "none" and content.legal_basis not in BASIS_LABELS:
        raise ValueError(f"Unknown legal basis {content.legal_basis!r}; use one of {sorted(BASIS_LABELS)}.")
    if unknown := set(content.grounds) - set(GROUND_LABELS):
        raise ValueError(f"Unknown grounds {sorted(unknown)}; use codes from {sorted(GROUND_LABELS)}.")
    if content.appeal and content.outcome not in APPEAL_SENTENCES:
        raise ValueError("An appeal is allowed (recognized) or dismissed (rejected).")
    if not content.appeal and content.outcome in APPEALABLE and not (
            content.appeal_due_on and content.appeal_body):
        raise ValueError("A rejection or complementary protection needs appeal_due_on and appeal_body.")


def _para(text: str, style: ParagraphStyle = BODY) -> Paragraph:
    return Paragraph(escape(text, quote=False), style)


def _basis_sentence(content: LetterContent) -> str:
    if content.legal_basis == "none":
        return _("No ground for international protection was found to apply.")
    basis = BASIS_LABELS[content.legal_basis]
    if not content.grounds:
        return _("This decision is based on %(basis)s.") % {"basis": basis}
    grounds = ", ".join(str(GROUND_LABELS[g]) for g in content.grounds)
    return _("This decision is based on %(basis)s, on the following grounds: %(grounds)s.") % {
        "basis": basis,
        "grounds": grounds,
    }


def _day(d: datetime.date) -> str:
    """The date as the active language writes it ("24 de diciembre de 2026")."""
    return date_format(d, "DATE_FORMAT")


def _heading(content: LetterContent) -> list[Flowable]:
    if content.appeal:
        return [_para(_("Decision on your appeal"), TITLE),
                _para(str(APPEAL_SENTENCES[content.outcome]))]
    return [_para(_("Decision on your application for refugee status"), TITLE),
            _para(str(OUTCOME_LABELS[content.outcome]), BOLD),
            _para(str(OUTCOME_SENTENCES[content.outcome]))]


def _field(label: str, value: str) -> Paragraph:
    return _para(_("%(label)s: %(value)s") % {"label": label, "value": value})


def _letterhead(content: LetterContent) -> list[Flowable]:
    lines = [line.strip() for line in content.office_address.splitlines() if line.strip()]
    return [
        _para(content.office_name, BOLD),
        *[_para(line) for line in lines],
        _para(str(countries.name(content.office_country))),
        Spacer(1, 8 * mm),
    ]


def _signature(content: LetterContent) -> list[Flowable]:
    return [
        Spacer(1, 14 * mm),
        _para("______________________________"),
        _para(_("Name, signature and seal")),
        _field(_("On behalf of"), content.authority),
    ]


def _story(content: LetterContent) -> list[Flowable]:
    story: list[Flowable] = [
        *_letterhead(content),
        _field(_("Reference"), content.reference),
        _field(_("Date"), _day(content.issued_on)),
        _field(_("Applicant"), content.applicant_name),
        *_heading(content),
        _field(_("Decided by"), content.authority),
        _field(_("Date of decision"), _day(content.decided_on)),
        _para(_basis_sentence(content)),
        _para(_("Reasons"), BOLD),
    ]
    for block in re.split(r"\n\s*\n", content.reasons.strip()):
        story.append(Paragraph(escape(block, quote=False).replace("\n", "<br/>"), BODY))
    if content.family_names:
        story.append(_para(_("This decision also covers the following family members:"), BOLD))
        story += [_para(f"• {name}") for name in content.family_names]
    if content.appeal and content.outcome != "recognized":
        closing: list[str | Promise] = [_("This decision on your appeal is final.")]
    elif content.outcome in APPEALABLE and content.appeal_due_on:
        due = {"body": content.appeal_body, "date": _day(content.appeal_due_on)}
        closing = [
            _("You may appeal this decision to %(body)s until %(date)s (inclusive).") % due,
            _("An appeal lodged after this date may still be accepted if you justify the delay."),
        ]
    else:
        closing = [RIGHTS_SENTENCE]
    story += [_para(str(sentence)) for sentence in closing]
    story += _signature(content)
    delivered = _day(content.delivered_on) if content.delivered_on else "____________________"
    story += [Spacer(1, 8 * mm), _field(_("Delivered on"), delivered)]
    return story


def _build(content: LetterContent, pages: int) -> tuple[bytes, int]:
    out = BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=_("Decision letter"),
        author="",
        subject="",
        creator="Amparo",
        keywords="",
    )

    def footer(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        text = _("%(reference)s — Page %(page)d of %(pages)d") % {
            "reference": content.reference,
            "page": doc.page,
            "pages": pages,
        }
        canvas.setFont("Vera", 8)
        canvas.drawCentredString(A4[0] / 2, MARGIN / 2, text)

    doc.build(_story(content), onFirstPage=footer, onLaterPages=footer)
    return out.getvalue(), doc.page


def render_decision_letter(content: LetterContent) -> bytes:
    """Render the decision letter as PDF bytes in ``content.language``."""
    _check(content)
    register_fonts()
    with translation.override(content.language):
        # The first pass counts the pages so the footer can say "page 1 of N".
        pages = _build(content, pages=0)[1]
        return _build(content, pages=pages)[0]
