"""How far the states' sum may stray from NYT's national series (compare_states_with_nation): twice the
largest revision NYT made to a past day of its own national series between the real versions kept here."""

from __future__ import annotations

import csv
import io

from covid_etl.tasks.steps import STATES_VS_NATION_TOLERANCE
from support import fixture_text

VERSIONS = ("real/nyt-us-2020-08-13.csv", "real/nyt-us-2022-04-19.csv", "real/nyt-us-2023-01-24.csv")


def test_the_tolerance_is_twice_the_largest_revision_in_nyts_own_national_series():
    versions = [
        {
            row["date"]: (int(row["cases"]), int(row["deaths"]))
            for row in csv.DictReader(io.StringIO(fixture_text(name)))
        }
        for name in VERSIONS
    ]
    largest = max(
        abs(new[day][i] - old[day][i]) / new[day][i]
        for old, new in zip(versions, versions[1:], strict=False)
        for day in old.keys() & new.keys()
        for i in (0, 1)
        if new[day][i] >= 1000
    )
    assert round(largest, 5) == 0.00048  # cases of 2020-08-13: 5,262,791 then 5,265,307
    assert 2 * largest <= STATES_VS_NATION_TOLERANCE < 3 * largest
