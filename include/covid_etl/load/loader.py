"""The one loader: a publication of any dataset, streamed from the staging store into its table and its
history, in one transaction with the run's record.

Per file of the publication (covid_etl/sources/specs.py):

1. the publication is registered in ``dataset_publications``; one loaded before is not read again;
2. the file is read once, checked as it goes (covid_etl/read/), never whole in memory (a first load's
   COPY reads it a second time, unchecked, beside), by one of three paths:
   - **first**: no publication covering its dates was loaded: its lines go straight into the table by
     ``COPY`` (into a table with no row at all, its indexes are dropped first and rebuilt after, as
     PostgreSQL's manual advises for a bulk load), from a second reader of the file, while it is checked
     and fingerprinted;
   - **compare**: the fingerprints of its references are whole: only the lines of chunks they lack are
     checked and sent (covid_etl/read/fingerprints.py), and compared with the references batch by batch
     while the next is read. A date's reference is the publication loaded before it, the table's (a
     backfill's publication: the one loaded before or after it, whichever was published nearer);
   - **whole**: otherwise (a hand edit voided the fingerprints, or a layout that is not cut into days):
     every row is sent;
3. SQL steps (include/sql/dataset_load.sql) compare what was sent with the references, apply what
   changed and record the changes; a publication older than one loaded already is recorded in the
   history and leaves the table alone. The COPYs and steps that can go beside the reading run from a
   second thread on the same connection: the server and Python each busy on a core;
4. its fingerprints are written where its days differ from the publication's loaded before it (ADR 0005).

Then ``etl_runs`` records the run.
"""

from __future__ import annotations

import logging
import queue
import struct
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Any, BinaryIO

from covid_etl.errors import Blame
from covid_etl.load.database import UNIQUE_VIOLATION, binary_row, copy_in, ensure_schema, sqlstate, transaction
from covid_etl.load.runs import insert_run
from covid_etl.progress import Progress
from covid_etl.read.days import Day, cut_days
from covid_etl.read.fingerprints import DayPrint, Fingerprinter
from covid_etl.read.layout import Checker, read_header, read_layout
from covid_etl.read.passes import DayRecord, FilePass, RowPass
from covid_etl.records import LoadResult, Publication, RunRecord
from covid_etl.sources.specs import Dataset, Part
from covid_etl.sql import read_sql, render, sections

log = logging.getLogger(__name__)

OpenFile = Callable[[str], BinaryIO]
# Unbounded scopes in ISO bytes, which compare with dates as text does.
_NO_START, _NO_END = b"0000-00-00", b"9999-99-99"
_FIRST = "first publication of its dates: copied into the table"
# Bytes of changed lines per batch copied and compared meanwhile: a few statements per megabyte, and little
# left to do once the file is read.
SEND_BATCH = 256 * 1024
# The share of its days' rows above which a batch is compared with the table once the file is read, by reading
# the table's rows of its dates, rather than meanwhile by a lookup per row sent: the bench's 1% revision sends
# 12% and gains from the lookups, a backfill's older publications send more and lose (ADR 0009).
DENSE = 0.25
# The first tuple of incoming (changed_between compares the rows sent from there on): all of them.
_ALL_PAGES = "(0,0)"
# Days whose fingerprints the second thread writes at once while a compared file is read (a few hundred
# kilobytes of records): a few statements a load.
PRINTS_BATCH = 256
# PostgreSQL's binary values: a date as days since 2000-01-01, integer, bigint.
_POSTGRES_EPOCH = date(2000, 1, 1).toordinal()
_DATE = _INT = struct.Struct("!i")
_BIGINT = struct.Struct("!q")


@dataclass(frozen=True)
class StagedFile:
    """One file of a dataset's publication, as the run fetched it.

    :param publication: where it came from and when it was published (its sha256 once downloaded).
    :param path: where it is staged; None when it was not downloaded, since the table holds it already.
    """

    publication: Publication
    path: str | None


