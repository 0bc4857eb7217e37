"""scripts/package_mwaa.py builds what MWAA consumes, and the DAG parses from it as MWAA lays it out.

MWAA copies dags/ to /usr/local/airflow/dags, unzips plugins.zip into /usr/local/airflow/plugins and puts
both on sys.path. The tests rebuild that folder in tmp and parse the DAG there in a clean interpreter
whose only project code is what the package holds. That the bundle's requirements install offline on
MWAA's image is test_mwaa_offline_install.py's part.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import package_mwaa
import pytest

ROOT = Path(__file__).resolve().parents[2]
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


def requirement_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_requirements_install_the_repository_requirements_from_the_unzipped_plugins_only(dist):
    requirements = package_mwaa.read_requirements()
    assert requirement_lines((dist / "requirements.txt").read_text()) == [
        "--find-links /usr/local/airflow/plugins",
        "--no-index",
        "--constraint /usr/local/airflow/plugins/constraints-3.3.1-python3.12.txt",
        *requirements.lines,
    ]
    assert requirements.lines == tuple(
        line for line in requirement_lines((ROOT / "requirements.txt").read_text()) if not line.startswith("-")
    )


def test_mwaa_finds_a_constraints_line_so_forces_none_of_its_own(dist):
    # mwaa/utils/user_requirements.py (aws/amazon-mwaa-docker-images) adds `-c $AIRFLOW_CONSTRAINTS_FILE` to the
    # install unless some line of requirements.txt matches this expression.
    lines = (dist / "requirements.txt").read_text().splitlines()
    assert [line for line in lines if re.search(r"-c |--constraint ", line)] == [
        "--constraint /usr/local/airflow/plugins/constraints-3.3.1-python3.12.txt"
    ]


def test_the_shipped_constraints_are_the_repository_copy_of_the_file_requirements_txt_names(mwaa_home):
    first_line = (ROOT / "requirements.txt").read_text().splitlines()[0]
    assert first_line.endswith("/constraints-3.3.1/constraints-3.12.txt")
    shipped = mwaa_home / "plugins" / "constraints-3.3.1-python3.12.txt"
    assert shipped.read_bytes() == (ROOT / "constraints" / "constraints-3.3.1-python3.12.txt").read_bytes()


def install_inputs(plugins: Path, requirements: Path) -> dict[str, list[str]]:
    """What pip reads while installing the bundle: the requirements, the files they name, the wheels' requirements."""
    mapped = {"/usr/local/airflow/plugins": plugins}
    read = {"requirements.txt": requirement_lines(requirements.read_text())}
    for line in read["requirements.txt"]:
        option, _, value = line.partition(" ")
        if option in {"--constraint", "-c", "--requirement", "-r"}:
            path = Path(value.replace("/usr/local/airflow/plugins", str(mapped["/usr/local/airflow/plugins"])))
            read[path.name] = requirement_lines(path.read_text())
    for wheel in sorted(plugins.glob("*.whl")):
        with zipfile.ZipFile(wheel) as archive:
            metadata = next(name for name in archive.namelist() if name.endswith(".dist-info/METADATA"))
            text = archive.read(metadata).decode()
        read[wheel.name] = [line for line in text.splitlines() if line.startswith("Requires-Dist:")]
    return read


def test_an_unpacked_bundle_holds_no_url_an_install_would_fetch(mwaa_home):
    inputs = install_inputs(mwaa_home / "plugins", mwaa_home / "requirements.txt")
    assert {"requirements.txt", "constraints-3.3.1-python3.12.txt"} <= inputs.keys()
    assert len(inputs["constraints-3.3.1-python3.12.txt"]) > 500
    # A URL, or a direct reference (`name @ url`), is the only way a requirement or constraint leaves the folder.
    fetched = {name: [line for line in lines if "://" in line or " @ " in line] for name, lines in inputs.items()}
    assert {name: lines for name, lines in fetched.items() if lines} == {}


def test_every_path_requirements_txt_names_is_in_the_unzipped_plugins(mwaa_home):
    options = [line.split(" ") for line in requirement_lines((mwaa_home / "requirements.txt").read_text())]
    paths = [option[1] for option in options if option[0] in {"--find-links", "--constraint"}]
    assert len(paths) == 2 and all(path.startswith("/usr/local/airflow/plugins") for path in paths)
    local = [mwaa_home / "plugins" / Path(path).relative_to("/usr/local/airflow/plugins") for path in paths]
    assert all(path.exists() for path in local)


def test_dags_folder_holds_the_dags_the_library_and_the_sql(dist):
    expected = repo_files(ROOT / "dags") | {".airflowignore"}
    for entry in (ROOT / "include").iterdir():
        expected |= {f"{entry.name}/{name}" for name in repo_files(entry)}
    assert repo_files(dist / "dags") == expected
    assert {"covid_etl_dag.py", "covid_etl/__init__.py", "sql/schema.sql"} <= expected


@pytest.mark.parametrize(
    ("shipped", "source"),
    [
        pytest.param("covid_etl_dag.py", "dags/covid_etl_dag.py", id="dag"),
        pytest.param("covid_etl/sql.py", "include/covid_etl/sql.py", id="library"),
        pytest.param("sql/schema.sql", "include/sql/schema.sql", id="sql"),
    ],
)
def test_files_are_shipped_unchanged(dist, shipped, source):
    assert (dist / "dags" / shipped).read_bytes() == (ROOT / source).read_bytes()


