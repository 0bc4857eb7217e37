"""Parse and validate the two source CSV files into records.

Every rule breaks with an :class:`InvalidSourceError` naming the source, the file, the line and the
value, before anything is written. Cumulative counts that go down and revised past days are legal.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from datetime import date

from covid_etl.errors import Blame
from covid_etl.records import JhuDay, NytDay
from covid_etl.rows import fits_bigint

# The columns each parser reads, found by name in the header: their order does not matter and other
# columns are ignored. The JHU file dropped Lat and Long on 2020-10-23; both layouts carry these.
NYT_COLUMNS = ("date", "cases", "deaths")
JHU_COLUMNS = ("Date", "Country/Region", "Province/State", "Recovered")
# The JHU national series: country "US" with no province.
JHU_US_COUNTRY = "US"

# [0-9], not \d: \d matches any Unicode digit (such as '\u0663'), which int() would read as a number.
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_COUNT = re.compile(r"[0-9]+")


class _Reader:
    """Reads one CSV file, checking the header and every row's shape; knows how to blame a line."""

    def __init__(self, text: str, *, source: str, location: str, columns: Sequence[str]) -> None:
        self.error = Blame(source, location)
        if not text.strip():
            raise self.error(None, "the file is empty")
        self._rows = csv.reader(io.StringIO(text, newline=""), strict=True)
        header = self._next_row() or []
        missing = [name for name in columns if name not in header]
        if missing:
            raise self.error(1, f"not the expected CSV: the header lacks {', '.join(missing)}", ",".join(header))
        self.width = len(header)
        self.index = {name: header.index(name) for name in columns}

    def _next_row(self) -> list[str] | None:
        try:
            return next(self._rows, None)
        except csv.Error as exc:
            raise self.error(self._rows.line_num, f"malformed CSV ({exc})") from exc

    def __iter__(self) -> Iterator[tuple[int, dict[str, str]]]:
        """Yield (line number, the named columns) for every data row."""
        while (row := self._next_row()) is not None:
            line = self._rows.line_num
            if not row:
                continue  # a blank line carries no data
            if len(row) != self.width:
                raise self.error(
                    line, f"expected {self.width} fields, found {len(row)} (truncated file?)", ",".join(row)
                )
            yield line, {name: row[position] for name, position in self.index.items()}

    def date(self, line: int, column: str, value: str) -> date:
        if _ISO_DATE.fullmatch(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise self.error(line, f"{column} is not a date (YYYY-MM-DD)", value)

    def count(self, line: int, column: str, value: str) -> int:
        if not _COUNT.fullmatch(value):
            raise self.error(line, f"{column} is not a non-negative integer", value)
        # Checked here, not left to the database: there it would fail as "bigint out of range", without the line.
        if not fits_bigint(value.encode("ascii")):
            raise self.error(line, f"{column} is beyond PostgreSQL's bigint", value)
        return int(value)


def _unique_dates(reader: _Reader, days: list, lines: list[int]) -> None:
    seen: dict[date, int] = {}
    for day, line in zip(days, lines, strict=False):
        if day.date in seen:
            raise reader.error(line, f"date already given on line {seen[day.date]}", day.date.isoformat())
        seen[day.date] = line


def parse_nyt(text: str, *, location: str, source: str = "NYT") -> list[NytDay]:
    """Parse the NYT national series (``date,cases,deaths``) into one record per date."""
    reader = _Reader(text, source=source, location=location, columns=NYT_COLUMNS)
    days, lines = [], []
    for line, row in reader:
        days.append(
            NytDay(
                date=reader.date(line, "date", row["date"]),
                cases=reader.count(line, "cases", row["cases"]),
                deaths=reader.count(line, "deaths", row["deaths"]),
            )
        )
        lines.append(line)
    if not days:
        raise reader.error(None, "the file has a header but no data rows")
    _unique_dates(reader, days, lines)
    return days


def parse_jhu_us(text: str, *, location: str, source: str = "JHU") -> list[JhuDay]:
    """Parse the JHU combined series and keep the US national rows' recovered counts.

    Every row's shape and date are checked; counts are checked where they are used (the US rows),
    since other countries' provinces legitimately leave some of them blank.
    """
    reader = _Reader(text, source=source, location=location, columns=JHU_COLUMNS)
    days, lines = [], []
    for line, row in reader:
        day = reader.date(line, "Date", row["Date"])
        if row["Country/Region"] != JHU_US_COUNTRY or row["Province/State"]:
            continue
        days.append(JhuDay(date=day, recovered=reader.count(line, "Recovered", row["Recovered"])))
        lines.append(line)
    if not days:
        raise reader.error(None, "no US national rows (Country/Region 'US', empty Province/State)")
    _unique_dates(reader, days, lines)
    return days
