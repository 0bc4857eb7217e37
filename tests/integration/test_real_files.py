"""Every whole real file the publishers served loads through the one loader and the national merge,
checked against an independent computation.

The files in tests/fixtures/real/ are unmodified versions of the sources (SHA256SUMS; the big ones
gzipped): three NYT ``us.csv``, four JHU combined series, one in the layout before 2020-10-23 (with
``Lat``/``Long``) and three after it, and two vintages each of NYT's ``us-states.csv`` and
``us-counties.csv`` (their history: tests/integration/test_history.py). Each run here loads a NYT and a
JHU version as publications of their datasets (load_publication) at their commit times and merges them
(merge_national) on a real PostgreSQL. The expected table and counts come from tests/oracle.py: the
standard library on the raw CSV text, without the project's reading, loading or merge code.
"""

from __future__ import annotations

import hashlib

import psycopg
import pytest

from national_loads import JHU_VERSIONS, NYT_VERSIONS, load
from oracle import Table, expected_counts, independent_merge, last_counts, stored_table
from support import FIXTURES, fixture_bytes, fixture_text


def published_sums() -> dict[str, str]:
    lines = (FIXTURES / "real" / "SHA256SUMS").read_text().splitlines()
    return {name: digest for digest, name in (line.split("  ") for line in lines)}


def test_the_fixtures_are_the_published_bytes_and_the_sums_list_them_all():
    sums = published_sums()
    on_disk = {path.name.removesuffix(".gz") for path in (FIXTURES / "real").glob("*.csv*")}
    assert sorted(sums) == sorted(on_disk)
    assert {"nyt-us-states-2021-03-15.csv", "nyt-us-counties-2020-03-31.csv"} <= on_disk
    for name, digest in sums.items():
        assert hashlib.sha256(fixture_bytes(f"real/{name}")).hexdigest() == digest, name


def test_the_jhu_versions_span_both_layouts():
    headers = [fixture_text(name).split("\n", 1)[0] for name in JHU_VERSIONS]
    assert headers[0] == "Date,Country/Region,Province/State,Lat,Long,Confirmed,Recovered,Deaths"
    assert set(headers[1:]) == {"Date,Country/Region,Province/State,Confirmed,Recovered,Deaths"}


def load_in_order(db_url: str, steps: list[tuple[str, str]]) -> None:
    before: Table = {}
    for number, (nyt, jhu) in enumerate(steps):
        done = load(psycopg.connect, db_url, nyt, jhu, run_id=f"run-{number}")
        after = independent_merge(nyt, jhu)
        assert (done.merge.inserted, done.merge.updated, done.merge.unchanged) == expected_counts(before, after)
        assert last_counts(db_url) == ("success", *expected_counts(before, after)), (nyt, jhu)
        assert stored_table(db_url) == after, (nyt, jhu)
        before = after


@pytest.mark.parametrize(
    "steps",
    [
        pytest.param(
            [("real/nyt-us-2023-01-24.csv", jhu) for jhu in JHU_VERSIONS], id="jhu-versions-across-the-layout-change"
        ),
        pytest.param([(nyt, "real/jhu-combined-2021-03-17.csv") for nyt in NYT_VERSIONS], id="nyt-versions"),
    ],
)
def test_each_real_version_loads_with_exact_counts_and_table(db_url, steps):
    load_in_order(db_url, steps)


def test_the_current_layout_ends_us_recoveries_on_2020_12_13():
    table = independent_merge("real/nyt-us-2023-01-24.csv", "real/jhu-combined-2021-03-17.csv")
    assert table["2020-12-13"][2] == 6298082 and table["2020-12-14"][2] is None
    assert (min(table), max(table)) == ("2020-01-22", "2021-03-16")