def load_publication(
    conn: Any,
    dataset: Dataset,
    files: Sequence[StagedFile],
    *,
    run_id: str,
    started_at: datetime,
    open_file: OpenFile,
    compare: bool = True,
) -> LoadResult:
    """Load one publication of ``dataset`` and record the run: all of it committed, or none of it.

    :param conn: an open psycopg 3 (or psycopg2) connection; it is not closed.
    :param dataset: the dataset's description.
    :param files: the publication's files, as fetched.
    :param run_id: the run, recorded with the publication.
    :param started_at: when the run started.
    :param open_file: opens a staged path for reading bytes (the staging store, or local disk).
    :param compare: compare with the table's fingerprints where it can; False sends every row.
    """
    ensure_schema(conn)
    result = LoadResult()
    with transaction(conn, lock=f"covid_etl.{dataset.table}") as cursor:
        for staged in files:
            loaded = _load_file(cursor, dataset, staged, run_id=run_id, open_file=open_file, compare=compare)
            result.add(loaded)
            result.files.update(loaded.files)
            result.first_date = min(filter(None, (result.first_date, loaded.first_date)), default=None)
            result.last_date = max(filter(None, (result.last_date, loaded.last_date)), default=None)
        publications = tuple(staged.publication for staged in files)
        insert_run(cursor, RunRecord(run_id, dataset.name, started_at, "success", publications, result))
    log.info(
        "Loaded %s: %s rows, %s sent; %s inserted, %s updated, %s deleted, %s unchanged, %s stale",
        dataset.name, result.rows, result.sent, result.inserted, result.updated, result.deleted,
        result.unchanged, result.stale,
    )  # fmt: skip
    return result


def _load_file(cursor, dataset: Dataset, staged: StagedFile, *, run_id, open_file, compare) -> LoadResult:
    publication = staged.publication
    part = dataset.part(publication.part)
    if staged.path is None:
        return LoadResult(files={part.path: "held already: not downloaded"})
    publication_id = _register(cursor, dataset, part, publication=publication, run_id=run_id)
    if publication_id is None:
        return LoadResult(files={part.path: "loaded before: not read again"})
    with open_file(staged.path) as stream:
        header, after = read_header(stream)
        blame = Blame(dataset.label, publication.url)
        checker = Checker(dataset, read_layout(header, dataset, blame, after=after), blame)
        try:
            load = _FileLoad(
                cursor, part, checker, publication_id=publication_id, stream=stream, start=len(header),
                reopen=lambda: open_file(staged.path),
            )  # fmt: skip
            result = load.run(compare=compare)
        except Exception as exc:
            if sqlstate(exc) == UNIQUE_VIOLATION:  # a key given twice, found by the database: name the line
                stream.seek(len(header))
                _blame_repeated_key(stream, checker)
            raise
    cursor.execute(
        "UPDATE dataset_publications SET rows = %s, first_date = %s, last_date = %s WHERE id = %s",
        (result.rows, result.first_date, result.last_date, publication_id),
    )
    return result


def _drop_temporary_tables(cursor) -> None:
    """Drop the session's temporary tables: a publication of several files (the yearly county files) loads
    them in one transaction, and the tables of the file before (ON COMMIT DROP) are still there."""
    cursor.execute(
        "SELECT quote_ident(relname) FROM pg_class WHERE relnamespace = pg_my_temp_schema() AND relkind = 'r'"
    )
    names = [f"pg_temp.{name}" for (name,) in cursor.fetchall()]
    if names:
        cursor.execute(f"DROP TABLE {', '.join(names)}")


def _register(cursor, dataset: Dataset, part: Part, *, publication: Publication, run_id: str) -> int | None:
    """Add the publication to dataset_publications; None when it was loaded before."""
    first, last = scope_bounds(part)
    cursor.execute(
        "INSERT INTO dataset_publications"
        " (dataset, part, ident, commit, published_at, scope_from, scope_to, url, sha256, rows, run_id)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 0, %s)"
        " ON CONFLICT (dataset, part, ident) DO NOTHING RETURNING id",
        (
            dataset.name,
            part.path,
            publication.ident(run_id),
            publication.commit,
            publication.published_at,
            first,
            last,
            publication.url,
            publication.sha256 or "",
            run_id,
        ),
    )
    row = cursor.fetchone()
    if row is None:
        log.info("%s %s %s was loaded before", dataset.name, part.path, publication.ident(run_id))
    return row and row[0]


def scope_bounds(part: Part) -> tuple[str, str]:
    """The part's scope as PostgreSQL dates ('-infinity' and 'infinity' where unbounded)."""
    first, last = part.scope
    return (
        "-infinity" if first == date.min else first.isoformat(),
        "infinity" if last == date.max else last.isoformat(),
    )


