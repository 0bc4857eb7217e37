"""The header's layout (covid_etl.read.layout.read_layout) and the checks of a line (Checker): columns
found by name, how lines may be passed on, and the rules of each kind of column."""

from __future__ import annotations

import io

import pytest

from covid_etl.errors import Blame, InvalidSourceError
from covid_etl.read.layout import MAX_HEADER_BYTES, fits_bigint, read_header, read_layout, split_fields
from covid_etl.sources.specs import COUNTIES, JHU_US, NYT_US, STATES
from reading import checker_for

BLAME = Blame("NYT", "inline")


@pytest.mark.parametrize(
    ("dataset", "header", "positions", "copy_columns", "passthrough", "by_day"),
    [
        pytest.param(NYT_US, b"date,cases,deaths\n", (0, 1, 2), ("date", "cases", "deaths"), True, True, id="nyt"),
        pytest.param(
            NYT_US, b"deaths,date,cases\r\n", (1, 2, 0), ("deaths", "date", "cases"), True, False, id="nyt-reordered"
        ),
        pytest.param(
            NYT_US,
            b"\xef\xbb\xbfdate, cases ,deaths,note\n",
            (0, 1, 2),
            ("date", "cases", "deaths"),
            False,
            False,
            id="nyt-bom-spaces-extra-column",
        ),
        pytest.param(
            JHU_US,
            b"Date,Country/Region,Province/State,Confirmed,Recovered,Deaths\n",
            (0, 4),
            ("date", "recovered"),
            False,
            False,
            id="jhu-keeps-some-rows",
        ),
        pytest.param(
            STATES,
            b"date,fips,state,cases,deaths\n",
            (0, 2, 1, 3, 4),
            ("date", "fips", "state", "cases", "deaths"),
            True,
            True,
            id="states-key-not-leading",
        ),
    ],
)
def test_the_layout_finds_the_columns_by_name_and_says_how_lines_pass_on(
    dataset, header, positions, copy_columns, passthrough, by_day
):
    layout = read_layout(header, dataset, BLAME)
    assert tuple(layout.positions.values()) == positions and tuple(layout.positions) == dataset.column_names
    assert (layout.copy_columns, layout.passthrough, layout.by_day) == (copy_columns, passthrough, by_day)


def test_jhu_rows_are_kept_by_the_positions_of_country_and_province():
    layout = read_layout(b"Province/State,Date,Country/Region,Recovered\n", JHU_US, BLAME)
    assert layout.keep == ((2, b"US"), (0, b""))


def test_the_signature_is_the_header_as_written():
    assert (
        read_layout(b"date,state,fips,cases,deaths\r\n", STATES, BLAME).signature() == b"date,state,fips,cases,deaths"
    )


@pytest.mark.parametrize(
    ("body", "line", "value", "problem"),
    [
        pytest.param(b"", None, None, "the file is empty", id="empty"),
        pytest.param(b"\n \r\n\t\n", None, None, "the file is empty", id="blank-lines"),
        # A body that begins with a blank line is told by what follows it.
        pytest.param(
            b'\n  {"message": "Not Found"}\n',
            1,
            '{"message": "Not Found"}',
            "not the expected CSV: a JSON body",
            id="json-after-a-blank-line",
        ),
        pytest.param(b"\n\n<html>\n", 1, "<html>", "not the expected CSV: an HTML page", id="html-after-blank-lines"),
        pytest.param(
            b"\ndate,cases,deaths\n",
            1,
            "",
            "not the expected CSV: the header lacks date, cases, deaths",
            id="header-after-a-blank-line",
        ),
        pytest.param(
            b"date;cases;deaths\n",
            1,
            "date;cases;deaths",
            "not the expected CSV: the header lacks date, cases, deaths",
            id="semicolons",
        ),
        pytest.param(
            b"date,cases,fatalities\n",
            1,
            "date,cases,fatalities",
            "not the expected CSV: the header lacks deaths",
            id="renamed",
        ),
        pytest.param(
            b"date,ca\xf1ses,deaths\n",
            1,
            "date,ca\ufffdses,deaths",
            "not UTF-8 text (byte 0xf1: invalid continuation byte)",
            id="not-utf-8",
        ),
        pytest.param(b"date,cases,deaths\x00\n", 1, "date,cases,deaths\x00", "a NUL byte in the line", id="nul"),
    ],
)
def test_a_header_that_is_not_the_datasets_is_rejected_saying_what_it_is(body, line, value, problem):
    first_line, after = read_header(io.BytesIO(body))
    with pytest.raises(InvalidSourceError) as caught:
        read_layout(first_line, NYT_US, BLAME, after=after)
    assert (caught.value.line, caught.value.value, caught.value.problem) == (line, value, problem)


def test_the_header_is_read_as_one_line_and_looked_past_only_when_blank():
    stream = io.BytesIO(b"date,cases,deaths\n2020-03-01,1,0\n")
    assert read_header(stream) == (b"date,cases,deaths\n", b"") and stream.tell() == len(b"date,cases,deaths\n")
    assert read_header(io.BytesIO(b"\r\nx\n")) == (b"\r\n", b"x\n")
    huge = io.BytesIO(b"d" * (MAX_HEADER_BYTES + 10))
    assert len(read_header(huge)[0]) == MAX_HEADER_BYTES  # a body of one huge line is read by its start


