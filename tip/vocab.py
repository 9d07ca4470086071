"""The controlled vocabularies of trafficking cases: HTCDS 2.0's picklists, with HTCDS's value
names as the stored codes and its labels as English text (Spanish through the catalogue).

`VOCABULARIES` maps each HTCDS field to its choices; `EXTENSIONS` lists the few values added
to an HTCDS list, and `LOCAL` the lists HTCDS does not define (docs/domain/trafficking.md).
The field standard itself is in tip/data/ (CC BY 4.0, IOM; see docs/domain/trafficking.md).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class TraffickingStatus(models.TextChoices):  # vic_TraffickingStatus
    POSSIBLE = "PossibleVictimOfTrafficking", _("Possible victim of trafficking")
    ACTUAL = "ActualVictimOfTrafficking", _("Identified victim of trafficking")
    NOT_A_VICTIM = "NotAVictimOfTrafficking", _("Not a victim of trafficking")


class DecidingBodyType(models.TextChoices):  # vic_TraffickingStatusDecisionMakingOrg
    POLICE = "Police", _("Police")
    NGO = "NGO", _("Non-governmental organisation")
    COURT = "CourtOrProsecution", _("Court or prosecution")
    GOVERNMENT = "NonPoliceGovernmentalOrganization", _("Non-police governmental body")
    OTHER = "Other", _("Other deciding body")


class RelationToRecruiter(models.TextChoices):  # vic_RelationshipToTrafficker
    FAMILIAL = "Familial", _("Family member")
    ACQUAINTED = "Acquainted", _("Acquaintance")
    # HTCDS spells the value name this way; the label is spelt right.
    UNACQUAINTED = "Unaquainted", _("Stranger")


class RecruitmentMethod(models.TextChoices):  # vic_MethodOfRecruitment (several)
    BUSINESS = "AtAPlaceOfBusiness", _("At a place of business")
    EDUCATION = "AtAnEducationalInstitution", _("At an educational institution")
    WORK = "AtWork", _("At work")
    SOCIAL_NETWORKS = "ThroughOnlineSocialNetworks", _("Through online social networks")
    ONLINE_AD = "ThroughAnOnlineAdvertisement", _("Through an online advertisement")
    TV_AD = "ThroughATelevisionAdvert", _("Through a television advertisement")
    NEWSPAPER_AD = "ThroughANewspaperAdvert", _("Through a newspaper advertisement")
    FAMILY = "ThroughFamilyOrFamilyEvents", _("Through family or family events")
    FRIENDS = "ThroughFriendsOrSocialEvents", _("Through friends or social events")
    OTHER = "Other", _("Other way of recruitment")


class MeansOfControl(models.TextChoices):  # vic_MethodsOfControl (several)
    PHYSICAL_THREATS = "PhysicalThreats", _("Physical threats")
    THREATS_LAW_ENFORCEMENT = "ThreatsLawEnforcement", _("Threats of denunciation to the authorities")
    THREATENS_FAMILY = "ThreatensChildrenFamily", _("Threats to children or family")
    DEBT_BONDAGE = "DebtBondage", _("Debt bondage")
    FALSE_PROMISES = "FalsePromises", _("False promises")
    PHYSICAL_ABUSE = "PhysicalAbuse", _("Physical abuse")
    SEXUAL_ABUSE = "SexualAbuse", _("Sexual abuse")
    TAKES_EARNINGS = "TakesEarnings", _("Takes earnings")
    RESTRICTS_FINANCES = "RestrictsFinancialAccess", _("Restricts access to money")
    RESTRICTS_MEDICAL = "RestrictsMedicalCare", _("Restricts medical care")
    WITHHOLDS_NECESSITIES = "WithholdsNecessities", _("Withholds necessities")
    PSYCHOLOGICAL_ABUSE = "PsychologicalAbuse", _("Psychological abuse")
    SUBSTANCES = "PsychoactiveSubstance", _("Psychoactive substances")
    EXCESSIVE_HOURS = "ExcessiveWorkingHours", _("Excessive working hours")
    WITHHOLDS_DOCUMENTS = "WithholdsDocuments", _("Withholds documents")
    OTHER = "Other", _("Other means of control")


class WebsiteOrApp(models.TextChoices):  # vic_RecruitmentWebsitesAndApps, vic_ExploitationWebsitesAndApps
    # Brand names are not translated.
    FACEBOOK = "Facebook", "Facebook"
    INSTAGRAM = "Instagram", "Instagram"
    WHATSAPP = "WhatsApp", "WhatsApp"
    TELEGRAM = "Telegram", "Telegram"
    MESSENGER = "FacebookMessenger", "Facebook Messenger"
    VIBER = "Viber", "Viber"
    SNAPCHAT = "SnapChat", "SnapChat"
    LINE = "Line", "Line"
    FOUR_SALE = "4Sale", "4Sale"
    WECHAT = "WeChat", "WeChat"
    QQ = "QQ", "QQ"
    QZONE = "QZone", "QZone"
    TIKTOK = "TikTok", "TikTok"
    TWITTER = "Twitter", "Twitter"
    OTHER = "Other", _("Other website or app")


class Exploitation(models.TextChoices):  # vic_TypeOfExploitation (several)
    FORCED_LABOUR = "ForcedLabour", _("Forced labour")
    SEXUAL = "SexualExploitation", _("Sexual exploitation")
    CHILD_LABOUR = "ChildLabour", _("Child labour")
    FORCED_MARRIAGE = "ForcedMarriage", _("Forced marriage")
    SERVITUDE = "Servitude", _("Servitude")
    FORCED_MILITARY = "ForcedMilitaryByNonStateActors", _("Forced military service (by non-state actors)")
    ORGAN_REMOVAL = "OrganRemoval", _("Organ removal")
    FORCED_BEGGING = "ForcedBegging", _("Forced begging")
    FORCED_ADOPTION = "ForcedAdoption", _("Forced adoption")
    # Not an HTCDS value (HTCDS counts it as "Other"); the region's laws name it.
    FORCED_CRIMINALITY = "ForcedCriminality", _("Forced criminality")
    SURROGACY = "Surrogacy", _("Surrogacy")
    OTHER = "Other", _("Other form of exploitation")


class Industry(models.TextChoices):  # vic_ForcedLabourIndustry: the ISIC Rev. 4 sections
    A = "A_AgricultureForestryAndFishing", _("Agriculture, forestry and fishing")
    B = "B_MiningAndQuarrying", _("Mining and quarrying")
    C = "C_Manufacturing", _("Manufacturing")
    D = "D_ElectricityGasSteamAndAirConditioningSupply", _(
        "Electricity, gas, steam and air conditioning supply")
    E = "E_WaterSupplySewerageWasteManagement", _(
        "Water supply; sewerage, waste management and remediation")
    F = "F_Construction", _("Construction")
    G = "G_WholesaleAndRetailTradeRepairOfMotorVehicles", _(
        "Wholesale and retail trade; repair of motor vehicles and motorcycles")
    H = "H_TransportationAndStorage", _("Transportation and storage")
    I = "I_AccommodationAndFoodServiceActivities", _("Accommodation and food service activities")  # noqa: E741
    J = "J_InformationAndCommunication", _("Information and communication")
    K = "K_FinancialAndInsuranceActivities", _("Financial and insurance activities")
    L = "L_RealEstateActivities", _("Real estate activities")
    M = "M_ProfessionalScientificAndTechnicalActivities", _(
        "Professional, scientific and technical activities")
    N = "N_AdministrativeAndSupportServiceActivities", _("Administrative and support service activities")
    O = "O_PublicAdministrationAndDefence", _(  # noqa: E741
        "Public administration and defence; compulsory social security")
    P = "P_Education", _("Education")
    Q = "Q_HumanHealthAndSocialWorkActivities", _("Human health and social work activities")
    R = "R_ArtsEntertainmentAndRecreation", _("Arts, entertainment and recreation")
    S = "S_OtherServiceActivities", _("Other service activities")
    T = "T_ActivitiesOfHouseholdsAsEmployers", _("Activities of households as employers")
    U = "U_ActivitiesOfExtraterritorialOrganizations", _(
        "Activities of extraterritorial organizations and bodies")


class SexualExploitation(models.TextChoices):  # vic_TypeOfSexExploitation (several)
    PROSTITUTION = "Prostitution", _("Prostitution")
    PORNOGRAPHY = "Pornography", _("Pornography")
    REMOTE = "RemoteInteractiveServices", _("Remote interactive services")
    PRIVATE = "PrivateSexualServices", _("Private sexual services")


class EventType(models.TextChoices):  # hte_Type
    RECRUITMENT = "Recruitment", _("Recruitment")
    TRANSIT = "Transit", _("Transit")
    EXPLOITATION = "Exploitation", _("Exploitation")


class PerpetratorRole(models.TextChoices):  # per_RoleInProcess
    TRAVELLING_PARTNER = "TravellingPartner", _("Travelling partner")
    TRANSPORTER = "Transporter", _("Transporter")
    RECRUITER = "RecruiterOrIntermediary", _("Recruiter or intermediary")
    BROKER = "BrokerTravelAgent", _("Broker or travel agent")
    TRANSFERRED = "TransferredIndividual", _("Transferred the person")
    HARBOURED = "HarbouredIndividual", _("Harboured the person")
    SOLD = "SoldIndividual", _("Sold the person")
    BOUGHT = "BoughtIndividual", _("Bought the person")
    RECEIVED = "ReceivedIndividual", _("Received the person")
    CONTROLLER = "ControlledIndividual", _("Controller")
    SMUGGLER = "Smuggler", _("Smuggler")
    ABUSER = "Abuser", _("Abuser")
    KIDNAPPER = "Kidnapper", _("Kidnapper")
    EXPLOITER = "Exploiter", _("Exploiter")
    OTHER = "Other", _("Other role")


class CaseStatus(models.TextChoices):  # cas_Status
    ACTIVE = "Active", _("Active")
    FOLLOW_UP = "FollowUp", _("Follow-up")
    CLOSED = "Closed", _("Closed")
    CLOSED_REFERRED = "ClosedReferred", _("Closed and referred")



class ReferralReason(models.TextChoices):  # cas_ReasonForIncomingReferral, …OutgoingReferral
    ADDITIONAL_SERVICES = "AdditionalServicesRequired", _("Additional services required")
    MIGRATION = "MigrationOrChangeOfLocation", _("Migration or change of location")
    OTHER = "Other", _("Other reason for referral")


class ReferralDirection(models.TextChoices):
    """Which of the HTCDS case's referrals: the one that brought it, or one it went on to."""

    INCOMING = "incoming", _("Referred to the organisation")
    OUTGOING = "outgoing", _("Referred on by the organisation")


