"""Trafficking procedure tests: a driver that opens a trafficking case and takes it through
the real services (never by writing the state), so that tests read as given / when / then."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from faker import Faker

from cases import services as case_services
from cases.models import Case, Office, User
from tip import services
from tip.names import States
from tip.services import IdentificationData, PerpetratorData, ProfileData
from tip.vocab import Exploitation, MeansOfControl, PerpetratorRole, TraffickingStatus

fake = Faker("es_MX")
Faker.seed(20261204)


def today() -> datetime.date:
    return timezone.localdate()


def fresh(case: Case) -> Case:
    return Case.objects.select_related("office", "principal", "assigned_to").get(pk=case.pk)


def profile_data(**overrides) -> ProfileData:
    values = dict(age_when_trafficked=16, relation_to_recruiter="Acquainted",
                  recruitment_methods=["ThroughOnlineSocialNetworks"],
                  means_of_control=[MeansOfControl.DEBT_BONDAGE, MeansOfControl.WITHHOLDS_DOCUMENTS],
                  exploitation_types=[Exploitation.FORCED_LABOUR],
                  forced_labour_industry="A_AgricultureForestryAndFishing",
                  migration_status="IrregularMigrant",
                  narrative="Me ofrecieron trabajo en una finca de Cayo y me quitaron el pasaporte.")
    values.update(overrides)
    return ProfileData(**values)


class Driver:
    def __init__(self, office: Office, caseworker: User, supervisor: User, person_data) -> None:
        self.office, self.caseworker, self.supervisor = office, caseworker, supervisor
        self.person_data = person_data

    def open(self) -> Case:
        person = case_services.register_person(
            by=self.caseworker, office=self.office,
            data=self.person_data(given_names=fake.first_name_female(), family_names=fake.last_name()))
        return case_services.open_case(by=self.caseworker, person=person, kind="trafficking")

    def at(self, state: str, case: Case | None = None) -> Case:
        case = fresh(case or self.open())
        order = [States.SCREENING, States.IDENTIFICATION, States.ACTIVE, States.FOLLOW_UP,
                 States.CLOSED]
        for target in order[:order.index(state) + 1] if state != States.OPEN else []:
            if target == States.SCREENING:
                services.record_profile(by=self.caseworker, case=case, data=profile_data())
            elif target == States.IDENTIFICATION:
                services.screen(by=self.caseworker, case=case, present={"debt", "documents_withheld"},
                                notes="Indicadores de trabajo forzoso.", screened_on=today())
            elif target == States.ACTIVE:
                services.identify(by=self.supervisor, case=case, data=IdentificationData(
                    status=TraffickingStatus.ACTUAL, decided_on=today(),
                    reasons="El Consejo confirmó los indicadores."))
            elif target == States.FOLLOW_UP:
                services.take_step(by=self.caseworker, case=case, name="start_follow_up")
            elif target == States.CLOSED:
                services.take_step(by=self.caseworker, case=case, name="close", ground="ObjectivesMet",
                                   reason="Objetivos del plan cumplidos.")
            case = fresh(case)
        return case

    def perpetrator(self, case: Case, name: str = "El Chino", role: str = PerpetratorRole.RECRUITER):
        return services.add_perpetrator(by=self.caseworker, case=fresh(case), data=PerpetratorData(
            role=role, name=name, relation_to_victim="Acquainted",
            description="Hombre de unos 40 años, tatuaje en el brazo."))


@pytest.fixture
def tip(office, caseworker, supervisor, person_data) -> Driver:
    return Driver(office, caseworker, supervisor, person_data)
