"""States and counties through the one loader on a real PostgreSQL, psycopg 3 and psycopg2: the exact
table after a load, only changed lines sent, older publications stale, malformed lines rejected naming
them with nothing written. (Their history, as-of answers and deleted keys: test_history.py.)

Expected tables come from the csv module on the fixture files (tests/fixtures/states, counties).
"""

from __future__ import annotations

import csv
import io
import logging
from datetime import UTC, date, datetime, timedelta

import psycopg
import psycopg2
import pytest

from covid_etl.errors import InvalidSourceError
from covid_etl.load.loader import StagedFile, load_publication
from covid_etl.records import Publication
from covid_etl.sources.specs import COUNTIES, STATES, Dataset
from loads import query
from support import FIXTURES, fixture_bytes

DRIVERS = [pytest.param(psycopg.connect, id="psycopg3"), pytest.param(psycopg2.connect, id="psycopg2")]
STATES_FILE, COUNTIES_FILE = "states/us-states.csv", "counties/us-counties.csv"
T1, T2, T3 = (datetime(2020, 3, day, 12, tzinfo=UTC) for day in (15, 16, 17))


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
    rows = query(db_url, f"SELECT {', '.join(dataset.key)}, {', '.join(dataset.values)} FROM {dataset.table}")
    width = len(dataset.key)
    return {(row[0].isoformat(), *row[1:width]): tuple(row[width:]) for row in rows}


@pytest.fixture
def stage(tmp_path):
    """Write a publication's bytes into the test's staging folder; return its StagedFile."""

    def staged(name: str, body: bytes, *, dataset: Dataset = STATES, at: datetime, commit: str | None = None):
        path = tmp_path / name
        path.write_bytes(body)
        part = dataset.whole_file.path
        return StagedFile(Publication(dataset.name, part, f"http://example/{name}", at, commit or name), str(path))

    return staged


def load(connect, db_url: str, dataset: Dataset, files, run_id: str = "run-1", **options):
    conn = connect(db_url)
    try:
        return load_publication(
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
    ("dataset", "name"),
    [pytest.param(STATES, STATES_FILE, id="states"), pytest.param(COUNTIES, COUNTIES_FILE, id="counties")],
)
def test_a_first_load_copies_every_row_then_an_unchanged_publication_sends_none(connect, db_url, stage, dataset, name):
    body = fixture_bytes(name)
    expected = expected_table(dataset, body.decode())

    first = load(connect, db_url, dataset, [stage("v1.csv", body, dataset=dataset, at=T1)])
    assert (first.inserted, first.updated, first.unchanged, first.rows, first.sent) == (
        len(expected),
        0,
        0,
        *[len(expected)] * 2,
    )
    assert stored(db_url, dataset) == expected

    again = load(connect, db_url, dataset, [stage("v2.csv", body, dataset=dataset, at=T2)], run_id="run-2")
    assert (again.inserted, again.updated, again.deleted, again.unchanged, again.sent) == (0, 0, 0, len(expected), 0)
    assert stored(db_url, dataset) == expected


def test_a_missing_fips_is_stored_as_null_and_leading_zeros_are_kept(db_url, stage):
    load(psycopg.connect, db_url, COUNTIES, [stage("v1.csv", fixture_bytes(COUNTIES_FILE), dataset=COUNTIES, at=T1)])
    fips = dict(query(db_url, "SELECT county, fips FROM covid_us_county_daily WHERE date = '2020-03-14'"))
    assert fips["New York City"] is None and fips["Alameda"] == "06001"
    assert query(db_url, "SELECT count(*) FROM covid_us_county_daily WHERE fips = ''") == [(0,)]


