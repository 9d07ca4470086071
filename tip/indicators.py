"""The screening questionnaire: trafficking indicators grouped by type of exploitation, and
the recommendation the answers yield (docs/domain/trafficking.md#screening).

This is the default set; an office may leave some out (`for_office`, kept in
tip.models.ScreeningQuestionnaire by system administrators). Indicator codes are stored with
the answers: never rename one, add a new one instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from tip.vocab import Exploitation, Recommendation

GENERAL = "general"


@dataclass(frozen=True)
class Indicator:
    code: str
    group: str                     # an Exploitation code, or GENERAL
    label: str | Promise
    strong: bool = False           # on its own enough to recommend identification


DEFAULT: tuple[Indicator, ...] = (
    Indicator("deceived", GENERAL, _("Was deceived about the work, its conditions or the place")),
    Indicator("documents_withheld", GENERAL, _("Identity or travel documents are kept by someone else")),
    Indicator("not_free_to_leave", GENERAL, _("Cannot leave the place or the work freely"), strong=True),
    Indicator("debt", GENERAL, _("Owes a debt to the recruiter or employer that keeps growing")),
    Indicator("threats", GENERAL, _("Threats against the person or their family")),
    Indicator("violence", GENERAL, _("Physical or sexual violence")),
    Indicator("isolated", GENERAL, _("Isolated: no contact with family or others")),
    Indicator("unpaid", Exploitation.FORCED_LABOUR, _("Little or no pay, or pay withheld")),
    Indicator("excessive_hours", Exploitation.FORCED_LABOUR, _("Excessive working hours without rest")),
    Indicator("lives_at_work", Exploitation.FORCED_LABOUR,
              _("Lives where they work, under the employer's control")),
    Indicator("forced_sex", Exploitation.SEXUAL, _("Made to provide sexual services"), strong=True),
    Indicator("earnings_taken", Exploitation.SEXUAL, _("Earnings from sexual services taken by others")),
    Indicator("moved_around", Exploitation.SEXUAL, _("Moved often between places or cities")),
    Indicator("child_exploited", Exploitation.CHILD_LABOUR,
              _("A child made to work, beg or provide sexual services"), strong=True),
    Indicator("forced_begging", Exploitation.FORCED_BEGGING, _("Made to beg and hand over the money")),
    Indicator("forced_crimes", Exploitation.FORCED_CRIMINALITY,
              _("Made to commit crimes (theft, drug transport)")),
    Indicator("forced_marriage", Exploitation.FORCED_MARRIAGE,
              _("Married or promised in marriage without consent")),
)


def groups(indicators: tuple[Indicator, ...] = DEFAULT) -> list[tuple[str, list[Indicator]]]:
    """The indicators by group, general ones first, in the order they are listed."""
    out: dict[str, list[Indicator]] = {}
    for ind in indicators:
        out.setdefault(ind.group, []).append(ind)
    return list(out.items())


def group_label(group: str) -> str:
    if group == GENERAL:
        return str(_("General indicators"))
    return str(dict(Exploitation.choices).get(group, group))


def for_office(office_id: int) -> tuple[Indicator, ...]:
    """The indicators the office asks: the default set minus those it left out."""
    from tip.models import ScreeningQuestionnaire  # the models import this module's vocabularies

    omitted = (ScreeningQuestionnaire.objects.filter(office_id=office_id)
               .values_list("omitted", flat=True).first()) or []
    return tuple(i for i in DEFAULT if i.code not in set(omitted))


LIKELY_AT = 4  # as many indicators present as this: likely, even without a strong one


def recommend(present: set[str], indicators: tuple[Indicator, ...] = DEFAULT) -> str:
    """Likely with a strong indicator or LIKELY_AT present; possible with any; else unlikely."""
    known = {i.code: i for i in indicators}
    found = [known[c] for c in present if c in known]
    if any(i.strong for i in found) or len(found) >= LIKELY_AT:
        return Recommendation.LIKELY
    if found:
        return Recommendation.POSSIBLE
    return Recommendation.UNLIKELY


# The short screen at asylum registration: a few HTCDS codes (methods of control, types of
# exploitation), each asked as a question. Any one present suggests a referral to the
# anti-trafficking office; it decides nothing.
REGISTRATION: tuple[Indicator, ...] = (
    Indicator("FalsePromises", GENERAL,
              _("Was promised work, a journey or papers that turned out to be false")),
    Indicator("WithholdsDocuments", GENERAL, _("Someone else keeps their identity or travel documents")),
    Indicator("DebtBondage", GENERAL, _("Owes a debt for the journey or the work that they cannot pay off")),
    Indicator("TakesEarnings", GENERAL, _("Someone takes what they earn")),
    Indicator("PhysicalThreats", GENERAL, _("They or their family were threatened or hurt")),
    Indicator(Exploitation.FORCED_LABOUR, Exploitation.FORCED_LABOUR,
              _("Was made to work against their will, or could not leave the work")),
    Indicator(Exploitation.SEXUAL, Exploitation.SEXUAL,
              _("Was made to provide sexual services")),
)
