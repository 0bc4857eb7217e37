"""Streaming validation of a dataset's CSV file, one day at a time, and its comparison with the version
loaded before.

A file of millions of rows is read in chunks and cut into days (the publisher sorts rows by date), so
memory holds one chunk and one day at most. Each day's block of lines is checked with one regular
expression (compiled for the file's header) and passed on as it came, to reach PostgreSQL's
``COPY ... (FORMAT csv)`` without being parsed and written again. A block the expression refuses (or
any file whose date is not its first column) is checked line by line, which finds the line and the
value to blame, or accepts what only that slower reading can (quoted fields, blank lines). Every rule
breaks with an :class:`InvalidSourceError` naming the source, the file, the line and the value.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import BinaryIO

from covid_etl.bodies import not_csv_text, text_problem
from covid_etl.datasets import Dataset
from covid_etl.errors import Blame

# PostgreSQL's bigint holds up to 9,223,372,036,854,775,807: any 18 digits fit.
BIGINT_MAX = 2**63 - 1
CHUNK = 4 * 1024 * 1024
_ISO_DATE = re.compile(rb"\d{4}-\d{2}-\d{2}")
# Lines holding nothing but white space (what the line-by-line check skips as blank).
_BLANK_LINES = re.compile(rb"(?:[ \t\r\f\v]*\n)*")
# The fast check's pattern per kind of column (no quotes, no commas: those lines go the slow way).
_FIELD = {
    "date": rb"\d{4}-\d{2}-\d{2}",
    "text": rb'[^,\r\n"]+',
    "fips": rb"(?:\d{2}|\d{5})?",
    "count": rb"\d{1,18}",
}


@dataclass(frozen=True)
class Layout:
    """What the header says: where the dataset's columns are, and how lines can be passed on.

    :param header: the header's column names, in the file's order.
    :param positions: per dataset column, its position in the file.
    :param passthrough: the header names exactly the dataset's columns (in any order), so a line can go
        to COPY as it is, with the columns listed in the file's order.
    """

    header: tuple[str, ...]
    positions: dict[str, int]
    passthrough: bool

    @property
    def copy_columns(self) -> tuple[str, ...]:
        """The column list for COPY, matching the lines of the blocks read."""
        return self.header if self.passthrough else tuple(self.positions)

    @property
    def by_day_blocks(self) -> bool:
        """Whether days can be cut by their lines' first 10 bytes: passthrough, with the date first."""
        return self.passthrough and self.header[0] == "date"


@dataclass
class Block:
    """One day's lines (each ending with a newline), ready for COPY, and where they started in the file."""

    day: bytes
    data: bytes
    first_line: int

    @property
    def rows(self) -> int:
        return self.data.count(b"\n")


def read_layout(first_line: bytes, dataset: Dataset, blame: Blame) -> Layout:
    """Check the header line and find the dataset's columns in it, by name."""
    if found := not_csv_text(first_line):
        raise blame(1, found.problem, found.value)
    if found := text_problem(first_line):
        raise blame(1, found[1], first_line[:200])
    text = first_line.decode("utf-8-sig").rstrip("\r\n")
    if not text.strip():
        raise blame(None, "the file is empty")
    header = tuple(name.strip() for name in next(csv.reader([text])))
    missing = [name for name in dataset.column_names if name not in header]
    if missing:
        raise blame(1, f"not the expected CSV: the header lacks {', '.join(missing)}", text[:200])
    positions = {name: header.index(name) for name in dataset.column_names}
    return Layout(header=header, positions=positions, passthrough=sorted(header) == sorted(dataset.column_names))


