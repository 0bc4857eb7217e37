"""publish_dashboard's read (include/covid_etl/publish/dashboard.py, include/sql/dashboard*.sql) on a real
PostgreSQL, its tables loaded by the pipeline's own loader (tests/loads.py) and national merge.

The task runs on a worker and publishes what the dashboard shows as its XCom; these tests pin the
document down: the national series as stored, the runs newest first, the states map, the revisions of
states and counties with their old and new values (checked against the files' text), and a size far
below what an XCom should carry.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import psycopg
import psycopg2
import pytest
from dashboard_helpers import (
    COUNTY_VINTAGES,
    JHU_FIXTURE,
    JHU_VERSIONS,
    NYT_FIXTURE,
    NYT_VERSIONS,
    STATE_VINTAGES,
    insert_run,
    load_fixture,
    merge,
)

from covid_etl.publish.dashboard import MAX_REVISIONS, PAYLOAD_VERSION, RUN_LIMIT, read_payload
from covid_etl.sources.specs import COUNTIES, STATES
from loads import expected_rows, load_file, query
from oracle import independent_merge
from support import fixture_text

DRIVERS = [pytest.param(psycopg2.connect, id="psycopg2"), pytest.param(psycopg.connect, id="psycopg3")]


def publish(connect, db_url: str) -> dict:
    conn = connect(db_url)
    try:
        return read_payload(conn, run_id="manual__test")
    finally:
        conn.close()


def load_vintages(db_url: str, dataset: str, vintages: dict[str, datetime], folder) -> None:
    for name, at in vintages.items():  # oldest first
        load_fixture(db_url, dataset, name, folder, at=at)


@pytest.mark.parametrize("connect", DRIVERS)
def test_publishes_every_day_of_the_merged_national_series_as_columns_from_the_first_date(
    connect, dashboard_db, tmp_path
):
    nyt_at = datetime(2023, 1, 25, 12, tzinfo=UTC)
    load_fixture(dashboard_db, "nyt", NYT_FIXTURE, tmp_path, at=nyt_at)
    load_fixture(dashboard_db, "jhu", JHU_FIXTURE, tmp_path, at=nyt_at)
    merge(dashboard_db, nyt_at=nyt_at, jhu_at=nyt_at)

    national = publish(connect, dashboard_db)["national"]

    published = {
        (date.fromisoformat(national["first_date"]) + timedelta(days=i)).isoformat(): (c, d, r)
        for i, (c, d, r) in enumerate(zip(national["cases"], national["deaths"], national["recovered"], strict=True))
    }
    assert published == independent_merge(NYT_FIXTURE, JHU_FIXTURE)
    assert national["first_date"] == "2020-01-22" and len(published) == 609
    assert published["2020-12-13"][2] == 6_298_082 and published["2020-12-14"][2] is None


@pytest.mark.parametrize("connect", DRIVERS)
def test_runs_come_newest_first_limited_and_the_last_success_ignores_later_failures(connect, dashboard_db):
    start = datetime(2026, 4, 1, 3, 0, tzinfo=UTC)
    for i in range(RUN_LIMIT + 3):
        insert_run(dashboard_db, f"scheduled__{i}", "success", start + timedelta(days=i), rows_inserted=i)
    insert_run(dashboard_db, "manual__broken", "failed", start + timedelta(days=30), error="NYT: line 7: bad date")

    payload = publish(connect, dashboard_db)

    assert [r["run_id"] for r in payload["runs"]] == ["manual__broken"] + [
        f"scheduled__{i}" for i in range(RUN_LIMIT + 2, 3, -1)
    ]
    assert payload["runs"][0]["error"] == "NYT: line 7: bad date" and payload["runs"][1]["rows_inserted"] == 12
    assert datetime.fromisoformat(payload["last_success_at"]) == start + timedelta(days=RUN_LIMIT + 2, minutes=1)
    assert (payload["version"], payload["run_id"]) == (PAYLOAD_VERSION, "manual__test")


@pytest.mark.parametrize("connect", DRIVERS)
def test_a_fresh_database_publishes_an_empty_document(connect, db_url):
    payload = publish(connect, db_url)

    assert payload["national"] == {"first_date": None, "cases": [], "deaths": [], "recovered": []}
    assert (payload["runs"], payload["last_success_at"]) == ([], None)
    assert payload["states"] == {"dates": [], "states": [], "avg7_per_100k": []} and payload["counties"] == []
    empty = {"total": 0, "publications": [], "rows": []}
    assert payload["revisions"] == {name: empty for name in ("states", "counties")}


def test_other_database_errors_are_not_hidden(db_url):
    conn = psycopg.connect(db_url)
    conn.close()
    with pytest.raises(psycopg.OperationalError):
        read_payload(conn, run_id="manual__test")


def test_the_states_map_averages_each_states_new_cases_per_100k_on_every_7th_date(dashboard_db, tmp_path):
    # 100 new cases a day in Ohio (11,689,100 people in the reference table).
    days = [date(2020, 3, 1) + timedelta(days=k) for k in range(15)]
    path = tmp_path / "us-states.csv"
    rows = "".join(f"{day},Ohio,39,{100 * k},0\n" for k, day in enumerate(days))
    path.write_text("date,state,fips,cases,deaths\n" + rows)
    load_file(dashboard_db, "states", path, at=datetime(2020, 3, 16, tzinfo=UTC), commit="s1")

    states = publish(psycopg.connect, dashboard_db)["states"]

    assert states["dates"] == ["2020-03-01", "2020-03-08", "2020-03-15"]
    assert states["states"] == [["Ohio", "39", 11689100]]
    per_100k = round(100 * 100_000 / 11689100, 2)
    assert states["avg7_per_100k"] == [[None], [per_100k], [per_100k]]


def revised_in_files(dataset, vintages: dict[str, datetime]) -> set[tuple]:
    """The revisions between two vintages, from the files' text (the standard library): per key both have
    with other values, (the key, old cases, new cases, old deaths, new deaths)."""
    width = len(dataset.key)
    older, newer = ({row[:width]: row[width:] for row in expected_rows(dataset, fixture_text(f))} for f in vintages)
    return {
        (key[0].isoformat(), *key[1:], old[-2], new[-2], old[-1], new[-1])
        for key, old, new in ((key, older[key], newer[key]) for key in older.keys() & newer.keys())
        if old != new
    }


@pytest.mark.parametrize("connect", DRIVERS)
def test_a_revised_county_and_a_revised_state_are_published_with_their_old_and_new_values(
    connect, dashboard_db, tmp_path
):
    load_vintages(dashboard_db, "states", STATE_VINTAGES, tmp_path)
    load_vintages(dashboard_db, "counties", COUNTY_VINTAGES, tmp_path)

    revisions = publish(connect, dashboard_db)["revisions"]

    newer_county = COUNTY_VINTAGES["real/nyt-us-counties-2020-03-31.csv"]
    county = {tuple(row[:3]): with_publication(revisions["counties"], row[3:]) for row in revisions["counties"]["rows"]}
    assert county[("2020-03-28", "Texas", "Harris")] == [
        newer_county.isoformat(),
        f"counties-{newer_county:%Y%m%d%H%M%S}",
        232,
        445,
        3,
        3,
    ]
    assert county[("2020-03-28", "Florida", "Volusia")][2:] == [44, 44, 2, 1]  # a death revised down
    newer_state = STATE_VINTAGES["real/nyt-us-states-2021-03-15.csv"]
    state = {tuple(row[:2]): with_publication(revisions["states"], row[2:]) for row in revisions["states"]["rows"]}
    assert state[("2020-04-20", "Wisconsin")] == [
        newer_state.isoformat(),
        f"states-{newer_state:%Y%m%d%H%M%S}",
        4499,
        4564,
        231,
        231,
    ]
    # Every revision, against the two files' text.
    for dataset, vintages in ((STATES, STATE_VINTAGES), (COUNTIES, COUNTY_VINTAGES)):
        width = len(dataset.key)
        published = [(*row[:width], *row[-4:]) for row in revisions[dataset.name]["rows"]]
        assert set(published) == revised_in_files(dataset, vintages) and len(published) == len(set(published))
        assert revisions[dataset.name]["total"] == len(published)
    assert (revisions["states"]["total"], revisions["counties"]["total"]) == (159, 3)


def with_publication(revisions: dict, rest: list) -> list:
    """A revision's [publication index, old and new values] with the index read: [published_at, commit, ...]."""
    return [*revisions["publications"][rest[0]], *rest[1:]]


