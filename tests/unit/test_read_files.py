"""Reading and validating whole files of the national series' two sources with covid_etl.read (the one
validator): the real files, columns found by name, and one fixture per rule broken."""

from __future__ import annotations

import csv
import io

import pytest

from covid_etl.errors import InvalidSourceError, RejectedInputError
from covid_etl.sources.specs import JHU_US, NYT_US
from reading import read_file
from support import fixture_bytes, fixture_text

DATASETS = {"NYT": NYT_US, "JHU": JHU_US}


def _read(source: str, name: str) -> list[dict[str, str]]:
    return read_file(DATASETS[source], fixture_bytes(name), location=name).rows()


def _us_rows(name: str) -> list[dict[str, str]]:
    """The JHU file's US national rows, by the csv module."""
    rows = csv.DictReader(io.StringIO(fixture_text(name)))
    return [row for row in rows if row["Country/Region"] == "US" and not row["Province/State"]]


@pytest.mark.parametrize(
    ("name", "rows", "last"),
    [
        pytest.param("real/nyt-us-2020-08-13.csv", 206, "2020-08-13", id="2020-08-13"),
        pytest.param("real/nyt-us-2022-04-19.csv", 820, "2022-04-19", id="2022-04-19"),
        pytest.param("real/nyt-us-2023-01-24.csv", 1100, "2023-01-24", id="2023-01-24"),
    ],
)
def test_reads_every_row_of_the_real_nyt_files_as_published(name, rows, last):
    days = _read("NYT", name)
    expected = list(csv.DictReader(io.StringIO(fixture_text(name))))
    assert len(days) == rows == len(expected)
    assert days[0]["date"] == "2020-01-21" and days[-1]["date"] == last
    assert days == expected


def test_reads_the_last_nyt_row_without_a_trailing_newline():
    assert not fixture_text("real/nyt-us-2020-08-13.csv").endswith("\n")
    assert _read("NYT", "real/nyt-us-2020-08-13.csv")[-1] == {
        "date": "2020-08-13",
        "cases": "5262791",
        "deaths": "167165",
    }


def test_accepts_cumulative_counts_that_go_down():
    days = {day["date"]: day for day in _read("NYT", "real/nyt-us-2023-01-24.csv")}
    assert int(days["2021-06-04"]["cases"]) < int(days["2021-06-03"]["cases"])
    assert int(days["2022-03-14"]["deaths"]) < int(days["2022-03-13"]["deaths"])


def test_keeps_only_the_us_national_rows_of_the_jhu_file():
    days = _read("JHU", "jhu/combined-us-through-2021-09.csv")
    assert len(days) == len(_us_rows("jhu/combined-us-through-2021-09.csv")) == 609
    assert "2020-03-01" in {day["date"] for day in days}  # the Guam row of that date did not replace it


def _reported(rows: list[dict[str, str]]) -> list[tuple[str, str]]:
    """(Date, Recovered) in date order, a 0 after a positive count written as NULL (JHU's "not reported")."""
    found, positive = [], False
    for row in sorted(rows, key=lambda row: row["Date"]):
        positive = positive or int(row["Recovered"]) > 0
        found.append((row["Date"], "" if positive and row["Recovered"] == "0" else row["Recovered"]))
    return found


@pytest.mark.parametrize(
    ("name", "us_days", "last"),
    [
        pytest.param("real/jhu-combined-2020-10-12.csv", 264, "2020-10-11", id="2020-10-12-with-lat-long"),
        pytest.param("real/jhu-combined-2020-10-23.csv", 275, "2020-10-22", id="2020-10-23-without"),
        pytest.param("real/jhu-combined-2020-12-14.csv", 327, "2020-12-13", id="2020-12-14"),
        pytest.param("real/jhu-combined-2021-03-17.csv", 420, "2021-03-16", id="2021-03-17"),
    ],
)
def test_reads_both_layouts_of_the_whole_real_jhu_file(name, us_days, last):
    days = _read("JHU", name)
    assert len(days) == us_days
    assert days[0]["date"] == "2020-01-22" and days[-1]["date"] == last
    assert [(day["date"], day["recovered"]) for day in days] == _reported(_us_rows(name))


def test_reads_the_real_jhu_us_rows_including_a_drop_in_recovered():
    days = {day["date"]: int(day["recovered"]) for day in _read("JHU", "real/jhu-us.csv")}
    assert len(days) == 154
    assert days["2020-05-12"] == 230287 < days["2020-05-11"] == 232733


