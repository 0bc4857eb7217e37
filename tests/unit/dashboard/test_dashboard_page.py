"""The page puts the five charts, the last successful load and the last runs on one self-contained document."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

from covid_dashboard.data import EMPTY, Dashboard, Day, Publication, Run
from covid_dashboard.page import build_charts, render_page

UTC = UTC


def day(i: int, recovered: int | None = 10, avg: float | None = 3.5) -> Day:
    return Day(date(2020, 12, 1) + timedelta(days=i), 1000 + i * 10, 50 + i, recovered, 10, 1, avg, avg)


def run(run_id: str, status: str = "success", error: str | None = None) -> Run:
    started = datetime(2026, 5, 2, 3, 0, tzinfo=UTC)
    return Run(
        run_id, status, started, started + timedelta(minutes=2), 5, 2, 600, date(2020, 1, 21), date(2021, 9, 21), error
    )


def svg_ids(html: str) -> list[str]:
    return re.findall(r'<svg class="chart" id="chart-([\w-]+)"', html)


def test_the_page_shows_five_charts_the_last_successful_load_and_the_runs():
    dashboard = Dashboard(
        days=(day(0), day(1), day(2, recovered=None)),
        runs=(run("scheduled__2026-05-02", "success"), run("manual__1", "failed", error="boom")),
        last_success_at=datetime(2026, 5, 2, 3, 2, 30, tzinfo=timezone(timedelta(hours=2))),
    )
    html = render_page(dashboard)

    assert svg_ids(html) == ["cases", "deaths", "recovered", "new-cases", "new-deaths"]
    assert '<time id="last-success">2026-05-02 01:02 UTC</time>' in html
    rows = re.findall(r"<tr><td>.*?</tr>", html)
    assert len(rows) == 2
    counts = '<td class="n">5</td><td class="n">2</td><td class="n">600</td>'
    assert 'class="status-success">success</td>' + counts in rows[0]
    assert "status-failed" in rows[1] and "boom" in rows[1]


def test_the_daily_charts_draw_the_raw_values_under_their_seven_day_average():
    new_cases, new_deaths = (chart for chart in build_charts((day(0), day(1))) if chart.chart_id.startswith("new"))

    assert [(s.key, s.weight) for s in new_cases.series] == [("new_cases", "raw"), ("new_cases_avg7", "main")]
    assert [(s.key, s.weight) for s in new_deaths.series] == [("new_deaths", "raw"), ("new_deaths_avg7", "main")]


def test_only_recovered_marks_its_unknown_days_as_not_reported():
    marked = [s.key for chart in build_charts((day(0),)) for s in chart.series if s.mark_gaps]

    assert marked == ["recovered"]


def test_the_summary_gives_the_last_reported_recovered_count_not_a_zero():
    html = render_page(Dashboard(days=(day(0, recovered=777), day(1, recovered=None)), runs=(), last_success_at=None))

    assert "<b>777</b><span>last reported 2020-12-01</span>" in html
    assert '<time id="last-success">never</time>' in html


def test_text_from_the_database_is_escaped():
    html = render_page(
        Dashboard(
            days=(), runs=(run("<script>x</script>", "failed", error='<img src=x onerror="y">'),), last_success_at=None
        )
    )

    assert "<script>x</script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html
    assert "<img src=x" not in html


PUBLISHED = Publication(
    run_id="scheduled__2026-05-02T00:00:00+00:00", published_at=datetime(2026, 5, 2, 0, 3, tzinfo=UTC)
)


def test_before_the_first_publication_the_page_explains_why_it_is_empty():
    unpublished = render_page(EMPTY)
    empty_table = render_page(Dashboard(days=(), runs=(), last_success_at=None, publication=PUBLISHED))

    assert "publishes this dashboard when it ends" in unpublished and "Published" not in unpublished
    assert "covid_us_daily is empty" in empty_table
    assert svg_ids(unpublished) == svg_ids(empty_table) == []


def test_the_page_says_when_and_by_which_run_its_data_was_published():
    html = render_page(Dashboard(days=(day(0),), runs=(), last_success_at=None, publication=PUBLISHED))

    assert '<time id="published-at">2026-05-02 00:03 UTC</time>' in html
    assert '<code id="published-by">scheduled__2026-05-02T00:00:00+00:00</code>' in html


def test_the_page_loads_nothing_from_other_hosts():
    html = render_page(Dashboard(days=(day(0), day(1)), runs=(run("r"),), last_success_at=None))

    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "@import" not in html


def test_the_full_series_plots_a_point_per_known_value():
    days = tuple(day(i, recovered=None if i > 330 else i) for i in range(1200))
    html = render_page(Dashboard(days=days, runs=tuple(run(str(i)) for i in range(10)), last_success_at=None))

    assert html.count("<circle") == 1200 * 6 + 331
