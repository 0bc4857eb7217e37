"""The input corpus (tests/fixtures/corpus, written by its generate.py): every file with what the pipeline
makes of it — accepted with exactly so many rows and days, or rejected naming the line and the value.

Every file goes through the one loader (covid_etl.load.loader.load_publication, as the load task calls
it) into a fresh database: NYT's us.csv files as dataset ``nyt``, JHU's combined files as ``jhu``, and
the states and counties files as theirs. A rejected file leaves that database without a row.
"""

from __future__ import annotations

import gzip
import importlib.util
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from covid_etl.errors import SHOWN_VALUE, InvalidSourceError
from covid_etl.sources.specs import DATASETS
from loads import fixture_file, load_file, query
from support import FIXTURES

CORPUS = FIXTURES / "corpus"


def _generator():
    spec = importlib.util.spec_from_file_location("corpus_generate", CORPUS / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate = _generator()


@dataclass(frozen=True)
class Accepted:
    """The file loads this many rows over this many days (for JHU: the US national rows kept)."""

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
    # NYT national series: dataset nyt
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
    # The header is read up to 1 MiB; the error keeps its first 200 characters.
    pytest.param(
        "nyt/huge-single-line.csv",
        Rejected(1, generate.HUGE_NYT_LINE[:200], "not the expected CSV: the header lacks deaths"),
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
    # A date repeated after a later one breaks the date order; one repeated at once is a key given twice,
    # and the value shown is the line.
    pytest.param(
        "nyt/duplicate-date.csv",
        Rejected(4, "2020-03-01", "rows are not in date order: date before 2020-03-02"),
        id="nyt-duplicate-date",
    ),
    pytest.param(
        "nyt/repeated-date.csv",
        Rejected(3, "2020-03-01,106,6", "date already given on line 2"),
        id="nyt-repeated-date",
    ),
    pytest.param(
        "nyt/truncated-last-row.csv",
        Rejected(4, "2020-03-03,12", "expected 3 fields, found 2"),
        id="nyt-truncated-last-row",
    ),
    # JHU combined series, its US national rows: dataset jhu
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
        "jhu/duplicate-date.csv",
        Rejected(6, "2020-03-02,US,,122,8,9", "date already given on line 5"),
        id="jhu-duplicate-date",
    ),
    pytest.param(
        "jhu/truncated-last-row.csv",
        Rejected(6, "2020-03-03,US,,12", "expected 6 fields, found 4"),
        id="jhu-truncated-last-row",
    ),
    # NYT states: dataset states
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
    # NYT counties: dataset counties
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
# Each corpus folder is a dataset of covid_etl/sources/specs.py.
FOLDERS = ("nyt", "jhu", "states", "counties")
# What a rejected load must not have written: the dataset's table and history, and the shared records.
WRITTEN = (
    "{table}",
    "{table}_changes",
    "dataset_publications",
    "dataset_fingerprints",
    "dataset_fingerprinted",
    "etl_runs",
)


def outcome(name: str, db_url: str, tmp_path) -> Accepted | InvalidSourceError:
    """What the one loader makes of the corpus file: the rows it loads and the days they cover, or its
    rejection."""
    dataset = DATASETS[name.split("/")[0]]
    path = fixture_file(f"corpus/{name}", tmp_path)  # a .csv.gz fixture is written out decompressed
    try:
        result = load_file(db_url, dataset.name, path, at=datetime(2023, 3, 24, tzinfo=UTC), commit="corpus")
    except InvalidSourceError as error:
        return error
    [(rows, days)] = query(db_url, f"SELECT count(*), count(DISTINCT date) FROM {dataset.table}")
    assert (result.inserted, result.rows) == (rows, rows)
    return Accepted(rows, days)


def written_rows(db_url: str, name: str) -> dict[str, int]:
    table = DATASETS[name.split("/")[0]].table
    return {t: query(db_url, f"SELECT count(*) FROM {t}")[0][0] for t in (w.format(table=table) for w in WRITTEN)}


@pytest.mark.parametrize(("name", "expected"), CASES)
def test_each_corpus_file_is_accepted_or_rejected_as_its_case_says(name, expected, db_url, tmp_path):
    found = outcome(name, db_url, tmp_path)
    if isinstance(expected, Accepted):
        assert found == expected
        return
    assert isinstance(found, InvalidSourceError), f"accepted, expected {expected}"
    assert (found.line, found.value) == (expected.line, expected.value)
    assert expected.problem in found.problem
    message = str(found)
    line = "" if expected.line is None else f", line {expected.line}"
    where = f"{DATASETS[name.split('/')[0]].label} file://{tmp_path / name.split('/')[1]}{line}"
    assert message.startswith(f"{where}: {found.problem}")
    assert len(message) < len(where) + len(found.problem) + SHOWN_VALUE + 40  # a huge value is cut short
    assert set(written_rows(db_url, name).values()) == {0}, "a rejected file wrote rows"


def test_the_corpus_has_both_outcomes_for_every_dataset():
    kinds = {(name.split("/")[0], type(expected)) for name, expected in (case.values for case in CASES)}
    assert kinds == {(folder, kind) for folder in FOLDERS for kind in (Accepted, Rejected)}


def _contents(body: bytes) -> bytes:
    """What a file holds: gzip output may differ between zlib builds, what it decompresses to does not."""
    return gzip.decompress(body) if body.startswith(b"\x1f\x8b") else body


def test_the_corpus_on_disk_is_what_generate_py_writes_and_the_table_covers_it():
    written = generate.cases()
    on_disk = {path.relative_to(CORPUS).as_posix(): path.read_bytes() for path in CORPUS.glob("*/*.csv*")}
    assert sorted(on_disk) == sorted(written)
    assert all(_contents(on_disk[name]) == _contents(body) for name, body in written.items())
    assert sorted(name.removesuffix(".gz") for name in written) == sorted(case.values[0] for case in CASES)
