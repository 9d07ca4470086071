"""Counting days: calendar or working days, with each country's public holidays (the
`holidays` package; a country it does not know counts weekends only)."""

from __future__ import annotations

import datetime
from functools import cache

import holidays

CALENDAR = "calendar"
WORKING = "working"
UNITS = (CALENDAR, WORKING)


@cache
def _holidays(country: str, year: int) -> frozenset[datetime.date]:
    try:
        return frozenset(holidays.country_holidays(country, years=year))
    except NotImplementedError:
        return frozenset()  # a country the package does not know: weekends only


def is_working_day(day: datetime.date, country: str) -> bool:
    return day.weekday() < 5 and day not in _holidays(country, day.year)


def next_working_day(day: datetime.date, country: str) -> datetime.date:
    while not is_working_day(day, country):
        day += datetime.timedelta(days=1)
    return day


def add_days(start: datetime.date, days: int, *, unit: str, country: str,
             roll_forward: bool = True) -> datetime.date:
    """The last day of a period of `days` starting the day after `start`.

    Working days skip weekends and the country's public holidays. A calendar period that
    ends on a non-working day runs to the next working day when `roll_forward` is set
    (offices are closed that day; the applicant must not lose the last day).
    """
    if unit == CALENDAR:
        end = start + datetime.timedelta(days=days)
        return next_working_day(end, country) if roll_forward else end
    if unit != WORKING:
        raise ValueError(f"unknown unit of days: {unit!r}")
    day, left = start, days
    while left > 0:
        day += datetime.timedelta(days=1)
        if is_working_day(day, country):
            left -= 1
    return day


def working_days_between(start: datetime.date, end: datetime.date, country: str) -> int:
    """Working days after `start` up to and including `end` (negative when end < start)."""
    if end < start:
        return -working_days_between(end, start, country)
    return sum(1 for n in range(1, (end - start).days + 1)
               if is_working_day(start + datetime.timedelta(days=n), country))


