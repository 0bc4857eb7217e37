"""Paths and helpers that test modules import (conftest.py holds only fixtures)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text()
