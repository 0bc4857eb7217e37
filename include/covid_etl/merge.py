"""Merge the NYT series with JHU's US recovered counts."""

from __future__ import annotations

from collections.abc import Iterable

from covid_etl.errors import EmptyMergeError
from covid_etl.records import CovidDay, JhuDay, NytDay


def reported_recovered(jhu: Iterable[JhuDay]) -> dict:
    """Map each date to its recovered count, or None where JHU stopped reporting.

    JHU reports US recoveries as 0 from 2020-12-14 on: a 0 after an earlier positive value means
    "not reported", while a 0 before any positive value is a real 0.
    """
    recovered = {}
    seen_positive = False
    for day in sorted(jhu, key=lambda d: d.date):
        seen_positive = seen_positive or day.recovered > 0
        recovered[day.date] = None if seen_positive and day.recovered == 0 else day.recovered
    return recovered


def merge_us(nyt: Iterable[NytDay], jhu: Iterable[JhuDay]) -> list[CovidDay]:
    """Inner-join on date: cases and deaths from NYT, recovered from JHU, sorted by date."""
    recovered = reported_recovered(jhu)
    merged = [
        CovidDay(day.date, day.cases, day.deaths, recovered[day.date])
        for day in sorted(nyt, key=lambda d: d.date)
        if day.date in recovered
    ]
    if not merged:
        raise EmptyMergeError("NYT and JHU share no date: nothing to load")
    return merged
