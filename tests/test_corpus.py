"""The input corpus (tests/fixtures/corpus, written by its generate.py): every file with what the pipeline
must make of it — accepted with exactly so many rows and days, or rejected naming the line and value.

Each file goes through the code its task runs: the national files staged and parsed by
steps.parse_nyt_file / parse_jhu_file (which decode the staged bytes), the states and counties files
loaded by bulk.load_dataset into an empty table of a throwaway PostgreSQL database (rows.DayReader's
checks, then COPY).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
import pytest

from covid_etl.bulk import StagedFile, load_dataset
from covid_etl.datasets import COUNTIES, STATES
from covid_etl.errors import SHOWN_VALUE, InvalidSourceError
from covid_etl.records import Publication
from covid_etl.steps import parse_jhu_file, parse_nyt_file, staged_path
from support import FIXTURES, fixture_bytes

CORPUS = FIXTURES / "corpus"


def _generator():
    spec = importlib.util.spec_from_file_location("corpus_generate", CORPUS / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate = _generator()


@dataclass(frozen=True)
class Accepted:
    """The file loads: this many rows (for the national files, days) over this many days."""

    rows: int
    days: int


@dataclass(frozen=True)
class Rejected:
    """The file is rejected at this line (None: the whole file), showing this value, with this problem."""

    line: int | None
    value: str | None
    problem: str


NOT_A_COUNT = "is not a non-negative integer"
BEYOND_BIGINT = "is beyond PostgreSQL's bigint"
NOT_UTF8 = "not UTF-8 text"
GZIP = "1f 8b 08 00 00 00 00 00"
LFS = "version https://git-lfs.github.com/spec/v1"

CASES = [
    # NYT national series (steps.parse_nyt_file)
    pytest.param("nyt/crlf-line-endings.csv", Accepted(3, 3), id="nyt-crlf-line-endings"),
    pytest.param("nyt/utf-8-bom.csv", Accepted(3, 3), id="nyt-utf-8-bom"),
    pytest.param("nyt/extra-columns.csv", Accepted(3, 3), id="nyt-extra-columns"),
    pytest.param("nyt/quoted-numbers.csv", Accepted(3, 3), id="nyt-quoted-numbers"),
    pytest.param("nyt/blank-lines.csv", Accepted(3, 3), id="nyt-blank-lines"),
    pytest.param("nyt/no-trailing-newline.csv", Accepted(3, 3), id="nyt-no-trailing-newline"),
    pytest.param("nyt/counts-go-down.csv", Accepted(3, 3), id="nyt-counts-go-down"),
    pytest.param(
        "nyt/utf-16-with-bom.csv",
        Rejected(1, "ff fe 64 00 61 00 74 00", "UTF-16 text (byte-order mark ff fe), not UTF-8"),
        id="nyt-utf-16-with-bom",
    ),
    pytest.param("nyt/exponent.csv", Rejected(3, "1e3", f"cases {NOT_A_COUNT}"), id="nyt-exponent"),
    pytest.param("nyt/spaces-around-count.csv", Rejected(3, " 106 ", f"cases {NOT_A_COUNT}"), id="nyt-spaces-around"),
    pytest.param("nyt/nul-byte.csv", Rejected(3, "2020-03-02,106,6\x00", "a NUL byte"), id="nyt-nul-byte"),
    pytest.param(
        "nyt/json-body.csv",
        Rejected(1, '{"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}', "a JSON body"),
        id="nyt-json-body",
    ),
    pytest.param("nyt/git-lfs-pointer.csv", Rejected(1, LFS, "a Git LFS pointer"), id="nyt-git-lfs-pointer"),
    pytest.param(
        "nyt/html-page.csv", Rejected(1, "<!DOCTYPE html>", "not the expected CSV: an HTML page"), id="nyt-html-page"
    ),
    pytest.param("nyt/empty.csv", Rejected(None, None, "the file is empty"), id="nyt-empty"),
    pytest.param(
        "nyt/huge-single-line.csv",
        Rejected(1, generate.HUGE_NYT_LINE, "not the expected CSV: the header lacks deaths"),
        id="nyt-huge-single-line",
    ),
    pytest.param(
        "nyt/beyond-bigint.csv", Rejected(4, "99999999999999999999", f"cases {BEYOND_BIGINT}"), id="nyt-beyond-bigint"
    ),
    pytest.param(
        "nyt/arabic-indic-digit.csv", Rejected(2, "\u0662", f"deaths {NOT_A_COUNT}"), id="nyt-non-ascii-digit"
    ),
    pytest.param("nyt/blank-count.csv", Rejected(3, "", f"cases {NOT_A_COUNT}"), id="nyt-blank-count"),
    pytest.param("nyt/bad-date.csv", Rejected(3, "2020-02-30", "date is not a date"), id="nyt-bad-date"),
    pytest.param(
        "nyt/duplicate-date.csv", Rejected(4, "2020-03-01", "already given on line 2"), id="nyt-duplicate-date"
    ),
    pytest.param(
        "nyt/truncated-last-row.csv",
        Rejected(4, "2020-03-03,12", "expected 3 fields, found 2"),
        id="nyt-truncated-last-row",
    ),
    # JHU combined series, US national rows (steps.parse_jhu_file)
    pytest.param("jhu/utf-8-bom.csv", Accepted(3, 3), id="jhu-utf-8-bom"),
    pytest.param("jhu/reordered-columns.csv", Accepted(3, 3), id="jhu-reordered-columns"),
    pytest.param("jhu/old-layout-with-lat-long.csv", Accepted(3, 3), id="jhu-extra-columns-old-layout"),
    pytest.param("jhu/blank-lines.csv", Accepted(3, 3), id="jhu-blank-lines"),
    pytest.param("jhu/no-trailing-newline.csv", Accepted(3, 3), id="jhu-no-trailing-newline"),
    pytest.param(
        "jhu/utf-16-without-bom.csv",
        Rejected(1, "44 00 61 00 74 00 65 00", "UTF-16 text without a byte-order mark, not UTF-8"),
        id="jhu-utf-16-without-bom",
    ),
    pytest.param(
        "jhu/latin-1.csv",
        Rejected(2, "2020-03-01,C\ufffdte d'Ivoire,,1,0,0", f"{NOT_UTF8} (byte 0xf4"),
        id="jhu-latin-1",
    ),
    pytest.param("jhu/decimal-count.csv", Rejected(5, "7.0", f"Recovered {NOT_A_COUNT}"), id="jhu-decimal"),
    pytest.param("jhu/dot-thousands.csv", Rejected(6, "1.234", f"Recovered {NOT_A_COUNT}"), id="jhu-dot-thousands"),
    pytest.param("jhu/gzip-body.csv", Rejected(1, GZIP, "a gzip body"), id="jhu-gzip-body"),
    pytest.param("jhu/header-only.csv", Rejected(None, None, "no US national rows"), id="jhu-header-only"),
    pytest.param(
        "jhu/beyond-bigint.csv",
        Rejected(3, "99999999999999999999", f"Recovered {BEYOND_BIGINT}"),
        id="jhu-beyond-bigint",
    ),
    pytest.param("jhu/negative-count.csv", Rejected(5, "-7", f"Recovered {NOT_A_COUNT}"), id="jhu-negative"),
    pytest.param(
        "jhu/missing-column.csv",
        Rejected(1, "Date,Country/Region,Province/State,Confirmed,Deaths", "the header lacks Recovered"),
        id="jhu-missing-column",
    ),
    pytest.param(
        "jhu/duplicate-date.csv", Rejected(6, "2020-03-02", "already given on line 5"), id="jhu-duplicate-date"
    ),
    pytest.param(
        "jhu/truncated-last-row.csv",
        Rejected(6, "2020-03-03,US,,12", "expected 6 fields, found 4"),
        id="jhu-truncated-last-row",
    ),
    # NYT states (bulk.load_dataset)
    pytest.param("states/crlf-line-endings.csv", Accepted(6, 3), id="states-crlf-line-endings"),
    pytest.param("states/reordered-columns.csv", Accepted(6, 3), id="states-reordered-columns"),
    pytest.param("states/quoted-numbers.csv", Accepted(6, 3), id="states-quoted-numbers"),
    pytest.param("states/blank-lines.csv", Accepted(6, 3), id="states-blank-lines"),
    pytest.param("states/no-trailing-newline.csv", Accepted(6, 3), id="states-no-trailing-newline"),
    pytest.param("states/counts-go-down.csv", Accepted(6, 3), id="states-counts-go-down"),
    pytest.param("states/largest-bigint.csv", Accepted(6, 3), id="states-largest-bigint"),
    pytest.param(
        "states/utf-16-be-with-bom.csv",
        Rejected(1, "fe ff 00 64 00 61 00 74", "UTF-16 text (byte-order mark fe ff), not UTF-8"),
        id="states-utf-16-with-bom",
    ),
    pytest.param(
        "states/quoted-thousands.csv", Rejected(5, "1,234", f"cases {NOT_A_COUNT}"), id="states-quoted-thousands"
    ),
    pytest.param("states/decimal-count.csv", Rejected(5, "27.0", f"cases {NOT_A_COUNT}"), id="states-decimal"),
    pytest.param(
        "states/space-inside-count.csv", Rejected(7, "1 234", f"cases {NOT_A_COUNT}"), id="states-space-inside-count"
    ),
    pytest.param(
        "states/nul-byte.csv", Rejected(4, "2020-03-02,New\x00York,36,1,0", "a NUL byte"), id="states-nul-byte"
    ),
    pytest.param(
        "states/html-page.csv",
        Rejected(1, "<!DOCTYPE html>", "not the expected CSV: an HTML page"),
        id="states-html-page",
    ),
    pytest.param("states/header-only.csv", Rejected(None, None, "no data rows"), id="states-header-only"),
    pytest.param(
        "states/huge-single-line.csv",
        Rejected(2, generate.HUGE_COUNT, f"cases {BEYOND_BIGINT}"),
        id="states-huge-single-line",
    ),
    pytest.param(
        "states/beyond-bigint.csv",
        Rejected(3, "99999999999999999999", f"cases {BEYOND_BIGINT}"),
        id="states-beyond-bigint",
    ),
    pytest.param("states/blank-count.csv", Rejected(5, "", f"cases {NOT_A_COUNT}"), id="states-blank-count"),
    pytest.param(
        "states/duplicate-key.csv",
        Rejected(5, "2020-03-02,New York,36,27,9", "date, state already given on line 4"),
        id="states-duplicate-key",
    ),
    pytest.param(
        "states/dates-out-of-order.csv",
        Rejected(4, "2020-03-01", "rows are not in date order: date before 2020-03-02"),
        id="states-dates-out-of-order",
    ),
    pytest.param("states/bad-fips.csv", Rejected(3, "5x", "not a 2- or 5-digit FIPS code"), id="states-bad-fips"),
    pytest.param(
        "states/truncated-last-row.csv",
        Rejected(7, "2020-03-03,Washington,53,3", "expected 5 fields, found 4"),
        id="states-truncated-last-row",
    ),
    pytest.param(
        "states/reordered-truncated-last-row.csv",
        Rejected(7, "10,39", "expected 5 fields, found 2"),
        id="states-reordered-truncated-last-row",
    ),
    # NYT counties (bulk.load_dataset)
    pytest.param("counties/utf-8-names.csv", Accepted(6, 3), id="counties-utf-8-names"),
    pytest.param("counties/utf-8-bom.csv", Accepted(6, 3), id="counties-utf-8-bom"),
    pytest.param("counties/crlf-line-endings.csv", Accepted(6, 3), id="counties-crlf-line-endings"),
    pytest.param("counties/extra-columns.csv", Accepted(6, 3), id="counties-extra-columns"),
    pytest.param("counties/quoted-numbers.csv", Accepted(6, 3), id="counties-quoted-numbers"),
    pytest.param("counties/blank-lines.csv", Accepted(6, 3), id="counties-blank-lines"),
    pytest.param("counties/blank-lines-extra-columns.csv", Accepted(6, 3), id="counties-blank-lines-extra-columns"),
    pytest.param(
        "counties/utf-16-be-without-bom.csv",
        Rejected(1, "00 64 00 61 00 74 00 65", "UTF-16 text without a byte-order mark, not UTF-8"),
        id="counties-utf-16-without-bom",
    ),
    pytest.param(
        "counties/utf-32-with-bom.csv",
        Rejected(1, "ff fe 00 00 64 00 00 00", "UTF-32 text (byte-order mark ff fe 00 00), not UTF-8"),
        id="counties-utf-32-with-bom",
    ),
    pytest.param(
        "counties/latin-1.csv",
        Rejected(4, "2020-03-02,Do\ufffda Ana,New Mexico,35013,1,0", f"{NOT_UTF8} (byte 0xf1"),
        id="counties-latin-1",
    ),
    pytest.param(
        "counties/dot-thousands.csv", Rejected(5, "1.234", f"cases {NOT_A_COUNT}"), id="counties-dot-thousands"
    ),
    pytest.param("counties/exponent.csv", Rejected(7, "5e0", f"cases {NOT_A_COUNT}"), id="counties-exponent"),
    pytest.param("counties/json-body.csv", Rejected(1, "[", "a JSON body"), id="counties-json-body"),
    pytest.param("counties/gzip-body.csv", Rejected(1, GZIP, "a gzip body"), id="counties-gzip-body"),
    pytest.param("counties/git-lfs-pointer.csv", Rejected(1, LFS, "a Git LFS pointer"), id="counties-git-lfs-pointer"),
    pytest.param("counties/empty.csv", Rejected(None, None, "the file is empty"), id="counties-empty"),
    pytest.param(
        "counties/arabic-indic-digit.csv",
        Rejected(3, "\u0661", f"cases {NOT_A_COUNT}"),
        id="counties-non-ascii-digit",
    ),
    pytest.param("counties/negative-count.csv", Rejected(7, "-1", f"deaths {NOT_A_COUNT}"), id="counties-negative"),
    pytest.param(
        "counties/missing-column.csv",
        Rejected(1, "date,county,state,cases,deaths", "the header lacks fips"),
        id="counties-missing-column",
    ),
    pytest.param(
        "counties/duplicate-key.csv",
        Rejected(6, "2020-03-02,Snohomish,Washington,53061,4,0", "date, state, county already given on line 5"),
        id="counties-duplicate-key",
    ),
    pytest.param("counties/bad-date.csv", Rejected(2, "2020-02-30", "date is not a date"), id="counties-bad-date"),
    pytest.param(
        "counties/dates-out-of-order.csv",
        Rejected(4, "2020-03-01", "rows are not in date order: date before 2020-03-03"),
        id="counties-dates-out-of-order",
    ),
    pytest.param("counties/bad-fips.csv", Rejected(4, "3513", "not a 2- or 5-digit FIPS code"), id="counties-bad-fips"),
    pytest.param(
        "counties/truncated-last-row.csv",
        Rejected(7, "2020-03-03,Snohomish,Washington", "expected 6 fields, found 3"),
        id="counties-truncated-last-row",
    ),
]
DATASETS = {"states": STATES, "counties": COUNTIES}
NATIONAL = {"nyt": ("NYT", parse_nyt_file), "jhu": ("JHU", parse_jhu_file)}
# How errors name each folder's source.
LABELS = {"nyt": "NYT", "jhu": "JHU", "states": STATES.label, "counties": COUNTIES.label}


def read_national(name: str, body: bytes, tmp_path) -> Accepted:
    """Stage the body as fetch_to_staging does, then run the parse task's step on it."""
    from airflow.sdk import ObjectStoragePath

    source, parse = NATIONAL[name.split("/")[0]]
    staging_uri, run_id = (tmp_path / "staging").as_uri(), "corpus"
    path = staged_path(staging_uri, run_id, f"{source.lower()}.csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    publication = Publication(source=source, url=f"corpus/{name}", published_at=datetime(2023, 3, 24, tzinfo=UTC))
    staged = {
        **publication.to_json(),
        "sha256": hashlib.sha256(body).hexdigest(),
        "bytes": len(body),
        "path": str(path),
    }
    parsed = parse(staged, staging_uri=staging_uri, run_id=run_id)
    days = ObjectStoragePath(parsed["days_path"]).read_text().splitlines()[1:]  # what the merge task reads
    return Accepted(len(days), len({day.split(",")[0] for day in days}))


def read_dataset(name: str, body: bytes, tmp_path, db_url: str) -> Accepted:
    """Load the body into an empty table with bulk.load_dataset (rows.DayReader's checks, then COPY, where
    the database finds a key given twice): the rows inserted and the days they cover."""
    dataset = DATASETS[name.split("/")[0]]
    path = tmp_path / "staged.csv"
    path.write_bytes(body)
    publication = Publication(
        dataset.label,
        f"corpus/{name}",
        published_at=datetime(2023, 3, 24, tzinfo=UTC),
        sha256=hashlib.sha256(body).hexdigest(),
    )
    staged = StagedFile(part=dataset.parts[0].path, publication=publication, path=str(path))
    with psycopg.connect(db_url) as conn:
        result = load_dataset(
            conn, dataset, [staged], run_id="corpus", started_at=datetime.now(UTC), open_file=lambda at: open(at, "rb")
        )
        [days] = conn.execute(f"SELECT count(DISTINCT date) FROM {dataset.table}").fetchone()
    return Accepted(result.inserted, days)


def outcome(name: str, request, tmp_path) -> Accepted | InvalidSourceError:
    """What the pipeline makes of the corpus file: how many rows and days it loads, or its rejection."""
    body = fixture_bytes(f"corpus/{name}")
    try:
        if name.split("/")[0] in NATIONAL:
            return read_national(name, body, tmp_path)
        return read_dataset(name, body, tmp_path, request.getfixturevalue("db_url"))  # a database of its own
    except InvalidSourceError as error:
        return error


@pytest.mark.parametrize(("name", "expected"), CASES)
def test_each_corpus_file_is_accepted_or_rejected_as_its_case_says(name, expected, request, tmp_path):
    found = outcome(name, request, tmp_path)
    if isinstance(expected, Accepted):
        assert found == expected
        return
    assert isinstance(found, InvalidSourceError), f"accepted, expected {expected}"
    assert (found.line, found.value) == (expected.line, expected.value)
    assert expected.problem in found.problem
    message = str(found)
    line = "" if expected.line is None else f", line {expected.line}"
    where = f"{LABELS[name.split('/')[0]]} corpus/{name}{line}"
    assert message.startswith(f"{where}: {found.problem}")
    assert len(message) < len(where) + len(found.problem) + SHOWN_VALUE + 40  # a huge value is cut short


def test_the_corpus_has_both_outcomes_for_every_source():
    kinds = {(name.split("/")[0], type(expected)) for name, expected in (case.values for case in CASES)}
    assert kinds == {(source, kind) for source in LABELS for kind in (Accepted, Rejected)}


def _contents(body: bytes) -> bytes:
    """What a file holds: gzip output may differ between zlib builds, what it decompresses to does not."""
    return gzip.decompress(body) if body.startswith(b"\x1f\x8b") else body


def test_the_corpus_on_disk_is_what_generate_py_writes_and_the_table_covers_it():
    written = generate.cases()
    on_disk = {path.relative_to(CORPUS).as_posix(): path.read_bytes() for path in CORPUS.glob("*/*.csv*")}
    assert sorted(on_disk) == sorted(written)
    assert all(_contents(on_disk[name]) == _contents(body) for name, body in written.items())
    assert sorted(name.removesuffix(".gz") for name in written) == sorted(case.values[0] for case in CASES)
