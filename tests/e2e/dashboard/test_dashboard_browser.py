"""End to end: a real Airflow 3.3.1 loads real files through the DAG, and a headless Chromium logs in,
clicks "COVID-19" in the navigation and reads the charts, which must plot exactly the loaded rows.

As on MWAA, the API server that serves the page cannot reach the pipeline's database (its covid_db
points at a closed port); the workers can. The page shows what the run's publish_dashboard published.

One stack per session (tests/conftest.py, local_airflow) and a browser session per view: Airflow's
components on an embedded PostgreSQL, the covid_etl DAG triggered through the REST API on fixture files
served over HTTP. The data is the real NYT us.csv and JHU combined series (in its current layout,
without Lat and Long), so recovered is NULL from 2020-12-14, and the small state and county files;
before the run, two earlier versions of the county file were loaded (conftest.py), so the revisions
view has a county to pick.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

import httpx
import psycopg
import pytest
from dashboard_helpers import NEW_YORK_CITY, ROOT, Day, connect, expected_derived
from dashboard_readability import (
    AXES,
    MAP,
    SHOW_STATES,
    inside,
    is_correctly_rounded,
    lowest_contrast,
    required_ratio,
    texts_of,
)
from dashboard_svg import path_segments
from headless_chromium import Chromium
from psycopg.rows import dict_row

from airflow_client import HTTP_TIMEOUT
from airflow_stack import USERNAME
from devstack import LocalPostgres
from oracle import independent_merge

# The screenshots `make screenshots` regenerates (UPDATE_SCREENSHOT=1); otherwise they go to build/.
SCREENSHOTS = ROOT / "docs" / "images" if os.environ.get("UPDATE_SCREENSHOT") else ROOT / "build"
# The county the revisions view is asked for (conftest.py loads its earlier publications).
COUNTY = NEW_YORK_CITY
# The revisions view is read as of this day, tracing this day's published values (after the backfill).
AS_OF, TRACED_DAY = "2021-03-12", "2021-03-08"
EXTRACT_REVISIONS = """(() => ({
  cases: [...document.querySelectorAll('g.points[data-series="cases"] circle')].map(
    c => [c.dataset.date, Number(c.dataset.value)]),
  asOf: document.querySelector('#as-of time') && document.querySelector('#as-of time').textContent,
  revisions: [...document.querySelectorAll('#revisions tbody tr')].map(
    tr => [tr.dataset.source, tr.dataset.publishedAt, Number(tr.cells[3].textContent.replace(/,/g, ''))]),
  steps: Object.fromEntries([...document.querySelectorAll('svg.step')].map(svg => [svg.id,
    [...svg.querySelectorAll('circle')].map(c => [c.dataset.publishedAt, Number(c.dataset.value)])])),
}))()"""
# What the stack's runs load (tests/conftest.py, local_airflow): the real current-layout files.
NYT, JHU = "real/nyt-us-2023-01-24.csv", "real/jhu-combined-2021-03-17.csv"
VIEWPORT = (1280, 1180)
TERMINAL = {"success", "failed"}

# Everything the test reads from the dashboard, collected in the page inside the UI's iframe.
EXTRACT = """(() => {
  const frame = document.querySelector('iframe[title="COVID-19"]');
  const doc = frame.contentDocument;
  const series = {};
  for (const group of doc.querySelectorAll('g.points')) {
    series[group.dataset.series] = [...group.querySelectorAll('circle')].map(
      c => [c.dataset.date, Number(c.dataset.value), Number(c.getAttribute('cx')), Number(c.getAttribute('cy'))]);
  }
  const paths = {};
  for (const path of doc.querySelectorAll('path[data-series]')) paths[path.dataset.series] = path.getAttribute('d');
  const box = doc.getElementById('chart-recovered').getBoundingClientRect();
  return {
    frameUrl: doc.location.href,
    series, paths,
    gaps: [...doc.querySelectorAll('g.gap')].map(g => [g.dataset.series, g.dataset.from, g.dataset.to]),
    runs: [...doc.querySelectorAll('#runs tbody tr')].map(tr => [...tr.cells].map(td => td.textContent)),
    lastSuccess: doc.getElementById('last-success').textContent,
    publishedBy: doc.getElementById('published-by').textContent,
    recoveredChartSize: [box.width, box.height],
  };
})()"""
CHARTS_READY = """(() => {
  const frame = document.querySelector('iframe[title="COVID-19"]');
  const doc = frame && frame.contentDocument;
  return !!doc && doc.readyState === 'complete' && doc.querySelectorAll('svg.chart:not(.step)').length === 5;
})()"""


@pytest.fixture(scope="module")
def stack(local_airflow):
    return local_airflow


@pytest.fixture(scope="module")
def api(stack):
    """A REST client logged in as the stack's admin, through SimpleAuthManager's POST /auth/token."""
    response = httpx.post(
        f"{stack.url}/auth/token", json={"username": USERNAME, "password": stack.password()}, timeout=HTTP_TIMEOUT
    )
    assert response.status_code == 201, response.text
    token = response.json()["access_token"]
    with httpx.Client(base_url=stack.url, headers={"Authorization": f"Bearer {token}"}, timeout=HTTP_TIMEOUT) as client:
        client.token = token
        yield client


def count(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


def wait(predicate, what: str, timeout: float):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(1)
    return value


@pytest.fixture(scope="module")
def loaded(stack, api, backfilled, earlier_county_publications):
    """Trigger covid_etl through the REST API on the fixture files (after the earlier county files); wait
    until no run is active.

    Returns the rows of covid_us_daily and etl_runs as the dashboard must show them."""
    wait(lambda: api.get("/api/v2/dags/covid_etl").status_code == 200, "the DAG to be parsed", 90)
    triggered = api.post("/api/v2/dags/covid_etl/dagRuns", json={"logical_date": None, "conf": stack.sources})
    assert triggered.status_code == 200, triggered.text
    run_id = triggered.json()["dag_run_id"]
    state = wait(
        lambda: (s := api.get(f"/api/v2/dags/covid_etl/dagRuns/{run_id}").json()["state"]) in TERMINAL and s,
        f"run {run_id}",
        150,
    )
    assert state == "success"
    # The scheduler's own run (same files) may still be going: let it finish so the tables hold still.
    wait(
        lambda: all(r["state"] in TERMINAL for r in api.get("/api/v2/dags/covid_etl/dagRuns").json()["dag_runs"]),
        "every run to finish",
        150,
    )
    with connect(LocalPostgres(stack.pg_data, port=stack.pg_port).url) as conn:
        conn.row_factory = dict_row
        days = [
            Day(r["date"], r["cases"], r["deaths"], r["recovered"])
            for r in conn.execute("SELECT date, cases, deaths, recovered FROM covid_us_daily ORDER BY date")
        ]
        runs = conn.execute("SELECT * FROM etl_runs ORDER BY started_at DESC, id DESC").fetchall()
    return {"run_id": run_id, "days": days, "runs": runs}


def log_in(browser, stack) -> None:
    """Open the UI and sign in through the auth manager's form, as a user does."""
    browser.navigate(f"{stack.url}/")
    # Not logged in: the UI sends the browser to the auth manager's login form.
    browser.wait_for("!!document.querySelector('input[name=password]')", "the login form")
    browser.type_into("input[name=username]", USERNAME)
    browser.type_into("input[name=password]", stack.password())
    browser.wait_for("!document.querySelector('button[type=submit]').disabled", "the sign-in button")
    browser.evaluate("document.querySelector('button[type=submit]').click()")


