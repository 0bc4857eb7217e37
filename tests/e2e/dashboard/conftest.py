"""Fixtures of the dashboard's browser tests: earlier publications of the county file, which the stack's
DAG loads before the tests' own run, so that the revisions view has counties to show.

The tests' run loads tests/fixtures/counties/us-counties.csv (local_airflow's sources, tests/conftest.py);
the two files here are that file as it might have been published before (dashboard_helpers.
EARLIER_COUNTY_PUBLICATIONS). Each is loaded by a run of its own through the REST API (a URL override,
which counts as published when its run started), so the last publication is the fixture file and the
county table ends as the other tests expect it.
"""

from __future__ import annotations

import pytest
from dashboard_helpers import EARLIER_COUNTY_PUBLICATIONS, earlier_county_version

from local_http import FixtureServer
from support import fixture_text


@pytest.fixture(scope="module")
def earlier_county_publications(local_airflow, backfilled, tmp_path_factory) -> list[str]:
    """Load the earlier versions of the county file through the DAG, one run each (after the backfill,
    the DAG runs one at a time); return their runs' ids."""
    from airflow_client import AirflowClient

    folder = tmp_path_factory.mktemp("county-publications")
    text = fixture_text("counties/us-counties.csv")
    server = FixtureServer(folder)
    api = AirflowClient.login(local_airflow)
    run_ids = []
    try:
        for number, lowered in enumerate(EARLIER_COUNTY_PUBLICATIONS):
            (folder / f"us-counties-{number}.csv").write_text(earlier_county_version(text, lowered))
            conf = {"datasets": ["counties"], "counties_url": server.url(f"files/us-counties-{number}.csv")}
            run = api.post("/api/v2/dags/covid_etl/dagRuns", {"logical_date": None, "conf": conf})
            assert api.wait_for_run(run["dag_run_id"]) == "success", run["dag_run_id"]
            run_ids.append(run["dag_run_id"])
    finally:
        server.shutdown()
    return run_ids
