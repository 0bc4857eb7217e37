"""The states view: a tile-grid map of the US (one square per state, drawn as SVG, no map tiles from the
internet) colored by the 7-day average of new cases per 100,000 people, and a table of one state's counties.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

# (name as NYT writes it, abbreviation, column, row) on an 12 x 8 grid, after the usual US tile maps.
TILES = (
    ("Alaska", "AK", 0, 0), ("Maine", "ME", 11, 0),
    ("Vermont", "VT", 10, 1), ("New Hampshire", "NH", 11, 1),
    ("Washington", "WA", 1, 2), ("Idaho", "ID", 2, 2), ("Montana", "MT", 3, 2), ("North Dakota", "ND", 4, 2),
    ("Minnesota", "MN", 5, 2), ("Illinois", "IL", 6, 2), ("Wisconsin", "WI", 7, 2), ("Michigan", "MI", 8, 2),
    ("New York", "NY", 9, 2), ("Rhode Island", "RI", 10, 2), ("Massachusetts", "MA", 11, 2),
    ("Oregon", "OR", 1, 3), ("Nevada", "NV", 2, 3), ("Wyoming", "WY", 3, 3), ("South Dakota", "SD", 4, 3),
    ("Iowa", "IA", 5, 3), ("Indiana", "IN", 6, 3), ("Ohio", "OH", 7, 3), ("Pennsylvania", "PA", 8, 3),
    ("New Jersey", "NJ", 9, 3), ("Connecticut", "CT", 10, 3),
    ("California", "CA", 1, 4), ("Utah", "UT", 2, 4), ("Colorado", "CO", 3, 4), ("Nebraska", "NE", 4, 4),
    ("Missouri", "MO", 5, 4), ("Kentucky", "KY", 6, 4), ("West Virginia", "WV", 7, 4), ("Virginia", "VA", 8, 4),
    ("Maryland", "MD", 9, 4), ("Delaware", "DE", 10, 4),
    ("Arizona", "AZ", 2, 5), ("New Mexico", "NM", 3, 5), ("Kansas", "KS", 4, 5), ("Arkansas", "AR", 5, 5),
    ("Tennessee", "TN", 6, 5), ("North Carolina", "NC", 7, 5), ("South Carolina", "SC", 8, 5),
    ("District of Columbia", "DC", 9, 5),
    ("Oklahoma", "OK", 4, 6), ("Louisiana", "LA", 5, 6), ("Mississippi", "MS", 6, 6), ("Alabama", "AL", 7, 6),
    ("Georgia", "GA", 8, 6),
    ("Hawaii", "HI", 0, 7), ("Texas", "TX", 4, 7), ("Florida", "FL", 9, 7), ("Puerto Rico", "PR", 11, 7),
)  # fmt: skip
# Bins of the 7-day average of new cases per 100,000 people: (lower bound, fill, text colour). Each text
# colour is the one of #1a202c and white that reads on its fill with a WCAG contrast of at least 4.5:1
# (5.2:1 the least, on #c2410c); the browser test measures it on the page.
BINS = (
    (0, "#fff5eb", "#1a202c"),
    (5, "#fdd0a2", "#1a202c"),
    (10, "#fdae6b", "#1a202c"),
    (25, "#fd8d3c", "#1a202c"),
    (50, "#c2410c", "#ffffff"),
    (100, "#7f2704", "#ffffff"),
)
# "No data" is hatched and outlined with dashes, so that it cannot pass for the palest bin.
NO_DATA = "url(#no-data)"
NO_DATA_PATTERN = (
    '<pattern id="no-data" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
    '<rect width="6" height="6" fill="#ffffff"/><rect width="2" height="6" fill="#cbd5e0"/></pattern>'
)
INK = "#1a202c"
CELL = 44
TILE = CELL - 3
# The legend's band above the grid: its title, then a chip per bin, across the map's whole width.
LEGEND_HEIGHT = 58
CHIP_WIDTH, CHIP_GAP = 72, 4
UNIT = "new cases a day per 100,000 people (7-day average)"


@dataclass(frozen=True)
class StatesView:
    """The map's data: sampled dates, the states, and per date and state the average per 100,000."""

    dates: tuple[str, ...]
    states: tuple[str, ...]
    values: tuple[tuple[float | None, ...], ...]
    counties: tuple[tuple, ...]

    @classmethod
    def from_json(cls, states: dict[str, Any] | None, counties: list | None) -> StatesView:
        states = states or {"dates": [], "states": [], "avg7_per_100k": []}
        return cls(
            dates=tuple(states["dates"]),
            states=tuple(name for name, _, _ in states["states"]),
            values=tuple(tuple(row) for row in states["avg7_per_100k"]),
            counties=tuple(tuple(row) for row in counties or ()),
        )

    def on(self, day: str | None) -> tuple[str | None, dict[str, float | None]]:
        """The chosen date (the latest when none or an unknown one is asked) and each state's value then."""
        if not self.dates:
            return None, {}
        chosen = day if day in self.dates else self.dates[-1]
        return chosen, dict(zip(self.states, self.values[self.dates.index(chosen)], strict=True))


