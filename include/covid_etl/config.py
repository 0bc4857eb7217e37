"""Names and defaults shared by the DAG, its callbacks and the local tooling; the COVID_ETL_* settings.

Every COVID_ETL_* environment variable the project reads is in :data:`SETTINGS`, with the pure function
that turns its raw value into what the code uses. A value that function cannot use raises
:class:`ConfigError`, whose message is one line naming the variable, the value and what is expected.
`make run` and `make up` check all of them before they start anything (:func:`setting_errors`); the
DAG, which reads some of them when it is parsed, fails to parse with the same line.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import partial
from urllib.parse import urlsplit

DAG_ID = "covid_etl"
POSTGRES_CONN_ID = "covid_db"
AWS_CONN_ID = "aws_default"
# Optional: its password is a GitHub token, which lifts the API's limit of 60 requests an hour.
GITHUB_CONN_ID = "github_default"
SNS_TOPIC_VARIABLE = "covid_etl_sns_topic_arn"
STAGING_VARIABLE = "covid_etl_staging_uri"

GITHUB_API_URL = "https://api.github.com"
GITHUB_RAW_URL = "https://raw.githubusercontent.com"
# Where downloads wait between the fetch and parse tasks: local disk by default; on MWAA an S3 prefix
# (set the Variable), since the two tasks may run on different workers.
STAGING_URI = "file:///tmp/covid_etl/staging"

DEFAULT_TASK_RETRIES = 3
# The sources a run can load from a fixed URL instead of the pinned publication ($COVID_ETL_<SOURCE>_URL).
OVERRIDABLE_SOURCES = ("NYT", "JHU", "STATES", "COUNTIES")
# The local stack's preferred ports; when one is taken, `make run` and `make up` use a free one instead.
PG_PORT = 54329
API_PORT = 8080


class ConfigError(ValueError):
    """A setting the code cannot use. The message is one line, ``NAME='value': what is wrong``, for the
    user as it is: a password in the value is masked."""

    def __init__(self, name: str, value: str, problem: str) -> None:
        super().__init__(f"{name}={redacted(value)!r}: {problem}")
        self.name = name


def redacted(value: str) -> str:
    """``value`` with the password of a URL in it, between the user name's ``:`` and the ``@``, as ``***``."""
    return re.sub(r"(://[^/@:]*:)[^/@]*@", r"\1***@", value)


# The parsers: the raw value of one variable (None or "" when unset) in, the value the code uses out.


def _whole_number(name: str, raw: str, *, expected: str, lowest: int, highest: int | None = None) -> int:
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or int(text) < lowest or (highest is not None and int(text) > highest):
        raise ConfigError(name, raw, f"expected {expected}")
    return int(text)


def parse_task_retries(raw: str | None) -> int:
    """$COVID_ETL_TASK_RETRIES: Airflow retries per task, 0 or more; default 3."""
    if not raw:
        return DEFAULT_TASK_RETRIES
    return _whole_number("COVID_ETL_TASK_RETRIES", raw, expected="a whole number of retries, 0 or more", lowest=0)


# A run normally takes minutes. One task retrying to the end takes at most ~2 h 30 min (4 tries of up to
# 30 min and back-offs of 2-4, 4-8 and 8-16 min, Airflow's jitter included), and then its failure
# callback reports it; a run still not done after 3 h is stuck in a way no task callback reports (e.g.
# waiting for a worker that never comes).
RUN_DEADLINE_MINUTES = 180.0


def parse_run_deadline_minutes(raw: str | None) -> float | None:
    """$COVID_ETL_RUN_DEADLINE_MINUTES: minutes (decimals allowed), default 180; 0 means no deadline (None)."""
    if not raw:
        return RUN_DEADLINE_MINUTES
    try:
        minutes = float(raw)
    except ValueError:
        minutes = math.nan
    if minutes == 0:
        return None
    if not (math.isfinite(minutes) and minutes > 0):
        raise ConfigError(
            "COVID_ETL_RUN_DEADLINE_MINUTES", raw, "expected a positive number of minutes, or 0 for no deadline"
        )
    return minutes


