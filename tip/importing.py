"""Importing an HTCDS 2.0 file (the three Excel templates, or CSV with their header): each
row becomes a person, a trafficking case in the import's office, the victim profile, the
events of recruitment and exploitation, and the person's consent (docs/architecture.md#htcds-import).

It follows the import of people (cases/importing.py) and uses its reading, limits, report,
ledger and chunks: every row is checked before anything is written; with bad rows nothing
is written unless skip_invalid; rows are written a chunk per transaction. A row already
imported into the office (a keyed digest of its content, cases.models.ImportedRow) is
skipped, so the same file imported twice adds nothing. Problems name the row and the
HTCDS field, never a cell's value.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import hmac
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import TextChoices
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from cases import access, consent, importing, intake, services, texts
from cases.crypto import blind
from cases.crypto.datakeys import key_scope
from cases.importing import ImportFileError, ImportResult, Ledger, ProgressCallback, Report, RowProblem
from cases.intake import PersonData
from cases.models import CaseKind, ConsentPurpose, ImportedRow, Office, Role, Sex, User
from tip import htcds_file
from tip import services as tip_services
from tip.vocab import (
    CaseStatus,
    DecidingBodyType,
    EventType,
    Exploitation,
    Industry,
    MeansOfControl,
    PerpetratorRole,
    RecruitmentMethod,
    ReferralDirection,
    ReferralReason,
    RelationToRecruiter,
    SexualExploitation,
    TraffickingStatus,
    WebsiteOrApp,
)

KIND = "htcds"
_LOCK_SPACE = 0x48544344  # "HTCD": the advisory locks of rows being imported

GENDERS = [("Feminine", "Feminine"), ("Masculine", "Masculine"),
           ("TransgenderFeminine", "Transgender Feminine"),
           ("TransgenderMasculine", "Transgender Masculine"), ("NonConforming", "Non-conforming"),
           ("NonSpecifiedUnknown", "Non-specified or unknown")]
# The templates' validation lists word a few values otherwise than tip.vocab's labels.
TEMPLATE_LABELS: dict[str, list[tuple[str, str]]] = {
    "vic_MethodsOfControl": [("ThreatsLawEnforcement", "Threats of law enforcement")],
    "vic_ForcedLabourIndustry": [(
        "T_ActivitiesOfHouseholdsAsEmployers",
        "Activities of households as employers; undifferentiated goods- and services- "
        "producing activities of households for own use")],
}
# The person's record knows female, male, intersex and unknown; the others stay unknown.
SEX_OF = {"Feminine": Sex.FEMALE, "Masculine": Sex.MALE}
# The template spells this field without its g; files made by hand may spell it right.
DECIDING_BODY = ("vic_TraffickinStatusDecisionMakingOrg", "vic_TraffickingStatusDecisionMakingOrg")
ADDRESS = ("prs_MailingStreet", "prs_MailingCity", "prs_MailingState", "prs_MailingPostalCode",
           "prs_MailingCountry")
SINGLE: dict[str, type[TextChoices]] = {
    "vic_TraffickingStatus": TraffickingStatus,
    "vic_RelationshipToTrafficker": RelationToRecruiter,
    "vic_ForcedLabourIndustry": Industry,
}
MULTI: dict[str, type[TextChoices]] = {
    "vic_MethodOfRecruitment": RecruitmentMethod,
    "vic_MethodsOfControl": MeansOfControl,
    "vic_TypeOfExploitation": Exploitation,
    "vic_TypeOfSexExploitation": SexualExploitation,
    "vic_RecruitmentWebsitesAndApps": WebsiteOrApp,
    "vic_ExploitationWebsitesAndApps": WebsiteOrApp,
}
EVENTS = {"vic_LocationOfRecruitment": EventType.RECRUITMENT,
          "vic_LocationOfExploitation": EventType.EXPLOITATION}
# A perpetrator of the victim's case (HTCDS per_, not in the templates; files made by hand may
# carry it): one record per role in the process, each with the details, sealed.
PERPETRATOR = ("per_RoleInProcess", "per_RoleDetails")
# The case itself (docs/architecture.md#htcds-import): its status and reason for closure, and
# its two referrals, each (organisation, primary caseworker, reason, date, details). HTCDS has
# no date of opening: the incoming referral's date is the day the case came to the file's
# organisation, and the case's opening date here.
STATUS, CLOSURE = "cas_Status", "cas_ReasonForCaseClosure"
REFERRALS = {
    ReferralDirection.INCOMING: ("cas_ReferringOrganisation", "cas_ReferringPrimaryCaseWorker",
                                 "cas_ReasonForIncomingReferral", "cas_IncomingReferralDate",
                                 "cas_IncomingReferralDetails"),
    ReferralDirection.OUTGOING: ("cas_ReferredOrganisation", "cas_ReferredPrimaryCaseWorker",
                                 "cas_ReasonForOutgoingReferral", "cas_OutgoingReferralDate",
                                 "cas_OutgoingReferralDetails"),
}
# The case worker who manages the case: a user name or email address of someone who works
# on cases in the office (else a row error); empty, the case waits in the office's queue.
OWNER = "cas_CaseOwner"
# Every field the import reads; the others (prs_Salutation, prs_Title …) are left aside.
READ = ("prs_FirstName", "prs_SecondName", "prs_Birthdate", "prs_Gender", "prs_Citizenship",
        "prs_Email", "prs_MobilePhone", "prs_HomePhone", *ADDRESS, "con_Consent",
        *SINGLE, *DECIDING_BODY, "vic_AgeWhenTrafficked", *MULTI, *EVENTS, *PERPETRATOR,
        STATUS, CLOSURE, *REFERRALS[ReferralDirection.INCOMING],
        *REFERRALS[ReferralDirection.OUTGOING], OWNER)
# cases.intake's names for the person's fields, and the HTCDS field a problem is told of.
_FIELD_OF = {"given_names": "prs_FirstName", "family_names": "prs_SecondName",
             "date_of_birth": "prs_Birthdate", "sex": "prs_Gender",
             "nationalities": "prs_Citizenship", "email": "prs_Email",
             "address": "prs_MailingStreet"}
_PROFILE_FIELD = {"relation_to_recruiter": "vic_RelationshipToTrafficker",
                  "recruitment_methods": "vic_MethodOfRecruitment",
                  "means_of_control": "vic_MethodsOfControl",
                  "exploitation_types": "vic_TypeOfExploitation",
                  "sexual_exploitation_types": "vic_TypeOfSexExploitation",
                  "forced_labour_industry": "vic_ForcedLabourIndustry",
                  "recruitment_websites": "vic_RecruitmentWebsitesAndApps",
                  "exploitation_websites": "vic_ExploitationWebsitesAndApps",
                  "age_when_trafficked": "vic_AgeWhenTrafficked"}
_REFERRAL_PARTS = ("organisation", "caseworker", "reason", "referred_on", "details")
_CASE_FIELD = {"status": STATUS, "closure_reason": CLOSURE,
               "opened_on": REFERRALS[ReferralDirection.INCOMING][3],
               "closed_on": REFERRALS[ReferralDirection.OUTGOING][3],
               "trafficking_status": "vic_TraffickingStatus",
               **{f"{direction}.{part}": column for direction, columns in REFERRALS.items()
                  for part, column in zip(_REFERRAL_PARTS, columns, strict=True)}}


@dataclass
class _Row:
    number: int
    digest: str
    person: PersonData
    profile: tip_services.ProfileData
    status: str = ""
    decided_by: str = ""
    events: list[tuple[str, str]] = field(default_factory=list)  # (type, country)
    consent: bool | None = None
    perpetrator_roles: list[str] = field(default_factory=list)
    perpetrator_details: str = ""
    case: tip_services.ImportedCaseData = field(default_factory=tip_services.ImportedCaseData)
    owner: int | None = None  # the user the case is assigned to

    @property
    def year(self) -> int | None:
        """The year of the case's own opening date, if the file gives it."""
        return self.case.opened_on.year if self.case.opened_on else None


