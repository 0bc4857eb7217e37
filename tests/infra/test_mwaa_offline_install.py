"""The bundle installs on MWAA's image as MWAA installs it: with no network, in well under MWAA's 9 minutes,
changing no package of the image, and leaving the DAG, the plugin and every import of the library working.

The image stands in as a Python 3.12 virtualenv holding MWAA 3.3.1's packages
(constraints/mwaa-image-packages-3.3.1.txt, with the four its own packages require that the list omits: see
package_mwaa.plan). uv builds it once from PyPI and keeps it in .venv-mwaa-image/ (git-ignored), keyed by a hash
of the list, the constraints and the pip version; each session installs into a hard-linked copy of it.

The install is the command of MWAA's entrypoint (aws/amazon-mwaa-docker-images: mwaa/utils/user_requirements.py
and bin/airflow-user/safe-pip-install): `pip install --constraint <non-overridable list> -r requirements.txt`,
plus `-c <the image's constraints>` when requirements.txt has no constraints line, killed after 9 minutes. Here it
runs in a network namespace of its own (`unshare --net`: only a loopback that is down), without the machine's pip
configuration, with /usr/local/airflow mapped to a folder in tmp holding the unpacked bundle. Where a network
namespace cannot be made (a container without CAP_SYS_ADMIN) the proxies point at a closed port instead; either
way a control test proves that PyPI is out of reach from inside.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import package_mwaa
import pytest

from support import ROOT

IMAGE_VENV = ROOT / ".venv-mwaa-image"
# MWAA's image build upgrades pip to the newest release (bootstrap/01-root-firstpass/002-install-python.sh).
PIP_VERSION = "26.3"
MWAA_HOME = "/usr/local/airflow"
# mwaa/utils/user_requirements.py: USER_REQUIREMENTS_MAX_INSTALL_TIME.
MWAA_INSTALL_LIMIT_SECONDS = 9 * 60
# "Well under": a tenth of MWAA's limit, room for MWAA's slower start and for requirements that grow.
INSTALL_BUDGET_SECONDS = MWAA_INSTALL_LIMIT_SECONDS / 10
# A port nothing listens on: with no network namespace, any HTTP(S) a tool tries fails at once.
CLOSED_PROXY = "http://127.0.0.1:9"


def isolates_network() -> bool:
    try:
        return subprocess.run(["unshare", "--net", "true"], capture_output=True).returncode == 0
    except FileNotFoundError:
        return False


NETWORK_NAMESPACE = isolates_network()


def offline(command: list[str | Path]) -> list[str]:
    return [*(["unshare", "--net"] if NETWORK_NAMESPACE else []), *map(str, command)]


def offline_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean environment: none of the machine's pip settings (its config file, find-links, indexes, proxies)."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_CACHE_DIR": "1",
        "PIP_RETRIES": "0",
        "PIP_TIMEOUT": "5",
        **{name: CLOSED_PROXY for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")},
        **extra,
    }


def python_3_12() -> str:
    """The interpreter of this venv's base when it is 3.12 (the suite's), else the one `make venv` picks
    (test_the_image_stand_in_runs_the_python_of_the_constraints fails when that is not 3.12)."""
    if sys.version_info[:2] == (3, 12):
        return sys._base_executable
    chosen = subprocess.run(["bash", ROOT / "scripts" / "venv_python.sh"], capture_output=True, text=True).stdout
    return chosen.strip()


def image_key(requirements: package_mwaa.Requirements) -> str:
    digest = hashlib.sha256()
    for path in (requirements.image_packages, requirements.constraints, requirements.essential_constraints):
        digest.update(path.read_bytes())
    digest.update(f"{python_3_12()} pip=={PIP_VERSION} glibc 2.{package_mwaa.TARGET_GLIBC_MINOR}".encode())
    return digest.hexdigest()


def build_image_venv(requirements: package_mwaa.Requirements) -> Path:
    """.venv-mwaa-image/ with exactly the image's packages; rebuilt only when its key changes."""
    key = image_key(requirements)
    stamp = IMAGE_VENV / ".image-key"
    if stamp.is_file() and stamp.read_text() == key:
        return IMAGE_VENV
    image = package_mwaa.plan(requirements).image
    building = IMAGE_VENV.with_name(f"{IMAGE_VENV.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    uv = package_mwaa.tool("uv")
    subprocess.run([uv, "venv", "--quiet", "--python", python_3_12(), building], check=True)
    pins = building / "image-packages.txt"
    pins.write_text("".join(f"{name}=={version}\n" for name, version in sorted(image.items())))
    # Copies, not links into uv's cache: each session hard-links this venv, and must not share inodes with uv's cache.
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", building / "bin" / "python", "--link-mode", "copy", "--no-deps"]
        + ["-r", pins, f"pip=={PIP_VERSION}"],
        check=True,
    )
    (building / ".image-key").write_text(key)
    shutil.rmtree(IMAGE_VENV, ignore_errors=True)
    building.rename(IMAGE_VENV)
    return IMAGE_VENV


