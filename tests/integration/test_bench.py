"""The county benchmark on a real PostgreSQL (benchmarks/): each method script's cases and their
verification, ours' history and profile, the backfill, and the harness end to end on small files.

Speed is not asserted anywhere: the benchmark's numbers are its printed table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
import pytest

from bench_support import BENCHMARKS, METHODS_DIR, bench, common, generator, read_rows, short_county_list
from loads import load_file, query

SMALL_ROWS = 5000  # two days of the 3,273 counties: 6,546 rows
RESULT_KEYS = {"seconds", "ratio_to_floor", "rows_per_second", "peak_rss_mb", "verified"}
BACKFILL_KEYS = {"vs_30_next_day", "history_bytes", "latest_bytes", "as_of_county_ms", "as_of_state_date_ms"}
NAMES = {
    "first_load", "forced_reload", "revised_1pct", "next_day", "next_day_cold", "skip", "execute_values_first_load",
    "execute_values_next_day", "dlt_first_load", "dlt_next_day", "rss_0_5m", "rss_5m", "backfill_30",
}  # fmt: skip


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """The generator's files for ~5,000 rows of every county, and their manifest."""
    folder = tmp_path_factory.mktemp("counties")
    return folder, generator.generate(SMALL_ROWS, 7, folder)


@pytest.fixture(scope="module")
def short(tmp_path_factory):
    """A base of ten days of a short county list and a backfill of 30 daily publications after it."""
    folder = tmp_path_factory.mktemp("short")
    counties = short_county_list(folder)
    generator.generate(650, 9, folder, counties_csv=counties)
    out = generator.backfill_folder(folder, 30)
    generator.generate_backfill(650, 9, out, 30, counties_csv=counties)
    return out / "manifest.json"


