"""Parsing and validation of the two sources, on the real samples and one fixture per rule."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from covid_etl.errors import InvalidSourceError, RejectedInputError
from covid_etl.parsing import parse_jhu_us, parse_nyt
from support import fixture_text


def _nyt(name: str):
    return parse_nyt(fixture_text(name), location=name)


def _jhu(name: str):
    return parse_jhu_us(fixture_text(name), location=name)


@pytest.mark.parametrize(
    ("name", "rows", "last"),
    [
        pytest.param("real/nyt-us-2020-08-13.csv", 206, date(2020, 8, 13), id="2020-08-13"),
        pytest.param("real/nyt-us-2022-04-19.csv", 820, date(2022, 4, 19), id="2022-04-19"),
        pytest.param("real/nyt-us-2023-01-24.csv", 1100, date(2023, 1, 24), id="2023-01-24"),
    ],
)
def test_parses_every_row_of_the_real_nyt_files(name, rows, last):
    days = _nyt(name)
    expected = list(csv.DictReader(io.StringIO(fixture_text(name))))
    assert len(days) == rows == len(expected)
    assert days[0].date == date(2020, 1, 21) and days[-1].date == last
    assert [(d.date.isoformat(), str(d.cases), str(d.deaths)) for d in days] == [
        (r["date"], r["cases"], r["deaths"]) for r in expected
    ]


def test_reads_the_last_nyt_row_without_a_trailing_newline():
    text = fixture_text("real/nyt-us-2020-08-13.csv")
    assert not text.endswith("\n")
    assert _nyt("real/nyt-us-2020-08-13.csv")[-1].cases == 5262791


def test_accepts_cumulative_counts_that_go_down():
    days = {d.date: d for d in _nyt("real/nyt-us-2023-01-24.csv")}
    assert days[date(2021, 6, 4)].cases < days[date(2021, 6, 3)].cases
    assert days[date(2022, 3, 14)].deaths < days[date(2022, 3, 13)].deaths


def test_keeps_only_the_us_national_rows_of_the_jhu_file():
    days = _jhu("jhu/combined-us-through-2021-09.csv")
    us_rows = [
        r
        for r in csv.DictReader(io.StringIO(fixture_text("jhu/combined-us-through-2021-09.csv")))
        if r["Country/Region"] == "US" and not r["Province/State"]
    ]
    assert len(days) == len(us_rows) == 609
    assert date(2020, 3, 1) in {d.date for d in days}  # the Guam row on that date did not replace it


@pytest.mark.parametrize(
    ("name", "us_days", "last"),
    [
        pytest.param("real/jhu-combined-2020-10-12.csv", 264, date(2020, 10, 11), id="2020-10-12-with-lat-long"),
        pytest.param("real/jhu-combined-2020-10-23.csv", 275, date(2020, 10, 22), id="2020-10-23-without"),
        pytest.param("real/jhu-combined-2020-12-14.csv", 327, date(2020, 12, 13), id="2020-12-14"),
        pytest.param("real/jhu-combined-2021-03-17.csv", 420, date(2021, 3, 16), id="2021-03-17"),
    ],
)
def test_reads_both_layouts_of_the_whole_real_jhu_file(name, us_days, last):
    days = _jhu(name)
    expected = [
        (r["Date"], r["Recovered"])
        for r in csv.DictReader(io.StringIO(fixture_text(name)))
        if r["Country/Region"] == "US" and not r["Province/State"]
    ]
    assert len(days) == len(expected) == us_days
    assert days[0].date == date(2020, 1, 22) and days[-1].date == last
    assert [(d.date.isoformat(), str(d.recovered)) for d in days] == expected


@pytest.mark.parametrize(
    ("parser", "text", "fields"),
    [
        pytest.param(parse_nyt, "deaths,date,cases\n3,2020-03-01,10\n", {"cases": 10, "deaths": 3}, id="nyt-reordered"),
        pytest.param(
            parse_nyt,
            "date,state,cases,deaths,note\n2020-03-01,all,10,3,x\n",
            {"cases": 10, "deaths": 3},
            id="nyt-extra-columns",
        ),
        pytest.param(
            parse_jhu_us,
            "Recovered,Date,Province/State,Country/Region\n7,2020-03-01,,US\n",
            {"recovered": 7},
            id="jhu-reordered-only-the-needed-columns",
        ),
        pytest.param(
            parse_jhu_us,
            "Date,Country/Region,Province/State,Lat,Long,Confirmed,Recovered,Deaths,FIPS\n2020-03-01,US,,1,2,10,7,3,\n",
            {"recovered": 7},
            id="jhu-extra-columns",
        ),
    ],
)
def test_finds_columns_by_name_in_any_order_and_ignores_the_others(parser, text, fields):
    [day] = parser(text, location="inline")
    assert day.date == date(2020, 3, 1)
    assert {name: getattr(day, name) for name in fields} == fields


def test_parses_the_real_jhu_us_rows_including_a_drop_in_recovered():
    days = {d.date: d.recovered for d in _jhu("real/jhu-us.csv")}
    assert len(days) == 154
    assert days[date(2020, 5, 12)] == 230287 < days[date(2020, 5, 11)] == 232733


PARSERS = {"NYT": parse_nyt, "JHU": parse_jhu_us}

REJECTIONS = [
    pytest.param("NYT", "nyt/empty.csv", None, None, "empty", id="nyt-empty-body"),
    pytest.param("NYT", "nyt/blank-lines-only.csv", None, None, "empty", id="nyt-blank-body"),
    pytest.param("NYT", "nyt/header-only.csv", None, None, "no data rows", id="nyt-header-without-rows"),
    pytest.param("NYT", "nyt/html-error-page.csv", 1, "<!DOCTYPE html>", "not the expected CSV", id="nyt-html-page"),
    pytest.param("NYT", "nyt/missing-column.csv", 1, "date,cases", "lacks deaths", id="nyt-missing-column"),
    pytest.param("NYT", "nyt/renamed-column.csv", 1, "date,cases,fatalities", "lacks deaths", id="nyt-renamed-column"),
    pytest.param("NYT", "nyt/negative-count.csv", 3, "-12", "cases is not a non-negative integer", id="nyt-negative"),
    pytest.param("NYT", "nyt/decimal-count.csv", 2, "1.5", "deaths is not a non-negative integer", id="nyt-decimal"),
    pytest.param("NYT", "nyt/blank-count.csv", 2, "", "cases is not a non-negative integer", id="nyt-blank-count"),
    pytest.param("NYT", "nyt/text-count.csv", 2, "ten", "cases is not a non-negative integer", id="nyt-text-count"),
    pytest.param("NYT", "nyt/impossible-date.csv", 2, "2020-02-30", "date is not a date", id="nyt-impossible-date"),
    pytest.param("NYT", "nyt/us-style-date.csv", 2, "03/01/2020", "date is not a date", id="nyt-us-style-date"),
    pytest.param(
        "NYT", "nyt/duplicated-date.csv", 4, "2020-03-01", "already given on line 2", id="nyt-duplicated-date"
    ),
    pytest.param(
        "NYT", "nyt/truncated-last-row.csv", 3, "2020-03-02,12", "expected 3 fields, found 2", id="nyt-truncated"
    ),
    pytest.param(
        "NYT", "nyt/extra-field.csv", 2, "2020-03-01,10,1,7", "expected 3 fields, found 4", id="nyt-extra-field"
    ),
    pytest.param("JHU", "real/jhu-head.csv", None, None, "no US national rows", id="jhu-no-us-rows-real-file"),
    pytest.param("JHU", "jhu/only-us-provinces.csv", None, None, "no US national rows", id="jhu-only-us-provinces"),
    pytest.param(
        "JHU",
        "jhu/missing-recovered-column.csv",
        1,
        "Date,Country/Region,Province/State,Confirmed,Deaths",
        "lacks Recovered",
        id="jhu-missing-column",
    ),
    pytest.param(
        "JHU",
        "jhu/renamed-recovered-column.csv",
        1,
        "Date,Country/Region,Province/State,Confirmed,Recoveries,Deaths",
        "lacks Recovered",
        id="jhu-renamed-column",
    ),
    pytest.param(
        "JHU", "jhu/negative-recovered.csv", 2, "-7", "Recovered is not a non-negative integer", id="jhu-negative"
    ),
    pytest.param(
        "JHU", "jhu/duplicated-us-date.csv", 3, "2020-03-02", "already given on line 2", id="jhu-duplicated-date"
    ),
    pytest.param("JHU", "jhu/bad-date.csv", 2, "2020-3-2", "Date is not a date", id="jhu-bad-date"),
    pytest.param(
        "JHU", "jhu/truncated-last-row.csv", 3, "2020-03-03,US,,73", "expected 6 fields, found 4", id="jhu-truncated"
    ),
]


@pytest.mark.parametrize(("source", "name", "line", "value", "problem"), REJECTIONS)
def test_rejects_a_malformed_file_naming_source_line_and_value(source, name, line, value, problem):
    with pytest.raises(InvalidSourceError) as caught:
        PARSERS[source](fixture_text(name), location=name)
    error = caught.value
    assert (error.source, error.location, error.line, error.value) == (source, name, line, value)
    assert problem in str(error) and str(error).startswith(f"{source} {name}")


def test_every_rejection_is_one_no_retry_can_fix():
    assert issubclass(InvalidSourceError, RejectedInputError)


@pytest.mark.parametrize(
    ("parser", "text", "line", "value", "problem"),
    [
        pytest.param(
            parse_nyt,
            "date,cases,deaths\n2020-03-01,99999999999999999999,3\n",
            2,
            "99999999999999999999",
            "cases is beyond PostgreSQL's bigint",
            id="nyt-beyond-bigint",
        ),
        pytest.param(
            parse_nyt,
            "date,cases,deaths\n2020-03-01,10,9223372036854775808\n",
            2,
            "9223372036854775808",
            "deaths is beyond PostgreSQL's bigint",
            id="nyt-bigint-max-plus-one",
        ),
        pytest.param(
            parse_nyt,
            f"date,cases,deaths\n2020-03-01,{'7' * 5000},3\n",
            2,
            "7" * 5000,
            "cases is beyond PostgreSQL's bigint",
            id="nyt-more-digits-than-int-reads",
        ),
        pytest.param(
            parse_jhu_us,
            "Date,Country/Region,Province/State,Recovered\n2020-03-01,US,,99999999999999999999\n",
            2,
            "99999999999999999999",
            "Recovered is beyond PostgreSQL's bigint",
            id="jhu-beyond-bigint",
        ),
        pytest.param(
            parse_nyt,
            "date,cases,deaths\n2020-03-01,\u0663,3\n",
            2,
            "\u0663",
            "cases is not a non-negative integer",
            id="nyt-arabic-indic-digit",
        ),
        pytest.param(
            parse_jhu_us,
            "Date,Country/Region,Province/State,Recovered\n2020-03-01,US,,\uff17\n",
            2,
            "\uff17",
            "Recovered is not a non-negative integer",
            id="jhu-fullwidth-digit",
        ),
    ],
)
def test_rejects_a_count_that_is_not_ascii_digits_or_beyond_postgresql_bigint(parser, text, line, value, problem):
    with pytest.raises(InvalidSourceError) as caught:
        parser(text, location="inline")
    assert (caught.value.line, caught.value.value) == (line, value)
    assert problem in caught.value.problem


def test_accepts_the_largest_count_postgresql_bigint_holds():
    [day] = parse_nyt("date,cases,deaths\n2020-03-01,9223372036854775807,0009223372036854775807\n", location="inline")
    assert day.cases == day.deaths == 2**63 - 1
