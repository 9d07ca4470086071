"""Names of the coded values shown to staff: every language offered has a real name in both
languages of the interface."""

import pytest
from django.utils import translation

from cases.forms import PersonForm
from cases.vocab import LANGUAGE_CODES, language_name


@pytest.mark.parametrize("lang", ["en", "es"])
def test_every_language_offered_has_a_name_not_a_code(lang):
    with translation.override(lang):
        names = {code: language_name(code) for code in LANGUAGE_CODES}
    assert all(name and name != code for code, name in names.items()), names
    assert len(set(names.values())) == len(names)


def test_spanish_names_are_spanish():
    with translation.override("es"):
        assert language_name("ar") == "Árabe"
        assert language_name("ht") == "Criollo haitiano"
        assert language_name("nah") == "Náhuatl"
        choices = dict(PersonForm().fields["languages"].choices)
    assert choices["en"] == "Inglés"


def test_a_code_outside_the_list_still_gets_the_catalogue_name():
    with translation.override("en"):
        assert language_name("deu") == "German"
        assert language_name("zzz") == "zzz"
