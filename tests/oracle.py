"""Independent computations the tests compare the pipeline against: the standard library on raw CSV text.

Nothing here imports the project's parsing, merge or loader code, so a bug there cannot hide in both.
"""

from __future__ import annotations

import csv
import io

import psycopg

from support import fixture_text

Table = dict[str, tuple[int, int, int | None]]


def independent_merge(nyt_name: str, jhu_name: str) -> Table:
    """What covid_us_daily must hold after loading two fixture files: NYT cases and deaths, JHU's US recovered.

    JHU's US recovered is 0 from 2020-12-14 on, meaning "not reported": a 0 after a positive value is NULL.
    """
    nyt = {row["date"]: (int(row["cases"]), int(row["deaths"])) for row in _rows(nyt_name)}
    us_rows = sorted(
        (row["Date"], int(row["Recovered"]))
        for row in _rows(jhu_name)
        if row["Country/Region"] == "US" and row["Province/State"] == ""
    )
    recovered, reported_before = {}, False
    for day, value in us_rows:
        reported_before = reported_before or value > 0
        recovered[day] = None if reported_before and value == 0 else value
    return {day: (*nyt[day], recovered[day]) for day in sorted(nyt.keys() & recovered.keys())}


def _rows(name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(fixture_text(name))))


def expected_counts(before: Table, after: Table) -> tuple[int, int, int]:
    inserted = sum(1 for day in after if day not in before)
    updated = sum(1 for day, values in after.items() if day in before and before[day] != values)
    return inserted, updated, len(after) - inserted - updated


def stored_table(db_url: str) -> Table:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT date::text, cases, deaths, recovered FROM covid_us_daily ORDER BY date")
        return {day: (cases, deaths, recovered) for day, cases, deaths, recovered in rows}


def last_counts(db_url: str) -> tuple[str, int, int, int]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT status, rows_inserted, rows_updated, rows_unchanged FROM etl_runs ORDER BY id DESC LIMIT 1"
        ).fetchone()


def revised_days(older: str, newer: str) -> list[str]:
    """The days two NYT versions share whose cases or deaths differ, sorted."""
    old = {row["date"]: (row["cases"], row["deaths"]) for row in _rows(older)}
    new = {row["date"]: (row["cases"], row["deaths"]) for row in _rows(newer)}
    return sorted(day for day in old.keys() & new.keys() if old[day] != new[day])
