"""Merging NYT with JHU's recovered counts, and the rule for "not reported"."""

from __future__ import annotations

from datetime import date

import pytest

from covid_etl.errors import EmptyMergeError
from covid_etl.merge import merge_us, reported_recovered
from covid_etl.parsing import parse_jhu_us, parse_nyt
from covid_etl.records import CovidDay, JhuDay, NytDay
from support import fixture_text

D1, D2, D3, D4 = (date(2020, 3, day) for day in (1, 2, 3, 4))


def _real_merge():
    nyt = parse_nyt(fixture_text("real/nyt-us-2023-01-24.csv"), location="nyt")
    jhu = parse_jhu_us(fixture_text("jhu/combined-us-through-2021-09.csv"), location="jhu")
    return nyt, jhu, {day.date: day for day in merge_us(nyt, jhu)}


def test_keeps_only_dates_present_in_both_sources():
    merged = merge_us([NytDay(D1, 1, 0), NytDay(D2, 2, 0), NytDay(D3, 3, 1)], [JhuDay(D2, 5), JhuDay(D4, 6)])
    assert merged == [CovidDay(D2, 2, 0, 5)]


def test_takes_cases_and_deaths_from_nyt_and_recovered_from_jhu_on_real_files():
    nyt, jhu, merged = _real_merge()
    nyt_by_date = {d.date: d for d in nyt}
    assert len(merged) == len({d.date for d in nyt} & {d.date for d in jhu}) == 609
    day = merged[date(2020, 6, 23)]
    assert (day.cases, day.deaths) == (nyt_by_date[date(2020, 6, 23)].cases, nyt_by_date[date(2020, 6, 23)].deaths)
    assert day.recovered == 647548


def test_stores_recovered_as_null_once_jhu_stopped_reporting_it():
    _, _, merged = _real_merge()
    assert merged[date(2020, 12, 13)].recovered == 6298082
    assert all(day.recovered is None for when, day in merged.items() if when >= date(2020, 12, 14))


def test_keeps_a_zero_before_the_first_recovery_as_a_real_zero():
    _, _, merged = _real_merge()
    assert merged[date(2020, 1, 22)].recovered == 0
    assert merged[date(2020, 2, 7)].recovered == 0


def test_applies_the_not_reported_rule_in_date_order_whatever_the_file_order():
    assert reported_recovered([JhuDay(D3, 0), JhuDay(D1, 0), JhuDay(D2, 4)]) == {D1: 0, D2: 4, D3: None}


def test_returns_days_sorted_by_date():
    merged = merge_us([NytDay(D2, 2, 0), NytDay(D1, 1, 0)], [JhuDay(D1, 0), JhuDay(D2, 0)])
    assert [day.date for day in merged] == [D1, D2]


@pytest.mark.parametrize(
    ("nyt", "jhu"),
    [
        pytest.param([NytDay(D1, 1, 0)], [JhuDay(D2, 0)], id="disjoint-dates"),
        pytest.param(
            parse_nyt(fixture_text("nyt/valid-small.csv"), location="nyt"),
            parse_jhu_us(fixture_text("jhu/no-shared-date.csv"), location="jhu"),
            id="fixture-files",
        ),
    ],
)
def test_rejects_an_empty_intersection(nyt, jhu):
    with pytest.raises(EmptyMergeError, match="share no date"):
        merge_us(nyt, jhu)
