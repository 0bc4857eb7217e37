"""One pass over a date-sorted file, day by day: every line checked and passed on (:meth:`FilePass.whole`),
or only the lines of chunks the table's fingerprints do not have (:meth:`FilePass.compare`). Either way
the pass records each day's rows and fingerprint, for the database's side of the load.

Pure functions over bytes: the loader (covid_etl/load/loader.py) feeds the days in and sends what comes
out to PostgreSQL.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import BinaryIO

from covid_etl.errors import InvalidSourceError
from covid_etl.read.days import Day, check_day, check_lines, checked_lines
from covid_etl.read.fingerprints import (
    Chunk,
    DayPrint,
    Fingerprinter,
    KeptChunks,
    clean_day_print,
    compare_day,
    day_print,
    keysum,
)
from covid_etl.read.layout import Checker, check_date, split_fields
from covid_etl.read.rows import kept_rows, stepped_rows

NO_ROWS = "the file has a header but no data rows"


@dataclass
class DayRecord:
    """What a pass learnt of one date: the publication's rows, and for a compared day what the table's
    fingerprint said (see include/sql/dataset_load.sql, load_days).

    :param checked: all of the date's keys went to the database (so keys the table has and the
        publication does not are found there).
    """

    date: str
    rows: int = 0
    sent: int = 0
    checked: bool = True
    old_rows: int = 0
    kept_rows: int = 0
    old_keysum: int = 0
    new_keysum: int = 0
    print: DayPrint | None = None
    offset: int = 0
    first_line: int = 0
    size: int = 0


@dataclass
class FilePass:
    """A pass over the days of one file.

    :param checker: the file's checks.
    :param fingerprinter: digests for the file's layout.
    :param scope: the first and last date (ISO bytes) the file may hold.
    """

    checker: Checker
    fingerprinter: Fingerprinter
    scope: tuple[bytes, bytes]
    days: list[DayRecord] = field(default_factory=list)
    sent: int = 0

    def __post_init__(self) -> None:
        self._previous = b""

    @property
    def rows(self) -> int:
        return sum(day.rows for day in self.days)

    def _enter(self, day: Day) -> None:
        """The checks of a day's place: dates ascending, within the file's scope. A day whose lines do not
        start with a date is blamed first, line by line (its place says nothing)."""
        blame = self.checker.blame
        try:
            check_date(day.day, day.first_line, blame, self.checker.date_field)
        except InvalidSourceError:
            check_lines(day, self.checker)  # names the line and the field, not its first 10 bytes
            raise
        if day.day <= self._previous:
            raise blame(day.first_line, f"rows are not in date order: date before {self._previous.decode()}", day.day)
        first, last = self.scope
        if not first <= day.day <= last:
            raise blame(
                day.first_line, f"date outside the dates this file holds ({first.decode()} to {last.decode()})", day.day
            )
        self._previous = day.day

    def whole(self, days: Iterable[Day]) -> Iterator[bytes]:
        """Every day checked, as COPY lines; each day's rows and fingerprint recorded."""
        for day in days:
            self._enter(day)
            checked = check_day(day, self.checker)
            if checked.keys is not None:  # the fast check passed: every line a row, its key given
                print_ = clean_day_print(self.fingerprinter, day.data, checked.keys)
            else:
                chunks = self.fingerprinter.chunks
                blocks = [
                    (block, [self._summed(day, chunk) for chunk in chunks(day.data, block.start, block.end)])
                    for block in self.fingerprinter.blocks(day.data)
                ]
                print_ = day_print(self.fingerprinter, blocks)
            self.days.append(self._record(day, checked.rows, print_))
            self.sent += checked.rows
            yield checked.data
        self._require_rows()

    def compare(self, days: Iterable[Day], prints: Mapping[str, DayPrint]) -> Iterator[bytes]:
        """The lines of every day's chunks that the day's old fingerprint lacks, checked, as COPY lines with
        their key's CRC-32 appended; every day's rows and new fingerprint recorded. Dates the old
        fingerprints have and the file has not are recorded with no rows."""
        seen = set()
        for day in days:
            self._enter(day)
            date = day.day.decode()
            seen.add(date)
            old = prints.get(date)
            diff = compare_day(self.fingerprinter, day.data, old)
            if diff is None:  # unchanged: as the table holds it
                record = self._record(day, old.rows, old, checked=False)
                record.old_rows = record.kept_rows = old.rows
                record.old_keysum = record.new_keysum = old.keysum
                self.days.append(record)
                continue
            lines = self._new_lines(day, diff.new)
            blocks = [
                (block, chunks if isinstance(chunks, KeptChunks) else [lines.summaries.get(c.start, c) for c in chunks])
                for block, chunks in diff.blocks
            ]
            record = self._record(day, diff.kept_rows + len(lines.copy), day_print(self.fingerprinter, blocks))
            record.checked = False
            record.old_rows, record.kept_rows = (old.rows, diff.kept_rows) if old else (0, 0)
            record.old_keysum = old.keysum if old else 0
            record.new_keysum = record.print.keysum
            record.sent = len(lines.copy)
            self.days.append(record)
            self.sent += len(lines.copy)
            if lines.copy:
                yield b"".join(lines.copy)
        first, last = (bound.decode() for bound in self.scope)
        self.days += [DayRecord(date) for date in sorted(prints) if first <= date <= last and date not in seen]
        self._require_rows()

    def _require_rows(self) -> None:
        if self.rows == 0:
            raise self.checker.blame(None, NO_ROWS)

    def _record(self, day: Day, rows: int, print_: DayPrint, *, checked: bool = True) -> DayRecord:
        return DayRecord(
            day.day.decode(), rows, checked=checked, print=print_, offset=day.offset, first_line=day.first_line,
            size=len(day.data),
        )  # fmt: skip

    def _summed(self, day: Day, chunk: Chunk) -> Chunk:
        """The chunk with its rows and key sum, from a day checked already whose lines the fast check did
        not pass (blank lines, quoted fields)."""
        keys = []
        for line in day.data[chunk.start : chunk.end].split(b"\n")[:-1]:
            line = line.rstrip(b"\r")
            if line.strip():
                keys.append(self.checker.key_prefix(split_fields(line, 0, self.checker.blame)))
        return Chunk(chunk.start, chunk.end, chunk.digest, len(keys), keysum(keys))

    def day_keys(self, day: Day) -> list[bytes]:
        """All of a day's keys, as COPY lines of its leading key fields, the day checked (a key given
        twice is named)."""
        data = day.data
        if data.startswith(day.day) and (keys := self.checker.clean_keys(data)) is not None:
            if len(set(keys)) == len(keys):
                return keys
        return checked_lines(day, self.checker)[1]

    def _new_lines(self, day: Day, chunks: list[Chunk]) -> _NewLines:
        """The new chunks' lines checked; on any fault the whole day is checked line by line, which names
        the first bad line of the day (it may lie before the fault found here)."""
        try:
            return _NewLines.of(day, chunks, self.checker)
        except InvalidSourceError:
            check_lines(day, self.checker)
            raise


