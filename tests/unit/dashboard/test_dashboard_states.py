"""The states map's markup: a legend that writes each colour's range, "no data" unlike any bin, and a
name for assistive technology on every tile (the browser tests measure how it renders)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from covid_dashboard.states import BINS, NO_DATA, TILES, StatesView, bin_label, bin_of, render_map

NS = "{http://www.w3.org/2000/svg}"
UNIT = "new cases a day per 100,000 people (7-day average)"


def view_of(values: list[float | None]) -> StatesView:
    states = {
        "dates": ["2021-03-14"],
        "states": [[name, abbreviation, 1] for name, abbreviation, _, _ in TILES],
        "avg7_per_100k": [values],
    }
    return StatesView.from_json(states, [])


def map_of(values: list[float | None]) -> ET.Element:
    html = render_map(view_of(values), None, None)
    return ET.fromstring(re.search(r"<svg .*</svg>", html, re.S)[0])


@pytest.mark.parametrize(
    ("value", "label"),
    [
        pytest.param(-0.4, "under 5", id="revised below zero"),
        pytest.param(0, "under 5", id="zero"),
        pytest.param(4.99, "under 5", id="just under 5"),
        pytest.param(5, "5–10", id="a lower bound belongs to its bin"),
        pytest.param(49.9, "25–50", id="mid-range"),
        pytest.param(99.99, "50–100", id="just under 100"),
        pytest.param(100, "100 or more", id="the top bin"),
        pytest.param(812.3, "100 or more", id="far above"),
    ],
)
def test_each_value_takes_the_colour_of_the_range_the_legend_writes_for_it(value, label):
    index = BINS.index(bin_of(value))

    assert bin_label(index) == label


def test_the_legend_has_a_labelled_chip_per_bin_and_one_for_no_data():
    legend = map_of([1.0] * len(TILES)).find(f".//{NS}g[@id='states-legend']")
    chips = [(g.find(f"{NS}rect").get("fill"), g.find(f"{NS}text").text) for g in legend.findall(f"{NS}g")]

    assert chips == [
        ("#fff5eb", "under 5"),
        ("#fdd0a2", "5–10"),
        ("#fdae6b", "10–25"),
        ("#fd8d3c", "25–50"),
        ("#c2410c", "50–100"),
        ("#7f2704", "100 or more"),
        (NO_DATA, "no data"),
    ]


def test_every_tile_is_a_link_named_by_its_state_and_value():
    values = [round(i * 3.7 - 0.5, 2) for i in range(len(TILES) - 1)] + [None]
    root = map_of(values)

    names = [a.get("aria-label") for a in root.iter(f"{NS}a")]
    assert names == [
        f"{name}: {value:,.1f} {UNIT}" for (name, *_), value in zip(TILES[:-1], values[:-1], strict=True)
    ] + [f"{TILES[-1][0]}: no data {UNIT}"]
    # A group, not an image: an image's children (the tiles' links) would be hidden from assistive technology.
    assert root.get("role") == "group"


def test_the_value_is_written_on_its_tile_in_the_bins_text_colour():
    root = map_of([250.0] + [None] * (len(TILES) - 1))
    alaska, hawaii = (g for g in root.iter(f"{NS}g") if g.get("data-state") in {"Alaska", "Hawaii"})

    assert [(t.text, t.get("fill")) for t in alaska.iter(f"{NS}text")] == [("AK", "#ffffff"), ("250.0", "#ffffff")]
    assert alaska.find(f"{NS}rect").get("fill") == "#7f2704"
    assert [t.text for t in hawaii.iter(f"{NS}text")] == ["HI", "–"]
    assert hawaii.find(f"{NS}rect").get("fill") == NO_DATA
