"""The county benchmark's machinery (benchmarks/): the generator of NYT-shaped county files, the method
scripts' contract on a real PostgreSQL, and the harness end to end on a small file.

Speed is not asserted anywhere: the benchmark's numbers are its printed table.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest

from support import ROOT

BENCHMARKS = ROOT / "benchmarks"
METHODS_DIR = BENCHMARKS / "methods"
SMALL_ROWS = 5000  # two days of the 3,273 counties: 6,546 rows
EXCEPTIONS_WITHOUT_FIPS = {("New York", "New York City"), ("Missouri", "Kansas City"), ("Missouri", "Joplin")}


def load_module(name: str, path: Path, *search: Path):
    """Import the benchmark file ``path`` as module ``name``, with ``search`` on sys.path while it loads."""
    sys.path[:0] = [str(folder) for folder in search]
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    finally:
        del sys.path[: len(search)]
    return module


generator = load_module("generate_counties", BENCHMARKS / "generate_counties.py")
bench = load_module("bench_counties", BENCHMARKS / "bench_counties.py", BENCHMARKS)
common = load_module("bench_methods_common", METHODS_DIR / "common.py")  # a name of its own in sys.modules


def read_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))[1:]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """base.csv, republished.csv and revised.csv for ~5,000 rows, and their manifest."""
    folder = tmp_path_factory.mktemp("counties")
    return folder, generator.generate(SMALL_ROWS, 7, folder)


def run_method(method: str, db_url: str, case: str, path: Path, base: Path | None = None) -> dict:
    """Run a method script as the harness does; its JSON line."""
    python = bench.method_python(method)  # builds .venv-dlt from its hashed lock for dlt_merge, as make bench does
    command = [str(python), str(METHODS_DIR / f"{method}.py"), "--db", db_url, "--case", case, "--file", str(path)]
    result = subprocess.run(command + (["--base", str(base)] if base else []), capture_output=True, text=True)
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


# --- the generator -------------------------------------------------------------------------------------


def test_counties_table_has_nyts_areas_without_fips_and_no_new_york_boroughs():
    counties = generator.read_counties()
    by_place = {(c.state, c.county): c.fips for c in counties}
    assert 3200 <= len(counties) <= 3300 and len(by_place) == len(counties)
    assert all(by_place[place] == "" for place in EXCEPTIONS_WITHOUT_FIPS)
    assert by_place[("Alabama", "Unknown")] == "" and ("District of Columbia", "Unknown") not in by_place
    assert not {"36005", "36047", "36061", "36081", "36085"} & set(by_place.values())
    assert by_place[("California", "Orange")] == "06059"
    assert all(
        re.fullmatch(r"\d{5}", fips)
        for (state, county), fips in by_place.items()
        if county != "Unknown" and (state, county) not in EXCEPTIONS_WITHOUT_FIPS
    )


def test_generated_file_is_in_nyts_county_layout(small):
    folder, manifest = small
    text = (folder / "base.csv").read_text(encoding="utf-8")
    assert text.startswith("date,county,state,fips,cases,deaths\n") and text.endswith("\n")
    rows = read_rows(folder / "base.csv")
    assert len(rows) == manifest.rows == manifest.days * manifest.counties
    assert rows == sorted(rows, key=lambda row: (row[0], row[2], row[1]))  # date, then state, then county
    days = sorted({row[0] for row in rows})
    assert days == [(date(2020, 1, 21) + timedelta(n)).isoformat() for n in range(manifest.days)]
    places_by_day = [{(row[2], row[1]) for row in rows if row[0] == day} for day in days]
    assert (
        all(len(places) == manifest.counties for places in places_by_day)
        and len(set(map(frozenset, places_by_day))) == 1
    )
    for _, county, state, fips, cases, deaths in rows:
        assert re.fullmatch(r"\d{5}", fips) or (
            fips == "" and (county == "Unknown" or (state, county) in EXCEPTIONS_WITHOUT_FIPS)
        )
        assert int(cases) >= int(deaths) >= 0


def test_row_count_is_the_whole_number_of_days_nearest_to_the_rows_asked(tmp_path):
    manifest = generator.generate(10_000, 1, tmp_path, derived=False)
    assert (manifest.days, manifest.rows) == (3, 3 * manifest.counties)
    assert generator.days_for(2_500_000, 3273) == 764 and generator.days_for(10, 3273) == 1
    assert not (tmp_path / "revised.csv").exists()


def test_same_seed_writes_the_same_bytes_and_another_seed_other_counts(small, tmp_path):
    folder, _ = small
    generator.generate(SMALL_ROWS, 7, tmp_path / "same")
    generator.generate(SMALL_ROWS, 8, tmp_path / "other")
    for name in ("base.csv", "revised.csv"):
        assert (tmp_path / "same" / name).read_bytes() == (folder / name).read_bytes()
        assert (tmp_path / "other" / name).read_bytes() != (folder / name).read_bytes()


def test_cumulative_counts_mostly_rise_from_day_to_day(tmp_path):
    generator.generate(30 * 3273, 3, tmp_path, derived=False)
    previous, steps, falls = {}, 0, 0
    for _, county, state, _, cases, _ in read_rows(tmp_path / "base.csv"):
        if (state, county) in previous:
            steps, falls = steps + 1, falls + (int(cases) < previous[(state, county)])
        previous[(state, county)] = int(cases)
    assert 0 < falls < steps * 0.01
    assert sum(previous.values()) > 0


def test_republished_file_is_the_base_byte_for_byte(small):
    folder, manifest = small
    assert manifest.files["republished"] == "republished.csv"
    assert (folder / "republished.csv").read_bytes() == (folder / "base.csv").read_bytes()


def test_revised_file_changes_one_percent_of_past_rows_and_adds_one_day_of_every_county(small):
    folder, manifest = small
    base, revised = read_rows(folder / "base.csv"), read_rows(folder / "revised.csv")
    past, new = revised[: len(base)], revised[len(base) :]
    changed = [(old, now) for old, now in zip(base, past, strict=True) if old != now]
    assert len(changed) == manifest.revised_rows == round(len(base) / 100)
    assert all(old[:4] == now[:4] and old[4] != now[4] for old, now in changed)  # cases change, keys do not
    assert any(old[5] != now[5] for old, now in changed)  # and some deaths
    assert len(new) == manifest.new_rows == manifest.counties
    assert {row[0] for row in new} == {(date.fromisoformat(manifest.last_date) + timedelta(1)).isoformat()}
    assert [row[1:4] for row in new] == [row[1:4] for row in base[: manifest.counties]]
    assert all(int(row[4]) >= int(row[5]) >= 0 for row in revised)


def test_generator_command_line_writes_the_three_files_and_a_manifest(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "generate_counties.py"),
            "--rows",
            "4000",
            "--seed",
            "5",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    printed = json.loads(result.stdout)
    assert printed == json.loads((tmp_path / "manifest.json").read_text())
    assert printed["rows"] == len(read_rows(tmp_path / "base.csv"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.csv", "manifest.json", "republished.csv", "revised.csv"]


def test_harness_generates_files_once_and_completes_a_base_only_folder(tmp_path):
    first = bench.ensure_files(SMALL_ROWS, 11, tmp_path, derived=False)
    written = first.path("base").stat().st_mtime_ns
    assert first.folder.parent == tmp_path and sorted(first.manifest.files) == ["base"]
    again = bench.ensure_files(SMALL_ROWS, 11, tmp_path, derived=False)
    assert again == first and again.path("base").stat().st_mtime_ns == written
    completed = bench.ensure_files(SMALL_ROWS, 11, tmp_path, derived=True)
    assert completed.folder == first.folder and completed.path("revised").is_file()
    assert bench.ensure_files(SMALL_ROWS, 12, tmp_path, derived=False).folder != first.folder


# --- the method scripts --------------------------------------------------------------------------------

UPSERTING = ["seed_execute_values", "ours"]


@pytest.mark.parametrize("method", ["floor", *UPSERTING])
def test_first_load_inserts_every_row_with_empty_fips_as_null(method, small, db_url):
    folder, manifest = small
    result = run_method(method, db_url, "first", folder / "base.csv")
    assert set(result) == {"method", "case", "seconds", "rows", "inserted", "updated", "verified"}
    assert result | {"seconds": None} == {
        "method": method,
        "case": "first",
        "seconds": None,
        "rows": manifest.rows,
        "inserted": manifest.rows,
        "updated": 0,
        "verified": True,
    }
    assert result["seconds"] > 0
    assert table_rows(db_url) == as_table_rows(folder / "base.csv")
    with psycopg.connect(db_url) as conn:
        nulls = conn.execute("SELECT count(*) FROM covid_us_county_daily WHERE fips IS NULL").fetchone()[0]
        persistence = conn.execute(
            "SELECT relpersistence FROM pg_class WHERE relname = 'covid_us_county_daily'"
        ).fetchone()
    assert nulls == manifest.days * sum(1 for c in generator.read_counties() if not c.fips)
    assert persistence == ("p",)  # logged, as the table is in production


@pytest.mark.parametrize("method", UPSERTING)
def test_reload_of_the_same_publication_changes_nothing(method, small, db_url):
    folder, manifest = small
    result = run_method(method, db_url, "reload", folder / "republished.csv", folder / "base.csv")
    assert (result["rows"], result["inserted"], result["updated"], result["verified"]) == (manifest.rows, 0, 0, True)


@pytest.mark.parametrize("method", UPSERTING)
def test_revised_publication_updates_the_revised_rows_and_inserts_the_new_day(method, small, db_url):
    folder, manifest = small
    result = run_method(method, db_url, "revised", folder / "revised.csv", folder / "base.csv")
    assert (result["inserted"], result["updated"], result["verified"]) == (
        manifest.new_rows,
        manifest.revised_rows,
        True,
    )
    assert table_rows(db_url) == as_table_rows(folder / "revised.csv")


def test_ours_skip_loads_nothing_for_a_publication_it_has_loaded(small, db_url):
    folder, manifest = small
    result = run_method("ours", db_url, "skip", folder / "republished.csv", folder / "base.csv")
    assert (result["rows"], result["inserted"], result["updated"], result["verified"]) == (manifest.rows, 0, 0, True)


def test_dlt_merge_leaves_the_revised_publication_in_its_table(small, db_url):
    folder, _ = small
    result = run_method("dlt_merge", db_url, "revised", folder / "revised.csv", folder / "base.csv")
    assert (result["inserted"], result["updated"], result["verified"]) == (None, None, True)
    assert table_rows(db_url, "dlt_bench.covid_us_county_daily") == as_table_rows(folder / "revised.csv")


@pytest.mark.parametrize("method", ["floor", "seed_execute_values", "ours"])
def test_method_refuses_a_case_it_does_not_implement(method, small, db_url):
    folder, _ = small
    for case in set(bench.CASES) - set(bench.METHODS[method].cases):
        result = subprocess.run(
            [sys.executable, str(METHODS_DIR / f"{method}.py"), "--db", db_url, "--case", case]
            + ["--file", str(folder / "base.csv"), "--base", str(folder / "base.csv")],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 2 and f"does not implement case '{case}'" in result.stderr
    assert set(bench.METHODS[method].cases) <= set(bench.CASES)


def test_verification_tells_a_table_that_differs_from_the_file_by_one_value(small, db_url):
    folder, _ = small
    run_method("floor", db_url, "first", folder / "base.csv")
    assert common.verify(db_url, folder / "base.csv") == (len(read_rows(folder / "base.csv")), True)
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "UPDATE covid_us_county_daily SET deaths = deaths + 1 WHERE county = 'Autauga' AND date = '2020-01-22'"
        )
    assert common.verify(db_url, folder / "base.csv")[1] is False
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE covid_us_county_daily SET deaths = deaths - 1, fips = NULL WHERE county = 'Autauga'")
    assert common.verify(db_url, folder / "base.csv")[1] is False


def test_file_digest_is_read_again_once_the_file_changed(tmp_path):
    path = tmp_path / "counties.csv"
    path.write_text("date,county,state,fips,cases,deaths\n2020-01-21,Orange,California,06059,1,0\n")
    first = common.file_digest(path)
    assert path.with_name("counties.csv.digest.json").is_file() and common.file_digest(path) == first
    path.write_text("date,county,state,fips,cases,deaths\n2020-01-21,Orange,California,06059,10,0\n")
    changed = common.file_digest(path)
    assert (changed.rows, changed.cases) == (1, 10) and changed.row_hashes != first.row_hashes


# --- the harness ---------------------------------------------------------------------------------------


def test_plan_runs_the_floor_at_every_size_and_ours_alone_at_the_extra_sizes():
    runs = bench.plan(
        2_500_000, ["floor", "seed_execute_values", "dlt_merge", "ours"], list(bench.CASES), [500_000, 2_500_000]
    )
    assert [(r.method, r.case, r.size) for r in runs] == [
        ("floor", "first", 2_500_000),
        ("seed_execute_values", "first", 2_500_000),
        ("seed_execute_values", "reload", 2_500_000),
        ("seed_execute_values", "revised", 2_500_000),
        ("dlt_merge", "first", 2_500_000),
        ("dlt_merge", "reload", 2_500_000),
        ("dlt_merge", "revised", 2_500_000),
        ("ours", "first", 2_500_000),
        ("ours", "reload", 2_500_000),
        ("ours", "revised", 2_500_000),
        ("ours", "skip", 2_500_000),
        ("floor", "first", 500_000),
        ("ours", "first", 500_000),
    ]
    only = bench.plan(1000, ["ours"], ["revised"], [500_000])
    assert [(r.method, r.case, r.size) for r in only] == [("floor", "first", 1000), ("ours", "revised", 1000)]


def test_a_run_takes_the_childs_own_peak_rss_and_its_json_line(small, postgres_server, tmp_path):
    folder, manifest = small
    line = {"rows": manifest.rows, "seconds": 1.5, "inserted": manifest.rows, "updated": 0, "verified": True}
    child = tmp_path / "child.py"  # holds 300 MiB (every page written), prints a method's JSON line
    child.write_text(f"import json\nheld = b'1' * (300 * 2**20)\nprint(json.dumps({line!r}))\n")
    fake_python = tmp_path / "python"  # runs child.py, whatever the method script and arguments
    fake_python.write_text(f"#!/bin/sh\nexec {sys.executable} {child}\n")
    fake_python.chmod(0o755)
    server = bench.Server(postgres_server.create_database("postgres"))
    outcome = bench.execute(bench.Run("ours", "first", SMALL_ROWS), bench.Files(folder, manifest), server, fake_python)
    assert (outcome.seconds, outcome.rows, outcome.verified, outcome.error) == (1.5, manifest.rows, True, None)
    assert 300 <= outcome.peak_rss_mib < 1000


def test_a_failing_run_is_reported_unverified_and_its_database_dropped(small, postgres_server, tmp_path):
    folder, manifest = small
    fake_python = tmp_path / "python"
    fake_python.write_text("#!/bin/sh\necho 'no such luck' >&2\nexit 3\n")
    fake_python.chmod(0o755)
    server = bench.Server(postgres_server.create_database("postgres"))
    outcome = bench.execute(
        bench.Run("ours", "revised", SMALL_ROWS), bench.Files(folder, manifest), server, fake_python
    )
    assert not outcome.verified and outcome.error.startswith("exit status 3") and "no such luck" in outcome.error
    with psycopg.connect(server.admin_url) as conn:
        assert conn.execute(
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'bench_ours_revised_%'"
        ).fetchone() == (0,)


def test_a_run_past_its_timeout_is_killed_and_reported(small, postgres_server, tmp_path):
    folder, manifest = small
    fake_python = tmp_path / "python"
    fake_python.write_text("#!/bin/sh\necho started >&2\nexec sleep 30\n")
    fake_python.chmod(0o755)
    server = bench.Server(postgres_server.create_database("postgres"))
    run = bench.Run("ours", "first", SMALL_ROWS)
    outcome = bench.execute(run, bench.Files(folder, manifest), server, fake_python, timeout=1)
    assert not outcome.verified and outcome.error.startswith("exit status -9")
    assert "started" in outcome.error and "killed after 1 s" in outcome.error


def test_wrong_counts_fail_verification_even_when_the_table_matches(small):
    _, manifest = small
    outcome = bench.Outcome(bench.Run("ours", "revised", SMALL_ROWS), inserted=manifest.new_rows, updated=manifest.rows)
    assert not bench._counts_agree(outcome, manifest)
    outcome.updated = manifest.revised_rows
    assert bench._counts_agree(outcome, manifest)
    assert bench._counts_agree(bench.Outcome(bench.Run("dlt_merge", "revised", SMALL_ROWS)), manifest)


def test_harness_prints_and_writes_the_table_of_every_run(postgres_server, tmp_path):
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_counties.py"), "--rows", str(SMALL_ROWS)]
        + ["--methods", "seed_execute_values,ours", "--sizes", "3000", "--cache-dir", str(tmp_path / "cache")]
        + ["--results-dir", str(tmp_path / "results"), "--server-url", postgres_server.create_database("postgres")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    expected = [("floor", "first")] + [("seed_execute_values", c) for c in ("first", "reload", "revised")]
    expected += [("ours", c) for c in ("first", "reload", "revised", "skip")] + [("floor", "first"), ("ours", "first")]
    printed = [line.split()[:2] for line in result.stdout.splitlines() if line.split()[-1:] in (["yes"], ["NO"])]
    assert [tuple(cells) for cells in printed] == expected
    (page,) = (tmp_path / "results").iterdir()
    assert page.name == f"{date.today().isoformat()}.md"
    text = page.read_text()
    table = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| method")]
    assert [tuple(cell.strip() for cell in line.split("|")[1:3]) for line in table] == expected
    assert all(line.split("|")[-2].strip() == "yes" for line in table)
    assert "PostgreSQL 15" in text and f"{os.cpu_count()} cores" in text and "fsync=" in text
    floor_line = next(line for line in table if "| floor |" in line)
    assert floor_line.split("|")[7].strip() == "1.00"  # the floor's ratio to itself
