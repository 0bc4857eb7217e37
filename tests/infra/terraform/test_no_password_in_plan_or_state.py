"""No database password in Terraform's plan or state: a real plan and apply against moto.

`terraform test` (terraform/tests/) proves on mocked plans that the password attributes are null;
it cannot show the whole plan file or a state. This test does, with the real hashicorp/aws
provider pointed at an in-process moto server on 127.0.0.1 (AWS_ENDPOINT_URL), offline:

1. ``terraform plan -out`` of the whole default configuration;
2. ``terraform apply`` of the connection secret version and everything it needs (database,
   network, key, secret, ephemeral password): a real state with the write-only arguments used;
3. a refresh (the provider re-reads the secret) and a second plan;
4. a rotation: ``-var db_password_version=2``.

About five minutes, nearly all of it the provider's RDS waiters (create, then modify).

moto's GetRandomPassword is wrapped to record every password it hands out, i.e. every value the
ephemeral resource ever produced in these runs. None of them may appear, as a substring, in any
saved plan (every file inside the plan archive), any ``terraform show -json`` of a plan or state,
the state files, or anything terraform printed. And the write-only path must have delivered: the
secret's JSON and the RDS instance hold the same, generated password, before and after rotation.

Needs terraform (>= 1.11) and the hashicorp/aws provider: a local mirror as in
scripts/check_terraform.sh (TF_PLUGIN_MIRROR, or one found under /), else the registry.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from tfconfig import TERRAFORM_DIR

ACCOUNT = "123456789012"  # moto's default account
REGION = "eu-west-1"
SECRET_NAME = "airflow/connections/covid_db"
DB_IDENTIFIER = "covid-etl-db"
TARGET = "-target=aws_secretsmanager_secret_version.db_connection"

pytestmark = pytest.mark.skipif(
    shutil.which("terraform") is None,
    reason="terraform is not installed (scripts/check_terraform.sh fails on that and says what to install)",
)


def _plugin_mirror() -> str | None:
    """TF_PLUGIN_MIRROR, or the first directory holding this platform's hashicorp/aws, as the script finds it."""
    if mirror := os.environ.get("TF_PLUGIN_MIRROR"):
        return mirror
    platform = json.loads(
        subprocess.run(["terraform", "version", "-json"], capture_output=True, text=True, check=True).stdout
    )["platform"]
    found = subprocess.run(
        [
            "find",
            "/",
            "-maxdepth",
            "6",
            "-type",
            "d",
            "-path",
            "*/registry.terraform.io/hashicorp/aws",
            "-not",
            "-path",
            "*/providers/registry.terraform.io/*",
            "-not",
            "-path",
            "/proc/*",
        ],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    for candidate in sorted(found):
        if any(Path(candidate).glob(f"*/{platform}")):
            return candidate.removesuffix("/registry.terraform.io/hashicorp/aws")
    return None


class Terraform:
    """Runs terraform in a copy of terraform/ against moto; keeps everything it printed."""

    def __init__(self, workdir: Path, endpoint: str) -> None:
        self.workdir = workdir
        self.printed: list[str] = []
        self.env = {
            key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "TF_VAR_", "TF_CLI_ARGS"))
        }
        config = workdir.parent / "terraformrc"
        config.write_text("")
        self.env.update(
            AWS_ENDPOINT_URL=endpoint,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_EC2_METADATA_DISABLED="true",
            TF_CLI_CONFIG_FILE=str(config),
            TF_DATA_DIR=str(workdir.parent / "data"),
            TF_IN_AUTOMATION="1",
            TF_INPUT="0",
        )

    def __call__(self, *args: str) -> str:
        result = subprocess.run(
            ["terraform", f"-chdir={self.workdir}", *args, "-no-color"],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
        self.printed += [result.stdout, result.stderr]
        assert result.returncode == 0, f"terraform {' '.join(args)}:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        return result.stdout


def _plan_archive_texts(plan: Path) -> Iterator[tuple[str, bytes]]:
    with zipfile.ZipFile(plan) as archive:
        for name in archive.namelist():
            yield f"{plan.name}:{name}", archive.read(name)


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[tuple[str, list[str]]]:
    import moto.secretsmanager.models as secretsmanager_models
    from moto.server import ThreadedMotoServer

    generated: list[str] = []
    original = secretsmanager_models.random_password

    def recording_random_password(*args: object, **kwargs: object) -> str:
        password = original(*args, **kwargs)
        generated.append(password)
        return password

    secretsmanager_models.random_password = recording_random_password
    # The RDS monitoring role attaches the AWS managed AmazonRDSEnhancedMonitoringRole policy.
    previous = os.environ.get("MOTO_IAM_LOAD_MANAGED_POLICIES")
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # moto's backends are per process: start from, and leave behind, an empty account.
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=30)
    try:
        yield endpoint, generated
    finally:
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=30)
        server.stop()
        secretsmanager_models.random_password = original
        if previous is None:
            os.environ.pop("MOTO_IAM_LOAD_MANAGED_POLICIES", None)
        else:
            os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = previous


