"""The load methods that ``benchmarks/bench_counties.py`` compares, one script each in this folder.

The contract every script keeps (its shared part is :mod:`common`)::

    python benchmarks/methods/<name>.py --db URL --case CASE --file PATH [--base PATH] [--prepared]

- ``first_load``: load PATH (the base) into an empty database;
- ``forced_reload``: the table holds BASE (loaded by the script before timing, or, with ``--prepared``,
  by the harness's copy of a database that did so); PATH is the same bytes re-published as a new
  publication, loaded with any "already loaded" skip disabled;
- ``revised_1pct``: the table holds BASE; PATH is a publication with 1% of past rows revised and one day more;
- ``next_day``: the table holds BASE; PATH is the next day's publication (one day more, 0.1% of past rows
  revised over every day, a few past keys dropped), the previous publication's staged file still on disk;
- ``next_day_cold``: the same, with that staged file removed first;
- ``skip``: the table holds BASE; PATH is BASE, the already-loaded publication: the skip's check only;
- ``backfill_30``: PATH is a backfill's manifest: its publications loaded in a shuffled order, checked.

It times only the load, verifies the table against PATH afterwards, and prints one JSON line:
``{"method", "case", "seconds", "rows", "inserted", "updated", "deleted", "verified", "problems", ...}``.
A script exits with status 2, printing why, for a case it does not implement.

This module is data only (the harness imports it; the scripts run as files, not as this package).
"""

from __future__ import annotations

from dataclasses import dataclass

# Ours' cases, in the order a round of the benchmark runs them.
OURS_CASES = ("first_load", "forced_reload", "revised_1pct", "next_day", "next_day_cold", "skip")
PEER_CASES = ("first_load", "forced_reload", "revised_1pct", "next_day")
BACKFILL_CASE = "backfill_30"


@dataclass(frozen=True)
class MethodSpec:
    """A method as the harness runs it: its cases, the virtualenv its script runs in, and the prefix of its
    cases' names in the results (``execute_values_next_day``)."""

    name: str
    cases: tuple[str, ...]
    venv: str = ".venv"  # at the repository's root
    prefix: str = ""
    history: bool = False  # whether it keeps the history of the publications it loads
    summary: str = ""


METHODS = {
    spec.name: spec
    for spec in (
        MethodSpec("floor", ("first_load",), prefix="floor_", summary="COPY of the file's bytes into the empty table"),
        MethodSpec(
            "floor_indexed",
            ("first_load",),
            prefix="floor_indexed_",
            summary="the same COPY into the table with the primary key and ours' (state, county) lookup index",
        ),
        MethodSpec(
            "seed_execute_values",
            PEER_CASES,
            prefix="execute_values_",
            summary="the project's earlier upsert: psycopg2 execute_values pages, ON CONFLICT DO UPDATE",
        ),
        MethodSpec(
            "dlt_merge",
            PEER_CASES,
            venv=".venv-dlt",
            prefix="dlt_",
            summary="dlt's postgres destination, write_disposition=merge on the date, pyarrow batches",
        ),
        MethodSpec(
            "ours",
            (*OURS_CASES, BACKFILL_CASE),
            history=True,
            summary="the project's loader, load_publication, with its history",
        ),
    )
}
PEERS = ("seed_execute_values", "dlt_merge")
