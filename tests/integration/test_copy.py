"""COPY on both drivers the loader is given (covid_etl.load.database.copy_in): psycopg 3, which
PostgresHook hands out on MWAA, and psycopg2."""

from __future__ import annotations

import struct
from datetime import date

import psycopg
import psycopg2
import pytest

from covid_etl.errors import InvalidSourceError
from covid_etl.load.database import binary_row, copy_in

DRIVERS = [pytest.param(psycopg2.connect, id="psycopg2"), pytest.param(psycopg.connect, id="psycopg3")]


@pytest.mark.parametrize("connect", DRIVERS)
def test_copy_streams_the_chunks_as_csv_lines(connect, db_url):
    conn = connect(db_url)
    try:
        with conn.cursor() as cursor:
            cursor.execute("CREATE TABLE t (a text, b bigint)")
            copy_in(cursor, "t", ("b", "a"), iter([b"1,x\n2,", b'"y, z"\n', b"3,\n"]))
            cursor.execute("SELECT a, b FROM t ORDER BY b")
            assert cursor.fetchall() == [("x", 1), ("y, z", 2), (None, 3)]
    finally:
        conn.close()


@pytest.mark.parametrize("connect", DRIVERS)
def test_an_error_raised_while_reading_the_chunks_reaches_the_caller_as_itself(connect, db_url):
    def chunks():
        yield b"1,x\n"
        raise InvalidSourceError(source="NYT", location="f.csv", line=3, problem="bad", value="x")

    conn = connect(db_url)
    try:
        with conn.cursor() as cursor:
            cursor.execute("CREATE TABLE t (b bigint, a text)")
            with pytest.raises(InvalidSourceError) as caught:
                copy_in(cursor, "t", ("b", "a"), chunks())
            assert (caught.value.line, str(caught.value)) == (3, "NYT f.csv, line 3: bad: 'x'")
    finally:
        conn.close()


@pytest.mark.parametrize("connect", DRIVERS)
def test_copy_in_binary_takes_rows_of_values_in_postgresqls_binary_form(connect, db_url):
    days_since_2000 = (date(2020, 3, 1) - date(2000, 1, 1)).days
    rows = [
        binary_row("Doña Ana".encode(), struct.pack("!i", days_since_2000), struct.pack("!q", 2**40), b"\x00\xff\n"),
        binary_row(b"", struct.pack("!i", days_since_2000 + 1), struct.pack("!q", -1), b"x" * 200_000),
    ]
    conn = connect(db_url)
    try:
        with conn.cursor() as cursor:
            cursor.execute("CREATE TABLE t (a text, d date, n bigint, b bytea)")
            copy_in(cursor, "t", ("a", "d", "n", "b"), iter(rows), binary=True)
            cursor.execute("SELECT a, d, n, length(b), substr(b, 1, 3) FROM t ORDER BY d")
            found = [(a, d, n, size, bytes(head)) for a, d, n, size, head in cursor.fetchall()]
            assert found == [
                ("Doña Ana", date(2020, 3, 1), 2**40, 3, b"\x00\xff\n"),
                ("", date(2020, 3, 2), -1, 200_000, b"xxx"),
            ]
    finally:
        conn.close()
