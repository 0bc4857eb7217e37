"""`make bench`: load NYT's county series (~2.5M rows) into PostgreSQL with each method, side by side, in one run.

For the main size (``--rows``) it runs every method on every case it has (benchmarks/methods/__init__.py):
``first`` (empty table), ``reload`` (the same publication again, skip disabled), ``revised`` (1% of past
rows changed and one more day), ``skip`` (the same publication, skip enabled; ours only). For each extra
size (``--sizes``) it runs ours' ``first`` case, to show how its peak memory grows with the file. The floor
(a plain COPY into the empty table) runs at every size, since each line's ratio is to the floor's time
on a file of the same size.

Each (method, case) runs in a fresh database, in a fresh Python process (its own peak RSS, from
``os.wait4``), on one PostgreSQL server that this script starts in a temporary folder and stops at the
end. The server is durable (fsync, synchronous_commit and full_page_writes on, PostgreSQL's defaults), as a
production database is: a load's cost includes writing its WAL and data safely.

Files come from benchmarks/generate_counties.py, cached under build/bench/ by rows, seed and generator
version. The table is printed and written as Markdown to benchmarks/results/<date>.md with the machine,
server and software it ran on. Exits 1 if any run failed or did not verify.

Usage: python benchmarks/bench_counties.py [--rows N] [--methods a,b] [--cases a,b] [--sizes N,M]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from importlib.metadata import version
from pathlib import Path

import psycopg
from generate_counties import Manifest, cache_folder, read_manifest
from methods import CASES, METHODS

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# devstack and the settings it reads (include/), when not run through make (which sets PYTHONPATH)
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "include")]
from devstack import LocalPostgres, free_port  # noqa: E402

DEFAULT_ROWS = 2_500_000
DEFAULT_SIZES = (500_000, 5_000_000)
DEFAULT_SEED = 20200121
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


@dataclass(frozen=True)
class Run:
    """One (method, case) on one file size."""

    method: str
    case: str
    size: int  # the rows asked of the generator; the file has whole days (Manifest.rows)


@dataclass
class Outcome:
    """What one run gave: its JSON line's numbers, its peak RSS, and whether it verified (or why not)."""

    run: Run
    rows: int | None = None
    seconds: float | None = None
    peak_rss_mib: float | None = None
    measurer_rss_mib: float | None = None  # a floor under peak_rss_mib: see MEASURE
    inserted: int | None = None
    updated: int | None = None
    verified: bool = False
    error: str | None = None


@dataclass(frozen=True)
class Files:
    """A generated folder of county files (base, and for the main size republished and revised)."""

    folder: Path
    manifest: Manifest

    def path(self, role: str) -> Path:
        return self.folder / self.manifest.files[role]


# --- the plan ------------------------------------------------------------------------------------------


def plan(rows: int, methods: list[str], cases: list[str], sizes: list[int]) -> list[Run]:
    """Every run, in order: the main size's floor, then each method's cases; then each extra size's floor and ours."""
    runs = [Run("floor", "first", rows)]
    for method in methods:
        runs += [Run(method, case, rows) for case in METHODS[method].cases if case in cases and method != "floor"]
    if "ours" in methods and "first" in cases:
        for size in dict.fromkeys(size for size in sizes if size != rows):
            runs += [Run("floor", "first", size), Run("ours", "first", size)]
    return runs


def case_files(files: Files, case: str) -> tuple[Path, Path | None]:
    """(the file a case loads, the BASE the table holds before it, or None)."""
    if case == "first":
        return files.path("base"), None
    loaded = {"reload": "republished", "skip": "republished", "revised": "revised"}[case]
    return files.path(loaded), files.path("base")


def expected_counts(manifest: Manifest, case: str) -> tuple[int, int]:
    """(inserted, updated) a correct upsert reports for a case."""
    return {
        "first": (manifest.rows, 0),
        "reload": (0, 0),
        "skip": (0, 0),
        "revised": (manifest.new_rows, manifest.revised_rows),
    }[case]


# --- the files -----------------------------------------------------------------------------------------


