"""The revisions view: pick the national series, a state or a county, and see what its publications changed.

- The national series: each loaded publication of NYT's and JHU's files with the number of days it
  revised, and a day's published values as step charts (``history`` in the document).
- A state or a county: its revisions in the document (``revisions``), newest first: the date, the
  publication (time and commit), cases and deaths old → new; and, for its most revised date (or the one
  asked for) when that date was revised more than once, the same step charts.

Only the states and counties with revisions in the document are offered, with their count; the
document holds the newest revisions of each dataset only, and the view says so when there are more.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from html import escape
from itertools import groupby
from urllib.parse import quote

from covid_dashboard.charts import render_step_chart
from covid_dashboard.history import NATIONAL, Area, AreaRevisions, History, Revision, most_revised_day, trace
from covid_dashboard.text import TIME_FORMATS, distinct_time_format, format_count, format_time

# The national publications table lists at most this many publications, newest first.
REVISION_ROWS = 60


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _commit(commit: str | None) -> str:
    return f"<code>{escape((commit or 'unpinned')[:12])}</code>"


def _link(area: Area, day: date | None = None, anchor: str = "revisions-view") -> str:
    """A link to the revisions view of ``area`` (and a day of it)."""
    query = f"?area={quote(area.param, safe=':')}" + (f"&amp;day={day.isoformat()}" if day else "")
    return f"{query}#{anchor}"


def render_revisions(
    history: History, revisions: AreaRevisions, area: Area, day: date | None, *, as_of: datetime | None = None
) -> str:
    """The view's control and what it shows of ``area`` (``day``: the date to trace, if asked)."""
    picker = _picker(history, revisions, area, as_of)
    if area.kind == "national":
        return picker + _national(history, day or history.most_revised_day())
    return picker + _area(revisions, area, day)


def _picker(history: History, revisions: AreaRevisions, area: Area, as_of: datetime | None) -> str:
    """A select of the national series and every state and county with revisions in the document."""

    def option(choice: Area, text: str) -> str:
        chosen = " selected" if choice == area else ""
        return f'<option value="{escape(choice.param)}"{chosen}>{escape(text)}</option>'

    # A day revised by three publications is three revisions, as for states and counties.
    national = sum(revised for _, revised in history.revision_counts())
    options = [option(NATIONAL, f"United States, national series ({_plural(national, 'revision')})")]
    states = revisions.counts("state")
    if states:
        options.append('<optgroup label="States">')
        options += [option(state, f"{state.state} ({_plural(n, 'revision')})") for state, n in states]
        options.append("</optgroup>")
    counties = revisions.counts("county")  # by state, then county
    for state, of_state in groupby(counties, key=lambda item: item[0].state):
        options.append(f'<optgroup label="Counties of {escape(state)}">')
        options += [option(county, f"{county.county}, {state} ({_plural(n, 'revision')})") for county, n in of_state]
        options.append("</optgroup>")
    if area.kind != "national" and area not in {a for a, _ in states + counties}:
        options.append(option(area, f"{area.label} (no revisions in the document)"))
    keep = f'<input type="hidden" name="as_of" value="{as_of.date().isoformat()}">' if as_of else ""
    limits = "".join(
        f'<p class="meta limit" id="revisions-limit-{kind}">The document holds only the newest '
        f"{len(dataset.rows):,} of {dataset.total:,} {kind} revisions: older ones are not listed or counted here.</p>"
        for kind, dataset in (("state", revisions.states), ("county", revisions.counties))
        if not dataset.complete
    )
    return (
        '<form id="area-controls" method="get" action="#revisions-view">'
        '<label for="area">Revisions of</label> '
        f'<select id="area" name="area" onchange="this.form.submit()">{"".join(options)}</select> '
        f"{keep}<button>Show</button></form>{limits}"
    )


