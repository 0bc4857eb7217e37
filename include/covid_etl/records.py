"""Plain records passed between the pipeline's steps."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class NytDay:
    """One row of the NYT national series: cumulative cases and deaths on a date."""

    date: date
    cases: int
    deaths: int


@dataclass(frozen=True)
class JhuDay:
    """The JHU US national recovered count on a date, as reported (0 may mean "not reported")."""

    date: date
    recovered: int


@dataclass(frozen=True)
class CovidDay:
    """A merged row of ``covid_us_daily``; ``recovered`` is None when JHU did not report it."""

    date: date
    cases: int
    deaths: int
    recovered: int | None

    def to_json(self) -> list:
        """Encode as a JSON-friendly list (for XCom)."""
        return [self.date.isoformat(), self.cases, self.deaths, self.recovered]

    @classmethod
    def from_json(cls, row: list) -> CovidDay:
        """Decode what ``to_json`` produced."""
        day, cases, deaths, recovered = row
        return cls(date.fromisoformat(day), cases, deaths, recovered)


@dataclass(frozen=True)
class LoadResult:
    """What one upsert did: rows inserted, updated and left unchanged."""

    inserted: int
    updated: int
    unchanged: int

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SourceFile:
    """What the run read from one source: where from, its sha256 and how many rows it kept."""

    url: str
    sha256: str
    rows: int


@dataclass(frozen=True)
class RunInfo:
    """The facts about one run that ``etl_runs`` records, whatever its outcome."""

    run_id: str
    started_at: datetime
    nyt: SourceFile | None = None
    jhu: SourceFile | None = None
