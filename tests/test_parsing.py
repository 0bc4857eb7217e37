"""Parsing and validation of the two sources, on the real samples and one fixture per rule."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from support import fixture_text

from covid_etl.errors import InvalidSourceError, RejectedInputError
from covid_etl.parsing import parse_jhu_us, parse_nyt


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
    us_rows = [r for r in csv.DictReader(io.StringIO(fixture_text("jhu/combined-us-through-2021-09.csv")))
               if r["Country/Region"] == "US" and not r["Province/State"]]
    assert len(days) == len(us_rows) == 609
    assert date(2020, 3, 1) in {d.date for d in days}  # the Guam row on that date did not replace it


def test_parses_the_real_jhu_us_rows_including_a_drop_in_recovered():
    days = {d.date: d.recovered for d in _jhu("real/jhu-us.csv")}
    assert len(days) == 154
    assert days[date(2020, 5, 12)] == 230287 < days[date(2020, 5, 11)] == 232733


NYT_REJECTIONS = [
    pytest.param("nyt/empty.csv", None, None, "empty", id="empty-body"),
    pytest.param("nyt/blank-lines-only.csv", None, None, "empty", id="blank-body"),
    pytest.param("nyt/header-only.csv", None, None, "no data rows", id="header-without-rows"),
    pytest.param("nyt/html-error-page.csv", 1, "<!DOCTYPE html>", "not the expected CSV", id="html-page"),
    pytest.param("nyt/missing-column.csv", 1, "date,cases", "lacks deaths", id="missing-column"),
    pytest.param("nyt/renamed-column.csv", 1, "date,cases,fatalities", "lacks deaths", id="renamed-column"),
    pytest.param("nyt/negative-count.csv", 3, "-12", "cases is not a non-negative integer", id="negative"),
    pytest.param("nyt/decimal-count.csv", 2, "1.5", "deaths is not a non-negative integer", id="decimal"),
    pytest.param("nyt/blank-count.csv", 2, "", "cases is not a non-negative integer", id="blank-count"),
    pytest.param("nyt/text-count.csv", 2, "ten", "cases is not a non-negative integer", id="text-count"),
    pytest.param("nyt/impossible-date.csv", 2, "2020-02-30", "date is not a date", id="impossible-date"),
    pytest.param("nyt/us-style-date.csv", 2, "03/01/2020", "date is not a date", id="us-style-date"),
    pytest.param("nyt/duplicated-date.csv", 4, "2020-03-01", "already given on line 2", id="duplicated-date"),
    pytest.param("nyt/truncated-last-row.csv", 3, "2020-03-02,12", "expected 3 fields, found 2", id="truncated"),
    pytest.param("nyt/extra-field.csv", 2, "2020-03-01,10,1,7", "expected 3 fields, found 4", id="extra-field"),
]


@pytest.mark.parametrize(("name", "line", "value", "problem"), NYT_REJECTIONS)
def test_rejects_a_malformed_nyt_file_naming_source_line_and_value(name, line, value, problem):
    with pytest.raises(InvalidSourceError) as caught:
        _nyt(name)
    error = caught.value
    assert (error.source, error.location, error.line, error.value) == ("NYT", name, line, value)
    assert problem in str(error) and str(error).startswith(f"NYT {name}")


JHU_REJECTIONS = [
    pytest.param("real/jhu-head.csv", None, None, "no US national rows", id="no-us-rows-real-file"),
    pytest.param("jhu/only-us-provinces.csv", None, None, "no US national rows", id="only-us-provinces"),
    pytest.param("jhu/missing-recovered-column.csv", 1, None, "lacks Recovered", id="missing-column"),
    pytest.param("jhu/negative-recovered.csv", 2, "-7", "Recovered is not a non-negative integer", id="negative"),
    pytest.param("jhu/duplicated-us-date.csv", 3, "2020-03-02", "already given on line 2", id="duplicated-date"),
    pytest.param("jhu/bad-date.csv", 2, "2020-3-2", "Date is not a date", id="bad-date"),
    pytest.param("jhu/truncated-last-row.csv", 3, "2020-03-03,US,,37.09", "expected 8 fields", id="truncated"),
]


@pytest.mark.parametrize(("name", "line", "value", "problem"), JHU_REJECTIONS)
def test_rejects_a_malformed_jhu_file_naming_source_line_and_value(name, line, value, problem):
    with pytest.raises(InvalidSourceError) as caught:
        _jhu(name)
    error = caught.value
    assert (error.source, error.line) == ("JHU", line)
    if value is not None:
        assert error.value == value
    assert problem in str(error)


def test_every_rejection_is_one_no_retry_can_fix():
    assert issubclass(InvalidSourceError, RejectedInputError)
