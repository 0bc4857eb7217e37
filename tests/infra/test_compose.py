"""The local stack (docker-compose.yaml, docker/, .env.example) runs what MWAA runs and what the DAG needs.

No Docker engine runs here: the file is checked with PyYAML, with Compose 1.29's own validation
(`docker-compose config`), and its Airflow settings are resolved by Airflow itself.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pytest
import yaml
from moto.server import ThreadedMotoServer

from covid_etl.config import SETTINGS

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
DOCKERFILE = ROOT / "docker" / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"

COMPOSE = yaml.safe_load(COMPOSE_FILE.read_text())
SERVICES = COMPOSE["services"]
AIRFLOW_SERVICES = [
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-init",
]
# The services that keep running, i.e. all but the one-shot airflow-init.
LONG_RUNNING = [name for name in SERVICES if name != "airflow-init"]
DATABASES = ["airflow-db", "covid-db"]
MOUNTS = {
    "./dags": "/opt/airflow/dags",
    "./plugins": "/opt/airflow/plugins",
    "./include": "/opt/airflow/include",
}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}

# name[:tag][@sha256:digest], without interpolation: a pinned image is written out in full.
IMAGE = re.compile(r"(?P<name>[a-z0-9][a-z0-9._/-]*)(?::(?P<tag>[\w][\w.-]*))?(?:@sha256:[0-9a-f]{64})?")


def constraint_versions() -> tuple[str, str]:
    """(Airflow version, Python version) of the constraints URL on requirements.txt's first line."""
    first_line = (ROOT / "requirements.txt").read_text().splitlines()[0]
    match = re.fullmatch(
        r"--constraint https://raw\.githubusercontent\.com/apache/airflow/"
        r"constraints-(\d+\.\d+\.\d+)/constraints-(\d+\.\d+)\.txt",
        first_line,
    )
    assert match, f"requirements.txt does not start with Airflow's constraints URL: {first_line!r}"
    return match.group(1), match.group(2)


def dockerfile_base_images() -> list[str]:
    return [line.split()[1] for line in DOCKERFILE.read_text().splitlines() if line.startswith("FROM ")]


def environment(service: str) -> dict[str, str | None]:
    return SERVICES[service]["environment"]


def service_params(names: list[str]) -> list:
    return [pytest.param(name, id=name) for name in names]


@pytest.mark.parametrize("service", service_params(list(SERVICES)))
def test_every_image_is_pinned(service):
    image = SERVICES[service]["image"]
    match = IMAGE.fullmatch(image)
    assert match and match["tag"], f"{service}: {image!r} has no explicit tag"
    assert match["tag"] != "latest", f"{service}: {image!r}"


def test_dockerfile_base_image_is_pinned():
    (base,) = dockerfile_base_images()
    match = IMAGE.fullmatch(base)
    assert match and match["tag"] and match["tag"] != "latest", base


def test_airflow_image_is_the_version_and_python_of_the_mwaa_constraints():
    airflow, python = constraint_versions()
    assert python == "3.12", "MWAA runs Airflow 3 on Python 3.12"
    assert dockerfile_base_images() == [f"apache/airflow:{airflow}-python{python}"]


@pytest.mark.parametrize("service", service_params(AIRFLOW_SERVICES))
def test_airflow_services_run_the_image_built_from_the_dockerfile(service):
    airflow, python = constraint_versions()
    assert SERVICES[service]["build"] == {"context": ".", "dockerfile": "docker/Dockerfile"}
    assert SERVICES[service]["image"].endswith(f":{airflow}-python{python}")


def test_image_installs_requirements_against_the_vendored_constraints():
    airflow, python = constraint_versions()
    constraints = f"constraints/constraints-{airflow}-python{python}.txt"
    dockerfile = DOCKERFILE.read_text()
    assert (ROOT / constraints).is_file()
    assert f"COPY {constraints} /opt/airflow/constraints.txt" in dockerfile
    assert "--constraint /opt/airflow/constraints.txt" in dockerfile
    assert "COPY requirements.txt " in dockerfile
    # The build context is an allowlist: both files must be let through it.
    allowed = (ROOT / ".dockerignore").read_text().splitlines()
    assert {"*", "!requirements.txt", f"!{constraints}"} <= set(allowed)


