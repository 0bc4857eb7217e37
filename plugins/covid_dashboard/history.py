"""The publication history, as published in the dashboard's document.

The national series (``history``): what each publication of NYT's and JHU's national files changed, the
table as it stood at any time, and how many days each publication revised. A change is a day's values
in one publication where they differ from that source's previous one (the day's first appearance
included). The table "as of" a time is, per day, each source's latest change published by then, NYT's
cases and deaths joined on date with JHU's recovered: as the pipeline's ``covid_us_daily_as_of``
computes it in SQL.

States and counties (``revisions``): the newest revisions of each, as their ``<table>_revisions`` views
list them (a key's values changed by a publication; first appearances and deletions are not revisions),
and how many there are in all.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

SOURCE_VALUES = {"NYT": ("cases", "deaths"), "JHU": ("recovered",)}


@dataclass(frozen=True)
class SourceRelease:
    """One loaded publication of a source: when it was committed, and its commit (None: unpinned)."""

    source: str
    index: int
    published_at: datetime
    commit: str | None


@dataclass(frozen=True)
class Change:
    release: SourceRelease
    day: date
    values: tuple[int | None, ...]


@dataclass(frozen=True)
class History:
    releases: dict[str, tuple[SourceRelease, ...]]
    changes: dict[str, tuple[Change, ...]]
    # 1, or k when only every k-th publication could be kept in the document (see covid_etl.dashboard).
    thinned_to_every: int = 1

    @classmethod
    def from_json(cls, document: dict[str, Any] | None) -> History:
        if not document or not document.get("first_date"):
            return cls(releases={s: () for s in SOURCE_VALUES}, changes={s: () for s in SOURCE_VALUES})
        first = date.fromisoformat(document["first_date"])
        releases, changes = {}, {}
        for source in SOURCE_VALUES:
            releases[source] = tuple(
                SourceRelease(source, i, datetime.fromisoformat(at), commit)
                for i, (at, commit) in enumerate(document[source]["publications"])
            )
            changes[source] = tuple(
                Change(releases[source][index], first + timedelta(days=offset), tuple(values))
                for index, offset, *values in document[source]["changes"]
            )
        return cls(releases=releases, changes=changes, thinned_to_every=document.get("thinned_to_every", 1))

    def state(self, source: str, at: datetime) -> dict[date, tuple[int | None, ...]]:
        """Per day, the source's values in its newest publication committed at or before ``at``."""
        latest: dict[date, tuple] = {}
        for change in self.changes[source]:  # in publication order
            if change.release.published_at <= at:
                latest[change.day] = change.values
        return latest

    def as_of(self, at: datetime) -> list[tuple[date, int, int, int | None]]:
        """The merged table as it stood at ``at``: [date, cases, deaths, recovered], by date."""
        nyt, jhu = self.state("NYT", at), self.state("JHU", at)
        return [(day, *nyt[day], *jhu[day]) for day in sorted(nyt.keys() & jhu.keys())]

    def revision_counts(self) -> list[tuple[SourceRelease, int]]:
        """Each publication with the number of days it revised (changes that are not first appearances)."""
        counts = []
        for source, releases in self.releases.items():
            seen: set[date] = set()
            revised = dict.fromkeys(releases, 0)
            for change in self.changes[source]:
                if change.day in seen:
                    revised[change.release] += 1
                seen.add(change.day)
            counts.extend(revised.items())
        return sorted(counts, key=lambda item: (item[0].published_at, item[0].source), reverse=True)

    def of_day(self, day: date) -> dict[str, list[Change]]:
        """Each source's published values of one day, in publication order."""
        return {source: [c for c in changes if c.day == day] for source, changes in self.changes.items()}

    def most_revised_day(self) -> date | None:
        """The day revised most often (the latest of ties), a default for the revisions view."""
        counts: dict[date, int] = {}
        for changes in self.changes.values():
            for change in changes:
                counts[change.day] = counts.get(change.day, 0) + 1
        return max(counts, key=lambda day: (counts[day], day)) if counts else None


def end_of(day: date, zone) -> datetime:
    """The last moment of ``day``: "as of" a date means after everything published that day."""
    return datetime.combine(day, datetime.max.time(), tzinfo=zone)


