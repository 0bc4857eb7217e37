"""How the page writes times and counts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

# Publication times, coarsest first: the day, the minute, the second (in UTC).
TIME_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M UTC", "%Y-%m-%d %H:%M:%S UTC")


def format_time(moment: datetime | None) -> str:
    """A time to the minute in UTC ("2026-05-02 00:03 UTC"), or "never"."""
    if moment is None:
        return "never"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def format_count(value: int | None) -> str:
    """A count with thousands separators, "–" where unknown."""
    return "–" if value is None else f"{value:,}"


def distinct_time_format(moments: Iterable[datetime], coarsest: str = TIME_FORMATS[0]) -> str:
    """The coarsest of TIME_FORMATS (from ``coarsest`` on) that writes different ``moments`` differently:
    publications a run apart (a URL override counts from its run's start) may fall in the same minute."""
    distinct = {moment.astimezone(UTC) for moment in moments}
    formats = TIME_FORMATS[TIME_FORMATS.index(coarsest) :]
    return next((f for f in formats if len({m.strftime(f) for m in distinct}) == len(distinct)), formats[-1])
