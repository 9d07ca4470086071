"""Masked values on the pages (cases/masking.py, cases/_masked.html)."""

from __future__ import annotations

from django import template

from cases import masking
from cases.models import IdentityDocument, Person

register = template.Library()


@register.simple_tag
def masked_contact(person: Person, key: str, revealed: str = "") -> masking.MaskedValue | None:
    return masking.contact_value(person, key, revealed=revealed)


@register.simple_tag
def masked_document(document: IdentityDocument, revealed: str = "") -> masking.MaskedValue:
    return masking.document_value(document, revealed=revealed)