def generated_counties(raised: dict[int, int]) -> str:
    """A county file of 2,100 keys (70 counties over 30 days), numbered 0 to 2,099; each key in ``raised``
    has its cases raised by that much, so that a later publication with other amounts revises it."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["date", "county", "state", "fips", "cases", "deaths"])
    for day in range(30):
        for county in range(70):
            number = day * 70 + county
            cases = 10 * day + raised.get(number, 0)
            writer.writerow([date(2021, 1, 1) + timedelta(days=day), f"County {county:02d}", "Utah", "", cases, 0])
    return out.getvalue()


def test_the_document_holds_the_newest_1500_revisions_of_a_dataset_and_says_how_many_there_are(dashboard_db, tmp_path):
    # Three publications: the second revises all 2,100 keys, the third 300 of them again: 2,400 in all.
    first_at = datetime(2021, 2, 1, 6, tzinfo=UTC)
    publications = [{}, dict.fromkeys(range(2100), 1), {n: 2 if n % 7 == 0 else 1 for n in range(2100)}]
    for number, raised in enumerate(publications):
        path = tmp_path / f"us-counties-{number}.csv"
        path.write_text(generated_counties(raised))
        load_file(dashboard_db, "counties", path, at=first_at + timedelta(days=number), commit=f"c{number}")

    revisions = publish(psycopg.connect, dashboard_db)["revisions"]["counties"]

    in_database = query(dashboard_db, "SELECT count(*) FROM covid_us_county_daily_revisions")[0][0]
    assert revisions["total"] == 2100 + 300 == in_database
    assert len(revisions["rows"]) == MAX_REVISIONS == 1500
    # Newest first: the third publication's 300, then the second's first 1,200 in key order.
    commits = [revisions["publications"][row[3]][1] for row in revisions["rows"]]
    assert commits == ["c2"] * 300 + ["c1"] * 1200
    second = [tuple(row[:3]) for row in revisions["rows"][300:]]
    assert second == sorted(second) and second[0] == ("2021-01-01", "Utah", "County 00")


def test_the_document_of_every_real_fixture_is_far_below_a_megabyte(dashboard_db, tmp_path):
    # Every real file kept here, loaded as the pipeline would: 3 NYT and 2 JHU national versions, 2 state
    # and 2 county vintages; and 10 runs with long errors.
    for name, at in NYT_VERSIONS.items():
        load_fixture(dashboard_db, "nyt", name, tmp_path, at=at)
    for name, at in JHU_VERSIONS.items():
        load_fixture(dashboard_db, "jhu", name, tmp_path, at=at)
    merge(dashboard_db, nyt_at=max(NYT_VERSIONS.values()), jhu_at=max(JHU_VERSIONS.values()))
    load_vintages(dashboard_db, "states", STATE_VINTAGES, tmp_path)
    load_vintages(dashboard_db, "counties", COUNTY_VINTAGES, tmp_path)
    for i in range(RUN_LIMIT):
        insert_run(dashboard_db, f"scheduled__{i}", "failed", datetime(2026, 4, 1, tzinfo=UTC), error="x" * 200)

    payload = publish(psycopg.connect, dashboard_db)
    size = len(json.dumps(payload))

    # About 200 kB, half of it the counties table of the latest date (2,167 counties); an XCom should stay
    # well below a megabyte.
    assert size < 256 * 1024, size
    assert len(payload["counties"]) == 2167 and payload["revisions"]["states"]["total"] == 159


def write_csv(path, header: list[str], rows) -> None:
    with path.open("w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def test_the_document_of_every_county_and_1500_revisions_of_each_dataset_stays_under_a_megabyte(dashboard_db, tmp_path):
    # Every cap a full series reaches, through the real loader: all 3,231 counties of the reference table
    # on the latest date (the counties table), states over 1,160 days (the map's 166 weeks), and more
    # revisions of each than the 1,500 the document keeps, each with a 40-character commit as GitHub's;
    # the national series is the real files'. (The national history's own cap, 10,000 entries, is not
    # reached by the real files: tests/unit/dashboard/test_document_size.py reaches every cap.)
    from covid_etl.publish.population import populations

    by_state, by_county = populations()
    last = date(2023, 3, 23)
    state_days = [last - timedelta(days=k) for k in reversed(range(1160))]
    county_days = [last - timedelta(days=k) for k in reversed(range(8))]
    for number, raise_by in enumerate((0, 1)):
        at = datetime(2023, 3, 24 + number, 12, tzinfo=UTC)
        commit = f"{number:040x}"
        states = tmp_path / f"us-states-{number}.csv"
        write_csv(
            states,
            ["date", "state", "fips", "cases", "deaths"],
            # The second publication revises the last 40 days of every state: 2,240 revisions.
            ((d, s, "", 10_000_000 + k + (raise_by if k >= 1120 else 0), 100_000) for k, d in enumerate(state_days)
             for s in sorted(by_state)),
        )  # fmt: skip
        load_file(dashboard_db, "states", states, at=at, commit=commit)
        counties = tmp_path / f"us-counties-{number}.csv"
        write_csv(
            counties,
            ["date", "county", "state", "fips", "cases", "deaths"],
            # ... and the last day of every county: 3,231 revisions.
            ((d, c, s, "", 1_000_000 + k + (raise_by if k == 7 else 0), 10_000) for k, d in enumerate(county_days)
             for s, c in sorted(by_county)),
        )  # fmt: skip
        load_file(dashboard_db, "counties", counties, at=at, commit=commit)
    for name, at in NYT_VERSIONS.items():
        load_fixture(dashboard_db, "nyt", name, tmp_path, at=at)
    for name, at in JHU_VERSIONS.items():
        load_fixture(dashboard_db, "jhu", name, tmp_path, at=at)
    merge(dashboard_db, nyt_at=max(NYT_VERSIONS.values()), jhu_at=max(JHU_VERSIONS.values()))

    payload = publish(psycopg.connect, dashboard_db)
    size = len(json.dumps(payload))

    assert (payload["revisions"]["states"]["total"], payload["revisions"]["counties"]["total"]) == (2240, 3231)
    assert [len(payload["revisions"][name]["rows"]) for name in ("states", "counties")] == [MAX_REVISIONS] * 2
    assert len(payload["counties"]) == len(by_county) == 3231 and len(payload["states"]["dates"]) == 166
    # 503 kB, of which the revisions 213 kB (docs/dashboard.md): under the megabyte an XCom should stay
    # below (docs/adr/0006-xcom-budget.md).
    assert size < 1_000_000, size