def bin_of(value: float) -> tuple[int, str, str]:
    """The bin of a known value; one below 0 (counts revised down) goes with the lowest."""
    return next((b for b in reversed(BINS) if value >= b[0]), BINS[0])


def bin_label(index: int) -> str:
    """A bin's range as the legend writes it: "under 5", "5–10", …, "100 or more"."""
    low = BINS[index][0]
    if index == 0:
        return f"under {BINS[1][0]}"
    if index == len(BINS) - 1:
        return f"{low} or more"
    return f"{low}–{BINS[index + 1][0]}"


def _legend() -> str:
    """A chip per bin, drawn like a tile with its range written on it, above the map."""
    chips = [(bin_label(i), fill, ink) for i, (_, fill, ink) in enumerate(BINS)] + [("no data", NO_DATA, INK)]
    drawn = "".join(
        f'<g class="bin"><rect x="{i * (CHIP_WIDTH + CHIP_GAP)}" y="22" width="{CHIP_WIDTH}" height="26" '
        f'rx="4" fill="{fill}"/><text x="{i * (CHIP_WIDTH + CHIP_GAP) + CHIP_WIDTH / 2}" y="39" '
        f'text-anchor="middle" fill="{ink}">{label}</text></g>'
        for i, (label, fill, ink) in enumerate(chips)
    )
    return f'<g id="states-legend"><text x="0" y="13" fill="{INK}">{UNIT.capitalize()}</text>{drawn}</g>'


def _tile(name: str, abbreviation: str, *, place: tuple[int, int], value: float | None, href: str, chosen: bool) -> str:
    column, row = place
    x, y = column * CELL, LEGEND_HEIGHT + row * CELL
    if value is None:
        fill, ink, shown, spoken = NO_DATA, INK, "–", "no data"
    else:
        _, fill, ink = bin_of(value)
        shown = spoken = f"{value:,.1f}"
    name_attr = escape(name)
    return (
        f'<a href="{href}" aria-label="{name_attr}: {spoken} {UNIT}">'
        f'<g class="tile{" chosen" if chosen else ""}" data-state="{name_attr}" '
        f'data-value="{"" if value is None else value}">'
        f'<rect x="{x}" y="{y}" width="{TILE}" height="{TILE}" rx="4" fill="{fill}"/>'
        f'<text x="{x + TILE / 2}" y="{y + 17}" text-anchor="middle" fill="{ink}" class="abbr">{abbreviation}</text>'
        f'<text x="{x + TILE / 2}" y="{y + 32}" text-anchor="middle" fill="{ink}">{shown}</text>'
        "</g></a>"
    )


def render_map(view: StatesView, day: str | None, chosen_state: str | None) -> str:
    """The tile map with its legend, its date control, and the counties table of ``chosen_state``.

    Each tile is a link named for assistive technology by its state and value ("New York: 12.3 new
    cases a day per 100,000 people (7-day average)"); the value is written on the tile too.
    """
    if not view.dates:
        return '<p class="empty-state">No state data loaded yet (dataset states).</p>'
    shown, values = view.on(day)
    options = "".join(
        f'<option value="{d}"{" selected" if d == shown else ""}>{d}</option>' for d in reversed(view.dates)
    )
    tiles = "".join(
        _tile(
            name,
            abbreviation,
            place=(column, row),
            value=values.get(name),
            href=f"?states_date={shown}&amp;state={escape(name)}#counties",
            chosen=name == chosen_state,
        )
        for name, abbreviation, column, row in TILES
    )
    return (
        '<form id="states-controls" method="get">'
        f'<label>Week ending <select name="states_date" onchange="this.form.submit()">{options}</select></label>'
        "</form>"
        f'<figure><figcaption id="states-caption"><span>The week ending <time id="states-date">{shown}</time>, '
        "a square per state; click one for its counties</span></figcaption>"
        f'<svg class="tiles" id="states-map" viewBox="0 0 {12 * CELL} {LEGEND_HEIGHT + 8 * CELL}" role="group" '
        'aria-labelledby="states-caption" xmlns="http://www.w3.org/2000/svg">'
        f"<defs>{NO_DATA_PATTERN}</defs>{_legend()}{tiles}</svg></figure>" + _counties_table(view, chosen_state)
    )


def _counties_table(view: StatesView, state: str | None) -> str:
    if not state:
        return ""
    rows = [row for row in view.counties if row[0] == state]
    if not rows:
        return f'<p id="counties" class="empty-state">No county data for {escape(state)}.</p>'
    body = "".join(
        f'<tr data-county="{escape(county)}"><td>{escape(county)}</td><td><code>{escape(fips or "")}</code></td>'
        f'<td class="n">{cases:,}</td><td class="n">{deaths:,}</td>'
        f'<td class="n">{"–" if avg is None else f"{avg:,.1f}"}</td></tr>'
        for _, county, fips, cases, deaths, avg in rows
    )
    return (
        f'<h3>Counties of {escape(state)}</h3><table id="counties"><thead><tr><th>County</th><th>FIPS</th>'
        "<th>Cases</th><th>Deaths</th><th>New cases a day per 100,000 (7-day average)</th></tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )
