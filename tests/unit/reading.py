"""A whole file read with covid_etl.read's pieces as the loader composes them (covid_etl/load/loader.py),
without a database: the header's layout, then a pass by day (cut_days, check_day) where the layout
allows one, else a pass row by row (kept_rows, or stepped_rows for a dataset with a step)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from covid_etl.errors import Blame
from covid_etl.read.days import cut_days
from covid_etl.read.fingerprints import Fingerprinter
from covid_etl.read.layout import Checker, Layout, read_header, read_layout
from covid_etl.read.passes import FilePass, RowPass
from covid_etl.sources.specs import Dataset

# No bound on the dates (a part's scope as the passes take it: ISO bytes, which compare as dates do).
UNBOUNDED = (b"0000-00-00", b"9999-99-99")


@dataclass
class Read:
    """What reading a file gave: its layout, the pass (its days, rows and rows sent) and the COPY lines."""

    layout: Layout
    file_pass: FilePass | RowPass
    data: bytes

    def rows(self) -> list[dict[str, str]]:
        """The COPY lines as the table's columns (an empty string is NULL)."""
        lines = csv.reader(io.StringIO(self.data.decode(), newline=""))
        return [dict(zip(self.layout.copy_columns, line, strict=True)) for line in lines]


def checker_for(dataset: Dataset, header: bytes, location: str = "inline", *, after: bytes = b"") -> Checker:
    """The checks of a file of ``dataset`` whose first line is ``header``."""
    blame = Blame(dataset.label, location)
    return Checker(dataset, read_layout(header, dataset, blame, after=after), blame)


def read_file(dataset: Dataset, body: bytes, location: str = "inline", scope=UNBOUNDED) -> Read:
    """Read ``body`` as a file of ``dataset``; raise its InvalidSourceError."""
    stream = io.BytesIO(body)
    header, after = read_header(stream)
    checker = checker_for(dataset, header, location, after=after)
    if checker.layout.by_day and checker.key_prefix_fields is not None:
        file_pass = FilePass(checker, Fingerprinter(checker.layout.signature()), scope)
        data = b"".join(file_pass.whole(cut_days(stream, first_line=2, offset=len(header))))
    else:
        file_pass = RowPass(checker, scope)
        data = b"".join(file_pass.rows_of(stream, first_line=2))
    return Read(checker.layout, file_pass, data)
