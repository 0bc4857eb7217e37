"""Populations for per-capita rates, from JHU's reference table (include/data/jhu-reference.csv, unmodified:
datasets/covid-19 at commit 027c347d76460e051fcaee757ed827f765f62071)."""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

REFERENCE = Path(__file__).resolve().parents[2] / "data" / "jhu-reference.csv"
# NYT reports the five boroughs as one area; JHU lists them as counties.
NEW_YORK_CITY = ("Bronx", "Kings", "New York", "Queens", "Richmond")


@cache
def populations() -> tuple[dict[str, int], dict[tuple[str, str], int]]:
    """(per state or territory name, per (state, county) as NYT names them) their population."""
    states: dict[str, int] = {}
    counties: dict[tuple[str, str], int] = {}
    with REFERENCE.open(encoding="utf-8") as rows:
        for row in csv.DictReader(rows):
            if row["Country_Region"] != "US" or not row["Population"]:
                continue
            state, county, population = row["Province_State"], row["Admin2"], int(row["Population"])
            if not county and len(row["FIPS"]) == 2:
                states[state] = population
            elif county:
                counties[(state, county)] = population
    counties[("New York", "New York City")] = sum(counties[("New York", borough)] for borough in NEW_YORK_CITY)
    return states, counties


def per_100k(value: float | None, population: int | None) -> float | None:
    """``value`` per 100,000 people, rounded to 2 decimals; None when either is unknown."""
    if value is None or not population:
        return None
    return round(float(value) * 100_000 / population, 2)
