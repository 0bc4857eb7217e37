"""scripts/deploy_mwaa.sh: the commands a dry run prints are exactly the ones a real run executes.

`aws` and `terraform` are replaced by recording stand-ins on PATH, so nothing reaches AWS.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "scripts" / "deploy_mwaa.sh"
BUCKET = "covid-etl-artifacts-123456789012"
ENV_NAME = "covid-etl"

EXPECTED_DRY_RUN = [
    f"aws s3 sync --delete dist/mwaa/dags/ s3://{BUCKET}/dags/",
    f"aws s3api put-object --bucket {BUCKET} --key plugins.zip --body dist/mwaa/plugins.zip"
    " --query VersionId --output text",
    f"aws s3api put-object --bucket {BUCKET} --key requirements.txt --body dist/mwaa/requirements.txt"
    " --query VersionId --output text",
    f"aws mwaa update-environment --name {ENV_NAME}"
    " --plugins-s3-path plugins.zip --plugins-s3-object-version '<VersionId of plugins.zip>'"
    " --requirements-s3-path requirements.txt"
    " --requirements-s3-object-version '<VersionId of requirements.txt>'",
]

# Records its argv as a JSON line; answers put-object with the version id the test chose for the key.
FAKE_AWS = """#!{python}
import json, os, sys
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps(["aws", *sys.argv[1:]]) + "\\n")
if sys.argv[1:3] == ["s3api", "put-object"]:
    key = sys.argv[sys.argv.index("--key") + 1]
    print(json.loads(os.environ["FAKE_VERSIONS"])[key])
"""

# Answers `terraform -chdir=terraform output -no-color -raw NAME` from FAKE_OUTPUTS, fails otherwise.
FAKE_TERRAFORM = """#!{python}
import json, os, sys
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps(["terraform", *sys.argv[1:]]) + "\\n")
if sys.argv[1:5] != ["-chdir=terraform", "output", "-no-color", "-raw"]:
    sys.exit("unexpected terraform call")
sys.stdout.write(json.loads(os.environ["FAKE_OUTPUTS"])[sys.argv[5]])
"""


class Stubs:
    def __init__(self, tmp_path: Path):
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        self.log = tmp_path / "calls.jsonl"
        for name, source in (("aws", FAKE_AWS), ("terraform", FAKE_TERRAFORM)):
            path = self.bin / name
            path.write_text(source.format(python=sys.executable))
            path.chmod(0o755)

    def run(self, **env: str) -> subprocess.CompletedProcess:
        full_env = {
            "PATH": f"{self.bin}:/usr/bin:/bin",
            "FAKE_LOG": str(self.log),
            "FAKE_VERSIONS": json.dumps({"plugins.zip": "v-plugins-1", "requirements.txt": "v-req-1"}),
            "FAKE_OUTPUTS": json.dumps({"artifacts_bucket_name": BUCKET, "mwaa_environment_name": ENV_NAME}),
            **env,
        }
        return subprocess.run(["bash", DEPLOY], env=full_env, capture_output=True, text=True, cwd="/")

    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]


@pytest.fixture
def stubs(tmp_path) -> Stubs:
    return Stubs(tmp_path)


@pytest.fixture
def dist(tmp_path) -> Path:
    """A stand-in for the output of scripts/package_mwaa.py."""
    out = tmp_path / "dist" / "mwaa"
    (out / "dags").mkdir(parents=True)
    (out / "plugins.zip").write_bytes(b"")
    (out / "requirements.txt").write_text("")
    return out


def test_dry_run_prints_the_exact_commands(stubs):
    result = stubs.run(DRY_RUN="1", MWAA_BUCKET=BUCKET, MWAA_ENV=ENV_NAME)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == EXPECTED_DRY_RUN
    assert stubs.calls() == [], "a dry run calls neither aws nor terraform"


def test_without_overrides_the_names_come_from_the_terraform_outputs(stubs):
    result = stubs.run(DRY_RUN="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == EXPECTED_DRY_RUN
    assert [call[-1] for call in stubs.calls()] == ["artifacts_bucket_name", "mwaa_environment_name"]


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        # What `terraform output -raw` prints, with exit code 0, on a state without outputs.
        pytest.param(
            {"artifacts_bucket_name": "\nWarning: No outputs found\n", "mwaa_environment_name": ENV_NAME},
            "Not an S3 bucket name",
            id="no-outputs-warning",
        ),
        pytest.param(
            {"artifacts_bucket_name": BUCKET, "mwaa_environment_name": "covid etl"},
            "Not an MWAA environment name",
            id="bad-environment-name",
        ),
    ],
)
def test_names_that_aws_would_reject_stop_the_deploy(stubs, outputs, message):
    result = stubs.run(DRY_RUN="1", FAKE_OUTPUTS=json.dumps(outputs))
    assert result.returncode != 0
    assert message in result.stderr
    assert result.stdout == ""


def test_real_run_executes_the_dry_run_commands_with_the_returned_versions(stubs, dist):
    result = stubs.run(MWAA_BUCKET=BUCKET, MWAA_ENV=ENV_NAME, MWAA_DIST=str(dist))
    assert result.returncode == 0, result.stderr

    expected = [shlex.split(line.replace("dist/mwaa", str(dist))) for line in EXPECTED_DRY_RUN]
    expected[3] = [
        {"<VersionId of plugins.zip>": "v-plugins-1", "<VersionId of requirements.txt>": "v-req-1"}.get(arg, arg)
        for arg in expected[3]
    ]
    assert stubs.calls() == expected


def test_an_unversioned_bucket_stops_before_update_environment(stubs, dist):
    versions = json.dumps({"plugins.zip": "None", "requirements.txt": "None"})
    result = stubs.run(MWAA_BUCKET=BUCKET, MWAA_ENV=ENV_NAME, MWAA_DIST=str(dist), FAKE_VERSIONS=versions)
    assert result.returncode != 0
    assert "versioned bucket" in result.stderr
    assert [call[:3] for call in stubs.calls()] == [["aws", "s3", "sync"], ["aws", "s3api", "put-object"]]


@pytest.mark.parametrize("missing", ["dags", "plugins.zip", "requirements.txt"])
def test_a_missing_artifact_stops_before_any_upload(stubs, dist, missing):
    path = dist / missing
    if path.is_dir():
        path.rmdir()
    else:
        path.unlink()
    result = stubs.run(MWAA_BUCKET=BUCKET, MWAA_ENV=ENV_NAME, MWAA_DIST=str(dist))
    assert result.returncode != 0
    assert f"{missing} is missing: run make package first" in result.stderr
    assert stubs.calls() == []


def test_deploy_script_is_executable():
    assert os.access(DEPLOY, os.X_OK)
