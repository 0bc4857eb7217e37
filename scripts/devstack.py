"""Local stand-ins for the AWS services, for `make run`, `make up` and the tests.

- :class:`LocalPostgres`: a PostgreSQL server from the machine's server binaries (Debian's
  ``postgresql`` package) in a data folder of ours, on loopback only, trusting local connections.
- :class:`LocalSns`: moto's server as an SNS endpoint, with a topic and an SQS queue subscribed to
  it, so that what the pipeline publishes can be read back.

Both start on demand and stop by PID; nothing assumes a service is already running. Their ports are
the user's ($COVID_ETL_PG_PORT, $COVID_ETL_SNS_PORT), else the project's usual ones when free, else free
ones (:func:`choose_port`), so that a busy port never stops a run.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from covid_etl.config import PG_PORT, ConfigError

AWS_REGION = "us-east-1"
TOPIC_NAME = "covid-etl-notifications"
QUEUE_NAME = "covid-etl-notifications-inbox"
POSTGRES_MISSING = (
    "PostgreSQL server binaries (initdb, pg_ctl) not found. Install them "
    "(Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql@15), "
    "point PG_BINDIR at their folder, or set COVID_ETL_DB_URL to a database you already have."
)


class SetupError(RuntimeError):
    """A local service cannot be set up, for a reason the user can act on; the message is one line."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Whether a server could listen on 127.0.0.1:``port`` now (a listener on any address takes it)."""
    with socket.socket() as sock:
        # As servers bind: a recently closed connection's TIME_WAIT does not make the port busy.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def choose_port(setting: str, requested: int | None, preferred: int | None = None) -> int:
    """The port for a local service: ``requested`` (the value of ``setting``), which must be free; else
    ``preferred`` when it is free; else any free port.

    :raises ConfigError: the requested port is taken.
    """
    if requested is not None:
        if not port_is_free(requested):
            raise ConfigError(setting, str(requested), f"expected a free port; 127.0.0.1:{requested} is in use")
        return requested
    if preferred is not None and port_is_free(preferred):
        return preferred
    return free_port()


def _wait(check, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not come up within {timeout:.0f} s")


def pg_bindir() -> Path:
    """The folder with initdb and pg_ctl: $PG_BINDIR, Debian's newest, or the PATH."""
    candidates = [os.environ.get("PG_BINDIR", "")]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True)
    candidates += [str(Path(found).resolve().parent) for found in filter(None, [shutil.which("initdb")])]
    for folder in filter(None, candidates):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    raise SetupError(POSTGRES_MISSING)


class LocalPostgres:
    """A PostgreSQL server owned by this project, its data under ``data_dir``.

    PostgreSQL refuses to run as root: as root, the server runs as the ``postgres`` user, which gets
    the data folder and the right to traverse the folders above it.
    """

    def __init__(self, data_dir: Path, *, port: int, database: str = "covid", durable: bool = True) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.database = database
        self.durable = durable
        self.bindir = pg_bindir()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def _as_owner(self, *command: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = self._as_owner(str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), *args)
        return subprocess.run(command, check=check, capture_output=True, text=True)

    def is_running(self) -> bool:
        return self.data_dir.joinpath("PG_VERSION").exists() and self._pg_ctl("status", check=False).returncode == 0

    def running_port(self) -> int | None:
        """The port this data folder's server listens on, when it runs (e.g. an earlier `make up`'s), else None.

        The server itself records it: the fourth line of postmaster.pid, which exists while it runs.
        """
        if not self.is_running():
            return None
        return int(self.data_dir.joinpath("postmaster.pid").read_text().splitlines()[3])

    def _initdb(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.data_dir, "postgres", "postgres")
            for folder in self.data_dir.parents:  # e.g. a clone under a mktemp -d folder (mode 700)
                if not folder.stat().st_mode & 0o001:
                    folder.chmod(folder.stat().st_mode | 0o001)
        subprocess.run(
            self._as_owner(
                str(self.bindir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-instructions",
            ),
            check=True,
            capture_output=True,
            text=True,
        )
        settings = {"listen_addresses": "'127.0.0.1'", "unix_socket_directories": "''"}
        if not self.durable:  # a throwaway test server: skip the disk flushes
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        with self.data_dir.joinpath("postgresql.auto.conf").open("a") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    def start(self) -> str:
        """Start the server (initialising the folder the first time) and create the database; return its URL."""
        if not self.data_dir.joinpath("PG_VERSION").exists():
            self._initdb()
        result = self._pg_ctl(
            "start", "-w", "-t", "60", "-o", f"-p {self.port}", "-l", str(self.data_dir / "server.log"), check=False
        )
        if result.returncode != 0:
            log = self.data_dir / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"PostgreSQL did not start: {result.stderr.strip()}\n{tail}")
        self.create_database(self.database)
        return self.url

    def create_database(self, name: str) -> str:
        """Create database ``name`` if absent and return its URL."""
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self, *, immediately: bool = False) -> None:
        """Stop the server: cleanly (its sessions rolled back), or ``immediately``, as a crash would."""
        if self.is_running():
            self._pg_ctl("stop", "-m", "immediate" if immediately else "fast", "-w")


