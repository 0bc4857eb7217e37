"""The COVID_ETL_* settings (covid_etl/config.py): what each accepts, and the one line each refusal is."""

from __future__ import annotations

import re
from datetime import date

import pytest

from covid_etl import config
from covid_etl.config import SETTINGS, ConfigError, setting, setting_errors
from support import ROOT

DATE = "expected a date YYYY-MM-DD"
RETRIES = "expected a whole number of retries, 0 or more"
DEADLINE = "expected a positive number of minutes, or 0 for no deadline"
URL = "expected an http:// or https:// URL"
DB_URL = "expected postgresql://user[:password]@host[:port]/database"
PORT = "expected a TCP port number from 1 to 65535"

REFUSED = [
    pytest.param("COVID_ETL_LOGICAL_DATE", "2021-13-01", DATE, id="date-month-13"),
    pytest.param("COVID_ETL_LOGICAL_DATE", "20210301", DATE, id="date-without-dashes"),
    pytest.param("COVID_ETL_LOGICAL_DATE", "2021-03-01T00:00", DATE, id="date-with-a-time"),
    pytest.param(
        "COVID_ETL_DATASETS",
        "national,county",
        "expected a comma-separated list of national, states, counties (unknown: county)",
        id="datasets-unknown-name",
    ),
    pytest.param("COVID_ETL_TASK_RETRIES", "three", RETRIES, id="retries-a-word"),
    pytest.param("COVID_ETL_TASK_RETRIES", "-1", RETRIES, id="retries-negative"),
    pytest.param("COVID_ETL_RUN_DEADLINE_MINUTES", "soon", DEADLINE, id="deadline-a-word"),
    pytest.param("COVID_ETL_RUN_DEADLINE_MINUTES", "-5", DEADLINE, id="deadline-negative"),
    pytest.param("COVID_ETL_NYT_URL", "us.csv", URL, id="url-a-path"),
    pytest.param("COVID_ETL_COUNTIES_URL", "ftp://host/c.csv", URL, id="url-ftp"),
    pytest.param("COVID_ETL_STATES_URL", "http://host:port/s.csv", URL, id="url-port-a-word"),
    pytest.param("COVID_ETL_JHU_URL", "http://host/a b.csv", URL, id="url-with-a-blank"),
    pytest.param("COVID_ETL_GITHUB_API_URL", "api.github.com", URL, id="api-url-without-scheme"),
    pytest.param("COVID_ETL_DB_URL", "mysql://me@db/covid", DB_URL, id="db-url-not-postgresql"),
    pytest.param("COVID_ETL_DB_URL", "postgresql:///covid", DB_URL, id="db-url-without-host"),
    pytest.param("COVID_ETL_PG_PORT", "70000", PORT, id="pg-port-too-high"),
    pytest.param("COVID_ETL_SNS_PORT", "0", PORT, id="sns-port-0"),
    pytest.param("COVID_ETL_API_PORT", "http", PORT, id="api-port-a-word"),
]


@pytest.mark.parametrize("name, value, expected", REFUSED)
def test_a_value_a_setting_cannot_use_is_refused_in_one_line_naming_variable_value_and_what_is_expected(
    name, value, expected
):
    with pytest.raises(ConfigError) as refused:
        setting(name, {name: value})
    assert str(refused.value) == f"{name}={value!r}: {expected}"
    assert "\n" not in str(refused.value)


ACCEPTED = [
    pytest.param("COVID_ETL_LOGICAL_DATE", "2021-03-01", date(2021, 3, 1), id="date"),
    pytest.param("COVID_ETL_LOGICAL_DATE", None, None, id="date-unset-is-now"),
    pytest.param("COVID_ETL_DATASETS", " states , national", ["states", "national"], id="datasets-with-blanks"),
    pytest.param("COVID_ETL_DATASETS", None, ["national", "states", "counties"], id="datasets-unset-is-all"),
    pytest.param("COVID_ETL_TASK_RETRIES", "0", 0, id="retries-0"),
    pytest.param("COVID_ETL_TASK_RETRIES", None, 3, id="retries-unset-is-3"),
    pytest.param("COVID_ETL_RUN_DEADLINE_MINUTES", "0.5", 0.5, id="deadline-decimal"),
    pytest.param("COVID_ETL_RUN_DEADLINE_MINUTES", "0", None, id="deadline-0-is-none"),
    pytest.param("COVID_ETL_RUN_DEADLINE_MINUTES", None, 180.0, id="deadline-unset-is-3-hours"),
    pytest.param("COVID_ETL_NYT_URL", "http://127.0.0.1:8000/us.csv", "http://127.0.0.1:8000/us.csv", id="url"),
    pytest.param("COVID_ETL_NYT_URL", None, None, id="url-unset-is-pinned"),
    pytest.param("COVID_ETL_DB_URL", "postgres://db.example/covid", "postgres://db.example/covid", id="db-url"),
    pytest.param("COVID_ETL_PG_PORT", "5433", 5433, id="port"),
    pytest.param("COVID_ETL_PG_PORT", None, None, id="port-unset-is-chosen"),
]