@pytest.fixture(scope="module")
def dashboard(stack, loaded, tmp_path_factory):
    """Log in through the UI's form, click the nav entry, wait for the charts; read them and screenshot."""
    folder = tmp_path_factory.mktemp("chromium")
    with Chromium(folder / "profile", *VIEWPORT) as browser:
        log_in(browser, stack)
        nav = browser.wait_for(
            "[...document.querySelectorAll('a')].filter(a => a.textContent.trim() === 'COVID-19')"
            ".map(a => a.getAttribute('href'))",
            "the COVID-19 navigation entry",
        )
        browser.evaluate("[...document.querySelectorAll('a')].find(a => a.textContent.trim() === 'COVID-19').click()")
        browser.wait_for(CHARTS_READY, "the dashboard's five charts", timeout=30)
        page_url = browser.evaluate("location.href")
        seen = browser.evaluate(EXTRACT)
        screenshot = browser.screenshot(SCREENSHOTS / "dashboard.png")
        # The revisions view and the "as of" control, as a user submits them: the page's own form.
        browser.navigate(f"{stack.url}/covid/")
        browser.wait_for("!!document.querySelector('#controls')", "the dashboard's controls")
        browser.evaluate(
            f"document.querySelector('input[name=as_of]').value = '{AS_OF}';"
            f"document.querySelector('input[name=day]').value = '{TRACED_DAY}';"
            "document.querySelector('#controls').submit()"
        )
        browser.wait_for("!!document.querySelector('#as-of') && !!document.querySelector('svg.step')", "the as-of view")
        revisions = browser.evaluate(EXTRACT_REVISIONS)
        revisions["url"] = browser.evaluate("location.href")
        revisions["axes"] = browser.evaluate(AXES)
        browser.evaluate("document.getElementById('revisions-view').scrollIntoView()")
        browser.screenshot(SCREENSHOTS / "revisions.png")
    return {"nav": nav, "page_url": page_url, "screenshot": screenshot, "revisions_view": revisions, **seen}


