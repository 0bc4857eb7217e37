"""The plugin's app behind Airflow's own authentication (SimpleAuthManager, real JWTs), in-process.

The same checks run against a real API server in test_dashboard_browser.py; these pin the rules
down quickly and cover users and tokens that the running stack does not have.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from dashboard_helpers import UTC, insert_days, insert_run, synthetic_days
from fastapi import FastAPI
from fastapi.testclient import TestClient

SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"


@pytest.fixture
def auth_manager(monkeypatch, airflow_metadata_db):
    """Airflow's SimpleAuthManager, initialised as the API server does (revoked tokens live in the metadata DB)."""
    from airflow.api_fastapi import app as api_app

    monkeypatch.setenv("AIRFLOW__CORE__AUTH_MANAGER", SIMPLE_AUTH_MANAGER)
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin,viewer:viewer")
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "dashboard-test-" + "s" * 64)
    previous = api_app._AuthManagerState.instance
    api_app._AuthManagerState.instance = None
    yield api_app.init_auth_manager()
    api_app._AuthManagerState.instance = previous


def token(auth_manager, role: str | None, username: str = "someone", expires_in: int = 600) -> str:
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return auth_manager.generate_jwt(
        SimpleAuthManagerUser(username=username, role=role), expiration_time_in_seconds=expires_in
    )


@pytest.fixture
def client(auth_manager, covid_db, publish_dashboard) -> TestClient:
    """The dashboard mounted under /covid as Airflow mounts plugin apps, after a run published loaded data."""
    from covid_dashboard import URL_PREFIX
    from covid_dashboard.app import create_app

    insert_days(covid_db, synthetic_days(20, recovered_until=15))
    insert_run(covid_db, "manual__first", "success", datetime(2026, 5, 1, 3, 0, tzinfo=UTC), rows_inserted=20)
    published_by = publish_dashboard()
    root = FastAPI()
    root.mount(URL_PREFIX, create_app())
    test_client = TestClient(root)
    test_client.published_by = published_by
    return test_client


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


def test_a_viewer_reads_the_json_series_with_a_bearer_token(client, auth_manager):
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
    assert [r["run_id"] for r in body["runs"]] == ["manual__first"]
    assert body["last_success_at"] == "2026-05-01T03:01:00+00:00"
    assert body["published_by"] == client.published_by


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
