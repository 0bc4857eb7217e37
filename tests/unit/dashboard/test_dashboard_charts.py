"""The SVG charts are drawn from the rows: one point per known value, a break (never a zero) per unknown."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from dashboard_readability import read_label
from dashboard_svg import NS, gaps, line, parse, points

from covid_dashboard.charts import (
    Chart,
    Series,
    month_ticks,
    nice_step,
    render_chart,
    tick_labels,
    tight_axis,
    value_axis,
)

START = date(2020, 12, 10)


def chart_of(values, dates=None, mark_gaps=False, key="recovered") -> Chart:
    dates = tuple(dates or (START + timedelta(days=i) for i in range(len(values))))
    return Chart("test", "Test", dates, (Series(key, "Recovered", tuple(values), mark_gaps=mark_gaps),))


def test_each_known_value_is_a_point_carrying_its_date_and_exact_value():
    values = [6_200_000, 6_250_000, 6_298_082, 6_298_082, 0]
    root = parse(render_chart(chart_of(values)))

    assert [(p.date, p.value) for p in points(root, "recovered")] == [
        ((START + timedelta(days=i)).isoformat(), v) for i, v in enumerate(values)
    ]


def test_points_sit_on_linear_scales_of_their_dates_and_values():
    values = [5, 1_000, 250_000, 33_107_107, 12, 7_000_000]
    plotted = points(parse(render_chart(chart_of(values))), "recovered")

    first, top = plotted[0], max(plotted, key=lambda p: p.value)
    per_value = (first.y - top.y) / (top.value - first.value)
    per_day = (plotted[-1].x - first.x) / (len(values) - 1)
    for i, point in enumerate(plotted):
        assert point.y == pytest.approx(first.y - (point.value - first.value) * per_value, abs=0.1)
        assert point.x == pytest.approx(first.x + i * per_day, abs=0.1)
    assert top.y < first.y  # higher values are drawn higher up


def test_the_line_passes_through_every_point_in_date_order():
    values = [3, 9, 4, 12, 12, 30]
    root = parse(render_chart(chart_of(values)))

    assert line(root, "recovered") == [[(p.x, p.y) for p in points(root, "recovered")]]


def test_unknown_values_break_the_line_and_are_not_drawn_as_zero():
    # JHU's real pattern: counts, then "not reported" from 2020-12-14, here with a value in between.
    values = [6_100_000, 6_200_000, 6_298_082, None, None, 6_400_000, 6_500_000, None]
    root = parse(render_chart(chart_of(values, mark_gaps=True)))

    plotted = points(root, "recovered")
    assert [p.value for p in plotted] == [6_100_000, 6_200_000, 6_298_082, 6_400_000, 6_500_000]
    assert 0 not in [p.value for p in plotted]
    segments = line(root, "recovered")
    assert [len(s) for s in segments] == [3, 2]
    assert segments == [[(p.x, p.y) for p in plotted[:3]], [(p.x, p.y) for p in plotted[3:]]]
    assert gaps(root, "recovered") == [("2020-12-13", "2020-12-14"), ("2020-12-17", "2020-12-17")]


def test_a_missing_date_breaks_the_line_too():
    dates = [START, START + timedelta(days=1), START + timedelta(days=3), START + timedelta(days=4)]
    root = parse(render_chart(chart_of([1, 2, 3, 4], dates=dates)))

    assert [len(s) for s in line(root, "recovered")] == [2, 2]


def test_a_lone_known_day_between_gaps_is_still_drawn():
    root = parse(render_chart(chart_of([None, 5, None], mark_gaps=True)))

    assert line(root, "recovered") == [[(points(root, "recovered")[0].x, points(root, "recovered")[0].y)]]
    assert "h0" in root.find("{http://www.w3.org/2000/svg}path").get("d")


def test_gap_bands_are_drawn_only_for_series_that_ask_for_them():
    values = [None, None, None, None, None, None, 40.5, 41.25]
    root = parse(render_chart(chart_of(values, key="new_cases_avg7")))

    assert gaps(root, "new_cases_avg7") == []
    assert [p.value for p in points(root, "new_cases_avg7")] == [40.5, 41.25]


def test_negative_daily_values_extend_the_axis_below_a_marked_zero_line():
    root = parse(render_chart(chart_of([100, -23_999, 300], key="new_cases")))

    zero_lines = [el for el in root.iter("{http://www.w3.org/2000/svg}line") if el.get("class") == "grid zero"]
    assert len(zero_lines) == 1
    negative = points(root, "new_cases")[1]
    assert negative.y > float(zero_lines[0].get("y1"))


def test_a_chart_without_any_known_value_says_so():
    svg = render_chart(chart_of([None, None]))

    assert "No data yet" in svg
    assert "<circle" not in svg


@pytest.mark.parametrize(
    ("span", "step"),
    [(3, 1.0), (10, 2.0), (99, 20.0), (33_107_107, 10_000_000.0), (1_000_000, 200_000.0)],
)
def test_axis_steps_are_round_numbers(span, step):
    assert nice_step(span) == step


def test_the_value_axis_covers_all_values_with_round_ticks():
    axis = value_axis([-12.5, 33_107_107])

    assert axis.low <= -12.5 and axis.high >= 33_107_107
    assert axis.ticks[0] == axis.low and axis.ticks[-1] == axis.high
    assert 0 in axis.ticks
    assert len(axis.ticks) <= 7


def test_month_ticks_fall_on_month_starts_and_thin_out_over_long_ranges():
    assert month_ticks(date(2020, 1, 21), date(2020, 4, 30)) == (date(2020, 2, 1), date(2020, 3, 1), date(2020, 4, 1))
    long_range = month_ticks(date(2020, 1, 21), date(2023, 3, 23))
    assert 3 <= len(long_range) <= 7
    assert all(t.day == 1 for t in long_range)


@pytest.mark.parametrize(
    ("ticks", "labels"),
    [
        pytest.param(
            (29_100_000, 29_110_000, 29_120_000, 29_130_000, 29_140_000),
            ("29.10M", "29.11M", "29.12M", "29.13M", "29.14M"),
            id="a narrow range near a large count: as many decimals as the step needs",
        ),
        pytest.param((0, 10**7, 2 * 10**7, 3 * 10**7), ("0", "10M", "20M", "30M"), id="cumulative cases"),
        pytest.param(
            (0, 500_000, 10**6, 1_500_000), ("0", "0.5M", "1.0M", "1.5M"), id="one number of decimals per axis"
        ),
        pytest.param((-25_000, -20_000, 0, 5_000), ("-25k", "-20k", "0", "5k"), id="negative daily counts"),
        pytest.param((0, 500, 1_000, 2_500), ("0", "500", "1,000", "2,500"), id="below 10,000 in full"),
        pytest.param(
            (29_104_123, 29_104_124, 29_104_125),
            ("29,104,123", "29,104,124", "29,104,125"),
            id="revised by units: in full, shorter than 29.104123M",
        ),
        pytest.param((525_517,), ("525,517",), id="one value"),
        pytest.param((3_000_000_000, 4_000_000_000), ("3B", "4B"), id="billions"),
    ],
)
def test_axis_labels_write_each_tick_exactly_in_the_shorter_form(ticks, labels):
    assert tick_labels(ticks) == labels


LOWS = (0, 7, 950, 99_999, 525_517, 29_100_000, 33_107_107, 1_000_000_007)
SPANS = (1, 3, 17, 999, 40_000, 123_457, 2_000_000, 900_000_000)


@pytest.mark.parametrize("axis_of", [tight_axis, value_axis], ids=["revisions axis", "axis from zero"])
def test_any_range_of_counts_gets_distinct_labels_each_reading_back_as_its_tick(axis_of):
    for low in LOWS:
        for span in SPANS:
            axis = axis_of([low, low + span])
            labels = tick_labels(axis.ticks)

            assert len(set(labels)) == len(labels), (low, span, labels)
            assert all(read_label(label)[0] == tick for label, tick in zip(labels, axis.ticks, strict=True)), labels
            assert axis.ticks[0] <= low and axis.ticks[-1] >= low + span  # over the data's whole range
            assert 2 <= len(axis.ticks) <= 7


def test_a_flat_series_has_one_tick_at_its_value():
    axis = tight_axis([525_517, 525_517, 525_517])

    assert axis.ticks == (525_517,)
    assert axis.low < 525_517 < axis.high
    assert tick_labels(axis.ticks) == ("525,517",)


def test_a_step_chart_holds_each_published_value_until_the_next_publication():
    from covid_dashboard.charts import render_step_chart

    points = [
        (datetime(2021, 3, 9, 12, tzinfo=UTC), 100),
        (datetime(2021, 3, 10, 12, tzinfo=UTC), None),
        (datetime(2021, 3, 11, 12, tzinfo=UTC), 103),
    ]
    svg = render_step_chart("step-cases", "Cases", points)

    assert re.findall(r'data-published-at="([^"]+)" data-value="(\d+)"', svg) == [
        ("2021-03-09T12:00:00+00:00", "100"),
        ("2021-03-11T12:00:00+00:00", "103"),
    ]
    [path] = re.findall(r'<path class="line main s-step" d="([^"]+)"', svg)
    assert re.fullmatch(r"M[\d.]+ [\d.]+ H[\d.]+ V[\d.]+ H[\d.]+", path)
    # Every count from the lowest to the highest published value is a tick, labelled with its value.
    assert re.findall(r'<text [^>]*data-value="(\d+)">([^<]+)</text>', svg) == [
        ("100", "100"),
        ("101", "101"),
        ("102", "102"),
        ("103", "103"),
    ]
    assert "Not reported" in render_step_chart("step-recovered", "Recovered", [(points[0][0], None)])


def step_chart(points, before=None):
    from covid_dashboard.charts import render_step_chart

    return parse(render_step_chart("area-step-cases", "Cases", points, before=before))


def texts(root, group: str) -> list[tuple[str | None, str]]:
    axis = root.find(f'{NS}g[@class="axis {group}"]')
    return [(text.get("data-value"), text.text) for text in axis.iter(f"{NS}text")]


def test_a_step_chart_of_a_states_or_countys_date_starts_from_the_value_its_first_revision_replaced():
    # A state's or county's revision gives the value it replaced, not when that value was published: it
    # is drawn as a dashed step from the chart's left edge, labelled "before", with no point of its own.
    points = [(datetime(2020, 3, 15, 12, tzinfo=UTC), 120), (datetime(2020, 3, 17, 12, tzinfo=UTC), 125)]
    root = step_chart(points, before=100)

    before = root.find(f'{NS}path[@class="line before s-step"]')
    [main] = [p for p in root.iter(f"{NS}path") if p.get("class") == "line main s-step"]
    circles = [(float(c.get("cx")), float(c.get("cy")), c.get("data-value")) for c in root.iter(f"{NS}circle")]
    assert before.get("data-value") == "100"
    (x0, y_before), (x1, _), (_, y_first) = path_points(before.get("d"))
    assert (x1, y_first) == circles[0][:2] and x0 < x1 and y_before > y_first  # 100 is drawn below 120
    assert path_points(main.get("d"))[0] == circles[0][:2]
    assert [value for _, _, value in circles] == ["120", "125"]
    ticks = [float(value) for value, _ in texts(root, "y")]
    assert ticks[0] <= 100 and ticks[-1] >= 125  # the axis spans the value replaced too
    assert [text for _, text in texts(root, "x")] == ["before", "2020-03-15", "2020-03-17"]


EASTERN = timezone(timedelta(hours=-5))


@pytest.mark.parametrize(
    ("first", "last", "labels"),
    [
        pytest.param(
            datetime(2026, 5, 2, 9, 30, tzinfo=EASTERN),
            datetime(2026, 5, 4, 9, 30, tzinfo=EASTERN),
            ["2026-05-02", "2026-05-04"],
            id="days apart: the day",
        ),
        pytest.param(
            datetime(2026, 5, 2, 9, 30, tzinfo=EASTERN),
            datetime(2026, 5, 2, 9, 41, tzinfo=EASTERN),
            ["2026-05-02 14:30 UTC", "2026-05-02 14:41 UTC"],
            id="the same day: the minute, in UTC",
        ),
        pytest.param(
            datetime(2026, 5, 2, 9, 30, 2, tzinfo=EASTERN),
            datetime(2026, 5, 2, 9, 30, 27, tzinfo=EASTERN),
            ["2026-05-02 14:30:02 UTC", "2026-05-02 14:30:27 UTC"],
            id="the same minute (runs seconds apart): the second",
        ),
    ],
)
def test_the_first_and_last_publication_are_labelled_as_precisely_as_tells_them_apart(first, last, labels):
    assert [text for _, text in texts(step_chart([(first, 7), (last, 9)]), "x")] == labels


def path_points(d: str) -> list[tuple[float, float]]:
    """The vertices of a path of M, H and V commands."""
    x = y = 0.0
    vertices = []
    for command, value in re.findall(r"([MHV])([^MHV]+)", d):
        if command == "M":
            x, y = (float(v) for v in value.split())
        elif command == "H":
            x = float(value)
        else:
            y = float(value)
        vertices.append((x, y))
    return vertices