# --- Lists HTCDS does not define --------------------------------------------------------------

class MigrationStatus(models.TextChoices):
    """Migration or protection status when identified (HTCDS has no list for it)."""

    NATIONAL = "National", _("National of the country")
    REGULAR_MIGRANT = "RegularMigrant", _("Migrant with a regular status")
    IRREGULAR_MIGRANT = "IrregularMigrant", _("Migrant in an irregular situation")
    ASYLUM_SEEKER = "AsylumSeeker", _("Asylum seeker")
    REFUGEE = "Refugee", _("Refugee")
    UNACCOMPANIED_CHILD = "UnaccompaniedChild", _("Unaccompanied child")
    SEPARATED_CHILD = "SeparatedChild", _("Separated child")
    RETURNEE = "Returnee", _("Returnee")
    STATELESS = "Stateless", _("Stateless person")
    UNKNOWN = "Unknown", _("Not known")


class AgeBand(models.TextChoices):
    """Age when trafficked, in the CTDC dataset's bands (HTCDS records the age itself)."""

    B0_8 = "0--8", _("0 to 8 years")
    B9_17 = "9--17", _("9 to 17 years")
    B18_20 = "18--20", _("18 to 20 years")
    B21_23 = "21--23", _("21 to 23 years")
    B24_26 = "24--26", _("24 to 26 years")
    B27_29 = "27--29", _("27 to 29 years")
    B30_38 = "30--38", _("30 to 38 years")
    B39_47 = "39--47", _("39 to 47 years")
    B48 = "48+", _("48 years or more")