@pytest.mark.parametrize("path", ["/covid/", "/covid/api/daily"])
def test_the_running_api_server_answers_anonymous_requests_with_401(stack, path):
    response = httpx.get(f"{stack.url}{path}", timeout=HTTP_TIMEOUT)

    assert response.status_code == 401
    assert "cases" not in response.text


@pytest.mark.parametrize("path", ["/covid/", "/covid/api/daily"])
def test_the_running_api_server_refuses_a_forged_token_with_403(stack, api, path):
    forged = api.token[:-4] + ("AAAA" if not api.token.endswith("AAAA") else "BBBB")

    assert (
        httpx.get(f"{stack.url}{path}", headers={"Authorization": f"Bearer {forged}"}, timeout=HTTP_TIMEOUT).status_code
        == 403
    )
    assert httpx.get(f"{stack.url}{path}", cookies={"_token": forged}, timeout=HTTP_TIMEOUT).status_code == 403


def test_the_json_endpoint_serves_the_rows_the_dag_loaded(api, loaded):
    body = api.get("/covid/api/daily").json()

    assert [(d["date"], d["cases"], d["deaths"], d["recovered"]) for d in body["days"]] == [
        (d.date.isoformat(), d.cases, d.deaths, d.recovered) for d in loaded["days"]
    ]
    assert body["runs"][0]["run_id"] == loaded["runs"][0]["run_id"]


def test_the_api_server_serving_the_page_has_no_route_to_the_pipeline_database(stack, loaded):
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(stack.state()["api_server_covid_db"], connect_timeout=3).close()


def test_the_page_names_the_run_that_published_its_data(dashboard, loaded):
    assert dashboard["publishedBy"] in {r["run_id"] for r in loaded["runs"]}


def test_the_nav_entry_opens_the_dashboard_inside_the_airflow_ui(stack, dashboard):
    assert dashboard["nav"] == ["/plugin/covid"]
    assert dashboard["page_url"] == f"{stack.url}/plugin/covid"
    assert dashboard["frameUrl"] == f"{stack.url}/covid/"
    width, height = dashboard["recoveredChartSize"]
    assert width > 300 and height > 100  # laid out, not collapsed