def _secret_password(endpoint: str) -> str:
    import boto3

    client = boto3.client(
        "secretsmanager",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    secret = json.loads(client.get_secret_value(SecretId=SECRET_NAME)["SecretString"])
    assert secret["login"] == secret["username"] == "covid_etl"
    return secret["password"]


def _rds_password() -> str:
    from moto.rds.models import rds_backends

    # moto refuses to hand the password out through its API; its model keeps what RDS was sent.
    return rds_backends[ACCOUNT][REGION].databases[DB_IDENTIFIER]._master_user_password


def test_no_generated_password_reaches_any_plan_or_state(tmp_path, moto_endpoint):
    endpoint, generated = moto_endpoint
    workdir = tmp_path / "terraform"
    shutil.copytree(
        TERRAFORM_DIR,
        workdir,
        ignore=shutil.ignore_patterns("tests", ".terraform", "*.tfstate*", "terraform.tfvars"),
    )
    terraform = Terraform(workdir, endpoint)
    init = ["init", "-backend=false", "-lockfile=readonly"]
    if mirror := _plugin_mirror():
        init.append(f"-plugin-dir={mirror}")
    terraform(*init)

    artifacts: dict[str, bytes] = {}

    def save_plan(name: str, *args: str) -> dict:
        terraform("plan", f"-out={name}", *args)
        artifacts.update(_plan_archive_texts(workdir / name))
        shown = terraform("show", "-json", name)
        artifacts[f"show -json {name}"] = shown.encode()
        return json.loads(shown)

    def save_state(label: str) -> None:
        for path in workdir.glob("terraform.tfstate*"):
            artifacts[f"{label}:{path.name}"] = path.read_bytes()
        artifacts[f"show -json state ({label})"] = terraform("show", "-json").encode()

    # 1. The whole default stack, planned for real.
    plan = save_plan("full.tfplan")
    changes = {change["address"]: change["change"] for change in plan["resource_changes"]}
    db = changes["aws_db_instance.this"]["after"]
    secret_version = changes["aws_secretsmanager_secret_version.db_connection"]["after"]
    assert db["password"] is None and db["password_wo"] is None and db["password_wo_version"] == 1
    assert secret_version["secret_string"] is None and secret_version["secret_string_wo"] is None
    assert not [c for c in plan["resource_changes"] if c["address"].startswith("random_")]

    # 2. Apply the connection secret and all it depends on: a real state, write-only values sent.
    terraform("apply", "-auto-approve", TARGET)
    save_state("after apply")
    first = _secret_password(endpoint)
    assert first in generated, "the secret's password did not come from the ephemeral resource"
    assert _rds_password() == first, "RDS and the connection secret must hold the same password"

    # 3. Refresh (the provider reads the secret version back) and plan again: still nothing.
    terraform("apply", "-refresh-only", "-auto-approve", TARGET)
    save_state("after refresh")
    replan = save_plan("again.tfplan", TARGET)
    again = {c["address"]: c["change"] for c in replan["resource_changes"]}
    # Nothing re-sends the password: same password version, the secret version untouched. (moto
    # does not keep Performance Insights settings, so the instance itself may show that drift.)
    db_change = again["aws_db_instance.this"]
    assert db_change["before"]["password_wo_version"] == db_change["after"]["password_wo_version"] == 1
    assert again["aws_secretsmanager_secret_version.db_connection"]["actions"] == ["no-op"]
    assert _secret_password(endpoint) == first

    # 4. Rotation: a new password version reaches the database and a new secret version together.
    terraform("apply", "-auto-approve", TARGET, "-var=db_password_version=2")
    save_state("after rotation")
    rotated = _secret_password(endpoint)
    assert rotated != first and rotated in generated
    assert _rds_password() == rotated, "rotation must change RDS and the secret to the same password"

    artifacts.update({f"terraform output {index}": text.encode() for index, text in enumerate(terraform.printed)})
    # Plan, apply, refresh, re-plan, rotation: each opened the ephemeral resource once at least.
    assert len(set(generated)) >= 4, f"only {len(set(generated))} passwords were generated"
    assert _leaks(artifacts, generated) == [], "a generated password is in the listed plan/state/output"
    # The scan itself finds a password where there is one (the secret's own value).
    assert _leaks({"control": json.dumps({"password": rotated}).encode()}, generated) == ["control"]


def _leaks(artifacts: dict[str, bytes], passwords: list[str]) -> list[str]:
    """Names of the artifacts that contain any of the passwords (never the passwords themselves)."""
    return sorted({name for name, content in artifacts.items() for p in passwords if p.encode() in content})
