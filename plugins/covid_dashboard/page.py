"""The dashboard page as one self-contained HTML document (inline CSS, SVG and a few lines of script)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from html import escape

from covid_dashboard.charts import Chart, Series, render_chart
from covid_dashboard.data import Dashboard, Day, Run
from covid_dashboard.history import NATIONAL, Area
from covid_dashboard.revisions import render_revisions
from covid_dashboard.states import render_map
from covid_dashboard.text import format_count, format_time

# Colours per series key, shared by the lines and their legend swatches.
COLOURS = {
    "cases": "#1f6fb2",
    "deaths": "#b3261e",
    "recovered": "#2e7d32",
    "new_cases": "#8fb8de",
    "new_cases_avg7": "#1f6fb2",
    "new_deaths": "#e6a19b",
    "new_deaths_avg7": "#b3261e",
}

STYLE = """
:root { color-scheme: light; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
body { margin: 0; padding: 16px 20px; color: #1a202c; background: #fff; }
h1 { font-size: 1.4rem; margin: 0 0 4px; }
h2 { font-size: 1.05rem; margin: 24px 0 8px; }
.meta { color: #4a5568; margin: 0 0 12px; font-size: .9rem; }
.summary { display: flex; gap: 12px; flex-wrap: wrap; margin: 8px 0 4px; }
.summary div { border: 1px solid #e2e8f0; border-radius: 6px; padding: 8px 12px; min-width: 140px; }
.summary b { display: block; font-size: 1.2rem; }
.summary span { color: #4a5568; font-size: .8rem; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); gap: 16px; }
figure { margin: 0; border: 1px solid #e2e8f0; border-radius: 6px; padding: 8px 10px 4px; }
figcaption { font-weight: 600; font-size: .95rem; display: flex; gap: 14px; flex-wrap: wrap; align-items: center; }
.legend { font-weight: normal; font-size: .8rem; color: #4a5568; display: inline-flex; align-items: center; gap: 4px; }
.legend i { display: inline-block; width: 14px; height: 3px; border-radius: 2px; }
svg.chart { width: 100%; height: auto; display: block; font-size: 11px; fill: #4a5568; }
svg .grid { stroke: #edf2f7; } svg .grid.zero { stroke: #a0aec0; } svg .tick { stroke: #a0aec0; }
svg .line { fill: none; stroke-linejoin: round; stroke-linecap: round; }
svg .line.main { stroke-width: 2; } svg .line.raw { stroke-width: 1; }
svg .points circle { fill: transparent; }
svg .points circle:hover { fill: currentColor; }
svg .gap rect { fill: #f1f1f1; } svg .gap text { fill: #4a5568; font-style: italic; }
svg .empty { font-size: 14px; }
#tip { position: fixed; pointer-events: none; background: #1a202c; color: #fff; padding: 3px 7px;
       border-radius: 4px; font-size: 12px; display: none; white-space: nowrap; }
table { border-collapse: collapse; font-size: .85rem; }
th, td { border-bottom: 1px solid #e2e8f0; padding: 4px 10px; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.status-success { color: #2e7d32; font-weight: 600; } .status-failed { color: #b3261e; font-weight: 600; }
td.error { max-width: 420px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; color: #b3261e; }
.empty-state { padding: 24px; border: 1px dashed #cbd5e0; border-radius: 6px; color: #4a5568; }
#controls { display: flex; gap: 14px; align-items: center; font-size: .9rem; margin: 4px 0 8px; }
.as-of { background: #fffbea; border: 1px solid #f6e05e; border-radius: 6px; padding: 6px 10px; }
svg .s-step { stroke: #4a5568; } svg .points.steps circle { fill: #4a5568; }
svg .line.before { stroke-width: 2; stroke-dasharray: 5 4; }
#area-controls { display: flex; gap: 8px; align-items: center; font-size: .9rem; margin: 4px 0 8px; }
#area-controls select { max-width: 420px; }
td small { color: #4a5568; margin-left: 4px; } td.same { color: #4a5568; }
.limit { background: #fffbea; border: 1px solid #f6e05e; border-radius: 6px; padding: 6px 10px; }
svg.tiles { width: 100%; max-width: 560px; display: block; font-size: 11px; }
svg.tiles rect { stroke: #cbd5e0; } svg.tiles .chosen rect { stroke: #1a202c; stroke-width: 2; }
svg.tiles rect[fill="url(#no-data)"] { stroke: #4a5568; stroke-dasharray: 3 2; }
svg.tiles a:focus-visible rect { stroke: #1a202c; stroke-width: 3; }
svg.tiles text { pointer-events: none; } svg.tiles .abbr, #states-legend > text { font-size: 12px; font-weight: 600; }
"""

# Hover read-out from the points' data attributes; the page works without it.
SCRIPT = """
const tip = document.getElementById("tip");
document.addEventListener("mouseover", (event) => {
  const point = event.target.closest("circle[data-date]");
  if (!point) { tip.style.display = "none"; return; }
  const label = point.parentNode.dataset.label;
  const value = Number(point.dataset.value).toLocaleString("en-US", {maximumFractionDigits: 1});
  tip.textContent = `${point.dataset.date}  ${label}: ${value}`;
  tip.style.display = "block";
  tip.style.left = `${event.clientX + 12}px`;
  tip.style.top = `${event.clientY + 12}px`;
});
"""


def build_charts(days: tuple[Day, ...]) -> tuple[Chart, ...]:
    """The five charts: three cumulative series, then daily new cases and deaths with their averages."""
    dates = tuple(d.date for d in days)

    def series(key: str, label: str, weight: str = "main", mark_gaps: bool = False) -> Series:
        return Series(key, label, tuple(getattr(d, key) for d in days), weight=weight, mark_gaps=mark_gaps)

    return (
        Chart("cases", "Cumulative cases", dates, (series("cases", "Cases"),)),
        Chart("deaths", "Cumulative deaths", dates, (series("deaths", "Deaths"),)),
        Chart("recovered", "Cumulative recovered", dates, (series("recovered", "Recovered", mark_gaps=True),)),
        Chart(
            "new-cases",
            "Daily new cases",
            dates,
            (series("new_cases", "New cases", weight="raw"), series("new_cases_avg7", "7-day average")),
        ),
        Chart(
            "new-deaths",
            "Daily new deaths",
            dates,
            (series("new_deaths", "New deaths", weight="raw"), series("new_deaths_avg7", "7-day average")),
        ),
    )


def _figure(chart: Chart) -> str:
    legend = "".join(
        f'<span class="legend"><i style="background:{COLOURS[s.key]}"></i>{escape(s.label)}</span>'
        for s in chart.series
    )
    return f"<figure><figcaption>{escape(chart.title)}{legend}</figcaption>{render_chart(chart)}</figure>"


def _summary(days: tuple[Day, ...]) -> str:
    last = days[-1]
    recovered = next((d for d in reversed(days) if d.recovered is not None), None)
    tiles = [
        ("Cases", format_count(last.cases), f"as of {last.date.isoformat()}"),
        ("Deaths", format_count(last.deaths), f"as of {last.date.isoformat()}"),
        (
            "Recovered",
            format_count(recovered.recovered) if recovered else "–",
            f"last reported {recovered.date.isoformat()}" if recovered else "never reported",
        ),
    ]
    return (
        '<div class="summary">'
        + "".join(f"<div><span>{name}</span><b>{value}</b><span>{note}</span></div>" for name, value, note in tiles)
        + "</div>"
    )


def _runs_table(runs: Iterable[Run]) -> str:
    rows = "".join(
        "<tr>"
        f'<td>{format_time(r.started_at)}</td><td class="status-{escape(r.status)}">{escape(r.status)}</td>'
        f'<td class="n">{format_count(r.rows_inserted)}</td><td class="n">{format_count(r.rows_updated)}</td>'
        f'<td class="n">{format_count(r.rows_unchanged)}</td><td class="n">{format_count(r.rows_stale)}</td>'
        f"<td>{r.first_date or ''} – {r.last_date or ''}</td>"
        f"<td><code>{escape(r.run_id)}</code></td>"
        f'<td class="error" title="{escape(r.error or "")}">{escape(r.error or "")}</td>'
        "</tr>"
        for r in runs
    )
    if not rows:
        return '<p class="empty-state">No runs recorded yet.</p>'
    return (
        '<table id="runs"><thead><tr><th>Started</th><th>Status</th><th>Inserted</th><th>Updated</th>'
        "<th>Unchanged</th><th>Stale</th><th>Dates</th><th>Run</th><th>Error</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _controls(dashboard: Dashboard, day: date | None, area: Area) -> str:
    as_of = dashboard.as_of.date().isoformat() if dashboard.as_of else ""
    banner = (
        f'<p class="as-of" id="as-of">As the table stood on <time>{as_of}</time>: only the publications '
        'committed by the end of that day. <a href="./">Back to now</a></p>'
        if dashboard.as_of
        else ""
    )
    # The revisions view's area stays chosen when a day is asked for.
    keep = "" if area == NATIONAL else f'<input type="hidden" name="area" value="{escape(area.param)}">'
    return (
        '<form id="controls" method="get">'
        f'<label>As of <input type="date" name="as_of" value="{as_of}"></label> '
        f'<label>Revisions of day <input type="date" name="day" value="{day.isoformat() if day else ""}"></label> '
        f"{keep}<button>Show</button></form>{banner}"
    )


def render_page(
    dashboard: Dashboard,
    *,
    day: date | None = None,
    states_date: str | None = None,
    state: str | None = None,
    area: Area = NATIONAL,
) -> str:
    """The whole HTML document.

    :param dashboard: what to show.
    :param day: whose published values to trace in the revisions view.
    :param states_date: the date of the states map (the latest if None).
    :param state: whose counties to list.
    :param area: whose revisions to show: the national series, a state or a county.
    """
    if dashboard.days:
        body = (
            _summary(dashboard.days)
            + '<div class="charts">'
            + "".join(_figure(chart) for chart in build_charts(dashboard.days))
            + "</div>"
        )
    elif dashboard.publication:
        body = '<p class="empty-state">The table covid_us_daily is empty: no run has loaded data yet.</p>'
    else:
        body = (
            '<p class="empty-state">No data yet: each run of the covid_etl DAG publishes this dashboard '
            "when it ends (task publish_dashboard).</p>"
        )
    published = dashboard.publication
    provenance = (
        f'Published <time id="published-at">{format_time(published.published_at)}</time> by run '
        f'<code id="published-by">{escape(published.run_id)}</code> · '
        if published
        else ""
    )
    colours = "".join(f"svg .s-{key} {{ stroke: {colour}; color: {colour}; }}\n" for key, colour in COLOURS.items())
    points = "".join(f'svg .points[data-series="{key}"] {{ color: {colour}; }}\n' for key, colour in COLOURS.items())
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>COVID-19 – United States</title><style>{STYLE}{colours}{points}</style></head><body>"
        "<h1>COVID-19 in the United States</h1>"
        f'<p class="meta">{provenance}Last successful load: '
        f'<time id="last-success">{format_time(dashboard.last_success_at)}</time>'
        " · cases and deaths: The New York Times; recovered: Johns Hopkins CSSE. "
        'Data as JSON: <a href="api/daily">api/daily</a></p>'
        f"{_controls(dashboard, day, area)}{body}"
        f'<h2 id="states">States</h2>{render_map(dashboard.states, states_date, state)}'
        f"<h2>Last runs</h2>{_runs_table(dashboard.runs)}"
        f'<h2 id="revisions-view">Revisions</h2>'
        f"{render_revisions(dashboard.history, dashboard.revisions, area, day, as_of=dashboard.as_of)}"
        f'<div id="tip"></div><script>{SCRIPT}</script></body></html>'
    )
