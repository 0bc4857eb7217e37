"""The loader for volume: a dataset's publication streamed from the staging store into PostgreSQL.

Per file of the publication (covid_etl/datasets.py), in one transaction for the whole dataset:

1. the file is read a day at a time and checked (covid_etl/rows.py), never whole in memory;
2. when the table holds the previous version of the same file (``dataset_files``) and that version
   is still staged, the two are compared day by day and only new or changed lines go on: an unchanged
   day is neither checked again nor sent;
3. the lines reach PostgreSQL by ``COPY ... (FORMAT csv)``, as they came: straight into the table when
   it is empty (the first load), otherwise into a temporary table, from which one statement
   (include/sql/merge_dataset.sql) inserts new keys and updates only rows that differ, counting both;
4. a file older than the version the table holds loses: nothing of it is written, and its differing
   rows are counted as stale;
5. ``dataset_files`` records what the table now holds, and ``etl_runs`` the run.

A file whose commit or sha256 is the one the table holds is not read at all.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, BinaryIO

from covid_etl.datasets import Dataset
from covid_etl.errors import InvalidSourceError
from covid_etl.loader import is_psycopg2
from covid_etl.records import Publication
from covid_etl.rows import Block, DayReader, Difference, changed_days
from covid_etl.sql import read_sql

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StagedFile:
    """One file of a dataset's publication, as the run fetched it.

    :param part: the file's name in the dataset (its path in the repository, or ``override``).
    :param publication: where it came from and when it was published (its sha256 once downloaded).
    :param path: where it is staged; None when it was not downloaded because the table holds it already.
    """

    part: str
    publication: Publication
    path: str | None


@dataclass
class DatasetResult:
    """What loading one publication of a dataset did: rows inserted, updated, unchanged, and stale."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0
    rows: int = 0
    sent: int = 0
    files: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _Held:
    """A row of dataset_files: the version of one file the table holds."""

    part: str
    commit: str | None
    published_at: datetime
    sha256: str
    rows: int
    staged_path: str


def _names(prefix: str, columns: Sequence[str]) -> str:
    return ", ".join(f"{prefix}{name}" for name in columns)


def _statement(name: str, dataset: Dataset, *, new: str) -> str:
    return read_sql(name).format(
        table=dataset.table,
        columns=", ".join(dataset.column_names),
        key=", ".join(dataset.key),
        set_values=", ".join(f"{column} = EXCLUDED.{column}" for column in dataset.values),
        stored_values=_names("stored.", dataset.values),
        new_values=_names(new, dataset.values),
    )


def _copy(cursor: Any, table: str, columns: Sequence[str], blocks: Iterator[Block]) -> int:
    """COPY the blocks' lines into ``table``; return the number of lines sent."""
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT csv)"
    sent = 0
    if is_psycopg2(cursor):
        stream = _BlockStream(blocks)
        cursor.copy_expert(sql, stream)
        return stream.lines
    from psycopg.copy import LibpqWriter

    # Blocking mode, writing from this thread: psycopg otherwise runs libpq non-blocking, and libpq's
    # output buffer grows while the server is slower than the file is read (about 100 MB for 2.5M rows).
    pgconn = cursor.connection.pgconn
    pgconn.nonblocking = 0
    try:
        with cursor.copy(sql, writer=LibpqWriter(cursor)) as copy:
            for block in blocks:
                copy.write(block.data)
                sent += block.rows
    finally:
        pgconn.nonblocking = 1
    return sent


class _BlockStream:
    """A file-like view of blocks, for psycopg2's copy_expert."""

    def __init__(self, blocks: Iterator[Block]) -> None:
        self._blocks, self.lines = blocks, 0

    def read(self, size: int = -1) -> bytes:
        block = next(self._blocks, None)
        if block is None:
            return b""
        self.lines += block.rows
        return block.data

    readline = read


def _held_files(cursor: Any, dataset: Dataset) -> dict[str, _Held]:
    cursor.execute(
        "SELECT part, commit, published_at, sha256, rows, staged_path FROM dataset_files WHERE dataset = %s",
        (dataset.name,),
    )
    return {row[0]: _Held(*row) for row in cursor.fetchall()}


