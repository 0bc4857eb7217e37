"""The datasets loaded by one generic loader (covid_etl/bulk.py), described as data.

Each is a table fed by files of one publisher, with its columns, key and checks. The national series
is not among them: it merges two publishers and keeps a history (covid_etl/loader.py), the one
special case.
"""

from __future__ import annotations

from dataclasses import dataclass

from covid_etl.sources import GitHubFile


@dataclass(frozen=True)
class Column:
    """A column of a dataset, found by name in the file's header.

    :param name: its name in the header and in the table.
    :param kind: how its values are checked: ``date`` (YYYY-MM-DD), ``text`` (not empty), ``fips``
        (empty, or 2 or 5 digits: kept as text, leading zeros and all; empty is stored as NULL) or
        ``count`` (a non-negative integer that fits PostgreSQL's bigint).
    """

    name: str
    kind: str


@dataclass(frozen=True)
class Dataset:
    """One table and the files that feed it.

    :param name: its name in COVID_ETL_DATASETS, etl_runs and the DAG's task ids.
    :param label: how errors and messages name it.
    :param table: the PostgreSQL table.
    :param columns: the columns in table order.
    :param key: the primary key's columns, the date first.
    :param parts: the files of one publication, in order (the county series is split by year).
    :param fallback: the one file to load instead when none of ``parts`` was published yet.
    """

    name: str
    label: str
    table: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    parts: tuple[GitHubFile, ...]
    fallback: GitHubFile | None = None

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def values(self) -> tuple[str, ...]:
        """The columns that are not part of the key."""
        return tuple(name for name in self.column_names if name not in self.key)


def _nyt(path: str) -> GitHubFile:
    return GitHubFile("NYT", "nytimes", "covid-19-data", "master", path)


STATES = Dataset(
    name="states",
    label="NYT states",
    table="covid_us_state_daily",
    columns=(
        Column("date", "date"),
        Column("state", "text"),
        Column("fips", "fips"),
        Column("cases", "count"),
        Column("deaths", "count"),
    ),
    key=("date", "state"),
    parts=(_nyt("us-states.csv"),),
)

# NYT's county series outgrew GitHub's 100 MB file limit in May 2022: from then on it is published
# as one file per year (us-counties-2020.csv ... us-counties-2023.csv), and us-counties.csv stopped
# (it is not loaded once the yearly files exist; where it is kept in Git LFS, raw.githubusercontent.com
# serves a pointer, which is rejected as not the expected CSV). Before the split, us-counties.csv was
# the whole series.
COUNTIES = Dataset(
    name="counties",
    label="NYT counties",
    table="covid_us_county_daily",
    columns=(
        Column("date", "date"),
        Column("state", "text"),
        Column("county", "text"),
        Column("fips", "fips"),
        Column("cases", "count"),
        Column("deaths", "count"),
    ),
    key=("date", "state", "county"),
    parts=tuple(_nyt(f"us-counties-{year}.csv") for year in (2020, 2021, 2022, 2023)),
    fallback=_nyt("us-counties.csv"),
)

DATASETS = {dataset.name: dataset for dataset in (STATES, COUNTIES)}
# Every dataset a run can load: the national series and the generic ones.
ALL_DATASETS = ("national", *DATASETS)

# A cross-check task and the dataset it checks (it runs after that dataset's load and the national one).
CROSS_CHECKS = {"compare_states_with_nation": "states"}


def dataset_of_task(task_id: str) -> str:
    """The dataset a DAG task belongs to: ``resolve_<name>``, ``fetch_<name>``, ``load_<name>``,
    ``check_<name>_*`` and the cross-checks of that dataset; the national series' otherwise."""
    if task_id in CROSS_CHECKS:
        return CROSS_CHECKS[task_id]
    return next(
        (name for name in DATASETS if task_id.endswith(f"_{name}") or task_id.startswith(f"check_{name}_")),
        "national",
    )
