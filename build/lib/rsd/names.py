"""The names of the asylum procedures' states, steps and clocks, written once.

The values are what the database stores (`Case.state`, `CaseStep.transition`,
`CaseDeadline.clock`): never rename one without a data migration.
"""

from enum import StrEnum


class States(StrEnum):
    OPEN = "open"
    REGISTERED = "registered"
    INTERVIEW_SCHEDULED = "interview_scheduled"
    NO_SHOW = "no_show"
    ABANDONMENT_PROPOSED = "abandonment_proposed"
    INTERVIEWED = "interviewed"
    UNDER_REVIEW = "under_review"
    DECIDED = "decided"
    APPEAL_PERIOD = "appeal_period"
    APPEAL_LODGED = "appeal_lodged"
    APPEAL_DECIDED = "appeal_decided"
    RECOGNIZED = "recognized"
    CANCELLATION_PROPOSED = "cancellation_proposed"
    REJECTED_FINAL = "rejected_final"
    COMPLEMENTARY = "complementary"
    WITHDRAWN = "withdrawn"
    ABANDONED = "abandoned"
    CANCELLED = "cancelled"
    COMMITTEE = "committee"
    MINISTER = "minister"
    COMMISSION = "commission"


class Steps(StrEnum):
    REGISTER = "register"
    SCHEDULE_INTERVIEW = "schedule_interview"
    RESCHEDULE_INTERVIEW = "reschedule_interview"
    RECORD_ATTENDANCE = "record_attendance"
    RECORD_NO_SHOW = "record_no_show"
    RECORD_CONTACT = "record_contact"
    PROPOSE_ABANDONMENT = "propose_abandonment"
    CONFIRM_ABANDONMENT = "confirm_abandonment"
    KEEP_OPEN = "keep_open"
    SUBMIT_ASSESSMENT = "submit_assessment"
    RETURN_ASSESSMENT = "return_assessment"
    NOTIFY_RECOGNITION = "notify_recognition"
    NOTIFY_NEGATIVE = "notify_negative"
    LODGE_APPEAL = "lodge_appeal"
    LODGE_LATE_APPEAL = "lodge_late_appeal"
    CLOSE_UNAPPEALED = "close_unappealed"
    CLOSE_WITH_PROTECTION = "close_with_protection"
    ALLOW_APPEAL = "allow_appeal"
    DISMISS_APPEAL = "dismiss_appeal"
    NOTIFY_APPEAL_RECOGNITION = "notify_appeal_recognition"
    NOTIFY_APPEAL_DISMISSAL = "notify_appeal_dismissal"
    NOTIFY_APPEAL_DISMISSAL_PROTECTED = "notify_appeal_dismissal_protected"
    WITHDRAW = "withdraw"
    REOPEN = "reopen"
    PROPOSE_CANCELLATION = "propose_cancellation"
    CANCEL_RECOGNITION = "cancel_recognition"
    KEEP_RECOGNITION = "keep_recognition"
    DECIDE = "decide"
    APPROVE_ASSESSMENT = "approve_assessment"
    RECORD_COMMITTEE_RECOMMENDATION = "record_committee_recommendation"
    RECORD_MINISTER_DECISION = "record_minister_decision"
    RECORD_COMMISSION_DECISION = "record_commission_decision"


class Clocks(StrEnum):
    INTERVIEW = "interview"
    CONTACT = "contact"
    APPEAL = "appeal"
    DECISION = "decision"
