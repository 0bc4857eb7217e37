"""`make bench`: load NYT's county series (~2.5M rows) into PostgreSQL with each method, side by side, in one
run, every case with the history our loader keeps.

Ours (the project's loader, ``load_publication``) runs every case of issue 19 on the main file (``--rows``):
``first_load``, ``forced_reload``, ``revised_1pct``, ``next_day``, ``next_day_cold``, ``skip``; and
its first load at two more sizes for its peak memory (``rss_0_5m`` and ``rss_5m``: a fifth of and twice
the main size, 0.5M and 5M rows by default). Each of those runs ``--repeat`` times (3), in rounds, with a
run of the floor (a plain COPY of a file of the same size into an empty logged table with the primary key)
and of ``floor_indexed`` (the same COPY into that table with ours' (state, county) lookup index too: the
table ours' first load builds) on each size in each round, so that all see the same moments of a shared
machine; the tables give the median, with the min and max. The peers (the seed's ``execute_values``
upsert and dlt's merge) run once, on ``first_load`` and ``next_day`` (``--peer-cases`` for more). Then
``backfill_30``: 30 daily publications loaded in a shuffled order by ours, every one checked as of its
commit time.

Each run is a fresh database and a fresh Python process (its own peak RSS, from ``os.wait4``), on one
PostgreSQL server that this script starts in a temporary folder and stops at the end. The server is
durable (fsync, synchronous_commit and full_page_writes on, PostgreSQL's defaults), as a production
database is: a load's cost includes writing its WAL and data safely. Ours' cases that start from the
loaded base run in a copy of one database that ours prepared so (``CREATE DATABASE ... TEMPLATE``):
the same state, prepared once.

Every run verifies its result against the file (digests the generator took as it wrote the files,
against PostgreSQL's of the table; the keys the publication dropped absent) and its counts against what
the generator's manifest implies; ours' runs also the history written. A run that does not verify fails
the benchmark (exit status 1).

Files come from benchmarks/generate_counties.py, cached under build/bench/ by rows, seed and generator
version. The table is printed, and written as Markdown to <results>/<date>.md with the machine, server
and software it ran on, and as JSON to <results>/latest.json.

Usage: python benchmarks/bench_counties.py [--rows N] [--repeat 3] [--sizes N,M] [--cases a,b]
           [--peers a,b] [--peer-cases a,b] [--backfill 30] [--results-dir DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from importlib.metadata import version
from pathlib import Path

import psycopg
from generate_counties import COUNTIES_CSV, Manifest, backfill_folder, cache_folder, read_backfill, read_manifest
from methods import BACKFILL_CASE, METHODS, OURS_CASES, PEER_CASES, PEERS
from methods.common import CASE_FILES

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# devstack and the settings it reads (include/), when not run through make (which sets PYTHONPATH)
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "include")]
from covid_etl.sources.specs import COUNTIES  # noqa: E402
from devstack import LocalPostgres, free_port  # noqa: E402

DEFAULT_ROWS = 2_500_000
DEFAULT_SEED = 20200121
DEFAULT_REPEAT = 3
DEFAULT_PEER_CASES = ("first_load", "next_day")
BACKFILL_PUBLICATIONS = 30
# The backfill's loads stop once they take BACKFILL_BUDGET_FACTOR times what its target allows (1.5 × 30 ×
# next_day's median), at least BACKFILL_BUDGET_MIN_S: that far over its target the case has failed already,
# and the whole run stays within its time (--backfill-budget sets seconds, 0 for no limit). Ours measured
# 1.76–1.87 × 30 × next_day (2.5M rows, 2026-12-07: 37.5–41.5 s), within the budget, so the backfill is verified.
BACKFILL_BUDGET_FACTOR = 5
BACKFILL_BUDGET_MIN_S = 30.0
# Ours' first load at a fifth of and twice the main size (0.5M and 5M rows at the default 2.5M): the
# results' names stay these whatever --rows is; each case's "rows" says how many it loaded.
SIZE_NAMES = ("rss_0_5m", "rss_5m")
SIZE_FACTORS = (0.2, 2.0)
RUN_TIMEOUT_S = 15 * 60
DLT_LOCK = HERE / "requirements-dlt.lock"
SETTINGS_SHOWN = (
    "fsync",
    "synchronous_commit",
    "full_page_writes",
    "wal_level",
    "shared_buffers",
    "work_mem",
    "maintenance_work_mem",
    "max_wal_size",
    "checkpoint_timeout",
)
# Issue 19's targets: (what is compared, bound, as the tables print it).
TARGETS = {
    "first_load": ("ratio", 1.1, "≤ 1.1× floor"),
    "forced_reload": ("ratio", 0.3, "≤ 0.3× floor"),
    "revised_1pct": ("ratio", 0.5, "≤ 0.5× floor"),
    "next_day": ("ratio", 0.2, "≤ 0.2× floor"),
    "next_day_cold": ("ratio", 0.3, "≤ 0.3× floor"),
    "skip": ("seconds", 1.0, "< 1 s"),
    "rss_0_5m": ("rss", 150, "≤ 150 MiB"),
    "rss_5m": ("rss", 150, "≤ 150 MiB"),
}
TARGET_VS_30_NEXT_DAY = 1.5
BACKFILL_TARGETS = {
    "vs_30_next_day": (TARGET_VS_30_NEXT_DAY, "≤ 1.5"),
    "history_vs_latest": (1.5, "≤ 1.5"),
    "as_of_county_ms": (50, "≤ 50 ms"),
}
# The indexes floor_indexed's table must have, each [unique, its columns] (methods/floor_indexed.py reports
# them): the floor's primary key and ours' lookup index (include/covid_etl/sources/specs.py, lookup=).
FLOOR_INDEXED_INDEXES = sorted([[True, ["date", "state", "county"]], [False, list(COUNTIES.lookup)]])


@dataclass(frozen=True)
class Run:
    """One run: a method's case on one file size, under its name in the results."""

    method: str
    case: str  # the method script's case
    size: int  # the rows asked of the generator; the file has whole days (Manifest.rows)
    name: str  # in the results: first_load, rss_5m, execute_values_next_day, floor, ...

    @property
    def prepared(self) -> bool:
        """Whether it runs in a copy of the database ours prepared with the base (see ``Templates``)."""
        return self.method == "ours" and CASE_FILES.get(self.case, (None, None))[1] is not None


