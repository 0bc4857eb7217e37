"""The sources' publication history, as published in the dashboard's document: what each publication
changed, the table as it stood at any time, and how many days each publication revised.

A change is a day's values in one publication where they differ from that source's previous one (the
day's first appearance included). The table "as of" a time is, per day, each source's latest change
published by then, NYT's cases and deaths joined on date with JHU's recovered: as the pipeline's
``covid_us_daily_as_of`` computes it in SQL.
"""

from __future__ import annotations

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