def age_band(age: int | None) -> str:
    """The CTDC band of an age in years ("" when unknown)."""
    if age is None or age < 0:
        return ""
    for code in AgeBand.values:
        low, _sep, high = code.partition("--")
        if code.endswith("+") or int(low) <= age <= int(high):
            return code
    return ""  # pragma: no cover  (the last band is open)


class ClosureReason(models.TextChoices):
    """Why a case was closed (HTCDS keeps the reason as free text)."""

    OBJECTIVES_MET = "ObjectivesMet", _("Support objectives met")
    WITHDREW = "PersonWithdrew", _("The person no longer wants support")
    LOST_CONTACT = "LostContact", _("Contact lost")
    RETURNED = "ReturnedOrRelocated", _("Returned or relocated")
    REFERRED = "Referred", _("Referred to another organisation")
    NOT_A_VICTIM = "NotAVictim", _("Not identified as a victim")
    DECEASED = "Deceased", _("Deceased")
    OTHER = "Other", _("Other reason for closure")


class Recommendation(models.TextChoices):
    """What a screening suggests to the identifying body."""

    LIKELY = "likely", _("Likely victim of trafficking")
    POSSIBLE = "possible", _("Possible victim of trafficking: more information needed")
    UNLIKELY = "unlikely", _("Trafficking unlikely")


