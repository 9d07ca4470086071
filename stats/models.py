"""The statistics' summary table (docs/architecture.md#statistics-speed): one row per
countable thing of a case (its application, each decision, closure, appeal, screening,
identification and deadline) with the case's clear attributes the filters need copied beside it, so
that an indicator is one scan of one table instead of a join of four. It holds nothing
that is not already clear in `cases`, `rsd` and `tip`: coarse attributes, dates and codes.
`stats.facts` rebuilds a case's rows whenever one of its records is saved (every workflow
step saves the case), in the same transaction."""

from django.db import models


class Fact(models.Model):
    APPLICATION, DECISION, CLOSURE = "application", "decision", "closure"
    SCREENING, IDENTIFICATION = "screening", "identification"
    INTERVIEW, NOTIFICATION = "interview", "notification"  # the first heard; a decision delivered
    APPEAL = "appeal"  # lodged: `on` the day, `a` the first-instance outcome appealed
    # A period of one of the procedure's clocks, with the deadline's own copy of the office
    # (a period met stays with the office that met it): `a` the clock, `on` the day it was
    # met (None while it runs), `until` its last day.
    DEADLINE = "deadline"

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    office = models.ForeignKey("cases.Office", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16)
    on = models.DateField(null=True)  # the date it counts by
    until = models.DateField(null=True)  # applications: the day the case closed; deadlines: due
    procedure = models.CharField(max_length=40, blank=True)
    nationality = models.CharField(max_length=2, blank=True)  # the first recorded
    sex = models.CharField(max_length=10, blank=True)
    birth_year = models.PositiveSmallIntegerField(null=True)
    a = models.CharField(max_length=48, blank=True)  # the category (channel, level_outcome..)
    b = models.CharField(max_length=48, blank=True)  # a second one (modality, legal basis)
    days = models.IntegerField(null=True)  # decisions, interviews, notifications: days since the application
    priority = models.BooleanField(default=False)  # applications: in the priority queue

    class Meta:
        indexes = [models.Index(fields=["kind", "office", "on"], name="stats_fact_kind_office_on"),
                   models.Index(fields=["case"], name="stats_fact_case")]

    def __str__(self) -> str:
        return f"{self.kind} {self.on} of {self.case_id}"
