"""dlt_merge: dlt's PostgreSQL destination, ``write_disposition="merge"`` on the date (a merge key), fed
pyarrow batches.

Runs in its own virtualenv (``.venv-dlt``, from benchmarks/requirements-dlt.lock): dlt is a benchmark peer,
not a dependency of the DAG.

- Input: the file read by pyarrow's streaming CSV reader, FIPS kept as text (leading zeros) with empty as
  null, each batch reordered to the table's columns plus a constant ``run_id``, yielded as a resource.
- Merge: dlt's default strategy, ``delete-insert``, on a merge key, the date: the batches are loaded into
  a staging table (schema ``<dataset>_staging``), then one transaction deletes the target rows of every
  date staged and inserts the staged rows. A publication thus replaces its dates whole, which removes the
  keys it dropped (next_day drops some); on the primary key instead, dlt would delete only the keys staged
  and leave the dropped ones (and ``primary_key`` and ``merge_key`` together delete on either, an ``OR``
  PostgreSQL cannot hash-join). The file has no key twice, so no deduplication is needed. It keeps no
  history.
- File format: ``parquet`` (:data:`LOADER_FILE_FORMAT`); dlt loads it into PostgreSQL through the ADBC
  driver (COPY in binary). Measured faster here than ``csv`` (COPY of CSV dlt writes from the batches) and
  far faster than ``insert_values`` (dlt's default for postgres, which turns arrow back into Python rows);
  benchmarks/README.md has the numbers. ``BENCH_DLT_LOADER_FILE_FORMAT`` overrides it.
- Table: created before dlt's first run with the same DDL as every other method's, in dlt's dataset schema,
  so that dlt loads into the same columns, types and primary key (left to itself, dlt creates ``varchar``
  columns and no primary key index). The column hints say the same to dlt's schema.

The prepare step is dlt's own load of BASE, in the same pipeline: the table and dlt's state tables are
as a daily dlt job would find them. dlt's merge does not say how many rows it inserted or updated.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dlt
import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv
from common import CREATE_TABLE, TABLE, LoadCounts, Method, run

# dlt reads its configuration when a pipeline is made, so this is in time. No network here, and none wanted.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

DATASET = "dlt_bench"
QUALIFIED_TABLE = f"{DATASET}.{TABLE}"
LOADER_FILE_FORMAT = os.environ.get("BENCH_DLT_LOADER_FILE_FORMAT", "parquet")
RUN_ID = "dlt_merge"
READ_BLOCK_BYTES = 16 << 20  # ~400k rows per batch
MERGE_KEY = "date"
# How pyarrow reads the file's columns: FIPS as text, or "06059" would lose its leading zero.
COLUMN_TYPES = {
    "date": pa.date32(),
    "county": pa.string(),
    "state": pa.string(),
    "fips": pa.string(),
    "cases": pa.int64(),
    "deaths": pa.int64(),
}
# The batches dlt gets: the table's columns, nullable only where the table's are (as the hints below say).
BATCH_SCHEMA = pa.schema(
    [
        pa.field("date", pa.date32(), nullable=False),
        pa.field("state", pa.string(), nullable=False),
        pa.field("county", pa.string(), nullable=False),
        pa.field("fips", pa.string(), nullable=True),
        pa.field("cases", pa.int64(), nullable=False),
        pa.field("deaths", pa.int64(), nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
    ]
)
COLUMN_HINTS = {
    "date": {"data_type": "date", "nullable": False},
    "state": {"data_type": "text", "nullable": False},
    "county": {"data_type": "text", "nullable": False},
    "fips": {"data_type": "text", "nullable": True},
    "cases": {"data_type": "bigint", "nullable": False},
    "deaths": {"data_type": "bigint", "nullable": False},
    "run_id": {"data_type": "text", "nullable": False},
}
# One pipeline folder per process, shared by the prepare step and the timed load, removed at the end.
PIPELINES_DIR = Path(tempfile.mkdtemp(prefix="bench-dlt-"))


def arrow_batches(path: Path) -> Iterator[pa.RecordBatch]:
    """The file as record batches of the table's columns (date, state, county, fips, cases, deaths, run_id)."""
    reader = pa_csv.open_csv(
        path,
        read_options=pa_csv.ReadOptions(block_size=READ_BLOCK_BYTES),
        convert_options=pa_csv.ConvertOptions(
            column_types=COLUMN_TYPES, strings_can_be_null=True, null_values=[""], quoted_strings_can_be_null=False
        ),
    )
    for batch in reader:
        columns = [batch.column(name) for name in BATCH_SCHEMA.names[:-1]]
        run_ids = pa.array([RUN_ID] * batch.num_rows, pa.string())
        yield pa.RecordBatch.from_arrays([*columns, run_ids], schema=BATCH_SCHEMA)


def setup(db_url: str) -> None:
    """The target table in dlt's dataset schema, with the DDL every method's table has."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {DATASET}")
        conn.execute(CREATE_TABLE.format(table=QUALIFIED_TABLE))


def dlt_credentials(db_url: str) -> str:
    """``db_url`` with a password: dlt requires one, and a server that trusts local connections ignores it."""
    parts = urlsplit(db_url)
    if parts.password is not None:
        return db_url
    netloc = f"{parts.username or 'postgres'}:unused@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def load(db_url: str, path: Path, case: str) -> LoadCounts:
    """Merge the file into the table with one ``pipeline.run``."""
    pipeline = dlt.pipeline(
        pipeline_name="bench_counties",
        destination=dlt.destinations.postgres(credentials=dlt_credentials(db_url)),
        dataset_name=DATASET,
        pipelines_dir=str(PIPELINES_DIR),
    )
    resource = dlt.resource(
        arrow_batches(path),
        name=TABLE,
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        merge_key=MERGE_KEY,
        columns=COLUMN_HINTS,
    )
    info = pipeline.run(resource, loader_file_format=LOADER_FILE_FORMAT)
    info.raise_on_failed_jobs()
    return LoadCounts()


def prepare(db_url: str, base: Path) -> None:
    """BASE loaded by dlt itself, as the daily job before this one would have."""
    load(db_url, base, "first_load")


if __name__ == "__main__":
    try:
        status = run(
            Method(
                name="dlt_merge",
                cases=("first_load", "forced_reload", "revised_1pct", "next_day"),
                load=load,
                prepare=prepare,
                setup=setup,
                table=QUALIFIED_TABLE,
            )
        )
    finally:
        shutil.rmtree(PIPELINES_DIR, ignore_errors=True)
    sys.exit(status)