@pytest.mark.parametrize("name, value, expected", ACCEPTED)
def test_a_setting_turns_its_value_into_what_the_code_uses(name, value, expected):
    assert setting(name, {} if value is None else {name: value}) == expected


@pytest.mark.parametrize("name", [pytest.param(name, id=name) for name in SETTINGS])
def test_an_empty_value_counts_as_unset(name):
    assert setting(name, {name: ""}) == setting(name, {})


def test_a_password_in_a_refused_value_is_masked():
    with pytest.raises(ConfigError) as refused:
        setting("COVID_ETL_DB_URL", {"COVID_ETL_DB_URL": "postgresql://me:s3cret@/covid"})
    assert "s3cret" not in str(refused.value) and "'postgresql://me:***@/covid'" in str(refused.value)


def test_setting_errors_names_every_wrong_value_and_every_name_that_is_no_setting():
    errors = setting_errors(
        {
            "COVID_ETL_LOGICAL_DATE": "yesterday",
            "COVID_ETL_DATASET": "national",
            "COVID_ETL_FOO": "1",
            "COVID_ETL_TASK_RETRIES": "0",
            "HOME": "/root",
        }
    )
    assert [str(error) for error in errors] == [
        "COVID_ETL_DATASET='national': not a setting of this project; did you mean COVID_ETL_DATASETS?",
        "COVID_ETL_FOO='1': not a setting of this project; the settings are listed in README.md",
        "COVID_ETL_LOGICAL_DATE='yesterday': expected a date YYYY-MM-DD",
    ]
    assert setting_errors({"COVID_ETL_DATASETS": "national", "COVID_ETL_PG_PORT": "5433"}) == []


ACCESSORS = [
    pytest.param(config.task_retries, "COVID_ETL_TASK_RETRIES", id="task_retries"),
    pytest.param(config.run_deadline_minutes, "COVID_ETL_RUN_DEADLINE_MINUTES", id="run_deadline_minutes"),
    pytest.param(config.chosen_datasets, "COVID_ETL_DATASETS", id="chosen_datasets"),
    pytest.param(config.github_api_url, "COVID_ETL_GITHUB_API_URL", id="github_api_url"),
    pytest.param(config.github_raw_url, "COVID_ETL_GITHUB_RAW_URL", id="github_raw_url"),
    pytest.param(lambda: config.url_override("STATES"), "COVID_ETL_STATES_URL", id="url_override"),
]


@pytest.mark.parametrize("read, name", ACCESSORS)
def test_the_code_reads_each_setting_through_its_check_and_a_wrong_one_is_still_a_value_error(monkeypatch, read, name):
    monkeypatch.setenv(name, "?")
    with pytest.raises(ValueError, match=rf"^{name}='\?': expected "):
        read()


# A COVID_ETL_ name followed by more of a name: not the prefix alone (COVID_ETL_{source}_URL, COVID_ETL_GITHUB_*),
# nor an Airflow variable's (AIRFLOW_VAR_COVID_ETL_...).
MENTION = re.compile(r"(?<![A-Z0-9_])COVID_ETL_[A-Z0-9_]*[A-Z0-9](?![A-Z0-9_{<*])")
SKIPPED_FOLDERS = {".git", ".venv", ".venv-checkov", ".venv-dlt", ".local", "build", "dist", "node_modules"}


def _mentions() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in ROOT.rglob("*"):
        relative = path.relative_to(ROOT)
        if SKIPPED_FOLDERS & set(relative.parts) or not path.is_file():
            continue
        if path.suffix in {".py", ".sh", ".md", ".yaml", ".yml", ".example", ".tf"} or path.name == "Makefile":
            for name in MENTION.findall(path.read_text(errors="replace")):
                found.setdefault(name, set()).add(str(relative))
    return found


# Names the docs, the code and these tests give as examples of what is refused.
WRONG_ON_PURPOSE = {"COVID_ETL_DATASET", "COVID_ETL_FOO"}


def test_every_covid_etl_variable_the_repository_names_is_a_checked_setting():
    unknown = {name: sorted(files) for name, files in _mentions().items() if name not in SETTINGS}
    assert unknown.keys() == WRONG_ON_PURPOSE, unknown
    assert len(setting_errors(dict.fromkeys(WRONG_ON_PURPOSE, "x"))) == len(WRONG_ON_PURPOSE)
    assert {"COVID_ETL_DATASETS", "COVID_ETL_LOGICAL_DATE", "COVID_ETL_PG_PORT"} <= _mentions().keys()


def test_the_readme_lists_every_setting_with_its_default_as_the_code_has_it():
    readme = (ROOT / "README.md").read_text()
    rows = re.findall(r"^\| `(COVID_ETL_\w+)` \| (.*?) \|", readme, re.M)
    assert dict(rows) == {name: s.default for name, s in SETTINGS.items()}
    assert len(rows) == len(SETTINGS)
