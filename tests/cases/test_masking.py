"""The masks the pages show before a value is asked for (cases/masking.py, ASVS V14.2.6)."""

from __future__ import annotations

import pytest
from faker import Faker

from cases.masking import HIDDEN, mask_address, mask_document, mask_email, mask_phone

fake = Faker(["es_MX", "es", "en"])


@pytest.mark.parametrize(("number", "masked"), [
    ("AB1234821", "•••• 4821"),
    ("0801 1990 12345", "•••• 2345"),  # spaces are not characters of the number
    ("A123456", "•••• 56"),            # five to seven: two shown
    ("X1234", "•••• 34"),
    ("1234", HIDDEN),                   # four or fewer: nothing shown
    ("7", HIDDEN),
    ("", ""),
    (None, ""),
    ("   ", ""),
    ("ÑÁ12345ñé", "•••• 45ñé"),          # non-ASCII letters are characters like any other
])
def test_document_numbers_keep_their_last_characters_only(number, masked):
    assert mask_document(number) == masked


def test_a_document_mask_does_not_tell_the_length():
    assert len(mask_document("12345678")) == len(mask_document("1234567890123456"))


@pytest.mark.parametrize(("phone", "masked"), [
    ("+5016101234", "+501 •••-••34"),
    ("+525512345678", "+52 •• •••• ••78"),
    ("+34612345678", "+34 ••• •• •• 78"),
    ("", ""),
    (None, ""),
    ("12345", "•••••"),              # too few digits: none shown
    ("ext. ٠١٢٣٤٥٦٧", "ext. ••••••٦٧"),  # Arabic-Indic digits are digits too
])
def test_phones_keep_their_country_code_and_last_two_digits(phone, masked):
    assert mask_phone(phone) == masked


def test_a_generated_phone_shows_no_more_than_its_country_and_last_digits():
    for _ in range(20):
        number = f"+5255{fake.numerify('########')}"
        masked = mask_phone(number)
        assert masked.startswith("+52 ") and masked.endswith(number[-2:])
        assert sum(ch.isdigit() for ch in masked) == 4  # "52" and the last two


@pytest.mark.parametrize(("email", "masked"), [
    ("majo@example.org", "m•••@example.org"),
    ("ñandú.pérez@correo.mx", "ñ•••@correo.mx"),
    ("a@example.org", "•••@example.org"),   # one letter: not even that one
    ("no-at-sign", HIDDEN),
    ("", ""),
    (None, ""),
])
def test_emails_keep_the_first_character_and_the_domain(email, masked):
    assert mask_email(email) == masked


def test_a_generated_email_hides_its_mailbox():
    for _ in range(20):
        email = fake.email()
        local, _, domain = email.partition("@")
        masked = mask_email(email)
        assert masked.endswith("@" + domain)
        assert len(local) < 3 or local not in masked


@pytest.mark.parametrize(("address", "masked"), [
    ("Av. Juárez 123, Int. 4\nCentro, 06000 Ciudad de México",
     "••••\nCentro, 06000 Ciudad de México"),
    ("Calle 5, Barrio Sur", "••••, Barrio Sur"),
    ("Calle 5 número 12", HIDDEN),
    ("\n\n  Calle Ñandú 7  \n\n Mérida \n", "••••\nMérida"),
    ("", ""),
    (None, ""),
])
def test_addresses_lose_their_first_line(address, masked):
    assert mask_address(address) == masked


def test_a_generated_address_loses_its_street():
    for _ in range(20):
        address = Faker("es_MX").address()
        first = address.splitlines()[0]
        assert first not in mask_address(address)