def _options(vocabulary: type[TextChoices] | list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(code, English label): the templates enter a picklist value by its English label."""
    if isinstance(vocabulary, list):
        return vocabulary
    with translation.override("en"):
        return [(str(code), str(label)) for code, label in vocabulary.choices]


def _digest(record: dict[str, str]) -> str:
    """A keyed digest of what a row says (not where it is in its file)."""
    text = "\x1f".join(f"{name}={value}" for name, value in sorted(record.items()) if value)
    key = blind.index_key("import_row", blind.active_generation())
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


class _Checker:
    def __init__(self, office: Office) -> None:
        self.office = office
        self.options = {name: _options(vocab) + TEMPLATE_LABELS.get(name, [])
                        for name, vocab in {**SINGLE, **MULTI}.items()}
        self.options["prs_Gender"] = GENDERS
        self.options["per_RoleInProcess"] = _options(PerpetratorRole)
        self.options[STATUS] = _options(CaseStatus)
        self.options["cas_ReasonFor"] = _options(ReferralReason)
        self.bodies = _options(DecidingBodyType)

    @functools.cached_property
    def staff(self) -> dict[str, int]:
        """Who works on cases in the office, by user name and by email address."""
        out: dict[str, int] = {}
        for pk, username, email in (User.objects.filter(
                is_active=True, memberships__office=self.office,
                memberships__role__in=access.CASE_ROLES)
                .values_list("pk", "username", "email").distinct()):
            out[username.casefold()] = pk
            if email:
                out.setdefault(email.casefold(), pk)
        return out

    def check(self, number: int, record: dict[str, str]) -> tuple[_Row | None, list[RowProblem]]:
        problems: list[RowProblem] = []

        def bad(column: str, message: str | Promise, params: dict[str, object] | None = None) -> None:
            problems.append(RowProblem(number, column, message, params))

        def get(name: str) -> str:
            return record.get(name, "")

        def single(name: str, options: list[tuple[str, str]]) -> str:
            if not get(name):
                return ""
            code = htcds_file.choice(get(name), options)
            if code is None:
                bad(name, _("Not a value of this HTCDS list; use its value name or its label."))
            return code or ""

        def multi(name: str) -> list[str]:
            codes, wrong = htcds_file.choices(get(name), self.options[name])
            if wrong:
                bad(name, _("Some values are not in this HTCDS list; use their value names or "
                            "labels, separated by ';'."))
            return codes

        dob = None
        if get("prs_Birthdate"):
            dob = htcds_file.date(get("prs_Birthdate"))
            if dob is None:
                bad("prs_Birthdate", _("Enter the date as YYYY-MM-DD or DD/MM/YYYY."))
        gender = single("prs_Gender", GENDERS)
        nationalities = []
        for value in htcds_file.split(get("prs_Citizenship")):
            code = htcds_file.country(value)
            if code is None:
                bad("prs_Citizenship", _("Not a country: use ISO 3166 codes such as MX or MEX."))
                break
            nationalities.append(code)
        phone_field = "prs_MobilePhone" if get("prs_MobilePhone") else "prs_HomePhone"
        address = ", ".join(get(name) for name in ADDRESS if get(name))
        person = PersonData(given_names=get("prs_FirstName"), family_names=get("prs_SecondName"),
                            sex=SEX_OF.get(gender, Sex.UNKNOWN), date_of_birth=dob,
                            nationalities=list(dict.fromkeys(nationalities)),
                            phone=get(phone_field), email=get("prs_Email"), address=address)
        try:
            person = intake.clean_person(person, country=self.office.country.code)
        except ValidationError as exc:
            for name, errors in exc.error_dict.items():
                column = phone_field if name == "phone" else _FIELD_OF.get(name, "")
                if any(p.column == column for p in problems):
                    continue  # said already
                first = errors[0]
                if first.code == "required":
                    bad(column, _("This field is required."))
                else:
                    bad(column, first.message, first.params)

        age = None
        if get("vic_AgeWhenTrafficked"):
            try:
                age = int(float(get("vic_AgeWhenTrafficked")))  # a number cell reads as "16.0"
            except (ValueError, OverflowError):
                bad("vic_AgeWhenTrafficked", _("Give an age between 0 and 120."))
        status = single("vic_TraffickingStatus", self.options["vic_TraffickingStatus"])
        body_field = next((f for f in DECIDING_BODY if get(f)), DECIDING_BODY[0])
        decided_by = single(body_field, self.bodies)
        profile = tip_services.ProfileData(
            relation_to_recruiter=single("vic_RelationshipToTrafficker",
                                         self.options["vic_RelationshipToTrafficker"]),
            recruitment_methods=multi("vic_MethodOfRecruitment"),
            means_of_control=multi("vic_MethodsOfControl"),
            exploitation_types=multi("vic_TypeOfExploitation"),
            sexual_exploitation_types=multi("vic_TypeOfSexExploitation"),
            recruitment_websites=multi("vic_RecruitmentWebsitesAndApps"),
            exploitation_websites=multi("vic_ExploitationWebsitesAndApps"),
            age_when_trafficked=age,
            forced_labour_industry=single("vic_ForcedLabourIndustry",
                                          self.options["vic_ForcedLabourIndustry"]))
        try:
            tip_services.check_profile(profile)
        except ValidationError as exc:
            for name, errors in exc.error_dict.items():
                column = _PROFILE_FIELD.get(name, "")
                if not any(p.column == column for p in problems):
                    bad(column, errors[0].message, errors[0].params)
        events = []
        for name, kind in EVENTS.items():
            if get(name):
                country = htcds_file.country(get(name))
                if country is None:
                    bad(name, _("Not a country: use ISO 3166 codes such as MX or MEX."))
                else:
                    events.append((str(kind), country))
        roles = multi("per_RoleInProcess")
        details = get("per_RoleDetails").strip()
        if roles and not details:
            bad("per_RoleDetails", _("Describe the perpetrator: per_RoleInProcess needs "
                                     "per_RoleDetails."))
        elif len(details) > texts.NOTE:
            bad("per_RoleDetails", _("Longer than %(n)d characters."), {"n": texts.NOTE})
        case = self._case(get, single, bad, problems, status)
        owner = None
        if get(OWNER).strip():
            owner = self.staff.get(get(OWNER).strip().casefold())
            if owner is None:
                bad(OWNER, _("Nobody who works on cases in this office has this user name or "
                             "email address; leave it empty to import the case unassigned."))
        given = None
        if get("con_Consent"):
            given = htcds_file.boolean(get("con_Consent"))
            if given is None:
                bad("con_Consent", _("Write TRUE or FALSE."))
        if problems:
            order = {name: at for at, name in enumerate(READ)}
            problems.sort(key=lambda p: order.get(p.column, len(order)))
            return None, problems
        return _Row(number, _digest(record), person, profile, status, decided_by, events, given,
                    roles, details if roles else "", case, owner), []

    def _case(self, get: Callable[[str], str], single: Callable[[str, list[tuple[str, str]]], str],
              bad: Callable[[str, str | Promise], None], problems: list[RowProblem],
              trafficking_status: str) -> tip_services.ImportedCaseData:
        """The cas_ fields: the status, the reason for closure, the referrals."""

        def day(name: str) -> datetime.date | None:
            if not get(name):
                return None
            value = htcds_file.date(get(name))
            if value is None:
                bad(name, _("Enter the date as YYYY-MM-DD or DD/MM/YYYY."))
            return value

        status = single(STATUS, self.options[STATUS])
        referrals = []
        for direction, (org, worker, why, on, details) in REFERRALS.items():
            if not any(get(name).strip() for name in REFERRALS[direction]):
                continue
            referrals.append(tip_services.ImportedReferralData(
                direction=direction, referred_on=day(on),
                reason=single(why, self.options["cas_ReasonFor"]),
                organisation=get(org).strip(), caseworker=get(worker).strip(),
                details=get(details).strip()))
        incoming = next((r for r in referrals if r.direction == ReferralDirection.INCOMING), None)
        outgoing = next((r for r in referrals if r.direction == ReferralDirection.OUTGOING), None)
        data = tip_services.ImportedCaseData(
            status=status, opened_on=incoming.referred_on if incoming else None,
            closure_reason=get(CLOSURE).strip(),
            closed_on=(outgoing.referred_on if outgoing and status == CaseStatus.CLOSED_REFERRED
                       else None),
            trafficking_status=trafficking_status, referrals=referrals)
        try:
            tip_services.check_imported_case(data)
        except ValidationError as exc:
            for name, errors in exc.error_dict.items():
                column = _CASE_FIELD.get(name, "")
                if get(STATUS) and not status and name in ("closure_reason", "closed_on"):
                    continue  # the status is wrong: what it says of closure is not known
                if not any(p.column == column for p in problems):
                    bad(column, errors[0].message)
        return data


def _table(data: bytes, filename: str) -> htcds_file.HtcdsTable:
    table = htcds_file.read(data=data, filename=filename)
    if "prs_FirstName" not in table.fields:
        raise ImportFileError(_("The file has no prs_FirstName field: each row of an HTCDS "
                                "file for import is a person."))
    return table


def _write_row(*, by: User, office: Office, row: _Row, reference: str, reason: str) -> None:
    person = services.register_person(by=by, office=office, data=row.person)
    case = services.open_case(by=by, person=person, kind=CaseKind.TRAFFICKING, assign_to_me=False,
                              reason=reason, reference=reference)
    if row.owner is not None:  # before its steps: the deadlines they start carry the assignee
        case = services.assign_case(by=by, case=case, assignee=User.objects.get(pk=row.owner),
                                    reason=reason)
    tip_services.import_profile(by=by, case=case, data=row.profile, status=row.status,
                                decided_by=row.decided_by)
    for kind, country in row.events:
        tip_services.add_event(by=by, case=case, data=tip_services.EventData(kind=kind,
                                                                              country=country))
    for role in row.perpetrator_roles:
        tip_services.add_perpetrator(by=by, case=case, data=tip_services.PerpetratorData(
            role=role, description=row.perpetrator_details))
    # Last, once the case's records are there: its opening date, referrals and status.
    tip_services.import_case(by=by, case=case, data=row.case)
    if row.consent is not None:
        # HTCDS's one consent: to recording the data and to anonymised statistics, not to
        # referrals (docs/domain/trafficking.md).
        for purpose in (ConsentPurpose.DATA_COLLECTION, ConsentPurpose.STATISTICS):
            consent.record(by=by, person=person, purpose=purpose, given=row.consent,
                           language=by.preferred_language or "es")
    ImportedRow.objects.create(office=office, kind=KIND, digest=row.digest, person=person,
                               case=case)


def _earlier_numbers(office: Office, rows: list[_Row], this_year: int) -> dict[int, Iterator[str]]:
    """Case numbers of the years before this one, for the rows of a chunk whose case opened
    then: drawn from that year's counter in the chunk's transaction, as many as it writes, the
    years in order (two imports lock them in the same order). Nobody else draws from an earlier
    year's counter, so holding it until the chunk commits keeps no one waiting but another
    import of that year's cases, and a chunk rolled back gives its numbers back with it."""
    need = Counter(r.year for r in rows if r.year is not None and r.year != this_year)
    numbers: dict[int, Iterator[str]] = {}
    for year in sorted(need):
        _year, first, last = services.draw_references(office=office, count=need[year], year=year)
        numbers[year] = iter([services.case_reference(office, year, n)
                              for n in range(first, last + 1)])
    return numbers


def _write_chunk(*, by: User, office: Office, rows: list[_Row], through: int, passed: int,
                 ledger: Ledger, report: Report) -> None:
    digests = [r.digest for r in rows]
    imported = set(ImportedRow.objects.filter(office=office, kind=KIND, digest__in=digests)
                   .values_list("digest", flat=True))
    this_year = timezone.localdate().year
    need = sum(1 for r in rows if r.digest not in imported and r.year in (None, this_year))
    if need:
        importing.draw_numbers(ledger, {office.pk: (office, need)})
    created, skipped = 0, passed
    reason = str(_("Imported from an HTCDS file."))
    with key_scope(), transaction.atomic():
        ledger.lock()
        importing.lock_keys(_LOCK_SPACE, [f"{office.pk}|{d}" for d in digests])
        imported = set(ImportedRow.objects.filter(office=office, kind=KIND, digest__in=digests)
                       .values_list("digest", flat=True))
        earlier = _earlier_numbers(office, [r for r in rows if r.digest not in imported],
                                   this_year)
        for row in rows:
            if row.digest in imported:
                report.add(RowProblem(row.number, "", _("Already imported; skipped."),
                                      level="skipped"))
                skipped += 1
                continue
            if row.year in (None, this_year):
                reference = importing.take_number(ledger, office)
            else:
                reference = next(earlier[row.year])
            _write_row(by=by, office=office, row=row, reference=reference, reason=reason)
            imported.add(row.digest)
            created += 1
        importing.return_unused(ledger, {office.pk: office})
        ledger.save_chunk(done=through, created=ledger.created + created,
                          skipped=ledger.skipped + skipped, report=report)
    ledger.done = through
    ledger.created += created
    ledger.skipped += skipped


def import_htcds(*, by: User, data: bytes, filename: str = "", skip_invalid: bool = False,
                 office: Office | None = None, on_progress: ProgressCallback | None = None,
                 ledger: Ledger | None = None) -> ImportResult:
    """Check every row of an HTCDS file, then write each as a trafficking case of `office`,
    a chunk of rows per transaction (see cases.importing.import_people for `ledger`).

    Only a supervisor of the office imports into it. With bad rows nothing is written
    unless skip_invalid. Raises ImportFileError when the file cannot be read. Call it
    outside any transaction: each chunk commits on its own."""
    if office is None:
        raise ValueError("an HTCDS import is for one office")
    if office.pk not in access.offices_where(by, Role.SUPERVISOR) or not office.is_active:
        raise PermissionDenied(_("Only a supervisor of this office can import people into it."))
    progress = on_progress or (lambda phase, done, total: None)
    ledger = ledger or Ledger()
    text = importing.as_csv(data=data, filename=filename)
    total = sum(1 for _row in _table(text, "upload.csv").rows)
    if not total:
        raise ImportFileError(_("The file has a header row but no people in it."))
    result = ImportResult(total=total)
    ledger.total = total
    checker = _Checker(office)

    # 1. Check every row; keep only which rows not to write.
    report = Report(importing.report_max())
    skip: set[int] = set()
    repeated: set[int] = set()
    first_row_of: dict[str, int] = {}
    progress("validating", 0, total)
    ledger.checking(0, total)
    for index, (number, record) in enumerate(_rows(text), start=1):
        row, problems = checker.check(number, record)
        if row is None:
            for problem in problems:
                report.add(problem)
            skip.add(index)
            result.rejected += 1
        elif row.digest in first_row_of:
            report.add(RowProblem(number, "", _("Same as row %(row)d; imported once."),
                                  {"row": first_row_of[row.digest]}, level="skipped"))
            repeated.add(index)
        else:
            first_row_of[row.digest] = number
        if index % importing.PROGRESS_EVERY == 0 or index == total:
            progress("validating", index, total)
            ledger.checking(index, total)
    del first_row_of
    if result.rejected and not skip_invalid:
        result.skipped = len(repeated)
        result.report = report
        return result

    # 2. Write the others, a chunk at a time. A resumed run keeps the report it had.
    if ledger.resuming and ledger.report is not None:
        report = ledger.report
    result.report = report
    size = importing.chunk_rows()
    ledger.writing()
    progress("importing", ledger.done, total)
    chunk: list[_Row] = []
    passed = 0
    through = ledger.done
    for index, (number, record) in enumerate(_rows(text), start=1):
        if index <= ledger.done:
            continue
        if index in repeated:
            passed += 1
        elif index not in skip:
            row, _problems = checker.check(number, record)
            if row is None:
                raise RuntimeError(f"row {number} passed the checks and now fails them")
            chunk.append(row)
        through = index
        if len(chunk) >= size:
            _write_chunk(by=by, office=office, rows=chunk, through=through, passed=passed,
                         ledger=ledger, report=report)
            progress("importing", ledger.done, total)
            chunk, passed = [], 0
    if through > ledger.done:
        _write_chunk(by=by, office=office, rows=chunk, through=through, passed=passed,
                     ledger=ledger, report=report)
        progress("importing", ledger.done, total)
    result.created, result.skipped = ledger.created, ledger.skipped
    result.written = result.created > 0
    return result


def _rows(text: bytes) -> Iterator[tuple[int, dict[str, str]]]:
    return _table(text, "upload.csv").rows


def register() -> None:
    importing.register_kind(importing.ImportKind(
        KIND, _("HTCDS 2.0 trafficking cases (one victim per row)"), import_htcds,
        "tip/_import_htcds_help.html",
        accept=".xlsm,application/vnd.ms-excel.sheet.macroEnabled.12"))