class _FileLoad:
    """Loading one file's publication, on the load's cursor.

    :param cursor: the load's cursor, in its transaction.
    :param part: the file's part of the dataset.
    :param checker: the file's checks (its layout read).
    :param publication_id: the publication's row in dataset_publications.
    :param stream: the file, after its header.
    :param start: the byte offset of the first line after the header.
    :param reopen: opens the file again, for a reader of its own.
    """

    def __init__(
        self, cursor, part: Part, checker: Checker, *, publication_id: int, stream, start: int,
        reopen: Callable[[], BinaryIO],
    ) -> None:  # fmt: skip
        self.cursor, self.part, self.checker, self.stream, self.start = cursor, part, checker, stream, start
        self.reopen = reopen
        self.dataset, self.layout = checker.dataset, checker.layout
        self.parameters = {"publication": publication_id}
        self.publication_id = publication_id
        self.sql = sections(render("dataset_load", self.dataset))
        first, last = part.scope
        self.scope = (
            _NO_START if first == date.min else first.isoformat().encode(),
            _NO_END if last == date.max else last.isoformat().encode(),
        )
        self.by_day = self.layout.by_day and checker.key_prefix_fields is not None
        # The comparison of the rows sent: with the table, or with references other than the table too.
        self.changed_between = "changed_between"
        # The page of incoming from which the next batch's rows lie (changed_between).
        self.pages_compared = 0

    def run(self, *, compare: bool) -> LoadResult:
        _drop_temporary_tables(self.cursor)
        if self._first_for_scope():
            return self._first()
        references = self._references()
        if references.ref:  # a backfill's publication: some dates are compared with other publications
            self.changed_between = "changed_between_references"
        self._temporary_tables()
        if compare and self.by_day and references.covered:
            self.cursor.execute("SAVEPOINT compare")
            try:
                return self._compare(references)
            except _PrintsDisagree as exc:
                log.warning("%s: %s; sending every row instead", self.dataset.name, exc)
                self.cursor.execute("ROLLBACK TO SAVEPOINT compare")
                self.stream.seek(self.start)
        return self._whole(references)

    # -- the three paths -------------------------------------------------------------------------------

    def _first(self) -> LoadResult:
        """No publication covering these dates was loaded: COPY into the table itself.

        A file cut by day goes to the server as it is, unread, from a thread of its own with a reader of its
        own: the server parses it while every line is checked and every day fingerprinted here, on the
        other core. Then that thread rebuilds the primary key and indexes (when the table was empty) while
        the check ends. A fault found here rolls it all back, as a fault found earlier would have. A file
        the server refuses (or a layout not cut by day) is checked first and sent as checked lines.
        """
        table = self.dataset.table
        self.cursor.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {table})")
        rebuild = self._drop_indexes() if self.cursor.fetchone()[0] else []
        file_pass = self._pass()
        if isinstance(file_pass, FilePass):
            self.cursor.execute("SAVEPOINT unread")
            refused: list[Exception] = []

            def copy_then_index() -> None:
                if refused_by := self._copy_unread(table, meanwhile):
                    refused.append(refused_by)
                    return
                for statement in rebuild:
                    self.cursor.execute(statement)

            with _Meanwhile() as meanwhile:
                meanwhile.then(copy_then_index)
                for _ in self._rows(file_pass):
                    pass
            if not refused:
                self.cursor.execute("RELEASE SAVEPOINT unread")
                self._write_prints(file_pass.days, _References())
                return self._result(LoadResult(inserted=file_pass.rows), file_pass, _FIRST)
            log.info("%s: the server refused the file as it is (%s): sending it checked", self.dataset.name, refused[0])
            self.cursor.execute("ROLLBACK TO SAVEPOINT unread")
            self.stream.seek(self.start)
            file_pass = self._pass()
        copy_in(self.cursor, table, self.layout.copy_columns, self._rows(file_pass))
        for statement in rebuild:
            self.cursor.execute(statement)
        if isinstance(file_pass, FilePass):
            self._write_prints(file_pass.days, _References())
        return self._result(LoadResult(inserted=file_pass.rows), file_pass, _FIRST)

    def _copy_unread(self, table: str, meanwhile: _Meanwhile) -> Exception | None:
        """COPY the file's lines, unread, into the table, from a reader of its own; the server's refusal
        (SQLSTATE class 22 or 23: data it cannot take) is returned, not raised."""
        try:
            with self.reopen() as stream:
                stream.seek(self.start)
                copy_in(self.cursor, table, self.layout.copy_columns, _read_chunks(stream, meanwhile))
        except Exception as exc:
            if (sqlstate(exc) or "").startswith(("22", "23")):
                return exc
            raise
        return None

    def _compare(self, references: _References) -> LoadResult:
        """Send only the lines of chunks the references' fingerprints lack; the database does the rest.

        The lines go in batches of days, each copied and compared with the references (a lookup by key per
        row sent) from a thread of its own while the next is read here: the server and Python each busy on
        a core. Once a batch sends more than DENSE of its days' rows, the rest is only copied, and compared
        at the end in one statement that reads the table's rows of those dates: cheaper than a lookup per
        row.
        """
        file_pass = FilePass(self.checker, Fingerprinter(self.layout.signature()), self.scope)
        lines = self._progress(
            file_pass.compare(cut_days(self.stream, first_line=2, offset=self.start), references.prints)
        )
        self._execute("changed_table")
        dense_from = ""  # the first date of the batches only copied
        printed = 0  # the days whose fingerprints are queued
        with _Meanwhile() as meanwhile:
            # The references' keys are gathered by the server while the first days are read here.
            meanwhile.then(partial(self._take_references, references))
            for first, last, batch, share in _batches_of_days(lines, lambda: file_pass.days[-1]):
                dense_from = dense_from or (first if share > DENSE else "")
                meanwhile.then(partial(self._send_changed, batch, "" if dense_from else first, last))
                # The days' fingerprints too, a few hundred days at a time: written while the file is read.
                if len(file_pass.days) - printed >= PRINTS_BATCH:
                    meanwhile.then(partial(self._write_day_prints, file_pass.days[printed:], references))
                    printed = len(file_pass.days)
            meanwhile.then(partial(self._write_day_prints, file_pass.days[printed:], references))
        self._execute("sent_analyzed")
        if dense_from:  # the plan reads the table's rows of those dates
            self._execute(self.changed_between, {"first": dense_from, "last": "infinity", "from_page": _ALL_PAGES})
        self._execute("changed_analyzed")
        self._copy_days(file_pass.days)
        self._check_days(file_pass)
        self._execute("place")
        result = self._apply()
        self._finish_prints(file_pass.days, references)
        return self._result(result, file_pass, f"compared with fingerprints: {file_pass.sent} rows sent")

    def _send_changed(self, lines: list[bytes], first: str, last: str) -> None:
        """COPY lines of the days ``first`` to ``last`` into incoming, and keep those that differ from the table
        (when ``first`` is given: else they are compared later)."""
        copy_in(self.cursor, "incoming", (*self.layout.header, "keycrc"), lines)
        if first:
            # The batch's rows lie on the pages its COPY added, and maybe on the last one before (it had room).
            self._execute(
                self.changed_between, {"first": first, "last": last, "from_page": f"({self.pages_compared},0)"}
            )
            self.pages_compared = max(self.cursor.fetchone()[0] - 1, 0)

    def _take_references(self, references: _References) -> None:
        """For the dates with a later publication loaded (a backfill's publication): their references into
        load_refs, and the keys a later publication changed, as the references had them, into load_reference."""
        if not references.ref:
            return
        self.cursor.execute(
            "INSERT INTO load_refs (date, ref_at, ref_ident, ref_empty)"
            " SELECT u.date, p.published_at, p.ident,"
            " u.date NOT BETWEEN coalesce(p.first_date, 'infinity') AND coalesce(p.last_date, '-infinity')"
            " FROM unnest(%s::date[], %s::integer[]) AS u(date, ref) JOIN dataset_publications p ON p.id = u.ref",
            ([date.fromisoformat(day) for day in references.ref], list(references.ref.values())),
        )
        self._execute("reference")

    def _whole(self, references: _References) -> LoadResult:
        """Send every row; the database compares them with their references."""
        self.cursor.execute("TRUNCATE incoming, load_days, day_keys, load_refs")
        self.cursor.execute(f"ALTER TABLE incoming ADD PRIMARY KEY ({', '.join(self.dataset.key)})")
        self._execute("changed_table")
        self._take_references(references)
        file_pass = self._pass()
        copy_in(self.cursor, "incoming", self.layout.copy_columns, self._rows(file_pass))
        self._copy_days(file_pass.days)
        # The dates in the file's scope that the table or its changes have and the file lacks: all their keys are
        # gone (the changes' dates: a day a later publication emptied may have had keys at the reference).
        table = self.dataset.table
        self.cursor.execute(
            f"INSERT INTO load_days (date, rows, checked) SELECT date, 0, true FROM (SELECT DISTINCT date FROM {table}"
            f" WHERE date BETWEEN %(first)s AND %(last)s UNION SELECT DISTINCT date FROM {table}_changes"
            " WHERE date BETWEEN %(first)s AND %(last)s) t"
            " WHERE NOT EXISTS (SELECT 1 FROM load_days d WHERE d.date = t.date)",
            dict(zip(("first", "last"), scope_bounds(self.part), strict=True)),
        )
        self._execute("place")
        self._execute("sent_analyzed")  # the plan of the comparison reads the table whole
        self._execute(self.changed_between, {"first": "-infinity", "last": "infinity", "from_page": _ALL_PAGES})
        self._execute("changed_analyzed")
        result = self._apply()
        if isinstance(file_pass, FilePass):
            self._write_prints(file_pass.days, references)
        else:  # the table changed where no fingerprint says how: none of the dataset's can be trusted
            for table in ("dataset_fingerprints", "dataset_fingerprinted"):
                self.cursor.execute(f"DELETE FROM {table} WHERE dataset = %s", (self.dataset.name,))
        return self._result(result, file_pass, f"read whole: {file_pass.sent} rows sent")

    # -- reading ---------------------------------------------------------------------------------------

    def _pass(self) -> FilePass | RowPass:
        """A pass by day where the layout allows one; else row by row (another column order, kept rows)."""
        if self.by_day:
            return FilePass(self.checker, Fingerprinter(self.layout.signature()), self.scope)
        return RowPass(self.checker, self.scope)

    def _rows(self, file_pass: FilePass | RowPass) -> Iterator[bytes]:
        if isinstance(file_pass, FilePass):
            return self._progress(file_pass.whole(cut_days(self.stream, first_line=2, offset=self.start)))
        return self._progress(file_pass.rows_of(self.stream, first_line=2))

    def _progress(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """The chunks, logging every PROGRESS_SECONDS how far the read has come."""
        progress = Progress(log, f"{self.dataset.name}: read")
        for chunk in chunks:
            yield chunk
            progress.update(self.stream.tell() - self.start)

    def _result(self, result: LoadResult, file_pass: FilePass | RowPass, how: str) -> LoadResult:
        dates = [day.date for day in file_pass.days if day.rows]
        result.rows, result.sent = file_pass.rows, file_pass.sent
        result.first_date, result.last_date = (dates[0], dates[-1]) if dates else (None, None)
        result.files = {self.part.path: how}
        return result

    # -- the database's side ---------------------------------------------------------------------------

    def _first_for_scope(self) -> bool:
        """Whether no other publication covering the file's dates was loaded, and the table holds none."""
        first, last = scope_bounds(self.part)
        self.cursor.execute(
            "SELECT NOT EXISTS (SELECT 1 FROM dataset_publications WHERE dataset = %s AND id <> %s"
            " AND scope_from <= %s AND scope_to >= %s)",
            (self.dataset.name, self.publication_id, last, first),
        )
        if not self.cursor.fetchone()[0]:
            return False
        table = self.dataset.table
        self.cursor.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {table} WHERE date BETWEEN %s AND %s)", (first, last))
        return self.cursor.fetchone()[0]

    def _drop_indexes(self) -> list[str]:
        """Drop the empty table's primary key and indexes; return the statements that rebuild them."""
        table = self.dataset.table
        self.cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s",
            (table,),
        )
        rebuild = []
        for name, definition in self.cursor.fetchall():
            if name == f"{table}_pkey":
                self.cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
                rebuild.append(f"ALTER TABLE {table} ADD PRIMARY KEY ({', '.join(self.dataset.key)})")
            else:
                self.cursor.execute(f"DROP INDEX {name}")
                rebuild.append(definition)
        return rebuild

    def _references(self) -> _References:
        """What the file is compared with, per date of its scope that a loaded publication has (see
        :class:`_References`)."""
        first, last = scope_bounds(self.part)
        parameters = {"dataset": self.dataset.name, "publication": self.publication_id, "first": first, "last": last}
        self.cursor.execute(read_sql("fingerprint_references"), parameters)
        references = _References()
        for (
            day, ref_id, fingerprinted, rows, keysum, digest, blocks, chunks,
            inherited_publication, inherited_rows, inherited_digest, next_id, next_own,
        ) in self.cursor.fetchall():  # fmt: skip
            key = day.isoformat()
            references.covered = references.covered and fingerprinted
            if rows:
                references.prints[key] = DayPrint(bytes(digest), rows, keysum, bytes(blocks), bytes(chunks))
            if inherited_publication is not None:
                references.inherited[key] = (inherited_publication, bytes(inherited_digest) if inherited_rows else None)
            if next_id is not None:
                references.next[key] = (next_id, next_own)
                references.ref[key] = ref_id
        return references

    def _temporary_tables(self) -> None:
        table, key = self.dataset.table, ", ".join(self.dataset.key)
        types = {
            column.name: {"date": "date", "count": "bigint"}.get(column.kind, "text") for column in self.dataset.columns
        }
        key_columns = ", ".join(f"{name} {types[name]}" for name in self.dataset.key)
        self.cursor.execute(
            # No key to maintain (a third of the COPY's time): the comparison finds a batch by its pages, and
            # a key given twice is found in the day's new lines, by its key sum or by the table's own key.
            # The whole path, which has no key sums, adds it.
            f"CREATE TEMPORARY TABLE incoming (LIKE {table}, keycrc bigint) ON COMMIT DROP"
        )
        self.cursor.execute(
            "CREATE TEMPORARY TABLE load_days (date date PRIMARY KEY, rows integer NOT NULL,"
            " sent integer NOT NULL DEFAULT 0, checked boolean NOT NULL, old_rows integer NOT NULL DEFAULT 0,"
            " kept_rows integer NOT NULL DEFAULT 0,"
            " old_keysum bigint NOT NULL DEFAULT 0, new_keysum bigint NOT NULL DEFAULT 0) ON COMMIT DROP"
        )
        self.cursor.execute(f"CREATE TEMPORARY TABLE day_keys ({key_columns}, PRIMARY KEY ({key})) ON COMMIT DROP")
        self.cursor.execute(
            "CREATE TEMPORARY TABLE load_refs (date date PRIMARY KEY, ref_at timestamptz NOT NULL,"
            " ref_ident text NOT NULL, ref_empty boolean NOT NULL) ON COMMIT DROP"
        )

    def _copy_days(self, days: list[DayRecord]) -> None:
        columns = ("date", "rows", "sent", "checked", "old_rows", "kept_rows", "old_keysum", "new_keysum")
        lines = (
            f"{d.date},{d.rows},{d.sent},{d.checked},{d.old_rows},{d.kept_rows},{d.old_keysum},{d.new_keysum}\n".encode()
            for d in days
        )
        copy_in(self.cursor, "load_days", columns, lines)

    def _check_days(self, file_pass: FilePass) -> None:
        """Dates whose counts say keys were dropped get all their keys sent (reading the day again, which
        names a key given twice). Counts that cannot be, with every line valid, mean the fingerprints do
        not describe the table: :class:`_PrintsDisagree`."""
        self._execute("days_to_check")
        to_check = self.cursor.fetchall()
        by_date = {day.date: day for day in file_pass.days}

        def keys() -> Iterator[bytes]:
            for day_date, dropped, keysum_off in to_check:
                record = by_date[day_date.isoformat()]
                self.stream.seek(record.offset)
                day = Day(record.date.encode(), self.stream.read(record.size), record.first_line, record.offset)
                day_keys = file_pass.day_keys(day)
                if dropped < 0 or keysum_off != 0 and dropped == 0:
                    raise _PrintsDisagree(f"{record.date}: the fingerprints do not add up with the file's valid lines")
                yield from (key + b"\n" for key in day_keys)

        if to_check:  # one COPY of all their keys, read day by day
            copy_in(self.cursor, "day_keys", self.layout.header[: self.checker.key_prefix_fields], keys())
            dates = [day_date for day_date, _, _ in to_check]
            self.cursor.execute("UPDATE load_days SET checked = true WHERE date = ANY(%s)", (dates,))

    def _apply(self) -> LoadResult:
        """The SQL steps once the publication is placed and the rows that differ are known: write the dates
        it is the newest for, and record it in the history of the others."""
        self.cursor.execute("SELECT EXISTS (SELECT 1 FROM load_order WHERE next_id IS NOT NULL)")
        older = self.cursor.fetchone()[0]
        self._execute("gone")
        self._execute("newest")
        inserted, updated, deleted, newest_rows = self.cursor.fetchone()
        stale = older_rows = 0
        if older:
            self._execute("older")
            stale, older_rows = self.cursor.fetchone()
        unchanged = newest_rows - inserted - updated + older_rows - stale
        return LoadResult(inserted=inserted, updated=updated, deleted=deleted, unchanged=unchanged, stale=stale)

    def _execute(self, section: str, parameters: dict[str, Any] | None = None) -> None:
        """Run a section of dataset_load.sql, statement by statement (the last one's rows can be fetched),
        with the publication's id and ``parameters``."""
        parameters = {**self.parameters, **(parameters or {})}
        for statement in self.sql[section]:
            began = time.perf_counter()
            self.cursor.execute(statement, parameters if "%(" in statement else None)
            first_line = statement.split("\n")[0][:60]
            log.debug("%s: %s: %s in %.3f s", self.dataset.name, section, first_line, time.perf_counter() - began)

    def _write_prints(self, days: list[DayRecord], references: _References) -> None:
        """Record the publication's fingerprints where its days differ from those it inherits (the latest
        publication's before it): a day it lacks, as gone; then mark it fingerprinted. A next publication
        that inherited the same records first gets its own copy of them."""
        self._write_day_prints(days, references)
        self._finish_prints(days, references)

    def _finish_prints(self, days: list[DayRecord], references: _References) -> None:
        """Record the days the publication lacks, of those it inherits, as gone; mark it fingerprinted (its
        days' records written already)."""
        printed, inherited = {day.date for day in days if day.rows}, references.inherited
        emptied = [day for day, (_, digest) in inherited.items() if digest is not None and day not in printed]
        self._write_day_prints([], references, emptied=emptied)
        self.cursor.execute(
            "INSERT INTO dataset_fingerprinted (dataset, publication) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (self.dataset.name, self.publication_id),
        )

    def _write_day_prints(
        self, days: Sequence[DayRecord], references: _References, *, emptied: Sequence[str] = ()
    ) -> None:
        """Record the fingerprints of ``days`` that differ from those the publication inherits, and the
        ``emptied`` days as gone."""
        name, publication = self.dataset.name, self.publication_id
        inherited = references.inherited
        written = [day for day in days if day.rows and inherited.get(day.date, (None, None))[1] != day.print.digest]
        # The next publication's records of those days as it has them now, before this one's come before them.
        copies = [
            (date.fromisoformat(day), references.next[day][0], inherited.get(day, (None, None))[0])
            for day in [*(d.date for d in written), *emptied]
            if day in references.next and not references.next[day][1]
        ]
        if copies:
            dates, nexts, sources = (list(column) for column in zip(*copies, strict=True))
            self.cursor.execute(
                read_sql("fingerprint_copies"), {"dataset": name, "day": dates, "next": nexts, "source": sources}
            )
        # COPY's binary format: no hex to write here nor to parse on the server (half the COPY's time).
        name_value, publication_value = name.encode(), _INT.pack(publication)

        def record(day: str, rows: int, keysum: int, digest: bytes, blocks: bytes, chunks: bytes) -> bytes:
            ordinal = _DATE.pack(date.fromisoformat(day).toordinal() - _POSTGRES_EPOCH)
            return binary_row(
                name_value, ordinal, publication_value, _INT.pack(rows), _BIGINT.pack(keysum), digest, blocks, chunks
            )

        records = [
            record(d.date, d.print.rows, d.print.keysum, d.print.digest, d.print.blocks, d.print.chunks)
            for d in written
        ]
        records += [record(day, 0, 0, b"", b"", b"") for day in emptied]
        if records:
            columns = ("dataset", "date", "publication", "rows", "keysum", "digest", "blocks", "chunks")
            copy_in(self.cursor, "dataset_fingerprints", columns, records, binary=True)


