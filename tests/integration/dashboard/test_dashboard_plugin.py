"""Airflow's plugin manager finds the dashboard, and the plugins folder works on its own (as in plugins.zip)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from dashboard_helpers import PLUGINS

import covid_dashboard
from covid_etl import config

# Runs in a fresh interpreter: the plugin manager caches what it loaded, per process.
INSPECT = """
import json, sys
from airflow import plugins_manager
plugins, errors = plugins_manager._get_plugins()
apps, _ = plugins_manager.get_fastapi_plugins()
views, _ = plugins_manager._get_ui_plugins()
from airflow.api_fastapi.app import RESERVED_URL_PREFIXES
print(json.dumps({
    "plugins": [p.name for p in plugins],
    "errors": errors,
    "apps": [{"prefix": a["url_prefix"], "type": type(a["app"]).__name__} for a in apps],
    "views": views,
    "reserved": RESERVED_URL_PREFIXES,
    "stray_modules": sorted(m for m in ("app", "charts", "data", "page", "__init__") if m in sys.modules),
    "pipeline_imported": "covid_etl" in sys.modules,
}))
"""


def inspect_plugins(plugins_folder: Path, tmp_path: Path) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW") and key != "PYTHONPATH"}
    env.update(
        AIRFLOW_HOME=str(tmp_path / "airflow"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(plugins_folder),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
    )
    result = subprocess.run([sys.executable, "-c", INSPECT], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_airflow_loads_the_dashboard_as_one_plugin_with_an_app_and_a_nav_entry(tmp_path):
    found = inspect_plugins(PLUGINS, tmp_path)

    assert found["plugins"] == ["covid_dashboard"]
    assert found["errors"] == {}
    assert found["apps"] == [{"prefix": "/covid", "type": "FastAPI"}]
    assert not any(found["apps"][0]["prefix"].startswith(p) for p in found["reserved"])
    assert found["views"] == [
        {
            "name": "COVID-19",
            "href": "covid/",
            "url_route": "covid",
            "destination": "nav",
            "icon": "covid/static/icon.svg",
            "nav_top_level": True,
        }
    ]
    # .airflowignore keeps the package's modules from being imported a second time as top-level ones.
    assert found["stray_modules"] == []


def test_a_copy_of_the_plugins_folder_works_without_the_project(tmp_path):
    # MWAA unzips plugins.zip into its own folder: the icon must travel with the code, and nothing may
    # come from include/ (covid_etl is not on that sys.path).
    copy = tmp_path / "plugins"
    shutil.copytree(PLUGINS, copy, ignore=shutil.ignore_patterns("__pycache__"))

    found = inspect_plugins(copy, tmp_path)

    assert found["plugins"] == ["covid_dashboard"] and found["errors"] == {}
    assert found["pipeline_imported"] is False
    # No SQL and no database driver: the API server has no route to the pipeline's database on MWAA.
    assert not list(copy.rglob("*.sql"))
    assert (copy / "covid_dashboard" / "static" / "icon.svg").is_file()


def test_the_plugin_reads_the_xcom_of_the_task_the_dag_publishes_with():
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(PLUGINS.parent / "dags")).dags[config.DAG_ID]
    assert covid_dashboard.DAG_ID == config.DAG_ID
    assert covid_dashboard.PUBLISHER_TASK_ID in dag.task_ids


def test_the_plugin_never_opens_the_pipeline_database():
    sources = "\n".join(path.read_text() for path in (PLUGINS / "covid_dashboard").rglob("*.py"))
    for forbidden in ("PostgresHook", "psycopg", "covid_db", "get_connection"):
        assert forbidden not in sources