def held_commits(conn: Any, dataset: Dataset) -> dict[str, str | None]:
    """Per file of the dataset, the commit of the version its table holds (for the skip of unchanged files)."""
    with _dataset_transaction(conn, dataset) as cursor:
        return {part: held.commit for part, held in _held_files(cursor, dataset).items()}


class _Transaction:
    def __init__(self, conn: Any, dataset: Dataset) -> None:
        self.conn, self.dataset = conn, dataset

    def __enter__(self) -> Any:
        self.conn.autocommit = False
        self.cursor = self.conn.cursor()
        # One load of a dataset at a time; a second waits here until the first commits or rolls back.
        self.cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"covid_etl.{self.dataset.table}",))
        self.cursor.execute(read_sql("create_tables"))
        self.cursor.execute(read_sql("create_datasets"))
        return self.cursor

    def __exit__(self, kind, value, traceback) -> None:
        with self.cursor:
            pass
        if kind is None:
            self.conn.commit()
        else:
            self.conn.rollback()


_dataset_transaction = _Transaction


def load_dataset(
    conn: Any,
    dataset: Dataset,
    files: Sequence[StagedFile],
    *,
    run_id: str,
    started_at: datetime,
    open_file: Callable[[str], BinaryIO],
    compare_with_held: bool = True,
    force: bool = False,
) -> DatasetResult:
    """Load one publication of ``dataset`` and record the run, all of it committed or none of it.

    :param conn: an open psycopg 3 (or psycopg2) connection; it is not closed.
    :param dataset: the dataset's description.
    :param files: the publication's files, as fetched.
    :param run_id: the run, recorded with every row written.
    :param started_at: when the run started.
    :param open_file: opens a staged path for reading bytes (the staging store, or local disk).
    :param compare_with_held: compare with the staged version the table holds, to send only changes;
        False sends every row (the comparison is then made in the database only).
    :param force: read a file even when its sha256 is the held version's (a forced reload).
    """
    try:
        return _load(conn, dataset, files, run_id, started_at, open_file, compare_with_held, force)
    except Exception as exc:
        # A key given twice reaches the database as a unique violation (COPY into the table) or as a
        # row the merge would change twice: name the file's lines instead.
        if getattr(exc, "sqlstate", getattr(exc, "pgcode", None)) not in (UNIQUE_VIOLATION, CARDINALITY_VIOLATION):
            raise
        for staged in files:
            if staged.path is not None:
                _raise_on_repeated_key(open_file, staged, dataset)
        raise


# SQLSTATEs of a key given twice in one load.
UNIQUE_VIOLATION, CARDINALITY_VIOLATION = "23505", "21000"


def _raise_on_repeated_key(open_file, staged: StagedFile, dataset: Dataset) -> None:
    """Find, line by line, the first key the staged file gives twice, and blame it."""
    with open_file(staged.path) as stream:
        reader = DayReader(stream, dataset, source=dataset.label, location=staged.publication.url)
        for block in reader.unchecked_days():
            reader.checker.checked_day(block)


