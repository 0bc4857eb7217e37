"""The benchmark harness's bookkeeping (benchmarks/bench_counties.py), without a database: the order of its
runs, what it accepts as a verified run, and how it sums runs up into the tables and latest.json."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bench_support import bench, generator

OURS = ["first_load", "forced_reload", "revised_1pct", "next_day", "next_day_cold", "skip"]
MANIFEST = generator.Manifest(
    rows=6546,
    seed=7,
    counties=3273,
    days=2,
    first_date="2020-01-21",
    last_date="2020-01-22",
    revised_rows=65,
    new_rows=3273,
    files={"base": "base.csv", "republished": "republished.csv", "revised": "revised.csv", "next_day": "next_day.csv"},
    next_day_revised_rows=7,
    gone={"next_day.csv": [("2020-01-21", "Ohio", f"County {n}") for n in range(5)]},
)


@pytest.fixture(scope="module")
def harness():
    return bench()


def outcome(harness, name: str, seconds: float, *, method: str = "ours", case: str | None = None, size: int = 6546,
            **result):  # fmt: skip
    run = harness.Run(method, case or name, size, name)
    return harness.Outcome(run, {"seconds": seconds, "rows": size, "verified": True, **result}, 50.0, 12.0, True)


def test_each_round_runs_the_floors_once_per_size_beside_ours_and_the_peers_and_backfill_once(harness):
    runs = harness.plan(
        1000, cases=["first_load", "next_day"], sizes=[200, 2000], repeat=2, peers=["seed_execute_values", "dlt_merge"],
        peer_cases=["first_load", "next_day"], backfill=True,
    )  # fmt: skip
    one_round = [
        ("floor", "first_load", 1000, "floor"),
        ("ours", "first_load", 1000, "first_load"),
        ("floor_indexed", "first_load", 1000, "floor_indexed"),
        ("ours", "next_day", 1000, "next_day"),
        ("floor", "first_load", 200, "floor"),
        ("ours", "first_load", 200, "rss_0_5m"),
        ("floor_indexed", "first_load", 200, "floor_indexed"),
        ("floor", "first_load", 2000, "floor"),
        ("ours", "first_load", 2000, "rss_5m"),
        ("floor_indexed", "first_load", 2000, "floor_indexed"),
    ]
    assert [(r.method, r.case, r.size, r.name) for r in runs] == one_round * 2 + [
        ("seed_execute_values", "first_load", 1000, "execute_values_first_load"),
        ("seed_execute_values", "next_day", 1000, "execute_values_next_day"),
        ("dlt_merge", "first_load", 1000, "dlt_first_load"),
        ("dlt_merge", "next_day", 1000, "dlt_next_day"),
        ("ours", "backfill_30", 1000, "backfill_30"),
    ]
    assert [r.prepared for r in runs[:4]] == [False, False, False, True]  # ours' next_day starts from a copy
    without_first_load = harness.plan(1000, cases=["next_day", "skip"], sizes=[], repeat=1, peers=[], peer_cases=[],
                                      backfill=False)  # fmt: skip
    assert [r.name for r in without_first_load] == ["floor", "next_day", "skip"]  # no first load: no floor_indexed


def test_each_case_expects_the_counts_and_history_its_files_imply(harness):
    expected = {case: harness.expected_counts(MANIFEST, case) for case in OURS}
    assert expected == {
        "first_load": (6546, 0, 0),
        "forced_reload": (0, 0, 0),
        "revised_1pct": (3273, 65, 0),
        "next_day": (3273, 7, 5),
        "next_day_cold": (3273, 7, 5),
        "skip": (0, 0, 0),
    }
    assert harness.expected_history(MANIFEST, "first_load") == {}  # the first publication is the base
    assert harness.expected_history(MANIFEST, "forced_reload") == {}
    assert harness.expected_history(MANIFEST, "next_day") == {"+": 3273, "-": 5, "~": 7}


def test_a_run_is_verified_only_with_its_table_counts_and_history_right(harness):
    good = outcome(harness, "next_day", 1.0, inserted=3273, updated=7, deleted=5, history={"+": 3273, "-": 5, "~": 7})
    assert harness.problems_with(good, MANIFEST) == []
    wrong_counts = replace(good, result=good.result | {"deleted": 0})
    assert "(3273, 7, 0); the files imply (3273, 7, 5)" in harness.problems_with(wrong_counts, MANIFEST)[0]
    no_history = replace(good, result=good.result | {"history": {}})
    assert harness.problems_with(no_history, MANIFEST)[0].startswith("history written {}")
    table_wrong = replace(good, result=good.result | {"verified": False, "problems": ["keys ... still in the table"]})
    assert harness.problems_with(table_wrong, MANIFEST) == ["keys ... still in the table"]
    not_skipped = outcome(harness, "skip", 0.1, inserted=0, updated=0, deleted=0, history={}, skipped=False)
    assert harness.problems_with(not_skipped, MANIFEST) == ["the skip's check did not find the loaded publication"]
    dlt = outcome(harness, "dlt_next_day", 3.0, method="dlt_merge", case="next_day", inserted=None, updated=None)
    assert harness.problems_with(dlt, MANIFEST) == []  # dlt does not count: its table is verified


def test_floor_indexed_is_verified_only_with_the_primary_key_and_ours_lookup_index(harness):
    both = [[False, ["state", "county"]], [True, ["date", "state", "county"]]]
    assert harness.FLOOR_INDEXED_INDEXES == both  # ours' lookup= in include/covid_etl/sources/specs.py
    counts = {"inserted": 6546, "updated": 0, "deleted": 0}
    good = outcome(harness, "floor_indexed", 1.0, method="floor_indexed", case="first_load", indexes=both, **counts)
    assert harness.problems_with(good, MANIFEST) == []
    key_only = replace(good, result=good.result | {"indexes": both[1:]})
    assert harness.problems_with(key_only, MANIFEST) == [f"the table's indexes are {both[1:]}, not {both}"]
    unreported = replace(good, result={k: v for k, v in good.result.items() if k != "indexes"})
    assert harness.problems_with(unreported, MANIFEST)[0].startswith("the table's indexes are None")
    short = replace(good, result=good.result | {"inserted": 6000})
    assert "the files imply (6546, 0, 0)" in harness.problems_with(short, MANIFEST)[0]  # the table as the floor's


def test_cases_sum_up_to_their_median_min_max_and_ratio_to_the_floor_of_their_size(harness):
    outcomes = [
        outcome(harness, "floor", 2.0, method="floor", case="first_load"),
        outcome(harness, "next_day", 0.5),
        outcome(harness, "floor", 4.0, method="floor", case="first_load"),
        outcome(harness, "next_day", 0.3),
        outcome(harness, "floor", 3.0, method="floor", case="first_load"),
        outcome(harness, "next_day", 0.9, profile={"total": 0.9}),
        outcome(harness, "floor", 1.0, method="floor", case="first_load", size=1000),
        outcome(harness, "rss_0_5m", 1.5, case="first_load", size=1000),
    ]
    summary = harness.summarize(outcomes)
    floors, cases = summary.floors, summary.cases
    assert (floors[6546].seconds, floors[1000].seconds, summary.indexed) == (3.0, 1.0, {})
    next_day = cases["next_day"]
    assert (next_day.seconds, min(next_day.times), max(next_day.times), next_day.ratio) == (0.5, 0.3, 0.9, 0.5 / 3)
    assert next_day.target() == ("≤ 0.2× floor", True)
    assert cases["rss_0_5m"].ratio == 1.5 and cases["rss_0_5m"].target() == ("≤ 150 MiB", True)
    document = harness.results_json(summary, 6546, {"version": "PostgreSQL 15"}, 60.0)
    assert {"date", "cores", "rows", "floor_seconds", "cases"} <= set(document)
    assert (document["rows"], document["floor_seconds"]) == (6546, 3.0)
    entry = document["cases"]["next_day"]
    assert {"seconds", "ratio_to_floor", "rows_per_second", "peak_rss_mb", "verified"} <= set(entry)
    assert (entry["seconds"], entry["min"], entry["max"], entry["rows_per_second"]) == (0.5, 0.3, 0.9, 13092)
    assert (entry["verified"], entry["keeps_history"]) == (True, True)
    assert "min" not in document["cases"]["rss_0_5m"]  # one run: no min and max
    assert document["floor_indexed_seconds"] is None and "ratio_to_floor_indexed" not in entry  # none ran


def test_ours_first_loads_are_read_against_floor_indexed_too_and_the_issues_ratio_stays_the_floors(harness):
    how = "COPY into the bare table, then ADD PRIMARY KEY and CREATE INDEX (state, county)"

    def floors(size: int, floor: float, indexed: float) -> list:
        return [outcome(harness, "floor", floor, method="floor", case="first_load", size=size),
                outcome(harness, "floor_indexed", indexed, method="floor_indexed", case="first_load", size=size,
                        how=how)]  # fmt: skip

    outcomes = [
        *floors(6546, 2.0, 3.0),
        outcome(harness, "first_load", 3.3, case="first_load"),
        outcome(harness, "next_day", 0.4),
        *floors(6546, 4.0, 2.5),
        outcome(harness, "first_load", 2.7, case="first_load"),
        outcome(harness, "next_day", 0.5),
        *floors(1000, 1.0, 1.25),
        outcome(harness, "rss_0_5m", 1.5, case="first_load", size=1000),
        outcome(harness, "execute_values_first_load", 9.0, method="seed_execute_values", case="first_load"),
    ]
    summary = harness.summarize(outcomes)
    first_load = summary.cases["first_load"]
    assert (first_load.seconds, first_load.floor, first_load.floor_indexed) == (3.0, 3.0, 2.75)  # medians
    assert (first_load.ratio, first_load.ratio_indexed) == (1.0, 3.0 / 2.75)
    assert first_load.target() == ("≤ 1.1× floor", True)  # issue 19's target stays against the floor
    assert summary.cases["next_day"].ratio_indexed is None  # not a first load
    document = harness.results_json(summary, 6546, {"version": "PostgreSQL 15"}, 60.0)
    assert (document["floor_seconds"], document["floor_indexed_seconds"]) == (3.0, 2.75)
    entries = document["cases"]
    assert (entries["first_load"]["ratio_to_floor"], entries["first_load"]["ratio_to_floor_indexed"]) == (1.0, 1.0909)
    assert entries["rss_0_5m"]["ratio_to_floor_indexed"] == 1.2 and entries["rss_0_5m"]["ratio_to_floor"] == 1.5
    assert "ratio_to_floor_indexed" not in entries["next_day"]
    assert "ratio_to_floor_indexed" not in entries["execute_values_first_load"]  # its table has no lookup index
    assert "floor_indexed" not in entries and "floor" not in entries  # the floors are not cases
    indexed = document["floors_indexed"]["6546"]
    assert (indexed["seconds"], indexed["min"], indexed["max"], indexed["ratio_to_floor"]) == (2.75, 2.5, 3.0, 0.9167)
    assert indexed["how"].startswith("COPY into the bare table") and indexed["verified"]
    cells = {row[0] + row[2]: row for row in harness.table_rows(summary)}
    column = harness.COLUMNS.index("× floor_indexed")
    assert (cells["first_load6,546"][column], cells["next_day6,546"][column]) == ("1.09", "")
    assert cells["floor_indexed6,546"][column] == "1.00" and cells["floor6,546"][column] == "1.09"


def test_the_backfill_is_read_against_thirty_next_days_and_its_history_against_the_latest_table(harness):
    figures = {"history_bytes": 300, "latest_bytes": 1000, "as_of_county_ms": 4.0, "as_of_state_date_ms": 2.0}
    done = outcome(harness, "backfill_30", 45.0, publications=30, loaded=30, **figures)
    cases = harness.summarize([outcome(harness, "next_day", 1.0), done]).cases
    whole = harness.backfill_figures(cases["backfill_30"], cases)
    assert {name: whole[name] for name in figures} == figures and whole["complete"]
    assert (whole["vs_30_next_day"], whole["history_vs_latest"]) == (1.5, 0.3)  # 45 s / (30 × 1 s); 300 / 1000
    stopped = outcome(harness, "backfill_30", 90.0, publications=30, loaded=10, estimated_seconds=270.0)
    cases = harness.summarize([outcome(harness, "next_day", 1.0), stopped]).cases
    partial = harness.backfill_figures(cases["backfill_30"], cases)
    assert (partial["complete"], partial["vs_30_next_day"], partial["vs_30_next_day_estimated"]) == (False, 3.0, 9.0)
    assert "≥ 3.00, ~9.00 estimated" in harness.backfill_rows(cases)[0][2]


def test_the_backfill_budget_is_five_times_what_its_target_allows_unless_given(harness):
    outcomes = [outcome(harness, "next_day", seconds) for seconds in (1.0, 2.0, 9.0)]
    assert harness.backfill_budget(outcomes, 6546, None) == 5 * 1.5 * 30 * 2.0  # 5 × 1.5 × 30 × the median
    assert harness.backfill_budget([outcome(harness, "next_day", 0.01)], 6546, None) == 30.0  # at least 30 s
    assert harness.backfill_budget(outcomes, 6546, 0) is None and harness.backfill_budget(outcomes, 6546, 12) == 12
    assert harness.backfill_budget([], 6546, None) is None