@pytest.mark.parametrize(
    ("digits", "fits"),
    [
        pytest.param(b"9223372036854775807", True, id="bigint-max"),
        pytest.param(b"0009223372036854775807", True, id="leading-zeros"),
        pytest.param(b"9223372036854775808", False, id="max-plus-one"),
        pytest.param(b"0", True, id="zero"),
        pytest.param(b"1" * 5000, False, id="more-digits-than-int-reads"),
    ],
)
def test_a_count_fits_when_postgresql_bigint_holds_it(digits, fits):
    assert fits_bigint(digits) is fits


COUNTY = "date,county,state,fips,cases,deaths\n"


@pytest.mark.parametrize(
    ("line", "value", "problem"),
    [
        pytest.param(b"2020-03-01,Ada,Idaho,16001,1,0", None, None, id="valid"),
        pytest.param(b"2020-03-01,New York City,New York,,1,0", None, None, id="no-fips"),
        pytest.param(b"2020-03-01,Ada,Idaho,16,1,0", None, None, id="state-fips"),
        pytest.param(b"2020-03-01,,Idaho,16001,1,0", "", "county is empty", id="empty-text"),
        pytest.param(b"2020-03-01,Ada,Idaho,1600,1,0", "1600", "fips is not a 2- or 5-digit FIPS code", id="fips-4"),
        pytest.param(b"2020-03-01,Ada,Idaho,16001,1,-1", "-1", "deaths is not a non-negative integer", id="negative"),
        pytest.param(b"2020-03-01,Ada,Idaho,16001,1e3,0", "1e3", "cases is not a non-negative integer", id="exponent"),
        pytest.param(
            b"2020-03-01,Ada,Idaho,16001,99999999999999999999,0",
            "99999999999999999999",
            "cases is beyond PostgreSQL's bigint",
            id="beyond-bigint",
        ),
        pytest.param(b"2020-3-1,Ada,Idaho,16001,1,0", "2020-3-1", "date is not a date (YYYY-MM-DD)", id="date"),
        pytest.param(
            b"2020-03-01,Ada,Idaho,16001,1",
            "2020-03-01,Ada,Idaho,16001,1",
            "expected 6 fields, found 5 (truncated file?)",
            id="truncated",
        ),
        pytest.param(
            b'2020-03-01,"Ada,Idaho,16001,1,0',
            '2020-03-01,"Ada,Idaho,16001,1,0',
            "malformed CSV (unexpected end of data)",
            id="open-quote",
        ),
    ],
)
def test_each_kind_of_column_has_its_rule(line, value, problem):
    checker = checker_for(COUNTIES, COUNTY.encode())

    def check():
        fields = checker.fields(7, line)
        checker.check_values(7, fields)

    if problem is None:
        check()
        return
    with pytest.raises(InvalidSourceError) as caught:
        check()
    assert (caught.value.line, caught.value.value, caught.value.problem) == (7, value, problem)


def test_a_rows_key_is_in_the_datasets_key_order_and_its_prefix_in_the_lines():
    checker = checker_for(COUNTIES, COUNTY.encode())
    fields = checker.fields(2, b"2020-03-01,Ada,Idaho,16001,1,0")
    assert checker.key_of(fields) == b"2020-03-01,Idaho,Ada"  # date, state, county
    assert checker.key_prefix(fields) == b"2020-03-01,Ada,Idaho"  # as the line starts
    assert checker_for(STATES, b"date,fips,state,cases,deaths\n").key_prefix_fields is None


def test_a_quoted_field_is_split_as_csv_and_written_back_quoted_only_where_needed():
    checker = checker_for(COUNTIES, COUNTY.encode())
    fields = split_fields(b'2020-03-01,"Ada, the county","Idaho",16001,1,0', 2, BLAME)
    assert fields == [b"2020-03-01", b"Ada, the county", b"Idaho", b"16001", b"1", b"0"]
    assert checker.copy_line(fields) == b'2020-03-01,"Ada, the county",Idaho,16001,1,0'
    assert checker.copy_line([], [b'say "hi"', b""]) == b'"say ""hi""",'


@pytest.mark.parametrize(
    ("data", "keys"),
    [
        pytest.param(
            b"2020-03-01,Ohio,39,1,0\n2020-03-01,Utah,,2,0\r\n",
            [b"2020-03-01,Ohio", b"2020-03-01,Utah"],
            id="plain-lines-of-one-date",
        ),
        pytest.param(b"2020-03-01,Ohio,39,1,0\n2020-03-02,Utah,49,2,0\n", None, id="two-dates"),
        pytest.param(b'2020-03-01,"Ohio",39,1,0\n', None, id="quotes"),
        pytest.param(b"2020-03-01,Ohio,39,1,0\n\n", None, id="a-blank-line"),
        pytest.param(b"2020-03-01,Ohio,39,1,0\n2020-03-01,Utah,49,x,0\n", None, id="a-bad-count"),
        pytest.param(b"2020-03-01,Ohio,39,1,0\nx2020-03-01,Utah,49,2,0\n", None, id="a-line-not-starting-with-it"),
        pytest.param(b"2020-03-01,Ohio,39,1,0\n2020-03-01,Utah,49,2,0", None, id="no-last-newline"),
        pytest.param(b"2020-03-01,Ohio,39,1,0\n2020-03-01,Utah\xff,49,2,0\n", None, id="not-utf-8"),
        pytest.param(b"", None, id="empty"),
    ],
)
def test_the_fast_check_of_a_day_gives_its_keys_for_one_dates_plain_lines_only(data, keys):
    assert checker_for(STATES, b"date,state,fips,cases,deaths\n").clean_keys(data) == keys
