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
    """What one load did to the days it brought: rows inserted, updated, left unchanged, and stale.

    ``stale`` counts the incoming days whose values lost to a newer publication already loaded (they
    differ from what the table keeps). A day can be both updated (one source won) and stale.
    """

    inserted: int
    updated: int
    unchanged: int
    stale: int = 0

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Publication:
    """One version of one source file, as a run loads it.

    :param source: the source's label, ``NYT`` or ``JHU``.
    :param url: where the run downloads it.
    :param published_at: the commit time; for an unpinned download, the time its run started.
    :param commit: the commit id, or None when unpinned (a URL override: whatever the URL serves).
    :param sha256: the downloaded bytes' sha256, once known.
    :param rows: the rows the run kept from it, once parsed.
    """

    source: str
    url: str
    published_at: datetime
    commit: str | None = None
    sha256: str | None = None
    rows: int | None = None

    @property
    def pinned(self) -> bool:
        return self.commit is not None

    def ident(self, run_id: str) -> str:
        """Its name among the source's publications: the commit, or the run that downloaded it."""
        return self.commit or f"run:{run_id}"

    def to_json(self) -> dict:
        return {**asdict(self), "published_at": self.published_at.isoformat()}

    @classmethod
    def from_json(cls, item: dict) -> Publication:
        return cls(**{**item, "published_at": datetime.fromisoformat(item["published_at"])})


@dataclass(frozen=True)
class RunInfo:
    """The facts about one run that ``etl_runs`` records, whatever its outcome."""

    run_id: str
    started_at: datetime
    nyt: Publication | None = None
    jhu: Publication | None = None
    dataset: str = "national"
