"""A date-sorted file cut into days (covid_etl.read.days.cut_days) and each day checked (check_day,
checked_lines): every line lands in exactly one day, whatever the read chunk; blank lines inside a day
stay in it, those between days are left out; each day knows its first line and byte offset."""

from __future__ import annotations

import io
import random

import pytest

from covid_etl.errors import InvalidSourceError
from covid_etl.read.days import CHUNK, Day, check_day, checked_lines, cut_days
from covid_etl.read.fingerprints import Fingerprinter
from covid_etl.read.passes import FilePass
from covid_etl.sources.specs import STATES
from reading import UNBOUNDED, checker_for

HEADER = b"date,state,fips,cases,deaths\n"
FIRST_LINE, OFFSET = 2, len(HEADER)  # where the stream after the header starts in the file


def is_blank(line: bytes) -> bool:
    return not line.strip(b" \t\r\f\v")


def expected_days(body: bytes) -> list[Day]:
    """The days of a sorted body, line by line: runs of lines starting with the same 10 bytes, blank lines
    inside a run kept, those between runs left out; a last line without its newline gets one."""
    if body and not body.endswith(b"\n"):
        body += b"\n"
    days, position = [], 0
    for number, line in enumerate(body.split(b"\n")[:-1], start=FIRST_LINE):
        start, position = position, position + len(line) + 1
        if is_blank(line):
            continue
        if days and days[-1].day == line[:10]:
            first = days[-1]
            days[-1] = Day(first.day, body[first.offset - OFFSET : position], first.first_line, first.offset)
        else:
            days.append(Day(line[:10], body[start:position], number, OFFSET + start))
    return days


def cut(body: bytes, chunk: int = CHUNK) -> list[Day]:
    return list(cut_days(io.BytesIO(body), first_line=FIRST_LINE, offset=OFFSET, chunk=chunk))


OHIO_1, UTAH_1 = b"2020-03-01,Ohio,39,1,0", b"2020-03-01,Utah,49,2,0"
OHIO_2, UTAH_2 = b"2020-03-02,Ohio,39,3,0", b"2020-03-02,Utah,49,4,1"
OHIO_3 = b"2020-03-03,Ohio,39,5,0"

SHAPES = [
    pytest.param(b"\n".join([OHIO_1, UTAH_1, OHIO_2, UTAH_2, OHIO_3]) + b"\n", id="plain"),
    pytest.param(b"\n".join([OHIO_1, b"", UTAH_1, OHIO_2, b"  ", b"\r", UTAH_2]) + b"\n", id="blank-lines-inside-days"),
    pytest.param(b"\n".join([OHIO_1, UTAH_1, b"", b"", OHIO_2, UTAH_2, b" \t", OHIO_3]) + b"\n", id="blank-between"),
    pytest.param(b"\n\n" + b"\n".join([OHIO_1, OHIO_2]) + b"\n\n\n", id="blank-lines-first-and-last"),
    pytest.param(b"\n".join([OHIO_1, UTAH_1, OHIO_2]), id="no-trailing-newline"),
    pytest.param(b"\n".join([OHIO_1, UTAH_1, b"", OHIO_2]) + b"\n  ", id="blank-last-line-without-newline"),
    pytest.param(b"\r\n".join([OHIO_1, UTAH_1, b"", OHIO_2, UTAH_2]) + b"\r\n", id="crlf"),
    pytest.param(OHIO_1, id="one-line"),
    pytest.param(b"", id="nothing"),
    pytest.param(b"\n \n", id="blank-lines-only"),
]


@pytest.mark.parametrize("chunk", [1, 5, 23, 64, CHUNK], ids=lambda chunk: f"chunk-{chunk}")
@pytest.mark.parametrize("body", SHAPES)
def test_a_sorted_file_is_cut_into_its_days_whatever_the_read_chunk(body, chunk):
    assert cut(body, chunk) == expected_days(body)


def generated_file(rng: random.Random) -> bytes:
    """A sorted file of a few days of a few to a thousand lines, with blank lines here and there."""
    lines = []
    for day in range(rng.randint(1, 6)):
        for state in range(rng.choice([1, 3, 40, 1000])):
            lines.append(b"2020-03-%02d,State %d,%02d,%d,0" % (day + 1, state, state % 100, rng.randint(0, 10**6)))
            if rng.random() < 0.05:
                lines.append(rng.choice([b"", b" ", b"\r"]))
    return b"\n".join(lines) + rng.choice([b"\n", b""])


@pytest.mark.parametrize("seed", range(8))
def test_generated_sorted_files_are_cut_into_their_days(seed):
    rng = random.Random(seed)
    body = generated_file(rng)
    for chunk in (rng.randint(1, 100), rng.randint(100, 5000), CHUNK):
        assert cut(body, chunk) == expected_days(body), chunk


class CountingReads(io.BytesIO):
    def __init__(self, body: bytes) -> None:
        super().__init__(body)
        self.reads = 0

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        return super().read(size)