def test_no_bytecode_is_shipped(dist):
    with zipfile.ZipFile(dist / "plugins.zip") as archive:
        names = archive.namelist()
    shipped = [*names, *(p.as_posix() for p in (dist / "dags").rglob("*"))]
    assert not [name for name in shipped if "__pycache__" in name or name.endswith(".pyc")]


def test_plugins_zip_holds_the_plugins_folder_the_wheels_and_the_constraints_at_its_root(dist):
    with zipfile.ZipFile(dist / "plugins.zip") as archive:
        names = set(archive.namelist())
    wheels = {name for name in names if name.endswith(".whl")}
    assert wheels and all("/" not in name for name in wheels)
    assert names == repo_files(ROOT / "plugins") | wheels | {"constraints-3.3.1-python3.12.txt"}


def shipped_wheels(dist: Path) -> dict[str, tuple[str, set[str]]]:
    """{name: (version, tags)} of the wheels in plugins.zip."""
    with zipfile.ZipFile(dist / "plugins.zip") as archive:
        names = [name for name in archive.namelist() if name.endswith(".whl")]
    wheels = {}
    for name in names:
        distribution, version, *_, python, abi, platform = name[: -len(".whl")].split("-")
        tags = {f"{p}-{a}-{pl}" for p in python.split(".") for a in abi.split(".") for pl in platform.split(".")}
        wheels[package_mwaa.normalize(distribution)] = (version, tags)
    return wheels


def test_each_wheel_is_at_the_version_of_airflows_constraints(dist):
    constrained = package_mwaa.pins((ROOT / "constraints" / "constraints-3.3.1-python3.12.txt").read_text())
    wheels = shipped_wheels(dist)
    assert "s3fs" in wheels  # the [s3fs] extra of the amazon provider: not in MWAA's image
    assert {name: version for name, (version, _) in wheels.items()} == {name: constrained[name] for name in wheels}


def test_no_wheel_is_of_a_package_mwaas_image_holds_or_mwaa_protects(dist):
    image = package_mwaa.pins((ROOT / "constraints" / "mwaa-image-packages-3.3.1.txt").read_text())
    essential = package_mwaa.pins((ROOT / "constraints" / "mwaa-essential-constraints-3.3.1.txt").read_text())
    assert len(image) == 212 and "apache-airflow" in essential
    assert set(shipped_wheels(dist)) & (image.keys() | essential.keys()) == set()


def test_each_wheel_runs_on_cpython_3_12_on_manylinux_x86_64(dist):
    platforms = {*package_mwaa.platforms(), "any"}
    interpreters = {"py3", "cp312", "py2"}  # py2.py3 wheels carry both
    for name, (_, tags) in shipped_wheels(dist).items():
        runnable = {tag for tag in tags if tag.split("-")[0] in interpreters and tag.split("-")[2] in platforms}
        assert runnable, f"{name}: {sorted(tags)}"
        assert all(tag.split("-")[1] in {"none", "abi3", "cp312"} for tag in runnable), f"{name}: {sorted(tags)}"


def test_plugins_zip_and_requirements_are_byte_for_byte_reproducible(dist, tmp_path):
    result = package(tmp_path / "again")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "again" / "plugins.zip").read_bytes() == (dist / "plugins.zip").read_bytes()
    assert (tmp_path / "again" / "requirements.txt").read_bytes() == (dist / "requirements.txt").read_bytes()


def test_packaging_refuses_to_delete_a_folder_that_is_not_a_previous_build(tmp_path):
    precious = tmp_path / "notes.txt"
    precious.write_text("keep me")
    result = package(tmp_path)
    assert result.returncode != 0
    assert precious.read_text() == "keep me"


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("--index-url https://pypi.org/simple", id="an-index"),
        pytest.param("--extra-index-url https://example.org/simple", id="an-extra-index"),
        pytest.param("-r other.txt", id="another-requirements-file"),
        pytest.param("covid-tools @ https://example.org/covid_tools-1.0-py3-none-any.whl", id="a-direct-reference"),
        pytest.param(
            "--constraint https://raw.githubusercontent.com/apache/airflow/constraints-3.3.1/constraints-3.12.txt",
            id="a-second-constraints-url",
        ),
    ],
)
def test_packaging_refuses_a_requirement_mwaa_could_only_fetch_online(tmp_path, line):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text((ROOT / "requirements.txt").read_text() + line + "\n")
    with pytest.raises(SystemExit, match=re.escape(line.split(" ")[0])):
        package_mwaa.read_requirements(requirements)


@pytest.mark.parametrize(
    "requirement",
    [
        # psycopg2 is in MWAA's image but not in Airflow's constraints: only the image's own version holds it.
        pytest.param("psycopg2==2.9.11", id="an-image-package-at-another-version"),
        # gevent is on MWAA's non-overridable list but not in its image.
        pytest.param("gevent==25.9.1", id="a-non-overridable-package-at-another-version"),
    ],
)
def test_a_requirement_that_would_move_what_mwaa_holds_fails_the_packaging(requirement):
    requirements = package_mwaa.read_requirements()
    moved = package_mwaa.Requirements(requirements.airflow, requirements.python, (*requirements.lines, requirement))
    name, version = requirement.split("==")
    with pytest.raises(SystemExit, match=f"needs a version other than(.|\\n)*{name}=={re.escape(version)}"):
        package_mwaa.plan(moved)


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