@dataclass
class _References:
    """What a file is compared with, per date (ISO text) of its scope that a loaded publication has: the
    date's reference, of the publications loaded for the date the latest before it (the table's, unless
    the file is a backfill's) or the earliest after it, whichever was published nearer in time.

    :param prints: the reference's fingerprint of the date, where it has rows.
    :param inherited: the latest publication before this one with a record of the date, and its digest
        (None: the day was gone).
    :param next: the next publication loaded for the date, and whether it has a record of the date.
    :param ref: the reference of each date that has a next publication (the others' is the table).
    :param covered: every reference's fingerprints are whole (ADR 0005).
    """

    prints: dict[str, DayPrint] = field(default_factory=dict)
    inherited: dict[str, tuple[int, bytes | None]] = field(default_factory=dict)
    next: dict[str, tuple[int, bool]] = field(default_factory=dict)
    ref: dict[str, int] = field(default_factory=dict)
    covered: bool = True


class _Meanwhile:
    """Work on the load's connection from a thread of its own, in the order given, while this thread reads
    the file (and does not use the connection): the server and Python each busy on a core.

    On the way out the thread is waited for. An error of the body is raised first: the work still queued is
    dropped, and work reading a file stops at its next read (``stopped``). Else the work's first error is
    raised (the work after it was dropped).
    """

    def __init__(self) -> None:
        # A batch or two ahead at most: memory stays flat whichever side is slower.
        self.work: queue.Queue[Callable[[], None] | None] = queue.Queue(maxsize=2)
        self.stopped = False
        self.error: BaseException | None = None

    def then(self, job: Callable[[], None]) -> None:
        """Queue ``job``, waiting while the queue is full."""
        self.work.put(job)

    def _run(self) -> None:
        while (job := self.work.get()) is not None:
            if self.error is None and not self.stopped:
                try:
                    job()
                except BaseException as exc:  # kept for the body's thread to raise
                    self.error = exc

    def __enter__(self) -> _Meanwhile:
        self.thread = threading.Thread(target=self._run, name="covid_etl-meanwhile")
        self.thread.start()
        return self

    def __exit__(self, kind, value, traceback) -> None:
        self.stopped = kind is not None
        self.work.put(None)
        self.thread.join()
        if kind is None and self.error is not None:
            raise self.error


