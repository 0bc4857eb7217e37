"""The COVID-19 dashboard: a FastAPI app inside Airflow's API server, linked from the UI's navigation.

The package sits in the plugins folder but is listed in its ``.airflowignore``: Airflow loads every
``.py`` file it finds there as a top-level module named after the file, so only
``covid_dashboard_plugin.py`` is loaded as a plugin and it imports this package normally (the plugins
folder is on ``sys.path``).
"""

from __future__ import annotations

# Kept here rather than imported from covid_etl: the plugin ships alone in plugins.zip.
DAG_ID = "covid_etl"
# The task whose XCom is the dashboard's data (the API server never queries the pipeline's database).
PUBLISHER_TASK_ID = "publish_dashboard"
URL_PREFIX = "/covid"
