"""Paths and helpers that test modules import (conftest.py holds only fixtures)."""

from __future__ import annotations

import gzip
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


def fixture_bytes(name: str, root: Path = FIXTURES) -> bytes:
    """The fixture's bytes; ``x.csv`` may be stored as ``x.csv.gz`` (the whole real JHU versions are)."""
    path = root / name
    if not path.is_file() and path.with_name(path.name + ".gz").is_file():
        return gzip.decompress(path.with_name(path.name + ".gz").read_bytes())
    return path.read_bytes()


def fixture_text(name: str) -> str:
    return fixture_bytes(name).decode("utf-8")
