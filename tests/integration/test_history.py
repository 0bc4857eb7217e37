"""The history of every dataset: publications loaded in any order give the same latest table, as-of answers,
revisions and stored changes as loading them oldest first; keys a publication drops are deleted.

The real vintages of NYT's state and county files (../shared/data/real, copied under tests/fixtures/real)
and series generated here (with revisions, dropped and added past keys) are checked against answers the
standard library computes from the files' text (tests/loads.py).
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from covid_etl.records import LoadResult
from covid_etl.sources.specs import COUNTIES, STATES
from loads import as_of_rows, changes, expected_rows, fixture_file, load_file, query, revisions, table_rows
from support import fixture_text

COUNTY_VINTAGES = {
    "older": ("nyt-us-counties-2020-03-28.csv", datetime(2020, 3, 29, 1, tzinfo=UTC)),
    "newer": ("nyt-us-counties-2020-03-31.csv", datetime(2020, 4, 1, 1, tzinfo=UTC)),
}
STATE_VINTAGES = {
    "older": ("nyt-us-states-2020-07-19.csv", datetime(2020, 7, 20, 1, tzinfo=UTC)),
    "newer": ("nyt-us-states-2021-03-15.csv", datetime(2021, 3, 16, 1, tzinfo=UTC)),
}
HANCOCK = (date(2020, 3, 25), "West Virginia", "Hancock")
KANSAS_CITY = (date(2020, 3, 24), "Missouri", "Kansas City")


def load_vintages(db_url, dataset, vintages, order, folder):
    for name in order:
        file, at = vintages[name]
        load_file(db_url, dataset.name, fixture_file(f"real/{file}", folder), at=at, commit=f"{dataset.name}-{name}")


@pytest.mark.parametrize(
    ("dataset", "vintages"),
    [pytest.param(COUNTIES, COUNTY_VINTAGES, id="counties"), pytest.param(STATES, STATE_VINTAGES, id="states")],
)
@pytest.mark.parametrize("order", [("older", "newer"), ("newer", "older")], ids=["oldest-first", "newest-first"])
def test_real_vintages_in_either_order_leave_the_newer_and_answer_each_as_of_its_commit(
    db_url, dataset, vintages, order, tmp_path
):
    load_vintages(db_url, dataset, vintages, order, tmp_path)
    older, newer = (fixture_text(f"real/{vintages[name][0]}") for name in ("older", "newer"))
    assert table_rows(db_url, dataset) == expected_rows(dataset, newer)
    for name, text in (("older", older), ("newer", newer)):
        at = vintages[name][1]
        assert as_of_rows(db_url, dataset, at + timedelta(hours=1)) == expected_rows(dataset, text)
    assert as_of_rows(db_url, dataset, vintages["older"][1] - timedelta(seconds=1)) == []


def test_the_real_deleted_county_key_is_gone_from_the_latest_table_but_there_as_of_the_older_vintage(db_url, tmp_path):
    load_vintages(db_url, COUNTIES, COUNTY_VINTAGES, ("older", "newer"), tmp_path)
    keys = "SELECT date, state, county FROM {} WHERE date = %s AND state = %s AND county = %s"
    assert query(db_url, keys.format("covid_us_county_daily"), HANCOCK) == []
    older_at = COUNTY_VINTAGES["older"][1] + timedelta(hours=1)
    assert query(db_url, keys.format("covid_us_county_daily_as_of(%s)"), (older_at, *HANCOCK)) == [HANCOCK]
    assert query(db_url, keys.format("covid_us_county_daily"), KANSAS_CITY) == [KANSAS_CITY]
    assert query(db_url, keys.format("covid_us_county_daily_as_of(%s)"), (older_at, *KANSAS_CITY)) == []


def test_the_real_county_revisions_and_changes_do_not_depend_on_the_loading_order(db_url, postgres_server, tmp_path):
    other = postgres_server.create_database("history_other_order")
    load_vintages(db_url, COUNTIES, COUNTY_VINTAGES, ("older", "newer"), tmp_path)
    load_vintages(other, COUNTIES, COUNTY_VINTAGES, ("newer", "older"), tmp_path)
    assert revisions(db_url, COUNTIES) == revisions(other, COUNTIES)
    assert changes(db_url, COUNTIES) == changes(other, COUNTIES)
    revised = {row[:3]: (row[-4], row[-3], row[-2], row[-1]) for row in revisions(db_url, COUNTIES)}
    assert revised[(date(2020, 3, 28), "Texas", "Harris")][:2] == (232, 445)  # cases 232 -> 445
    assert revised[(date(2020, 3, 28), "Florida", "Volusia")][2:] == (2, 1)  # deaths 2 -> 1, a revision down


def test_the_loads_count_the_newer_vintages_inserts_updates_and_the_deleted_key(db_url, tmp_path):
    (old_file, old_at), (new_file, new_at) = COUNTY_VINTAGES["older"], COUNTY_VINTAGES["newer"]
    first = load_file(db_url, "counties", fixture_file(f"real/{old_file}", tmp_path), at=old_at, commit="a")
    second = load_file(db_url, "counties", fixture_file(f"real/{new_file}", tmp_path), at=new_at, commit="b")
    older, newer = (expected_rows(COUNTIES, fixture_text(f"real/{file}")) for file in (old_file, new_file))
    old_keys = {row[:3]: row for row in older}
    new_keys = {row[:3]: row for row in newer}
    assert (first.inserted, first.updated, first.deleted) == (len(older), 0, 0)
    assert second.inserted == len(new_keys.keys() - old_keys.keys())
    assert second.updated == sum(1 for key in new_keys.keys() & old_keys.keys() if new_keys[key] != old_keys[key])
    assert second.deleted == len(old_keys.keys() - new_keys.keys()) == 1
    assert second.unchanged == len(newer) - second.inserted - second.updated


# -- generated series: every order of loading -------------------------------------------------------------

HEADER = "date,county,state,fips,cases,deaths"
AREAS = [(state, county) for state in ("Idaho", "Maine", "Utah") for county in ("Ada", "Bear Lake", "Kane", "York")]


@dataclass(frozen=True)
class Vintage:
    """One generated publication: its commit, time, and rows by key (date, state, county)."""

    commit: str
    at: datetime
    rows: dict[tuple, tuple]

    def text(self) -> str:
        lines = [HEADER]
        for (day, state, county), (fips, cases, deaths) in sorted(self.rows.items()):
            lines.append(f"{day.isoformat()},{county},{state},{fips or ''},{cases},{deaths}")
        return "\n".join(lines) + "\n"

    def table(self) -> list[tuple]:
        return sorted((day, state, county, *values) for (day, state, county), values in self.rows.items())


def generated_series(seed: int, publications: int = 6) -> list[Vintage]:
    """Daily publications, each one more day than the one before, revising a few past rows, dropping a key
    now and then and adding a past one; cases >= deaths >= 0 throughout."""
    rng = random.Random(seed)
    first = date(2021, 1, 1)
    rows: dict[tuple, tuple] = {}
    series = []
    for number in range(publications):
        day = first + timedelta(days=6 + number)
        for state, county in AREAS:
            if rng.random() < 0.9:
                cases = rng.randint(10, 500)
                rows[(day, state, county)] = (None if county == "Kane" else f"{16000 + len(county)}", cases, cases // 9)
        if number == 0:
            for back in range(6):
                for state, county in AREAS:
                    rows[(first + timedelta(days=back), state, county)] = ("16001", 5 + back, back)
        for key in rng.sample(sorted(rows), 3):  # revisions of past rows
            fips, cases, deaths = rows[key]
            rows[key] = (fips, cases + rng.randint(1, 9), deaths)
        if number % 2:
            rows.pop(rng.choice(sorted(rows)))  # a key dropped
        else:
            rows[(first + timedelta(days=2), "Utah", f"Added {number}")] = (None, 1, 0)  # a past key added
        series.append(Vintage(f"gen{number}", datetime(2021, 2, 1, 6, tzinfo=UTC) + timedelta(days=number), dict(rows)))
    return series


def expected_revisions(loaded: list[Vintage]) -> list[tuple]:
    """Per key, each loaded publication (in time order) whose values differ from the previous loaded one
    that has the key too: the key, the publication's time and commit, and each value before and after."""
    found = []
    ordered = sorted(loaded, key=lambda vintage: vintage.at)
    for before, after in itertools.pairwise(ordered):
        for key in before.rows.keys() & after.rows.keys():
            old, new = before.rows[key], after.rows[key]
            if old != new:
                pairs = [value for pair in zip(old, new, strict=True) for value in pair]
                found.append((*key, after.at, after.commit, *pairs))
    return sorted(found, key=repr)


