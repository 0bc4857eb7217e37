"""Every source file the pipeline loads, described as data: where it is published, what its rows hold,
their key, and the table they go into. One loader (covid_etl/load/loader.py) serves them all.

The national series is two of them, NYT's ``us.csv`` and the US rows of JHU's combined file, which a
SQL step then merges on date into ``covid_us_daily`` (:data:`NATIONAL`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class GitHubFile:
    """A file on a branch of a GitHub repository: its commits are its publications.

    :param label: the publisher's name in logs and errors (``NYT``, ``JHU``).
    :param owner: the repository's owner.
    :param repo: the repository's name.
    :param branch: the branch its publisher commits to.
    :param path: the file's path in the repository.
    """

    label: str
    owner: str
    repo: str
    branch: str
    path: str

    def raw_url(self, raw_base: str, ref: str | None = None) -> str:
        """The file's bytes at ``ref`` (a commit id), or at the branch's head."""
        return f"{raw_base.rstrip('/')}/{self.owner}/{self.repo}/{ref or self.branch}/{self.path}"

    def commits_url(self, api_base: str) -> str:
        """GitHub's REST endpoint listing the commits of the repository (filtered by path and time)."""
        return f"{api_base.rstrip('/')}/repos/{self.owner}/{self.repo}/commits"


@dataclass(frozen=True)
class Part:
    """One file of a dataset's publication and the dates it holds (its scope).

    A publication of the part replaces the dataset's rows of those dates: a key of the scope that it no
    longer has is deleted. A row outside the scope is rejected.

    :param file: where the part is published.
    :param first_date: the first date it may hold; None for no bound.
    :param last_date: the last date it may hold; None for no bound.
    """

    file: GitHubFile
    first_date: date | None = None
    last_date: date | None = None

    @property
    def path(self) -> str:
        return self.file.path

    @property
    def scope(self) -> tuple[date, date]:
        """The scope as closed bounds (date.min and date.max where unbounded)."""
        return self.first_date or date.min, self.last_date or date.max


@dataclass(frozen=True)
class Column:
    """A column of a dataset's table, found by name in the file's header.

    :param name: its name in the table.
    :param kind: how its values are checked: ``date`` (YYYY-MM-DD), ``text`` (not empty), ``fips``
        (empty, or 2 or 5 digits: kept as text with its leading zeros; empty is stored as NULL) or
        ``count`` (ASCII digits within PostgreSQL's bigint).
    :param header: its name in the file's header, when that differs from ``name``.
    :param nullable: whether the table may hold NULL (a value the dataset's step voids).
    """

    name: str
    kind: str
    header: str | None = None
    nullable: bool = False

    @property
    def field(self) -> str:
        """The column's name in the file's header."""
        return self.header or self.name


@dataclass(frozen=True)
class Keep:
    """The rows of a file that a dataset keeps: those whose fields hold exactly the given values (every
    row is still checked for its shape and date).

    :param equals: (header field, value) pairs that a kept row matches, all of them.
    :param description: how errors name the rows kept, e.g. "US national rows".
    """

    equals: tuple[tuple[str, str], ...]
    description: str