@pytest.mark.parametrize("service", service_params(AIRFLOW_SERVICES))
def test_airflow_uses_the_local_executor(service):
    assert environment(service)["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"


def test_api_server_serves_on_port_8080():
    apiserver = SERVICES["airflow-apiserver"]
    assert apiserver["command"] == "api-server"
    assert [port.rsplit(":", 1)[1] for port in apiserver["ports"]] == ["8080"]
    assert "http://localhost:8080/" in " ".join(apiserver["healthcheck"]["test"])
    # Task processes report to the API server's execution API by its service name.
    for service in AIRFLOW_SERVICES:
        assert (
            environment(service)["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]
            == "http://airflow-apiserver:8080/execution/"
        )


@pytest.mark.parametrize("service", service_params(DATABASES))
def test_databases_have_a_pg_isready_healthcheck(service):
    user = environment(service)["POSTGRES_USER"]
    assert SERVICES[service]["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert ["-U", user] == SERVICES[service]["healthcheck"]["test"][2:4]


@pytest.mark.parametrize("service", service_params(LONG_RUNNING))
def test_every_long_running_service_has_a_healthcheck(service):
    assert SERVICES[service]["healthcheck"]["test"]


@pytest.mark.parametrize("service", service_params(AIRFLOW_SERVICES))
def test_depends_on_uses_conditions(service):
    depends_on = SERVICES[service]["depends_on"]
    assert isinstance(depends_on, dict), "the list form of depends_on waits for nothing"
    assert {dep["condition"] for dep in depends_on.values()} <= CONDITIONS
    for needed in [*DATABASES, "moto"]:
        assert depends_on[needed] == {"condition": "service_healthy"}


@pytest.mark.parametrize("service", service_params([s for s in AIRFLOW_SERVICES if s != "airflow-init"]))
def test_airflow_services_start_after_airflow_init_succeeded(service):
    assert SERVICES[service]["depends_on"]["airflow-init"] == {"condition": "service_completed_successfully"}


@pytest.mark.parametrize("service", service_params(AIRFLOW_SERVICES))
def test_dags_plugins_and_include_are_mounted(service):
    mounts = {}
    for volume in SERVICES[service]["volumes"]:
        source, target, *_ = volume.split(":")
        mounts[source] = target
    assert MOUNTS.items() <= mounts.items()
    assert MOUNTS["./include"] in environment(service)["PYTHONPATH"].split(":")


def test_airflow_init_runs_the_init_script_it_mounts():
    init = SERVICES["airflow-init"]
    script = init["command"][0]
    assert script.startswith("/opt/airflow/docker/")
    assert "./docker:/opt/airflow/docker:ro" in init["volumes"]
    assert (ROOT / "docker" / Path(script).name).is_file()


def test_init_script_is_valid_bash():
    result = subprocess.run(["bash", "-n", ROOT / "docker" / "airflow-init.sh"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def compose_variables() -> set[str]:
    """The host variables docker-compose.yaml reads: ${NAME...} interpolations and pass-through keys."""
    text = COMPOSE_FILE.read_text()
    interpolated = set(re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)", text))
    passed_through = {key for key, value in environment("airflow-scheduler").items() if value is None}
    return interpolated | passed_through


def test_env_example_documents_every_variable_the_compose_file_reads():
    documented = set(re.findall(r"^#? ?([A-Z_][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), flags=re.MULTILINE))
    assert compose_variables() == documented


def test_docker_compose_accepts_the_file():
    # The Makefile installs docker-compose (scripts/check_compose.sh) before the tests run.
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose is missing: run scripts/check_compose.sh"
    result = subprocess.run(
        [binary, "--env-file", ENV_EXAMPLE, "-f", COMPOSE_FILE, "config", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


# Resolves the connections and the Variable from the environment exactly as Airflow does.
RESOLVE_SETTINGS = """
import json
from airflow.secrets.environment_variables import EnvironmentVariablesBackend

backend = EnvironmentVariablesBackend()
connections = {}
for conn_id in ("covid_db", "aws_default"):
    conn = backend.get_connection(conn_id)
    connections[conn_id] = {
        "conn_type": conn.conn_type, "host": conn.host, "port": conn.port, "login": conn.login,
        "password": conn.password, "schema": conn.schema, "extra": conn.extra_dejson,
    }
print(json.dumps({
    "connections": connections,
    "topic_arn": backend.get_variable("covid_etl_sns_topic_arn"),
}))
"""


def airflow_env(service: str, tmp_path: Path, **overrides: str) -> dict[str, str]:
    """The service's environment as a subprocess gets it, with AIRFLOW_HOME in tmp_path."""
    env = {key: value for key, value in environment(service).items() if value is not None}
    env.update(PATH="/usr/bin:/bin", AIRFLOW_HOME=str(tmp_path / "airflow"), **overrides)
    return env


@pytest.fixture(scope="module")
def resolved_settings(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("settings")
    result = subprocess.run(
        [sys.executable, "-c", RESOLVE_SETTINGS],
        env=airflow_env("airflow-scheduler", tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.parametrize("service", service_params(AIRFLOW_SERVICES))
def test_every_airflow_service_gets_the_connections_and_the_variable(service):
    names = {"AIRFLOW_CONN_COVID_DB", "AIRFLOW_CONN_AWS_DEFAULT", "AIRFLOW_VAR_COVID_ETL_SNS_TOPIC_ARN"}
    assert names <= environment(service).keys()


@pytest.mark.parametrize("service", service_params(AIRFLOW_SERVICES))
def test_every_airflow_service_is_passed_every_setting_the_dag_and_its_tasks_read(service):
    read_in_airflow = {name for name, known in SETTINGS.items() if {"the DAG", "its tasks"} & set(known.read_by)}
    passed_through = {name for name, value in environment(service).items() if value is None}
    assert read_in_airflow and read_in_airflow <= passed_through


def networks(service: str) -> set[str]:
    return set(SERVICES[service]["networks"])


def test_like_mwaa_only_the_workers_share_a_network_with_the_pipeline_database():
    assert networks("covid-db") == {"pipeline"}
    assert networks("airflow-scheduler") >= {"airflow", "pipeline"}  # the LocalExecutor's workers
    assert "pipeline" not in networks("airflow-apiserver")
    assert set(COMPOSE["networks"]) == {"airflow", "pipeline"}


def test_the_api_server_reaches_the_metadata_database_and_moto_but_not_covid_db():
    assert networks("airflow-apiserver") & networks("airflow-db")
    assert not networks("airflow-apiserver") & networks("covid-db")


def test_covid_db_connection_reaches_the_covid_db_service(resolved_settings):
    db = environment("covid-db")
    conn = resolved_settings["connections"]["covid_db"]
    assert conn["conn_type"] == "postgres"
    assert (conn["host"], conn["port"]) == ("covid-db", 5432)
    assert (conn["login"], conn["password"], conn["schema"]) == (
        db["POSTGRES_USER"],
        db["POSTGRES_PASSWORD"],
        db["POSTGRES_DB"],
    )


def test_aws_default_connection_points_at_moto(resolved_settings):
    conn = resolved_settings["connections"]["aws_default"]
    assert conn["conn_type"] == "aws"
    endpoint = urlsplit(conn["extra"]["endpoint_url"])
    assert (endpoint.hostname, endpoint.port) == ("moto", 5000)
    assert [port.rsplit(":", 1)[1] for port in SERVICES["moto"]["ports"]] == ["5000"]


def test_topic_arn_variable_names_a_topic_in_motos_account_and_region(resolved_settings):
    region = resolved_settings["connections"]["aws_default"]["extra"]["region_name"]
    assert re.fullmatch(rf"arn:aws:sns:{region}:123456789012:[\w-]+", resolved_settings["topic_arn"])


@pytest.fixture
def moto_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def test_airflow_init_creates_the_topic_the_dag_publishes_to(moto_endpoint, tmp_path):
    aws_default = json.loads(environment("airflow-init")["AIRFLOW_CONN_AWS_DEFAULT"])
    aws_default["extra"]["endpoint_url"] = moto_endpoint
    env = airflow_env("airflow-init", tmp_path, AIRFLOW_CONN_AWS_DEFAULT=json.dumps(aws_default))
    # Twice: airflow-init runs on every `docker-compose up`.
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, ROOT / "docker" / "bootstrap_sns.py"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr

    session = boto3.Session(
        aws_access_key_id=aws_default["login"],
        aws_secret_access_key=aws_default["password"],
        region_name=aws_default["extra"]["region_name"],
    )
    sns = session.client("sns", endpoint_url=moto_endpoint)
    sqs = session.client("sqs", endpoint_url=moto_endpoint)
    topic_arn = env["AIRFLOW_VAR_COVID_ETL_SNS_TOPIC_ARN"]
    assert len(sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]) == 1

    sns.publish(TopicArn=topic_arn, Subject="covid_etl failed", Message="fetch_nyt: HTTP 503")
    (queue_url,) = sqs.list_queues()["QueueUrls"]
    (message,) = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)["Messages"]
    envelope = json.loads(message["Body"])
    assert (envelope["Subject"], envelope["Message"]) == ("covid_etl failed", "fetch_nyt: HTTP 503")