def load_vintage(db_url, vintage: Vintage, folder: Path) -> LoadResult:
    path = folder / f"{vintage.commit}.csv"
    path.write_text(vintage.text())
    return load_file(db_url, "counties", path, at=vintage.at, commit=vintage.commit)


def counts(result: LoadResult) -> tuple[int, int, int, int, int]:
    return result.inserted, result.updated, result.deleted, result.unchanged, result.stale


def expected_counts(vintage: Vintage, loaded_before: list[Vintage]) -> tuple[int, int, int, int, int]:
    """Inserted, updated, deleted, unchanged and stale rows of loading ``vintage`` after ``loaded_before``.
    (Each generated publication has every date of those before it.) The newest yet replaces the table;
    an older one leaves it, its rows that differ from the table stale."""
    table = max(loaded_before, key=lambda loaded: loaded.at).rows if loaded_before else {}
    rows = vintage.rows
    differing = sum(1 for key, values in rows.items() if table.get(key) != values)
    if loaded_before and vintage.at < max(loaded.at for loaded in loaded_before):
        return 0, 0, 0, len(rows) - differing, differing
    inserted = len(rows.keys() - table.keys())
    return inserted, differing - inserted, len(table.keys() - rows.keys()), len(rows) - differing, 0


ORDERS = {
    "oldest-first": [0, 1, 2, 3, 4, 5],
    "newest-first": [5, 4, 3, 2, 1, 0],
    "newest-oldest-middle": [5, 0, 3, 1, 4, 2],
    "shuffled": [2, 5, 1, 4, 0, 3],
}


