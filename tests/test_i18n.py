"""The Spanish catalogue is complete and keeps every placeholder."""

import re
from pathlib import Path

import polib
from django.conf import settings
from django.utils import translation

PO = Path(settings.BASE_DIR) / "locale" / "es" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w*\}")


def test_every_message_is_translated_to_spanish():
    po = polib.pofile(str(PO))
    untranslated = [e.msgid for e in po.untranslated_entries()]
    fuzzy = [e.msgid for e in po.fuzzy_entries()]
    assert untranslated == [], untranslated
    assert fuzzy == [], fuzzy


def test_translations_keep_placeholders():
    po = polib.pofile(str(PO))
    for entry in po.translated_entries():
        wanted = sorted(PLACEHOLDER.findall(entry.msgid))
        if entry.msgid_plural:
            for text in entry.msgstr_plural.values():
                assert sorted(PLACEHOLDER.findall(text)) == sorted(
                    PLACEHOLDER.findall(entry.msgid_plural)
                ), entry.msgid
        else:
            assert sorted(PLACEHOLDER.findall(entry.msgstr)) == wanted, entry.msgid


def test_catalogue_is_compiled_and_used():
    with translation.override("es"):
        assert translation.gettext("Register a person") == "Registrar a una persona"
    with translation.override("en"):
        assert translation.gettext("Register a person") == "Register a person"
