"""A file read row by row: for layouts that cannot be cut into days (another column order, columns the
dataset does not keep, rows it does not keep) and for datasets with a step. Every row's shape and date
are checked; the kept rows' values too. The rows come out as COPY lines of the dataset's columns.

Pure functions over bytes and the named steps: no framework, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

from covid_etl.read.layout import Checker

Row = tuple[int, bytes, list[bytes | None]]  # (line number, the line, the dataset's values; None is NULL)


def kept_rows(stream: BinaryIO, checker: Checker, *, first_line: int) -> Iterator[Row]:
    """The kept rows of the stream (after its header), in file order, as the dataset's column values."""
    order = list(checker.layout.positions.values())
    for number, raw in enumerate(stream, start=first_line):
        line = raw.rstrip(b"\r\n")
        if not line.strip():
            continue  # a blank line carries no data
        fields = checker.fields(number, line)
        if checker.kept(fields):
            checker.check_values(number, fields)
            yield number, line, [fields[position] for position in order]


def unreported_after_positive(rows: list[Row], value_at: Iterable[int]) -> list[Row]:
    """In date order, a count of 0 after an earlier positive one of the same column means "not reported"
    (JHU reports US recoveries as 0 from 2020-12-14 on): None. A 0 before any positive count is a 0."""
    positions = list(value_at)
    seen_positive = set()
    for _, _, values in rows:
        for position in positions:
            if values[position] == b"0" and position in seen_positive:
                values[position] = None
            elif values[position] not in (b"0", None):
                seen_positive.add(position)
    return rows


STEPS: dict[str, Callable[[list[Row], Iterable[int]], list[Row]]] = {
    "unreported_after_positive": unreported_after_positive,
}


def stepped_rows(stream: BinaryIO, checker: Checker, *, first_line: int) -> list[Row]:
    """The kept rows sorted by date with the dataset's step applied, each key given once: a dataset with a
    step keeps few rows (JHU's US days), so they are held in memory."""
    dataset = checker.dataset
    rows = sorted(kept_rows(stream, checker, first_line=first_line), key=lambda row: row[2][0])
    seen: dict[bytes, int] = {}
    key_at = [dataset.column_names.index(name) for name in dataset.key]
    for number, line, values in rows:
        key = b",".join(values[position] for position in key_at)
        if key in seen:
            raise checker.blame(number, f"{', '.join(dataset.key)} already given on line {seen[key]}", line[:200])
        seen[key] = number
    value_at = [dataset.column_names.index(name) for name in dataset.values]
    return STEPS[dataset.step](rows, value_at) if dataset.step else rows
