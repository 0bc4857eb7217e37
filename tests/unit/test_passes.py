"""One pass over a file (covid_etl.read.passes): FilePass a day at a time, every line checked and sent
(whole) or only the lines of chunks the table's fingerprints lack (compare); RowPass row by row. Each
records the dates it read, their rows and fingerprints, for the database's side of the load."""

from __future__ import annotations

import io

from covid_etl.read.passes import RowPass
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