@dataclass(frozen=True, order=True)
class Area:
    """What the revisions view shows: the national series (no state), a state, or a county of a state."""

    state: str | None = None
    county: str | None = None

    @property
    def kind(self) -> str:
        return "national" if self.state is None else "state" if self.county is None else "county"

    @property
    def param(self) -> str:
        """Its value of the page's ``area`` parameter: ``national``, ``state:Ohio``, ``county:Ohio:Adams``."""
        return ":".join([self.kind, *filter(None, (self.state, self.county))])

    @classmethod
    def parse(cls, text: str | None) -> Area:
        """The area a parameter names; the national series for none or one not understood. A state's name
        (as NYT writes it) holds no colon, so a county's name may."""
        kind, _, rest = (text or "").partition(":")
        if kind == "state" and rest:
            return cls(rest)
        state, _, county = rest.partition(":")
        if kind == "county" and state and county:
            return cls(state, county)
        return NATIONAL

    @property
    def label(self) -> str:
        if self.state is None:
            return "United States"
        return self.state if self.county is None else f"{self.county}, {self.state}"


NATIONAL = Area()


@dataclass(frozen=True)
class Revision:
    """One row of a ``<table>_revisions`` view: a key's values before and after a publication changed them."""

    day: date
    area: Area
    published_at: datetime
    commit: str | None
    cases: tuple[int | None, int | None]
    deaths: tuple[int | None, int | None]


@dataclass(frozen=True)
class DatasetRevisions:
    """The newest revisions of one dataset the document holds (newest first), and how many there are."""

    total: int
    rows: tuple[Revision, ...]

    @classmethod
    def from_json(cls, document: dict[str, Any] | None, keys: int) -> DatasetRevisions:
        """Read ``{"total", "publications", "rows"}``: the publications [published_at, commit] the rows point
        to, and a row is [the key's ``keys`` columns (date first), publication index, old_cases, new_cases,
        old_deaths, new_deaths] (include/covid_etl/publish/dashboard.py, revisions_columns)."""
        if not document:
            return cls(0, ())
        publications = [
            (datetime.fromisoformat(published_at), commit) for published_at, commit in document["publications"]
        ]
        rows = []
        for row in document["rows"]:
            day, *names = row[:keys]
            index, old_cases, new_cases, old_deaths, new_deaths = row[keys:]
            published_at, commit = publications[index]
            rows.append(
                Revision(
                    date.fromisoformat(day),
                    Area(*names),
                    published_at,
                    commit,
                    (old_cases, new_cases),
                    (old_deaths, new_deaths),
                )
            )
        return cls(document["total"], tuple(rows))

    @property
    def complete(self) -> bool:
        """Whether the document holds every revision (else only the newest ``len(rows)``)."""
        return len(self.rows) >= self.total


@dataclass(frozen=True)
class AreaRevisions:
    """The revisions of states and of counties in the document."""

    states: DatasetRevisions
    counties: DatasetRevisions

    @classmethod
    def from_json(cls, document: dict[str, Any] | None) -> AreaRevisions:
        document = document or {}
        return cls(
            DatasetRevisions.from_json(document.get("states"), keys=2),
            DatasetRevisions.from_json(document.get("counties"), keys=3),
        )

    def dataset_of(self, area: Area) -> DatasetRevisions:
        return self.counties if area.kind == "county" else self.states

    def counts(self, kind: str) -> list[tuple[Area, int]]:
        """The states (``kind`` "state") or counties with revisions in the document, by name, with how many."""
        found = Counter(revision.area for revision in (self.counties if kind == "county" else self.states).rows)
        return sorted(found.items())

    def of(self, area: Area) -> tuple[Revision, ...]:
        """The area's revisions in the document, newest first (as the document lists them)."""
        return tuple(revision for revision in self.dataset_of(area).rows if revision.area == area)


def trace(revisions: tuple[Revision, ...], day: date) -> list[Revision]:
    """The revisions of one day, in publication order: each one's old values are the previous one's new."""
    return sorted((r for r in revisions if r.day == day), key=lambda r: (r.published_at, r.commit or ""))


def most_revised_day(revisions: tuple[Revision, ...]) -> tuple[date | None, int]:
    """The day revised most often (the latest of ties), and how often; (None, 0) without revisions."""
    counts = Counter(revision.day for revision in revisions)
    if not counts:
        return None, 0
    day = max(counts, key=lambda d: (counts[d], d))
    return day, counts[day]
