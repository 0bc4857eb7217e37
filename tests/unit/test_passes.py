"""One pass over a file (covid_etl.read.passes): FilePass a day at a time, every line checked and sent
(whole) or only the lines of chunks the table's fingerprints lack (compare); RowPass row by row. Each
records the dates it read, their rows and fingerprints, for the database's side of the load."""

from __future__ import annotations

import io
import zlib

import pytest

from covid_etl.errors import InvalidSourceError
from covid_etl.read.days import cut_days
from covid_etl.read.fingerprints import Fingerprinter, keysum
from covid_etl.read.passes import NO_ROWS, FilePass, RowPass
from covid_etl.sources.specs import COUNTIES, JHU_US, NYT_US, STATES
from reading import UNBOUNDED, checker_for

STATES_HEADER = b"date,state,fips,cases,deaths\n"
DAY_1 = b"2020-03-01,Ohio,39,1,0\n2020-03-01,Utah,49,2,0\n"
DAY_2 = b"2020-03-02,Ohio,39,3,0\n2020-03-02,Utah,49,4,1\n"


def file_pass(body: bytes, header: bytes = STATES_HEADER, dataset=STATES, scope=UNBOUNDED) -> tuple[FilePass, list]:
    """A FilePass over ``body`` (the lines after ``header``) and the file's days."""
    checker = checker_for(dataset, header)
    days = list(cut_days(io.BytesIO(body), first_line=2, offset=len(header)))
    return FilePass(checker, Fingerprinter(checker.layout.signature()), scope), days


def whole(body: bytes, **options) -> tuple[FilePass, bytes]:
    one_pass, days = file_pass(body, **options)
    return one_pass, b"".join(one_pass.whole(days))


def rows_of(dataset, text: str, scope=UNBOUNDED) -> tuple[RowPass, bytes]:
    header, _, rest = text.encode().partition(b"\n")
    row_pass = RowPass(checker_for(dataset, header + b"\n"), scope)
    return row_pass, b"".join(row_pass.rows_of(io.BytesIO(rest), first_line=2))


def blamed(run) -> InvalidSourceError:
    with pytest.raises(InvalidSourceError) as caught:
        run()
    return caught.value


# -- FilePass.whole ----------------------------------------------------------------------------------------


def test_a_whole_pass_sends_every_line_and_records_each_days_rows_place_and_fingerprint():
    one_pass, sent = whole(DAY_1 + DAY_2)
    assert sent == DAY_1 + DAY_2
    assert (one_pass.rows, one_pass.sent) == (4, 4)
    first, second = one_pass.days
    assert (first.date, first.rows, first.first_line, first.offset, first.size) == (
        "2020-03-01",
        2,
        2,
        len(STATES_HEADER),
        len(DAY_1),
    )
    assert (second.date, second.rows, second.first_line, second.offset) == (
        "2020-03-02",
        2,
        4,
        len(STATES_HEADER + DAY_1),
    )
    fingerprinter = Fingerprinter(STATES_HEADER.rstrip())
    blocks = fingerprinter.blocks(DAY_1)
    assert first.print.digest == fingerprinter.digest(b"".join(block.digest for block in blocks))
    assert (first.print.rows, first.print.keysum) == (2, keysum([b"2020-03-01,Ohio", b"2020-03-01,Utah"]))


def test_a_day_with_quoted_fields_and_blank_lines_is_sent_rewritten_with_the_keys_of_its_plain_form():
    plain, _ = whole(DAY_1)
    quoted, sent = whole(b'2020-03-01,"Ohio",39,1,0\n\n2020-03-01,Utah,"49",2,0\n')
    assert sent == DAY_1
    assert (quoted.days[0].rows, quoted.days[0].print.keysum) == (2, plain.days[0].print.keysum)


@pytest.mark.parametrize(
    ("body", "line", "value", "problem"),
    [
        pytest.param(DAY_2 + DAY_1, 4, "2020-03-01", "rows are not in date order: date before 2020-03-02", id="days"),
        # A day whose date is no date is blamed as such, not for its place among the days.
        pytest.param(
            DAY_1 + b"2020-02-30,Ohio,39,3,0\n", 4, "2020-02-30", "date is not a date (YYYY-MM-DD)", id="sorted-before"
        ),
        pytest.param(
            DAY_1 + b"oops\n" + DAY_2,
            4,
            "oops",
            "expected 5 fields, found 1 (truncated file?)",
            id="line-without-a-date",
        ),
        pytest.param(DAY_1 + b"2020-03-02,Ohio,39,x,0\n", 4, "x", "cases is not a non-negative integer", id="count"),
    ],
)
def test_a_whole_pass_blames_the_first_bad_line(body, line, value, problem):
    error = blamed(lambda: whole(body))
    assert (error.line, error.value, error.problem) == (line, value, problem)


def test_a_whole_pass_rejects_a_date_outside_the_files_scope():
    error = blamed(lambda: whole(DAY_1 + DAY_2, scope=(b"2020-01-01", b"2020-03-01")))
    assert (error.line, error.value) == (4, "2020-03-02")
    assert error.problem == "date outside the dates this file holds (2020-01-01 to 2020-03-01)"