@dataclass
class Outcome:
    """What one run gave: its JSON line, its peak RSS, and whether it verified (or why not)."""

    run: Run
    result: dict = field(default_factory=dict)
    peak_rss_mib: float | None = None
    measurer_rss_mib: float | None = None  # a floor under peak_rss_mib: see MEASURE
    verified: bool = False
    error: str | None = None

    @property
    def seconds(self) -> float | None:
        return self.result.get("seconds")

    @property
    def rows(self) -> int | None:
        return self.result.get("rows")


@dataclass(frozen=True)
class Files:
    """A generated folder of county files (base, and for the main size republished, revised, next_day)."""

    folder: Path
    manifest: Manifest
    backfill: Path | None = None  # the backfill's manifest.json, when generated

    def path(self, role: str) -> Path:
        return self.folder / self.manifest.files[role]


# --- the plan ------------------------------------------------------------------------------------------


def plan(
    rows: int,
    *,
    cases: list[str],
    sizes: list[int],
    repeat: int,
    peers: list[str],
    peer_cases: list[str],
    backfill: bool,
) -> list[Run]:
    """Every run, in order: ``repeat`` rounds, each of, for the main size and each extra size, the floor, ours'
    first load and ``floor_indexed`` (where ours' first load runs), then ours' other cases; the peers' cases
    once; the backfill.

    One floor per size and round serves every case of that size: a ratio is a median over the floor's median,
    so a floor before each case only added runs to that median (18 of them at the main size, not 3).
    """
    runs = []
    for _ in range(repeat):
        runs += _round(rows, [(case, case) for case in cases])
        for size, name in zip(sizes, SIZE_NAMES, strict=False):
            runs += _round(size, [("first_load", name)])
    for method in peers:
        spec = METHODS[method]
        runs += [Run(method, case, rows, spec.prefix + case) for case in peer_cases if case in spec.cases]
    if backfill:
        runs.append(Run("ours", BACKFILL_CASE, rows, BACKFILL_CASE))
    return runs


def _round(size: int, cases: list[tuple[str, str]]) -> list[Run]:
    """One round on one file size: the floor, ours' first load and floor_indexed (the floor of the table that
    load builds; none when ours' first load does not run), then ours' other cases, each (case, name)."""
    ours = [Run("ours", case, size, name) for case, name in cases]
    first = [run for run in ours if run.case == "first_load"]
    indexed = [Run("floor_indexed", "first_load", size, "floor_indexed")] if first else []
    return [Run("floor", "first_load", size, "floor"), *first, *indexed, *(r for r in ours if r not in first)]


def case_files(files: Files, case: str) -> tuple[Path, Path | None]:
    """(the file a case loads, the BASE the table holds before it, or None)."""
    if case == BACKFILL_CASE:
        return files.backfill, None
    loaded, base = CASE_FILES[case]
    return files.path(loaded), files.path(base) if base else None


def expected_counts(manifest: Manifest, case: str) -> tuple[int, int, int]:
    """(inserted, updated, deleted) a correct load reports for a case."""
    return {
        "first_load": (manifest.rows, 0, 0),
        "forced_reload": (0, 0, 0),
        "skip": (0, 0, 0),
        "revised_1pct": (manifest.new_rows, manifest.revised_rows, 0),
        "next_day": (manifest.new_rows, manifest.next_day_revised_rows, len(manifest.next_day_deleted)),
        "next_day_cold": (manifest.new_rows, manifest.next_day_revised_rows, len(manifest.next_day_deleted)),
    }[case]


def expected_history(manifest: Manifest, case: str) -> dict[str, int]:
    """The changes ours records for the loaded publication, by kind: none for the first publication of
    its dates (it is the base) or one that changes nothing; else its new keys (+), changed values (~)
    and dropped keys (-)."""
    inserted, updated, deleted = expected_counts(manifest, case)
    if case == "first_load":
        return {}
    return {kind: count for kind, count in (("+", inserted), ("-", deleted), ("~", updated)) if count}


def problems_with(outcome: Outcome, manifest: Manifest) -> list[str]:
    """What the harness finds wrong with a run's JSON line, beyond the method's own verification: counts
    other than the files imply (a method that does not count passes), and for ours the history."""
    result, run = outcome.result, outcome.run
    problems = list(result.get("problems", []))
    if not result.get("verified") and not problems:
        problems.append("the method's verification failed")
    if run.case == BACKFILL_CASE:
        return problems
    reported = tuple(result.get(name) for name in ("inserted", "updated", "deleted"))
    expected = expected_counts(manifest, run.case)
    if any(got is not None and got != want for got, want in zip(reported, expected, strict=True)):
        problems.append(f"inserted, updated, deleted {reported}; the files imply {expected}")
    if run.method == "floor_indexed" and result.get("indexes") != FLOOR_INDEXED_INDEXES:
        problems.append(f"the table's indexes are {result.get('indexes')}, not {FLOOR_INDEXED_INDEXES}")
    if run.method == "ours":
        if result.get("history") != expected_history(manifest, run.case):
            problems.append(f"history written {result.get('history')}, expected {expected_history(manifest, run.case)}")
        if run.case == "skip" and not result.get("skipped"):
            problems.append("the skip's check did not find the loaded publication")
    return problems


# --- the files -----------------------------------------------------------------------------------------


