"""Registers the COVID-19 dashboard with Airflow: its FastAPI app under /covid and a "COVID-19" nav entry.

The app is built on first access of ``fastapi_apps``: only the API server reads it, while every
scheduler, DAG processor and worker process also loads plugins, and need not import FastAPI or the
Postgres hook for a page they never serve.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from covid_dashboard import URL_PREFIX


class CovidDashboardPlugin(AirflowPlugin):
    name = "covid_dashboard"
    external_views = [
        {
            "name": "COVID-19",
            # Relative: resolved against the UI's <base href>, so it also works when Airflow is served
            # under a path prefix. With url_route, the UI shows the page in an iframe at /plugin/covid.
            "href": f"{URL_PREFIX.lstrip('/')}/",
            "url_route": "covid",
            "destination": "nav",
            "icon": f"{URL_PREFIX.lstrip('/')}/static/icon.svg",
            "nav_top_level": True,
        }
    ]

    @property
    def fastapi_apps(self) -> list[dict[str, Any]]:  # type: ignore[override]
        from covid_dashboard.app import create_app

        return [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "COVID-19 dashboard"}]
