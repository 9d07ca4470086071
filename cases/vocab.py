"""Display names for the coded values kept in clear (countries, languages, needs)."""

from __future__ import annotations

import gettext
from functools import cache

import pycountry
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from cases.models import SpecificNeed

# Languages heard in the region's offices (ISO 639-1, 639-3, or 639-5 for Nahuatl), named by
# us rather than by the ISO catalogue, whose Spanish names are incomplete ("Haitian") or wrong.
LANGUAGES = {
    "es": _("Spanish"), "en": _("English"), "fr": _("French"), "pt": _("Portuguese"),
    "ht": _("Haitian Creole"), "ar": _("Arabic"), "zh": _("Chinese"), "hi": _("Hindi"),
    "ru": _("Russian"), "wo": _("Wolof"), "quc": _("K'iche'"), "mam": _("Mam"),
    "kek": _("Q'eqchi'"), "cak": _("Kaqchikel"), "nah": _("Nahuatl"), "cab": _("Garifuna"),
    "miq": _("Miskito"), "tzo": _("Tzotzil"), "tzh": _("Tzeltal"), "yua": _("Yucatec Maya"),
}
LANGUAGE_CODES = list(LANGUAGES)


@cache
def _iso639(lang: str) -> gettext.NullTranslations:
    return gettext.translation("iso639-3", pycountry.LOCALES_DIR, languages=[lang], fallback=True)


def language_name(code: str) -> str:
    if code in LANGUAGES:
        return str(LANGUAGES[code])
    key = "alpha_2" if len(code) == 2 else "alpha_3"
    lang = pycountry.languages.get(**{key: code})
    if lang is None:
        return code
    return _iso639((get_language() or "en").split("-")[0]).gettext(lang.name)


def _lang() -> str:
    return get_language() or "en"


@cache
def _language_choices(lang: str) -> tuple[tuple[str, str], ...]:
    return tuple((code, language_name(code)) for code in LANGUAGE_CODES)


def language_choices() -> list[tuple[str, str]]:
    """The languages offered, named in the active language; built once per language."""
    return list(_language_choices(_lang()))


@cache
def _country_choices(lang: str) -> tuple[tuple[str, str], ...]:
    return tuple((code, str(name)) for code, name in countries)


def country_choices() -> list[tuple[str, str]]:
    """Every country, named and sorted in the active language; built once per language
    (sorting 250 translated names took most of a form's set-up)."""
    return list(_country_choices(_lang()))


def country_name(code: str) -> str:
    return str(countries.name(code)) or code


def specific_need_label(code: str) -> str:
    try:
        return str(SpecificNeed(code).label)
    except ValueError:
        return code
