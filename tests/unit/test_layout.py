"""The header's layout (covid_etl.read.layout.read_layout) and the checks of a line (Checker): columns
found by name, how lines may be passed on, and the rules of each kind of column."""

from __future__ import annotations

import io

import pytest

from covid_etl.errors import Blame, InvalidSourceError
from covid_etl.read.layout import MAX_HEADER_BYTES, read_header, read_layout
from covid_etl.sources.specs import NYT_US

BLAME = Blame("NYT", "inline")


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
