"""A date-sorted file, read one day at a time: cut into blocks of lines by their first 10 bytes (the
date), checked, and passed on as they came, ready for PostgreSQL's ``COPY ... (FORMAT csv)``.

A file of millions of rows is read in chunks of a few megabytes, so memory holds one chunk and one day
at most. The publisher sorts rows by date, so a day's lines are contiguous: the end of a day is found by
a galloping binary search over line starts, a few dozen comparisons a day rather than a look at every
line. A block that is not one day's after all (an unsorted file) fails the day's check, which then
blames the line. Each day is checked with one regular expression compiled for the file's header, and
line by line only when that refuses it (to find the line and the value to blame, or to accept what only
that slower reading can: quoted fields, blank lines).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from covid_etl.read.layout import Checker, check_date

CHUNK = 4 * 1024 * 1024
# A line holding nothing but white space (skipped as blank by the line-by-line check).
_BLANK_LINE = re.compile(rb"[ \t\r\f\v]*\n")
# Galloping starts this many bytes ahead: about a hundred lines of NYT's files.
_FIRST_STEP = 4096


@dataclass(frozen=True)
class Day:
    """One day's lines as they are in the file, and where they are.

    :param day: the date, as the 10 bytes that start its lines.
    :param data: the lines, each ending with a newline (blank lines between its lines included).
    :param first_line: the 1-based number of its first line in the file.
    :param offset: the byte offset of its first line in the file.
    """

    day: bytes
    data: bytes
    first_line: int
    offset: int


@dataclass(frozen=True)
class Checked:
    """A day's lines as COPY takes them (blank lines dropped, quoted fields rewritten) and their count."""

    day: bytes
    data: bytes
    rows: int
    keys: list[bytes] | None = None  # the lines' key prefixes, when the fast check passed


def _line_start_at_or_after(buffer: bytes, position: int) -> int:
    if position == 0 or buffer[position - 1] == 0x0A:
        return position
    return buffer.find(b"\n", position) + 1 or len(buffer)


def _skip_blank(buffer: bytes, position: int) -> int:
    while match := _BLANK_LINE.match(buffer, position):
        if match.end() == position:
            break
        position = match.end()
    return position


def _day_end(buffer: bytes, start: int, limit: int) -> int:
    """Where the lines starting with the 10 bytes at ``start`` end: after the last such line before
    ``limit`` (the end of complete lines). Blank lines among them are skipped over."""
    day, low, high, step = buffer[start : start + 10], start, limit, _FIRST_STEP
    while low + step < limit:  # gallop: double the step while lines there still start with the day
        probe = _skip_blank(buffer, _line_start_at_or_after(buffer, low + step))
        if probe >= limit or not buffer.startswith(day, probe):
            high = probe
            break
        low, step = probe, step * 2
    while True:  # the last line starting with the day lies in [low, high)
        following = _skip_blank(buffer, buffer.find(b"\n", low) + 1)
        if following >= high:
            break
        middle = _skip_blank(buffer, _line_start_at_or_after(buffer, (low + high) // 2))
        if not following <= middle < high:
            middle = following
        if buffer.startswith(day, middle):
            low = middle
        else:
            high = middle
    return buffer.find(b"\n", low) + 1


def cut_days(stream: BinaryIO, *, first_line: int, offset: int, chunk: int = CHUNK) -> Iterator[Day]:
    """The stream's remaining lines as consecutive :class:`Day` blocks (blank lines between days left out).

    :param stream: the file after its header, opened for reading bytes.
    :param first_line: the line number of the stream's first line.
    :param offset: the byte offset of the stream's first byte in the file.
    :param chunk: how many bytes to read at a time.
    """
    buffer, position, eof = b"", 0, False
    number = first_line
    while True:
        start = _skip_blank(buffer, position)
        number += buffer.count(b"\n", position, start)
        limit = buffer.rfind(b"\n") + 1
        end = _day_end(buffer, start, limit) if start < limit else -1
        # A day is complete once a line of another day follows it (or the file has ended).
        while not eof and (start >= limit or _skip_blank(buffer, end) >= limit):
            more = stream.read(max(chunk, len(buffer) - start))  # a day longer than a chunk: read geometrically
            offset += start
            buffer, position, start = buffer[start:] + more, 0, 0
            if not more:
                eof = True
                if buffer and not buffer.endswith(b"\n"):
                    buffer += b"\n"  # the last line may lack its newline
            limit = buffer.rfind(b"\n") + 1
            start = _skip_blank(buffer, 0)
            number += buffer.count(b"\n", 0, start)
            end = _day_end(buffer, start, limit) if start < limit else -1
        if start >= limit:
            return
        yield Day(buffer[start : start + 10], buffer[start:end], number, offset + start)
        number += buffer.count(b"\n", start, end)
        position = end


def check_day(day: Day, checker: Checker) -> Checked:
    """A day checked: as it came when the fast check passes, else line by line (which blames, or
    rewrites what only it accepts: quoted fields, blank lines)."""
    if (keys := checker.clean_keys(day.data)) is not None:
        check_date(day.day, day.first_line, checker.blame, checker.date_field)
        return Checked(day.day, day.data, len(keys), keys)
    return check_lines(day, checker)


def check_lines(day: Day, checker: Checker) -> Checked:
    """A day's block checked line by line: the blame names the first bad line."""
    lines, _ = checked_lines(day, checker)
    return Checked(day.day, b"".join(line + b"\n" for line in lines), len(lines))


def checked_lines(day: Day, checker: Checker) -> tuple[list[bytes], list[bytes]]:
    """A day's lines checked one by one: its COPY lines, and each one's key as a COPY line of the key's
    fields in the order the line gives them (when they lead it)."""
    seen: dict[bytes, int] = {}
    kept, keys, latest = [], [], day.day
    for number, line in enumerate(day.data.split(b"\n")[:-1], start=day.first_line):
        line = line.rstrip(b"\r")
        if not line.strip():
            continue
        fields = checker.fields(number, line)
        checker.check_values(number, fields)
        date = fields[checker.date_at]
        if date < latest:
            raise checker.blame(number, f"rows are not in date order: date before {latest.decode()}", date)
        latest = date
        key = checker.key_of(fields)
        if key in seen:
            raise checker.blame(
                number, f"{', '.join(checker.dataset.key)} already given on line {seen[key]}", line[:200]
            )
        seen[key] = number
        kept.append(line if b'"' not in line else checker.copy_line(fields))
        if checker.key_prefix_fields:
            keys.append(checker.copy_line(fields, fields[: checker.key_prefix_fields]))
    return kept, keys
