"""The loader sends only what changed, comparing a publication with fingerprints of what the table holds; when
the table and its fingerprints are out of step, the next load must still make the table exact.

The cases (issue 18, point 3): a row edited or deleted by hand; the staged copy of a publication lost, or
shared with another database; a load that rolled back after its file was staged. Plus the guards behind
them: fingerprints are written by the loader only, and a fingerprint that does not add up with the file
falls back to comparing every row.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from covid_etl.errors import InvalidSourceError
from covid_etl.load.loader import PRINTS_BATCH
from covid_etl.sources.specs import COUNTIES, STATES
from loads import as_of_rows, expected_rows, fixture_file, load_file, query, table_rows
from support import fixture_text

OLDER = ("real/nyt-us-counties-2020-03-28.csv.gz", datetime(2020, 3, 29, 1, tzinfo=UTC))
NEWER = ("real/nyt-us-counties-2020-03-31.csv.gz", datetime(2020, 4, 1, 1, tzinfo=UTC))
HARRIS = (datetime(2020, 3, 28).date(), "Texas", "Harris")


def load(db_url, fixture, at, commit, folder, **options):
    return load_file(
        db_url, "counties", fixture_file(fixture.removesuffix(".gz"), folder), at=at, commit=commit, **options
    )


def newer_table() -> list[tuple]:
    return expected_rows(COUNTIES, fixture_text(NEWER[0].removesuffix(".gz")))


def fingerprints(db_url: str) -> int:
    return query(db_url, "SELECT count(*) FROM dataset_fingerprints WHERE dataset = 'counties'")[0][0]


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param("UPDATE covid_us_county_daily SET cases = cases + 1000 WHERE date = '2020-03-30'", id="edited"),
        pytest.param("DELETE FROM covid_us_county_daily WHERE date = '2020-03-30' AND state = 'Texas'", id="deleted"),
        pytest.param(
            "INSERT INTO covid_us_county_daily VALUES ('2020-03-30', 'Texas', 'Nowhere', NULL, 1, 0)", id="added"
        ),
    ],
)
def test_a_hand_edit_of_the_table_is_undone_by_the_next_load(db_url, tmp_path, edit):
    load(db_url, *NEWER, "v1", tmp_path)
    assert fingerprints(db_url) > 0
    query_statement(db_url, edit)
    assert table_rows(db_url, COUNTIES) != newer_table()
    assert fingerprints(db_url) == 0  # the edit voided the fingerprints
    result = load(db_url, NEWER[0], NEWER[1] + timedelta(days=1), "v1-again", tmp_path)
    assert table_rows(db_url, COUNTIES) == newer_table()
    assert result.files["us-counties.csv"].startswith("read whole")
    assert result.inserted + result.updated + result.deleted >= 1


def query_statement(db_url: str, statement: str) -> None:
    with psycopg.connect(db_url) as conn:
        conn.execute(statement)


def test_the_fingerprints_are_written_by_the_loader_only(db_url, tmp_path):
    load(db_url, *NEWER, "v1", tmp_path)
    with pytest.raises(psycopg.errors.RaiseException, match="written by covid_etl's loader only"):
        query_statement(db_url, "UPDATE dataset_fingerprints SET rows = rows + 1")
    with pytest.raises(psycopg.errors.RaiseException, match="written by covid_etl's loader only"):
        query_statement(
            db_url,
            "INSERT INTO dataset_fingerprints (dataset, date, publication, rows, keysum, digest, blocks, chunks)"
            " SELECT 'counties', '1999-01-01', id, 1, 0, '\\x00', '\\x00', '\\x00' FROM dataset_publications",
        )


def marked(db_url: str) -> list[str]:
    """The commits of the county publications whose fingerprints are marked whole."""
    return [
        commit
        for (commit,) in query(
            db_url,
            "SELECT p.commit FROM dataset_fingerprinted f JOIN dataset_publications p ON p.id = f.publication"
            " WHERE f.dataset = 'counties' ORDER BY p.published_at",
        )
    ]


def test_fingerprints_deleted_outside_a_load_void_the_marks_and_the_loads_after_compare_every_row_until_marked(
    db_url, tmp_path
):
    load(db_url, *OLDER, "v1", tmp_path)
    load(db_url, *NEWER, "v2", tmp_path)
    assert marked(db_url) == ["v1", "v2"]
    # One of the newer publication's records gone: the older one's record of that day would stand for it.
    query_statement(db_url, f"DELETE FROM dataset_fingerprints WHERE date = '{HARRIS[0]}' AND rows > 0")
    assert marked(db_url) == []
    between = load(db_url, OLDER[0], OLDER[1] + timedelta(hours=12), "v1b", tmp_path)  # a backfill's
    assert between.files["us-counties.csv"].startswith("read whole")
    again = load(db_url, *NEWER, "v2-again", tmp_path)  # compared with v2, which is not marked
    assert again.files["us-counties.csv"].startswith("read whole")
    last = load(db_url, NEWER[0], NEWER[1] + timedelta(days=1), "v3", tmp_path)
    assert last.files["us-counties.csv"] == "compared with fingerprints: 0 rows sent"
    assert marked(db_url) == ["v1b", "v2-again", "v3"]
    assert table_rows(db_url, COUNTIES) == newer_table()
    older_table = expected_rows(COUNTIES, fixture_text(OLDER[0].removesuffix(".gz")))
    assert as_of_rows(db_url, COUNTIES, OLDER[1] + timedelta(hours=13)) == older_table


def test_a_publication_records_only_the_days_it_changed_and_the_days_it_emptied(db_url, tmp_path):
    load(db_url, *OLDER, "v1", tmp_path)
    load(db_url, *NEWER, "v2", tmp_path)
    per_commit = dict(
        query(
            db_url,
            "SELECT p.commit, count(*) FROM dataset_fingerprints f JOIN dataset_publications p"
            " ON p.id = f.publication GROUP BY 1",
        )
    )
    older_text, newer_text = (fixture_text(name.removesuffix(".gz")) for name in (OLDER[0], NEWER[0]))
    older_days, newer_days = (lines_by_day(text) for text in (older_text, newer_text))
    changed = {day for day in newer_days if older_days.get(day) != newer_days[day]}
    assert per_commit == {"v1": len(older_days), "v2": len(changed)} and 0 < len(changed) < len(newer_days)


def test_a_publication_of_more_days_than_are_written_at_once_records_each_day_it_changed(db_url, tmp_path):
    days = [date(2020, 3, 1) + timedelta(days=n) for n in range(PRINTS_BATCH * 2 + 10)]  # three writes

    def states_file(name: str, revised: bool) -> Path:
        lines = ["date,state,fips,cases,deaths"]
        for n, day in enumerate(days):
            lines += [f"{day},Ohio,39,{n + (revised and n % 2 == 0)},0", f"{day},Utah,49,{n},0"]
        (path := tmp_path / name).write_text("\n".join(lines) + "\n")
        return path

    first, revised = states_file("v1.csv", False), states_file("v2.csv", True)
    at = datetime(2021, 1, 1, tzinfo=UTC)
    load_file(db_url, "states", first, at=at, commit="v1")
    result = load_file(db_url, "states", revised, at=at + timedelta(days=1), commit="v2")
    assert result.updated == len(days[::2])  # Ohio's count of every other day
    recorded = query(
        db_url,
        "SELECT f.date FROM dataset_fingerprints f JOIN dataset_publications p ON p.id = f.publication"
        " WHERE p.commit = 'v2' ORDER BY 1",
    )
    assert [day for (day,) in recorded] == days[::2]
    again = load_file(db_url, "states", revised, at=at + timedelta(days=2), commit="v3")
    assert again.sent == 0 and again.files["us-states.csv"].startswith("compared")


def test_the_tables_fingerprints_of_an_earlier_version_are_dropped_and_the_next_load_compares_every_row(
    db_url, tmp_path
):
    load(db_url, *OLDER, "v1", tmp_path)
    with psycopg.connect(db_url) as conn:  # the shape of the fingerprints before they were kept per publication
        conn.execute("DROP TABLE dataset_fingerprints, dataset_fingerprinted")
        conn.execute(
            "CREATE TABLE dataset_fingerprints (dataset text, date date, rows integer, keysum bigint,"
            " digest bytea, blocks bytea, chunks bytea, PRIMARY KEY (dataset, date))"
        )
        conn.execute("CREATE TABLE dataset_fingerprinted (dataset text, scope_from date, scope_to date)")
        conn.execute("INSERT INTO dataset_fingerprinted VALUES ('counties', '-infinity', 'infinity')")
        conn.execute("UPDATE covid_etl_schema SET version = 'an earlier version'")
    result = load(db_url, *NEWER, "v2", tmp_path)
    assert result.files["us-counties.csv"].startswith("read whole")
    assert table_rows(db_url, COUNTIES) == newer_table()
    columns = query(
        db_url, "SELECT column_name FROM information_schema.columns WHERE table_name = 'dataset_fingerprinted'"
    )
    assert sorted(columns) == [("dataset",), ("publication",)] and marked(db_url) == ["v2"]


def lines_by_day(text: str) -> dict[str, list[str]]:
    days: dict[str, list[str]] = {}
    for line in text.splitlines()[1:]:
        days.setdefault(line[:10], []).append(line)
    return days


def test_the_staged_copies_of_earlier_publications_are_not_needed(db_url, tmp_path):
    older = fixture_file(OLDER[0].removesuffix(".gz"), tmp_path)
    load_file(db_url, "counties", older, at=OLDER[1], commit="v1")
    older.unlink()  # lost, or expired: nothing compares with it
    load(db_url, *NEWER, "v2", tmp_path)
    assert table_rows(db_url, COUNTIES) == newer_table()


def test_two_databases_sharing_one_staging_folder_each_end_exact(db_url, postgres_server, tmp_path):
    other = postgres_server.create_database("out_of_step_other")
    shared = fixture_file(OLDER[0].removesuffix(".gz"), tmp_path)
    load_file(db_url, "counties", shared, at=OLDER[1], commit="v1")
    # The same path now holds another publication, loaded into the other database only.
    shared.write_bytes(fixture_text(NEWER[0].removesuffix(".gz")).encode())
    load_file(other, "counties", shared, at=NEWER[1], commit="v2")
    load(db_url, *NEWER, "v2", tmp_path)
    load(other, *NEWER, "v2-republished", tmp_path)
    assert table_rows(db_url, COUNTIES) == table_rows(other, COUNTIES) == newer_table()


def test_a_load_rolled_back_after_staging_changes_nothing_and_the_next_load_is_exact(db_url, tmp_path):
    load(db_url, *OLDER, "v1", tmp_path)
    before = (table_rows(db_url, COUNTIES), fingerprints(db_url))
    broken = tmp_path / "broken.csv"
    text = fixture_text(NEWER[0].removesuffix(".gz"))
    broken.write_text(text + "\n2020-04-01,Harris,Texas,48201,many,0")  # the last line breaks the load
    with pytest.raises(InvalidSourceError, match="cases is not a non-negative integer"):
        load_file(db_url, "counties", broken, at=NEWER[1], commit="v2")
    assert (table_rows(db_url, COUNTIES), fingerprints(db_url)) == before
    assert query(db_url, "SELECT count(*) FROM dataset_publications WHERE commit = 'v2'") == [(0,)]
    load(db_url, *NEWER, "v2", tmp_path)
    assert table_rows(db_url, COUNTIES) == newer_table()


def test_fingerprints_that_do_not_add_up_fall_back_to_comparing_every_row(db_url, tmp_path):
    load(db_url, *OLDER, "v1", tmp_path)
    # What a damaged fingerprint table would say: one row less than the table has on a day the newer
    # publication revises (Harris, Texas on 2020-03-28).
    with psycopg.connect(db_url) as conn:
        conn.execute("SELECT set_config('covid_etl.loading', 'on', false)")
        conn.execute("UPDATE dataset_fingerprints SET rows = rows - 1 WHERE date = %s", (HARRIS[0],))
    result = load(db_url, *NEWER, "v2", tmp_path)
    assert result.files["us-counties.csv"].startswith("read whole")
    assert table_rows(db_url, COUNTIES) == newer_table()


def test_a_load_compared_through_fingerprints_equals_one_that_sends_every_row(db_url, postgres_server, tmp_path):
    whole = postgres_server.create_database("out_of_step_whole")
    for url, compare in ((db_url, True), (whole, False)):
        load(url, *OLDER, "v1", tmp_path, compare=compare)
        result = load(url, *NEWER, "v2", tmp_path, compare=compare)
        assert result.files["us-counties.csv"].startswith("compared" if compare else "read whole")
    assert table_rows(db_url, COUNTIES) == table_rows(whole, COUNTIES) == newer_table()
    for view in ("covid_us_county_daily_revisions", "covid_us_county_daily_changes"):
        columns = "date, state, county, old_cases, new_cases, old_deaths, new_deaths"
        assert query(db_url, f"SELECT {columns} FROM {view} ORDER BY 1, 2, 3") == query(
            whole, f"SELECT {columns} FROM {view} ORDER BY 1, 2, 3"
        )


def test_a_first_load_rebuilds_the_primary_key_and_indexes_it_dropped(db_url, tmp_path):
    load(db_url, *NEWER, "v1", tmp_path)
    indexes = query(db_url, "SELECT indexname FROM pg_indexes WHERE tablename = 'covid_us_county_daily' ORDER BY 1")
    assert indexes == [("covid_us_county_daily_lookup_idx",), ("covid_us_county_daily_pkey",)]
    with pytest.raises(psycopg.errors.UniqueViolation):
        query_statement(db_url, "INSERT INTO covid_us_county_daily SELECT * FROM covid_us_county_daily LIMIT 1")


def test_a_state_file_and_a_county_file_keep_their_own_fingerprints(db_url, tmp_path):
    load(db_url, *NEWER, "c1", tmp_path)
    states = fixture_file("real/nyt-us-states-2020-07-19.csv", tmp_path)
    load_file(db_url, "states", states, at=datetime(2020, 7, 20, tzinfo=UTC), commit="s1")
    query_statement(db_url, "UPDATE covid_us_state_daily SET cases = cases + 1 WHERE state = 'Ohio'")
    counts = dict(query(db_url, "SELECT dataset, count(*) FROM dataset_fingerprints GROUP BY 1"))
    assert "states" not in counts and counts["counties"] > 0
    assert table_rows(db_url, STATES) != expected_rows(STATES, fixture_text("real/nyt-us-states-2020-07-19.csv"))
