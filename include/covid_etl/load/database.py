"""The pipeline's PostgreSQL: its schema, one transaction per load, and COPY, on psycopg 3 or psycopg2.

PostgresHook hands out psycopg 3 connections on MWAA 3.3.1 (postgres provider 7) and psycopg2 ones
where only psycopg2 is installed; everything here takes either.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import logging
import struct
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from covid_etl.sources.specs import DATASETS
from covid_etl.sql import read_sql, render

log = logging.getLogger(__name__)

# Serializes schema changes: two runs creating the tables of a fresh database at once would collide.
_SCHEMA_LOCK = "covid_etl.schema"
# Bytes per write of a COPY: big enough that waiting on the socket is rare, small against memory.
COPY_BATCH = 256 * 1024
# At most this many bytes handed to libpq at once: psycopg's own limit (MAX_BUFFER_SIZE), since a larger
# buffer can make libpq loop forever (psycopg issue #255).
_LIBPQ_WRITE = 128 * 1024
# COPY's binary format: its signature, no flags, no header extension; and the end of its rows.
_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
_BINARY_TRAILER = struct.pack("!h", -1)


def is_psycopg2(conn: Any) -> bool:
    return type(conn).__module__.split(".")[0] == "psycopg2"


def schema_statements() -> str:
    """The whole schema: the shared tables, each dataset's, and the national series' views."""
    parts = [read_sql("schema")]
    parts += [render("dataset_schema", dataset) for dataset in DATASETS.values()]
    parts.append(read_sql("national_schema"))
    return "\n".join(parts)


def ensure_schema(conn: Any) -> None:
    """Bring the database's schema to this version's, in a transaction of its own, unless it is there.

    The schema's text is hashed and the hash kept in ``covid_etl_schema``: a load of an unchanged schema
    costs one query, and a changed one (a new version deployed) is applied once, by whichever run comes
    first (the others wait on the lock, then find it done).
    """
    statements = schema_statements()
    version = hashlib.sha256(statements.encode()).hexdigest()
    with transaction(conn, lock=_SCHEMA_LOCK) as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS covid_etl_schema (version text NOT NULL)")
        cursor.execute("SELECT version FROM covid_etl_schema")
        row = cursor.fetchone()
        if row is not None and row[0] == version:
            return
        cursor.execute(statements)
        cursor.execute("DELETE FROM covid_etl_schema")
        cursor.execute("INSERT INTO covid_etl_schema (version) VALUES (%s)", (version,))
        log.info("Schema brought to version %s", version[:12])


@contextmanager
def transaction(conn: Any, *, lock: str) -> Iterator[Any]:
    """One transaction holding the advisory lock ``lock`` (a second one waits for it), with the setting
    that tells the tables' triggers a load is writing (covid_etl.loading): committed, or rolled back."""
    conn.autocommit = False
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (lock,))
            cursor.execute("SELECT set_config('covid_etl.loading', 'on', true)")
            # PostgreSQL's default (4) prices a random read as a spinning disk's: the few keys a load sends
            # would then be joined by reading the whole table rather than looked up by its primary key. RDS
            # storage is SSD, and a load's tables are mostly cached.
            cursor.execute("SET LOCAL random_page_cost = 1.1")
            cursor.execute("SET LOCAL default_statistics_target = 10")
            # A load looks each key up once: a memoized lookup never hits (the plans' Hits: 0), and costing
            # it led the planner to the lookup columns' index, filtered by date, over the primary key.
            cursor.execute("SET LOCAL enable_memoize = off")
            yield cursor
        conn.commit()
    except BaseException:
        conn.rollback()
        raise


def copy_in(cursor: Any, table: str, columns: Iterable[str], chunks: Iterable[bytes], *, binary: bool = False) -> None:
    """COPY into ``table``: CSV lines (the chunks, each ending with a newline), or rows of COPY's binary format
    (each chunk made by :func:`binary_row`)."""
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT {'binary' if binary else 'csv'})"
    if binary:
        chunks = itertools.chain((_BINARY_HEADER,), chunks, (_BINARY_TRAILER,))
    if is_psycopg2(cursor):
        stream = _ChunkStream(iter(chunks))
        try:
            cursor.copy_expert(sql, stream)
        except Exception:
            # psycopg2 reports an error raised while reading the chunks (a malformed line) as its own
            # QueryCanceled ("error in .read() call"): the reader's error is what went wrong.
            if stream.error is not None:
                raise stream.error from None
            raise
        return
    with cursor.copy(sql, writer=_flushing_writer(cursor)) as copy:
        for batch in _batched(chunks):
            copy.write(batch)


def binary_row(*fields: bytes) -> bytes:
    """A row of COPY's binary format from its fields' values in PostgreSQL's binary form (none NULL)."""
    return struct.pack("!h", len(fields)) + b"".join(struct.pack("!i", len(field)) + field for field in fields)


def _flushing_writer(cursor: Any) -> Any:
    """psycopg 3's writer, waiting for each write to reach the server: psycopg otherwise queues the writes in
    libpq's buffer while the server is slower than the file is read (about 100 MB for 2.5M rows), and libpq's
    blocking mode would hold Python's lock (the GIL) while it waits, stalling the load's other thread
    (covid_etl/load/loader.py); waiting here lets it go (benchmarks/copy_writers.py)."""
    return _flushing_writer_class()(cursor)


@functools.cache
def _flushing_writer_class() -> type:
    """The writer's class, made once (psycopg 3 is imported only where it is used: psycopg2 needs none)."""
    from psycopg.copy import LibpqWriter
    from psycopg.generators import copy_to

    class FlushingWriter(LibpqWriter):
        def write(self, data: Any) -> None:
            view = memoryview(data)
            for start in range(0, len(view), _LIBPQ_WRITE):
                self.connection.wait(copy_to(self._pgconn, view[start : start + _LIBPQ_WRITE], flush=True))

    return FlushingWriter


def _batched(chunks: Iterable[bytes], size: int = COPY_BATCH) -> Iterator[bytes]:
    """The chunks joined into batches of about ``size`` bytes: psycopg sends each write and waits on the
    socket, so thousands of short lines (a day's keys) would cost a round of waiting each."""
    batch: list[bytes] = []
    length = 0
    for chunk in chunks:
        batch.append(chunk)
        length += len(chunk)
        if length >= size:
            yield b"".join(batch)
            batch, length = [], 0
    if batch:
        yield b"".join(batch)


class _ChunkStream:
    """A file-like view of chunks of bytes, for psycopg2's copy_expert; keeps the error reading them raised."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self.error: Exception | None = None

    def read(self, size: int = -1) -> bytes:
        try:
            return next(self._chunks, b"")
        except Exception as exc:
            self.error = exc
            raise

    readline = read


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a driver's error (psycopg 3 or psycopg2), else None."""
    return getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)


UNIQUE_VIOLATION = "23505"
UNDEFINED_TABLE = "42P01"