def test_a_whole_pass_over_no_lines_says_the_file_has_no_rows():
    error = blamed(lambda: whole(b"\n\n"))
    assert (error.line, error.problem) == (None, NO_ROWS)


def test_a_days_keys_come_from_its_lines_and_a_key_given_twice_is_named():
    one_pass, days = file_pass(DAY_1 + b"2020-03-02,Ohio,39,3,0\n2020-03-02,Ohio,39,4,1\n")
    assert one_pass.day_keys(days[0]) == [b"2020-03-01,Ohio", b"2020-03-01,Utah"]
    error = blamed(lambda: one_pass.day_keys(days[1]))
    assert (error.line, error.value) == (5, "2020-03-02,Ohio,39,4,1")
    assert error.problem == "date, state already given on line 4"


# -- FilePass.compare ------------------------------------------------------------------------------------------


def loaded_prints(body: bytes, **options) -> dict:
    """The fingerprints a table holds after loading ``body``, by date."""
    one_pass, _ = whole(body, **options)
    return {day.date: day.print for day in one_pass.days}


def compare(body: bytes, prints: dict, **options) -> tuple[FilePass, bytes]:
    one_pass, days = file_pass(body, **options)
    return one_pass, b"".join(one_pass.compare(days, prints))


def test_comparing_the_loaded_publication_sends_nothing_and_records_its_days_as_unchanged():
    prints = loaded_prints(DAY_1 + DAY_2)
    one_pass, sent = compare(DAY_1 + DAY_2, prints)
    assert (sent, one_pass.sent, one_pass.rows) == (b"", 0, 4)
    assert [(d.date, d.print == prints[d.date], d.checked, d.rows, d.old_rows, d.kept_rows) for d in one_pass.days] == [
        ("2020-03-01", True, False, 2, 2, 2),
        ("2020-03-02", True, False, 2, 2, 2),
    ]


def test_comparing_sends_a_new_days_lines_with_their_keys_crc32():
    prints = loaded_prints(DAY_1)
    one_pass, sent = compare(DAY_1 + DAY_2, prints)
    assert sent == b"".join(
        line + b",%d\n" % zlib.crc32(line[:15]) for line in DAY_2.splitlines()
    )  # the key prefix: date,state
    assert [(d.date, d.print == prints.get(d.date), d.rows, d.old_rows, d.kept_rows) for d in one_pass.days] == [
        ("2020-03-01", True, 2, 2, 2),
        ("2020-03-02", False, 2, 0, 0),
    ]
    assert one_pass.days[1].new_keysum == keysum([b"2020-03-02,Ohio", b"2020-03-02,Utah"])


def big_day(date: bytes, lines: int = 200) -> bytes:
    """A day of many counties: several fingerprint chunks."""
    return b"".join(b"%b,County %03d,Ohio,39%03d,%d,%d\n" % (date, n, n, 1000 + n, n) for n in range(lines))


def test_comparing_a_revised_line_sends_only_the_lines_of_its_chunk():
    header = b"date,county,state,fips,cases,deaths\n"
    old = big_day(b"2021-01-01")
    new = old.replace(b"County 100,Ohio,39100,1100,", b"County 100,Ohio,39100,1177,")
    prints = loaded_prints(old, header=header, dataset=COUNTIES)
    one_pass, sent = compare(new, prints, header=header, dataset=COUNTIES)
    sent = sent.splitlines()
    assert (
        b"2021-01-01,County 100,Ohio,39100,1177,100," + str(zlib.crc32(b"2021-01-01,County 100,Ohio")).encode() in sent
    )
    assert 1 <= len(sent) < 20 and one_pass.sent == len(sent)  # a chunk of ~512 bytes: about a dozen lines
    [day] = one_pass.days
    assert (day.rows, day.old_rows, day.kept_rows) == (200, 200, 200 - len(sent)) and day.print != prints["2021-01-01"]
    assert day.new_keysum == day.old_keysum  # the same keys


@pytest.mark.parametrize(
    "revised",
    [
        pytest.param((b"County 010,Ohio,39010,1010,", b"County 010,Ohio,39010,1011,"), id="plain-lines"),
        pytest.param(
            (b"2021-01-01,County 010,Ohio,39010,1010,", b'2021-01-01,"County 010",Ohio,39010,1011,'), id="quoted"
        ),
    ],
)
def test_comparing_a_day_revised_in_several_chunks_records_the_fingerprint_a_whole_pass_of_it_does(revised):
    header = b"date,county,state,fips,cases,deaths\n"
    old = big_day(b"2021-01-01")
    new = old.replace(*revised).replace(b"County 190,Ohio,39190,1190,", b"County 190,Ohio,39190,1191,")
    one_pass, sent = compare(new, loaded_prints(old, header=header, dataset=COUNTIES), header=header, dataset=COUNTIES)
    sent = sent.splitlines()
    assert (
        b"2021-01-01,County 010,Ohio,39010,1011,10," + str(zlib.crc32(b"2021-01-01,County 010,Ohio")).encode() in sent
    )
    assert (
        b"2021-01-01,County 190,Ohio,39190,1191,190," + str(zlib.crc32(b"2021-01-01,County 190,Ohio")).encode() in sent
    )
    assert len(sent) < 40  # two chunks' lines
    assert one_pass.days[0].print == loaded_prints(new, header=header, dataset=COUNTIES)["2021-01-01"]


