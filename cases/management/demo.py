"""Synthetic people and cases for the demo (seed_demo). Fictitious, but shaped like the region.

Every person is generated from its own seed (office code and index), so the n-th person of an
office is the same on every run and on every machine: seed_demo recognises what it already
wrote by the person's fingerprint.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass, field
from functools import cache

from django.core.exceptions import ValidationError
from faker import Faker

from cases.crypto.blind import fold
from cases.intake import IdentityDocumentData, PersonData, parse_phone
from cases.models import CaseKind, DocumentType, Role, Sex, SpecificNeed

# Ages are counted back from a fixed day, not from today: the same seed must give the same
# dates of birth (and so the same fingerprints) next year too.
AGE_REFERENCE = datetime.date(2025, 1, 1)


@dataclass(frozen=True)
class DemoOffice:
    code: str
    name: str
    country: str
    city: str
    share: float  # of the demo's people
    caseworkers: int
    staff_locale: str
    staff_language: str
    note_language: str
    nationalities: dict[str, int]  # weights
    english_names: float  # share of people with English names (Belize)
    trafficking: float  # share of trafficking cases
    phone_prefixes: tuple[str, ...]  # national mobile prefixes; digits are appended
    phone_digits: int  # national significant number length
    addresses: tuple[str, ...]


OFFICES: tuple[DemoOffice, ...] = (
    DemoOffice(
        code="BZ-BMP", name="Refugees Department", country="BZ", city="Belmopan", share=0.16,
        caseworkers=3, staff_locale="en_US", staff_language="en", note_language="en",
        nationalities={"GT": 30, "HN": 30, "SV": 25, "NI": 10, "VE": 3, "CU": 2},
        english_names=0.25, trafficking=0.2, phone_prefixes=("60", "61", "62", "63", "65"),
        phone_digits=7,
        addresses=("{n} Mahogany Street, Belmopan", "{n} Cohune Walk, Belmopan",
                   "{n} Hummingbird Avenue, Las Flores, Belmopan", "Salvapan, Belmopan",
                   "{n} Orchid Street, San Martin, Belmopan", "Valley of Peace, Cayo District"),
    ),
    DemoOffice(
        code="BZ-BQV", name="Refugees Department, Benque Viejo border office", country="BZ",
        city="Benque Viejo del Carmen", share=0.10, caseworkers=2, staff_locale="en_US",
        staff_language="en", note_language="en",
        nationalities={"GT": 55, "HN": 20, "SV": 15, "NI": 7, "CU": 3},
        english_names=0.15, trafficking=0.35, phone_prefixes=("60", "62", "63", "66"),
        phone_digits=7,
        addresses=("{n} George Street, Benque Viejo del Carmen", "Calla Creek, Cayo District",
                   "{n} Churchill Street, Benque Viejo del Carmen", "Succotz, Cayo District",
                   "{n} Joseph Andrews Street, San Ignacio"),
    ),
    DemoOffice(
        code="CR-SJO", name="Refugee Unit, Migration Directorate", country="CR", city="San José",
        share=0.30, caseworkers=3, staff_locale="es", staff_language="es", note_language="es",
        nationalities={"NI": 55, "VE": 18, "CU": 10, "CO": 8, "HN": 4, "SV": 3, "HT": 2},
        english_names=0.0, trafficking=0.15, phone_prefixes=("6", "7", "8"), phone_digits=8,
        addresses=("La Carpio, La Uruca, San José", "Barrio Cuba, Hospital, San José",
                   "{n} m al sur de la iglesia, Alajuelita, San José",
                   "Calle {n}, Barrio Amón, San José", "Pavas, San José",
                   "Desamparados, San José"),
    ),
    DemoOffice(
        code="MX-TAP", name="COMAR Tapachula", country="MX", city="Tapachula", share=0.44,
        caseworkers=5, staff_locale="es_MX", staff_language="es", note_language="es",
        nationalities={"HN": 28, "CU": 18, "HT": 16, "VE": 12, "SV": 8, "GT": 8, "NI": 5,
                       "CO": 5},
        english_names=0.0, trafficking=0.2, phone_prefixes=("962",), phone_digits=10,
        addresses=("4a Avenida Norte {n}, Centro, Tapachula, Chiapas",
                   "Albergue Belén, Tapachula, Chiapas", "Albergue Jesús el Buen Pastor, Tapachula",
                   "Calle {n} Poniente, Col. Los Naranjos, Tapachula",
                   "Col. Viva México, Tapachula, Chiapas",
                   "Av. Central Sur {n}, Col. 5 de Febrero, Tapachula"),
    ),
)

# Names from Faker's Spanish (Mexico, Spain) and English locales; Haitian names from French
# given names and common Haitian family names.
_LOCALE_BY_NATIONALITY = {
    "GT": "es_MX", "HN": "es_MX", "SV": "es_MX", "NI": "es_MX", "MX": "es_MX",
    "CU": "es", "VE": "es", "CO": "es", "HT": "fr_FR",
}
_HAITIAN_FAMILY_NAMES = (
    "Jean-Baptiste", "Pierre", "Joseph", "Louis", "Charles", "Saint-Fleur", "Etienne",
    "Dorvil", "Celestin", "Augustin", "Jean-Louis", "Desir", "Toussaint", "Mondesir",
)
_MAYAN_LANGUAGES = ("mam", "quc", "kek", "cak")

_NOTES = {
    ("en", CaseKind.ASYLUM): (
        "Registration interview held with an interpreter; applicant informed of the procedure "
        "and of their rights.",
        "Applicant reports threats from a gang in the home town; asks for a female interviewer.",
        "Renewal of the applicant's pending-status document due in three months.",
        "Referred to the Department of Human Services for family support.",
        "Applicant missed the appointment; phoned and rescheduled.",
    ),
    ("en", CaseKind.TRAFFICKING): (
        "Screening done with the police anti-trafficking unit and a social worker.",
        "Potential victim; referred for medical and psychosocial care.",
        "Safe accommodation arranged with a partner organisation.",
    ),
    ("es", CaseKind.ASYLUM): (
        "Entrevista de registro realizada; se informó a la persona sobre el procedimiento y sus "
        "derechos.",
        "Refiere amenazas de una pandilla en su lugar de origen; solicita entrevistadora mujer.",
        "Presentó constancia de domicilio; pendiente copia del documento de identidad.",
        "Se canalizó a atención psicológica con una organización socia.",
        "No se presentó a la cita; se le contactó por teléfono y se reprogramó.",
    ),
    ("es", CaseKind.TRAFFICKING): (
        "Tamizaje realizado con trabajo social; posible víctima de trata con fines de explotación "
        "laboral.",
        "Derivada a albergue especializado y a atención médica.",
        "Se recabó el consentimiento informado para la referencia a la fiscalía especializada.",
    ),
}


@dataclass
class DemoCase:
    kind: str
    caseworker: int | None  # index of the office's caseworker; None leaves it in the queue
    assigned_by_supervisor: bool  # else the caseworker opens it for themselves
    notes: list[str] = field(default_factory=list)


@dataclass
class DemoPerson:
    data: PersonData
    registered_by: int  # index of the office's caseworker who registers the person
    case: DemoCase | None


@cache
def _faker(locale: str) -> Faker:
    return Faker(locale)


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _date_of_birth(rng: random.Random) -> datetime.date:
    roll = rng.random()
    if roll < 0.16:
        age = rng.randint(0, 17)
    elif roll < 0.86:
        age = rng.randint(18, 49)
    elif roll < 0.97:
        age = rng.randint(50, 64)
    else:
        age = rng.randint(65, 82)
    return AGE_REFERENCE - datetime.timedelta(days=age * 365 + rng.randint(0, 364))


def _names(rng: random.Random, nationality: str, sex: str, english: bool) -> tuple[str, str]:
    locale = "en_US" if english else _LOCALE_BY_NATIONALITY[nationality]
    fake = _faker(locale)
    fake.seed_instance(rng.getrandbits(32))
    female = sex == Sex.FEMALE or (sex != Sex.MALE and rng.random() < 0.5)
    first = fake.first_name_female if female else fake.first_name_male
    given = first()
    if locale.startswith("es") and rng.random() < 0.45:
        second = first()
        if second != given:
            given = f"{given} {second}"
    if locale == "fr_FR":
        family = rng.choice(_HAITIAN_FAMILY_NAMES)
    elif locale.startswith("es"):
        family = f"{fake.last_name()} {fake.last_name()}"  # paternal and maternal
    else:
        family = fake.last_name()
    return given, family


def _digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randint(0, 9)) for _ in range(n))


def _document(rng: random.Random, nationality: str, dob: datetime.date) -> IdentityDocumentData:
    age = (AGE_REFERENCE - dob).days // 365
    if age < 12 and rng.random() < 0.6:
        return IdentityDocumentData(DocumentType.BIRTH_CERTIFICATE, _digits(rng, 10), nationality)
    if rng.random() < 0.45:
        letter = rng.choice("ABCEFGHJKLMNPRSTUVXY")
        return IdentityDocumentData(DocumentType.PASSPORT, letter + _digits(rng, 7), nationality)

    def d(n: int) -> str:
        return _digits(rng, n)

    number = {
        "HN": lambda: f"{rng.randint(1, 18):02d}{rng.randint(1, 28):02d}-{dob.year}-{d(5)}",
        "GT": lambda: f"{d(4)} {d(5)} {rng.randint(1, 22):02d}{rng.randint(1, 30):02d}",
        "SV": lambda: f"{d(8)}-{d(1)}",
        "NI": lambda: f"{d(3)}-{dob:%d%m%y}-{d(4)}{rng.choice('ABCDEFGHJKLMNPQRSTUVWXY')}",
        "VE": lambda: f"V-{rng.randint(10, 31)}.{d(3)}.{d(3)}",
        "CU": lambda: f"{dob:%y%m%d}{d(5)}",
        "CO": lambda: f"1.0{d(2)}.{d(3)}.{d(3)}",
        "HT": lambda: f"{d(3)}-{d(3)}-{d(3)}-{d(1)}",
    }[nationality]()
    return IdentityDocumentData(DocumentType.NATIONAL_ID, number, nationality)


def phone_number(rng: random.Random, office: DemoOffice) -> str:
    """A mobile number that cases.intake.parse_phone accepts for the office's country."""
    for _ in range(50):
        prefix = rng.choice(office.phone_prefixes)
        candidate = prefix + _digits(rng, office.phone_digits - len(prefix))
        try:
            return parse_phone(candidate, office.country)
        except ValidationError:
            continue
    raise RuntimeError(f"no valid phone number for {office.country} from {office.phone_prefixes}")


