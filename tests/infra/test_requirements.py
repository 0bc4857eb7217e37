"""requirements.txt (what MWAA installs) and requirements-dev.lock (what runs here) agree."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import ROOT

CONSTRAINTS = ROOT / "constraints" / "constraints-3.3.1-python3.12.txt"
ESSENTIAL = ROOT / "constraints" / "mwaa-essential-constraints-3.3.1.txt"


def pins(text: str) -> dict[str, str]:
    return {
        re.sub(r"[-_.]+", "-", name).lower(): version
        for name, version in re.findall(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s\\;]+)", text, re.M)
    }


LOCK = pins((ROOT / "requirements-dev.lock").read_text())
REQUIREMENTS = (ROOT / "requirements.txt").read_text().splitlines()


def test_requirements_start_with_the_official_airflow_3_3_1_constraints_for_python_3_12():
    assert REQUIREMENTS[0] == (
        "--constraint https://raw.githubusercontent.com/apache/airflow/constraints-3.3.1/constraints-3.12.txt"
    )


def test_the_lock_installs_airflow_3_3_1():
    assert LOCK["apache-airflow"] == "3.3.1"


@pytest.mark.parametrize("requirement", [line for line in REQUIREMENTS[1:] if line and not line.startswith("#")])
def test_every_mwaa_requirement_is_locked_at_the_constrained_version(requirement):
    name = re.sub(r"[-_.]+", "-", re.split(r"[\[=<>~ ]", requirement)[0]).lower()
    assert LOCK[name] == pins(CONSTRAINTS.read_text())[name]


def test_the_lock_never_departs_from_the_airflow_constraints():
    constrained = pins(CONSTRAINTS.read_text())
    departures = {
        name: (v, constrained[name]) for name, v in LOCK.items() if name in constrained and v != constrained[name]
    }
    assert departures == {}


def test_the_lock_keeps_what_mwaa_does_not_let_users_override():
    essential = pins(ESSENTIAL.read_text())
    assert {name: LOCK.get(name) for name in essential if name in LOCK} == {
        name: v for name, v in essential.items() if name in LOCK
    }
    assert {"apache-airflow", "sqlalchemy", "celery"} <= essential.keys()


def test_every_locked_package_carries_a_hash():
    blocks = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / "requirements-dev.lock").read_text())
    packages = [block for block in blocks if "==" in block.split("\n")[0]]
    assert len(packages) >= len(LOCK) > 100  # a universal lock may pin one name per Python version
    assert all("--hash=sha256:" in block for block in packages)


def test_psycopg3_and_the_postgres_provider_are_those_of_mwaa_3_3_1():
    assert (LOCK["apache-airflow-providers-postgres"], LOCK["psycopg"]) == ("7.0.1", "3.3.4")
    assert LOCK["apache-airflow-providers-amazon"] == "9.34.0"


def test_the_suite_runs_on_the_interpreter_make_venv_chooses_python_3_12_where_present():
    chosen = subprocess.run(["bash", str(ROOT / "scripts" / "venv_python.sh")], capture_output=True, text=True)
    version = subprocess.run(
        [chosen.stdout.strip(), "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True
    ).stdout.strip()
    assert version == str(sys.version_info[:2])
    if shutil.which("python3.12") or list(Path.home().glob(".pyenv/versions/3.12.*/bin/python3.12")):
        assert sys.version_info[:2] == (3, 12)
