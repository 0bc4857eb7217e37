"""One pass over a file (covid_etl.read.passes): FilePass a day at a time, every line checked and sent
(whole) or only the lines of chunks the table's fingerprints lack (compare); RowPass row by row. Each
records the dates it read, their rows and fingerprints, for the database's side of the load."""

from __future__ import annotations

import io

import pytest

from covid_etl.errors import InvalidSourceError
from covid_etl.read.days import cut_days
from covid_etl.read.fingerprints import Fingerprinter
from covid_etl.read.passes import FilePass, RowPass
from covid_etl.sources.specs import STATES
from reading import UNBOUNDED, checker_for


def rows_of(dataset, text: str, scope=UNBOUNDED) -> tuple[RowPass, bytes]:
    header, _, rest = text.encode().partition(b"\n")
    row_pass = RowPass(checker_for(dataset, header + b"\n"), scope)
    return row_pass, b"".join(row_pass.rows_of(io.BytesIO(rest), first_line=2))


def test_a_row_pass_writes_a_reordered_files_values_in_the_order_copy_is_given():
    row_pass, sent = rows_of(STATES, "deaths,cases,fips,state,date\n0,5,39,Ohio,2020-03-01\n1,7,49,Utah,2020-03-02\n")
    columns = row_pass.checker.layout.copy_columns
    assert [dict(zip(columns, line.split(b","), strict=True)) for line in sent.splitlines()] == [
        {"date": b"2020-03-01", "state": b"Ohio", "fips": b"39", "cases": b"5", "deaths": b"0"},
        {"date": b"2020-03-02", "state": b"Utah", "fips": b"49", "cases": b"7", "deaths": b"1"},
    ]
    assert [(d.date, d.rows) for d in row_pass.days] == [("2020-03-01", 1), ("2020-03-02", 1)]


STATES_HEADER = b"date,state,fips,cases,deaths\n"
DAY_1 = b"2020-03-01,Ohio,39,1,0\n2020-03-01,Utah,49,2,0\n"
DAY_2 = b"2020-03-02,Ohio,39,3,0\n2020-03-02,Utah,49,4,1\n"


def whole(body: bytes) -> bytes:
    checker = checker_for(STATES, STATES_HEADER)
    days = cut_days(io.BytesIO(body), first_line=2, offset=len(STATES_HEADER))
    return b"".join(FilePass(checker, Fingerprinter(checker.layout.signature()), UNBOUNDED).whole(days))


@pytest.mark.parametrize(
    ("body", "line", "value", "problem"),
    [
        pytest.param(DAY_2 + DAY_1, 4, "2020-03-01", "rows are not in date order: date before 2020-03-02", id="days"),
        # A day whose date is no date is blamed as such, not for its place among the days.
        pytest.param(
            DAY_1 + b"2020-02-30,Ohio,39,3,0\n", 4, "2020-02-30", "date is not a date (YYYY-MM-DD)", id="sorted-before"
        ),
        pytest.param(
            DAY_1 + b"oops\n" + DAY_2, 4, "oops", "expected 5 fields, found 1 (truncated file?)", id="no-date"
        ),
    ],
)
def test_a_whole_pass_blames_the_first_bad_line(body, line, value, problem):
    with pytest.raises(InvalidSourceError) as caught:
        whole(body)
    assert (caught.value.line, caught.value.value, caught.value.problem) == (line, value, problem)
