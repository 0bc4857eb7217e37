"""How the page writes times and counts."""

from __future__ import annotations

from datetime import UTC, datetime


def format_time(moment: datetime | None) -> str:
    """A time to the minute in UTC ("2026-05-02 00:03 UTC"), or "never"."""
    if moment is None:
        return "never"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def format_count(value: int | None) -> str:
    """A count with thousands separators, "–" where unknown."""
    return "–" if value is None else f"{value:,}"
