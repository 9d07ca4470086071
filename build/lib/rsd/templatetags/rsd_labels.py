"""Display names for the codes the asylum records keep in clear."""

from django import template

from cases.vocab import language_name
from rsd.models import CartagenaGround, ConventionGround

register = template.Library()
_GROUNDS = {**dict(ConventionGround.choices), **dict(CartagenaGround.choices)}


@register.filter
def ground_label(code: str) -> str:
    return str(_GROUNDS.get(code, code))


@register.filter
def language_label(code: str) -> str:
    return language_name(code) if code else ""
