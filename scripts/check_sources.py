"""`make check-sources`: would today's files load? Download the latest publication of every dataset's files
and validate each with the pipeline's one validator (covid_etl.read), without a database or SNS.

The files: NYT's ``us.csv``, JHU's combined series, NYT's ``us-states.csv``, and NYT's county series,
its yearly files (``us-counties-<year>.csv``: those the branch has) or, when none is published, the
single ``us-counties.csv``. Each is what its publisher's branch serves now on GitHub
($COVID_ETL_GITHUB_RAW_URL points elsewhere), or $COVID_ETL_<DATASET>_URL, the dataset's whole file.

Each file is streamed to a temporary file (the county files are ~100 MB), then read as the load task
reads it: the header's layout, a day at a time (cut_days, check_day) or row by row (kept_rows, JHU's
step), with the checks the database makes in a load (a key given twice) made here. Per file it prints
its bytes, sha256, data rows, the rows the pipeline keeps, their date range and the header, then the
same as a JSON line; or the error, and the command exits non-zero once every file was tried.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from covid_etl import config
from covid_etl.errors import Blame, DownloadRejectedError, RejectedInputError
from covid_etl.read.days import Day, cut_days
from covid_etl.read.fingerprints import Fingerprinter
from covid_etl.read.layout import Checker, read_header, read_layout
from covid_etl.read.passes import FilePass, RowPass
from covid_etl.read.rows import kept_rows
from covid_etl.sources.fetch import download_to
from covid_etl.sources.specs import DATASETS, Dataset, Part


def scope(part: Part) -> tuple[bytes, bytes]:
    """The part's dates as ISO bytes, as the passes take them (unbounded: dates compare within)."""
    first, last = part.first_date, part.last_date
    return (
        first.isoformat().encode() if first else b"0000-00-00",
        last.isoformat().encode() if last else b"9999-99-99",
    )


class _Lines:
    """A stream's lines, counting those that are not blank (the file's data rows)."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream, self.rows = stream, 0

    def __iter__(self) -> Iterator[bytes]:
        for line in self.stream:
            self.rows += bool(line.strip())
            yield line


def _keys_checked(days: Iterable[Day], file_pass: FilePass) -> Iterator[Day]:
    """The days, each one's keys checked once the pass has checked its lines (in a load, the table's
    primary key finds a key given twice within a day)."""
    for day in days:
        yield day
        file_pass.day_keys(day)


def _repeated_key(stream: BinaryIO, checker: Checker, first_line: int) -> None:
    """Blame the first key given twice among the kept rows (read again: the database finds it in a load)."""
    dataset = checker.dataset
    key_at = [dataset.column_names.index(name) for name in dataset.key]
    seen: dict[bytes, int] = {}
    for number, line, values in kept_rows(stream, checker, first_line=first_line):
        key = b",".join(values[position] for position in key_at)
        if key in seen:
            raise checker.blame(number, f"{', '.join(dataset.key)} already given on line {seen[key]}", line[:200])
        seen[key] = number


def validate(stream: BinaryIO, dataset: Dataset, part: Part, location: str) -> dict:
    """Read one file of ``dataset`` as a load does; return its rows, kept rows, dates and header."""
    blame = Blame(dataset.label, location)
    header, after = read_header(stream)
    checker = Checker(dataset, read_layout(header, dataset, blame, after=after), blame)
    if checker.layout.by_day and checker.key_prefix_fields is not None:
        file_pass = FilePass(checker, Fingerprinter(checker.layout.signature()), scope(part))
        days = cut_days(stream, first_line=2, offset=len(header))
        for _ in file_pass.whole(_keys_checked(days, file_pass)):
            pass
        rows = file_pass.rows
    else:
        lines = _Lines(stream)
        file_pass = RowPass(checker, scope(part))
        for _ in file_pass.rows_of(lines, first_line=2):
            pass
        if not dataset.step:  # (stepped rows are checked for repeated keys as they are sorted)
            stream.seek(len(header))
            _repeated_key(stream, checker, first_line=2)
        rows = lines.rows
    dates = [day.date for day in file_pass.days if day.rows]
    return {
        "rows": rows,
        "kept": file_pass.rows,
        "first_date": dates[0],
        "last_date": dates[-1],
        "header": header.decode("utf-8-sig").rstrip("\r\n"),
    }


def check(dataset: Dataset, part: Part, url: str) -> dict:
    """Download one file and validate it; return what was found (raises on a fault or a rejected file)."""
    with tempfile.TemporaryFile() as body:
        streamed = download_to(url, body, source=dataset.label)
        body.seek(0)
        found = validate(body, dataset, part, url)
    return {
        "dataset": dataset.name,
        "file": part.path,
        "url": url,
        "bytes": streamed.bytes,
        "sha256": streamed.sha256,
        **found,
    }


OK, FAILED, NOT_PUBLISHED = "ok", "failed", "not published"


def check_file(dataset: Dataset, part: Part, url: str, *, optional: bool = False) -> str:
    """Check one file and print the outcome: OK, FAILED, or NOT_PUBLISHED (an optional file GitHub does
    not serve: a yearly county file of a year not reached)."""
    name = f"{dataset.name} {part.path}"
    try:
        found = check(dataset, part, url)
    except RejectedInputError as exc:
        if optional and isinstance(exc, DownloadRejectedError) and str(exc).endswith(": HTTP 404"):
            print(f"{name}: not published ({url}: HTTP 404)", flush=True)
            return NOT_PUBLISHED
        print(f"{name}: FAILED: {exc}", flush=True)
        return FAILED
    except OSError as exc:
        print(f"{name}: FAILED: {exc}", flush=True)
        return FAILED
    print(
        f"{name}: OK {found['bytes']} bytes, sha256 {found['sha256']}, {found['rows']} rows "
        f"({found['kept']} kept), {found['first_date']} to {found['last_date']}, header {found['header']}",
        flush=True,
    )
    print(json.dumps(found), flush=True)
    return OK


def check_dataset(dataset: Dataset) -> list[str]:
    """Check the dataset's files as a run would load them now: $COVID_ETL_<DATASET>_URL (the whole file),
    else each part at its branch's head; the county series' yearly files where published, else its
    single file."""
    override = config.url_override(dataset.name.upper())
    if override:
        return [check_file(dataset, dataset.whole_file, override)]
    optional = dataset.fallback is not None
    outcomes = [
        check_file(dataset, part, config.live_url(dataset.name, part.path), optional=optional) for part in dataset.parts
    ]
    if optional and all(outcome == NOT_PUBLISHED for outcome in outcomes):
        fallback = dataset.fallback
        outcomes.append(check_file(dataset, fallback, config.live_url(dataset.name, fallback.path)))
    return outcomes


def main() -> int:
    errors = config.setting_errors(os.environ)
    for error in errors:  # a wrong URL setting: one line, before any download
        print(f"make check-sources: {error}", file=sys.stderr)
    if errors:
        return 2
    outcomes = [outcome for dataset in DATASETS.values() for outcome in check_dataset(dataset)]
    return 1 if FAILED in outcomes else 0


if __name__ == "__main__":
    sys.exit(main())
