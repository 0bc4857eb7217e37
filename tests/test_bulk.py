"""The loader for volume (covid_etl/rows.py, covid_etl/bulk.py) on a real PostgreSQL: checks per line,
counts against an independent computation, only changes sent, older publications stale, one transaction.

Expected tables come from the csv module on the fixture files (tests/fixtures/states, counties).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import psycopg
import psycopg2
import pytest

from covid_etl.bulk import StagedFile, load_dataset
from covid_etl.datasets import COUNTIES, STATES, Dataset
from covid_etl.errors import InvalidSourceError
from covid_etl.records import Publication
from covid_etl.rows import DayReader
from support import FIXTURES, fixture_bytes

DRIVERS = [pytest.param(psycopg.connect, id="psycopg3"), pytest.param(psycopg2.connect, id="psycopg2")]
STATES_FILE, COUNTIES_FILE = "states/us-states.csv", "counties/us-counties.csv"


def expected_table(dataset: Dataset, text: str) -> dict[tuple, tuple]:
    """The table a file must give: key -> values, fips '' as None, counts as int (the csv module)."""
    table = {}
    for row in csv.DictReader(io.StringIO(text)):
        key = tuple(row[name] for name in dataset.key)
        table[key] = tuple(
            (int(row[name]) if name in ("cases", "deaths") else (row[name] or None)) for name in dataset.values
        )
    return table


def stored(db_url: str, dataset: Dataset) -> dict[tuple, tuple]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            f"SELECT {', '.join(dataset.key)}, {', '.join(dataset.values)} FROM {dataset.table}"
        ).fetchall()
    width = len(dataset.key)
    return {(row[0].isoformat(), *row[1:width]): tuple(row[width:]) for row in rows}


@pytest.fixture
def stage(tmp_path):
    """Write a file's bytes into the test's staging folder; return its StagedFile."""

    def staged(name: str, body: bytes, *, at: datetime, part: str = "us-states.csv", commit: str | None = None):
        path = tmp_path / name
        path.write_bytes(body)
        sha = __import__("hashlib").sha256(body).hexdigest()
        publication = Publication("NYT", f"http://example/{name}", published_at=at, commit=commit, sha256=sha)
        return StagedFile(part=part, publication=publication, path=str(path))

    return staged


def load(connect, db_url: str, dataset: Dataset, files, run_id: str = "run-1", **options):
    conn = connect(db_url)
    try:
        return load_dataset(
            conn,
            dataset,
            files,
            run_id=run_id,
            started_at=datetime.now(UTC),
            open_file=lambda path: open(path, "rb"),
            **options,
        )
    finally:
        conn.close()


T1, T2, T3 = (datetime(2020, 3, day, 12, tzinfo=UTC) for day in (15, 16, 17))


def revised(text: str) -> str:
    """The fixture with three rows revised and one more day appended (as a later publication would)."""
    lines = text.splitlines()
    for index in (5, 40, 300):
        fields = lines[index].split(",")
        fields[-2] = str(int(fields[-2]) + 7)
        lines[index] = ",".join(fields)
    last_day = [line for line in lines if line.startswith("2020-03-14")]
    lines += [line.replace("2020-03-14", "2020-03-15", 1) for line in last_day]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("connect", DRIVERS)
@pytest.mark.parametrize(
    ("dataset", "name", "part"),
    [
        pytest.param(STATES, STATES_FILE, "us-states.csv", id="states"),
        pytest.param(COUNTIES, COUNTIES_FILE, "us-counties.csv", id="counties"),
    ],
)
def test_a_first_load_copies_every_row_then_a_reload_sends_none(connect, db_url, stage, dataset, name, part):
    body = fixture_bytes(name)
    expected = expected_table(dataset, body.decode())

    first = load(connect, db_url, dataset, [stage("v1.csv", body, at=T1, part=part)])
    assert (first.inserted, first.updated, first.unchanged, first.rows, first.sent) == (
        len(expected),
        0,
        0,
        *[len(expected)] * 2,
    )
    assert stored(db_url, dataset) == expected

    again = load(connect, db_url, dataset, [stage("v2.csv", body + b"", at=T2, part=part)], run_id="run-2")
    assert (again.inserted, again.updated, again.unchanged, again.sent) == (0, 0, len(expected), 0)


@pytest.mark.parametrize("connect", DRIVERS)
def test_a_revised_publication_sends_and_counts_only_its_changes(connect, db_url, stage):
    text = fixture_bytes(COUNTIES_FILE).decode()
    load(connect, db_url, COUNTIES, [stage("v1.csv", text.encode(), at=T1, part="us-counties.csv")])
    new_text = revised(text)
    before, after = expected_table(COUNTIES, text), expected_table(COUNTIES, new_text)
    inserted = sum(1 for key in after if key not in before)
    updated = sum(1 for key in after if key in before and before[key] != after[key])

    result = load(connect, db_url, COUNTIES, [stage("v2.csv", new_text.encode(), at=T2, part="us-counties.csv")], "r2")

    assert (result.inserted, result.updated, result.unchanged) == (inserted, updated, len(after) - inserted - updated)
    assert result.sent == inserted + updated == len(after) - len(before) + 3
    assert stored(db_url, COUNTIES) == after


@pytest.mark.parametrize("connect", DRIVERS)
def test_without_the_held_version_the_database_still_writes_only_what_differs(connect, db_url, stage, tmp_path):
    text = fixture_bytes(STATES_FILE).decode()
    first = stage("v1.csv", text.encode(), at=T1)
    load(connect, db_url, STATES, [first])
    (tmp_path / "v1.csv").unlink()  # the staging store expired it
    new_text = revised(text)
    result = load(connect, db_url, STATES, [stage("v2.csv", new_text.encode(), at=T2)], "r2")
    after = expected_table(STATES, new_text)
    assert result.sent == len(after)  # every row went to the database, which found the changes
    assert (result.inserted, result.updated) == (56, 3)
    assert stored(db_url, STATES) == after


@pytest.mark.parametrize("connect", DRIVERS)
def test_an_older_publication_loses_its_differing_rows_as_stale(connect, db_url, stage):
    text = fixture_bytes(STATES_FILE).decode()
    load(connect, db_url, STATES, [stage("new.csv", revised(text).encode(), at=T2)])
    table = stored(db_url, STATES)

    result = load(connect, db_url, STATES, [stage("old.csv", text.encode(), at=T1)], "r2")

    assert (result.inserted, result.updated, result.stale) == (0, 0, 3)
    assert result.unchanged == len(expected_table(STATES, text)) - 3
    assert stored(db_url, STATES) == table


def test_a_file_whose_sha256_the_table_holds_is_not_read(db_url, stage, tmp_path):
    body = fixture_bytes(STATES_FILE)
    first = stage("v1.csv", body, at=T1)
    load(psycopg.connect, db_url, STATES, [first])
    (tmp_path / "again.csv").write_bytes(b"not even a CSV")
    again = StagedFile(first.part, first.publication, str(tmp_path / "again.csv"))  # same sha256
    result = load(psycopg.connect, db_url, STATES, [again], "r2")
    assert (result.sent, result.unchanged, result.files) == (0, 784, {"us-states.csv": "held already"})


def _broken(name: str, old: str, new: str) -> bytes:
    text = fixture_bytes(name).decode()
    assert old in text
    return text.replace(old, new, 1).encode()


REJECTED = [
    pytest.param(
        STATES_FILE, "2020-03-03,Ohio,39,", "2020-03-03,Ohio,39,-", "cases is not a non-negative integer", id="negative"
    ),
    pytest.param(
        STATES_FILE,
        "2020-03-03,Ohio,39,4,1",
        "2020-03-03,Ohio,39,99999999999999999999,0",
        "beyond PostgreSQL's bigint",
        id="bigint",
    ),
    pytest.param(STATES_FILE, "2020-03-03,Ohio,39,", "2020-03-03,Ohio,3x,", "not a 2- or 5-digit FIPS", id="fips"),
    pytest.param(STATES_FILE, "2020-03-03,Ohio,", "2020-03-03,,", "state is empty", id="empty-state"),
    pytest.param(
        STATES_FILE, "2020-03-03,Ohio,", "2020-03-03,Alabama,", "date, state already given on line 114", id="duplicate"
    ),
    pytest.param(STATES_FILE, "2020-03-03,Ohio,", "2020-03-02,Ohio,", "not in date order", id="unsorted"),
    pytest.param(
        STATES_FILE, "2020-03-03,Ohio,39,4,1", "2020-03-03,Ohio,39,4", "expected 5 fields, found 4", id="truncated"
    ),
    pytest.param(STATES_FILE, "2020-03-03,Ohio,", "2020-02-30,Ohio,", "date is not a date", id="date"),
    pytest.param(
        COUNTIES_FILE,
        "2020-03-02,Alameda,California,06001,",
        "2020-03-02,Alameda,California,6001,",
        "not a 2- or 5-digit FIPS",
        id="county-fips",
    ),
]


@pytest.mark.parametrize(("name", "old", "new", "problem"), REJECTED)
def test_a_malformed_line_is_rejected_naming_it_and_nothing_is_written(db_url, stage, name, old, new, problem):
    dataset = STATES if name == STATES_FILE else COUNTIES
    body = _broken(name, old, new)
    original = fixture_bytes(name).decode().split("\n")
    number = original.index(next(line for line in original if line.startswith(old))) + 1  # the line changed
    with pytest.raises(InvalidSourceError) as caught:
        load(psycopg.connect, db_url, dataset, [stage("bad.csv", body, at=T1)])
    assert caught.value.line == number and problem in str(caught.value)
    assert str(caught.value).startswith(f"{dataset.label} http://example/bad.csv, line {number}")
    with psycopg.connect(db_url) as conn:
        exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (dataset.table,)).fetchone()[0]
        assert not exists or conn.execute(f"SELECT count(*) FROM {dataset.table}").fetchone() == (0,)


def test_a_malformed_line_in_a_revision_is_rejected_and_the_table_keeps_the_held_version(db_url, stage):
    text = fixture_bytes(STATES_FILE).decode()
    load(psycopg.connect, db_url, STATES, [stage("v1.csv", text.encode(), at=T1)])
    table = stored(db_url, STATES)
    bad = revised(text).replace("2020-03-15,Ohio,39,", "2020-03-15,Ohio,39,x", 1)
    with pytest.raises(InvalidSourceError, match="cases is not a non-negative integer: 'x"):
        load(psycopg.connect, db_url, STATES, [stage("v2.csv", bad.encode(), at=T2)], "r2")
    assert stored(db_url, STATES) == table


@pytest.mark.parametrize(
    ("header", "line"),
    [
        pytest.param("deaths,cases,fips,state,date", "0,5,39,Ohio,2020-03-01", id="reordered"),
        pytest.param("date,state,fips,cases,deaths,note", "2020-03-01,Ohio,39,5,0,x", id="extra-column"),
        pytest.param("date,state,fips,cases,deaths", '2020-03-01,"Ohio, the state",39,5,0', id="quoted-comma"),
        pytest.param("date,state,fips,cases,deaths", "2020-03-01,Ohio,39,5,0\r", id="crlf"),
    ],
)
def test_layouts_the_publisher_might_serve_load_with_the_same_values(db_url, stage, header, line):
    body = f"{header}\n{line}\n".encode()
    load(psycopg.connect, db_url, STATES, [stage("v.csv", body, at=T1)])
    [(state, values)] = [(key[1], values) for key, values in stored(db_url, STATES).items()]
    assert state.startswith("Ohio") and values == ("39", 5, 0)


def test_a_git_lfs_pointer_is_not_the_expected_csv(tmp_path):
    pointer = b"version https://git-lfs.github.com/spec/v1\noid sha256:4d7a\nsize 108263547\n"
    with pytest.raises(InvalidSourceError, match="not the expected CSV: a Git LFS pointer"):
        DayReader(io.BytesIO(pointer), COUNTIES, source="NYT counties", location="us-counties.csv")


def test_the_fixtures_keep_the_publishers_shape():
    counties = fixture_bytes(COUNTIES_FILE).decode().splitlines()
    assert counties[0] == "date,county,state,fips,cases,deaths"
    assert any(line.endswith(",New York,,") or ",New York City,New York,," in line for line in counties)
    assert any(",06001," in line for line in counties)  # leading zeros kept
    assert (FIXTURES / "states" / "us-states.csv").read_text().startswith("date,state,fips,cases,deaths\n")