def link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # another filesystem
        shutil.copy2(source, target)


def versions(python: Path, home: Path) -> dict[str, str]:
    """Every distribution the interpreter sees, by normalized name."""
    script = (
        "import importlib.metadata as m, json, re;"
        "print(json.dumps({re.sub(r'[-_.]+', '-', d.metadata['Name']).lower(): d.version for d in m.distributions()}))"
    )
    result = subprocess.run(offline([python, "-c", script]), env=offline_env(home), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def mwaa_forces_its_constraints(requirements: Path) -> bool:
    """mwaa/utils/user_requirements.py: _requirements_has_constraints (a commented-out line counts too)."""
    return not any(re.search(r"-c |--constraint ", line) for line in requirements.read_text().splitlines())


@dataclass(frozen=True)
class Install:
    home: Path  # stands for /usr/local/airflow
    python: Path
    shipped: dict[str, str]  # wheels in plugins.zip: name -> version
    before: dict[str, str]
    after: dict[str, str]
    command: list[str]
    returncode: int
    output: str
    seconds: float


@pytest.fixture(scope="module")
def requirements() -> package_mwaa.Requirements:
    return package_mwaa.read_requirements()


@pytest.fixture(scope="module")
def installed(requirements, tmp_path_factory) -> Install:
    image = build_image_venv(requirements)
    work = tmp_path_factory.mktemp("mwaa")
    dist = work / "dist"
    built = subprocess.run([sys.executable, ROOT / "scripts" / "package_mwaa.py", "--out", dist], capture_output=True)
    assert built.returncode == 0, built.stderr.decode()

    # /usr/local/airflow as MWAA fills it: dags/ synced, plugins.zip unzipped, requirements.txt beside them.
    home = work / MWAA_HOME.lstrip("/")
    shutil.copytree(dist / "dags", home / "dags")
    with zipfile.ZipFile(dist / "plugins.zip") as archive:
        archive.extractall(home / "plugins")
    requirements_txt = home / "requirements" / "requirements.txt"
    requirements_txt.parent.mkdir()
    # The one liberty taken: its absolute paths point into the stand-in folder.
    requirements_txt.write_text((dist / "requirements.txt").read_text().replace(MWAA_HOME, str(home)))
    shipped = {
        package_mwaa.normalize(m["name"]): m["version"]
        for m in map(package_mwaa.WHEEL_NAME.match, (p.name for p in (home / "plugins").glob("*.whl")))
    }

    venv = work / "image"
    shutil.copytree(image, venv, symlinks=True, copy_function=link_or_copy)
    python = venv / "bin" / "python"
    before = versions(python, work)
    command = [python, "-m", "pip", "install", "--constraint", requirements.essential_constraints]
    command += ["-r", requirements_txt]
    if mwaa_forces_its_constraints(requirements_txt):
        command += ["-c", requirements.constraints]
    started = time.monotonic()
    result = subprocess.run(
        offline(command),
        env=offline_env(work),
        capture_output=True,
        text=True,
        timeout=MWAA_INSTALL_LIMIT_SECONDS,
    )
    seconds = time.monotonic() - started
    return Install(
        home=home,
        python=python,
        shipped=shipped,
        before=before,
        after=versions(python, work),
        command=offline(command),
        returncode=result.returncode,
        output=result.stdout + result.stderr,
        seconds=seconds,
    )


def test_the_image_stand_in_runs_the_python_of_the_constraints(installed, requirements, tmp_path):
    version = [installed.python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]
    result = subprocess.run(offline(version), env=offline_env(tmp_path), capture_output=True, text=True)
    assert result.stdout.strip() == requirements.python == "3.12"


def test_pypi_is_out_of_reach_where_the_install_runs(installed, tmp_path):
    """The control: the same sandbox, asked to download from PyPI, fails."""
    download = [installed.python, "-m", "pip", "download", "--no-deps", "--dest", tmp_path]
    download += ["--index-url", "https://pypi.org/simple", f"pip=={PIP_VERSION}"]
    result = subprocess.run(offline(download), env=offline_env(tmp_path), capture_output=True, text=True)
    assert result.returncode != 0
    assert not list(tmp_path.glob("*.whl"))


def test_the_install_succeeds_offline_in_well_under_mwaas_nine_minutes(installed):
    assert installed.returncode == 0, installed.output
    assert installed.seconds < INSTALL_BUDGET_SECONDS
    print(f"\noffline install: {installed.seconds:.1f} s (network namespace: {NETWORK_NAMESPACE})")


def test_no_package_of_the_image_changes_version(installed):
    assert installed.returncode == 0, installed.output
    assert len(installed.before) > 200
    changed = {
        name: (v, installed.after.get(name)) for name, v in installed.before.items() if installed.after.get(name) != v
    }
    assert changed == {}


def test_mwaas_non_overridable_packages_keep_their_versions(installed, requirements):
    essential = package_mwaa.pins(requirements.essential_constraints.read_text())
    held = {name: installed.after[name] for name in essential if name in installed.before}
    assert {"apache-airflow", "celery", "sqlalchemy"} <= held.keys()
    assert held == {name: essential[name] for name in held}


def test_what_the_install_adds_is_exactly_the_wheels_of_plugins_zip(installed):
    added = {name: v for name, v in installed.after.items() if name not in installed.before}
    assert "s3fs" in added
    assert added == installed.shipped


def test_pip_check_finds_nothing_broken(installed, tmp_path):
    assert installed.returncode == 0, installed.output
    result = subprocess.run(
        offline([installed.python, "-m", "pip", "check"]), env=offline_env(tmp_path), capture_output=True, text=True
    )
    assert (result.returncode, result.stdout.strip()) == (0, "No broken requirements found."), result.stdout


# Runs in the installed image with only dags/ and plugins/ of the bundle on the path, as MWAA runs Airflow.
PROBE = r"""
import ast, importlib, importlib.metadata, importlib.util, json, pkgutil, re, sys, traceback
from pathlib import Path

from packaging.requirements import Requirement

dags, plugins, requirements_txt, staging_uri = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
found = {}

from airflow.dag_processing.dagbag import DagBag

bag = DagBag(dag_folder=dags, safe_mode=False)
found["dag_ids"], found["import_errors"] = sorted(bag.dag_ids), bag.import_errors

from airflow import plugins_manager

loaded, errors = plugins_manager._get_plugins()
found["plugins"] = sorted(p.name for p in loaded if str(p.source).startswith("$PLUGINS_FOLDER/"))
found["plugin_errors"] = errors

# Every module the bundle ships, imported by name: the library, the plugin's package, the DAG files.
found["modules"], found["module_errors"] = [], {}


def not_walked(name):
    found["module_errors"][name] = traceback.format_exc(limit=1)


for module in pkgutil.walk_packages([str(dags), str(plugins)], onerror=not_walked):
    found["modules"].append(module.name)
    try:
        importlib.import_module(module.name)
    except Exception:
        found["module_errors"][module.name] = traceback.format_exc(limit=1)


def runtime_imports(tree):
    # Absolute imports, at any depth, except those only type checkers read or that guard an optional import.
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for child in node.body for n in ast.walk(child)}
        guarded = [h.type for h in getattr(node, "handlers", []) if h.type is not None]
        if any(re.search(r"ImportError|ModuleNotFoundError", ast.unparse(caught)) for caught in guarded):
            skipped |= {id(n) for child in node.body for n in ast.walk(child)}
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module != "__future__":
            yield node.module


found["imports"], found["unresolved"] = {}, {}
for root in (dags, plugins):
    for path in sorted(root.rglob("*.py")):
        for name in runtime_imports(ast.parse(path.read_text(), str(path))):
            found["imports"].setdefault(name, str(path.relative_to(root)))
            try:
                resolved = importlib.util.find_spec(name) is not None
            except ImportError:
                resolved = False
            if not resolved:
                found["unresolved"][name] = str(path.relative_to(root))

# Each requirement of requirements.txt installed at a version it accepts, with every package its extras add.
found["requirements"], found["unmet"] = [], []
for line in requirements_txt.read_text().splitlines():
    if not line.strip() or line.startswith(("#", "-")):
        continue
    requirement = Requirement(line)
    needed = [(requirement, None)]
    for extra in requirement.extras:
        for declared in importlib.metadata.requires(requirement.name) or []:
            dependency = Requirement(declared)
            if dependency.marker and dependency.marker.evaluate({"extra": extra}):
                needed.append((dependency, extra))
    for dependency, extra in needed:
        found["requirements"].append(f"{dependency.name} (extra {extra})" if extra else dependency.name)
        try:
            version = importlib.metadata.version(dependency.name)
        except importlib.metadata.PackageNotFoundError:
            version = None
        if version is None or not dependency.specifier.contains(version, prereleases=True):
            found["unmet"].append(f"{dependency} (extra {extra}): {version}")

# The staging store the DAG reads and writes on MWAA: its filesystem is imported only when a path is used.
from airflow.sdk import ObjectStoragePath

try:
    filesystem = type(ObjectStoragePath(staging_uri).fs)
    found["staging_filesystem"] = f"{filesystem.__module__}.{filesystem.__name__}"
except Exception as error:
    found["staging_filesystem"] = f"{type(error).__name__}: {error}"

print(json.dumps(found))
"""


def mwaa_staging_scheme() -> str:
    """The scheme of covid_etl_staging_uri as Terraform sets it on MWAA (terraform/locals.tf)."""
    return re.search(r'staging_uri\s*=\s*"(\w+)://', (ROOT / "terraform" / "locals.tf").read_text())[1]


@pytest.fixture(scope="module")
def probed(installed, tmp_path_factory) -> dict:
    assert installed.returncode == 0, installed.output
    work = tmp_path_factory.mktemp("probe")
    dags, plugins = installed.home / "dags", installed.home / "plugins"
    env = offline_env(
        work,
        PYTHONPATH=f"{dags}:{plugins}",
        AIRFLOW_HOME=str(work / "airflow"),
        AIRFLOW__CORE__DAGS_FOLDER=str(dags),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(plugins),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        # No credentials, and no instance metadata to look them up in: the filesystem is only built
        # (anonymous), never used.
        AWS_DEFAULT_REGION="eu-west-1",
        AWS_EC2_METADATA_DISABLED="true",
    )
    staging_uri = f"{mwaa_staging_scheme()}://covid-etl-staging/staging"
    command = [installed.python, "-c", PROBE, dags, plugins, installed.home / "requirements" / "requirements.txt"]
    result = subprocess.run(offline([*command, staging_uri]), env=env, cwd=work, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


def test_the_packaged_dags_load_in_a_dagbag_without_import_errors(probed):
    assert probed["import_errors"] == {}
    assert "covid_etl" in probed["dag_ids"]


def test_the_plugin_loads(probed):
    assert probed["plugin_errors"] == {}
    assert probed["plugins"] == ["covid_dashboard"]


def test_every_module_the_bundle_ships_imports(probed):
    assert "covid_etl" in probed["modules"] and "covid_dashboard" in probed["modules"]
    assert len(probed["modules"]) > 20
    assert probed["module_errors"] == {}


def test_every_runtime_import_of_the_library_and_the_plugin_resolves(probed):
    # Imports inside functions (a driver, a hook) count: they run on MWAA's workers, not when the DAG parses.
    assert {"airflow.sdk", "psycopg.copy", "airflow.providers.amazon.aws.hooks.sns"} <= probed["imports"].keys()
    assert probed["unresolved"] == {}


def test_every_requirement_and_its_extras_are_installed(probed):
    assert "s3fs (extra s3fs)" in probed["requirements"]
    assert probed["unmet"] == []


def test_the_staging_store_on_mwaa_finds_its_filesystem(probed):
    # s3:// staging needs s3fs, which MWAA's image lacks: the amazon provider imports it only here.
    assert mwaa_staging_scheme() == "s3"
    assert probed["staging_filesystem"] == "s3fs.core.S3FileSystem"
