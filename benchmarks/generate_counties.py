"""Write synthetic files in the layout of NYT's county series, deterministically from a seed.

Layout, as NYT publishes ``us-counties.csv``: header ``date,county,state,fips,cases,deaths``; rows sorted by
date, then state, then county; 5-digit FIPS keeping their leading zero; the geographic exceptions (New York
City, Kansas City and Joplin in Missouri, and an ``Unknown`` county in every state but DC) with an empty FIPS;
cumulative counts, cases >= deaths >= 0, mostly non-decreasing from day to day; a newline at the end.

The counties are the real ones, from ``benchmarks/data/counties.csv`` (see :func:`derive_counties`). Every
day lists every county, from 2020-01-21 on, so a file holds whole days: ``round(rows / counties)`` of them
(at least one), which makes its row count the multiple of the county count nearest to the one asked for.

Three files per (rows, seed), written into one folder:

- ``base.csv``: the publication;
- ``republished.csv``: the same publication published again, byte for byte;
- ``revised.csv``: the next publication: 1% of the base's rows (drawn uniformly, seeded) with other cases
  (a third of them also other deaths), and one more day of every county appended.

``manifest.json``, written last, describes them (and so marks the folder complete).

Usage: python benchmarks/generate_counties.py --rows 2500000 --seed 20200121 --out build/bench/x
       python benchmarks/generate_counties.py --derive-counties /path/to/jhu-reference.csv
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import random
import shutil
from array import array
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
COUNTIES_CSV = HERE / "data" / "counties.csv"
HEADER = "date,county,state,fips,cases,deaths\n"
FIRST_DATE = date(2020, 1, 21)
REVISED_SHARE = 0.01  # of the base's rows, revised in revised.csv
REVISED_DEATHS_SHARE = 1 / 3  # of the revised rows, whose deaths change too
CORRECTION_CHANCE = 0.002  # a day's cumulative cases fall (cases moved to another county)

# NYT reports the five boroughs as one area, "New York City", without a FIPS (its README).
NYC_BOROUGH_FIPS = {"36005", "36047", "36061", "36081", "36085"}
# The other areas NYT reports on their own line without a FIPS.
AREAS_WITHOUT_FIPS = [("New York", "New York City"), ("Missouri", "Kansas City"), ("Missouri", "Joplin")]
STATES_WITHOUT_UNKNOWN = {"District of Columbia"}


@dataclass(frozen=True)
class County:
    state: str
    county: str
    fips: str  # "" for the geographic exceptions


@dataclass(frozen=True)
class Manifest:
    """What a generated folder holds; ``manifest.json`` on disk."""

    rows: int  # of base.csv (and republished.csv)
    seed: int
    counties: int
    days: int
    first_date: str
    last_date: str  # of base.csv; revised.csv has one day more
    revised_rows: int  # rows of base.csv whose values differ in revised.csv
    new_rows: int  # rows revised.csv has beyond base.csv's dates
    files: dict[str, str]  # role (base, republished, revised) -> file name

    @property
    def revised_total(self) -> int:
        return self.rows + self.new_rows


def derive_counties(reference_csv: Path) -> list[County]:
    """The counties NYT reports, from the JHU/CSSE reference table (``data/reference.csv`` of datasets/covid-19).

    Keeps the US rows with a county (Admin2) and a real 5-digit county FIPS, drops the codes that are not
    counties (80xxx "Out of ..." and 90xxx "Unassigned"), folds the New York City boroughs into "New York
    City", and adds NYT's areas without a FIPS. Sorted as NYT sorts: by state, then county.
    """
    with reference_csv.open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["Country_Region"] == "US" and row["Admin2"]]
    counties = {
        County(row["Province_State"], row["Admin2"], row["FIPS"])
        for row in rows
        if len(row["FIPS"]) == 5
        and row["FIPS"].isdigit()
        and row["FIPS"][:2] not in ("80", "90")
        and row["FIPS"] not in NYC_BOROUGH_FIPS
    }
    counties |= {County(state, county, "") for state, county in AREAS_WITHOUT_FIPS}
    counties |= {County(state, "Unknown", "") for state in {c.state for c in counties} - STATES_WITHOUT_UNKNOWN}
    return sorted(counties, key=lambda c: (c.state, c.county))


def write_counties(counties: Iterable[County], path: Path = COUNTIES_CSV) -> None:
    """Write the county list as ``state,county,fips`` (benchmarks/data/counties.csv)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["state", "county", "fips"])
        writer.writerows((c.state, c.county, c.fips) for c in counties)


