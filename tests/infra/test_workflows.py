"""The GitHub Actions workflows: schema-valid, zizmor-clean, pinned, and deploying without stored keys.

check-jsonschema (with its bundled schema) and zizmor --offline both run without network access.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS_DIR = ROOT / ".github" / "workflows"
CI = WORKFLOWS_DIR / "ci.yml"
DEPLOY = WORKFLOWS_DIR / "deploy.yml"
CHECK_SOURCES = WORKFLOWS_DIR / "check-sources.yml"
VENV_BIN = Path(sys.executable).parent
WORKFLOWS = [pytest.param(path, id=path.name) for path in (CI, DEPLOY, CHECK_SOURCES)]

# owner/repo[/path]@<40 hex> # vX.Y.Z
PINNED_USES = re.compile(r"uses: [\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40} # v\d+\.\d+\.\d+")


def load(path: Path) -> dict:
    workflow = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as the boolean True.
    workflow["on"] = workflow.pop(True)
    return workflow


def steps_using(workflow: dict, action: str) -> list[dict]:
    return [
        step
        for job in workflow["jobs"].values()
        for step in job.get("steps", [])
        if step.get("uses", "").split("@")[0] == action
    ]


def test_the_three_workflows_exist():
    assert sorted(p.name for p in WORKFLOWS_DIR.iterdir()) == ["check-sources.yml", "ci.yml", "deploy.yml"]


@pytest.mark.parametrize("path", WORKFLOWS)
def test_workflow_matches_the_github_workflow_schema(path):
    result = subprocess.run(
        [VENV_BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", path],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOWS)
def test_zizmor_finds_nothing_at_any_severity(path):
    result = subprocess.run(
        [VENV_BIN / "zizmor", "--offline", "--format", "json", path],
        capture_output=True,
        text=True,
    )
    findings = json.loads(result.stdout)
    assert findings == [], json.dumps(findings, indent=2)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("path", WORKFLOWS)
def test_every_action_is_pinned_to_a_commit_sha_with_its_version(path):
    uses = re.findall(r"^\s*(?:- )?(uses: .*)$", path.read_text(), flags=re.MULTILINE)
    assert uses
    assert [line for line in uses if not PINNED_USES.fullmatch(line)] == []


@pytest.mark.parametrize("path", WORKFLOWS)
def test_checkout_does_not_persist_credentials(path):
    checkouts = steps_using(load(path), "actions/checkout")
    assert checkouts
    assert all(step["with"]["persist-credentials"] is False for step in checkouts)


@pytest.mark.parametrize("path", WORKFLOWS)
def test_top_level_permissions_are_read_only(path):
    assert load(path)["permissions"] in ({}, {"contents": "read"})


def test_ci_runs_make_test_on_push_and_pull_request():
    ci = load(CI)
    assert {"push", "pull_request"} <= ci["on"].keys()
    (job,) = ci["jobs"].values()
    assert job["steps"][-1]["run"] == "make test"


def test_ci_runs_on_debian_with_the_python_of_the_mwaa_constraints():
    python = re.search(r"constraints-(\d+\.\d+)\.txt", (ROOT / "requirements.txt").read_text())[1]
    (job,) = load(CI)["jobs"].values()
    assert job["container"] == f"python:{python}-bookworm"


def test_deploy_runs_for_main_only():
    deploy = load(DEPLOY)
    assert deploy["on"] == {"push": {"branches": ["main"]}, "workflow_dispatch": None}
    assert deploy["jobs"]["deploy"]["if"] == "github.ref == 'refs/heads/main'"


def test_deploy_tests_first_with_the_ci_job():
    deploy = load(DEPLOY)
    (ci_job,) = load(CI)["jobs"].values()
    assert deploy["jobs"]["deploy"]["needs"] == "test"
    for key in ("runs-on", "container", "steps"):
        assert deploy["jobs"]["test"][key] == ci_job[key]


def test_deploy_assumes_its_role_through_oidc():
    deploy = load(DEPLOY)
    assert deploy["jobs"]["deploy"]["permissions"] == {"contents": "read", "id-token": "write"}
    (credentials,) = steps_using(deploy, "aws-actions/configure-aws-credentials")
    assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"


def test_deploy_uses_no_long_lived_keys():
    text = DEPLOY.read_text()
    for forbidden in ("aws-access-key-id", "aws-secret-access-key", "AWS_ACCESS_KEY_ID", "secrets."):
        assert forbidden not in text


def test_deploy_packages_then_deploys_with_the_names_from_repository_variables():
    steps = load(DEPLOY)["jobs"]["deploy"]["steps"]
    runs = [step for step in steps if "run" in step]
    assert [step["run"] for step in runs] == ["make package", "make deploy"]
    assert runs[1]["env"] == {"MWAA_BUCKET": "${{ vars.MWAA_BUCKET }}", "MWAA_ENV": "${{ vars.MWAA_ENV }}"}


def test_check_sources_runs_daily_and_on_demand_with_read_only_access():
    workflow = load(CHECK_SOURCES)
    [schedule] = workflow["on"]["schedule"]
    minute, hour, *every_day = schedule["cron"].split()
    assert every_day == ["*", "*", "*"] and minute.isdigit() and hour.isdigit()
    assert "workflow_dispatch" in workflow["on"]
    (job,) = workflow["jobs"].values()
    assert "permissions" not in job and workflow["permissions"] == {"contents": "read"}
    assert job["steps"][-1]["run"] == "make check-sources"
