"""The one validator of source files: what a header says (the :class:`Layout`) and the checks of a line.

Every rule breaks with an :class:`InvalidSourceError` naming the source, the file, the line and the
value. Pure functions over bytes: no framework, no I/O.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import date
from typing import BinaryIO

from covid_etl.errors import Blame
from covid_etl.read.bodies import not_csv_text, text_problem
from covid_etl.sources.specs import Dataset

# PostgreSQL's bigint holds up to 9,223,372,036,854,775,807: any 18 digits fit.
BIGINT_MAX = 2**63 - 1
# The first line is read at most this long: a body of one huge line is still named by its start.
MAX_HEADER_BYTES = 1024 * 1024
# Bytes looked at after a blank first line, to tell what the body is.
LOOKAHEAD_BYTES = 4096
_ISO_DATE = re.compile(rb"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# The fast check's pattern per kind of column (no quotes, no commas: those lines go the slow way).
FIELD_PATTERN = {
    "date": rb"[0-9]{4}-[0-9]{2}-[0-9]{2}",
    "text": rb'[^,\r\n"]+',
    "fips": rb"(?:[0-9]{2}|[0-9]{5})?",
    "count": rb"[0-9]{1,18}",
}


@dataclass(frozen=True)
class Layout:
    """What a file's header says: where the dataset's fields are, and how its lines can be passed on.

    :param header: the header's field names, in the file's order.
    :param positions: per table column, the position of its field in the file.
    :param keep: per field a kept row must match, its position and the value.
    :param passthrough: the header names exactly the table's columns (in any order) and every row is
        the dataset's, so a line can go to COPY as it is, with the columns listed in the file's order.
    """

    header: tuple[str, ...]
    positions: dict[str, int]
    keep: tuple[tuple[int, bytes], ...]
    passthrough: bool

    @property
    def copy_columns(self) -> tuple[str, ...]:
        """The column list for COPY, matching the lines read (the file's order when passed through)."""
        return self.header if self.passthrough else tuple(self.positions)

    @property
    def by_day(self) -> bool:
        """Whether lines pass through and start with their date: a date-sorted file is cut into days by
        its lines' first 10 bytes."""
        return self.passthrough and self.header[0] == "date"

    def signature(self) -> bytes:
        """The header as the lines' meaning depends on it (fingerprints of lines are only comparable
        between files of the same signature)."""
        return ",".join(self.header).encode()


def read_header(stream: BinaryIO) -> tuple[bytes, bytes]:
    """The file's first line (at most MAX_HEADER_BYTES) and, when that line is blank, a look at the bytes
    after it (for :func:`read_layout`: the file is then rejected, as empty or as what it holds)."""
    first_line = stream.readline(MAX_HEADER_BYTES)
    return first_line, (b"" if first_line.strip() else stream.read(LOOKAHEAD_BYTES))


def read_layout(first_line: bytes, dataset: Dataset, blame: Blame, *, after: bytes = b"") -> Layout:
    """Check the header line and find the dataset's fields in it, by name.

    :param after: when the first line is blank, the bytes that follow it (see :func:`read_header`): a
        body that begins with a blank line is empty only when nothing follows, and is otherwise named by
        what follows (a JSON body after a newline is a JSON body).
    """
    if found := not_csv_text(first_line if first_line.strip() else first_line + after):
        raise blame(1, found.problem, found.value)
    if found := text_problem(first_line):
        raise blame(1, found[1], first_line.rstrip(b"\r\n")[:200])
    text = first_line.decode("utf-8-sig").rstrip("\r\n")
    if not text.strip() and not after.strip():
        raise blame(None, "the file is empty")
    header = tuple(name.strip() for name in next(csv.reader([text])))
    kept_by = dataset.keep.equals if dataset.keep else ()
    needed = [column.field for column in dataset.columns] + [name for name, _ in kept_by]
    missing = [name for name in needed if name not in header]
    if missing:
        raise blame(1, f"not the expected CSV: the header lacks {', '.join(missing)}", text[:200])
    names = [column.name for column in dataset.columns]
    return Layout(
        header=header,
        positions={column.name: header.index(column.field) for column in dataset.columns},
        keep=tuple((header.index(name), value.encode()) for name, value in kept_by),
        passthrough=sorted(header) == sorted(names) and dataset.keep is None and dataset.step is None,
    )


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


def check_date(value: bytes, number: int | None, blame: Blame, name: str = "date") -> None:
    if _ISO_DATE.fullmatch(value):
        try:
            date.fromisoformat(value.decode())
            return
        except ValueError:
            pass
    raise blame(number, f"{name} is not a date (YYYY-MM-DD)", value)


def _quoted(value: bytes) -> bytes:
    return b'"' + value.replace(b'"', b'""') + b'"' if (b"," in value or b'"' in value) else value


@dataclass
class Checker:
    """The checks of one file's lines, for its layout.

    :param dataset: what the file must hold.
    :param layout: its header, read.
    :param blame: builds the error for a line of the file.
    """

    dataset: Dataset
    layout: Layout
    blame: Blame
    clean_line: re.Pattern = field(init=False)

    def __post_init__(self) -> None:
        kinds = {column.name: column.kind for column in self.dataset.columns}
        self.width = len(self.layout.header)
        self.date_at = self.layout.positions["date"]
        self.date_field = self.dataset.columns[0].field
        self.key_at = [self.layout.positions[name] for name in self.dataset.key]
        fields = {column.name: column.field for column in self.dataset.columns}
        self.checks = [(self.layout.positions[c.name], fields[c.name], c.kind) for c in self.dataset.columns]
        key_width = len(self.dataset.key)
        key_fields = {fields[name] for name in self.dataset.key}
        # When the key's fields lead each line, a line's key is its text up to the comma after them.
        self.key_prefix_fields = key_width if set(self.layout.header[:key_width]) == key_fields else None
        # The fast check's line, its key prefix captured. (Only used for layouts cut by day: the header has
        # exactly the dataset's columns, the date first, the key's fields leading.)
        patterns = [FIELD_PATTERN[kinds.get(name, "text")] for name in self.layout.header]
        lead = self.key_prefix_fields or 1
        self.clean_line = re.compile(
            rb"(?m)^(" + rb",".join(patterns[:lead]) + rb")," + rb",".join(patterns[lead:]) + rb"\r?\n"
        )

    def clean_keys(self, data: bytes) -> list[bytes] | None:
        """The key prefixes of a day's lines (each line's text up to the comma after its key's fields) when
        the fast check passes: every line one date's (the first line's), of plain fields (no quotes), none
        blank, UTF-8, each ending with a newline; else None (the slow way checks it line by line)."""
        keys = self.clean_line.findall(data)
        lines = data.count(b"\n")
        if not keys or len(keys) != lines or not data.endswith(b"\n"):
            return None
        if data.count(b"\n" + data[:11]) != lines - 1 or text_problem(data) is not None:
            return None
        return keys

    def fields(self, number: int, line: bytes) -> list[bytes]:
        """A line's fields, with its shape and date checked (every row of the file has these)."""
        if found := text_problem(line):
            raise self.blame(number, found[1], line[:200])
        fields = split_fields(line, number, self.blame)
        if len(fields) != self.width:
            raise self.blame(number, f"expected {self.width} fields, found {len(fields)} (truncated file?)", line[:200])
        check_date(fields[self.date_at], number, self.blame, self.date_field)
        return fields

    def kept(self, fields: list[bytes]) -> bool:
        """Whether the row is one of the dataset's (see :class:`covid_etl.sources.specs.Keep`)."""
        return all(fields[position] == value for position, value in self.layout.keep)

    def check_values(self, number: int, fields: list[bytes]) -> None:
        """The checks of a kept row's values, column by column."""
        for position, name, kind in self.checks:
            value = fields[position]
            if kind == "count" and not (value.isdigit() and fits_bigint(value)):
                if value.isdigit():  # bytes: ASCII digits only
                    raise self.blame(number, f"{name} is beyond PostgreSQL's bigint", value)
                raise self.blame(number, f"{name} is not a non-negative integer", value)
            if kind == "text" and not value:
                raise self.blame(number, f"{name} is empty", value)
            if kind == "fips" and value and not (value.isdigit() and len(value) in (2, 5)):
                raise self.blame(number, f"{name} is not a 2- or 5-digit FIPS code", value)

    def key_of(self, fields: list[bytes]) -> bytes:
        """The row's key, its fields in the dataset's key order."""
        return b",".join(fields[position] for position in self.key_at)

    def key_prefix(self, fields: list[bytes]) -> bytes:
        """The row's key as its line starts with it (the layout's order): what fingerprints sum."""
        return b",".join(fields[: self.key_prefix_fields])

    def copy_line(self, fields: list[bytes], values: list[bytes] | None = None) -> bytes:
        """The row as one CSV line for COPY: the file's fields in layout.copy_columns order."""
        if values is None:
            order = range(len(fields)) if self.layout.passthrough else self.layout.positions.values()
            values = [fields[position] for position in order]
        return b",".join(_quoted(value) for value in values)