def ensure_files(rows: int, seed: int, cache_dir: Path, *, derived: bool) -> Files:
    """The county files for (rows, seed), generated unless cached (with the derived files when ``derived``).

    The generator runs in a process of its own (its command line), so the harness stays small.
    """
    folder = cache_folder(rows, seed, cache_dir)
    manifest = read_manifest(folder)
    if manifest is None or (derived and "revised" not in manifest.files):
        (folder / "manifest.json").unlink(missing_ok=True)
        command = [sys.executable, str(HERE / "generate_counties.py"), "--rows", str(rows), "--seed", str(seed)]
        subprocess.run(
            command + ["--out", str(folder)] + ([] if derived else ["--base-only"]),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        manifest = read_manifest(folder)
    return Files(folder, manifest)


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

    def create_database(self, name: str) -> str:
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.admin_url.rsplit("/", 1)[0] + "/" + name

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


# --- one run -------------------------------------------------------------------------------------------


def execute(run: Run, files: Files, server: Server, python: Path, timeout: float = RUN_TIMEOUT_S) -> Outcome:
    """Run one (method, case) in a fresh database and a fresh process; its JSON line, peak RSS and check."""
    loaded, base = case_files(files, run.case)
    database = f"bench_{run.method}_{run.case}_{uuid.uuid4().hex[:8]}"
    url = server.create_database(database)
    command = [str(python), str(HERE / "methods" / f"{run.method}.py"), "--db", url, "--case", run.case]
    command += ["--file", str(loaded)] + (["--base", str(base)] if base else [])
    outcome = Outcome(run)
    try:
        measured = run_measured(command, timeout)
        outcome.peak_rss_mib = measured.peak_rss_kib / 1024  # ru_maxrss is in KiB on Linux
        outcome.measurer_rss_mib = measured.measurer_kib / 1024
        if measured.status != 0:
            outcome.error = f"exit status {measured.status}: {measured.stderr.strip()[-2000:]}"
            return outcome
        try:
            result = json.loads(measured.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            outcome.error = f"no JSON line on stdout: {measured.stdout.strip()[-500:]!r}"
            return outcome
        outcome.rows, outcome.seconds = result["rows"], result["seconds"]
        outcome.inserted, outcome.updated = result["inserted"], result["updated"]
        outcome.verified = bool(result["verified"]) and _counts_agree(outcome, files.manifest)
        if not outcome.verified:
            outcome.error = f"not verified: {result}"
    finally:
        server.drop_database(database)
    return outcome


def _counts_agree(outcome: Outcome, manifest: Manifest) -> bool:
    """Whether the reported inserts and updates are what the files imply (a method that does not count passes)."""
    inserted, updated = expected_counts(manifest, outcome.run.case)
    return outcome.inserted in (None, inserted) and outcome.updated in (None, updated)


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


# --- the report ----------------------------------------------------------------------------------------

COLUMNS = ("method", "case", "rows", "seconds", "rows/s", "peak RSS MiB", "x floor", "inserted", "updated", "verified")


def table_rows(outcomes: list[Outcome]) -> list[tuple[str, ...]]:
    """The table's cells, one tuple per run; the ratio is to the floor's seconds on a file of the same size."""
    floors = {o.run.size: o.seconds for o in outcomes if o.run.method == "floor" and o.seconds}
    cells = []
    for o in outcomes:
        floor = floors.get(o.run.size)
        cells.append(
            (
                o.run.method,
                o.run.case,
                f"{o.rows:,}" if o.rows is not None else f"~{o.run.size:,}",
                f"{o.seconds:.2f}" if o.seconds is not None else "-",
                f"{o.rows / o.seconds:,.0f}" if o.seconds and o.rows else "-",
                f"{o.peak_rss_mib:.0f}" if o.peak_rss_mib is not None else "-",
                f"{o.seconds / floor:.2f}" if o.seconds is not None and floor else "-",
                f"{o.inserted:,}" if o.inserted is not None else "-",
                f"{o.updated:,}" if o.updated is not None else "-",
                "yes" if o.verified else "NO",
            )
        )
    return cells


def text_table(outcomes: list[Outcome]) -> str:
    rows = [COLUMNS, *table_rows(outcomes)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    left = {0, 1}  # names left-aligned, numbers right-aligned
    lines = [
        "  ".join(
            cell.ljust(w) if i in left else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(outcomes: list[Outcome]) -> str:
    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join("---" if i < 2 else "---:" for i in range(len(COLUMNS))) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(outcomes)]
    return "\n".join(lines)


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


def measurer_floor_mib(outcomes: list[Outcome]) -> float:
    """The largest peak RSS of the measuring processes: no child's figure below it means anything."""
    return max((o.measurer_rss_mib for o in outcomes if o.measurer_rss_mib is not None), default=0.0)


def locked_version(lock: Path, package: str) -> str:
    """``package``'s version pinned in a uv lock (``name==version``)."""
    for line in lock.read_text().splitlines():
        if line.startswith(f"{package}=="):
            return line.split("==", 1)[1].split()[0]
    return "?"


def report(outcomes: list[Outcome], server_info: dict[str, str], files: dict[int, Files], wall_s: float) -> str:
    """The results page: what ran where, then the table."""
    settings = ", ".join(f"{name}={server_info[name]}" for name in SETTINGS_SHOWN)
    data = "; ".join(
        f"{f.manifest.rows:,} rows ({f.manifest.days:,} day{'s' if f.manifest.days > 1 else ''}"
        f" x {f.manifest.counties:,} counties,"
        f" {f.manifest.first_date}..{f.manifest.last_date})"
        for f in files.values()
    )
    main = next(iter(files.values())).manifest
    lines = [
        f"# County load benchmark, {date.today().isoformat()}",
        "",
        "`make bench` (benchmarks/bench_counties.py): NYT-shaped county files into `covid_us_county_daily`,"
        " each (method, case) in a fresh database and a fresh Python process. See benchmarks/README.md.",
        "",
        f"- Machine: {os.cpu_count()} cores ({cpu_model()}), {total_ram_gib():.1f} GiB RAM,"
        f" {platform.system()} {platform.release()}",
        f"- PostgreSQL: {server_info['version']}",
        f"- Server settings (one durable server for every run): {settings}",
        f"- Python {platform.python_version()}; psycopg {version('psycopg')}, psycopg2 {version('psycopg2-binary')};"
        f" dlt {locked_version(DLT_LOCK, 'dlt')} and pyarrow {locked_version(DLT_LOCK, 'pyarrow')} in .venv-dlt",
        f"- Data: generate_counties.py, seed {main.seed}: {data}. Revised file: {main.revised_rows:,} past rows"
        f" changed, {main.new_rows:,} new rows (one more day)",
        f"- Wall time of the whole run: {wall_s / 60:.1f} min",
        f"- Peak RSS is each method process's own ru_maxrss (os.wait4), taken by a small process that starts it;"
        f" that process's {measurer_floor_mib(outcomes):.0f} MiB is the floor under the column (a child's ru_maxrss"
        " starts at its parent's peak on Linux)",
        "",
        markdown_table(outcomes),
        "",
        "seconds: the load alone, timed inside the method's process (prepare and verification excluded)."
        " peak RSS: the method process's maximum resident set (os.wait4), prepare and verification included."
        " x floor: seconds / the floor's seconds on a file of the same size. verified: the table's rows equal"
        " the file's (count, sums and a hash of every row) and the reported inserts/updates are the expected ones"
        " (dlt does not report them: `-`).",
    ]
    errors = [f"- {o.run.method} {o.run.case} ({o.run.size:,}): {o.error}" for o in outcomes if o.error]
    if errors:
        lines += ["", "Failures:", "", *errors]
    return "\n".join(lines) + "\n"


# --- main ----------------------------------------------------------------------------------------------


def _names(text: str, allowed: tuple[str, ...] | list[str], what: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in allowed]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown {what}: {', '.join(unknown)} (known: {', '.join(allowed)})")
    return names


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="rows of the main file (default 2,500,000)")
    parser.add_argument(
        "--methods",
        type=lambda text: _names(text, list(METHODS), "method"),
        default=list(METHODS),
        help=f"comma-separated, of {','.join(METHODS)} (the floor always runs: every ratio needs it)",
    )
    parser.add_argument("--cases", type=lambda text: _names(text, CASES, "case"), default=list(CASES))
    parser.add_argument(
        "--sizes",
        type=lambda text: [int(size) for size in text.split(",") if size.strip()],
        default=list(DEFAULT_SIZES),
        help="extra file sizes for ours' first case, comma-separated ('' for none; default 500000,5000000)",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "build" / "bench")
    parser.add_argument("--results-dir", type=Path, default=HERE / "results")
    parser.add_argument(
        "--server-url", help="use this server's database URL (e.g. .../postgres) instead of starting one"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    args = parse_args(argv)
    runs = plan(args.rows, args.methods, args.cases, args.sizes)
    pythons = {method: method_python(method) for method in {run.method for run in runs}}
    files = {  # the main size first
        size: ensure_files(size, args.seed, args.cache_dir, derived=size == args.rows)
        for size in dict.fromkeys(run.size for run in runs)
    }

    server_cm = contextlib.nullcontext(Server(args.server_url)) if args.server_url else local_server()
    outcomes = []
    with server_cm as server:
        server_info = server.describe()
        for run in runs:
            outcome = execute(run, files[run.size], server, pythons[run.method])
            outcomes.append(outcome)
            status = "ok" if outcome.verified else f"FAILED: {outcome.error}"
            print(f"bench: {run.method} {run.case} ~{run.size:,} rows: {outcome.seconds} s, {status}", flush=True)

    wall_s = time.monotonic() - started
    print()
    print(text_table(outcomes))
    print(f"\nwall time {wall_s / 60:.1f} min")
    page = report(outcomes, server_info, files, wall_s)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    result_file = args.results_dir / f"{date.today().isoformat()}.md"
    result_file.write_text(page)
    print(f"written to {result_file}")
    return 0 if all(o.verified for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
