"""The FastAPI app Airflow's API server mounts under ``/covid``: the page and its JSON twin.

Airflow does not guard plugin apps: every route here depends on :func:`require_reader`, which reuses
the API server's own authentication (``get_user``: a JWT from ``Authorization: Bearer`` or from the
``_token`` cookie the UI sets, so a plain GET from a logged-in browser works) and then asks the
configured auth manager whether that user may read the runs of the ``covid_etl`` DAG, the data's
producer. No token: 401; an invalid token or a user without that right: 403.
"""

from __future__ import annotations

import logging
from datetime import UTC, date
from functools import cache
from pathlib import Path
from typing import Annotated

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
from airflow.api_fastapi.core_api.security import get_user
from airflow.configuration import conf
from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from covid_dashboard import DAG_ID
from covid_dashboard.data import Dashboard, fetch_dashboard
from covid_dashboard.history import Area, AreaRevisions, end_of
from covid_dashboard.page import render_page

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"


def _team_of_dag() -> str | None:
    # Only multi-team deployments tie DAGs to teams; elsewhere skip the metadata query.
    if not conf.getboolean("core", "multi_team", fallback=False):
        return None
    from airflow.models.dag import DagModel

    return DagModel.get_team_name(DAG_ID)


def require_reader(user: Annotated[BaseUser, Depends(get_user)]) -> BaseUser:
    """The logged-in user, if the auth manager lets them read covid_etl's runs; else 403."""
    allowed = get_auth_manager().is_authorized_dag(
        method="GET",
        access_entity=DagAccessEntity.RUN,
        details=DagDetails(id=DAG_ID, team_name=_team_of_dag()),
        user=user,
    )
    if not allowed:
        log.info("Dashboard refused to user %s: no read access to the runs of %s", user.get_name(), DAG_ID)
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Forbidden")
    return user


Reader = Annotated[BaseUser, Depends(require_reader)]


async def _auth_error(request: Request, exc: HTTPException) -> Response:
    """Browsers get a short HTML page with a login link; API clients keep FastAPI's JSON body."""
    if exc.status_code in (401, 403) and "text/html" in request.headers.get("accept", ""):
        login = get_auth_manager().get_url_login(next_url=str(request.url))
        body = (
            '<!doctype html><html lang="en"><meta charset="utf-8"><title>COVID-19 dashboard</title>'
            f"<p>{'Please log in to Airflow' if exc.status_code == 401 else 'You may not view this dashboard'}"
            f' (HTTP {exc.status_code}). <a href="{login}" target="_top">Log in</a></p></html>'
        )
        return HTMLResponse(body, status_code=exc.status_code, headers=exc.headers)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


def area_json(revisions: AreaRevisions, area: Area) -> dict:
    """A state's or county's revisions in the document, newest first, and how many its dataset has in all."""
    dataset = revisions.dataset_of(area)
    return {
        "kind": area.kind,
        "state": area.state,
        "county": area.county,
        "revisions": [
            {
                "date": r.day.isoformat(),
                "published_at": r.published_at.isoformat(),
                "commit": r.commit,
                "old_cases": r.cases[0],
                "new_cases": r.cases[1],
                "old_deaths": r.deaths[0],
                "new_deaths": r.deaths[1],
            }
            for r in revisions.of(area)
        ],
        "dataset_revisions": {"total": dataset.total, "in_document": len(dataset.rows)},
    }


def revisions_json(dashboard: Dashboard, *, day: date | None, area: str | None) -> dict:
    """/api/revisions: the publications and how many days each revised; with ``day``, that day's values by
    publication; with ``area`` (a state or county), its revisions."""
    history = dashboard.history
    body = {
        "publications": [
            {
                "source": release.source,
                "published_at": release.published_at.isoformat(),
                "commit": release.commit,
                "days_revised": revised,
            }
            for release, revised in history.revision_counts()
        ],
        "thinned_to_every": history.thinned_to_every,
    }
    if day is not None:
        body["day"] = {
            source: [{"published_at": c.release.published_at.isoformat(), "values": c.values} for c in changes]
            for source, changes in history.of_day(day).items()
        }
    if area is not None and (chosen := Area.parse(area)).kind != "national":
        body["area"] = area_json(dashboard.revisions, chosen)
    return body


@cache
def create_app() -> FastAPI:
    """One app per process: the plugin's ``fastapi_apps`` may be read more than once."""
    app = FastAPI(
        title="COVID-19 dashboard",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        exception_handlers={HTTPException: _auth_error},
    )

    # Sync handlers: FastAPI runs them in its thread pool, so the read of the metadata database does
    # not block the API server's event loop.
    @app.get("/", response_class=HTMLResponse)
    def dashboard_page(
        user: Reader,
        *,
        as_of: date | None = None,
        day: date | None = None,
        states_date: date | None = None,
        state: str | None = None,
        area: str | None = None,
    ) -> HTMLResponse:
        dashboard = fetch_dashboard(as_of=end_of(as_of, UTC) if as_of else None)
        page = render_page(
            dashboard,
            day=day,
            states_date=states_date and states_date.isoformat(),
            state=state,
            area=Area.parse(area),
        )
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    @app.get("/api/daily")
    def daily_series(user: Reader, as_of: date | None = None) -> JSONResponse:
        dashboard = fetch_dashboard(as_of=end_of(as_of, UTC) if as_of else None)
        return JSONResponse(dashboard.to_json(), headers={"Cache-Control": "no-store"})

    @app.get("/api/revisions")
    def revisions(user: Reader, day: date | None = None, area: str | None = None) -> JSONResponse:
        body = revisions_json(fetch_dashboard(), day=day, area=area)
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    # The navigation icon is fetched by an <img>, which sends the cookie too; nothing secret in it.
    @app.get("/static/icon.svg", include_in_schema=False)
    def icon() -> FileResponse:
        return FileResponse(STATIC_DIR / "icon.svg", media_type="image/svg+xml")

    return app