def _languages(rng: random.Random, office: DemoOffice, nationality: str, english: bool) -> list[str]:
    if nationality == "HT":
        langs = ["ht", "fr"] if rng.random() < 0.5 else ["ht"]
        return [*langs, "es"] if rng.random() < 0.3 else langs
    langs = ["es"]
    if nationality == "GT" and rng.random() < 0.3:
        langs.append(rng.choice(_MAYAN_LANGUAGES))
    if english or (office.country == "BZ" and rng.random() < 0.3):
        langs.append("en")
    return langs


def _specific_needs(rng: random.Random, sex: str, age: int) -> list[str]:
    needs = []
    if age < 18:
        roll = rng.random()
        if roll < 0.3:
            needs.append(SpecificNeed.UNACCOMPANIED_CHILD)
        elif roll < 0.5:
            needs.append(SpecificNeed.SEPARATED_CHILD)
    if age >= 60:
        needs.append(SpecificNeed.OLDER_PERSON)
    if sex == Sex.FEMALE and age >= 18 and rng.random() < 0.15:
        needs.append(SpecificNeed.WOMAN_AT_RISK)
    for need, p in ((SpecificNeed.VIOLENCE_SURVIVOR, 0.08), (SpecificNeed.TORTURE_SURVIVOR, 0.04),
                    (SpecificNeed.DISABILITY, 0.04), (SpecificNeed.MEDICAL_CONDITION, 0.04),
                    (SpecificNeed.LGBTIQ, 0.03)):
        if rng.random() < p:
            needs.append(need)
    return [str(n) for n in needs]


