"""Faults while a county publication is loaded over the one before, through `make run`'s driver on a county
series of about 51,000 rows (issue 21): a kill of the whole `make run`, the database stopped, its disk full.
After each, the table is exactly the previous publication, and the next run makes it exact. And five runs in
a row leave no staged file behind, the fifth saying that the fourth (killed) did not finish.

A fault must strike while the load is under way: the test holds an exclusive lock on the county table, so
the load waits on it inside its transaction (its publication registered), and strikes once PostgreSQL shows
the load waiting.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest

from covid_etl.sources.specs import COUNTIES
from devstack import LocalPostgres, free_port
from loads import expected_rows, load_file, table_rows
from local_http import FixtureServer
from support import ROOT

STATES = ("Idaho", "Maine", "Ohio", "Texas", "Utah")
COUNTIES_PER_STATE = 60
FIRST = date(2020, 3, 1)


def county_series(days: int, *, revised: int = 0) -> str:
    """A county file of ``days`` days (300 counties a day, sorted as NYT sorts), ``revised`` rows changed."""
    lines = ["date,county,state,fips,cases,deaths"]
    for day in range(days):
        when = (FIRST + timedelta(days=day)).isoformat()
        for state_at, state in enumerate(STATES):
            for county in range(COUNTIES_PER_STATE):
                cases = (day + 1) * (county + 3) + (1 if (day * 300 + county) % 997 < revised else 0)
                fips = f"{state_at + 16:02d}{county * 2 + 1:03d}"
                lines.append(f"{when},County {county:02d},{state},{fips},{cases},{cases // 50}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def publications(tmp_path_factory) -> dict[str, Path]:
    """P1 (170 days, ~51,000 rows), P2 (a day more, revisions), a malformed P3, P4 (a day more than P2)."""
    folder = tmp_path_factory.mktemp("county-publications")
    texts = {
        "p1": county_series(170),
        "p2": county_series(171, revised=3),
        "p4": county_series(172, revised=5),
    }
    texts["p3"] = texts["p2"] + "2020-08-19,County 00,Idaho,16001,many,0\n"
    for name, text in texts.items():
        (folder / f"{name}.csv").write_text(text)
    return {name: folder / f"{name}.csv" for name in texts}


@pytest.fixture(scope="module")
def served(publications) -> FixtureServer:
    server = FixtureServer(root=next(iter(publications.values())).parent)
    yield server
    server.shutdown()


def expected(path: Path) -> list[tuple]:
    return expected_rows(COUNTIES, path.read_text())


def make_run(local: Path, db_url: str, url: str, **popen) -> subprocess.Popen:
    """`make run`'s driver with its state under ``local``, loading the county file at ``url``."""
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith(("AIRFLOW_", "COVID_ETL_"))},
        "COVID_ETL_DB_URL": db_url,
        "COVID_ETL_DATASETS": "counties",
        "COVID_ETL_COUNTIES_URL": url,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "include"), str(ROOT / "scripts")]),
    }
    code = "import sys, pathlib, run_pipeline; sys.exit(run_pipeline.main(pathlib.Path(sys.argv[1])))"
    return subprocess.Popen(
        [sys.executable, "-c", code, str(local)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **popen,
    )


def finished(process: subprocess.Popen) -> tuple[int, list[str]]:
    output, _ = process.communicate(timeout=300)
    return process.returncode, output.strip().splitlines()


class LoadHeld:
    """An exclusive lock on the county table, held until the load waits on it; then ``strike`` runs."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self.conn = psycopg.connect(db_url)
        self.conn.execute("LOCK TABLE covid_us_county_daily IN ACCESS EXCLUSIVE MODE")

    def wait_for_the_load(self, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.db_url, autocommit=True) as watcher:
            while time.monotonic() < deadline:
                waiting = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                ).fetchone()[0]
                if waiting:
                    return
                time.sleep(0.2)
        raise TimeoutError("the county load never reached the table")

    def release(self) -> None:
        try:
            self.conn.close()
        except psycopg.Error:
            pass


def test_five_runs_leave_no_staged_file_and_the_fifth_says_the_killed_fourth_did_not_finish(
    db_url, publications, served, tmp_path
):
    local = tmp_path / "local"
    urls = {name: served.url(f"files/{path.name}") for name, path in publications.items()}
    assert finished(make_run(local, db_url, urls["p1"]))[0] == 0
    assert finished(make_run(local, db_url, urls["p2"]))[0] == 0
    code, lines = finished(make_run(local, db_url, urls["p3"]))
    assert code == 1 and "cases is not a non-negative integer" in json.loads(lines[-1])["error"]
    assert table_rows(db_url, COUNTIES) == expected(publications["p2"])

    held = LoadHeld(db_url)
    fourth = make_run(local, db_url, urls["p4"], start_new_session=True)
    try:
        held.wait_for_the_load()
        record = json.loads(next((local / "runs").glob("*.json")).read_text())
        os.killpg(fourth.pid, signal.SIGKILL)  # the whole `make run`, as a user's kill -9 of its group
        fourth.wait(timeout=60)
    finally:
        held.release()
    assert table_rows(db_url, COUNTIES) == expected(publications["p2"])
    assert _alive(record["sns_pid"])  # moto runs in a session of its own: the kill left it running

    code, lines = finished(make_run(local, db_url, urls["p4"]))
    assert code == 0, lines
    assert any(
        line.startswith(
            f"make run: the run of {record['logical_date']} started at {record['started_at']} did not finish"
        )
        for line in lines
    ), lines
    assert table_rows(db_url, COUNTIES) == expected(publications["p4"])
    assert not _alive(record["sns_pid"])
    assert [path for path in (local / "staging").rglob("*") if path.is_file()] == []
    assert list((local / "runs").glob("*.json")) == []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def own_server(tmp_path):
    """A PostgreSQL server of this test's own, which it may stop."""
    server = LocalPostgres(tmp_path / "pgdata", port=free_port(), durable=False)
    server.start()
    yield server
    server.stop()


def test_the_database_stopped_during_the_county_load_names_that_load_and_the_next_run_records_it_and_ends_exact(
    own_server, publications, served, tmp_path
):
    db_url, local = own_server.url, tmp_path / "local"
    load_file(db_url, "counties", publications["p1"], at=_at(1), commit="p1", part="us-counties.csv")
    held = LoadHeld(db_url)
    run = make_run(local, db_url, served.url("files/p2.csv"))
    try:
        held.wait_for_the_load()
        own_server.stop(immediately=True)
    finally:
        held.release()
    code, lines = finished(run)
    summary = json.loads(lines[-1])
    assert code == 1
    assert summary["error"].startswith("counties.load: ")
    assert summary["failed_tasks"][0] == "counties.load"
    assert summary["national_status"] == "skipped" and summary["states"]["status"] == "skipped"
    own_server.start()
    assert table_rows(db_url, COUNTIES) == expected(publications["p1"])

    assert finished(make_run(local, db_url, served.url("files/p2.csv")))[0] == 0
    assert table_rows(db_url, COUNTIES) == expected(publications["p2"])
    with psycopg.connect(db_url) as conn:
        failed = conn.execute(
            "SELECT dataset, error FROM etl_runs WHERE run_id = %s AND status = 'failed'", (summary["run_id"],)
        ).fetchall()
    assert ("counties", failed[0][1]) == failed[0] and failed[0][1].startswith("counties.load: ")


def _at(day: int):
    from datetime import UTC, datetime

    return datetime(2020, 9, day, tzinfo=UTC)


def test_the_databases_disk_full_during_the_county_load_leaves_the_table_and_the_next_run_ends_exact(
    publications, served, tmp_path
):
    assert os.geteuid() == 0, "this test mounts a small disk (tmpfs), which needs root, as CI runs"
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96m", "tmpfs", str(disk)], check=True)
    server = LocalPostgres(disk / "pgdata", port=free_port(), durable=True)
    try:
        server.start()
        db_url, local = server.url, tmp_path / "local"
        load_file(db_url, "counties", publications["p1"], at=_at(1), commit="p1", part="us-counties.csv")
        filler = disk / "filler"
        _fill(filler)
        code, lines = finished(make_run(local, db_url, served.url("files/p2.csv")))
        assert code == 1 and json.loads(lines[-1])["error"].startswith("counties.")
        filler.unlink()
        if not server.is_running():  # PostgreSQL stops when it cannot write its WAL
            server.start()
        assert table_rows(db_url, COUNTIES) == expected(publications["p1"])
        assert finished(make_run(local, db_url, served.url("files/p2.csv")))[0] == 0
        assert table_rows(db_url, COUNTIES) == expected(publications["p2"])
    finally:
        server.stop()
        subprocess.run(["umount", "-l", str(disk)], check=False)
        shutil.rmtree(disk, ignore_errors=True)


def _fill(path: Path) -> None:
    """Take every byte the disk has left."""
    with path.open("wb") as filler:
        try:
            while True:
                filler.write(b"\0" * (1 << 20))
                filler.flush()
        except OSError:
            pass