@pytest.mark.parametrize("connect", DRIVERS)
def test_a_revised_publication_counts_only_its_changes_and_sends_only_a_little(connect, db_url, stage):
    text = fixture_bytes(COUNTIES_FILE).decode()
    load(connect, db_url, COUNTIES, [stage("v1.csv", text.encode(), dataset=COUNTIES, at=T1)])
    new_text = revised(text)
    before, after = expected_table(COUNTIES, text), expected_table(COUNTIES, new_text)
    inserted = sum(1 for key in after if key not in before)
    updated = sum(1 for key in after if key in before and before[key] != after[key])

    result = load(connect, db_url, COUNTIES, [stage("v2.csv", new_text.encode(), dataset=COUNTIES, at=T2)], "r2")

    assert (result.inserted, result.updated, result.deleted) == (inserted, updated, 0) and updated == 3
    assert result.unchanged == len(after) - inserted - updated
    # The new day's lines, and the lines of the three revised rows' chunks (about a dozen lines each).
    assert inserted + updated <= result.sent <= inserted + 3 * 20 < len(after) / 10
    assert stored(db_url, COUNTIES) == after


@pytest.mark.parametrize("connect", DRIVERS)
@pytest.mark.parametrize("how", ["compare-off", "hand-edited"])
def test_without_fingerprints_every_row_is_sent_and_the_database_writes_only_what_differs(connect, db_url, stage, how):
    text = fixture_bytes(STATES_FILE).decode()
    load(connect, db_url, STATES, [stage("v1.csv", text.encode(), at=T1)])
    if how == "hand-edited":  # a statement outside a load voids the fingerprints (and the table is now wrong)
        with psycopg.connect(db_url) as conn:
            conn.execute("UPDATE covid_us_state_daily SET cases = cases + 1 WHERE state = 'Ohio'")
        assert query(db_url, "SELECT count(*) FROM dataset_fingerprints") == [(0,)]
    new_text = revised(text)
    result = load(
        connect, db_url, STATES, [stage("v2.csv", new_text.encode(), at=T2)], "r2", compare=how != "compare-off"
    )
    after = expected_table(STATES, new_text)
    edited = 14 if how == "hand-edited" else 0  # Ohio's rows of the 14 days, put right
    assert result.sent == len(after)  # every row went to the database, which found the changes
    assert (result.inserted, result.updated) == (56, 3 + edited)
    assert stored(db_url, STATES) == after


@pytest.mark.parametrize("connect", DRIVERS)
def test_an_older_publication_loses_its_differing_rows_as_stale(connect, db_url, stage):
    text = fixture_bytes(STATES_FILE).decode()
    load(connect, db_url, STATES, [stage("new.csv", revised(text).encode(), at=T2)])
    table = stored(db_url, STATES)

    result = load(connect, db_url, STATES, [stage("old.csv", text.encode(), at=T1)], "r2")

    assert (result.inserted, result.updated, result.deleted, result.stale) == (0, 0, 0, 3)
    assert result.unchanged == len(expected_table(STATES, text)) - 3
    assert stored(db_url, STATES) == table


def test_a_publication_loaded_before_is_not_read_again_and_one_held_already_not_downloaded(db_url, stage, tmp_path):
    first = stage("v1.csv", fixture_bytes(STATES_FILE), at=T1, commit="c1")
    load(psycopg.connect, db_url, STATES, [first])
    table = stored(db_url, STATES)
    (tmp_path / "again.csv").write_bytes(b"not even a CSV")
    again = StagedFile(first.publication, str(tmp_path / "again.csv"))  # the same commit
    result = load(psycopg.connect, db_url, STATES, [again], "r2")
    assert (result.sent, result.rows, result.files) == (0, 0, {"us-states.csv": "loaded before: not read again"})
    held = load(psycopg.connect, db_url, STATES, [StagedFile(first.publication, None)], "r3")
    assert (held.sent, held.files) == (0, {"us-states.csv": "held already: not downloaded"})
    assert stored(db_url, STATES) == table


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