def test_a_day_larger_than_the_read_chunk_is_one_day_read_in_geometrically_growing_reads():
    day = b"".join(b"2020-03-01,State %05d,01,%d,0\n" % (n, n) for n in range(20_000))  # ~600 kB
    body = day + OHIO_2 + b"\n"
    stream = CountingReads(body)
    days = list(cut_days(stream, first_line=FIRST_LINE, offset=OFFSET, chunk=1000))
    assert [(d.day, len(d.data), d.first_line) for d in days] == [
        (b"2020-03-01", len(day), 2),
        (b"2020-03-02", len(OHIO_2) + 1, 20_002),
    ]
    assert stream.reads < 20  # doubling from 1 kB to 600 kB: about 10 reads, not 600


def unsorted_files() -> list:
    days = [[b"2020-03-%02d,State %d,01,1,0" % (day, n) for n in range(30)] for day in range(1, 6)]
    moved_back = [*days[0], *days[1], *days[3][:4], days[1][7], *days[3][4:], *days[4]]
    repeated = [*days[0], *days[1], *days[0][:2], *days[2]]
    inside = [*days[0][:10], days[2][0], *days[0][10:], *days[1]]
    return [
        pytest.param(moved_back, 2 + 60 + 4, "2020-03-02", "2020-03-04", id="a-line-moved-after-a-later-day"),
        pytest.param(repeated, 2 + 60, "2020-03-01", "2020-03-02", id="a-day-repeated-later"),
        pytest.param(inside, 2 + 11, "2020-03-01", "2020-03-03", id="a-later-line-inside-a-day"),
    ]


@pytest.mark.parametrize("chunk", [64, 1000, CHUNK], ids=lambda chunk: f"chunk-{chunk}")
@pytest.mark.parametrize(("lines", "line", "value", "latest"), unsorted_files())
def test_an_unsorted_file_is_rejected_at_its_first_line_out_of_date_order_whatever_the_cut(
    lines, line, value, latest, chunk
):
    body = b"\n".join(lines) + b"\n"
    days = cut(body, chunk)
    assert b"".join(day.data for day in days) == body  # every line in exactly one block
    assert all(day.data.startswith(day.day) for day in days)
    checker = checker_for(STATES, HEADER)
    file_pass = FilePass(checker, Fingerprinter(checker.layout.signature()), UNBOUNDED)
    with pytest.raises(InvalidSourceError) as caught:
        b"".join(file_pass.whole(iter(days)))
    assert (caught.value.line, caught.value.value) == (line, value)
    assert caught.value.problem == f"rows are not in date order: date before {latest}"


# -- checking a day -----------------------------------------------------------------------------------


def day_of(data: bytes, first_line: int = 7) -> Day:
    return Day(data[:10], data, first_line, 100)


def test_a_clean_day_passes_as_it_came():
    day = day_of(OHIO_1 + b"\n" + UTAH_1 + b"\r\n")
    checked = check_day(day, checker_for(STATES, HEADER))
    assert checked.data is day.data and (checked.day, checked.rows) == (b"2020-03-01", 2)


def test_a_day_with_quotes_or_blank_lines_is_checked_line_by_line_and_rewritten_for_copy():
    day = day_of(b'2020-03-01,"Ohio",39,1,0\n\n2020-03-01,"Utah, the state",49,"2",0\n')
    checked = check_day(day, checker_for(STATES, HEADER))
    assert checked.data == b'2020-03-01,Ohio,39,1,0\n2020-03-01,"Utah, the state",49,2,0\n' and checked.rows == 2


@pytest.mark.parametrize(
    ("data", "line", "value", "problem"),
    [
        pytest.param(OHIO_1 + b"\n2020-03-01,Utah,49,x,0\n", 8, "x", "cases is not a non-negative integer", id="count"),
        pytest.param(b"2020-02-30,Ohio,39,1,0\n", 7, "2020-02-30", "date is not a date (YYYY-MM-DD)", id="no-date"),
        pytest.param(
            OHIO_2 + b"\n" + OHIO_1 + b"\n",
            8,
            "2020-03-01",
            "rows are not in date order: date before 2020-03-02",
            id="earlier-date-inside",
        ),
        pytest.param(
            OHIO_1 + b"\n\n2020-03-01,Ohio,39,2,0\n",
            9,
            "2020-03-01,Ohio,39,2,0",
            "date, state already given on line 7",
            id="key-twice",
        ),
    ],
)
def test_a_bad_line_of_a_day_is_blamed_by_its_line_in_the_file(data, line, value, problem):
    with pytest.raises(InvalidSourceError) as caught:
        checked_lines(day_of(data), checker_for(STATES, HEADER))
    assert (caught.value.line, caught.value.value, caught.value.problem) == (line, value, problem)


def test_checked_lines_gives_each_lines_key_as_the_line_leads_with_it():
    lines, keys = checked_lines(day_of(OHIO_1 + b'\n2020-03-01,"Utah",49,2,0\n'), checker_for(STATES, HEADER))
    assert lines == [OHIO_1, UTAH_1]
    assert keys == [b"2020-03-01,Ohio", b"2020-03-01,Utah"]