@dataclass
class _NewLines:
    """The checked lines of a day's new chunks: COPY lines with the key's CRC-32, and per chunk (by its
    start) its rows and key sum."""

    copy: list[bytes]
    summaries: dict[int, Chunk]

    @classmethod
    def of(cls, day: Day, chunks: list[Chunk], checker: Checker) -> _NewLines:
        check_date(day.day, day.first_line, checker.blame, checker.date_field)
        # The fast check once over all of the day's new lines (a far publication's days have hundreds of new
        # chunks: a check per chunk cost twice as much); each chunk's rows are then its newlines.
        clean = _clean_lines(b"".join(day.data[chunk.start : chunk.end] for chunk in chunks), day, checker)
        if clean is not None:
            lines, prefixes = clean
            if len(set(prefixes)) != len(prefixes):
                raise _repeated(day, checker)
            crcs = list(map(zlib.crc32, prefixes))
            summaries, first = {}, 0
            for chunk in chunks:
                rows = day.data.count(b"\n", chunk.start, chunk.end)
                summaries[chunk.start] = chunk._replace(rows=rows, keysum=sum(crcs[first : first + rows]))
                first += rows
            return cls([b"%b,%d\n" % pair for pair in zip(lines, crcs, strict=True)], summaries)
        return cls._checked_by_chunk(day, chunks, checker)

    @classmethod
    def _checked_by_chunk(cls, day: Day, chunks: list[Chunk], checker: Checker) -> _NewLines:
        """The new chunks checked one by one: those the fast check fails, line by line."""
        copy: list[bytes] = []
        summaries: dict[int, Chunk] = {}
        seen: set[bytes] = set()
        for chunk in chunks:
            data = day.data[chunk.start : chunk.end]
            clean = _clean_lines(data, day, checker)
            if clean is None:
                first_line = day.first_line + day.data.count(b"\n", 0, chunk.start)
                clean = _checked(data, first_line, day.day, checker)
            lines, prefixes = clean
            if len(seen) + len(prefixes) != len(seen.union(prefixes)):
                raise _repeated(day, checker)
            seen.update(prefixes)
            crcs = list(map(zlib.crc32, prefixes))
            copy += [b"%b,%d\n" % (line, crc) for line, crc in zip(lines, crcs, strict=True)]
            summaries[chunk.start] = Chunk(chunk.start, chunk.end, chunk.digest, len(crcs), sum(crcs))
        return cls(copy, summaries)


