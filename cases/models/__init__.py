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
from cases.models.imports import ImportJob, ImportStatus
from cases.models.keys import DataKey
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
    "DataKey",
    "Document",
    "DocumentType",
    "IdentityDocument",
    "ImportJob",
    "ImportStatus",
    "Membership",
    "Note",
    "Notification",
    "NotificationKind",
    "Office",
    "ParticipantRole",
    "Person",
    "PersonIndex",
    "ReferenceCounter",
    "Role",
    "Sex",
    "SpecificNeed",
    "User",
]
