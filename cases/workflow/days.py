"""Counting days: calendar or working days, with each country's public holidays (the
`holidays` package; a country it does not know counts weekends only) and the non-working
days a system administrator added for the country (`configured`)."""

from __future__ import annotations

import datetime
from functools import cache, lru_cache

import holidays

from cases.workflow import configured

CALENDAR = "calendar"
WORKING = "working"
UNITS = (CALENDAR, WORKING)


@cache
def _holidays(country: str, year: int) -> frozenset[datetime.date]:
    try:
        return frozenset(holidays.country_holidays(country, years=year))
    except NotImplementedError:
        return frozenset()  # a country the package does not know: weekends only


def public_holidays(country: str, year: int, language: str | None = None) -> list[tuple[datetime.date, str]]:
    """The `holidays` package's holidays of `country` in `year`, by date, with their names (in
    `language`, e.g. "es" or "en_US", where the package has it)."""
    try:
        found = holidays.country_holidays(country, years=year, language=language)
    except NotImplementedError:
        return []
    return sorted((day, str(name)) for day, name in found.items())


@lru_cache(maxsize=256)
def _closed(version: str, country: str, year: int) -> frozenset[datetime.date]:
    return _holidays(country, year) | configured.closed_days(country, year, at=version)


configured.forget_with(_closed.cache_clear)


def is_working_day(day: datetime.date, country: str) -> bool:
    return day.weekday() < 5 and day not in _closed(configured.version(), country, day.year)


def next_working_day(day: datetime.date, country: str) -> datetime.date:
    with configured.pinned():
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
    with configured.pinned():
        while left > 0:
            day += datetime.timedelta(days=1)
            if is_working_day(day, country):
                left -= 1
    return day


def working_days_between(start: datetime.date, end: datetime.date, country: str) -> int:
    """Working days after `start` up to and including `end` (negative when end < start)."""
    if end < start:
        return -working_days_between(end, start, country)
    with configured.pinned():
        return sum(1 for n in range(1, (end - start).days + 1)
                   if is_working_day(start + datetime.timedelta(days=n), country))