@dataclass
class _Checker:
    """The checks of one file's layout: a fast one for a whole day, and the line-by-line one."""

    dataset: Dataset
    layout: Layout
    blame: Blame
    day_pattern: re.Pattern = field(init=False)

    def __post_init__(self) -> None:
        kinds = {column.name: column.kind for column in self.dataset.columns}
        # (Only used when the layout is passthrough: the header has exactly the dataset's columns.)
        rest = rb",".join(_FIELD[kinds.get(name, "text")] for name in self.layout.header[1:]) + rb"\r?\n"
        # Every line of the block starts with the same date (the first line's): a backreference.
        self.day_pattern = re.compile(rb"(\d{4}-\d{2}-\d{2})," + rest + rb"(?:\1," + rest + rb")*")
        self.width = len(self.layout.header)
        # When the key's columns lead each line, a line's key is its text up to the comma after them.
        key_width = len(self.dataset.key)
        self.key_prefix_fields = key_width if set(self.layout.header[:key_width]) == set(self.dataset.key) else None
        self.date_at = self.layout.positions["date"]
        self.key_at = [self.layout.positions[name] for name in self.dataset.key[1:]]
        self.checks = [(self.layout.positions[c.name], c.name, c.kind) for c in self.dataset.columns]

    def day_is_valid(self, block: Block) -> bool:
        """The fast check of a whole day's shape and values (keys are checked elsewhere, see bulk.py)."""
        data = block.data
        return bool(self.day_pattern.fullmatch(data)) and text_problem(data) is None

    def check_line(self, number: int, line: bytes) -> list[bytes]:
        """Check one line; return its fields."""
        if found := text_problem(line):
            raise self.blame(number, found[1], line[:200])
        fields = split_fields(line, number, self.blame)
        if len(fields) != self.width:
            raise self.blame(number, f"expected {self.width} fields, found {len(fields)} (truncated file?)", line[:200])
        for position, name, kind in self.checks:
            value = fields[position]
            if kind == "date":
                check_date(value, number, self.blame)
            elif kind == "count" and not (value.isdigit() and fits_bigint(value)):
                if value.isdigit():
                    raise self.blame(number, f"{name} is beyond PostgreSQL's bigint", value)
                raise self.blame(number, f"{name} is not a non-negative integer", value)
            elif kind == "text" and not value:
                raise self.blame(number, f"{name} is empty", value)
            elif kind == "fips" and value and not (value.isdigit() and len(value) in (2, 5)):
                raise self.blame(number, f"{name} is not a 2- or 5-digit FIPS code", value)
        return fields

    def checked_day(self, block: Block) -> Block:
        """The day's block, checked line by line (the blame names the first bad line), as COPY lines."""
        seen: dict[bytes, int] = {}
        kept, latest = [], block.day
        for number, line in enumerate(block.data.split(b"\n")[:-1], start=block.first_line):
            line = line.rstrip(b"\r")
            if not line.strip():
                continue
            fields = self.check_line(number, line)
            day = fields[self.date_at]
            if day < latest:
                raise self.blame(number, f"rows are not in date order: date before {latest.decode()}", day)
            latest = day
            key = b",".join([day, *(fields[position] for position in self.key_at)])
            if key in seen:
                raise self.blame(number, f"{', '.join(self.dataset.key)} already given on line {seen[key]}", line[:200])
            seen[key] = number
            kept.append(line if self.layout.passthrough and b'"' not in line else copy_line(fields, self.layout))
        return Block(block.day, b"".join(line + b"\n" for line in kept), block.first_line)


def fits_bigint(digits: bytes) -> bool:
    """Whether a string of ASCII digits is a number PostgreSQL's bigint holds.

    The length is looked at first: ``int()`` refuses strings of more than 4,300 digits (ValueError).
    """
    significant = digits.lstrip(b"0")
    return len(significant) <= len(str(BIGINT_MAX)) and int(significant or b"0") <= BIGINT_MAX


def split_fields(line: bytes, number: int, blame: Blame) -> list[bytes]:
    """The fields of one CSV line (quoted fields may hold commas)."""
    if b'"' not in line:
        return line.split(b",")
    try:
        [fields] = csv.reader([line.decode("utf-8")], strict=True)
    except (csv.Error, ValueError) as exc:
        raise blame(number, f"malformed CSV ({exc})", line[:200]) from None
    return [value.encode() for value in fields]