def ensure_files(
    rows: int, seed: int, cache_dir: Path, *, derived: bool, backfill: int = 0, counties: Path = COUNTIES_CSV
) -> Files:
    """The county files for (rows, seed), generated unless cached (with the derived files when ``derived``,
    and ``backfill`` daily publications when asked).

    The generator runs in a process of its own (its command line), so the harness stays small.
    """
    folder = cache_folder(rows, seed, cache_dir, counties)
    manifest = read_manifest(folder)
    command = [sys.executable, str(HERE / "generate_counties.py"), "--rows", str(rows), "--seed", str(seed)]
    command += ["--out", str(folder), "--counties", str(counties)]
    if manifest is None or (derived and "next_day" not in manifest.files):
        (folder / "manifest.json").unlink(missing_ok=True)
        subprocess.run(command + ([] if derived else ["--base-only"]), check=True, stdout=subprocess.DEVNULL)
        manifest = read_manifest(folder)
    backfill_manifest = None
    if backfill:
        backfill_dir = backfill_folder(folder, backfill)
        if read_backfill(backfill_dir) is None:
            (backfill_dir / "manifest.json").unlink(missing_ok=True)
            subprocess.run(command + ["--backfill", str(backfill)], check=True, stdout=subprocess.DEVNULL)
        backfill_manifest = backfill_dir / "manifest.json"
    return Files(folder, manifest, backfill_manifest)


# --- the dlt virtualenv --------------------------------------------------------------------------------


def ensure_venv(venv: Path, lock: Path) -> Path:
    """Build ``venv`` from the hashed ``lock`` with uv unless a stamp says it was built from this very lock.

    Like scripts/check_terraform.sh's .venv-checkov: the stamp is the lock's sha256; another lock rebuilds.
    Returns the venv's python.
    """
    python, stamp = venv / "bin" / "python", venv / f".{lock.name}.sha256"
    lock_hash = hashlib.sha256(lock.read_bytes()).hexdigest()
    if python.exists() and stamp.is_file() and stamp.read_text().strip() == lock_hash:
        return python
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        raise SystemExit("uv not found: run `make venv` first (it installs uv into .venv)")
    print(f"bench: building {venv.relative_to(ROOT)} from {lock.relative_to(ROOT)}", file=sys.stderr, flush=True)
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    subprocess.run([uv, "pip", "sync", "--quiet", "--require-hashes", "--python", str(python), str(lock)], check=True)
    stamp.write_text(lock_hash + "\n")
    return python


def method_python(method: str) -> Path:
    """The interpreter a method's script runs with (dlt's own venv for dlt_merge)."""
    venv = METHODS[method].venv
    if venv == ".venv":
        return Path(sys.executable)
    return ensure_venv(ROOT / venv, DLT_LOCK)


# --- the server ----------------------------------------------------------------------------------------