def test_the_loaded_data_has_what_the_checks_below_need(loaded):
    # The real files (current JHU layout): recovered reported until 2020-12-13 and NULL after.
    days = loaded["days"]
    assert len(days) == len(independent_merge(NYT, JHU)) == 420
    assert any(d.recovered is None for d in days) and any(d.recovered for d in days)


@pytest.mark.parametrize("column", ["cases", "deaths", "recovered"])
def test_the_cumulative_charts_plot_exactly_the_rows_of_covid_us_daily(dashboard, loaded, column):
    plotted = [(d, v) for d, v, _, _ in dashboard["series"][column]]

    assert plotted == [
        (d.date.isoformat(), getattr(d, column)) for d in loaded["days"] if getattr(d, column) is not None
    ]


@pytest.mark.parametrize("column", ["new_cases", "new_deaths", "new_cases_avg7", "new_deaths_avg7"])
def test_the_daily_charts_plot_the_new_values_and_7_day_averages_of_the_rows(dashboard, loaded, column):
    expected = expected_derived(loaded["days"])
    want = [(day.isoformat(), values[column]) for day, values in sorted(expected.items()) if values[column] is not None]
    plotted = [(d, v) for d, v, _, _ in dashboard["series"][column]]

    assert [d for d, _ in plotted] == [d for d, _ in want]
    assert [v for _, v in plotted] == pytest.approx([v for _, v in want], abs=0.0051)


def test_null_recovered_days_are_a_gap_in_the_line_not_a_drop_to_zero(dashboard, loaded):
    unknown = [d.date.isoformat() for d in loaded["days"] if d.recovered is None]
    last_reported = max(d.date for d in loaded["days"] if d.recovered is not None).isoformat()
    first_positive = min(d.date for d in loaded["days"] if d.recovered).isoformat()
    points = dashboard["series"]["recovered"]

    assert not {d for d, _, _, _ in points} & set(unknown)
    # The only zeros plotted are the real ones, before the first recovery was reported.
    assert all(d < first_positive for d, v, _, _ in points if v == 0)
    # The line stops at the last reported day: nothing is drawn over the unknown dates.
    segments = path_segments(dashboard["paths"]["recovered"])
    end_of_line = next((x, y) for d, _, x, y in points if d == last_reported)
    assert len(segments) == 1
    assert segments[0][-1] == pytest.approx(end_of_line)
    assert max(x for x, _ in segments[0]) == pytest.approx(end_of_line[0])
    # And the unknown stretch is labelled as such.
    assert dashboard["gaps"] == [["recovered", unknown[0], unknown[-1]]]


def test_the_last_successful_load_and_the_last_runs_are_shown(dashboard, loaded):
    runs = loaded["runs"]
    last_success = max(r["finished_at"] for r in runs if r["status"] == "success")

    assert dashboard["lastSuccess"] == last_success.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    shown = [(cells[1], cells[2], cells[3], cells[4], cells[5], cells[7]) for cells in dashboard["runs"]]
    assert shown == [
        (
            r["status"],
            count(r["rows_inserted"]),
            count(r["rows_updated"]),
            count(r["rows_unchanged"]),
            count(r["rows_stale"]),
            r["run_id"],
        )
        for r in runs[:10]
    ]
    assert loaded["run_id"] in [r["run_id"] for r in runs]


