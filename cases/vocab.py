"""Display names for the coded values kept in clear (countries, languages, needs)."""

from __future__ import annotations

import gettext
from functools import cache

import pycountry
from django.utils.translation import get_language
from django_countries import countries

from cases.models import SpecificNeed

# Languages heard in the region's offices (ISO 639-1 or 639-3 codes).
LANGUAGE_CODES = ["es", "en", "fr", "pt", "ht", "ar", "zh", "hi", "ru", "wo", "quc", "mam",
                  "kek", "cak", "nah", "cab", "miq", "tzo", "tzh", "yua"]


@cache
def _iso639(lang: str) -> gettext.NullTranslations:
    return gettext.translation("iso639-3", pycountry.LOCALES_DIR, languages=[lang], fallback=True)


def language_name(code: str) -> str:
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
