"""`make run` migrates its metadata database once per Airflow version (scripts/run_pipeline.py, migrate):
a stand-in `airflow` executable records each call and creates the SQLite file as `airflow db migrate` does."""

from __future__ import annotations

import importlib.metadata
import os
import stat

import pytest

from run_pipeline import migrate


@pytest.fixture
def airflow(tmp_path):
    calls = tmp_path / "calls"
    executable = tmp_path / "airflow"
    executable.write_text(f'#!/bin/sh\necho "$*" >> {calls}\ntouch "$AIRFLOW_HOME/airflow.db"\n')
    executable.chmod(executable.stat().st_mode | stat.S_IXUSR)
    return str(executable), calls


def calls_made(calls) -> int:
    return len(calls.read_text().splitlines()) if calls.exists() else 0


def environment(tmp_path, **extra: str) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {**os.environ, "AIRFLOW_HOME": str(home), **extra}


def test_a_second_run_of_the_same_airflow_does_not_migrate_again(tmp_path, airflow):
    executable, calls = airflow
    env = environment(tmp_path)
    migrate(executable, env)
    migrate(executable, env)
    assert calls.read_text() == "db migrate\n"
    assert (tmp_path / "home" / "airflow.db.migrated").read_text() == importlib.metadata.version("apache-airflow")


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda home: (home / "airflow.db.migrated").write_text("3.2.0"), id="another Airflow version"),
        pytest.param(lambda home: (home / "airflow.db").unlink(), id="the database file deleted"),
        pytest.param(lambda home: (home / "airflow.db.migrated").unlink(), id="no stamp"),
    ],
)
def test_migrates_again_when_the_stamp_does_not_vouch_for_the_database(tmp_path, airflow, change):
    executable, calls = airflow
    env = environment(tmp_path)
    migrate(executable, env)
    change(tmp_path / "home")
    migrate(executable, env)
    assert calls_made(calls) == 2


def test_a_metadata_database_set_by_its_url_is_migrated_every_time(tmp_path, airflow):
    executable, calls = airflow
    env = environment(tmp_path, AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="postgresql+psycopg://example/airflow")
    migrate(executable, env)
    migrate(executable, env)
    assert calls_made(calls) == 2 and not (tmp_path / "home" / "airflow.db.migrated").exists()