@pytest.mark.parametrize("connect", DRIVERS)
@pytest.mark.parametrize(("name", "old", "new", "problem"), REJECTED)
def test_a_malformed_line_is_rejected_naming_it_and_nothing_is_written(connect, db_url, stage, name, old, new, problem):
    dataset = STATES if name == STATES_FILE else COUNTIES
    body = _broken(name, old, new)
    original = fixture_bytes(name).decode().split("\n")
    number = original.index(next(line for line in original if line.startswith(old))) + 1  # the line changed
    with pytest.raises(InvalidSourceError) as caught:
        load(connect, db_url, dataset, [stage("bad.csv", body, dataset=dataset, at=T1)])
    assert caught.value.line == number and problem in str(caught.value)
    assert str(caught.value).startswith(f"{dataset.label} http://example/bad.csv, line {number}")
    tables = (dataset.table, f"{dataset.table}_changes", "dataset_publications", "dataset_fingerprints", "etl_runs")
    assert [query(db_url, f"SELECT count(*) FROM {table}") for table in tables] == [[(0,)]] * len(tables)


def _counties_file(days: int, counties: int = 3000) -> bytes:
    """A county file of many megabytes: more than the first load's COPY reads at a time, many times."""
    lines = [b"date,county,state,fips,cases,deaths"]
    for day in range(days):
        when = date(2020, 3, 1) + timedelta(days=day)
        lines += [b"%s,County %d,State,,%d,0" % (when.isoformat().encode(), n, day) for n in range(counties)]
    return b"\n".join(lines) + b"\n"


@pytest.mark.parametrize("connect", DRIVERS)
@pytest.mark.parametrize(
    "line",
    [pytest.param(3, id="early-while-the-copy-runs"), pytest.param(299_999, id="late-after-the-copy-ended")],
)
def test_a_malformed_line_of_a_large_first_load_stops_the_copy_beside_it_and_nothing_is_written(
    connect, db_url, stage, line
):
    lines = _counties_file(days=100).split(b"\n")
    lines[line - 1] = lines[line - 1].replace(b",State,,", b",State,,x", 1)
    with pytest.raises(InvalidSourceError) as caught:
        load(connect, db_url, COUNTIES, [stage("big.csv", b"\n".join(lines), dataset=COUNTIES, at=T1)])
    assert caught.value.line == line and "cases is not a non-negative integer: 'x" in str(caught.value)
    tables = (COUNTIES.table, "dataset_publications", "dataset_fingerprints", "etl_runs")
    assert [query(db_url, f"SELECT count(*) FROM {table}") for table in tables] == [[(0,)]] * len(tables)


