"""What the dashboard shows, computed on a worker and published as the ``publish_dashboard`` task's XCom.

On MWAA the API server, which serves the dashboard, runs in the service's own VPC without a route to
the private database; only schedulers and workers reach it. So the workers read the tables after each
load and publish a compact document into Airflow's metadata database (the XCom), which the plugin
reads with the caller's permissions checked. The document is a contract with
``plugins/covid_dashboard/data.py``: bump :data:`PAYLOAD_VERSION` when its shape changes.
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections.abc import Sequence
from contextlib import closing
from datetime import date, datetime
from typing import Any

from covid_etl.sql import read_sql

log = logging.getLogger(__name__)

PAYLOAD_VERSION = 4
RUN_LIMIT = 10
# The most history entries the document carries (about 30 bytes each): beyond it, publications are
# thinned (see thin_history), so the document stays below the megabyte an XCom should not exceed.
MAX_HISTORY_ENTRIES = 10_000
# The values each source contributes, in the order the history's rows carry them.
SOURCE_VALUES = {"NYT": ("cases", "deaths"), "JHU": ("recovered",)}


def daily_columns(rows: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """[date, cases, deaths, recovered] rows, sorted by date, as one array per column from the first date.

    Element i is the value on first_date + i days; a date without a row holds None in every column
    (recovered is also None on dates JHU did not report it).
    """
    if not rows:
        return {"first_date": None, "cases": [], "deaths": [], "recovered": []}
    first = _as_date(rows[0][0])
    span = (_as_date(rows[-1][0]) - first).days + 1
    columns: dict[str, list] = {name: [None] * span for name in ("cases", "deaths", "recovered")}
    for day, cases, deaths, recovered in rows:
        offset = (_as_date(day) - first).days
        columns["cases"][offset], columns["deaths"][offset], columns["recovered"][offset] = cases, deaths, recovered
    return {"first_date": first.isoformat(), **columns}


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _iso(value: datetime | str | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def thin_history(changes: list[list], publications: int, keep_every: int) -> list[list]:
    """The changes as they would be had only every ``keep_every``-th publication (and the last) been loaded.

    Each change [publication index, day offset, values...] moves to the next kept publication; per kept
    publication and day the latest change wins, and one that repeats the day's previous value is dropped.
    """
    kept = sorted({*range(keep_every - 1, publications, keep_every), publications - 1})

    def bucket(index: int) -> int:
        return kept[bisect_left(kept, index)]

    latest: dict[tuple[int, int], list] = {}
    for change in changes:
        latest[(bucket(change[0]), change[1])] = [bucket(change[0]), *change[1:]]
    thinned, previous = [], {}
    for change in sorted(latest.values(), key=lambda c: (c[0], c[1])):
        if previous.get(change[1]) != change[2:]:
            thinned.append(change)
            previous[change[1]] = change[2:]
    return thinned


def history_columns(
    publications: Sequence[Sequence[Any]], history: Sequence[Sequence[Any]], *, max_entries: int = MAX_HISTORY_ENTRIES
) -> dict[str, Any]:
    """The history, compactly: per source its publications [published_at, commit] in order, and its changes
    [publication index, day offset from first_date, values...] (NYT: cases, deaths; JHU: recovered).

    When there are more than ``max_entries`` changes, publications are thinned (every 2nd, 4th, ...
    kept) until they fit, and ``thinned_to_every`` says how far.
    """
    index: dict[tuple[str, str], int] = {}
    listed: dict[str, list] = {source: [] for source in SOURCE_VALUES}
    for source, ident, commit, published_at in publications:
        index[(source, ident)] = len(listed[source])
        listed[source].append([_iso(published_at), commit])
    first = min((_as_date(row[2]) for row in history), default=None)
    full: dict[str, list] = {source: [] for source in SOURCE_VALUES}
    for source, ident, day, cases, deaths, recovered in history:
        values = {"cases": cases, "deaths": deaths, "recovered": recovered}
        full[source].append(
            [index[(source, ident)], (_as_date(day) - first).days, *(values[v] for v in SOURCE_VALUES[source])]
        )
    changes, keep_every = full, 1
    while sum(map(len, changes.values())) > max_entries:
        keep_every *= 2
        changes = {source: thin_history(full[source], len(listed[source]), keep_every) for source in SOURCE_VALUES}
    if keep_every > 1:  # the publications no change points to any more are left out too
        for source in SOURCE_VALUES:
            kept = sorted({change[0] for change in changes[source]})
            place = {index: position for position, index in enumerate(kept)}
            listed[source] = [listed[source][index] for index in kept]
            changes[source] = [[place[change[0]], *change[1:]] for change in changes[source]]
    return {
        "first_date": first and first.isoformat(),
        "thinned_to_every": keep_every,
        **{source: {"publications": listed[source], "changes": changes[source]} for source in SOURCE_VALUES},
    }


# The datasets whose revisions the document carries, and their keys' widths.
REVISED_KEYS = {"states": 2, "counties": 3}


def revisions_columns(found: dict[str, Any], key_width: int) -> dict[str, Any]:
    """A dataset's revisions (dashboard_revisions.sql), compactly: its publications [published_at, commit]
    once each, and per revision [the key's columns, publication index, old_cases, new_cases, old_deaths,
    new_deaths]."""
    publications: dict[tuple, int] = {}
    rows = []
    for row in found["rows"]:
        published = (row[key_width], row[key_width + 1])
        index = publications.setdefault(published, len(publications))
        rows.append([*row[:key_width], index, *row[key_width + 2 :]])
    return {"total": found["total"], "publications": [list(published) for published in publications], "rows": rows}


def states_columns(states: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """[date, state, fips, avg7] rows (every 7th date) as the map's columns: per date, per state, the
    7-day average of new cases per 100,000 people (None where unknown)."""
    from covid_etl.publish.population import per_100k, populations

    by_state, _ = populations()
    dates = sorted({_as_date(row[0]).isoformat() for row in states})
    names = sorted({row[1] for row in states})
    fips = {row[1]: row[2] for row in states}
    value = {(_as_date(day).isoformat(), state): avg7 for day, state, _, avg7 in states}
    return {
        "dates": dates,
        "states": [[name, fips[name], by_state.get(name)] for name in names],
        "avg7_per_100k": [[per_100k(value.get((day, name)), by_state.get(name)) for name in names] for day in dates],
    }


def counties_rows(counties: Sequence[Sequence[Any]]) -> list[list]:
    """[state, county, fips, cases, deaths, avg7] on the latest date, with the average per 100,000 people."""
    from covid_etl.publish.population import per_100k, populations

    _, by_county = populations()
    return [
        [state, county, fips, cases, deaths, per_100k(avg7, by_county.get((state, county)))]
        for state, county, fips, cases, deaths, avg7 in counties
    ]


def build_payload(
    *,
    days: Sequence[Sequence[Any]],
    runs: Sequence[dict],
    last_success_at: datetime | str | None,
    run_id: str,
    publications: Sequence[Sequence[Any]] = (),
    history: Sequence[Sequence[Any]] = (),
    states: Sequence[Sequence[Any]] = (),
    counties: Sequence[Sequence[Any]] = (),
    revisions: dict[str, dict] | None = None,
) -> dict[str, Any]:
    """The published document.

    :param days: rows of covid_us_daily as [date, cases, deaths, recovered], sorted by date.
    :param runs: the last rows of etl_runs, newest first, as JSON objects.
    :param last_success_at: when the last successful run finished, or None.
    :param run_id: the run publishing it.
    :param publications: [source, ident, commit, published_at] per loaded publication, in publication order.
    :param history: [source, ident, date, cases, deaths, recovered] per change, in publication order.
    :param states: [date, state, fips, avg7] of every 7th date (dashboard_states.sql).
    :param counties: [state, county, fips, cases, deaths, avg7] on the latest date.
    :param revisions: per dataset (states, counties), its newest revisions and their total
        (dashboard_revisions.sql).
    """
    return {
        "version": PAYLOAD_VERSION,
        "run_id": run_id,
        "national": daily_columns(days),
        "runs": list(runs),
        "last_success_at": _iso(last_success_at),
        "history": history_columns(publications, history),
        "states": states_columns(states),
        "counties": counties_rows(counties),
        "revisions": {
            name: revisions_columns((revisions or {}).get(name) or {"total": 0, "rows": []}, width)
            for name, width in REVISED_KEYS.items()
        },
    }


# The states and counties views.
DATASET_VIEWS = ("dashboard_states", "dashboard_counties")
# The most revisions of each of states and counties the document carries, newest first (about 70 bytes
# each): the revisions view lists these, and says how many there are in all (docs/adr/0006).
MAX_REVISIONS = 1500


def read_payload(conn: Any, *, run_id: str) -> dict[str, Any]:
    """Read the tables on ``conn`` (psycopg2 or psycopg 3) into the published document."""
    from covid_etl.load.database import ensure_schema
    from covid_etl.sources.specs import COUNTIES, STATES
    from covid_etl.sql import render

    ensure_schema(conn)  # a fresh database has empty tables: an empty dashboard
    with closing(conn.cursor()) as cursor:
        cursor.execute(read_sql("dashboard"), {"run_limit": RUN_LIMIT})
        days, runs, last_success_at, publications, history = cursor.fetchone()
        states, counties = (_one(cursor, read_sql(view)) for view in DATASET_VIEWS)
        revisions = {
            dataset.name: _one(cursor, render("dashboard_revisions", dataset), {"limit": MAX_REVISIONS})
            for dataset in (STATES, COUNTIES)
        }
    conn.commit()
    payload = build_payload(
        days=days,
        runs=runs,
        last_success_at=last_success_at,
        run_id=run_id,
        publications=publications,
        history=history,
        states=states,
        counties=counties,
        revisions=revisions,
    )
    log.info("Dashboard: %s days, %s runs, %s history entries", len(days), len(runs), len(history))
    return payload


def _one(cursor: Any, sql: str, parameters: dict | None = None) -> Any:
    cursor.execute(sql, parameters)
    return cursor.fetchone()[0]
