"""The plugin's app behind Airflow's own authentication (SimpleAuthManager, real JWTs), in-process.

The same checks run against a real API server in test_dashboard_browser.py; these pin the rules
down quickly and cover users and tokens that the running stack does not have.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from dashboard_helpers import (
    COUNTY_VINTAGES,
    UTC,
    connect,
    insert_run,
    load_fixture,
    load_national,
    publish_with_dag_test,
    synthetic_days,
)
from fastapi import FastAPI
from fastapi.testclient import TestClient

SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"


@pytest.fixture(scope="module")
def auth_manager(airflow_metadata_db):
    """Airflow's SimpleAuthManager, initialised as the API server does (revoked tokens live in the metadata DB)."""
    from airflow.api_fastapi import app as api_app

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW__CORE__AUTH_MANAGER", SIMPLE_AUTH_MANAGER)
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin,viewer:viewer")
        patch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "dashboard-test-" + "s" * 64)
        previous = api_app._AuthManagerState.instance
        api_app._AuthManagerState.instance = None
        yield api_app.init_auth_manager()
        api_app._AuthManagerState.instance = previous


def token(auth_manager, role: str | None, username: str = "someone", expires_in: int = 600) -> str:
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return auth_manager.generate_jwt(
        SimpleAuthManagerUser(username=username, role=role), expiration_time_in_seconds=expires_in
    )


@pytest.fixture(scope="module")
def published(postgres_server, airflow_metadata_db, tmp_path_factory) -> dict:
    """One publication for the module's tests (a dag.test() run costs seconds): a failed run, then the
    national series and the two real county vintages loaded by the pipeline's loader."""
    db_url = postgres_server.create_database(f"dashboard_app_{uuid.uuid4().hex[:8]}")
    folder = tmp_path_factory.mktemp("dashboard-app")
    insert_run_after_schema(db_url)
    load_national(db_url, synthetic_days(20, recovered_until=15), folder, at=datetime(2026, 5, 2, tzinfo=UTC))
    for name, at in COUNTY_VINTAGES.items():
        load_fixture(db_url, "counties", name, folder, at=at)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_COVID_DB", db_url)
        published_by = publish_with_dag_test()
    with connect(db_url) as conn:
        runs = conn.execute("SELECT run_id, finished_at FROM etl_runs ORDER BY started_at DESC, id DESC").fetchall()
        harris = conn.execute(
            "SELECT date::text, published_at, commit, old_cases, new_cases, old_deaths, new_deaths"
            " FROM covid_us_county_daily_revisions WHERE state = 'Texas' AND county = 'Harris'"
        ).fetchall()
    return {"published_by": published_by, "runs": runs, "harris": harris}


def insert_run_after_schema(db_url: str) -> None:
    from covid_etl.load.database import ensure_schema

    with connect(db_url) as conn:
        ensure_schema(conn)
    insert_run(db_url, "manual__first", "failed", datetime(2026, 5, 1, 3, 0, tzinfo=UTC), error="boom")


@pytest.fixture(scope="module")
def client(auth_manager, published) -> TestClient:
    """The dashboard mounted under /covid as Airflow mounts plugin apps, after a run published loaded data."""
    from covid_dashboard import URL_PREFIX
    from covid_dashboard.app import create_app

    root = FastAPI()
    root.mount(URL_PREFIX, create_app())
    return TestClient(root)


@pytest.mark.parametrize("path", ["/covid/", "/covid/api/daily"])
def test_anonymous_requests_get_401(client, path):
    response = client.get(path)

    assert response.status_code == 401
    assert "cases" not in response.text


@pytest.mark.parametrize("path", ["/covid/", "/covid/api/daily"])
def test_a_forged_token_gets_403(client, auth_manager, path):
    forged = token(auth_manager, "admin")[:-4] + "AAAA"

    assert client.get(path, headers={"Authorization": f"Bearer {forged}"}).status_code == 403
    assert client.get(path, cookies={"_token": forged}).status_code == 403


def test_an_expired_token_gets_401(client, auth_manager):
    expired = token(auth_manager, "admin", expires_in=-60)

    assert client.get("/covid/api/daily", headers={"Authorization": f"Bearer {expired}"}).status_code == 401


def test_a_user_without_read_access_to_the_dag_gets_403(client, auth_manager):
    # SimpleAuthManager grants nothing to a user without a role.
    response = client.get("/covid/api/daily", headers={"Authorization": f"Bearer {token(auth_manager, None)}"})

    assert response.status_code == 403


def test_a_viewer_reads_the_json_series_with_a_bearer_token(client, auth_manager, published):
    response = client.get("/covid/api/daily", headers={"Authorization": f"Bearer {token(auth_manager, 'viewer')}"})

    assert response.status_code == 200
    body = response.json()
    days = synthetic_days(20, recovered_until=15)
    assert [(d["date"], d["cases"], d["deaths"], d["recovered"]) for d in body["days"]] == [
        (d.date.isoformat(), d.cases, d.deaths, d.recovered) for d in days
    ]
    assert body["days"][1]["new_cases"] == days[1].cases - days[0].cases
    # The first full week of daily values ends on day 7; their sum telescopes to cases[7] - cases[0].
    assert body["days"][6]["new_cases_avg7"] is None
    assert body["days"][7]["new_cases_avg7"] == pytest.approx((days[7].cases - days[0].cases) / 7, abs=0.0051)
    # The loads' runs (NYT, JHU, the national merge, the counties twice), newest first, then the failed one.
    runs = published["runs"]
    assert [r["run_id"] for r in body["runs"]] == [run_id for run_id, _ in runs]
    assert [r["run_id"] for r in body["runs"]][-1] == "manual__first" and len(body["runs"]) == 6
    assert datetime.fromisoformat(body["last_success_at"]) == runs[0][1]
    assert body["published_by"] == published["published_by"]


def test_a_browser_with_the_ui_cookie_gets_the_page(client, auth_manager):
    response = client.get("/covid/", cookies={"_token": token(auth_manager, "viewer")})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.count('<svg class="chart"') == 5


def test_a_browser_without_a_session_is_offered_the_login_page(client):
    response = client.get("/covid/", headers={"Accept": "text/html,application/xhtml+xml"})

    assert response.status_code == 401
    assert '<a href="/auth/login?next=' in response.text
    assert "<svg" not in response.text


def test_a_viewer_reads_a_countys_revisions_as_json_and_as_the_page_shows_them(client, auth_manager, published):
    viewer = {"Authorization": f"Bearer {token(auth_manager, 'viewer')}"}
    body = client.get("/covid/api/revisions", params={"area": "county:Texas:Harris"}, headers=viewer).json()
    page = client.get("/covid/", params={"area": "county:Texas:Harris"}, headers=viewer).text

    columns = ("date", "published_at", "commit", "old_cases", "new_cases", "old_deaths", "new_deaths")
    assert [tuple(r[name] for name in columns) for r in body["area"]["revisions"]] == [
        (day, at.isoformat(), *rest) for day, at, *rest in published["harris"]
    ]
    assert body["area"]["dataset_revisions"] == {"total": 3, "in_document": 3}
    assert published["harris"][0][3:5] == (232, 445)
    assert '<h3 id="area-title">Revisions of Harris, Texas</h3>' in page and "232 → 445" in page