def _clean_lines(data: bytes, day: Day, checker: Checker) -> tuple[list[bytes], list[bytes]] | None:
    """Some of a day's lines as COPY lines and their key prefixes, when the fast check passes them all (each
    a row of the day); None when it does not."""
    if data.startswith(day.day) and (prefixes := checker.clean_keys(data)) is not None:
        return data.replace(b"\r\n", b"\n").split(b"\n")[:-1], prefixes
    return None


def _repeated(day: Day, checker: Checker) -> InvalidSourceError:
    """The error for a key given twice in a day's new lines: the day read line by line names the line."""
    try:
        check_lines(day, checker)
    except InvalidSourceError as error:
        return error
    return checker.blame(day.first_line, f"{', '.join(checker.dataset.key)} given twice on the day", day.day)


def _checked(data: bytes, first_line: int, day: bytes, checker: Checker) -> tuple[list[bytes], list[bytes]]:
    """A chunk's lines checked one by one: its COPY lines and their key prefixes, blank lines skipped."""
    lines, prefixes = [], []
    for number, line in enumerate(data.split(b"\n")[:-1], start=first_line):
        line = line.rstrip(b"\r")
        if not line.strip():
            continue
        fields = checker.fields(number, line)
        checker.check_values(number, fields)
        if fields[checker.date_at] != day:
            raise checker.blame(number, f"rows are not in date order: date after {day.decode()}", line)
        lines.append(line if b'"' not in line else checker.copy_line(fields))
        prefixes.append(checker.key_prefix(fields))
    return lines, prefixes


@dataclass
class RowPass:
    """A pass over a file read row by row (covid_etl/read/rows.py): its kept rows as COPY lines of the
    dataset's columns, with each date's rows recorded.

    :param checker: the file's checks.
    :param scope: the first and last date (ISO bytes) the file may hold.
    """

    checker: Checker
    scope: tuple[bytes, bytes]
    days: list[DayRecord] = field(default_factory=list)
    sent: int = 0

    @property
    def rows(self) -> int:
        return self.sent

    def rows_of(self, stream: BinaryIO, *, first_line: int) -> Iterator[bytes]:
        """The kept rows as COPY lines, their values in the order of the layout's ``copy_columns``."""
        dataset, checker = self.checker.dataset, self.checker
        read = stepped_rows if dataset.step else kept_rows
        # The rows come in the dataset's column order; COPY is given the layout's (the file's when passed through).
        order = [dataset.column_names.index(name) for name in checker.layout.copy_columns]
        counts: dict[bytes, int] = {}
        batch: list[bytes] = []
        first, last = self.scope
        for number, _, values in read(stream, checker, first_line=first_line):
            day = values[0]
            if not first <= day <= last:
                problem = f"date outside the dates this file holds ({first.decode()} to {last.decode()})"
                raise checker.blame(number, problem, day)
            counts[day] = counts.get(day, 0) + 1
            batch.append(checker.copy_line([], [b"" if values[at] is None else values[at] for at in order]) + b"\n")
            if len(batch) >= 10_000:
                yield b"".join(batch)
                batch = []
        yield b"".join(batch)
        self.sent = sum(counts.values())
        if not self.sent:
            raise checker.blame(None, f"no {dataset.keep.description}" if dataset.keep else NO_ROWS)
        self.days = [DayRecord(day.decode(), rows) for day, rows in sorted(counts.items())]
