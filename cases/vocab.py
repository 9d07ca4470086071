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


def language_choices() -> list[tuple[str, str]]:
    return [(code, language_name(code)) for code in LANGUAGE_CODES]


def country_name(code: str) -> str:
    return str(countries.name(code)) or code


def specific_need_label(code: str) -> str:
    try:
        return str(SpecificNeed(code).label)
    except ValueError:
        return code