def demo_person(office: DemoOffice, index: int) -> DemoPerson:
    """The index-th demo person of an office, with their case; the same on every run."""
    rng = random.Random(f"amparo-demo:{office.code}:{index}")  # noqa: S311 - not security
    nationality = _weighted(rng, office.nationalities)
    roll = rng.random()
    sex = Sex.FEMALE if roll < 0.5 else Sex.MALE if roll < 0.99 else Sex.UNKNOWN
    dob = _date_of_birth(rng)
    age = (AGE_REFERENCE - dob).days // 365
    english = rng.random() < office.english_names
    given, family = _names(rng, nationality, sex, english)
    nationalities = [nationality]
    if nationality == "VE" and rng.random() < 0.1:
        nationalities.append("CO")
    email = ""
    if age >= 16 and rng.random() < 0.25:
        user = ".".join(fold(given).split()[:1] + fold(family).split()[:1])
        email = f"{user}{rng.randint(1, 99)}@{rng.choice(['example.org', 'example.net'])}"
    address = ""
    if rng.random() < 0.6:
        address = rng.choice(office.addresses).format(n=rng.randint(1, 120))
    data = PersonData(
        given_names=given,
        family_names=family,
        sex=sex,
        date_of_birth=dob if rng.random() < 0.95 else None,
        aliases=[given.split()[0][:4]] if rng.random() < 0.06 else [],
        nationalities=nationalities,
        languages=_languages(rng, office, nationality, english),
        phone=phone_number(rng, office) if age >= 14 and rng.random() < 0.7 else "",
        email=email,
        address=address,
        specific_needs=_specific_needs(rng, sex, age),
        documents=[_document(rng, nationality, dob)] if rng.random() < 0.85 else [],
    )
    registered_by = rng.randrange(office.caseworkers)
    if rng.random() < 0.08:
        return DemoPerson(data, registered_by, None)  # no case yet: the office's intake
    kind = CaseKind.TRAFFICKING if rng.random() < office.trafficking else CaseKind.ASYLUM
    caseworker = rng.randrange(office.caseworkers) if rng.random() < 0.65 else None
    case = DemoCase(
        kind=str(kind),
        caseworker=caseworker,
        assigned_by_supervisor=caseworker is not None and rng.random() < 0.5,
    )
    if rng.random() < 0.35:
        templates = _NOTES[(office.note_language, kind)]
        case.notes = rng.sample(templates, k=rng.randint(1, 2))
    return DemoPerson(data, registered_by, case)