def parse_datasets(raw: str | None) -> list[str]:
    """$COVID_ETL_DATASETS: comma-separated dataset names; unset or empty means all of them."""
    from covid_etl.sources.specs import CHOICES as ALL_DATASETS

    chosen = [name.strip() for name in (raw or "").split(",") if name.strip()]
    unknown = [name for name in chosen if name not in ALL_DATASETS]
    if unknown:
        raise ConfigError(
            "COVID_ETL_DATASETS",
            raw or "",
            f"expected a comma-separated list of {', '.join(ALL_DATASETS)} (unknown: {', '.join(unknown)})",
        )
    return chosen or list(ALL_DATASETS)


def _is_url(raw: str, schemes: tuple[str, ...]) -> bool:
    """Whether ``raw`` is a URL of one of ``schemes``, with a host and no blanks, its port (if any) 1 to 65535."""
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:  # e.g. a port that is no number, or above 65535; an unclosed [IPv6 address
        return False
    return parts.scheme in schemes and bool(parts.hostname) and port != 0 and not any(c.isspace() for c in raw)


def parse_url(name: str, raw: str | None) -> str | None:
    """An http(s) URL with a host, or None when unset."""
    if not raw:
        return None
    if not _is_url(raw, ("http", "https")):
        raise ConfigError(name, raw, "expected an http:// or https:// URL")
    return raw


def parse_logical_date(raw: str | None) -> date | None:
    """$COVID_ETL_LOGICAL_DATE: the day `make run` runs, YYYY-MM-DD; None (now) when unset."""
    if not raw:
        return None
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise ConfigError("COVID_ETL_LOGICAL_DATE", raw, "expected a date YYYY-MM-DD") from None


def parse_db_url(raw: str | None) -> str | None:
    """$COVID_ETL_DB_URL: a PostgreSQL URL with a host, or None (`make run`'s embedded database) when unset."""
    if not raw:
        return None
    if not _is_url(raw, ("postgresql", "postgres")):
        raise ConfigError("COVID_ETL_DB_URL", raw, "expected postgresql://user[:password]@host[:port]/database")
    return raw


def database_address(url: str) -> tuple[str, int]:
    """The host and port a PostgreSQL URL (as :func:`parse_db_url` accepts it) connects to."""
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or 5432


def parse_port(name: str, raw: str | None) -> int | None:
    """A TCP port to listen on, or None (choose one) when unset."""
    if not raw:
        return None
    return _whole_number(name, raw, expected="a TCP port number from 1 to 65535", lowest=1, highest=65535)


@dataclass(frozen=True)
class Setting:
    """A COVID_ETL_* variable: its parser, who reads it, its default and meaning (for the docs)."""

    parse: Callable[[str | None], object]
    read_by: tuple[str, ...]
    default: str
    meaning: str


# Who reads a setting: "the DAG" when it is parsed (by every Airflow component), "its tasks" while they
# run (on the workers), or a local command.
SETTINGS: dict[str, Setting] = {
    "COVID_ETL_DATASETS": Setting(
        parse_datasets, ("the DAG",), "all", "the datasets a run loads: comma-separated of national, states, counties"
    ),
    **{
        f"COVID_ETL_{source}_URL": Setting(
            partial(parse_url, f"COVID_ETL_{source}_URL"),
            ("the DAG", "make check-sources"),
            "none",
            f"a fixed {source} file to load instead of the publication pinned to the run's date",
        )
        for source in OVERRIDABLE_SOURCES
    },
    "COVID_ETL_GITHUB_API_URL": Setting(
        partial(parse_url, "COVID_ETL_GITHUB_API_URL"), ("its tasks",), GITHUB_API_URL, "GitHub's REST API"
    ),
    "COVID_ETL_GITHUB_RAW_URL": Setting(
        partial(parse_url, "COVID_ETL_GITHUB_RAW_URL"),
        ("its tasks", "make check-sources"),
        GITHUB_RAW_URL,
        "where GitHub serves files by commit",
    ),
    "COVID_ETL_TASK_RETRIES": Setting(
        parse_task_retries, ("the DAG",), str(DEFAULT_TASK_RETRIES), "Airflow retries per task (`make run` sets 0)"
    ),
    "COVID_ETL_RUN_DEADLINE_MINUTES": Setting(
        parse_run_deadline_minutes,
        ("the DAG",),
        f"{RUN_DEADLINE_MINUTES:g}",
        "minutes after a run is queued before SNS hears it has not finished; 0 for none (`make run` sets 0)",
    ),
    "COVID_ETL_LOGICAL_DATE": Setting(
        parse_logical_date, ("make run",), "now", "the day `make run` runs, YYYY-MM-DD, as a backfill would"
    ),
    "COVID_ETL_DB_URL": Setting(
        parse_db_url, ("make run",), "none", "a PostgreSQL database to load instead of the embedded one"
    ),
    "COVID_ETL_PG_PORT": Setting(
        partial(parse_port, "COVID_ETL_PG_PORT"),
        ("make run", "make up"),
        f"{PG_PORT}, else a free port",
        "the embedded PostgreSQL's port",
    ),
    "COVID_ETL_SNS_PORT": Setting(
        partial(parse_port, "COVID_ETL_SNS_PORT"),
        ("make run", "make up"),
        "a free port",
        "the local SNS endpoint's (moto's) port",
    ),
    "COVID_ETL_API_PORT": Setting(
        partial(parse_port, "COVID_ETL_API_PORT"),
        ("make up",),
        f"{API_PORT}, else a free port",
        "the Airflow UI and REST API's port (AIRFLOW_PORT is read too, for compatibility)",
    ),
}