@pytest.mark.parametrize("order", ORDERS.values(), ids=ORDERS.keys())
def test_generated_publications_in_any_order_give_at_each_step_the_table_as_of_answers_and_revisions(
    db_url, tmp_path, order
):
    series = generated_series(seed=20210101)
    loaded: list[Vintage] = []
    for index in order:
        result = load_vintage(db_url, series[index], tmp_path)
        assert counts(result) == expected_counts(series[index], loaded), series[index].commit
        loaded.append(series[index])
        newest = max(loaded, key=lambda vintage: vintage.at)
        assert table_rows(db_url, COUNTIES) == newest.table()
        for vintage in loaded:
            assert as_of_rows(db_url, COUNTIES, vintage.at + timedelta(minutes=1)) == vintage.table(), vintage.commit
        assert sorted(revisions(db_url, COUNTIES), key=repr) == expected_revisions(loaded)


def test_an_older_publication_is_stale_only_where_it_differs_from_the_table_not_where_later_ones_changed_a_key_back(
    db_url, tmp_path
):
    first = generated_series(seed=3, publications=1)[0]
    put_back, own = sorted(first.rows)[:2]
    fips, cases, deaths = first.rows[put_back]
    revision = Vintage("revision", first.at + timedelta(days=1), {**first.rows, put_back: (fips, cases + 1, deaths)})
    reverted = Vintage("reverted", first.at + timedelta(days=2), first.rows)
    # Nearer the first than the revision, so compared with the first; its own revision of another key is stale.
    fips, cases, deaths = first.rows[own]
    between = Vintage("between", first.at + timedelta(hours=1), {**first.rows, own: (fips, cases + 2, deaths)})
    loaded: list[Vintage] = []
    for vintage in (first, revision, reverted, between):
        assert counts(load_vintage(db_url, vintage, tmp_path)) == expected_counts(vintage, loaded), vintage.commit
        loaded.append(vintage)
    assert expected_counts(between, loaded[:3])[4] == 1  # the key it revised; not the one put back
    for vintage in loaded:
        assert as_of_rows(db_url, COUNTIES, vintage.at + timedelta(minutes=1)) == vintage.table(), vintage.commit
    assert sorted(revisions(db_url, COUNTIES), key=repr) == expected_revisions(loaded)


