"""Where a load's time goes, measured from outside the loader: a psycopg 3 connection whose cursors time
every statement and every COPY, and whose commit is timed.

The loader (include/covid_etl/load/loader.py) takes any connection and makes its cursors with
``conn.cursor()``, so a connection made with :func:`connect` sees every call it makes to the server
without a change to the loader. A load's seconds then split into:

- ``connect``: opening the connection;
- ``python_read``: Python's time inside a COPY, producing the lines sent (reading the file, checking it,
  comparing it with the fingerprints): the time between the writes;
- ``copy``: waiting on the server during a COPY (each write in blocking mode, and the end of the COPY);
- ``sql``: every other statement, from its send to its result (the server's work and the round trip);
- ``commit``;
- ``python_other``: the rest of the wall time (the loader's Python between statements: reading the
  fingerprints it fetched, reading a day's keys again, building the fingerprints it writes; and, since the
  loader's second thread took over, reading and checking the file while that thread copies, and waiting
  for that thread to end);
- ``meanwhile``: the statements and COPYs run from the loader's second thread (a first load's COPY and
  index builds, a compared publication's batches), beside the loading thread's time above, not part of
  its split: the wall time is the loading thread's.

The loader logs each SQL step's time at DEBUG level too (``covid_etl.load.loader``'s ``_execute``); the
statements here are the same, plus the loader's others (registering the publication, the temporary
tables, the fingerprints).
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg

_SPACE = re.compile(r"\s+")
STATEMENTS_SHOWN = 6


def label(statement) -> str:
    """A statement's first words (what the loader's DEBUG log shows of it)."""
    if isinstance(statement, bytes):
        statement = statement.decode()
    text = statement if isinstance(statement, str) else repr(statement)
    return _SPACE.sub(" ", text.strip())[:60]


@dataclass
class Profile:
    """Seconds spent, by kind, and per statement (by its first words)."""

    connect: float = 0.0
    sql: float = 0.0
    copy: float = 0.0
    python_read: float = 0.0
    commit: float = 0.0
    meanwhile: float = 0.0
    statements: dict[str, list] = field(default_factory=dict)  # label -> [seconds, count]

    def add_statement(self, statement, seconds: float, kind: str = "sql") -> None:
        if threading.current_thread() is not threading.main_thread():
            kind = "meanwhile"
        setattr(self, kind, getattr(self, kind) + seconds)
        entry = self.statements.setdefault(label(statement), [0.0, 0])
        entry[0] += seconds
        entry[1] += 1

    def merge(self, other: Profile) -> None:
        for name in ("connect", "sql", "copy", "python_read", "commit", "meanwhile"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name, (seconds, count) in other.statements.items():
            entry = self.statements.setdefault(name, [0.0, 0])
            entry[0] += seconds
            entry[1] += count

    def summary(self, total: float) -> dict:
        """The split of ``total`` seconds (the load's wall time), and the slowest statements and COPYs."""
        measured = self.connect + self.sql + self.copy + self.python_read + self.commit
        slowest = sorted(self.statements.items(), key=lambda item: -item[1][0])[:STATEMENTS_SHOWN]
        return {
            "total": round(total, 4),
            "connect": round(self.connect, 4),
            "python_read": round(self.python_read, 4),
            "python_other": round(max(total - measured, 0.0), 4),
            "copy": round(self.copy, 4),
            "sql": round(self.sql, 4),
            "commit": round(self.commit, 4),
            "meanwhile": round(self.meanwhile, 4),
            "statements": [[name, round(seconds, 4), count] for name, (seconds, count) in slowest],
        }


class _TimedCopy:
    """A COPY whose writes are timed: the time between them is the producer's (Python's)."""

    def __init__(self, copy, profile: Profile) -> None:
        self._copy, self._profile, self.waited = copy, profile, 0.0

    def write(self, data) -> None:
        began = time.perf_counter()
        self._copy.write(data)
        self.waited += time.perf_counter() - began

    def __getattr__(self, name):
        return getattr(self._copy, name)


class TimedCursor(psycopg.Cursor):
    """A cursor timing each statement and COPY into its connection's :class:`Profile`."""

    def execute(self, query, params=None, **kwargs):
        began = time.perf_counter()
        try:
            return super().execute(query, params, **kwargs)
        finally:
            self.connection.profile.add_statement(query, time.perf_counter() - began)

    @contextlib.contextmanager
    def copy(self, statement, params=None, *, writer=None) -> Iterator[_TimedCopy]:
        profile = self.connection.profile
        began = time.perf_counter()
        with super().copy(statement, params, writer=writer) as copy:
            opened = time.perf_counter()
            timed = _TimedCopy(copy, profile)
            yield timed
            produced = time.perf_counter()
        ended = time.perf_counter()
        # Python produced the lines between the writes; the rest of the block was the server's.
        python = produced - opened - timed.waited
        if threading.current_thread() is threading.main_thread():
            profile.python_read += python
            profile.add_statement(statement, ended - began - python, kind="copy")
        else:
            profile.add_statement(statement, ended - began)  # the second thread's: all of it meanwhile


class TimedConnection(psycopg.Connection):
    """A connection whose cursors are :class:`TimedCursor` and whose commit is timed."""

    profile: Profile

    def commit(self) -> None:
        began = time.perf_counter()
        try:
            super().commit()
        finally:
            self.profile.commit += time.perf_counter() - began


def connect(db_url: str, profile: Profile) -> TimedConnection:
    """A connection that records into ``profile`` (its opening too)."""
    began = time.perf_counter()
    conn = TimedConnection.connect(db_url, cursor_factory=TimedCursor)
    conn.profile = profile
    profile.connect += time.perf_counter() - began
    return conn