def run_method(
    method: str, db_url: str, case: str, path: Path, base: Path | None = None, *extra: str, env: dict | None = None
) -> dict:
    """Run a method script as the harness does; its JSON line."""
    python = bench().method_python(method)  # builds .venv-dlt from its hashed lock for dlt_merge, as make bench does
    command = [str(python), str(METHODS_DIR / f"{method}.py"), "--db", db_url, "--case", case, "--file", str(path)]
    result = subprocess.run(
        command + (["--base", str(base)] if base else []) + list(extra),
        capture_output=True,
        text=True,
        env=os.environ | (env or {}),
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def table_rows(db_url: str, table: str = "covid_us_county_daily") -> list[tuple]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(f"SELECT date, state, county, fips, cases, deaths FROM {table} ORDER BY 1, 2, 3").fetchall()


def as_table_rows(path: Path) -> list[tuple]:
    """A county file's rows as the table holds them (empty FIPS as NULL), in the table's order."""
    rows = [
        (date.fromisoformat(day), state, county, fips or None, int(cases), int(deaths))
        for day, county, state, fips, cases, deaths in read_rows(path)
    ]
    return sorted(rows, key=lambda row: row[:3])


# --- the method scripts --------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["floor", "floor_indexed", "seed_execute_values", "ours"])
def test_first_load_inserts_every_row_with_empty_fips_as_null_into_a_logged_table(method, small, db_url):
    folder, manifest = small
    result = run_method(method, db_url, "first_load", folder / "base.csv")
    assert {"method", "case", "seconds", "rows", "inserted", "updated", "deleted", "verified", "problems"} <= set(
        result
    )
    assert (result["rows"], result["inserted"], result["updated"], result["deleted"]) == (manifest.rows,) + (
        manifest.rows,
        0,
        0,
    )
    assert result["verified"] and result["problems"] == [] and result["seconds"] > 0
    assert table_rows(db_url) == as_table_rows(folder / "base.csv")
    with psycopg.connect(db_url) as conn:
        nulls = conn.execute("SELECT count(*) FROM covid_us_county_daily WHERE fips IS NULL").fetchone()[0]
        persistence = conn.execute(
            "SELECT relpersistence FROM pg_class WHERE relname = 'covid_us_county_daily'"
        ).fetchone()
    assert nulls == manifest.days * sum(1 for c in generator.read_counties() if not c.fips)
    assert persistence == ("p",)  # logged, as the table is in production


@pytest.mark.parametrize("way", ["after", "during"])
def test_floor_indexed_leaves_the_floors_table_with_ours_lookup_index_too_either_way(way, small, db_url):
    folder, manifest = small
    result = run_method("floor_indexed", db_url, "first_load", folder / "base.csv", env={"BENCH_FLOOR_INDEXED": way})
    assert (result["verified"], result["inserted"], result["way"]) == (True, manifest.rows, way)
    assert result["indexes"] == bench().FLOOR_INDEXED_INDEXES
    run = bench().Run("floor_indexed", "first_load", SMALL_ROWS, "floor_indexed")
    assert bench().problems_with(bench().Outcome(run, result), manifest) == []
    assert index_definitions(db_url) == {
        "covid_us_county_daily_lookup_idx": "CREATE INDEX covid_us_county_daily_lookup_idx ON"
        " public.covid_us_county_daily USING btree (state, county)",
        "covid_us_county_daily_pkey": "CREATE UNIQUE INDEX covid_us_county_daily_pkey ON"
        " public.covid_us_county_daily USING btree (date, state, county)",
    }
    assert table_rows(db_url) == as_table_rows(folder / "base.csv")


def test_floor_indexed_builds_the_indexes_ours_first_load_builds(small, db_url, postgres_server):
    folder, _ = small
    ours_url = postgres_server.create_database(f"test_ours_{uuid.uuid4().hex[:12]}")
    assert run_method("ours", ours_url, "first_load", folder / "base.csv")["verified"]
    assert run_method("floor_indexed", db_url, "first_load", folder / "base.csv")["verified"]
    assert index_definitions(db_url) == index_definitions(ours_url)


def test_floor_indexed_fails_when_its_way_is_unknown(small, db_url):
    folder, _ = small
    result = subprocess.run(
        [sys.executable, str(METHODS_DIR / "floor_indexed.py"), "--db", db_url, "--case", "first_load"]
        + ["--file", str(folder / "base.csv")],
        capture_output=True,
        text=True,
        env=os.environ | {"BENCH_FLOOR_INDEXED": "sideways"},
    )
    assert result.returncode == 1 and "BENCH_FLOOR_INDEXED is one of after, during, not 'sideways'" in result.stderr


def index_definitions(db_url: str) -> dict[str, str]:
    with psycopg.connect(db_url) as conn:
        return dict(
            conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'covid_us_county_daily'")
        )


@pytest.mark.parametrize(
    ("case", "file"),
    [
        ("forced_reload", "republished"),
        ("revised_1pct", "revised"),
        ("next_day", "next_day"),
        ("next_day_cold", "next_day"),
    ],
)
def test_ours_loads_the_next_publication_onto_its_base_and_records_what_it_changed(case, file, small, db_url):
    folder, manifest = small
    result = run_method("ours", db_url, case, folder / f"{file}.csv", folder / "base.csv")
    counts = bench().expected_counts(manifest, case)
    assert (result["inserted"], result["updated"], result["deleted"], result["verified"]) == (*counts, True)
    assert result["history"] == bench().expected_history(manifest, case) and result["publications"] == 2
    assert table_rows(db_url) == as_table_rows(folder / f"{file}.csv")
    if case.startswith("next_day"):
        assert result["deleted"] == 5 and not common.keys_present(psycopg.connect(db_url), manifest.next_day_deleted)
    # The previous publication's staged copy (next_day's) is removed, and its folder in the temporary directory.
    assert not (Path(tempfile.gettempdir()) / "bench-staging").exists()


def test_ours_skip_finds_the_loaded_commit_and_loads_nothing(small, db_url):
    folder, manifest = small
    result = run_method("ours", db_url, "skip", folder / "base.csv", folder / "base.csv")
    assert (result["skipped"], result["inserted"], result["history"], result["publications"]) == (True, 0, {}, 1)
    assert result["verified"] and result["profile"]["statements"][0][0]  # the check's queries, timed


def test_ours_profile_splits_the_load_into_python_copy_sql_and_commit(small, db_url):
    folder, _ = small
    result = run_method("ours", db_url, "next_day", folder / "next_day.csv", folder / "base.csv")
    profile = result["profile"]
    parts = ("connect", "python_read", "python_other", "copy", "sql", "commit")
    assert all(profile[part] >= 0 for part in parts) and profile["sql"] > 0 and profile["python_read"] > 0
    assert sum(profile[part] for part in parts) == pytest.approx(profile["total"], abs=0.002)
    assert abs(profile["total"] - result["seconds"]) < 0.05
    assert profile["meanwhile"] > 0  # the batches copied and compared from the loader's second thread
    assert any(name.startswith("WITH changes AS") for name, _, _ in profile["statements"])  # dataset_load.sql's newest


@pytest.mark.parametrize("method", ["seed_execute_values", "dlt_merge"])
def test_peers_leave_the_next_days_publication_in_their_table_its_dropped_keys_deleted(method, small, db_url):
    folder, manifest = small
    result = run_method(method, db_url, "next_day", folder / "next_day.csv", folder / "base.csv")
    assert result["verified"], result["problems"]
    table = "dlt_bench.covid_us_county_daily" if method == "dlt_merge" else "covid_us_county_daily"
    assert table_rows(db_url, table) == as_table_rows(folder / "next_day.csv")
    if method == "seed_execute_values":
        assert (result["inserted"], result["updated"], result["deleted"]) == bench().expected_counts(
            manifest, "next_day"
        )


@pytest.mark.parametrize("method", ["floor", "floor_indexed", "seed_execute_values"])
def test_method_refuses_a_case_it_does_not_implement(method, small, db_url):
    folder, _ = small
    for case in set(common.CASE_FILES) - set(bench().METHODS[method].cases):
        result = subprocess.run(
            [sys.executable, str(METHODS_DIR / f"{method}.py"), "--db", db_url, "--case", case]
            + ["--file", str(folder / "base.csv"), "--base", str(folder / "base.csv")],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 2 and f"does not implement case '{case}'" in result.stderr


def test_verification_tells_a_table_that_differs_from_the_file_by_one_value(small, db_url):
    folder, _ = small
    run_method("floor", db_url, "first_load", folder / "base.csv")
    assert common.verify(db_url, folder / "base.csv") == (len(read_rows(folder / "base.csv")), [])
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "UPDATE covid_us_county_daily SET deaths = deaths + 1 WHERE county = 'Autauga' AND date = '2020-01-22'"
        )
    assert "is not the file's" in common.verify(db_url, folder / "base.csv")[1][0]
    with psycopg.connect(db_url) as conn:  # the sums right again, the FIPS not
        conn.execute("UPDATE covid_us_county_daily SET deaths = deaths - 1, fips = NULL WHERE county = 'Autauga'")
    assert common.verify(db_url, folder / "base.csv")[1]


def test_a_tables_digest_is_its_files_with_names_the_csv_quotes(db_url, tmp_path):
    counties = tmp_path / "counties.csv"
    generator.write_counties(
        [generator.County("Alaska", 'Valdez, "Cordova"', "02261"), generator.County("Alaska", "Yakutat", "")], counties
    )
    generator.generate(4, 1, tmp_path, derived=False, counties_csv=counties)
    assert '"Valdez, ""Cordova"""' in (tmp_path / "base.csv").read_text()
    run_method("floor", db_url, "first_load", tmp_path / "base.csv")
    assert common.table_digest(db_url) == common.file_digest(tmp_path / "base.csv")
    assert common.file_digest(tmp_path / "base.csv") == common.read_digest(tmp_path / "base.csv")


def test_verification_tells_a_dropped_key_left_in_the_table(small, db_url):
    folder, manifest = small
    assert run_method("ours", db_url, "next_day", folder / "next_day.csv", folder / "base.csv")["verified"]
    day, state, county = manifest.next_day_deleted[0]
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO covid_us_county_daily (date, state, county, fips, cases, deaths)"
            " SELECT %s, %s, %s, fips, cases, deaths FROM covid_us_county_daily WHERE date = %s LIMIT 1",
            (day, state, county, day),
        )
    problems = common.verify(db_url, folder / "next_day.csv")[1]
    assert len(problems) == 2 and f"still in the table: [('{day}', '{state}', '{county}')]" in problems[1]