def test_a_screenshot_of_the_dashboard_is_saved(dashboard):
    png = dashboard["screenshot"]

    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert (int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")) == VIEWPORT
    assert len(png) < 400_000


def _db(stack):
    return connect(LocalPostgres(stack.pg_data, port=stack.pg_port).url)


def test_the_as_of_view_plots_the_table_as_the_backfilled_publications_made_it_then(stack, dashboard):
    view = dashboard["revisions_view"]
    with _db(stack) as conn:
        rows = conn.execute(
            "SELECT date::text, cases"
            " FROM covid_us_daily_as_of(%s::date + interval '1 day' - interval '1 microsecond')",
            (AS_OF,),
        ).fetchall()
    assert view["asOf"] == AS_OF and f"as_of={AS_OF}" in view["url"]
    assert [tuple(point) for point in view["cases"]] == [tuple(row) for row in rows]
    assert rows[-1][0] == "2021-03-11"  # the NYT publication of 2021-03-12 ends the day before


def test_the_revisions_table_counts_the_days_each_publication_revised(stack, dashboard):
    with _db(stack) as conn:
        expected = conn.execute(
            "SELECT upper(p.dataset) AS source, p.published_at, count(r.date) FROM dataset_publications p"
            " LEFT JOIN covid_us_daily_revisions r ON r.source = upper(p.dataset) AND r.published_at = p.published_at"
            " WHERE p.dataset IN ('nyt', 'jhu')"
            " GROUP BY 1, p.published_at ORDER BY p.published_at DESC, 1 DESC"
        ).fetchall()
    shown = [
        (source, datetime.fromisoformat(at), count) for source, at, count in dashboard["revisions_view"]["revisions"]
    ]
    assert shown == [(source, at, count) for source, at, count in expected]
    assert any(count == 3 for source, _, count in shown if source == "NYT")  # a backfilled day's revisions


def published_values(conn, dataset: str, day: str) -> list[tuple]:
    """The day's values in each publication of a national source that changed them, in publication order:
    the source's table as of each of its publications (the pipeline's own as-of function), kept where
    they differ from the previous one."""
    values = "d.cases, d.deaths" if dataset == "nyt" else "d.recovered"
    rows = conn.execute(
        f"SELECT p.published_at, {values} FROM dataset_publications p"
        f" CROSS JOIN LATERAL {dataset}_us_daily_as_of(p.published_at) d"
        " WHERE p.dataset = %s AND d.date = %s ORDER BY p.published_at, p.ident",
        (dataset, day),
    ).fetchall()
    return [row for i, row in enumerate(rows) if i == 0 or row[1:] != rows[i - 1][1:]]


def test_the_traced_days_step_charts_plot_each_published_value(stack, dashboard):
    steps = dashboard["revisions_view"]["steps"]
    with _db(stack) as conn:
        nyt, jhu = published_values(conn, "nyt", TRACED_DAY), published_values(conn, "jhu", TRACED_DAY)
    by_chart = {"chart-step-cases": (nyt, 1), "chart-step-deaths": (nyt, 2), "chart-step-recovered": (jhu, 1)}
    for chart, (rows, column) in by_chart.items():
        want = [(row[0], row[column]) for row in rows if row[column] is not None]
        assert [(datetime.fromisoformat(at), value) for at, value in steps[chart]] == want, chart
    assert len(steps["chart-step-cases"]) >= 4


def _expected_state_averages(stack, day: str) -> dict[str, float | None]:
    """Per state, the 7-day average of new cases per 100,000 on ``day``, computed here from the table
    and the reference populations (csv module)."""
    import csv as csv_module

    population = {
        row["Province_State"]: int(row["Population"])
        for row in csv_module.DictReader((ROOT / "include" / "data" / "jhu-reference.csv").open())
        if row["Country_Region"] == "US" and not row["Admin2"] and len(row["FIPS"]) == 2 and row["Population"]
    }
    with _db(stack) as conn:
        rows = conn.execute("SELECT state, date, cases FROM covid_us_state_daily ORDER BY state, date").fetchall()
    cases = {(state, d.isoformat()): c for state, d, c in rows}
    from datetime import date as date_type
    from datetime import timedelta as delta

    target = date_type.fromisoformat(day)
    result = {}
    for state in {state for state, _, _ in rows}:
        days = [(target - delta(days=k)).isoformat() for k in range(8)]
        if all((state, d) in cases for d in days) and population.get(state):
            # The mean of the 7 daily new counts telescopes; rounded half away from zero, as SQL's round.
            average = (Decimal(cases[(state, days[0])] - cases[(state, days[7])]) / 7).quantize(
                Decimal("0.01"), rounding=ROUND_HALF_UP
            )
            result[state] = round(float(average) * 100_000 / population[state], 2)
        else:
            result[state] = None
    return result


def test_the_states_map_colours_each_state_by_its_average_per_100k(stack, states_view):
    expected = _expected_state_averages(stack, states_view["date"])
    shown = {state: (float(value) if value else None) for state, value in states_view["tiles"]}
    assert set(shown) <= set(expected) and len(shown) >= 50
    assert {state: value for state, value in shown.items()} == {state: expected[state] for state in shown}
    assert any(value for value in shown.values())


def test_a_chosen_states_counties_are_listed_with_their_counts(stack, states_view):
    with _db(stack) as conn:
        rows = conn.execute(
            "SELECT county, cases, deaths FROM covid_us_county_daily WHERE state = 'New York'"
            " AND date = (SELECT max(date) FROM covid_us_county_daily) ORDER BY county"
        ).fetchall()
    assert [(county, cases, deaths) for county, _, cases, deaths, _ in states_view["counties"]] == [
        (county, f"{cases:,}", f"{deaths:,}") for county, cases, deaths in rows
    ]
    assert any(county == "New York City" and fips == "" for county, fips, *_ in states_view["counties"])


@pytest.fixture(scope="module")
def states_view(stack, loaded, dashboard, tmp_path_factory):
    """The states map on its latest date and New York's counties, read in the browser."""
    with _db(stack) as conn:
        latest = conn.execute("SELECT max(date)::text FROM covid_us_state_daily").fetchone()[0]
    folder = tmp_path_factory.mktemp("chromium-states")
    with Chromium(folder / "profile", *VIEWPORT) as browser:
        log_in(browser, stack)
        browser.wait_for("location.pathname !== '/auth/login'", "the login to finish")
        time.sleep(1)
        browser.navigate(f"{stack.url}/covid/?states_date={latest}&state=New%20York")
        browser.wait_for("!!document.querySelector('#states-map')", "the states map")
        seen = browser.evaluate(
            """(() => ({
              date: document.getElementById('states-date').textContent,
              tiles: [...document.querySelectorAll('#states-map g.tile')].map(g => [g.dataset.state, g.dataset.value]),
              counties: [...document.querySelectorAll('#counties tbody tr')].map(
                tr => [...tr.cells].map(td => td.textContent)),
            }))()"""
        )
        # As the screenshot shows it: the section's heading at the top, then the legend and the map.
        browser.evaluate(SHOW_STATES)
        seen["map"] = browser.evaluate(MAP)
        seen["names"] = browser.accessible_names("#states-map a")
        browser.screenshot(SCREENSHOTS / "states.png")
    assert seen["date"] == latest
    return seen


def test_every_axis_of_the_revisions_view_has_distinct_labels_each_its_tick_correctly_rounded(dashboard):
    axes = {axis["id"]: axis["ticks"] for axis in dashboard["revisions_view"]["axes"]}

    # The five charts as of the day, and the traced day's published cases and deaths (recovered: none).
    assert set(axes) == {f"chart-{name}" for name in ("cases", "deaths", "recovered", "new-cases", "new-deaths")} | {
        "chart-step-cases",
        "chart-step-deaths",
    }
    for chart, ticks in axes.items():
        labels = [tick["label"] for tick in ticks]
        assert len(set(labels)) == len(labels), (chart, labels)
        assert all(is_correctly_rounded(t["label"], Decimal(t["value"])) for t in ticks), (chart, labels)
    # The day's revisions are a few thousand cases on 29 million: labels that tell them apart.
    assert len(axes["chart-step-cases"]) >= 2


def test_the_states_legend_is_in_the_screenshots_viewport(states_view):
    seen = states_view["map"]

    assert seen["viewport"] == list(VIEWPORT)
    assert inside(seen["legend"], [0, 0, *VIEWPORT])


def test_all_text_on_the_states_map_and_its_legend_meets_wcag_aa_contrast(states_view):
    texts = texts_of(states_view["map"])
    failing = [
        (text["text"], text["colour"], text["under"], round(lowest_contrast(text), 2))
        for text in texts
        if text["opacity"] != 1 or lowest_contrast(text) < required_ratio(text["px"], text["weight"])
    ]

    assert failing == []
    assert len(texts) > 100  # two on each tile, the legend's chips and title


def test_each_state_tile_is_named_for_assistive_technology_by_its_state_and_value(states_view):
    def spoken(value: str) -> str:
        return "no data" if value == "" else f"{float(value):,.1f}"

    assert states_view["names"] == [
        ("link", f"{state}: {spoken(value)} new cases a day per 100,000 people (7-day average)")
        for state, value in states_view["tiles"]
    ]


# The revisions view of the county picked: the control, its table, its step charts.
EXTRACT_AREA = """(() => ({
  url: location.href,
  title: document.getElementById('area-title').textContent,
  options: [...document.querySelectorAll('#area option')].map(o => [o.value, o.textContent, o.selected]),
  rows: [...document.querySelectorAll('#area-revisions tbody tr')].map(tr => ({
    publishedAt: tr.dataset.publishedAt,
    time: tr.querySelector('time').getAttribute('datetime'),
    cells: [...tr.cells].map(td => td.textContent.trim()),
  })),
  trace: document.getElementById('area-trace').textContent,
  steps: Object.fromEntries([...document.querySelectorAll('svg.step')].map(svg => [svg.id, {
    points: [...svg.querySelectorAll('circle')].map(c => [c.dataset.publishedAt, Number(c.dataset.value)]),
    before: svg.querySelector('path.before') && Number(svg.querySelector('path.before').dataset.value),
  }])),
}))()"""


@pytest.fixture(scope="module")
def county_view(stack, loaded, tmp_path_factory):
    """The revisions view with a county picked through its control, as a reader picks it; its screenshot."""
    state, county = COUNTY
    folder = tmp_path_factory.mktemp("chromium-county")
    with Chromium(folder / "profile", *VIEWPORT) as browser:
        log_in(browser, stack)
        browser.wait_for("location.pathname !== '/auth/login'", "the login to finish")
        browser.navigate(f"{stack.url}/covid/")
        browser.wait_for("!!document.querySelector('#area-controls select')", "the revisions view's control")
        offered = browser.evaluate("[...document.querySelectorAll('#area option')].map(o => o.value)")
        # The select submits its form when it changes, as it does for a reader choosing an option.
        browser.evaluate(
            "const select = document.querySelector('#area-controls select');"
            f"select.value = {json.dumps(f'county:{state}:{county}')};"
            "select.dispatchEvent(new Event('change'));"
        )
        browser.wait_for("!!document.getElementById('area-revisions')", "the county's revisions")
        seen = browser.evaluate(EXTRACT_AREA)
        seen["offered"] = offered
        seen["axes"] = browser.evaluate(AXES)
        seen["control"] = browser.accessible_names("select#area")
        browser.evaluate("document.getElementById('revisions-view').scrollIntoView()")
        seen["screenshot"] = browser.screenshot(SCREENSHOTS / "revisions-county.png")
    return seen


def county_revisions(stack) -> list[tuple]:
    state, county = COUNTY
    with _db(stack) as conn:
        return conn.execute(
            "SELECT date::text, published_at, commit, old_cases, new_cases, old_deaths, new_deaths"
            " FROM covid_us_county_daily_revisions WHERE state = %s AND county = %s"
            " ORDER BY published_at DESC, date",
            (state, county),
        ).fetchall()


def change(old: int, new: int) -> str:
    """A revised count as the table writes it."""
    return f"{new:,} unchanged" if old == new else f"{old:,} → {new:,} {new - old:+,}"


def test_picking_a_county_shows_its_revisions_as_covid_us_county_daily_revisions_lists_them(stack, county_view):
    expected = county_revisions(stack)
    state, county = COUNTY

    assert county_view["title"] == f"Revisions of {county}, {state}"
    assert "area=county%3ANew+York%3ANew+York+City" in county_view["url"]
    shown = [
        (row["cells"][0], datetime.fromisoformat(row["publishedAt"]), row["cells"][1:]) for row in county_view["rows"]
    ]
    # Times to the minute, or to the second when two publications share a minute (these runs are seconds apart).
    times = {at.astimezone(UTC) for _, at, *_ in expected}
    same_minute = len({at.replace(second=0, microsecond=0) for at in times}) < len(times)
    when = "%Y-%m-%d %H:%M:%S UTC" if same_minute else "%Y-%m-%d %H:%M UTC"
    assert shown == [
        (
            day,
            at,
            [
                at.astimezone(UTC).strftime(when),
                (commit or "unpinned")[:12],
                change(old_cases, new_cases),
                change(old_deaths, new_deaths),
            ],
        )
        for day, at, commit, old_cases, new_cases, old_deaths, new_deaths in expected
    ]
    assert all(row["time"] == row["publishedAt"] for row in county_view["rows"])
    # The earlier publications: each of two dates revised twice (conftest.EARLIER_PUBLICATIONS).
    assert len(expected) >= 4 and {day for day, *_ in expected} >= {"2020-03-13", "2020-03-14"}


def test_the_control_offers_the_counties_with_revisions_with_their_count(stack, county_view):
    with _db(stack) as conn:
        counties = conn.execute(
            "SELECT state, county, count(*) FROM covid_us_county_daily_revisions GROUP BY 1, 2 ORDER BY 1, 2"
        ).fetchall()
    offered = [(value, text) for value, text, _ in county_view["options"] if value.startswith("county:")]

    assert offered == [
        (f"county:{state}:{county}", f"{county}, {state} ({n} revision{'' if n == 1 else 's'})")
        for state, county, n in counties
    ]
    assert [value for value, _, selected in county_view["options"] if selected] == ["county:New York:New York City"]
    assert county_view["offered"][0] == "national"
    assert county_view["control"] == [("combobox", "Revisions of")]


def test_the_picked_countys_most_revised_date_is_traced_from_the_value_first_revised(stack, county_view):
    revisions = sorted(county_revisions(stack), key=lambda row: row[1])
    counts = {day: sum(1 for row in revisions if row[0] == day) for day, *_ in revisions}
    day = max(counts, key=lambda d: (counts[d], d))
    of_day = [row for row in revisions if row[0] == day]

    assert county_view["trace"].startswith(f"Published values of {day}, New York City, New York")
    for chart, old, new in (("chart-area-step-cases", 3, 4), ("chart-area-step-deaths", 5, 6)):
        steps = county_view["steps"][chart]
        assert [(datetime.fromisoformat(at), value) for at, value in steps["points"]] == [
            (row[1], row[new]) for row in of_day
        ]
        assert steps["before"] == of_day[0][old]


def test_every_axis_of_the_countys_revisions_has_distinct_labels_each_its_tick_correctly_rounded(county_view):
    axes = {axis["id"]: axis["ticks"] for axis in county_view["axes"] if axis["id"].startswith("chart-area-step")}

    assert set(axes) == {"chart-area-step-cases", "chart-area-step-deaths"}
    for chart, ticks in axes.items():
        labels = [tick["label"] for tick in ticks]
        assert len(set(labels)) == len(labels), (chart, labels)
        assert all(is_correctly_rounded(t["label"], Decimal(t["value"])) for t in ticks), (chart, labels)


def test_a_screenshot_of_the_countys_revisions_is_saved(county_view):
    png = county_view["screenshot"]

    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert (int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")) == VIEWPORT