def _load(conn, dataset, files, run_id, started_at, open_file, compare_with_held, force) -> DatasetResult:
    result = DatasetResult()
    with _dataset_transaction(conn, dataset) as cursor:
        cursor.execute("SELECT set_config('covid_etl.run_id', %s, true)", (run_id,))
        held = _held_files(cursor, dataset)
        cursor.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {dataset.table})")
        empty = cursor.fetchone()[0]
        staging = False
        for staged in files:
            before = held.get(staged.part)
            publication = staged.publication
            if staged.path is None or (not force and before is not None and before.sha256 == publication.sha256):
                result.rows += before.rows if before is not None else 0
                result.files[staged.part] = "held already"
                continue
            older = before is not None and publication.published_at < before.published_at
            found = Difference()
            with open_file(staged.path) as stream:
                reader = DayReader(stream, dataset, source=dataset.label, location=publication.url)
                previous = _open_held(open_file, before, dataset) if (compare_with_held and before) else None
                try:
                    if previous is not None and previous[1].layout == reader.layout:
                        blocks, how = changed_days(reader, previous[1], found), "compared with the held version"
                    else:
                        blocks, how = _counted(reader.checked_days(), found), "read whole"
                    if older:
                        lost = sum(block.rows for block in blocks)
                        if previous is None:
                            lost = _stale_in_database(cursor, dataset, reader, found)
                        result.stale += lost
                        result.rows += found.rows
                        result.files[staged.part] = f"older than the held version: {lost} stale rows"
                        continue
                    if empty and before is None and not staging:
                        sent = _copy(cursor, dataset.table, reader.layout.copy_columns, blocks)
                        result.inserted += sent
                    else:
                        if not staging:
                            cursor.execute(
                                f"CREATE TEMPORARY TABLE incoming_rows (LIKE {dataset.table} INCLUDING DEFAULTS)"
                                " ON COMMIT DROP"
                            )
                            staging = True
                        sent = _copy(cursor, "incoming_rows", reader.layout.copy_columns, blocks)
                finally:
                    if previous is not None:
                        previous[0].close()
            result.sent += sent
            result.rows += found.rows
            result.files[staged.part] = f"{how}: {sent} rows sent"
            cursor.execute(
                "INSERT INTO dataset_files (dataset, part, commit, published_at, sha256, rows, staged_path, run_id)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (dataset, part) DO UPDATE SET"
                " commit = EXCLUDED.commit, published_at = EXCLUDED.published_at, sha256 = EXCLUDED.sha256,"
                " rows = EXCLUDED.rows, staged_path = EXCLUDED.staged_path, run_id = EXCLUDED.run_id,"
                " loaded_at = now()",
                (
                    dataset.name,
                    staged.part,
                    publication.commit,
                    publication.published_at,
                    publication.sha256,
                    found.rows,
                    staged.path,
                    run_id,
                ),
            )
        if staging:
            cursor.execute(_statement("merge_dataset", dataset, new="EXCLUDED."))
            inserted, updated = cursor.fetchone()
            result.inserted += inserted
            result.updated += updated
        result.unchanged = result.rows - result.inserted - result.updated - result.stale
        _record_run(cursor, dataset, files, result, run_id=run_id, started_at=started_at)
    log.info(
        "Loaded %s: %s rows, %s sent, %s inserted, %s updated, %s unchanged, %s stale",
        dataset.name,
        result.rows,
        result.sent,
        result.inserted,
        result.updated,
        result.unchanged,
        result.stale,
    )
    return result


def _counted(blocks: Iterator[Block], found: Difference) -> Iterator[Block]:
    for block in blocks:
        found.rows += block.rows
        yield block


def _open_held(open_file, held: _Held, dataset: Dataset) -> tuple[BinaryIO, DayReader] | None:
    """The staged version the table holds, if it is still there (the staging store may expire it)."""
    try:
        stream = open_file(held.staged_path)
    except (FileNotFoundError, OSError) as exc:
        log.info(
            "The held version of %s (%s) is gone (%s): reading the new one whole", held.part, held.staged_path, exc
        )
        return None
    try:
        return stream, DayReader(stream, dataset, source=dataset.label, location=held.staged_path)
    except InvalidSourceError:
        stream.close()
        return None


def _stale_in_database(cursor: Any, dataset: Dataset, reader: DayReader, found: Difference) -> int:
    """Count an older publication's rows that differ from the table, in the database (no held version)."""
    cursor.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS stale_rows (LIKE {dataset.table} INCLUDING DEFAULTS) ON COMMIT DROP"
    )
    cursor.execute("TRUNCATE stale_rows")
    _copy(cursor, "stale_rows", reader.layout.copy_columns, _counted(reader.checked_days(), found))
    cursor.execute(_statement("count_stale_rows", dataset, new="incoming.").replace("incoming_rows", "stale_rows"))
    return cursor.fetchone()[0]


def _record_run(
    cursor: Any, dataset: Dataset, files: Sequence[StagedFile], result: DatasetResult, *, run_id: str, started_at
) -> None:
    sources = [{"part": f.part, **f.publication.to_json()} for f in files]
    cursor.execute(
        read_sql("insert_etl_run"),
        {
            "run_id": run_id,
            "dataset": dataset.name,
            "started_at": started_at,
            "status": "success",
            "sources": json.dumps(sources),
            **dict.fromkeys(("nyt_url", "nyt_sha256", "nyt_rows", "jhu_url", "jhu_sha256", "jhu_rows")),
            "rows_inserted": result.inserted,
            "rows_updated": result.updated,
            "rows_unchanged": result.unchanged,
            "rows_stale": result.stale,
            "first_date": None,
            "last_date": None,
            "error": None,
        },
    )
