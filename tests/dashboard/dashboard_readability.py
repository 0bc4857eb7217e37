"""Measuring what a reader sees on the dashboard: the y axes' labels read back as numbers."""

from __future__ import annotations

import re
from decimal import Decimal

SUFFIXES = {"": 1, "k": 10**3, "M": 10**6, "B": 10**9}


def read_label(label: str) -> tuple[Decimal, Decimal]:
    """An axis label as a reader reads it: its value, and half a unit in its last place (how far from
    the label the value it stands for may be, if it is correctly rounded)."""
    match = re.fullmatch(r"(-?[\d,]+(?:\.(\d+))?)([kMB]?)", label)
    assert match, f"not a number: {label!r}"
    unit = SUFFIXES[match[3]]
    decimals = len(match[2] or "")
    return Decimal(match[1].replace(",", "")) * unit, Decimal(unit) / 10**decimals / 2
