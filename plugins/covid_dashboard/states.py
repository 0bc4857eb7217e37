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
# Color bins of the 7-day average of new cases per 100,000 people: (lower bound, color).
BINS = ((0, "#fff5eb"), (5, "#fdd0a2"), (10, "#fdae6b"), (25, "#fd8d3c"), (50, "#e6550d"), (100, "#a63603"))
UNKNOWN = "#e2e8f0"
CELL = 44


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


def color(value: float | None) -> str:
    if value is None:
        return UNKNOWN
    return next(fill for low, fill in reversed(BINS) if value >= low) if value >= 0 else BINS[0][1]


def render_map(view: StatesView, day: str | None, chosen_state: str | None) -> str:
    """The tile map, its date control and legend, and the counties table of ``chosen_state``."""
    if not view.dates:
        return '<p class="empty-state">No state data loaded yet (dataset states).</p>'
    shown, values = view.on(day)
    options = "".join(
        f'<option value="{d}"{" selected" if d == shown else ""}>{d}</option>' for d in reversed(view.dates)
    )
    tiles = []
    for name, abbreviation, column, row in TILES:
        value = values.get(name)
        label = "no data" if value is None else f"{value:,.1f}"
        tiles.append(
            f'<a href="?states_date={shown}&amp;state={escape(name)}#counties">'
            f'<g class="tile{" chosen" if name == chosen_state else ""}" data-state="{escape(name)}" '
            f'data-value="{"" if value is None else value}">'
            f'<rect x="{column * CELL}" y="{row * CELL}" width="{CELL - 3}" height="{CELL - 3}" rx="4" '
            f'fill="{color(value)}"><title>{escape(name)}: {label} new cases a day per 100,000</title></rect>'
            f'<text x="{column * CELL + (CELL - 3) / 2}" y="{row * CELL + 26}" text-anchor="middle">'
            f"{abbreviation}</text>"
            "</g></a>"
        )
    legend = (
        "".join(f'<span class="legend"><i style="background:{fill}"></i>{low}+</span>' for low, fill in BINS)
        + f'<span class="legend"><i style="background:{UNKNOWN}"></i>no data</span>'
    )
    return (
        '<form id="states-controls" method="get">'
        f'<label>Week ending <select name="states_date" onchange="this.form.submit()">{options}</select></label>'
        "</form>"
        f'<figure><figcaption>7-day average of new cases per 100,000 people on <time id="states-date">{shown}'
        f"</time> (a square per state; click one for its counties){legend}</figcaption>"
        f'<svg class="tiles" id="states-map" viewBox="0 0 {12 * CELL} {8 * CELL}" role="img" '
        f'aria-label="States map" xmlns="http://www.w3.org/2000/svg">{"".join(tiles)}</svg></figure>'
        + _counties_table(view, chosen_state)
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