def embedded_postgres(data_dir: Path, requested: int | None, preferred: int = PG_PORT) -> LocalPostgres:
    """The project's PostgreSQL on ``data_dir``: on the port it runs on already, if it runs; else on
    ``requested`` ($COVID_ETL_PG_PORT), else on ``preferred`` when free, else on a free port.

    :raises ConfigError: ``requested`` is taken, or the server runs already on another port.
    """
    server = LocalPostgres(data_dir, port=preferred)
    running = server.running_port()
    if running is not None and requested not in (None, running):
        raise ConfigError(
            "COVID_ETL_PG_PORT",
            str(requested),
            f"the embedded PostgreSQL ({server.data_dir}) runs on port {running} already; "
            "unset COVID_ETL_PG_PORT, or stop that server first (make down)",
        )
    server.port = running or choose_port("COVID_ETL_PG_PORT", requested, preferred)
    return server


@dataclass
class LocalSns:
    """moto's server on loopback, with the notification topic and a queue that receives its messages."""

    port: int
    pid_file: Path | None = None
    process: subprocess.Popen | None = None
    topic_arn: str = ""
    queue_url: str = ""

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, service: str):
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=AWS_REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=1):
                return True
        except OSError:
            return False

    def start(self) -> LocalSns:
        if not self._answers():
            server = Path(sys.executable).with_name("moto_server")
            self.process = subprocess.Popen(
                [str(server), "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            if self.pid_file:
                self.pid_file.write_text(str(self.process.pid))
            _wait(self._answers, f"moto server on port {self.port}")
        sns, sqs = self.client("sns"), self.client("sqs")
        self.topic_arn = sns.create_topic(Name=TOPIC_NAME)["TopicArn"]
        self.queue_url = sqs.create_queue(QueueName=QUEUE_NAME)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        subscribed = sns.list_subscriptions_by_topic(TopicArn=self.topic_arn)["Subscriptions"]
        if not any(s["Endpoint"] == queue_arn for s in subscribed):
            sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=queue_arn)
        return self

    def received(self, wait_seconds: int = 1) -> list[dict]:
        """Drain the queue: each SNS message as {"subject": ..., "message": ...}, oldest first."""
        sqs, messages = self.client("sqs"), []
        while batch := sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
        ).get("Messages", []):
            for message in batch:
                envelope = json.loads(message["Body"])
                messages.append({"subject": envelope.get("Subject"), "message": envelope["Message"]})
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return messages

    def airflow_connection(self) -> str:
        """The ``aws_default`` connection, as AIRFLOW_CONN_AWS_DEFAULT, pointing at this endpoint."""
        return json.dumps(
            {
                "conn_type": "aws",
                "login": "testing",
                "password": "testing",
                "extra": {"region_name": AWS_REGION, "endpoint_url": self.endpoint_url},
            }
        )

    def stop(self) -> None:
        pid = self.process.pid if self.process else None
        if pid is None and self.pid_file and self.pid_file.exists():
            pid = int(self.pid_file.read_text())
        if pid is not None:
            try:
                os.killpg(pid, 15)
            except ProcessLookupError:
                pass
            if self.process:
                self.process.wait(timeout=10)
        if self.pid_file and self.pid_file.exists():
            self.pid_file.unlink()