def setting(name: str, environ: Mapping[str, str] | None = None):
    """The value of setting ``name`` in ``environ`` (default: this process's environment).

    :raises ConfigError: the value is not one the setting accepts.
    """
    return SETTINGS[name].parse((os.environ if environ is None else environ).get(name))


def setting_errors(environ: Mapping[str, str]) -> list[ConfigError]:
    """Every COVID_ETL_* variable in ``environ`` that is not a setting, or whose value its setting refuses."""
    errors = []
    for name, value in sorted(environ.items()):
        if not name.startswith("COVID_ETL_"):
            continue
        if name not in SETTINGS:
            # Compared without the prefix, which every name shares: COVID_ETL_FOO resembles nothing.
            close = difflib.get_close_matches(
                name.removeprefix("COVID_ETL_"), [known.removeprefix("COVID_ETL_") for known in SETTINGS], n=1
            )
            hint = f"did you mean COVID_ETL_{close[0]}?" if close else "the settings are listed in README.md"
            errors.append(ConfigError(name, value, f"not a setting of this project; {hint}"))
            continue
        try:
            SETTINGS[name].parse(value)
        except ConfigError as error:
            errors.append(error)
    return errors


def task_retries() -> int:
    """Airflow retries per task: $COVID_ETL_TASK_RETRIES, else 3 (`make run` sets 0 for a one-shot run)."""
    return setting("COVID_ETL_TASK_RETRIES")


def run_deadline_minutes() -> float | None:
    """How long after it is queued a run may take before the DAG's deadline alert publishes that it is late:
    $COVID_ETL_RUN_DEADLINE_MINUTES (decimals allowed), else 180; 0 for no deadline.

    `make run` sets 0: `airflow dags test` never evaluates a deadline, and Airflow 3.3.1 fails the
    command after a successful run of a DAG that has one (apache/airflow#73428).
    """
    return setting("COVID_ETL_RUN_DEADLINE_MINUTES")


def url_override(source: str) -> str | None:
    """$COVID_ETL_<SOURCE>_URL: a fixed URL to load instead of the pinned publication, or None."""
    name = f"COVID_ETL_{source}_URL"
    return parse_url(name, os.environ.get(name))


def chosen_datasets() -> list[str]:
    """$COVID_ETL_DATASETS (comma-separated: national, states, counties), else all of them."""
    return setting("COVID_ETL_DATASETS")


def github_api_url() -> str:
    """GitHub's REST API: $COVID_ETL_GITHUB_API_URL, else api.github.com."""
    return setting("COVID_ETL_GITHUB_API_URL") or GITHUB_API_URL


def github_raw_url() -> str:
    """Where GitHub serves files by commit: $COVID_ETL_GITHUB_RAW_URL, else raw.githubusercontent.com."""
    return setting("COVID_ETL_GITHUB_RAW_URL") or GITHUB_RAW_URL


def live_url(dataset: str, path: str) -> str:
    """What a dataset's file's branch serves now (for `make check-sources`): the override, else the branch head."""
    from covid_etl.sources.specs import DATASETS

    return url_override(dataset.upper()) or DATASETS[dataset].part(path).file.raw_url(github_raw_url())