def test_ours_backfill_loads_thirty_publications_shuffled_and_checks_each_as_of_its_commit(short, db_url):
    result = run_method("ours", db_url, "backfill_30", short)
    assert result["verified"], result["problems"]
    assert (result["publications"], result["loaded"], len(result["loads"])) == (30, 30, 30)
    order = [load["file"] for load in result["loads"]]
    assert sorted(order) == [f"pub-{n:02d}.csv" for n in range(1, 31)] and order != sorted(order)
    assert result["loads"][0]["how"].startswith("first publication")
    assert result["history_bytes"] > 0 and result["latest_bytes"] > 0
    middle = read_rows(short.parent / "pub-16.csv")  # the as-of queries ask as of the middle publication
    state, county = result["as_of"]["county"]
    assert result["as_of_county_rows"] == sum(1 for row in middle if (row[2], row[1]) == (state, county))
    assert result["as_of_state_date_rows"] == sum(
        1 for row in middle if (row[0], row[2]) == (result["as_of"]["date"], state)
    )
    assert result["seconds"] == pytest.approx(sum(load["seconds"] for load in result["loads"]), abs=0.01)


def test_a_backfill_over_its_budget_stops_and_is_not_verified(short, db_url):
    result = run_method("ours", db_url, "backfill_30", short, None, "--budget", "0.000001")
    assert (result["verified"], result["loaded"], len(result["loads"])) == (False, 1, 1)
    assert result["problems"][0].startswith("stopped after 1 of 30 loads")
    assert result["estimated_seconds"] == pytest.approx(30 * result["seconds"], abs=0.01)


