"""Paths and helpers that test modules import (conftest.py holds only fixtures)."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
# The days a backfill on the local stack runs for (conftest.backfilled); a NYT and a JHU commit a day
# before each are in the stack's fake GitHub.
BACKFILL_FROM, BACKFILL_DAYS = date(2021, 3, 10), 5


def fixture_bytes(name: str, root: Path = FIXTURES) -> bytes:
    """The fixture's bytes; ``x.csv`` may be stored as ``x.csv.gz`` (the whole real JHU versions are)."""
    path = root / name
    if not path.is_file() and path.with_name(path.name + ".gz").is_file():
        return gzip.decompress(path.with_name(path.name + ".gz").read_bytes())
    return path.read_bytes()


def fixture_text(name: str) -> str:
    return fixture_bytes(name).decode("utf-8")
