"""A file read row by row (covid_etl.read.rows): the rows a dataset keeps, and JHU's step, which reads a
recovered count of 0 after an earlier positive one as "not reported" (NULL), in date order."""

from __future__ import annotations

import io

import pytest

from covid_etl.errors import InvalidSourceError
from covid_etl.read.rows import kept_rows, stepped_rows, unreported_after_positive
from covid_etl.sources.specs import JHU_US
from reading import checker_for, read_file
from support import fixture_bytes

JHU_HEADER = b"Date,Country/Region,Province/State,Confirmed,Recovered,Deaths\n"


def stepped(lines: bytes) -> list[tuple[bytes, bytes | None]]:
    """The rows of a JHU file's lines after its header, stepped."""
    rows = stepped_rows(io.BytesIO(lines), checker_for(JHU_US, JHU_HEADER), first_line=2)
    return [tuple(values) for _, _, values in rows]


def rows(*values: bytes | None) -> list:
    return [(number, b"", [b"2020-03-%02d" % number, value]) for number, value in enumerate(values, start=1)]


@pytest.mark.parametrize(
    ("recovered", "stored"),
    [
        pytest.param([b"0", b"0", b"3"], [b"0", b"0", b"3"], id="zeros-before-the-first-recovery-are-zeros"),
        pytest.param([b"0", b"3", b"0", b"0"], [b"0", b"3", None, None], id="zeros-after-a-recovery-are-null"),
        pytest.param([b"5", b"4", b"0", b"6"], [b"5", b"4", None, b"6"], id="a-drop-is-a-count-a-zero-is-not"),
        pytest.param([None, b"0", b"2"], [None, b"0", b"2"], id="null-stays-null"),
    ],
)
def test_a_zero_after_a_positive_count_means_not_reported(recovered, stored):
    assert [values[1] for _, _, values in unreported_after_positive(rows(*recovered), [1])] == stored


def test_the_rule_holds_per_column():
    found = unreported_after_positive([(2, b"", [b"d", b"4", b"0"]), (3, b"", [b"e", b"0", b"0"])], [1, 2])
    assert [values for _, _, values in found] == [[b"d", b"4", b"0"], [b"e", None, b"0"]]


def test_the_rule_is_applied_in_date_order_whatever_the_file_order():
    text = b"2020-03-03,US,,1,0,0\n2020-03-01,US,,1,0,0\n2020-03-02,US,,1,4,0\n"
    assert stepped(text) == [(b"2020-03-01", b"0"), (b"2020-03-02", b"4"), (b"2020-03-03", None)]


def test_a_date_given_twice_among_the_kept_rows_is_named_with_its_first_line():
    text = b"2020-03-02,US,,1,4,0\n2020-03-01,US,,1,0,0\n2020-03-02,US,,2,5,0\n"
    with pytest.raises(InvalidSourceError) as caught:
        stepped(text)
    assert (caught.value.line, caught.value.value) == (4, "2020-03-02,US,,2,5,0")
    assert caught.value.problem == "date already given on line 2"


def test_only_the_kept_rows_values_are_checked():
    # Provinces leave counts blank: only the US national rows' are read.
    text = b"2020-03-01,US,Guam,1,,0\n2020-03-01,Mexico,,1,x,0\n2020-03-01,US,,1,7,0\n"
    found = list(kept_rows(io.BytesIO(text), checker_for(JHU_US, JHU_HEADER), first_line=2))
    assert found == [(4, b"2020-03-01,US,,1,7,0", [b"2020-03-01", b"7"])]


@pytest.mark.parametrize(
    ("line", "value", "problem"),
    [
        pytest.param(b"2020-3-1,Mexico,,1,0,0", "2020-3-1", "Date is not a date (YYYY-MM-DD)", id="date"),
        pytest.param(
            b"2020-03-01,Mexico,,1", "2020-03-01,Mexico,,1", "expected 6 fields, found 4 (truncated file?)", id="shape"
        ),
    ],
)
def test_every_rows_shape_and_date_are_checked_kept_or_not(line, value, problem):
    with pytest.raises(InvalidSourceError) as caught:
        list(kept_rows(io.BytesIO(line + b"\n"), checker_for(JHU_US, JHU_HEADER), first_line=2))
    assert (caught.value.line, caught.value.value, caught.value.problem) == (2, value, problem)


def test_the_real_jhu_series_stores_recovered_as_null_once_jhu_stopped_reporting_it():
    days = {
        row["date"]: row["recovered"]
        for row in read_file(JHU_US, fixture_bytes("jhu/combined-us-through-2021-09.csv")).rows()
    }
    assert days["2020-12-13"] == "6298082"
    assert all(value == "" for day, value in days.items() if day >= "2020-12-14")  # NULL in COPY
    assert sum(1 for day in days if day >= "2020-12-14") == 282


def test_the_real_jhu_series_keeps_a_zero_before_the_first_recovery_as_a_real_zero():
    days = {
        row["date"]: row["recovered"]
        for row in read_file(JHU_US, fixture_bytes("jhu/combined-us-through-2021-09.csv")).rows()
    }
    assert days["2020-01-22"] == days["2020-02-07"] == "0"
    assert days["2020-06-23"] == "647548"
