"""Library of the ``covid_etl`` DAG: pure parsing, validation and merge, plus thin adapters at the edges.

The modules ``records``, ``parsing`` and ``merge`` import nothing from Airflow or a database driver;
``fetch``, ``loader`` and ``notifications`` are the adapters (HTTP, PostgreSQL, SNS).
"""
