"""The load methods that ``benchmarks/bench_counties.py`` compares, one script each in this folder.

The contract every script keeps (its shared part is :mod:`common`)::

    python benchmarks/methods/<name>.py --db URL --case CASE --file PATH [--base PATH]

- ``first``: load PATH into an empty ``covid_us_county_daily``;
- ``reload``: the table holds BASE (loaded by the script before timing), PATH is the same publication
  re-published, loaded with any "already loaded" skip disabled;
- ``revised``: the table holds BASE, PATH is the next publication (revised rows and one more day);
- ``skip``: as ``reload``, with the skip enabled.

It times only the load, verifies the table against PATH afterwards, and prints one JSON line:
``{"method", "case", "seconds", "rows", "inserted", "updated", "verified"}``. A script exits with status 2,
printing why, for a case it does not implement.

This module is data only (the harness imports it; the scripts run as files, not as this package).
"""

from __future__ import annotations

from dataclasses import dataclass

CASES = ("first", "reload", "revised", "skip")


@dataclass(frozen=True)
class MethodSpec:
    """A method as the harness runs it: its cases and the virtualenv its script runs in."""

    name: str
    cases: tuple[str, ...]
    venv: str = ".venv"  # at the repository's root
    summary: str = ""


METHODS = {
    spec.name: spec
    for spec in (
        MethodSpec("floor", ("first",), summary="COPY of the file's bytes into the empty table: the floor"),
        MethodSpec(
            "seed_execute_values",
            ("first", "reload", "revised"),
            summary="the project's earlier upsert: psycopg2 execute_values pages, ON CONFLICT DO UPDATE",
        ),
        MethodSpec(
            "dlt_merge",
            ("first", "reload", "revised"),
            venv=".venv-dlt",
            summary="dlt's postgres destination, write_disposition=merge, pyarrow batches",
        ),
        MethodSpec("ours", CASES, summary="the project's loader (benchmarks/methods/ours.py is its slot)"),
    )
}