def split(total: int) -> dict[str, int]:
    """How many of `total` people each office gets (largest remainder, sums to total)."""
    exact = {o.code: total * o.share / sum(x.share for x in OFFICES) for o in OFFICES}
    counts = {code: int(v) for code, v in exact.items()}
    leftover = total - sum(counts.values())
    for code in sorted(exact, key=lambda c: exact[c] - counts[c], reverse=True)[:leftover]:
        counts[code] += 1
    return counts


def demo_people(office: DemoOffice, upto: int) -> dict[str, DemoPerson]:
    """An office's first `upto` demo people by fingerprint: whom seed_demo registers there."""
    people = (demo_person(office, i) for i in range(upto))
    return {p.data.fingerprint(): p for p in people}


def staff_usernames(office: DemoOffice) -> list[tuple[str, str]]:
    """(username, role) of an office's demo staff, e.g. ('bz-bmp-caseworker1', 'caseworker')."""
    prefix = office.code.lower()
    out = [(f"{prefix}-caseworker{n}", Role.CASEWORKER) for n in range(1, office.caseworkers + 1)]
    out += [(f"{prefix}-{role.replace('_', '-')}", role)
            for role in (Role.SUPERVISOR, Role.AUDITOR, Role.ANALYST, Role.OFFICE_ADMIN,
                         Role.SYSTEM_ADMIN)]
    return [(username, str(role)) for username, role in out]