class Server:
    """Fresh databases on one PostgreSQL server, reached through its ``postgres`` database."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url

    def _admin(self) -> psycopg.Connection:
        return psycopg.connect(self.admin_url, autocommit=True)

    def url(self, name: str) -> str:
        return self.admin_url.rsplit("/", 1)[0] + "/" + name

    def create_database(self, name: str, template: str | None = None) -> str:
        """A new database: empty, or a copy of ``template`` (its files copied: WAL-logging a copy of
        hundreds of MB, PostgreSQL 15's default, takes longer than loading it)."""
        with self._admin() as conn:
            if template is None:
                conn.execute(f'CREATE DATABASE "{name}"')
            else:
                file_copy = " STRATEGY FILE_COPY" if conn.info.server_version >= 150000 else ""
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"{file_copy}')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def describe(self) -> dict[str, str]:
        """The server's version and the settings that bear on a load's speed."""
        with self._admin() as conn:
            version = conn.execute("SELECT version()").fetchone()[0]
            settings = {name: conn.execute(f"SHOW {name}").fetchone()[0] for name in SETTINGS_SHOWN}
        return {"version": version, **settings}


@contextlib.contextmanager
def local_server() -> Iterator[Server]:
    """A durable PostgreSQL server of our own in a temporary folder, stopped and removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="bench-counties-"))
    postgres = LocalPostgres(folder / "data", port=free_port(), durable=True)
    try:
        postgres.start()
        yield Server(postgres.create_database("postgres"))
    finally:
        postgres.stop()
        shutil.rmtree(folder, ignore_errors=True)


class Templates:
    """Databases ours prepared with a size's base (loaded by ours, settled, verified), copied for each of
    ours' runs that start from it: the state a daily load finds, made once rather than per run."""

    def __init__(self, server: Server) -> None:
        self.server, self.made, self.failed = server, {}, {}

    def for_run(self, run: Run, files: Files, python: Path, timeout: float) -> str:
        if run.size not in self.made:
            name = f"bench_template_{uuid.uuid4().hex[:8]}"
            url = self.server.create_database(name)
            self.made[run.size] = name
            command = [str(python), str(HERE / "methods" / "ours.py"), "--db", url, "--case", run.case]
            command += ["--base", str(files.path("base")), "--prepare-only"]
            measured = run_measured(command, timeout)
            line = _json_line(measured.stdout)
            if measured.status != 0 or not (line or {}).get("verified"):
                self.failed[run.size] = f"preparing ours' base failed: {measured.stderr.strip()[-2000:]} {line}"
        if run.size in self.failed:
            raise RuntimeError(self.failed[run.size])
        return self.made[run.size]

    def drop(self) -> None:
        for name in self.made.values():
            self.server.drop_database(name)
        self.made = {}


# --- one run -------------------------------------------------------------------------------------------


def execute(
    run: Run,
    files: Files,
    server: Server,
    python: Path,
    timeout: float = RUN_TIMEOUT_S,
    templates: Templates | None = None,
    extra: tuple[str, ...] = (),
) -> Outcome:
    """Run one case in a fresh database (a copy of ours' prepared one, for ours' cases that start from the
    base) and a fresh process; its JSON line, peak RSS and check."""
    loaded, base = case_files(files, run.case)
    database = f"bench_{run.name}_{uuid.uuid4().hex[:8]}"
    outcome = Outcome(run)
    try:
        template = templates.for_run(run, files, python, timeout) if run.prepared and templates else None
    except RuntimeError as exc:  # the run cannot start from the base: it fails, the others go on
        outcome.error = str(exc)
        return outcome
    url = server.create_database(database, template)
    command = [str(python), str(HERE / "methods" / f"{run.method}.py"), "--db", url, "--case", run.case]
    command += ["--file", str(loaded)] + (["--base", str(base)] if base else []) + (["--prepared"] if template else [])
    command += extra
    try:
        measured = run_measured(command, timeout)
        outcome.peak_rss_mib = measured.peak_rss_kib / 1024  # ru_maxrss is in KiB on Linux
        outcome.measurer_rss_mib = measured.measurer_kib / 1024
        if measured.status != 0:
            outcome.error = f"exit status {measured.status}: {measured.stderr.strip()[-2000:]}"
            return outcome
        result = _json_line(measured.stdout)
        if result is None:
            outcome.error = f"no JSON line on stdout: {measured.stdout.strip()[-500:]!r}"
            return outcome
        outcome.result = result
        problems = problems_with(outcome, files.manifest)
        outcome.verified = not problems
        if problems:
            outcome.error = "not verified: " + "; ".join(problems)
    finally:
        server.drop_database(database)
    return outcome


def _json_line(stdout: str) -> dict | None:
    try:
        return json.loads(stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return None


# Runs one command, reaps it with os.wait4 and writes its exit status and peak RSS (ru_maxrss, KiB) as JSON to
# the report file; its own VmHWM too, the floor under any child's figure. The harness starts each method through
# this small process (stdlib only, no site) rather than directly: on Linux a child's ru_maxrss starts at its
# parent's peak RSS (the high-water mark carries over fork and exec), so the harness's own memory would be a
# floor under every method's figure, where this process's few MiB are.
MEASURE = r"""
import json, os, subprocess, sys, time
report, timeout, command = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
process = subprocess.Popen(command)
deadline, killed = time.monotonic() + timeout, False
while True:
    pid, status, usage = os.wait4(process.pid, os.WNOHANG)
    if pid:
        break
    if time.monotonic() > deadline:
        process.kill()
        pid, status, usage = os.wait4(process.pid, 0)
        killed = True
        break
    time.sleep(0.05)
process.returncode = os.waitstatus_to_exitcode(status)
with open("/proc/self/status") as own:
    own_kib = next(int(line.split()[1]) for line in own if line.startswith("VmHWM:"))
with open(report, "w") as out:
    json.dump({"status": process.returncode, "maxrss_kib": usage.ru_maxrss, "killed": killed, "own_kib": own_kib}, out)
"""


@dataclass(frozen=True)
class Measured:
    """A finished process: exit status, output, and peak RSS (of it alone, and of the process that measured it)."""

    status: int
    stdout: str
    stderr: str
    peak_rss_kib: int
    measurer_kib: int


def run_measured(command: list[str], timeout: float) -> Measured:
    """Run ``command`` through the MEASURE process; killed after ``timeout`` seconds (noted on its stderr)."""
    with tempfile.TemporaryDirectory(prefix="bench-run-") as folder:
        out, err, report = (Path(folder) / name for name in ("stdout", "stderr", "report.json"))
        with out.open("w") as stdout, err.open("w") as stderr:
            subprocess.run(
                [sys.executable, "-S", "-c", MEASURE, str(report), str(timeout), *command],
                stdout=stdout,
                stderr=stderr,
                env=os.environ | {"PYTHONUNBUFFERED": "1"},
                check=True,
            )
        result = json.loads(report.read_text())
        stderr_text = err.read_text() + (f"\nbench: killed after {timeout:.0f} s" if result["killed"] else "")
        return Measured(result["status"], out.read_text(), stderr_text, result["maxrss_kib"], result["own_kib"])


# --- the results ---------------------------------------------------------------------------------------


@dataclass
class Case:
    """The runs of one name, summed up: median seconds (with min and max when repeated), and the rest."""

    name: str
    outcomes: list[Outcome]
    floor: float | None = None  # the floor's median seconds on a file of the same size
    floor_indexed: float | None = None  # floor_indexed's median seconds on a file of the same size

    @property
    def run(self) -> Run:
        return self.outcomes[0].run

    @property
    def times(self) -> list[float]:
        return [o.seconds for o in self.outcomes if o.seconds is not None]

    @property
    def seconds(self) -> float | None:
        return statistics.median(self.times) if self.times else None

    @property
    def verified(self) -> bool:
        return all(o.verified for o in self.outcomes)

    @property
    def rows(self) -> int | None:
        return next((o.rows for o in self.outcomes if o.rows is not None), None)

    @property
    def peak_rss_mib(self) -> float | None:
        peaks = [o.peak_rss_mib for o in self.outcomes if o.peak_rss_mib is not None]
        return max(peaks) if peaks else None

    @property
    def ratio(self) -> float | None:
        return self.seconds / self.floor if self.seconds is not None and self.floor else None

    @property
    def ratio_indexed(self) -> float | None:
        """Over floor_indexed: for ours' first loads (the table they build has both indexes) and the floors."""
        if not (self.builds_both_indexes and self.seconds is not None and self.floor_indexed):
            return None
        return self.seconds / self.floor_indexed

    @property
    def builds_both_indexes(self) -> bool:
        """A first load of ours, or a floor: the loads floor_indexed's figure is read against."""
        return self.run.case == "first_load" and self.run.method in ("ours", "floor", "floor_indexed")

    @property
    def median_outcome(self) -> Outcome:
        """The run whose seconds are the median (its profile and counts are the ones shown)."""
        timed = sorted((o for o in self.outcomes if o.seconds is not None), key=lambda o: o.seconds)
        return timed[(len(timed) - 1) // 2] if timed else self.outcomes[0]

    @property
    def history(self) -> bool:
        return METHODS[self.run.method].history

    def target(self) -> tuple[str, bool | None]:
        """Issue 19's target for the case, as printed, and whether it is met (None: no target, or no number)."""
        if self.name not in TARGETS:
            return "", None
        kind, bound, text = TARGETS[self.name]
        value = {"ratio": self.ratio, "seconds": self.seconds, "rss": self.peak_rss_mib}[kind]
        if value is None:
            return text, None
        return text, value < bound if kind == "seconds" else value <= bound


@dataclass
class Summary:
    """The runs summed up: the floor's and floor_indexed's by file size, every other name's by name."""

    floors: dict[int, Case]
    indexed: dict[int, Case]
    cases: dict[str, Case]


def summarize(outcomes: list[Outcome]) -> Summary:
    """The floors' runs by file size, and every other name's runs, each with the floors of its size."""
    floors: dict[int, Case] = {}
    indexed: dict[int, Case] = {}
    cases: dict[str, Case] = {}
    for outcome in outcomes:
        run = outcome.run
        if run.name in ("floor", "floor_indexed"):
            by_size = floors if run.name == "floor" else indexed
            by_size.setdefault(run.size, Case(run.name, [])).outcomes.append(outcome)
        else:
            cases.setdefault(run.name, Case(run.name, [])).outcomes.append(outcome)
    for case in [*floors.values(), *indexed.values(), *cases.values()]:
        floor, floor_indexed = floors.get(case.run.size), indexed.get(case.run.size)
        case.floor = floor.seconds if floor else None
        case.floor_indexed = floor_indexed.seconds if floor_indexed else None
    return Summary(floors, indexed, cases)


def backfill_budget(outcomes: list[Outcome], rows: int, given: float | None) -> float | None:
    """Seconds the backfill's loads may take: given, or BACKFILL_BUDGET_FACTOR times its target (None:
    no limit, when given as 0 or when there is no next_day to take the target from)."""
    if given is not None:
        return given or None
    times = [o.seconds for o in outcomes if o.run.name == "next_day" and o.run.size == rows and o.seconds]
    if not times:
        return None
    allowed = TARGET_VS_30_NEXT_DAY * BACKFILL_PUBLICATIONS * statistics.median(times)
    return round(max(BACKFILL_BUDGET_MIN_S, BACKFILL_BUDGET_FACTOR * allowed), 1)


def backfill_figures(case: Case, cases: dict[str, Case]) -> dict:
    """The backfill's own figures, with the ratios issue 19 sets targets for. A backfill stopped over its
    budget has a lower bound for vs_30_next_day, and its loads' own rate carried to all of them."""
    result = case.median_outcome.result
    next_day = cases.get("next_day")
    figures = {
        name: result.get(name)
        for name in ("history_bytes", "latest_bytes", "as_of_county_ms", "as_of_state_date_ms", "publications")
    }
    figures["loaded"] = result.get("loaded")
    figures["complete"] = result.get("loaded") == result.get("publications")
    if not figures["complete"]:
        figures["estimated_seconds"] = result.get("estimated_seconds")
    figures["vs_30_next_day"] = (
        round(case.seconds / (result["publications"] * next_day.seconds), 3)
        if next_day and next_day.seconds and case.seconds is not None and result.get("publications")
        else None
    )
    if not figures["complete"] and figures["vs_30_next_day"] and figures.get("estimated_seconds"):
        figures["vs_30_next_day_estimated"] = round(
            figures["vs_30_next_day"] * figures["estimated_seconds"] / case.seconds, 3
        )
    figures["history_vs_latest"] = (
        round(result["history_bytes"] / result["latest_bytes"], 3) if result.get("latest_bytes") else None
    )
    return figures


def _number(value, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


COLUMNS = ("case", "method", "rows", "seconds", "min–max", "rows/s", "peak RSS MiB", "× floor", "× floor_indexed",
           "target", "inserted", "updated", "deleted", "history", "verified")  # fmt: skip


def table_rows(summary: Summary) -> list[tuple[str, ...]]:
    """The table's cells: the floor and floor_indexed of each size first, then every case."""
    cells = []
    for case in [*summary.floors.values(), *summary.indexed.values(), *summary.cases.values()]:
        times, shown = case.times, case.median_outcome.result
        text, met = case.target()
        counts = [shown.get(name) for name in ("inserted", "updated", "deleted")]
        cells.append(
            (
                case.name,
                case.run.method,
                f"{case.rows:,}" if case.rows is not None else f"~{case.run.size:,}",
                _number(case.seconds),
                f"{min(times):.2f}–{max(times):.2f}" if len(times) > 1 else "",
                f"{case.rows / case.seconds:,.0f}" if case.seconds and case.rows else "-",
                _number(case.peak_rss_mib, 0),
                _number(case.ratio),
                _number(case.ratio_indexed) if case.builds_both_indexes else "",
                f"{text} {'met' if met else 'MISSED'}" if met is not None else text,
                *("-" if count is None else f"{count:,}" for count in counts),
                "yes" if case.history else "none kept",
                "yes" if case.verified else "NO",
            )
        )
    return cells


def text_table(header: tuple[str, ...], rows: list[tuple[str, ...]], left: int = 2) -> str:
    rows = [header, *rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(widths[i]) if i < left else cell.rjust(widths[i]) for i, cell in enumerate(row))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(header: tuple[str, ...], rows: list[tuple[str, ...]], left: int = 2) -> str:
    rule = "|" + "|".join("---" if i < left else "---:" for i in range(len(header))) + "|"
    lines = ["| " + " | ".join(header) + " |", rule]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


PROFILE_COLUMNS = ("case", "seconds", "Python read/compare", "Python other", "COPY wait", "SQL", "commit", "connect",
                   "second thread", "slowest statements (s, count)")  # fmt: skip


def profile_rows(cases: dict[str, Case]) -> list[tuple[str, ...]]:
    """Ours' cases split by where the time went (the median run's, or the backfill's 30 loads summed)."""
    cells = []
    for case in cases.values():
        profile = case.median_outcome.result.get("profile")
        if not profile:
            continue
        statements = "; ".join(f"{name}… {seconds:.3f} ({count})" for name, seconds, count in profile["statements"][:3])
        cells.append(
            (
                case.name,
                f"{profile['total']:.3f}",
                *(f"{profile[key]:.3f}" for key in ("python_read", "python_other", "copy", "sql", "commit", "connect")),
                f"{profile.get('meanwhile', 0.0):.3f}",
                statements.replace("|", "\\|"),
            )
        )
    return cells


BACKFILL_COLUMNS = ("publications loaded", "seconds", "vs 30 × next_day", "history bytes", "latest bytes",
                    "history/latest", "as_of county ms", "as_of state, date ms", "verified")  # fmt: skip


def backfill_rows(cases: dict[str, Case]) -> list[tuple[str, ...]]:
    case = cases.get(BACKFILL_CASE)
    if case is None:
        return []
    figures = backfill_figures(case, cases)

    def against(name: str, digits: int = 2) -> str:
        value = figures.get(name)
        bound, text = BACKFILL_TARGETS[name]
        if value is None:
            return "-"
        if name == "vs_30_next_day" and not figures["complete"]:  # a lower bound: met is not known
            estimated = figures.get("vs_30_next_day_estimated")
            verdict = "MISSED" if value > bound else "not known"
            return f"≥ {value:,.{digits}f}, ~{estimated:,.{digits}f} estimated ({text}: {verdict})"
        return f"{value:,.{digits}f} ({text}: {'met' if value <= bound else 'MISSED'})"

    loaded = figures["publications"] if figures["complete"] else f"{figures['loaded']} of {figures['publications']}"
    seconds = _number(case.seconds)
    if not figures["complete"] and figures.get("estimated_seconds"):
        seconds += f" (all: ~{figures['estimated_seconds']:,.0f})"
    return [
        (
            str(loaded),
            seconds,
            against("vs_30_next_day"),
            _number(figures["history_bytes"], 0),
            _number(figures["latest_bytes"], 0),
            against("history_vs_latest"),
            against("as_of_county_ms", 1),
            _number(figures["as_of_state_date_ms"], 1),
            "yes" if case.verified else "NO",
        )
    ]


def results_json(summary: Summary, rows: int, server_info: dict, wall_s: float, load_before: float = 0.0) -> dict:
    """latest.json: issue 19's shape ({"date", "cores", "rows", "floor_seconds", "cases": {NAME: {...}}}),
    plus the min and max of repeated runs, ours' profile, the floors of every size and where it ran; and
    floor_indexed (``floor_indexed_seconds``; ``ratio_to_floor_indexed`` in ours' first loads)."""
    floors, cases = summary.floors, summary.cases
    main_floor, main_indexed = floors.get(rows), summary.indexed.get(rows)
    out_cases = {}
    for name, case in cases.items():
        shown = case.median_outcome.result
        entry = {
            "seconds": case.seconds,
            "ratio_to_floor": round(case.ratio, 4) if case.ratio is not None else None,
            "rows_per_second": round(case.rows / case.seconds) if case.rows and case.seconds else None,
            "peak_rss_mb": round(case.peak_rss_mib, 1) if case.peak_rss_mib is not None else None,
            "verified": case.verified,
            "rows": case.rows,
            "method": case.run.method,
            "keeps_history": case.history,
        }
        if case.builds_both_indexes:
            ratio = case.ratio_indexed
            entry["ratio_to_floor_indexed"] = round(ratio, 4) if ratio is not None else None
        if len(case.times) > 1:
            entry |= {"min": min(case.times), "max": max(case.times), "runs": case.times}
        text, met = case.target()
        if text:
            entry |= {"target": text, "target_met": met}
        entry |= {name: shown.get(name) for name in ("inserted", "updated", "deleted") if shown.get(name) is not None}
        for key in ("profile", "how", "history"):
            if key in shown:
                entry[key] = shown[key]
        if name == BACKFILL_CASE:
            entry |= backfill_figures(case, cases) | {"loads": shown.get("loads"), "as_of": shown.get("as_of")}
            entry["targets"] = {key: text for key, (_, text) in BACKFILL_TARGETS.items()}
        errors = [o.error for o in case.outcomes if o.error]
        if errors:
            entry["errors"] = errors
        out_cases[name] = entry
    return {
        "date": date.today().isoformat(),
        "cores": os.cpu_count(),
        "rows": main_floor.rows if main_floor and main_floor.rows else rows,
        "floor_seconds": main_floor.seconds if main_floor else None,
        "floor_indexed_seconds": main_indexed.seconds if main_indexed else None,
        "floors": _floors_json(floors),
        "floors_indexed": _floors_json(summary.indexed),
        "cases": out_cases,
        "server": server_info,
        "machine": machine() | {"load_average_before": round(load_before, 2)},
        "wall_minutes": round(wall_s / 60, 2),
    }


def _floors_json(floors: dict[int, Case]) -> dict[str, dict]:
    """A floor's runs by file size (its rows): median, min, max, runs; floor_indexed's also its way and ratio."""
    out = {}
    for size, floor in floors.items():
        entry = {"seconds": floor.seconds, "min": min(floor.times, default=None), "max": max(floor.times, default=None),
                 "runs": floor.times, "verified": floor.verified}  # fmt: skip
        if floor.run.method == "floor_indexed":
            shown = floor.median_outcome.result
            entry |= {"ratio_to_floor": round(floor.ratio, 4) if floor.ratio else None, "how": shown.get("how")}
        out[str(floor.rows or size)] = entry
    return out


def total_ram_gib() -> float:
    with open("/proc/meminfo") as meminfo:
        kib = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal:"))
    return kib / 2**20


def cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def machine() -> dict:
    return {
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "ram_gib": round(total_ram_gib(), 1),
        "system": f"{platform.system()} {platform.release()}",
        "load_average_after": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
    }


def measurer_floor_mib(outcomes: list[Outcome]) -> float:
    """The largest peak RSS of the measuring processes: no child's figure below it means anything."""
    return max((o.measurer_rss_mib for o in outcomes if o.measurer_rss_mib is not None), default=0.0)


def _indexed_how(summary: Summary) -> str:
    """How floor_indexed had its indexes (its JSON line's ``how``), or that it did not run."""
    hows = {case.median_outcome.result.get("how") for case in summary.indexed.values()} - {None}
    return "; ".join(sorted(hows)) or "not run"


def locked_version(lock: Path, package: str) -> str:
    """``package``'s version pinned in a uv lock (``name==version``)."""
    for line in lock.read_text().splitlines():
        if line.startswith(f"{package}=="):
            return line.split("==", 1)[1].split()[0]
    return "?"


def report(
    outcomes: list[Outcome], server_info: dict[str, str], files: dict[int, Files], wall_s: float, load_before: float
) -> str:
    """The results page: what ran where, then the tables."""
    summary = summarize(outcomes)
    cases = summary.cases
    settings = ", ".join(f"{name}={server_info[name]}" for name in SETTINGS_SHOWN)
    data = "; ".join(
        f"{f.manifest.rows:,} rows ({f.manifest.days:,} day{'s' if f.manifest.days > 1 else ''}"
        f" x {f.manifest.counties:,} counties, {f.manifest.first_date}..{f.manifest.last_date})"
        for f in files.values()
    )
    main = next(iter(files.values())).manifest
    repeats = max((len(case.outcomes) for case in cases.values() if case.run.method == "ours"), default=1)
    lines = [
        f"# County load benchmark, {date.today().isoformat()}",
        "",
        "`make bench` (benchmarks/bench_counties.py): NYT-shaped county files into `covid_us_county_daily`,"
        " each run in a fresh database and a fresh Python process. See benchmarks/README.md.",
        "",
        f"- Machine: {os.cpu_count()} cores ({cpu_model()}), {total_ram_gib():.1f} GiB RAM,"
        f" {platform.system()} {platform.release()}; load average {load_before:.2f} when the run began",
        f"- PostgreSQL: {server_info['version']}",
        f"- Server settings (one durable server for every run): {settings}",
        f"- Python {platform.python_version()}; psycopg {version('psycopg')}, psycopg2 {version('psycopg2-binary')};"
        f" dlt {locked_version(DLT_LOCK, 'dlt')} and pyarrow {locked_version(DLT_LOCK, 'pyarrow')} in .venv-dlt",
        f"- Data: generate_counties.py, seed {main.seed}: {data}. revised_1pct: {main.revised_rows:,} past rows"
        f" changed, {main.new_rows:,} new rows; next_day: {main.next_day_revised_rows:,} past rows changed (over"
        f" every day), {len(main.next_day_deleted)} past keys dropped, {main.new_rows:,} new rows",
        f"- Ours' cases, the floor and floor_indexed: {repeats} runs each, in rounds (on each size: floor,"
        " first_load, floor_indexed, then ours' other cases); seconds is the median, min–max beside it. Peers: one"
        " run",
        f"- floor_indexed: {_indexed_how(summary)}",
        f"- Wall time of the whole run: {wall_s / 60:.1f} min",
        f"- Peak RSS is each method process's own ru_maxrss (os.wait4), taken by a small process that starts it;"
        f" that process's {measurer_floor_mib(outcomes):.0f} MiB is the floor under the column (a child's ru_maxrss"
        " starts at its parent's peak on Linux)",
        "",
        markdown_table(COLUMNS, table_rows(summary)),
        "",
        "seconds: the load alone, timed inside the method's process (prepare and verification excluded)."
        " peak RSS: the method process's maximum resident set (os.wait4), prepare and verification included"
        " (the largest of the runs). × floor: seconds / the floor's median seconds on a file of the same size."
        " × floor_indexed: the same over floor_indexed's (a plain COPY into the table with the primary key and"
        " ours' (state, county) lookup index: the table ours' first load builds), for ours' first loads and the"
        " floors."
        " history: whether the method keeps the history of the publications (ours writes the changes table,"
        " the publications and the fingerprints in every case; the peers keep none). verified: the table's rows"
        " equal the file's (count, sums and a hash of every row), the keys the publication dropped are gone, the"
        " reported inserts/updates/deletes are the expected ones (dlt does not report them: `-`), and for ours"
        " the history written is the expected one.",
    ]
    if profile := profile_rows(cases):
        lines += [
            "",
            "## Where ours' time goes",
            "",
            markdown_table(PROFILE_COLUMNS, profile, left=1),
            "",
            "Seconds of the median run (benchmarks/methods/profiling.py), the loading thread's: Python"
            " read/compare is Python's time producing the lines of a COPY it runs (reading, checking, comparing"
            " with the fingerprints); COPY wait the server taking them; SQL every other statement; Python other"
            " the rest (reading and checking the file while the second thread copies, and waiting for it)."
            " Second thread: the statements and COPYs the loader runs from its second thread meanwhile (a first"
            " load's COPY and index builds, a compared publication's batches). backfill_30: its loads summed.",
        ]
    if backfill := backfill_rows(cases):
        lines += ["", "## Backfill", "", markdown_table(BACKFILL_COLUMNS, backfill, left=0), ""]
        lines.append(
            "30 daily publications (each the previous plus one day, 0.1% revised, 5 keys dropped) loaded by ours"
            " in a shuffled order; verified: the latest table and `covid_us_county_daily_as_of(t)` at every"
            " publication's time + 1 s equal its file. history: `covid_us_county_daily_changes`,"
            " `dataset_publications` and `dataset_fingerprints` (pg_total_relation_size); latest:"
            " `covid_us_county_daily`. as_of: median of 5 runs of one county's whole series and of one state on"
            " one date, as of the middle publication."
        )
    errors = [f"- {o.run.name} ({o.run.size:,}): {o.error}" for o in outcomes if o.error]
    if errors:
        lines += ["", "Failures:", "", *errors]
    return "\n".join(lines) + "\n"


# --- main ----------------------------------------------------------------------------------------------


def _names(text: str, allowed: tuple[str, ...], what: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in allowed]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown {what}: {', '.join(unknown)} (known: {', '.join(allowed)})")
    return names


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="rows of the main file (default 2,500,000)")
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEAT, help="runs of each of ours' cases (default 3)")
    parser.add_argument(
        "--cases", type=lambda text: _names(text, OURS_CASES, "case"), default=list(OURS_CASES), help="ours' cases"
    )
    parser.add_argument(
        "--sizes",
        type=lambda text: [int(size) for size in text.split(",") if size.strip()],
        help="sizes of ours' two extra first loads, rss_0_5m and rss_5m ('' for none; default a fifth of and"
        " twice --rows)",
    )
    parser.add_argument(
        "--peers", type=lambda text: _names(text, PEERS, "peer"), default=list(PEERS), help="'' for none"
    )
    parser.add_argument(
        "--peer-cases",
        type=lambda text: _names(text, PEER_CASES, "peer case"),
        default=list(DEFAULT_PEER_CASES),
        help=f"of {','.join(PEER_CASES)} (default first_load,next_day)",
    )
    parser.add_argument("--backfill", type=int, default=BACKFILL_PUBLICATIONS, help="publications (0: no backfill)")
    parser.add_argument(
        "--backfill-budget",
        type=float,
        help=f"seconds the backfill's loads may take (0: no limit; default {BACKFILL_BUDGET_FACTOR} times its target)",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--counties", type=Path, default=COUNTIES_CSV, help="the generator's county list (the tests use a short one)"
    )
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "build" / "bench")
    parser.add_argument("--results-dir", type=Path, default=HERE / "results")
    parser.add_argument(
        "--server-url", help="use this server's database URL (e.g. .../postgres) instead of starting one"
    )
    args = parser.parse_args(argv)
    if args.sizes is None:
        args.sizes = [round(args.rows * factor) for factor in SIZE_FACTORS]
    if args.backfill not in (0, BACKFILL_PUBLICATIONS):
        parser.error(f"--backfill is {BACKFILL_PUBLICATIONS} (the case backfill_30) or 0")
    return args


def main(argv: list[str] | None = None) -> int:
    started, load_before = time.monotonic(), os.getloadavg()[0]
    args = parse_args(argv)
    runs = plan(
        args.rows,
        cases=args.cases,
        sizes=args.sizes[: len(SIZE_NAMES)],
        repeat=args.repeat,
        peers=args.peers,
        peer_cases=args.peer_cases,
        backfill=bool(args.backfill),
    )
    pythons = {method: method_python(method) for method in {run.method for run in runs}}
    files = {  # the main size first, with its derived files and the backfill
        size: ensure_files(
            size, args.seed, args.cache_dir, derived=main, backfill=args.backfill if main else 0, counties=args.counties
        )
        for size in dict.fromkeys([args.rows, *(run.size for run in runs)])
        for main in [size == args.rows]
    }

    server_cm = contextlib.nullcontext(Server(args.server_url)) if args.server_url else local_server()
    outcomes = []
    with server_cm as server:
        server_info = server.describe()
        templates = Templates(server)
        try:
            for run in runs:
                began = time.monotonic()
                extra: tuple[str, ...] = ()
                if run.case == BACKFILL_CASE and (budget := backfill_budget(outcomes, args.rows, args.backfill_budget)):
                    extra = ("--budget", str(budget))
                    print(f"bench: backfill_30's loads stop after {budget:.0f} s", flush=True)
                outcome = execute(run, files[run.size], server, pythons[run.method], templates=templates, extra=extra)
                outcomes.append(outcome)
                status = "ok" if outcome.verified else f"FAILED: {outcome.error}"
                print(
                    f"bench: {run.name} ({run.method}) ~{run.size:,} rows: {outcome.seconds} s"
                    f" ({time.monotonic() - began:.1f} s with its setup and checks), {status}",
                    flush=True,
                )
        finally:
            templates.drop()

    wall_s = time.monotonic() - started
    summary = summarize(outcomes)
    cases = summary.cases
    print()
    print(text_table(COLUMNS, table_rows(summary)))
    if profile := profile_rows(cases):
        print()
        print(text_table(PROFILE_COLUMNS, profile, left=1))
    if backfill := backfill_rows(cases):
        print()
        print(text_table(BACKFILL_COLUMNS, backfill, left=0))
    print(f"\nwall time {wall_s / 60:.1f} min")
    args.results_dir.mkdir(parents=True, exist_ok=True)
    page = args.results_dir / f"{date.today().isoformat()}.md"
    page.write_text(report(outcomes, server_info, files, wall_s, load_before))
    latest = args.results_dir / "latest.json"
    document = results_json(summary, args.rows, server_info, wall_s, load_before)
    latest.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    print(f"written to {page} and {latest}")
    return 0 if outcomes and all(o.verified for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