# --- the harness ---------------------------------------------------------------------------------------


def test_harness_generates_files_once_and_completes_a_base_only_folder(tmp_path):
    harness = bench()
    first = harness.ensure_files(SMALL_ROWS, 11, tmp_path, derived=False)
    written = first.path("base").stat().st_mtime_ns
    assert first.folder.parent == tmp_path and sorted(first.manifest.files) == ["base"]
    again = harness.ensure_files(SMALL_ROWS, 11, tmp_path, derived=False)
    assert again == first and again.path("base").stat().st_mtime_ns == written
    completed = harness.ensure_files(SMALL_ROWS, 11, tmp_path, derived=True, backfill=2)
    assert completed.folder == first.folder and completed.path("next_day").is_file()
    assert completed.backfill == first.folder / "backfill-2" / "manifest.json" and completed.backfill.is_file()
    assert harness.ensure_files(SMALL_ROWS, 12, tmp_path, derived=False).folder != first.folder


def fake_python(tmp_path: Path, script: str) -> Path:
    path = tmp_path / "python"
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)
    return path


def test_a_run_takes_the_childs_own_peak_rss_and_its_json_line(small, postgres_server, tmp_path):
    folder, manifest = small
    harness = bench()
    line = {"rows": manifest.rows, "seconds": 1.5, "inserted": manifest.rows, "updated": 0, "deleted": 0}
    line |= {"verified": True, "history": {}}
    child = tmp_path / "child.py"  # holds 300 MiB (every page written), prints a method's JSON line
    child.write_text(f"import json\nheld = b'1' * (300 * 2**20)\nprint(json.dumps({line!r}))\n")
    python = fake_python(tmp_path, f"exec {sys.executable} {child}")  # whatever the method script and arguments
    server = harness.Server(postgres_server.create_database("postgres"))
    run = harness.Run("ours", "first_load", SMALL_ROWS, "first_load")
    outcome = harness.execute(run, harness.Files(folder, manifest), server, python)
    assert (outcome.seconds, outcome.rows, outcome.verified, outcome.error) == (1.5, manifest.rows, True, None)
    assert 300 <= outcome.peak_rss_mib < 1000


def test_a_failing_run_is_reported_unverified_and_its_database_dropped(small, postgres_server, tmp_path):
    folder, manifest = small
    harness = bench()
    python = fake_python(tmp_path, "echo 'no such luck' >&2\nexit 3")
    server = harness.Server(postgres_server.create_database("postgres"))
    run = harness.Run("seed_execute_values", "revised_1pct", SMALL_ROWS, "execute_values_revised_1pct")
    outcome = harness.execute(run, harness.Files(folder, manifest), server, python)
    assert not outcome.verified and outcome.error.startswith("exit status 3") and "no such luck" in outcome.error
    with psycopg.connect(server.admin_url) as conn:
        assert conn.execute(
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'bench_execute_values%'"
        ).fetchone() == (0,)