@dataclass(frozen=True)
class Dataset:
    """One source file (or yearly set of files) and the table its rows go into.

    :param name: its name in task ids (its task group), etl_runs and dataset_publications.
    :param label: how errors and messages name it.
    :param choice: the name that chooses it for a run (``national``, ``states``, ``counties``: the
        DAG's ``datasets`` param and COVID_ETL_DATASETS).
    :param table: the table of its rows as the newest publication has them.
    :param columns: the table's columns, in order.
    :param key: the primary key's columns, the date first.
    :param parts: the files of one publication (the county series is split by year).
    :param fallback: the one file to load instead when none of ``parts`` was published yet.
    :param keep: the rows kept, when not every row of the file is the dataset's.
    :param step: the name of a step applied to the kept rows in date order (covid_etl/read/rows.py).
    :param lookup: columns of an extra index, for queries by them (one county's series).
    """

    name: str
    label: str
    choice: str
    table: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    parts: tuple[Part, ...]
    fallback: Part | None = None
    keep: Keep | None = None
    step: str | None = None
    lookup: tuple[str, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def values(self) -> tuple[str, ...]:
        """The columns that are not part of the key."""
        return tuple(name for name in self.column_names if name not in self.key)

    def part(self, path: str) -> Part:
        """The part (or fallback) published at ``path``."""
        for part in (*self.parts, *((self.fallback,) if self.fallback else ())):
            if part.path == path:
                return part
        raise KeyError(f"{self.name} has no file {path}")

    @property
    def whole_file(self) -> Part:
        """The part a single file holding the whole series loads as (a URL override)."""
        return self.fallback or self.parts[0]


@dataclass(frozen=True)
class Merge:
    """A table made by one SQL step from the loaded tables of other datasets.

    :param name: its name in task ids, etl_runs and the run's summary.
    :param table: the table the step writes.
    :param sources: the datasets it reads.
    :param sql: the statement's file in include/sql/.
    """

    name: str
    table: str
    sources: tuple[str, ...]
    sql: str


def _nyt(path: str) -> GitHubFile:
    return GitHubFile("NYT", "nytimes", "covid-19-data", "master", path)


def _count(name: str, header: str | None = None, *, nullable: bool = False) -> Column:
    return Column(name, "count", header, nullable)


NYT_US = Dataset(
    name="nyt",
    label="NYT",
    choice="national",
    table="nyt_us_daily",
    columns=(Column("date", "date"), _count("cases"), _count("deaths")),
    key=("date",),
    parts=(Part(_nyt("us.csv")),),
)

# The JHU combined time series holds every country; the national series takes its US rows' recovered
# counts. JHU reports US recoveries as 0 from 2020-12-14 on: "not reported", stored as NULL (the step).
# The file dropped Lat and Long on 2020-10-23: columns are found by name, both layouts load.
JHU_US = Dataset(
    name="jhu",
    label="JHU",
    choice="national",
    table="jhu_us_daily",
    columns=(Column("date", "date", "Date"), _count("recovered", "Recovered", nullable=True)),
    key=("date",),
    parts=(Part(GitHubFile("JHU", "datasets", "covid-19", "main", "data/time-series-19-covid-combined.csv")),),
    keep=Keep(
        (("Country/Region", "US"), ("Province/State", "")),
        "US national rows (Country/Region 'US', empty Province/State)",
    ),
    step="unreported_after_positive",
)

STATES = Dataset(
    name="states",
    label="NYT states",
    choice="states",
    table="covid_us_state_daily",
    columns=(
        Column("date", "date"),
        Column("state", "text"),
        Column("fips", "fips"),
        _count("cases"),
        _count("deaths"),
    ),
    key=("date", "state"),
    parts=(Part(_nyt("us-states.csv")),),
)

# NYT's county series outgrew GitHub's 100 MB file limit in May 2022: from then on it is published as
# one file per year (us-counties-2020.csv ... us-counties-2023.csv), and us-counties.csv stopped (where
# it is kept in Git LFS, raw.githubusercontent.com serves a pointer, rejected as not the expected CSV).
# Before the split, us-counties.csv was the whole series.
COUNTIES = Dataset(
    name="counties",
    label="NYT counties",
    choice="counties",
    table="covid_us_county_daily",
    columns=(
        Column("date", "date"),
        Column("state", "text"),
        Column("county", "text"),
        Column("fips", "fips"),
        _count("cases"),
        _count("deaths"),
    ),
    key=("date", "state", "county"),
    parts=tuple(
        Part(_nyt(f"us-counties-{year}.csv"), date(year, 1, 1), date(year, 12, 31)) for year in (2020, 2021, 2022, 2023)
    ),
    fallback=Part(_nyt("us-counties.csv")),
    lookup=("state", "county"),
)

DATASETS = {dataset.name: dataset for dataset in (NYT_US, JHU_US, STATES, COUNTIES)}

# NYT's cases and deaths joined on date with JHU's recovered: include/sql/merge_national.sql.
NATIONAL = Merge(name="national", table="covid_us_daily", sources=("nyt", "jhu"), sql="merge_national")

# What a run can be asked to load (the DAG's datasets param), in the DAG's order.
CHOICES = ("national", "states", "counties")


def datasets_of(choice: str) -> tuple[Dataset, ...]:
    """The datasets a choice loads."""
    return tuple(dataset for dataset in DATASETS.values() if dataset.choice == choice)
