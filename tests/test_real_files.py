"""Every whole real file the publishers served loads through the DAG, checked against an independent merge.

The files in tests/fixtures/real/ are unmodified versions of the two sources (SHA256SUMS; the JHU ones
gzipped): three NYT ``us.csv`` and four JHU combined series, one in the layout before 2020-10-23
(with ``Lat``/``Long``) and three after it. Each run goes through ``dag.test()`` over local HTTP into a
real PostgreSQL. The expected table and counts are computed here from the raw CSV text with the
standard library, without the project's parsing or merge code.
"""

from __future__ import annotations

import hashlib

import pytest

from oracle import Table, expected_counts, independent_merge, last_counts, stored_table
from support import FIXTURES, fixture_bytes, fixture_text

NYT_VERSIONS = ("nyt-us-2020-08-13.csv", "nyt-us-2022-04-19.csv", "nyt-us-2023-01-24.csv")
JHU_VERSIONS = (
    "jhu-combined-2020-10-12.csv",  # the old layout: Date,Country/Region,Province/State,Lat,Long,...
    "jhu-combined-2020-10-23.csv",  # the current layout from here on: no Lat, Long
    "jhu-combined-2020-12-14.csv",
    "jhu-combined-2021-03-17.csv",
)


def test_the_fixtures_are_the_published_bytes():
    sums = dict(reversed(line.split("  ")) for line in (FIXTURES / "real" / "SHA256SUMS").read_text().splitlines())
    for name in (*NYT_VERSIONS, *JHU_VERSIONS):
        assert hashlib.sha256(fixture_bytes(f"real/{name}")).hexdigest() == sums[name], name


def test_the_jhu_versions_span_both_layouts():
    headers = [fixture_text(f"real/{name}").split("\n", 1)[0] for name in JHU_VERSIONS]
    assert headers[0] == "Date,Country/Region,Province/State,Lat,Long,Confirmed,Recovered,Deaths"
    assert set(headers[1:]) == {"Date,Country/Region,Province/State,Confirmed,Recovered,Deaths"}


def _load_in_order(run_dag, db_url: str, steps: list[tuple[str, str]]) -> None:
    before: Table = {}
    for nyt_name, jhu_name in steps:
        state, tasks = run_dag(f"files/real/{nyt_name}", f"files/real/{jhu_name}")
        assert state == "success", (nyt_name, jhu_name, tasks)
        after = independent_merge(f"real/{nyt_name}", f"real/{jhu_name}")
        assert last_counts(db_url) == ("success", *expected_counts(before, after)), (nyt_name, jhu_name)
        assert stored_table(db_url) == after, (nyt_name, jhu_name)
        before = after


@pytest.mark.parametrize(
    "steps",
    [
        pytest.param(
            [("nyt-us-2023-01-24.csv", jhu) for jhu in JHU_VERSIONS], id="jhu-versions-across-the-layout-change"
        ),
        pytest.param([(nyt, "jhu-combined-2021-03-17.csv") for nyt in NYT_VERSIONS], id="nyt-versions"),
    ],
)
def test_each_real_version_loads_with_exact_counts_and_table(run_dag, pipeline_env, steps):
    _load_in_order(run_dag, pipeline_env["AIRFLOW_CONN_COVID_DB"], steps)


def test_the_current_layout_ends_us_recoveries_on_2020_12_13():
    table = independent_merge("real/nyt-us-2023-01-24.csv", "real/jhu-combined-2021-03-17.csv")
    assert table["2020-12-13"][2] == 6298082 and table["2020-12-14"][2] is None
    assert (min(table), max(table)) == ("2020-01-22", "2021-03-16")