@pytest.mark.parametrize(
    ("source", "text", "fields"),
    [
        pytest.param("NYT", "deaths,date,cases\n3,2020-03-01,10\n", {"cases": "10", "deaths": "3"}, id="nyt-reordered"),
        pytest.param(
            "NYT",
            "date,state,cases,deaths,note\n2020-03-01,all,10,3,x\n",
            {"cases": "10", "deaths": "3"},
            id="nyt-extra-columns",
        ),
        pytest.param(
            "JHU",
            "Recovered,Date,Province/State,Country/Region\n7,2020-03-01,,US\n",
            {"recovered": "7"},
            id="jhu-reordered-only-the-needed-columns",
        ),
        pytest.param(
            "JHU",
            "Date,Country/Region,Province/State,Lat,Long,Confirmed,Recovered,Deaths,FIPS\n2020-03-01,US,,1,2,10,7,3,\n",
            {"recovered": "7"},
            id="jhu-extra-columns",
        ),
    ],
)
def test_finds_columns_by_name_in_any_order_and_ignores_the_others(source, text, fields):
    [day] = read_file(DATASETS[source], text.encode()).rows()
    assert day == {"date": "2020-03-01", **fields}


REJECTIONS = [
    pytest.param("NYT", "nyt/empty.csv", None, None, "the file is empty", id="nyt-empty-body"),
    pytest.param("NYT", "nyt/blank-lines-only.csv", None, None, "the file is empty", id="nyt-blank-body"),
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
    # The file repeats a date after a later one: a date-sorted file read a day at a time says so (the
    # national parser said "date already given on line 2"; a repeat next to its first is tested below).
    pytest.param(
        "NYT",
        "nyt/duplicated-date.csv",
        4,
        "2020-03-01",
        "rows are not in date order: date before 2020-03-02",
        id="nyt-date-repeated-after-a-later-one",
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
    # The value shown is now the repeating line (the national parser showed its date).
    pytest.param(
        "JHU",
        "jhu/duplicated-us-date.csv",
        3,
        "2020-03-02,US,,54,7,6",
        "date already given on line 2",
        id="jhu-duplicated-date",
    ),
    pytest.param("JHU", "jhu/bad-date.csv", 2, "2020-3-2", "Date is not a date", id="jhu-bad-date"),
    pytest.param(
        "JHU", "jhu/truncated-last-row.csv", 3, "2020-03-03,US,,73", "expected 6 fields, found 4", id="jhu-truncated"
    ),
]


@pytest.mark.parametrize(("source", "name", "line", "value", "problem"), REJECTIONS)
def test_rejects_a_malformed_file_naming_source_line_and_value(source, name, line, value, problem):
    with pytest.raises(InvalidSourceError) as caught:
        read_file(DATASETS[source], fixture_bytes(name), location=name)
    error = caught.value
    assert (error.source, error.location, error.line, error.value) == (source, name, line, value)
    assert problem in error.problem and str(error).startswith(f"{source} {name}")


def test_every_rejection_is_one_no_retry_can_fix():
    assert issubclass(InvalidSourceError, RejectedInputError)


@pytest.mark.parametrize(
    ("source", "text", "line", "value", "problem"),
    [
        pytest.param(
            "NYT",
            "date,cases,deaths\n2020-03-01,99999999999999999999,3\n",
            2,
            "99999999999999999999",
            "cases is beyond PostgreSQL's bigint",
            id="nyt-beyond-bigint",
        ),
        pytest.param(
            "NYT",
            "date,cases,deaths\n2020-03-01,10,9223372036854775808\n",
            2,
            "9223372036854775808",
            "deaths is beyond PostgreSQL's bigint",
            id="nyt-bigint-max-plus-one",
        ),
        pytest.param(
            "NYT",
            f"date,cases,deaths\n2020-03-01,{'7' * 5000},3\n",
            2,
            "7" * 5000,
            "cases is beyond PostgreSQL's bigint",
            id="nyt-more-digits-than-int-reads",
        ),
        pytest.param(
            "JHU",
            "Date,Country/Region,Province/State,Recovered\n2020-03-01,US,,99999999999999999999\n",
            2,
            "99999999999999999999",
            "Recovered is beyond PostgreSQL's bigint",
            id="jhu-beyond-bigint",
        ),
        pytest.param(
            "NYT",
            "date,cases,deaths\n2020-03-01,\u0663,3\n",
            2,
            "\u0663",
            "cases is not a non-negative integer",
            id="nyt-arabic-indic-digit",
        ),
        pytest.param(
            "JHU",
            "Date,Country/Region,Province/State,Recovered\n2020-03-01,US,,\uff17\n",
            2,
            "\uff17",
            "Recovered is not a non-negative integer",
            id="jhu-fullwidth-digit",
        ),
    ],
)
def test_rejects_a_count_that_is_not_ascii_digits_or_beyond_postgresql_bigint(source, text, line, value, problem):
    with pytest.raises(InvalidSourceError) as caught:
        read_file(DATASETS[source], text.encode())
    assert (caught.value.line, caught.value.value, caught.value.problem) == (line, value, problem)


def test_accepts_the_largest_count_postgresql_bigint_holds_leading_zeros_too():
    text = "date,cases,deaths\n2020-03-01,9223372036854775807,0009223372036854775807\n"
    [day] = read_file(NYT_US, text.encode()).rows()
    assert int(day["cases"]) == int(day["deaths"]) == 2**63 - 1
