"""The deadline's setting ($COVID_ETL_RUN_DEADLINE_MINUTES) and what the deadline code may use."""

from __future__ import annotations

import re

import pytest

from covid_etl.config import run_deadline_minutes
from support import ROOT


@pytest.mark.parametrize(
    ("value", "minutes"),
    [
        pytest.param("", 180.0, id="unset-three-hours"),
        pytest.param("0.5", 0.5, id="decimal-minutes"),
        pytest.param("0", None, id="zero-no-deadline"),
    ],
)
def test_the_deadline_is_three_hours_unless_set_in_minutes_or_turned_off(monkeypatch, value, minutes):
    monkeypatch.setenv("COVID_ETL_RUN_DEADLINE_MINUTES", value)
    assert run_deadline_minutes() == minutes


@pytest.mark.parametrize("value", ["-5", "soon", "inf", "nan"])
def test_a_deadline_that_is_not_a_positive_number_of_minutes_or_0_is_refused_naming_the_setting(monkeypatch, value):
    monkeypatch.setenv("COVID_ETL_RUN_DEADLINE_MINUTES", value)
    with pytest.raises(ValueError, match=rf"COVID_ETL_RUN_DEADLINE_MINUTES.*{re.escape(repr(value))}"):
        run_deadline_minutes()


def test_the_pipelines_code_uses_no_private_airflow_serialization_api():
    # Issue 18: the deadline's fingerprint hashes files and settings, not Airflow's serialized DAG.
    sources = [*(ROOT / "include" / "covid_etl").rglob("*.py"), *(ROOT / "dags").rglob("*.py")]
    assert len(sources) > 20
    assert [path.name for path in sources if "airflow.serialization" in path.read_text()] == []