class _Stopped(Exception):
    """The body of :class:`_Meanwhile` failed: the file's reading stops."""


def _read_chunks(stream: BinaryIO, meanwhile: _Meanwhile, size: int = 1024 * 1024) -> Iterator[bytes]:
    """The rest of the stream, a megabyte at a time, with a newline after a last line that lacks one."""
    last = b""
    while chunk := stream.read(size):
        if meanwhile.stopped:
            raise _Stopped
        last = chunk
        yield chunk
    if last and not last.endswith(b"\n"):
        yield b"\n"


def _batches_of_days(
    lines: Iterable[bytes], day_of: Callable[[], DayRecord]
) -> Iterator[tuple[str, str, list[bytes], float]]:
    """The days' lines (one item per day, ``day_of()`` its record once given) in batches of about SEND_BATCH
    bytes, each with its first and last date and the share of its days' rows it sends."""
    batch: list[bytes] = []
    size, first, last, sent, rows = 0, "", "", 0, 0
    for day_lines in lines:
        day = day_of()
        first, last = first or day.date, day.date
        sent, rows = sent + day.sent, rows + day.rows
        batch.append(day_lines)
        size += len(day_lines)
        if size >= SEND_BATCH:
            yield first, last, batch, sent / max(rows, 1)
            batch, size, first, sent, rows = [], 0, "", 0, 0
    if batch:
        yield first, last, batch, sent / max(rows, 1)


class _PrintsDisagree(Exception):
    """The table's fingerprints and the file's lines do not add up: send every row instead."""


def _blame_repeated_key(stream: BinaryIO, checker: Checker) -> None:
    """Read the file again, line by line, and blame the first key it gives twice."""
    seen: dict[bytes, int] = {}
    for number, raw in enumerate(stream, start=2):
        line = raw.rstrip(b"\r\n")
        if not line.strip():
            continue
        fields = checker.fields(number, line)
        if checker.kept(fields):
            key = checker.key_of(fields)
            if key in seen:
                already = f"{', '.join(checker.dataset.key)} already given on line {seen[key]}"
                raise checker.blame(number, already, line[:200])
            seen[key] = number
