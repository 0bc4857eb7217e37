"""Charts people can read, measured in headless Chromium on the page the plugin renders (a few seconds,
no Airflow: the page is written to a file).

The page is the plugin's own (render_page) on data made to reach the hard cases, which the fixture
files never do: a day revised across a narrow range near a large count (29,100,000 to 29,140,000), a
count no publication revised (a flat series), a county's date revised across 10,000,000 from a value
below it, and states in every colour bin and without data. The browser lays it out with the page's
fonts and styles; the tests read back what it renders: the tick labels' text and boxes, the colours it
computes for every text of the map and what lies under it (a pattern's own colours), the accessibility
tree's names. The end-to-end test (test_dashboard_browser.py) runs the same checks on the page a real
Airflow serves.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from dashboard_helpers import synthetic_days
from dashboard_readability import (
    AXES,
    MAP,
    SHOW_STATES,
    inside,
    is_correctly_rounded,
    lowest_contrast,
    read_label,
    required_ratio,
    texts_of,
)
from headless_chromium import Chromium

from covid_dashboard.data import Dashboard, columns_of, derive_days
from covid_dashboard.history import Area, AreaRevisions, History
from covid_dashboard.page import render_page
from covid_dashboard.states import BINS, TILES, StatesView

VIEWPORT = (1280, 1180)  # the screenshots' (test_dashboard_browser.py)
TRACED = date(2021, 3, 8)
# The traced day's cases as four NYT publications revised them, within 29,100,000..29,140,000; its
# deaths never changed.
CASES = (29_100_000, 29_113_000, 29_127_500, 29_140_000)
DEATHS = 525_517
HISTORY = {
    "first_date": "2021-03-01",
    "NYT": {
        "publications": [[f"2021-03-{9 + i:02d}T12:00:00+00:00", f"{i:040x}"] for i in range(len(CASES))],
        "changes": [[i, (TRACED - date(2021, 3, 1)).days, cases, DEATHS] for i, cases in enumerate(CASES)],
    },
    "JHU": {"publications": [], "changes": []},
}
# Every bin, each side of its bounds, below zero (counts revised down) and without data.
STATE_VALUES = (-0.4, 0.0, 4.9, 5.0, 9.9, 10.0, 24.9, 25.0, 49.9, 50.0, 99.9, 100.0, 812.3, None)
AXES_DRAWN = ["chart-cases", "chart-deaths", "chart-recovered", "chart-new-cases", "chart-new-deaths"] + [
    "chart-step-cases",
    "chart-step-deaths",
]
# A county's date revised three times across 10,000,000, from a value below it; its deaths once.
COUNTY = Area("California", "Los Angeles")
COUNTY_CASES = (9_999_990, 10_000_002, 10_000_005, 10_000_011)
COUNTY_DEATHS = (24_208, 24_208, 24_208, 24_211)
REVISIONS = {  # the document's shape: each publication listed once, rows pointing to it by index
    "states": {"total": 0, "publications": [], "rows": []},
    "counties": {
        "total": 3,
        "publications": [[f"2021-03-{9 + i:02d}T12:00:00+00:00", f"{i:040x}"] for i in range(3)],
        "rows": [
            [
                "2021-03-08", COUNTY.state, COUNTY.county, i,
                COUNTY_CASES[i], COUNTY_CASES[i + 1], COUNTY_DEATHS[i], COUNTY_DEATHS[i + 1],
            ]
            for i in reversed(range(3))
        ],
    },
}  # fmt: skip
AREA_AXES = ["chart-area-step-cases", "chart-area-step-deaths"]
# Each step chart's "before" step: the value its date's first revision replaced.
BEFORE = "[...document.querySelectorAll('path.before')].map(p => [p.closest('svg').id, Number(p.dataset.value)])"


def the_dashboard() -> Dashboard:
    days = synthetic_days(400, recovered_until=300)
    first, cases, deaths, recovered = columns_of([(d.date, d.cases, d.deaths, d.recovered) for d in days])
    values = [STATE_VALUES[i % len(STATE_VALUES)] for i in range(len(TILES))]
    states = {
        "dates": ["2021-03-14"],
        "states": [[name, abbreviation, 1] for name, abbreviation, _, _ in TILES],
        "avg7_per_100k": [values],
    }
    return Dashboard(
        days=derive_days(first, cases, deaths, recovered),
        runs=(),
        last_success_at=None,
        history=History.from_json(HISTORY),
        revisions=AreaRevisions.from_json(REVISIONS),
        states=StatesView.from_json(states, []),
    )


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """The page in Chromium, scrolled as the states screenshot is, then the page of the county's revisions;
    what they render."""
    folder = tmp_path_factory.mktemp("readable")
    html, county = folder / "dashboard.html", folder / "county.html"
    html.write_text(render_page(the_dashboard(), day=TRACED), encoding="utf-8")
    county.write_text(render_page(the_dashboard(), area=COUNTY), encoding="utf-8")
    with Chromium(folder / "profile", *VIEWPORT) as browser:
        browser.navigate(html.as_uri())
        browser.wait_for("document.readyState === 'complete' && !!document.getElementById('states-map')", "the page")
        axes = {axis["id"]: axis for axis in browser.evaluate(AXES)}
        browser.evaluate(SHOW_STATES)
        seen_map = browser.evaluate(MAP)
        names = browser.accessible_names("#states-map a")
        browser.navigate(county.as_uri())
        browser.wait_for("!!document.getElementById('chart-area-step-cases')", "the county's revisions")
        axes.update({axis["id"]: axis for axis in browser.evaluate(AXES) if axis["id"] in AREA_AXES})
        before = dict(browser.evaluate(BEFORE))
        control = browser.accessible_names("select#area")
    return {"axes": axes, "map": seen_map, "names": names, "before": before, "control": control}


def test_every_chart_with_values_has_a_labelled_y_axis(page):
    assert list(page["axes"]) == AXES_DRAWN + AREA_AXES


@pytest.mark.parametrize("chart", AXES_DRAWN + AREA_AXES)
def test_the_y_axis_labels_are_distinct_and_each_its_tick_correctly_rounded(page, chart):
    ticks = page["axes"][chart]["ticks"]
    labels = [tick["label"] for tick in ticks]

    assert len(set(labels)) == len(labels), labels
    assert all(is_correctly_rounded(t["label"], Decimal(t["value"])) for t in ticks), labels
    # In order, from the bottom of the chart up.
    assert [read_label(label)[0] for label in labels] == sorted(read_label(label)[0] for label in labels)
    assert [t["y"] for t in ticks] == sorted((t["y"] for t in ticks), reverse=True)


@pytest.mark.parametrize("chart", AXES_DRAWN + AREA_AXES)
def test_the_ticks_span_the_plotted_values_and_sit_at_their_height(page, chart):
    axis = page["axes"][chart]
    ticks = [(float(t["value"]), t["y"]) for t in axis["ticks"]]
    values = [value for value, _ in axis["points"]]
    # The chart's linear scale, from two points of different values (or the flat series' one value).
    (v1, y1), (v2, y2) = min(axis["points"]), max(axis["points"])

    assert min(v for v, _ in ticks) <= min(values) and max(v for v, _ in ticks) >= max(values)
    for value, y in ticks:
        assert y == pytest.approx(y1 if v1 == v2 else y1 + (value - v1) * (y2 - y1) / (v2 - v1), abs=0.15)


@pytest.mark.parametrize("chart", AXES_DRAWN + AREA_AXES)
def test_the_tick_labels_are_drawn_whole_inside_their_chart(page, chart):
    axis = page["axes"][chart]

    assert all(inside(tick["box"], axis["box"]) for tick in axis["ticks"]), axis["ticks"]


def test_a_narrow_range_near_a_large_count_is_labelled_in_steps_that_tell_its_values_apart(page):
    labels = [tick["label"] for tick in page["axes"]["chart-step-cases"]["ticks"]]

    assert labels == ["29.10M", "29.11M", "29.12M", "29.13M", "29.14M"]
    assert sorted({value for value, _ in page["axes"]["chart-step-cases"]["points"]}) == list(CASES)


def test_a_countys_date_revised_across_ten_million_is_labelled_in_full_from_the_value_first_revised(page):
    axis = page["axes"]["chart-area-step-cases"]
    labels = [tick["label"] for tick in axis["ticks"]]

    assert labels == ["9,999,990", "9,999,995", "10,000,000", "10,000,005", "10,000,010", "10,000,015"]
    # The circles are the three revisions' new values; the value they first replaced is the dashed step.
    assert [value for value, _ in axis["points"]] == list(COUNTY_CASES[1:])
    assert page["before"] == {"chart-area-step-cases": COUNTY_CASES[0], "chart-area-step-deaths": COUNTY_DEATHS[0]}
    deaths = [float(tick["value"]) for tick in page["axes"]["chart-area-step-deaths"]["ticks"]]
    assert deaths[0] <= COUNTY_DEATHS[0] and deaths[-1] >= COUNTY_DEATHS[-1]


def test_the_revisions_control_is_named_for_assistive_technology_by_its_label(page):
    assert page["control"] == [("combobox", "Revisions of")]


def test_a_flat_series_shows_its_one_value(page):
    axis = page["axes"]["chart-step-deaths"]

    assert [(tick["label"], tick["value"]) for tick in axis["ticks"]] == [("525,517", "525517")]
    assert {value for value, _ in axis["points"]} == {DEATHS}


def test_the_map_shows_every_bin_and_states_without_data(page):
    fills = {tile["fill"] for tile in page["map"]["tiles"]}

    assert fills == {chip["fill"] for chip in page["map"]["chips"]}
    assert len(fills) == len(BINS) + 1


def test_all_text_on_the_map_and_its_legend_meets_wcag_aa_contrast(page):
    texts = texts_of(page["map"])

    # Opaque: the ratio of the colours themselves is the contrast seen.
    assert {text["opacity"] for text in texts} == {1}
    failing = [
        (text["text"], text["colour"], text["under"], round(lowest_contrast(text), 2))
        for text in texts
        if lowest_contrast(text) < required_ratio(text["px"], text["weight"])
    ]
    assert failing == []
    # Every bin's text was measured, on tiles and on the legend: 2 per tile, 1 per chip, the title.
    assert len(texts) == 2 * len(TILES) + len(BINS) + 2


def test_no_data_is_hatched_and_outlined_with_dashes_unlike_the_lowest_bin(page):
    tiles = page["map"]["tiles"]
    no_data = [tile for tile in tiles if tile["value"] == ""]
    lowest = [tile for tile in tiles if tile["value"] != "" and float(tile["value"]) < BINS[1][0]]

    assert no_data and lowest
    assert {tile["fill"] for tile in no_data} == {'url("#no-data")'}
    assert {len(set(tile["texts"][0]["under"])) for tile in no_data} == {2}  # the hatch's two colours
    assert {tile["dashes"] for tile in no_data} != {"none"} and {tile["dashes"] for tile in lowest} == {"none"}
    assert all(tile["texts"][1]["text"] == "–" for tile in no_data)


def test_the_legend_labels_each_colour_with_its_range_and_every_tile_agrees(page):
    chips = {chip["texts"][0]["text"]: chip["fill"] for chip in page["map"]["chips"]}

    def range_of(label: str) -> tuple[float, float]:
        if label.startswith("under "):
            return float("-inf"), float(label.removeprefix("under "))
        if label.endswith(" or more"):
            return float(label.removesuffix(" or more")), float("inf")
        low, high = label.split("–")
        return float(low), float(high)

    assert list(chips) == ["under 5", "5–10", "10–25", "25–50", "50–100", "100 or more", "no data"]
    ranges = {label: range_of(label) for label in chips if label != "no data"}
    for tile in page["map"]["tiles"]:
        if tile["value"] == "":
            assert tile["fill"] == chips["no data"], tile["state"]
        else:
            [label] = [label for label, (low, high) in ranges.items() if low <= float(tile["value"]) < high]
            assert tile["fill"] == chips[label], tile["state"]


def test_the_legend_is_in_the_viewport_with_the_map_and_its_labels_fit_their_chips(page):
    seen = page["map"]
    width, height = seen["viewport"]

    assert (width, height) == VIEWPORT
    assert inside(seen["legend"], [0, 0, width, height])
    assert all(inside(chip["texts"][0]["box"], chip["box"]) for chip in seen["chips"])


def test_each_tile_is_a_link_whose_accessible_name_gives_its_state_and_value(page):
    def spoken(value: str) -> str:
        return "no data" if value == "" else f"{float(value):,.1f}"

    expected = [
        f"{tile['state']}: {spoken(tile['value'])} new cases a day per 100,000 people (7-day average)"
        for tile in page["map"]["tiles"]
    ]

    assert page["names"] == [("link", name) for name in expected]
    assert len(expected) == len(TILES)
