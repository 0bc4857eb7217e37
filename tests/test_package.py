"""scripts/package_mwaa.py builds what MWAA consumes, and the DAG parses from it as MWAA lays it out.

MWAA copies dags/ to /usr/local/airflow/dags, unzips plugins.zip into /usr/local/airflow/plugins and puts
both on sys.path. The tests rebuild that folder in tmp and parse the DAG there in a clean interpreter
whose only project code is what the package holds.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_SCRIPT = ROOT / "scripts" / "package_mwaa.py"


def package(out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, PACKAGE_SCRIPT, "--out", out], capture_output=True, text=True, cwd=ROOT)


def repo_files(folder: Path) -> set[str]:
    """Files under folder, relative to it, without bytecode."""
    return {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist") / "mwaa"
    result = package(out)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def mwaa_home(dist, tmp_path_factory) -> Path:
    """dist/mwaa unpacked the way MWAA lays out /usr/local/airflow."""
    home = tmp_path_factory.mktemp("usr_local_airflow")
    shutil.copytree(dist / "dags", home / "dags")
    with zipfile.ZipFile(dist / "plugins.zip") as archive:
        archive.extractall(home / "plugins")
    (home / "plugins").mkdir(exist_ok=True)
    shutil.copy2(dist / "requirements.txt", home / "requirements.txt")
    return home


def test_package_holds_exactly_the_three_mwaa_artifacts(dist):
    assert {p.name for p in dist.iterdir()} == {"dags", "plugins.zip", "requirements.txt"}


def test_requirements_are_copied_unchanged(dist):
    assert (dist / "requirements.txt").read_bytes() == (ROOT / "requirements.txt").read_bytes()


def test_dags_folder_holds_the_dags_the_library_and_the_sql(dist):
    expected = repo_files(ROOT / "dags") | {".airflowignore"}
    for entry in (ROOT / "include").iterdir():
        expected |= {f"{entry.name}/{name}" for name in repo_files(entry)}
    assert repo_files(dist / "dags") == expected
    assert {"covid_etl_dag.py", "covid_etl/__init__.py", "sql/create_tables.sql"} <= expected


@pytest.mark.parametrize(
    ("shipped", "source"),
    [
        pytest.param("covid_etl_dag.py", "dags/covid_etl_dag.py", id="dag"),
        pytest.param("covid_etl/sql.py", "include/covid_etl/sql.py", id="library"),
        pytest.param("sql/create_tables.sql", "include/sql/create_tables.sql", id="sql"),
    ],
)
def test_files_are_shipped_unchanged(dist, shipped, source):
    assert (dist / "dags" / shipped).read_bytes() == (ROOT / source).read_bytes()


def test_no_bytecode_is_shipped(dist):
    with zipfile.ZipFile(dist / "plugins.zip") as archive:
        names = archive.namelist()
    shipped = [*names, *(p.as_posix() for p in (dist / "dags").rglob("*"))]
    assert not [name for name in shipped if "__pycache__" in name or name.endswith(".pyc")]


def test_plugins_zip_holds_the_plugins_folder_at_its_root(dist):
    with zipfile.ZipFile(dist / "plugins.zip") as archive:
        assert set(archive.namelist()) == repo_files(ROOT / "plugins")


def test_plugins_zip_is_byte_for_byte_reproducible(dist, tmp_path):
    result = package(tmp_path / "again")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "again" / "plugins.zip").read_bytes() == (dist / "plugins.zip").read_bytes()


def test_packaging_refuses_to_delete_a_folder_that_is_not_a_previous_build(tmp_path):
    precious = tmp_path / "notes.txt"
    precious.write_text("keep me")
    result = package(tmp_path)
    assert result.returncode != 0
    assert precious.read_text() == "keep me"


# Run inside the MWAA-like folder: parses the DAGs and imports the library the way the DAG does.
DAGS_PROBE = """
import json, sys
from pathlib import Path

from airflow.dag_processing.dagbag import DagBag
from airflow.utils.file import find_dag_file_paths

dags = Path(sys.argv[1])
bag = DagBag(dag_folder=dags, safe_mode=False)
import covid_etl

print(json.dumps({
    "dag_files": sorted(Path(p).relative_to(dags).as_posix() for p in find_dag_file_paths(dags, safe_mode=False)),
    "dag_ids": sorted(bag.dag_ids),
    "import_errors": bag.import_errors,
    "covid_etl": str(Path(covid_etl.__file__).resolve()),
    "sql_dir": str((Path(covid_etl.__file__).parent.parent / "sql").resolve()),
}))
"""

# Loads the plugins of AIRFLOW__CORE__PLUGINS_FOLDER as the Airflow components do.
PLUGINS_PROBE = """
import json
from airflow import plugins_manager

plugins, errors = plugins_manager._get_plugins()
print(json.dumps({
    "plugins": sorted(p.name for p in plugins if str(p.source).startswith("$PLUGINS_FOLDER/")),
    "errors": errors,
}))
"""


def probe(script: str, dags: Path, plugins: Path, tmp_path: Path) -> dict:
    """Runs script with only dags/ and plugins/ on the path, from an unrelated cwd; returns its JSON."""
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": f"{dags}:{plugins}",
        "AIRFLOW_HOME": str(tmp_path / "airflow_home"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    cwd = tmp_path / "elsewhere"
    cwd.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([sys.executable, "-c", script, dags], env=env, cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def parsed(mwaa_home, tmp_path_factory) -> dict:
    return probe(DAGS_PROBE, mwaa_home / "dags", mwaa_home / "plugins", tmp_path_factory.mktemp("probe"))


def test_dag_parses_without_import_errors(parsed):
    assert parsed["import_errors"] == {}
    assert "covid_etl" in parsed["dag_ids"]


def test_airflowignore_keeps_the_library_out_of_dag_parsing(parsed):
    assert set(parsed["dag_files"]) == {p.name for p in (ROOT / "dags").glob("*.py")}


def test_library_is_imported_from_the_package_not_the_repository(parsed, mwaa_home):
    assert Path(parsed["covid_etl"]) == mwaa_home.resolve() / "dags" / "covid_etl" / "__init__.py"


def test_sql_files_are_found_next_to_the_library(parsed, mwaa_home):
    sql_dir = Path(parsed["sql_dir"])
    assert sql_dir == mwaa_home.resolve() / "dags" / "sql"
    assert {p.name for p in sql_dir.iterdir()} == {p.name for p in (ROOT / "include" / "sql").iterdir()}


def test_plugins_load_from_the_unzipped_folder_as_from_the_repository(mwaa_home, tmp_path):
    unzipped = probe(PLUGINS_PROBE, mwaa_home / "dags", mwaa_home / "plugins", tmp_path / "mwaa")
    from_repository = probe(PLUGINS_PROBE, ROOT / "include", ROOT / "plugins", tmp_path / "repo")
    assert unzipped["errors"] == {}
    assert unzipped["plugins"] == from_repository["plugins"] == ["covid_dashboard"]
