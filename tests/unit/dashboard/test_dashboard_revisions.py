"""The revisions view of states and counties: the plugin reads version 4's ``revisions`` and lets a reader
pick the national series, a state or a county, and see its revisions (a table, and step charts of a
date revised more than once).

The document is built by the pipeline's own build_payload from rows shaped as dashboard_revisions.sql
writes them (JSON dates and timestamps); the publish test (tests/integration/dashboard) checks that the
database gives such rows, the browser test that a real page shows them.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from dashboard_html import options, read, table

from covid_dashboard.data import Publication, dashboard_from_payload
from covid_dashboard.history import NATIONAL, Area, Revision
from covid_dashboard.page import render_page
from covid_etl.publish.dashboard import MAX_REVISIONS, build_payload

PUBLISHED = Publication(run_id="manual__test", published_at=datetime(2026, 5, 2, 3, 4, tzinfo=UTC))
FIRST, SECOND = "2020-03-15T12:00:00+00:00", "2020-03-16T12:30:00+00:00"
# As dashboard_revisions.sql writes them, newest publication first: [the key, published_at, commit,
# old_cases, new_cases, old_deaths, new_deaths].
COUNTY_ROWS = [
    ["2020-03-12", "New York", "Kings", SECOND, "b" * 40, 80, 81, 1, 1],
    ["2020-03-13", "New York", "Kings", SECOND, "b" * 40, 120, 125, 2, 3],
    ["2020-03-28", "Texas", "Harris", SECOND, "b" * 40, 232, 445, 3, 3],
    ["2020-03-13", "New York", "Kings", FIRST, "a" * 40, 100, 120, 2, 2],
    ["2020-03-13", "New Mexico", "Doña Ana", FIRST, None, 7, 6, 0, 0],
]
STATE_ROWS = [
    ["2020-04-20", "Wisconsin", SECOND, "b" * 40, 4499, 4564, 231, 231],
    ["2020-04-21", "Wisconsin", SECOND, "b" * 40, 4620, 4691, 243, 244],
    ["2020-04-06", "Virgin Islands", FIRST, "a" * 40, 43, 44, 1, 1],
]
# The national series' history (dashboard.sql): two NYT publications, the second revising one day.
PUBLICATIONS = [["NYT", "n1", "n1", FIRST], ["NYT", "n2", "n2", SECOND], ["JHU", "j1", "j1", FIRST]]
HISTORY = [
    ["NYT", "n1", "2020-03-12", 1000, 20, None],
    ["NYT", "n1", "2020-03-13", 1100, 22, None],
    ["NYT", "n2", "2020-03-13", 1150, 22, None],
    ["JHU", "j1", "2020-03-12", None, None, 5],
    ["JHU", "j1", "2020-03-13", None, None, 6],
]


def dashboard_of(states=STATE_ROWS, counties=COUNTY_ROWS, states_total=None, counties_total=None):
    revisions = {
        "states": {"total": len(states) if states_total is None else states_total, "rows": states},
        "counties": {"total": len(counties) if counties_total is None else counties_total, "rows": counties},
    }
    payload = build_payload(
        days=[],
        runs=[],
        last_success_at=None,
        run_id="r",
        publications=PUBLICATIONS,
        history=HISTORY,
        revisions=revisions,
    )
    return dashboard_from_payload(payload, PUBLISHED)


def page(area: str, day: date | None = None, **document) -> str:
    return render_page(dashboard_of(**document), area=Area.parse(area), day=day)


def test_the_plugin_reads_each_revision_with_its_area_publication_and_old_and_new_values():
    revisions = dashboard_of().revisions

    assert revisions.counties.rows[1] == Revision(
        day=date(2020, 3, 13),
        area=Area("New York", "Kings"),
        published_at=datetime(2020, 3, 16, 12, 30, tzinfo=UTC),
        commit="b" * 40,
        cases=(120, 125),
        deaths=(2, 3),
    )
    assert revisions.states.rows[0].area == Area("Wisconsin") and revisions.states.rows[0].cases == (4499, 4564)
    assert (revisions.states.total, revisions.counties.total) == (3, 5)


@pytest.mark.parametrize(
    ("text", "area"),
    [
        pytest.param(None, NATIONAL, id="none: the national series"),
        pytest.param("national", NATIONAL, id="national"),
        pytest.param("state:New York", Area("New York"), id="a state"),
        pytest.param("county:New York:Kings", Area("New York", "Kings"), id="a county"),
        pytest.param("county:Utah:A: B", Area("Utah", "A: B"), id="a county's name may hold a colon"),
        pytest.param("county:Utah", NATIONAL, id="a county without its name"),
        pytest.param("state:", NATIONAL, id="a state without its name"),
        pytest.param("planet:Mars", NATIONAL, id="not an area"),
    ],
)
def test_the_area_parameter_names_the_national_series_a_state_or_a_county(text, area):
    assert Area.parse(text) == area
    assert Area.parse(area.param) == area


def test_the_control_offers_the_national_series_and_each_state_and_county_with_revisions_with_their_count():
    offered = options(page("national"), "area")

    assert [(o.group, o.value, o.text, o.selected) for o in offered] == [
        (None, "national", "United States, national series (1 revision)", True),
        ("States", "state:Virgin Islands", "Virgin Islands (1 revision)", False),
        ("States", "state:Wisconsin", "Wisconsin (2 revisions)", False),
        ("Counties of New Mexico", "county:New Mexico:Doña Ana", "Doña Ana, New Mexico (1 revision)", False),
        ("Counties of New York", "county:New York:Kings", "Kings, New York (3 revisions)", False),
        ("Counties of Texas", "county:Texas:Harris", "Harris, Texas (1 revision)", False),
    ]
    assert [o.value for o in options(page("county:Texas:Harris"), "area") if o.selected] == ["county:Texas:Harris"]


def test_a_complete_document_has_no_note_of_a_limit():
    assert "revisions-limit" not in page("national")


@pytest.mark.parametrize(
    "area",
    [pytest.param("national", id="beside the national series"), pytest.param("county:New York:Kings", id="a county")],
)
def test_the_view_says_when_the_document_holds_only_the_newest_revisions_of_many(area):
    html = page(area, counties_total=12_345)

    notes = re.findall(r'<p class="meta limit" id="revisions-limit-(\w+)">([^<]+)</p>', html)
    assert notes == [
        (
            "county",
            f"The document holds only the newest {len(COUNTY_ROWS)} of 12,345 county revisions: "
            "older ones are not listed or counted here.",
        )
    ]
    assert MAX_REVISIONS == 1500  # what a real document holds at most of each dataset


def test_a_countys_revisions_are_a_table_of_its_dates_publications_and_counts_old_to_new():
    html = page("county:New York:Kings")

    assert '<h3 id="area-title">Revisions of Kings, New York</h3>' in html
    assert table(html, "area-revisions") == [
        ["2020-03-12", "2020-03-16 12:30 UTC", "bbbbbbbbbbbb", "80 → 81 +1", "1 unchanged"],
        ["2020-03-13", "2020-03-16 12:30 UTC", "bbbbbbbbbbbb", "120 → 125 +5", "2 → 3 +1"],
        ["2020-03-13", "2020-03-15 12:00 UTC", "aaaaaaaaaaaa", "100 → 120 +20", "2 unchanged"],
    ]
    # The exact publication time, for a reader's tools (the text is to the minute).
    assert [row["data-published-at"] for row in read(html).row_attributes["area-revisions"]] == [SECOND, SECOND, FIRST]


def test_a_states_revisions_count_down_as_well_as_up_and_an_unpinned_publication_says_so():
    states = table(page("state:Wisconsin"), "area-revisions")
    county = table(page("county:New Mexico:Doña Ana"), "area-revisions")

    assert [row[3:] for row in states] == [
        ["4,499 → 4,564 +65", "231 unchanged"],
        ["4,620 → 4,691 +71", "243 → 244 +1"],
    ]
    assert county == [["2020-03-13", "2020-03-15 12:00 UTC", "unpinned", "7 → 6 -1", "0 unchanged"]]


def steps(html: str, chart: str) -> tuple[list[tuple[str, str]], str | None]:
    """A step chart's circles (published at, value) and its "before" step's value."""
    svg = re.search(rf'<svg class="chart step" id="chart-{chart}".*?</svg>', html, re.S)[0]
    before = re.search(r'<path class="line before s-step" data-value="(\d+)"', svg)
    return re.findall(r'data-published-at="([^"]+)" data-value="(\d+)"', svg), before and before[1]


def test_the_most_revised_date_of_a_county_is_traced_by_step_charts_from_the_value_first_revised():
    html = page("county:New York:Kings")

    assert '<h3 id="area-trace">Published values of 2020-03-13, Kings, New York</h3>' in html
    assert steps(html, "area-step-cases") == ([(FIRST, "120"), (SECOND, "125")], "100")
    assert steps(html, "area-step-deaths") == ([(FIRST, "2"), (SECOND, "3")], "2")
    # Only the date revised more than once links to its charts (from each of its rows).
    assert (
        re.findall(r'<a href="\?area=([^"&]+)&amp;day=([\d-]+)#area-trace">', html)
        == [("county:New%20York:Kings", "2020-03-13")] * 2
    )


def test_a_county_whose_dates_were_each_revised_once_has_its_table_and_no_step_chart():
    html = page("county:Texas:Harris")

    assert len(table(html, "area-revisions")) == 1
    assert 'class="chart step"' not in html
    assert "Each date of Harris, Texas was revised once in the document" in html


def test_an_area_without_revisions_in_the_document_says_so_and_stays_chosen():
    html = page("county:Ohio:Adams", counties_total=9_000)

    assert '<p class="empty-state" id="area-revisions">No revisions of Adams, Ohio in the document' in html
    assert "(it holds the newest ones only)" in html
    assert [o.text for o in options(html, "area") if o.selected] == ["Adams, Ohio (no revisions in the document)"]


def test_the_national_series_keeps_its_publications_table_under_the_control():
    html = page("national")

    assert html.index('id="area-controls"') < html.index('<table id="revisions">')
    assert table(html, "revisions") == [
        ["NYT", "2020-03-16 12:30 UTC", "n2", "1"],
        ["NYT", "2020-03-15 12:00 UTC", "n1", "0"],
        ["JHU", "2020-03-15 12:00 UTC", "j1", "0"],
    ]
    assert steps(html, "step-cases") == ([(FIRST, "1100"), (SECOND, "1150")], None)
    assert "area-revisions" not in html


def test_asking_for_a_day_keeps_the_chosen_area_and_the_area_keeps_the_as_of_date():
    html = page("county:New York:Kings")
    controls = re.search(r'<form id="controls".*?</form>', html, re.S)[0]

    assert '<input type="hidden" name="area" value="county:New York:Kings">' in controls
    as_of = dashboard_of()
    as_of = type(as_of)(**{**as_of.__dict__, "as_of": datetime(2021, 3, 12, 23, 59, tzinfo=UTC)})
    picker = re.search(r'<form id="area-controls".*?</form>', render_page(as_of), re.S)[0]
    assert '<input type="hidden" name="as_of" value="2021-03-12">' in picker


def test_names_from_the_document_are_escaped():
    rows = [["2020-03-13", "Utah", '<img src=x onerror="y">', FIRST, None, 1, 2, 0, 0]]
    html = page('county:Utah:<img src=x onerror="y">', counties=rows)

    assert "<img src=x" not in html
    assert "Revisions of &lt;img src=x onerror=&quot;y&quot;&gt;, Utah" in html


def test_publications_in_the_same_minute_are_told_apart_by_their_seconds():
    # Runs with a URL override count as published when they start, possibly seconds apart.
    rows = [
        ["2020-03-13", "Utah", "Kane", "2026-12-07T00:55:27+00:00", None, 2, 3, 0, 0],
        ["2020-03-13", "Utah", "Kane", "2026-12-07T00:55:02+00:00", None, 1, 2, 0, 0],
    ]
    html = page("county:Utah:Kane", counties=rows)

    assert [row[1] for row in table(html, "area-revisions")] == ["2026-12-07 00:55:27 UTC", "2026-12-07 00:55:02 UTC"]