@pytest.mark.parametrize("connect", DRIVERS)
@pytest.mark.parametrize(
    ("every", "comparisons"),
    [
        pytest.param(100, "many", id="a-few-rows-a-day-each-batch-looked-up-as-sent"),
        pytest.param(2, "one", id="most-rows-compared-at-the-end-in-one-statement"),
    ],
)
def test_a_large_revision_is_compared_in_batches_and_a_malformed_line_late_in_it_changes_nothing(
    connect, db_url, stage, caplog, every, comparisons
):
    body = _counties_file(days=30)  # 90,000 rows, 2.9 MB: changed lines of the sparse revision fill 2 batches
    load(connect, db_url, COUNTIES, [stage("v1.csv", body, dataset=COUNTIES, at=T1)])
    lines = body.split(b"\n")
    for number in range(2, len(lines) - 1, every):  # deaths revised over every day (lines keep their length)
        lines[number - 1] = lines[number - 1][:-1] + b"1"
    revision = b"\n".join(lines)
    caplog.set_level(logging.DEBUG, logger="covid_etl.load.loader")
    result = load(connect, db_url, COUNTIES, [stage("v2.csv", revision, dataset=COUNTIES, at=T2)], "r2")
    statements = len([r for r in caplog.records if ": changed_between: " in r.getMessage()])
    assert (result.inserted, result.updated, result.deleted) == (0, 90_000 // every, 0)
    assert statements > 1 if comparisons == "many" else statements == 1
    assert stored(db_url, COUNTIES) == expected_table(COUNTIES, revision.decode())

    lines[-3] = lines[-3].replace(b",State,,", b",State,,x", 1)
    with pytest.raises(InvalidSourceError, match="cases is not a non-negative integer: 'x") as caught:
        load(connect, db_url, COUNTIES, [stage("v3.csv", b"\n".join(lines), dataset=COUNTIES, at=T3)], "r3")
    assert caught.value.line == len(lines) - 2
    assert stored(db_url, COUNTIES) == expected_table(COUNTIES, revision.decode())
    assert query(db_url, "SELECT count(*) FROM dataset_publications") == [(2,)]


@pytest.mark.parametrize("connect", DRIVERS)
def test_a_malformed_line_in_a_revision_is_rejected_and_the_table_keeps_the_loaded_version(connect, db_url, stage):
    text = fixture_bytes(STATES_FILE).decode()
    load(connect, db_url, STATES, [stage("v1.csv", text.encode(), at=T1)])
    table = stored(db_url, STATES)
    bad = revised(text).replace("2020-03-15,Ohio,39,", "2020-03-15,Ohio,39,x", 1)
    with pytest.raises(InvalidSourceError, match="cases is not a non-negative integer: 'x"):
        load(connect, db_url, STATES, [stage("v2.csv", bad.encode(), at=T2)], "r2")
    assert stored(db_url, STATES) == table
    assert query(db_url, "SELECT count(*) FROM dataset_publications") == [(1,)]


def _twice_new(text: str) -> str:
    """A key the table lacks, given on two lines in a row (both sent: no fingerprint has them)."""
    line = next(line for line in text.split("\n") if line.startswith("2020-03-03,Ohio,"))
    twice = line.replace("Ohio", "Atlantis")
    return text.replace(line, f"{line}\n{twice}\n{twice}", 1)


def _twice_far_apart(text: str) -> str:
    """A key the table has, given again lines away (one of them in an unchanged chunk, not sent)."""
    return text.replace("2020-03-03,Ohio,", "2020-03-03,Alabama,", 1)


@pytest.mark.parametrize("connect", DRIVERS)
@pytest.mark.parametrize(
    ("state", "repeat"),
    [
        pytest.param("Atlantis", _twice_new, id="a-new-key-in-the-lines-sent"),
        pytest.param("Alabama", _twice_far_apart, id="a-loaded-key-once-sent-once-unchanged"),
    ],
)
def test_a_key_given_twice_in_a_compared_publication_is_rejected_naming_both_lines(
    connect, db_url, stage, state, repeat
):
    text = fixture_bytes(STATES_FILE).decode()
    load(connect, db_url, STATES, [stage("v1.csv", text.encode(), at=T1)])
    table = stored(db_url, STATES)
    bad = repeat(text)
    first, second = (n for n, line in enumerate(bad.split("\n"), 1) if line.startswith(f"2020-03-03,{state},"))
    with pytest.raises(InvalidSourceError, match=f"date, state already given on line {first}") as caught:
        load(connect, db_url, STATES, [stage("v2.csv", bad.encode(), at=T2)], "r2")
    assert caught.value.line == second
    assert stored(db_url, STATES) == table
    assert query(db_url, "SELECT count(*) FROM dataset_publications") == [(1,)]


@pytest.mark.parametrize(
    ("header", "line"),
    [
        pytest.param("deaths,cases,fips,state,date", "0,5,39,Ohio,2020-03-01", id="reordered"),
        pytest.param("date,fips,state,cases,deaths", "2020-03-01,39,Ohio,5,0", id="key-not-leading"),
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


def test_the_fixtures_keep_the_publishers_shape():
    counties = fixture_bytes(COUNTIES_FILE).decode().splitlines()
    assert counties[0] == "date,county,state,fips,cases,deaths"
    assert any(",New York City,New York,," in line for line in counties)
    assert any(",06001," in line for line in counties)  # leading zeros kept
    assert (FIXTURES / "states" / "us-states.csv").read_text().startswith("date,state,fips,cases,deaths\n")