def copy_line(fields: list[bytes], layout: Layout) -> bytes:
    """The dataset's columns of a line, in layout.copy_columns order, as one CSV line for COPY."""
    order = range(len(fields)) if layout.passthrough else layout.positions.values()
    return b",".join(_quoted(fields[position]) for position in order)


def _quoted(value: bytes) -> bytes:
    return b'"' + value.replace(b'"', b'""') + b'"' if (b"," in value or b'"' in value) else value


def check_date(value: bytes, number: int, blame: Blame) -> None:
    if _ISO_DATE.fullmatch(value):
        try:
            date.fromisoformat(value.decode())
            return
        except ValueError:
            pass
    raise blame(number, "date is not a date (YYYY-MM-DD)", value)


def _lines_by_day(stream: BinaryIO, first_line: int, day_of) -> Iterator[Block]:
    """Cut the stream's remaining lines into consecutive blocks of one day each (``day_of(line)``),
    line by line: for files whose date is not the first column.

    A line without a day (``day_of`` gives None: a blank line, or one too short to reach the date)
    stays in the block it is in, where the line-by-line check skips it or blames it.
    """
    day, lines, start, number = b"", [], first_line, first_line
    for raw in stream:
        line = raw if raw.endswith(b"\n") else raw + b"\n"  # the last line may lack its newline
        this_day = day_of(line)
        if this_day is not None and this_day != day:
            if day:
                yield Block(day, b"".join(lines), start)
                lines, start = [], number
            day = this_day
        lines.append(line)
        number += 1
    if lines:
        yield Block(day, b"".join(lines), start)


def _day_field(at: int, blame: Blame):
    """``day_of`` for :func:`_lines_by_day`: the field at ``at`` of a line, or None when it has none."""

    def day_of(line: bytes) -> bytes | None:
        if not line.strip():
            return None
        fields = split_fields(line.rstrip(b"\r\n"), 0, blame)
        return fields[at] if at < len(fields) else None

    return day_of


def _day_start(buffer: bytes, pos: int) -> int:
    """Where the next day's first line starts: at ``pos``, or after the blank lines there."""
    return _BLANK_LINES.match(buffer, pos).end()


def _day_end(buffer: bytes, pos: int) -> int:
    """Where the block of lines starting with the 10 bytes at ``pos`` (after blank lines) ends (after the
    last one's newline), or -1 when its last line is not complete in the buffer."""
    pos = _day_start(buffer, pos)
    if pos == len(buffer):
        return pos  # blank lines alone, so far
    last = buffer.rfind(b"\n" + buffer[pos : pos + 10], pos)
    return buffer.find(b"\n", last + 1 if last >= 0 else pos) + 1 or -1


def _chunks_by_day(stream: BinaryIO, first_line: int, chunk: int = CHUNK) -> Iterator[Block]:
    """Cut the stream into blocks of the lines starting with the same 10 bytes (a date), in big reads.

    Since the publisher sorts rows by date, a day's lines are contiguous: its block ends after the last
    line starting with that date, found with one ``rfind`` instead of looking at every line. A day is
    cut only once the next day's date is in the buffer too, so that no day is split across reads. A
    block that is not one day's after all (an unsorted file) fails the day check, which then blames
    the line. Blank lines between days are left out (within a day, the line-by-line check skips them).
    """
    buffer, pos, number, eof = b"", 0, first_line, False
    while True:
        end = _day_end(buffer, pos)
        while not eof and (end == -1 or end + 10 > len(buffer)):
            more = stream.read(chunk)
            buffer, pos = buffer[pos:] + more, 0
            if not more:
                eof = True
                if buffer and not buffer.endswith(b"\n"):
                    buffer += b"\n"  # the last line may lack its newline
            end = _day_end(buffer, pos)
        if pos >= len(buffer):
            return
        day_at = _day_start(buffer, pos)
        number += buffer.count(b"\n", pos, day_at)
        block, pos = buffer[day_at:end], end
        if block:
            yield Block(block[:10], block, number)
        number += block.count(b"\n")