def test_a_run_past_its_timeout_is_killed_and_reported(small, postgres_server, tmp_path):
    folder, manifest = small
    harness = bench()
    python = fake_python(tmp_path, "echo started >&2\nexec sleep 30")
    server = harness.Server(postgres_server.create_database("postgres"))
    run = harness.Run("floor", "first_load", SMALL_ROWS, "floor")
    outcome = harness.execute(run, harness.Files(folder, manifest), server, python, timeout=1)
    assert not outcome.verified and outcome.error.startswith("exit status -9")
    assert "started" in outcome.error and "killed after 1 s" in outcome.error


def test_harness_runs_every_case_verified_and_writes_its_table_and_latest_json(postgres_server, tmp_path):
    counties = short_county_list(tmp_path)
    results = tmp_path / "results"
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_counties.py"), "--rows", "2000", "--repeat", "2"]
        + ["--counties", str(counties), "--cache-dir", str(tmp_path / "cache"), "--results-dir", str(results)]
        + ["--server-url", postgres_server.create_database("postgres")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    latest = json.loads((results / "latest.json").read_text())
    assert {"date", "cores", "rows", "floor_seconds", "cases"} <= set(latest) and set(latest["cases"]) == NAMES
    width = len(generator.read_counties(counties))
    rows = generator.days_for(2000, width) * width  # whole days of the short list
    assert (latest["date"], latest["cores"], latest["rows"]) == (date.today().isoformat(), os.cpu_count(), rows)
    for name, case in latest["cases"].items():
        assert RESULT_KEYS <= set(case) and case["verified"] is True, name
        assert case["keeps_history"] == (case["method"] == "ours")
    assert BACKFILL_KEYS <= set(latest["cases"]["backfill_30"])
    for name in ("first_load", "forced_reload", "revised_1pct", "next_day", "next_day_cold", "skip", "rss_5m"):
        case = latest["cases"][name]
        assert len(case["runs"]) == 2 and case["min"] <= case["seconds"] <= case["max"], name
        assert {"python_read", "copy", "sql", "commit"} <= set(case["profile"]), name
    assert "min" not in latest["cases"]["dlt_next_day"]  # the peers run once
    assert latest["floor_indexed_seconds"] == latest["floors_indexed"][str(rows)]["seconds"] > 0
    for name in ("first_load", "rss_0_5m", "rss_5m"):  # ours' first loads, against both floors
        case = latest["cases"][name]
        floors = [latest[kind][str(case["rows"])]["seconds"] for kind in ("floors", "floors_indexed")]
        assert case["ratio_to_floor"] == round(case["seconds"] / floors[0], 4), name
        assert case["ratio_to_floor_indexed"] == round(case["seconds"] / floors[1], 4), name
    assert all("ratio_to_floor_indexed" not in latest["cases"][name] for name in ("next_day", "dlt_first_load"))
    for floor in latest["floors_indexed"].values():  # one per size, 2 runs each, verified
        assert len(floor["runs"]) == 2 and floor["verified"] and floor["how"].startswith("COPY into the bare table")
    printed = [line.split()[0] for line in result.stdout.splitlines() if line.split()[-1:] in (["yes"], ["NO"])]
    assert set(printed) - {"floor", "floor_indexed"} >= NAMES - {"backfill_30"}
    assert printed.count("floor") == printed.count("floor_indexed") == 3  # one per size
    page = (results / f"{date.today().isoformat()}.md").read_text()
    assert "PostgreSQL 15" in page and f"{os.cpu_count()} cores" in page and "fsync=" in page
    assert "floor_indexed: COPY into the bare table, then ADD PRIMARY KEY and CREATE INDEX (state, county)" in page
    assert "## Where ours' time goes" in page and "## Backfill" in page and "none kept" in page
    assert "| NO |" not in page


def test_copy_writers_prints_each_writer_with_python_beside_it_and_both_fingerprint_formats(small, db_url):
    folder, _ = small
    command = [sys.executable, str(BENCHMARKS / "copy_writers.py"), "--db", db_url, "--file", str(folder / "base.csv")]
    out = subprocess.run([*command, "--repeat", "1"], capture_output=True, text=True, check=True).stdout
    rows = {line[:44].strip(): line[44:].split() for line in out.splitlines()[2:]}
    assert set(rows) == {
        "libpq blocking mode", "the loader's copy_in", "fingerprints COPY, text (hex)", "fingerprints COPY, binary",
    }  # fmt: skip
    for name in ("libpq blocking mode", "the loader's copy_in"):
        seconds, share = rows[name]
        assert float(seconds) > 0 and 0 < float(share.rstrip("x")) < 2
    assert float(rows["fingerprints COPY, text (hex)"][0]) > 0 and float(rows["fingerprints COPY, binary"][0]) > 0


def test_change_writes_prints_both_writes_each_way_of_checking_and_the_ratios_to_no_check(db_url):
    command = [sys.executable, str(BENCHMARKS / "change_writes.py"), "--db", db_url, "--rows", "3000", "--repeat", "1"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    assert lines[0] == "3,000 changes, median of 1; seconds, and the ratio to no check"
    assert lines[1].split(maxsplit=1)[1].split() == ["foreign", "key", "statement", "triggers", "no", "check"]
    rows = {line[:30].strip(): line[30:].split() for line in lines[2:]}
    assert set(rows) == {"insert", "move to another publication"}
    for cells in rows.values():
        seconds, ratios = cells[0::3], cells[2::3]
        assert len(seconds) == 3 and all(float(value) > 0 for value in seconds) and ratios[-1] == "1.00x"
    assert query(db_url, "SELECT count(*) FROM dataset_publications") == [(0,)]  # its two were rolled back


def test_line_hashes_prints_each_hash_beside_todays_digests_and_the_share_of_blocks_each_case_changes(small):
    folder, _ = small
    base, cases = folder / "base.csv", [folder / "base.csv", folder / "next_day.csv", folder / "revised.csv"]
    command = [sys.executable, str(BENCHMARKS / "line_hashes.py"), "--base", str(base), "--repeat", "1"]
    out = subprocess.run([*command, *(f"--case={case}" for case in cases)], capture_output=True, text=True, check=True)
    lines = out.stdout.splitlines()
    assert lines[0].startswith(f"base.csv: {base.stat().st_size:,} bytes, ")
    seconds = {line[:42].strip(): line[42:].split() for line in lines[1:6]}
    assert set(seconds) == {
        "cut into lines", "CRC-32 per line", "CRC-32 + Adler-32 per line", "keyed SHA-256 per line",
        "today, about: SHA-256 per 512 bytes",
    }  # fmt: skip
    assert all(float(value) >= 0 and unit == "s" for value, unit in seconds.values())  # 0.000 on a small file
    shares = {line.split(":")[0]: float(line.split(": ")[1].split("%")[0]) for line in lines[6:]}
    assert shares["base.csv"] == 0.0  # a file against itself: no block differs
    assert 0 < shares["next_day.csv"] < 100 and 0 < shares["revised.csv"] < 100


def test_references_scaling_times_both_ways_at_each_count_finds_the_same_references_and_adds_nothing(small, db_url):
    folder, _ = small
    load_file(db_url, "counties", folder / "base.csv", at=datetime(2026, 1, 1, tzinfo=UTC), commit="a" * 40)
    load_file(db_url, "counties", folder / "next_day.csv", at=datetime(2026, 1, 2, tzinfo=UTC), commit="b" * 40)
    counts = "SELECT (SELECT count(*) FROM dataset_publications), (SELECT count(*) FROM dataset_fingerprints)"
    before = query(db_url, counts)
    command = [sys.executable, str(BENCHMARKS / "references_scaling.py"), "--db", db_url, "--publications", "2,6"]
    out = subprocess.run([*command, "--repeat", "1"], capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    assert lines[0] == "counties: 2 publications loaded; seconds to find a daily load's references"
    rows = [line.split() for line in lines[2:]]
    assert [row[0] for row in rows] == ["2", "6"]
    assert all(float(row[1]) >= 0 and float(row[2]) >= 0 and float(row[3].removesuffix("x")) > 0 for row in rows)
    assert query(db_url, counts) == before  # the synthetic publications and their records were rolled back
