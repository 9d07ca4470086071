"""The names of the trafficking procedure's states and steps, written once.

The values are what the database stores (`Case.state`, `CaseStep.transition`): never rename
one without a data migration.
"""

from enum import StrEnum


class States(StrEnum):
    OPEN = "open"
    SCREENING = "screening"
    IDENTIFICATION = "identification"
    ACTIVE = "active"
    FOLLOW_UP = "follow_up"
    CLOSED = "closed"
    CLOSED_REFERRED = "closed_referred"


class Steps(StrEnum):
    RECORD_PROFILE = "record_profile"
    SCREEN = "screen"
    IDENTIFY = "identify"
    RETURN_SCREENING = "return_screening"
    START_FOLLOW_UP = "start_follow_up"
    RESUME = "resume_support"
    CLOSE = "close"
    CLOSE_REFERRED = "close_referred"
    REOPEN = "reopen"
    REOPEN_FOR_SCREENING = "reopen_for_screening"
