"""The SQL files in ``include/sql/`` (shipped beside this package, also on MWAA)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


@cache
def read_sql(name: str) -> str:
    """Return the text of ``<name>.sql``."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")