def _national(history: History, day: date | None) -> str:
    """Each loaded publication of the national files with the days it revised; a day's step charts."""
    counts = history.revision_counts()
    if not counts:
        return '<p class="empty-state">No publication loaded yet.</p>'
    rows = "".join(
        f'<tr data-source="{release.source}" data-published-at="{release.published_at.isoformat()}">'
        f"<td>{release.source}</td><td>{format_time(release.published_at)}</td>"
        f'<td>{_commit(release.commit)}</td><td class="n">{revised:,}</td></tr>'
        for release, revised in counts[:REVISION_ROWS]
    )
    older = len(counts) - REVISION_ROWS
    more = f'<p class="meta">and {older} older publications.</p>' if older > 0 else ""
    thinned = (
        f'<p class="meta">Only every {history.thinned_to_every}th publication fits in the published document.</p>'
        if history.thinned_to_every > 1
        else ""
    )
    table = (
        '<table id="revisions"><thead><tr><th>Source</th><th>Published</th><th>Commit</th>'
        f"<th>Days revised</th></tr></thead><tbody>{rows}</tbody></table>{more}{thinned}"
    )
    if day is None:
        return table
    of_day = history.of_day(day)
    steps = "".join(
        f"<figure><figcaption>{escape(title)}</figcaption>"
        + render_step_chart(chart_id, title, [(c.release.published_at, c.values[position]) for c in of_day[source]])
        + "</figure>"
        for chart_id, title, source, position in (
            ("step-cases", "Cases (NYT)", "NYT", 0),
            ("step-deaths", "Deaths (NYT)", "NYT", 1),
            ("step-recovered", "Recovered (JHU)", "JHU", 0),
        )
    )
    return f'{table}<h3 id="day-trace">Published values of {day.isoformat()}</h3><div class="charts">{steps}</div>'


def _change(old: int | None, new: int | None) -> str:
    """A value's revision as a cell: "232 → 445 +213", or "3 unchanged"."""
    if old == new:
        return f'<td class="n same">{format_count(new)} <small>unchanged</small></td>'
    delta = "" if None in (old, new) else f" <small>{new - old:+,}</small>"
    return f'<td class="n">{format_count(old)} → {format_count(new)}{delta}</td>'


def _area(revisions: AreaRevisions, area: Area, day: date | None) -> str:
    """A state's or county's revisions, newest first, and the step charts of one of its dates."""
    listed = revisions.of(area)
    dataset = revisions.dataset_of(area)
    if not listed:
        return (
            f'<p class="empty-state" id="area-revisions">No revisions of {escape(area.label)} in the document'
            f"{'' if dataset.complete else ' (it holds the newest ones only)'}.</p>"
        )
    times_revised = Counter(revision.day for revision in listed)
    when = distinct_time_format((r.published_at for r in listed), coarsest=TIME_FORMATS[1])
    rows = "".join(_area_row(area, revision, times_revised[revision.day], when) for revision in listed)
    summary = (
        f"{_plural(len(listed), 'revision')} of {_plural(len(times_revised), 'date')} in the document, newest "
        "publication first. Each is a publication that changed the date's cumulative counts (old → new)."
    )
    table = (
        f'<h3 id="area-title">Revisions of {escape(area.label)}</h3><p class="meta">{summary}</p>'
        '<table id="area-revisions"><thead><tr><th>Date</th><th>Published</th><th>Commit</th>'
        f"<th>Cases</th><th>Deaths</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    return table + _area_trace(area, listed, day if day in times_revised else None)


def _area_row(area: Area, revision: Revision, times: int, when: str) -> str:
    """A revision's row; its publication's time written with ``when`` (to the minute, or to the second
    when two publications of the table fall in the same minute)."""
    at, iso = revision.published_at, revision.published_at.isoformat()
    # A date revised more than once links to its step charts.
    shown = revision.day.isoformat()
    if times > 1:
        shown = f'<a href="{_link(area, revision.day, "area-trace")}">{shown}</a>'
    return (
        f'<tr data-date="{revision.day.isoformat()}" data-published-at="{iso}">'
        f'<td>{shown}</td><td><time datetime="{iso}" title="{iso}">{at.astimezone(UTC):{when}}</time></td>'
        f"<td>{_commit(revision.commit)}</td>{_change(*revision.cases)}{_change(*revision.deaths)}</tr>"
    )


def _area_trace(area: Area, listed: tuple[Revision, ...], day: date | None) -> str:
    """Step charts of a date's published cases and deaths, when it was revised more than once (one
    revision is one step: its row says all)."""
    if day is None:
        day, times = most_revised_day(listed)
    else:
        times = sum(1 for r in listed if r.day == day)
    if times < 2:
        return (
            f'<p class="meta" id="area-trace">Each date of {escape(area.label)} was revised once in the document.</p>'
        )
    steps = trace(listed, day)
    charts = "".join(
        f"<figure><figcaption>{title}</figcaption>"
        + render_step_chart(
            chart_id,
            f"{title} of {day.isoformat()}, {area.label}",
            [(r.published_at, getattr(r, column)[1]) for r in steps],
            before=getattr(steps[0], column)[0],
        )
        + "</figure>"
        for chart_id, title, column in (("area-step-cases", "Cases", "cases"), ("area-step-deaths", "Deaths", "deaths"))
    )
    return (
        f'<h3 id="area-trace">Published values of {day.isoformat()}, {escape(area.label)}</h3>'
        f'<p class="meta">{_plural(times, "revision")}; "before" is the value the first one revised.</p>'
        f'<div class="charts">{charts}</div>'
    )