def test_generated_publications_store_the_same_changes_whatever_the_order(db_url, postgres_server, tmp_path):
    series = generated_series(seed=7)
    databases = {name: postgres_server.create_database(f"history_{name.replace('-', '_')}") for name in ORDERS}
    for name, order in ORDERS.items():
        for index in order:
            load_vintage(databases[name], series[index], tmp_path)
    stored = {name: changes(url, COUNTIES) for name, url in databases.items()}
    assert all(found == stored["oldest-first"] for found in stored.values())
    assert any(row[4] == "-" for row in stored["oldest-first"])  # deletions are recorded
    assert any(row[4] == "+" for row in stored["oldest-first"])  # and first appearances after the first publication


# -- a backfill's publication is compared with the nearer of the publications loaded around it --------------

WIDE_AREAS = [(f"State {s}", f"County {c:03d}") for s in range(3) for c in range(100)]  # ~40 lines a 512-byte chunk


def wide_series(publications: int = 5) -> list[Vintage]:
    """Daily publications of 300 counties a day (many chunks a day), each one day more than the one before,
    two past rows revised, and from the third on a past key dropped."""
    rng = random.Random(5)
    first = date(2021, 3, 1)
    rows: dict[tuple, tuple] = {}
    series = []
    for number in range(publications):
        for back in range(8 if number == 0 else 1):
            day = first + timedelta(days=number + 7 - back if number == 0 else number + 7)
            for state, county in WIDE_AREAS:
                cases = rng.randint(100, 900)
                rows[(day, state, county)] = ("16001", cases, cases // 20)
        for key in rng.sample(sorted(rows), 2):
            fips, cases, deaths = rows[key]
            rows[key] = (fips, cases + 1, deaths)
        if number >= 2:
            rows.pop(rng.choice(sorted(rows)))
        series.append(
            Vintage(f"wide{number}", datetime(2021, 4, 1, 6, tzinfo=UTC) + timedelta(days=number), dict(rows))
        )
    return series


@pytest.mark.parametrize(
    ("shift", "nearer"),
    [
        pytest.param(timedelta(hours=-20), "previous", id="nearer-the-previous"),
        pytest.param(timedelta(hours=20), "next", id="nearer-the-next"),
    ],
)
def test_a_backfills_publication_is_compared_with_its_nearer_loaded_neighbour_and_sends_a_few_of_its_rows(
    db_url, postgres_server, tmp_path, shift, nearer
):
    series = wide_series()
    middle = series[2]
    series[2] = Vintage(middle.commit, middle.at + shift, middle.rows)  # published nearer one of its neighbours
    for index in (0, 4, 1, 3):
        load_vintage(db_url, series[index], tmp_path)
    path = tmp_path / "middle.csv"
    path.write_text(series[2].text())
    result = load_file(db_url, "counties", path, at=series[2].at, commit=series[2].commit)
    how = result.files["us-counties.csv"]
    assert how.startswith("compared with fingerprints") and result.sent < result.rows / 4, (nearer, how)
    assert table_rows(db_url, COUNTIES) == series[4].table()
    for vintage in series:
        assert as_of_rows(db_url, COUNTIES, vintage.at + timedelta(minutes=1)) == vintage.table(), vintage.commit
    oldest_first = postgres_server.create_database(f"wide_oldest_first_{nearer}")
    for vintage in series:
        load_vintage(oldest_first, vintage, tmp_path)
    assert changes(db_url, COUNTIES) == changes(oldest_first, COUNTIES)
    assert sorted(revisions(db_url, COUNTIES), key=repr) == expected_revisions(series)


# -- yearly files: each publication covers its own dates -------------------------------------------------


def county_lines(rows: list[tuple]) -> str:
    lines = [HEADER] + [
        f"{d.isoformat()},{county},{state},,{cases},{deaths}" for d, state, county, cases, deaths in rows
    ]
    return "\n".join(lines) + "\n"


def test_a_yearly_file_replaces_only_its_years_rows_and_the_whole_file_came_before(db_url, tmp_path):
    whole = [
        (date(2020, 12, 31), "Utah", "Kane", 5, 0),
        (date(2020, 12, 31), "Utah", "York", 6, 0),
        (date(2021, 1, 1), "Utah", "Kane", 7, 0),
        (date(2021, 1, 1), "Utah", "York", 8, 0),
    ]
    year_2021 = [(date(2021, 1, 1), "Utah", "Kane", 9, 1)]  # York dropped, Kane revised
    for name, rows in (("whole", whole), ("2021", year_2021)):
        (tmp_path / f"{name}.csv").write_text(county_lines(rows))
    at = datetime(2022, 5, 1, tzinfo=UTC)
    load_file(db_url, "counties", tmp_path / "2021.csv", at=at + timedelta(days=1), commit="y2021",
              part="us-counties-2021.csv")  # fmt: skip
    load_file(db_url, "counties", tmp_path / "whole.csv", at=at, commit="whole")  # older, loaded later
    expected = [(d, s, c, None, cases, deaths) for d, s, c, cases, deaths in (*whole[:2], *year_2021)]
    assert table_rows(db_url, COUNTIES) == expected  # 2020 from the whole file, 2021 from the yearly one
    as_of_whole = [(d, s, c, None, cases, deaths) for d, s, c, cases, deaths in whole]
    assert as_of_rows(db_url, COUNTIES, at + timedelta(hours=1)) == as_of_whole
    assert as_of_rows(db_url, COUNTIES, at + timedelta(days=2)) == expected


def test_a_yearly_file_holding_another_years_date_is_rejected_naming_the_line(db_url, tmp_path):
    from covid_etl.errors import InvalidSourceError

    (tmp_path / "2021.csv").write_text(county_lines([(date(2020, 12, 31), "Utah", "Kane", 5, 0)]))
    with pytest.raises(InvalidSourceError, match="line 2: date outside the dates this file holds") as raised:
        load_file(db_url, "counties", tmp_path / "2021.csv", at=datetime(2022, 5, 1, tzinfo=UTC), commit="y",
                  part="us-counties-2021.csv")  # fmt: skip
    assert raised.value.value == "2020-12-31"
    assert table_rows(db_url, COUNTIES) == []


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        pytest.param(
            # (its fingerprints first: their own foreign key would refuse before)
            "DELETE FROM dataset_fingerprinted; DELETE FROM dataset_fingerprints;"
            " DELETE FROM dataset_publications WHERE commit = 'states-newer'",
            r"publication \d+ is named by covid_us_state_daily_changes: it cannot be deleted",
            id="deleting-a-publication-the-history-names",
        ),
        pytest.param(
            "INSERT INTO covid_us_state_daily_changes (date, state, publication, change, new_fips, new_cases,"
            " new_deaths) VALUES ('2020-03-01', 'Atlantis', 999, '+', '99', 1, 0)",
            "covid_us_state_daily_changes names publications that dataset_publications lacks: 999",
            id="writing-a-change-of-no-publication",
        ),
        pytest.param(
            "UPDATE covid_us_state_daily_changes SET publication = 999",
            "covid_us_state_daily_changes names publications that dataset_publications lacks: 999",
            id="moving-changes-to-no-publication",
        ),
    ],
)
def test_the_history_names_only_loaded_publications_and_none_it_names_can_be_deleted(
    db_url, tmp_path, statement, problem
):
    load_vintages(db_url, STATES, STATE_VINTAGES, ("older", "newer"), tmp_path)
    before = changes(db_url, STATES)
    assert before  # the newer vintage's changes name it
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match=problem):
        with psycopg.connect(db_url) as conn:
            conn.execute(statement)
    assert changes(db_url, STATES) == before