def test_comparing_records_a_date_the_table_has_and_the_file_lacks_with_no_rows_within_the_scope_only():
    prints = loaded_prints(DAY_1 + DAY_2 + b"2020-03-03,Ohio,39,5,0\n")
    one_pass, _ = compare(DAY_1 + DAY_2, prints)
    assert [(d.date, d.rows) for d in one_pass.days] == [("2020-03-01", 2), ("2020-03-02", 2), ("2020-03-03", 0)]
    scoped, _ = compare(DAY_1 + DAY_2, prints, scope=(b"2020-03-01", b"2020-03-02"))
    assert [d.date for d in scoped.days] == ["2020-03-01", "2020-03-02"]


def test_comparing_names_a_key_given_twice_in_the_lines_it_sends():
    body = DAY_1 + b"2020-03-02,Ohio,39,3,0\n2020-03-02,Ohio,39,4,1\n"
    error = blamed(lambda: compare(body, loaded_prints(DAY_1)))
    assert (error.line, error.value, error.problem) == (
        5,
        "2020-03-02,Ohio,39,4,1",
        "date, state already given on line 4",
    )


def test_comparing_blames_the_first_bad_line_of_a_changed_day():
    error = blamed(lambda: compare(DAY_1 + b"2020-03-02,Ohio,39,3,0\n2020-03-02,Utah,49,-4,1\n", loaded_prints(DAY_1)))
    assert (error.line, error.value, error.problem) == (5, "-4", "cases is not a non-negative integer")


# -- RowPass ------------------------------------------------------------------------------------------------


def test_a_row_pass_writes_a_reordered_files_values_in_the_order_copy_is_given():
    row_pass, sent = rows_of(STATES, "deaths,cases,fips,state,date\n0,5,39,Ohio,2020-03-01\n1,7,49,Utah,2020-03-02\n")
    columns = row_pass.checker.layout.copy_columns
    assert [dict(zip(columns, line.split(b","), strict=True)) for line in sent.splitlines()] == [
        {"date": b"2020-03-01", "state": b"Ohio", "fips": b"39", "cases": b"5", "deaths": b"0"},
        {"date": b"2020-03-02", "state": b"Utah", "fips": b"49", "cases": b"7", "deaths": b"1"},
    ]
    assert [(d.date, d.rows) for d in row_pass.days] == [("2020-03-01", 1), ("2020-03-02", 1)]


def test_a_row_pass_sends_the_dataset_columns_of_a_file_with_others_and_counts_its_rows_per_date():
    row_pass, sent = rows_of(NYT_US, 'date,cases,deaths,note\n2020-03-01,10,1,x\n2020-03-02,12,1,"a, b"\n')
    assert row_pass.checker.layout.copy_columns == ("date", "cases", "deaths")
    assert sent == b"2020-03-01,10,1\n2020-03-02,12,1\n"
    assert (row_pass.rows, row_pass.sent, [d.date for d in row_pass.days]) == (2, 2, ["2020-03-01", "2020-03-02"])


def test_a_row_pass_keeps_jhus_us_rows_in_date_order_with_its_step_applied():
    text = (
        "Date,Country/Region,Province/State,Recovered\n"
        "2020-03-03,US,,0\n2020-03-01,US,,0\n2020-03-01,US,Guam,9\n2020-03-02,Mexico,,5\n2020-03-02,US,,4\n"
    )
    row_pass, sent = rows_of(JHU_US, text)
    assert sent == b"2020-03-01,0\n2020-03-02,4\n2020-03-03,\n"  # the 0 after 4: not reported, NULL
    assert [(d.date, d.rows) for d in row_pass.days] == [("2020-03-01", 1), ("2020-03-02", 1), ("2020-03-03", 1)]


@pytest.mark.parametrize(
    ("dataset", "text", "line", "problem"),
    [
        pytest.param(
            STATES,
            "state,date,fips,cases,deaths\nOhio,2020-03-01,39,1,0\nOhio,2021-01-01,39,1,0\n",
            3,
            "date outside the dates this file holds (2020-01-01 to 2020-12-31)",
            id="outside-the-scope",
        ),
        pytest.param(
            JHU_US,
            "Date,Country/Region,Province/State,Recovered\n2020-03-01,US,Guam,1\n",
            None,
            "no US national rows (Country/Region 'US', empty Province/State)",
            id="no-kept-rows",
        ),
        pytest.param(STATES, "state,date,fips,cases,deaths\n\n", None, NO_ROWS, id="no-rows"),
    ],
)
def test_a_row_pass_rejects_a_date_outside_the_scope_and_a_file_without_rows(dataset, text, line, problem):
    error = blamed(lambda: rows_of(dataset, text, scope=(b"2020-01-01", b"2020-12-31")))
    assert (error.line, error.problem) == (line, problem)