class OrganisationType(models.TextChoices):  # org_Type
    NGO = "NGO", _("Non-governmental organisation")
    LAW_ENFORCEMENT = "LawEnforcement", _("Law enforcement")
    HEALTH = "HealthServiceOrganisation", _("Health service organisation")
    CENTRAL_GOVERNMENT = "CentralGovernmentOrganisation", _("Central government organisation")
    LOCAL_GOVERNMENT = "LocalGovernmentOrganisation", _("Local government organisation")
    IMMIGRATION = "ImmigrationService", _("Immigration service")
    LEGAL = "LegalService", _("Legal service")
    BUSINESS = "CorporateBusiness", _("Corporate business")
    SCHOOL = "SchoolOrCollege", _("School or college")


class RiskLevel(models.TextChoices):
    """A dimension's level in a risk assessment (HTCDS's assessment sections name no scale)."""

    LOW = "low", _("Low risk")
    MEDIUM = "medium", _("Medium risk")
    HIGH = "high", _("High risk")


class ServiceKind(models.TextChoices):
    """The kinds of support a plan lists and a referral asks for."""

    SHELTER = "shelter", _("Shelter")
    MEDICAL = "medical", _("Medical care")
    PSYCHOSOCIAL = "psychosocial", _("Psychosocial support")
    LEGAL = "legal", _("Legal assistance")
    EDUCATION = "education", _("Education")
    LIVELIHOOD = "livelihood", _("Livelihood")
    FINANCIAL = "financial", _("Financial assistance")
    SOCIAL_CARE = "social_care", _("Social care")
    RETURN = "return", _("Return or repatriation")
    FAMILY_TRACING = "family_tracing", _("Family tracing")


class ServiceStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    IN_PROGRESS = "in_progress", _("Under way")
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", _("Service cancelled")
    NOT_DELIVERED = "not_delivered", _("Not delivered")


class ReferralStatus(models.TextChoices):
    SENT = "sent", _("Sent")
    ACCEPTED = "accepted", _("Accepted by the organisation")
    DECLINED = "declined", _("Declined by the organisation")
    COMPLETED = "completed", _("Completed")


# The HTCDS fields whose picklists these are, and the values added to them.
VOCABULARIES: dict[str, type[models.TextChoices]] = {
    "vic_TraffickingStatus": TraffickingStatus,
    "vic_TraffickingStatusDecisionMakingOrg": DecidingBodyType,
    "vic_RelationshipToTrafficker": RelationToRecruiter,
    "vic_MethodOfRecruitment": RecruitmentMethod,
    "vic_MethodsOfControl": MeansOfControl,
    "vic_RecruitmentWebsitesAndApps": WebsiteOrApp,
    "vic_ExploitationWebsitesAndApps": WebsiteOrApp,
    "vic_TypeOfExploitation": Exploitation,
    "vic_ForcedLabourIndustry": Industry,
    "vic_TypeOfSexExploitation": SexualExploitation,
    "hte_Type": EventType,
    "per_RoleInProcess": PerpetratorRole,
    "cas_Status": CaseStatus,
    "cas_ReasonForIncomingReferral": ReferralReason,
    "cas_ReasonForOutgoingReferral": ReferralReason,
    "org_Type": OrganisationType,
}
EXTENSIONS: dict[str, set[str]] = {"vic_TypeOfExploitation": {Exploitation.FORCED_CRIMINALITY}}
LOCAL: tuple[type[models.TextChoices], ...] = (MigrationStatus, AgeBand, ClosureReason, Recommendation,
                                                RiskLevel, ServiceKind, ServiceStatus, ReferralStatus,
                                                ReferralDirection)


def label(vocabulary: type[models.TextChoices], code: str) -> str:
    """The label of `code` in the active language (the code itself when it is unknown)."""
    return str(dict(vocabulary.choices).get(code, code))


def labels(vocabulary: type[models.TextChoices], codes: list[str] | None) -> list[str]:
    return [label(vocabulary, c) for c in codes or []]


def code_for(vocabulary: type[models.TextChoices], text: str) -> str | None:
    """The code whose label (in the active language) or code is `text`, or None."""
    wanted = text.strip().casefold()
    for code, lab in vocabulary.choices:
        if wanted in (code.casefold(), str(lab).casefold()):
            return str(code)
    return None