def read_counties(path: Path = COUNTIES_CSV) -> list[County]:
    """The county list, in NYT's order within a day: by state, then county."""
    with path.open(newline="", encoding="utf-8") as handle:
        counties = [County(row["state"], row["county"], row["fips"]) for row in csv.DictReader(handle)]
    return sorted(counties, key=lambda c: (c.state, c.county))


def days_for(rows: int, counties: int) -> int:
    """Whole days of every county whose total is nearest to ``rows`` (at least one day)."""
    return max(1, round(rows / counties))


def _epidemic_curve(days: int) -> list[float]:
    """A day's share of new cases, in waves like 2020-2022's (a smooth deterministic shape, peak about 1)."""
    waves = [(90, 25, 0.25), (200, 30, 0.45), (350, 40, 1.0), (590, 35, 0.6), (720, 30, 1.6), (900, 60, 0.4)]
    return [
        0.02 + sum(height * math.exp(-(((day - centre) / width) ** 2)) for centre, width, height in waves)
        for day in range(days)
    ]


def simulate(counties: int, days: int, seed: int) -> tuple[array, array]:
    """Cumulative cases and deaths of ``days`` days of ``counties`` counties, day-major (row = day*counties+c)."""
    rng = random.Random(seed)
    # Counties differ in size by orders of magnitude, as real ones do (Loving, TX vs Los Angeles, CA).
    sizes = [math.exp(rng.gauss(3.6, 1.4)) for _ in range(counties)]
    death_rates = [rng.uniform(0.005, 0.025) for _ in range(counties)]
    curve = _epidemic_curve(days)
    cases, deaths = array("q", bytes(8 * counties * days)), array("q", bytes(8 * counties * days))
    running_cases, running_deaths = [0] * counties, [0] * counties
    draw = rng.random
    row = 0
    for day in range(days):
        level = curve[day]
        for c in range(counties):
            new = int(sizes[c] * level * 2 * draw())
            new_deaths = int(new * death_rates[c] + draw())
            total_cases = running_cases[c] + new
            total_deaths = min(running_deaths[c] + new_deaths, total_cases)
            if draw() < CORRECTION_CHANCE and total_cases > total_deaths:
                total_cases -= 1 + int(draw() * min(total_cases - total_deaths - 1, 1 + total_cases // 100))
            running_cases[c], running_deaths[c] = total_cases, total_deaths
            cases[row], deaths[row] = total_cases, total_deaths
            row += 1
    return cases, deaths


def revise(cases: array, deaths: array, rows: int, seed: int) -> int:
    """Revise ``REVISED_SHARE`` of the first ``rows`` rows in place (other cases, some other deaths); return how many.

    Every revised row's cases change, so each is a real update; values stay valid (cases >= deaths >= 0).
    """
    rng = random.Random(seed * 7919 + 1)  # a stream of its own: the base does not depend on revisions
    chosen = rng.sample(range(rows), round(rows * REVISED_SHARE))
    for row in chosen:
        old_cases, old_deaths = cases[row], deaths[row]
        step = 1 + old_cases // 50
        if rng.random() < 0.8 or old_cases == old_deaths:
            new_cases = old_cases + rng.randint(1, step)
        else:
            new_cases = old_cases - rng.randint(1, min(step, old_cases - old_deaths))
        new_deaths = old_deaths
        if rng.random() < REVISED_DEATHS_SHARE:
            new_deaths = old_deaths + 1 if old_deaths < new_cases else old_deaths - 1
        cases[row], deaths[row] = new_cases, max(new_deaths, 0)
    return len(chosen)


def _csv_field(value: str) -> str:
    """``value`` as a CSV field, quoted only when it must be (as NYT's files and Python's csv module do)."""
    if any(ch in value for ch in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def write_series(path: Path, counties: list[County], days: int, cases: array, deaths: array) -> None:
    """Write ``days`` days of every county, one day's lines joined at a time (fast: no csv.writer per row)."""
    middles = [f"{_csv_field(c.county)},{_csv_field(c.state)},{c.fips}," for c in counties]
    width = len(counties)
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(HEADER)
        for day in range(days):
            prefix = (FIRST_DATE + timedelta(days=day)).isoformat() + ","
            start = day * width
            handle.write(
                "".join(f"{prefix}{middle}{cases[start + c]},{deaths[start + c]}\n" for c, middle in enumerate(middles))
            )


def generate(
    rows: int, seed: int, out_dir: Path, *, derived: bool = True, counties_csv: Path = COUNTIES_CSV
) -> Manifest:
    """Write base.csv (and, when ``derived``, republished.csv and revised.csv) and manifest.json into ``out_dir``."""
    counties = read_counties(counties_csv)
    days = days_for(rows, len(counties))
    out_dir.mkdir(parents=True, exist_ok=True)
    cases, deaths = simulate(len(counties), days + 1, seed)  # one day more, for revised.csv
    base_rows = days * len(counties)
    files = {"base": "base.csv"}
    write_series(out_dir / "base.csv", counties, days, cases, deaths)
    revised_rows = 0
    if derived:
        shutil.copyfile(out_dir / "base.csv", out_dir / "republished.csv")
        revised_rows = revise(cases, deaths, base_rows, seed)
        write_series(out_dir / "revised.csv", counties, days + 1, cases, deaths)
        files |= {"republished": "republished.csv", "revised": "revised.csv"}
    manifest = Manifest(
        rows=base_rows,
        seed=seed,
        counties=len(counties),
        days=days,
        first_date=FIRST_DATE.isoformat(),
        last_date=(FIRST_DATE + timedelta(days=days - 1)).isoformat(),
        revised_rows=revised_rows,
        new_rows=len(counties) if derived else 0,
        files=files,
    )
    (out_dir / "manifest.json").write_text(json.dumps(asdict(manifest), indent=2) + "\n")
    return manifest


def read_manifest(folder: Path) -> Manifest | None:
    """The folder's manifest, or None when the folder is absent or was not completed."""
    path = folder / "manifest.json"
    if not path.is_file():
        return None
    manifest = Manifest(**json.loads(path.read_text()))
    return manifest if all((folder / name).is_file() for name in manifest.files.values()) else None


def generator_fingerprint(counties_csv: Path = COUNTIES_CSV) -> str:
    """A short hash of this generator and its counties: a cache of files made by another version is not reused."""
    digest = hashlib.sha256(Path(__file__).read_bytes() + counties_csv.read_bytes())
    return digest.hexdigest()[:10]


def cache_folder(rows: int, seed: int, cache_dir: Path) -> Path:
    """Where the files for (rows, seed) are cached: a folder per generator version too."""
    return cache_dir / f"counties-{rows}-seed{seed}-{generator_fingerprint()}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_500_000, help="rows wanted in base.csv (whole days are kept)")
    parser.add_argument("--seed", type=int, default=20200121)
    parser.add_argument("--out", type=Path, help="folder to write base.csv, republished.csv, revised.csv into")
    parser.add_argument("--base-only", action="store_true", help="write base.csv only")
    parser.add_argument(
        "--derive-counties",
        type=Path,
        metavar="REFERENCE_CSV",
        help=f"(re)write {COUNTIES_CSV.relative_to(HERE.parent)} from the JHU/CSSE reference table, then exit",
    )
    args = parser.parse_args(argv)
    if args.derive_counties:
        counties = derive_counties(args.derive_counties)
        write_counties(counties)
        print(f"{COUNTIES_CSV}: {len(counties)} counties")
        return
    if args.out is None:
        parser.error("--out is required")
    manifest = generate(args.rows, args.seed, args.out, derived=not args.base_only)
    print(json.dumps(asdict(manifest)))


if __name__ == "__main__":
    main()