class DayReader:
    """A dataset's file, read as its :class:`Layout` and then (lazily) its days, in date order, as COPY lines.

    :param stream: the file, opened in binary mode (a download in the staging store).
    :param dataset: what the file must hold.
    :param source: the source's label, for errors.
    :param location: where the file came from, for errors.
    """

    def __init__(self, stream: BinaryIO, dataset: Dataset, *, source: str, location: str) -> None:
        blame = Blame(source, location)
        self.layout = read_layout(stream.readline(), dataset, blame)
        self.checker = _Checker(dataset, self.layout, blame)
        if self.layout.by_day_blocks:
            self._days = _chunks_by_day(stream, 2)
        else:
            self._days = _lines_by_day(stream, 2, _day_field(self.layout.positions["date"], blame))

    def checked_days(self) -> Iterator[Block]:
        """Every day, checked."""
        previous, rows = b"", 0
        for block in self._days:
            block = check_day(block, self.checker)
            if block.day < previous:
                raise self.checker.blame(
                    block.first_line, f"rows are not in date order: date before {previous.decode()}", block.day
                )
            previous = block.day
            rows += block.rows
            yield block
        if rows == 0:
            raise self.checker.blame(None, "the file has a header but no data rows")

    def unchecked_days(self) -> Iterator[Block]:
        """Every day as it is cut, unchecked: for the version loaded before, which was checked then."""
        return self._days


def check_day(block: Block, checker: _Checker) -> Block:
    """A day checked: as it came when the fast check passes, else line by line (which blames, or fixes
    up what only it accepts)."""
    if checker.layout.by_day_blocks and checker.day_is_valid(block):
        check_date(block.day, block.first_line, checker.blame)
        return block
    return checker.checked_day(block)


@dataclass
class Difference:
    """Rows read and rows found unchanged while comparing a file with the version loaded before."""

    rows: int = 0
    same: int = 0


def _key_repeated(block: Block, lines: list[bytes], checker: _Checker) -> bool:
    """Whether any of ``lines`` (of ``block``) shares its key with another line of the day."""
    fields = checker.key_prefix_fields
    if fields is None:
        return True  # cannot tell cheaply: let the line-by-line check decide
    data = b"\n" + block.data
    for line in lines:
        prefix = b"\n" + b",".join(line.split(b",", fields)[:fields]) + b","
        if data.count(prefix) > 1:
            return True
    return False


def changed_days(new: DayReader, previous: DayReader, found: Difference) -> Iterator[Block]:
    """The lines of ``new`` that are new or differ from ``previous`` (the version loaded before, whose rows
    are in the table), as blocks; ``found`` counts every row and the unchanged ones.

    A day identical to the previous version's is neither checked again nor sent; a day that differs
    is checked whole, and only its new or changed lines are kept — after making sure that none of
    them repeats the key of another line of the day (lines left out are unchanged from a file whose
    keys were unique). Both files must have the same layout (the caller compares them), so that equal
    lines mean equal rows.
    """
    earlier, last_day = Block(b"", b"", 0), b""
    previous_days = previous.unchecked_days()
    checker = new.checker
    for block in new.unchecked_days():
        while earlier.day < block.day and earlier.day != b"\xff":
            earlier = next(previous_days, Block(b"\xff", b"", 0))
        if block.day < last_day:
            raise checker.blame(
                block.first_line, f"rows are not in date order: date before {last_day.decode()}", block.day
            )
        last_day = block.day
        if earlier.day == block.day and block.data == earlier.data:
            found.rows += earlier.rows
            found.same += earlier.rows
            continue
        block = check_day(block, checker)
        lines = block.data.split(b"\n")[:-1]
        before = set(earlier.data.split(b"\n")) if earlier.day == block.day else set()
        kept = [line for line in lines if line not in before]
        if len(set(lines)) != len(lines) or _key_repeated(block, kept, checker):
            block = checker.checked_day(block)  # blames the line whose key was given before
        found.rows += len(lines)
        found.same += len(lines) - len(kept)
        if kept:
            yield Block(block.day, b"\n".join(kept) + b"\n", block.first_line)
    if found.rows == 0:
        raise checker.blame(None, "the file has a header but no data rows")
