"""Set-up that asks only for what a command needs (issue 20, point 2): `make test` checks all its
prerequisites within seconds before anything else, the Python for .venv is checked where it is chosen,
and `make run` asks for nothing but PostgreSQL's server."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from support import ROOT

CHECK = ["bash", str(ROOT / "scripts" / "check_prerequisites.sh")]
LOCKED_AWS = re.search(
    r'provider "registry.terraform.io/hashicorp/aws" \{\s*version\s*=\s*"([^"]+)"',
    (ROOT / "terraform" / ".terraform.lock.hcl").read_text(),
)[1]


def run(command: list[str], **env: str) -> tuple[subprocess.CompletedProcess, float]:
    """Run ``command`` with these variables over this environment; return what it did and how long it took."""
    started = time.monotonic()
    done = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, timeout=60)
    return done, time.monotonic() - started


def path_without(tmp_path: Path, *programs: str) -> str:
    """This PATH with ``programs`` gone: each folder holding one is replaced by links to all its other files."""
    folders = []
    for folder in map(Path, os.environ["PATH"].split(os.pathsep)):
        if not any((folder / program).exists() for program in programs):
            folders.append(str(folder))
            continue
        copy = tmp_path / f"path-{len(folders)}"
        copy.mkdir()
        for entry in folder.iterdir():
            if entry.name not in programs:
                (copy / entry.name).symlink_to(entry)
        folders.append(str(copy))
    return os.pathsep.join(folders)


def test_the_check_finds_every_prerequisite_of_this_machine_within_seconds():
    done, took = run(CHECK)
    assert took < 10 and done.returncode == 0, done.stderr
    assert re.fullmatch(
        rf"Prerequisites: Python 3\.\d+\.\d+, Terraform 1\.\d+\.\d+, hashicorp/aws {re.escape(LOCKED_AWS)} from \S+, "
        r"PostgreSQL, Chromium, docker-compose \(checked in \d s\)\n",
        done.stdout,
    )


def test_without_terraform_it_names_terraform_and_how_to_get_it_within_seconds(tmp_path):
    done, took = run(CHECK, PATH=path_without(tmp_path, "terraform"))
    assert took < 10 and done.returncode == 1
    assert (
        "  - Terraform >= 1.11 is not on the PATH: install Terraform 1.11.4 "
        "(https://developer.hashicorp.com/terraform/install), as CI does\n" in done.stderr
    )


def test_a_provider_mirror_without_the_locked_provider_is_named_with_how_to_fill_it(tmp_path):
    done, took = run(CHECK, TF_PLUGIN_MIRROR=str(tmp_path))
    assert took < 10 and done.returncode == 1
    assert f"TF_PLUGIN_MIRROR={tmp_path} holds no registry.terraform.io/hashicorp/aws {LOCKED_AWS} for " in done.stderr
    assert f"`terraform -chdir=terraform providers mirror {tmp_path}`" in done.stderr


def test_what_it_cannot_install_stops_it_before_it_installs_what_it_could(tmp_path):
    done, took = run(CHECK, PATH=path_without(tmp_path, "terraform", "chromium"), CHROMIUM="")
    assert took < 10 and done.returncode == 1
    problems = done.stderr.splitlines()[1:]
    assert [problem.split(":")[0] for problem in problems] == [
        "  - Terraform >= 1.11 is not on the PATH",
        "  - Debian packages missing",
    ]
    how = "make test installs them as root with apt-get" if os.geteuid() == 0 else "sudo apt-get install chromium"
    assert problems[1].startswith("  - Debian packages missing: chromium (") and how in problems[1]
    assert "Installing" not in done.stdout


def test_without_root_a_missing_package_is_named_with_how_to_install_it():
    as_another_user = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
    # The PATH's folders and the script must be open to that user, which pytest's own temporary folders and a
    # clone in a private folder (mktemp -d) are not: the script runs from a copy in an open folder.
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o755)
        script = shutil.copy(ROOT / "scripts" / "install_system_deps.sh", folder)
        done, _ = run(
            [*as_another_user, "bash", script, "chromium", "docker-compose"],
            PATH=path_without(Path(folder), "chromium"),
            CHROMIUM="",
        )
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        "Missing system packages: chromium. Install them: Debian/Ubuntu: sudo apt-get install chromium; "
        "macOS: brew install --cask chromium.\n"
    )


@pytest.fixture
def project_needing_python_3_99(tmp_path) -> Path:
    """venv_python.sh in a project whose pyproject.toml asks for a Python newer than any there is."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "venv_python.sh", tmp_path / "scripts")
    (tmp_path / "pyproject.toml").write_text('[project]\nrequires-python = ">=3.99"\n')
    return tmp_path / "scripts" / "venv_python.sh"


HOW = "install Python 3.12 (or >= 3.99) with its venv module ("


def test_a_python_older_than_the_project_needs_is_refused_where_the_venv_is_chosen(project_needing_python_3_99):
    done, _ = run(["bash", str(project_needing_python_3_99)], VENV_PYTHON=sys.executable)
    version = ".".join(map(str, sys.version_info[:2]))
    assert (done.returncode, done.stdout) == (1, "") and len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith(
        f"venv_python.sh: VENV_PYTHON={sys.executable} is Python {version}; the code needs >= 3.99; {HOW}"
    )
    done, _ = run(["bash", str(project_needing_python_3_99)], VENV_PYTHON="")
    assert done.returncode == 1 and re.match(
        r"venv_python\.sh: python3 \(\S+\) is Python 3\.\d+; the code needs >= 3\.99; ", done.stderr
    )


def test_make_stops_at_a_python_that_cannot_build_the_venv_saying_why():
    done, _ = run(["make", "--no-print-directory", "-C", str(ROOT), "venv"], VENV_PYTHON="/bin/false")
    assert done.returncode == 2
    assert (
        "venv_python.sh: VENV_PYTHON=/bin/false is not a Python that runs; install Python 3.12 (or >= 3.11)"
        in done.stderr
    )


def dry_run(target: str, **env: str) -> list[str]:
    done, _ = run(["make", "--no-print-directory", "-n", "-C", str(ROOT), target], **env)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_make_run_installs_or_asks_for_nothing_but_the_postgresql_server():
    installs = [line for line in dry_run("run") if "install_system_deps.sh" in line]
    assert installs == ["bash scripts/install_system_deps.sh postgresql"]
    given_a_database = dry_run("run", COVID_ETL_DB_URL="postgresql://me@db.example/covid")
    assert not [line for line in given_a_database if "install_system_deps.sh" in line]
    assert [line for line in dry_run("up") if "install_system_deps.sh" in line] == installs


def test_make_test_checks_its_prerequisites_first():
    assert dry_run("test")[0] == "bash scripts/check_prerequisites.sh"
