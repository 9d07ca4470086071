from cases.models.cases import (
    Case,
    CaseDeadline,
    CaseGroupObjectPermission,
    CaseKind,
    CaseParticipant,
    CaseStep,
    CaseUserObjectPermission,
    Document,
    Note,
    ParticipantRole,
    ReferenceCounter,
)
from cases.models.configuration import (
    ConfigurationVersion,
    DeadlinePeriod,
    Holiday,
    Organisation,
    OrganisationKind,
    OrganisationService,
    PeriodUnit,
)
from cases.models.duplicates import (
    DuplicateReason,
    DuplicateSource,
    DuplicateStatus,
    PossibleDuplicate,
)
from cases.models.imports import ImportJob, ImportStatus
from cases.models.keys import DataKey
from cases.models.logins import LoginCounter
from cases.models.notifications import Notification, NotificationKind
from cases.models.people import (
    DocumentType,
    IdentityDocument,
    Person,
    PersonIndex,
    Sex,
    SpecificNeed,
)
from cases.models.staff import Membership, Office, Role, User

__all__ = [
    "Case",
    "CaseDeadline",
    "CaseGroupObjectPermission",
    "CaseKind",
    "CaseParticipant",
    "CaseStep",
    "CaseUserObjectPermission",
    "ConfigurationVersion",
    "DataKey",
    "DeadlinePeriod",
    "Document",
    "DocumentType",
    "DuplicateReason",
    "DuplicateSource",
    "DuplicateStatus",
    "Holiday",
    "IdentityDocument",
    "ImportJob",
    "ImportStatus",
    "LoginCounter",
    "Membership",
    "Note",
    "Notification",
    "NotificationKind",
    "Office",
    "Organisation",
    "OrganisationKind",
    "OrganisationService",
    "ParticipantRole",
    "PeriodUnit",
    "Person",
    "PersonIndex",
    "PossibleDuplicate",
    "ReferenceCounter",
    "Role",
    "Sex",
    "SpecificNeed",
    "User",
]
