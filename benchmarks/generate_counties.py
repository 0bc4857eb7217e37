"""Write synthetic files in the layout of NYT's county series, deterministically from a seed.

Layout, as NYT publishes ``us-counties.csv``: header ``date,county,state,fips,cases,deaths``; rows sorted by
date, then state, then county; 5-digit FIPS keeping their leading zero; the geographic exceptions (New York
City, Kansas City and Joplin in Missouri, and an ``Unknown`` county in every state but DC) with an empty FIPS;
cumulative counts, cases >= deaths >= 0, mostly non-decreasing from day to day; a newline at the end.

The counties are the real ones, from ``benchmarks/data/counties.csv`` (see :func:`derive_counties`). Every
day lists every county, from 2020-01-21 on, so a file holds whole days: ``round(rows / counties)`` of them
(at least one), which makes its row count the multiple of the county count nearest to the one asked for.

Four files per (rows, seed), written into one folder:

- ``base.csv``: the publication;
- ``republished.csv``: the same publication published again, byte for byte;
- ``revised.csv``: a next publication: 1% of the base's rows (drawn uniformly, seeded) with other cases
  (a third of them also other deaths), and one more day of every county appended;
- ``next_day.csv``: the next day's publication as NYT makes one: one more day of every county, 0.1% of the
  past rows revised, spread over every day (each day gets its share), and a few past keys
  (``DELETED_PER_PUBLICATION``) dropped.

``manifest.json``, written last, describes them (and so marks the folder complete).

On request (``--backfill N``), ``backfill-N/pub-01.csv`` .. ``pub-N.csv``: N consecutive daily publications,
each the previous one plus one day, with 0.1% of its past rows revised and a few past keys dropped, as
``next_day.csv`` is to the base (``pub-01.csv`` *is* ``next_day.csv``); ``backfill-N/manifest.json`` says
when each was published and which keys each dropped.

Usage: python benchmarks/generate_counties.py --rows 2500000 --seed 20200121 --out build/bench/x [--backfill 30]
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
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
COUNTIES_CSV = HERE / "data" / "counties.csv"
HEADER = "date,county,state,fips,cases,deaths\n"
FIRST_DATE = date(2020, 1, 21)
ONE_DAY = timedelta(days=1)
REVISED_SHARE = 0.01  # of the base's rows, revised in revised.csv
REVISED_DEATHS_SHARE = 1 / 3  # of the revised rows, whose deaths change too
CORRECTION_CHANCE = 0.002  # a day's cumulative cases fall (cases moved to another county)
NEXT_DAY_REVISED_SHARE = 0.001  # of a daily publication's past rows, revised
DELETED_PER_PUBLICATION = 5  # past keys a daily publication drops
# A publication is committed this long after the start of the day after its last date (NYT commits overnight).
PUBLISHED_AFTER = time(3, 0)

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


Key = tuple[str, str, str]  # date, state, county


@dataclass(frozen=True)
class Manifest:
    """What a generated folder holds; ``manifest.json`` on disk. Per file (by name), the method scripts
    read from it when its publication was committed, its digest and the keys it dropped."""

    rows: int  # of base.csv (and republished.csv)
    seed: int
    counties: int
    days: int
    first_date: str
    last_date: str  # of base.csv; revised.csv and next_day.csv have one day more
    revised_rows: int  # rows of base.csv whose values differ in revised.csv
    new_rows: int  # rows revised.csv and next_day.csv have beyond base.csv's dates
    files: dict[str, str]  # role (base, republished, revised, next_day) -> file name
    next_day_revised_rows: int = 0  # rows of base.csv whose values differ in next_day.csv
    published_at: dict[str, str] = field(default_factory=dict)  # file -> commit time (ISO 8601, UTC)
    digests: dict[str, dict] = field(default_factory=dict)  # file -> its digest, as written (see write_series)
    gone: dict[str, list[Key]] = field(default_factory=dict)  # file -> keys of base.csv it does not have

    @property
    def revised_total(self) -> int:
        return self.rows + self.new_rows

    @property
    def next_day_deleted(self) -> list[Key]:
        return self.gone.get(self.files.get("next_day", ""), [])


@dataclass(frozen=True)
class Publication:
    """One publication of a backfill: its file, its dates, and what it changed from the previous one."""

    file: str
    rows: int
    days: int
    last_date: str
    revised_rows: int  # past rows whose values differ from the previous publication's
    deleted: list[Key]  # past keys the previous publication had and this one has not


@dataclass(frozen=True)
class Backfill:
    """``backfill-N/manifest.json``: consecutive daily publications, the first one following base.csv; per
    file, as in :class:`Manifest`, when it was committed, its digest and every key dropped up to it."""

    seed: int
    publications: list[Publication]
    published_at: dict[str, str]
    digests: dict[str, dict]
    gone: dict[str, list[Key]]

    @classmethod
    def from_json(cls, data: dict) -> Backfill:
        publications = [Publication(**item | {"deleted": _keys(item["deleted"])}) for item in data["publications"]]
        gone = {name: _keys(keys) for name, keys in data["gone"].items()}
        return cls(data["seed"], publications, data["published_at"], data["digests"], gone)


def _keys(keys: list) -> list[Key]:
    return [tuple(key) for key in keys]


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
        _revise_row(cases, deaths, row, rng)
    return len(chosen)


def _revise_row(cases: array, deaths: array, row: int, rng: random.Random) -> None:
    """Other cases for the row (80% up, 20% down but not below deaths), and for a third of rows other deaths."""
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


@dataclass(frozen=True)
class Step:
    """What one daily publication changed in the rows of the days before its new one."""

    revised: int
    deleted: list[int]  # rows


def next_day_stream(seed: int) -> random.Random:
    """The random stream of the daily publications after the base (its own: neither the base nor
    revised.csv depends on it, and next_day.csv is the first step of every backfill)."""
    return random.Random(seed * 7919 + 2)


def daily_step(cases: array, deaths: array, days: int, counties: int, gone: set[int], rng: random.Random) -> Step:
    """The next daily publication's changes to the ``days`` days before its new one, in place: 0.1% of
    those rows revised, spread over every day (the k-th revision falls on day ``k * days // n``, so each
    day gets its share, none when there are fewer revisions than days), and DELETED_PER_PUBLICATION other
    rows dropped, added to ``gone``. A row dropped before is neither revised nor dropped again."""
    wanted = round(days * counties * NEXT_DAY_REVISED_SHARE)
    revised: set[int] = set()
    for k in range(wanted):
        day = k * days // wanted
        while True:
            row = day * counties + rng.randrange(counties)
            if row not in gone and row not in revised:
                break
        revised.add(row)
        _revise_row(cases, deaths, row, rng)
    deleted: list[int] = []
    while len(deleted) < min(DELETED_PER_PUBLICATION, days * counties - len(gone) - len(revised)):
        row = rng.randrange(days * counties)
        if row not in gone and row not in revised and row not in deleted:
            deleted.append(row)
    gone.update(deleted)
    return Step(len(revised), sorted(deleted))


def published_after(last_date: date) -> datetime:
    """When the publication whose last day is ``last_date`` was committed: early the next morning, UTC."""
    return datetime.combine(last_date + timedelta(days=1), PUBLISHED_AFTER, tzinfo=UTC)


def _csv_field(value: str) -> str:
    """``value`` as a CSV field, quoted only when it must be (as NYT's files and Python's csv module do)."""
    if any(ch in value for ch in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def write_series(
    path: Path, counties: list[County], days: int, cases: array, deaths: array, gone: set[int] = frozenset()
) -> dict:
    """Write ``days`` days of every county but the ``gone`` rows, one day's lines joined at a time (fast: no
    csv.writer per row). Return the file's digest, taken from the text as it is written: rows, sums of
    cases and deaths, and the sum over days of the first 60 bits of the md5 of the day's lines
    (benchmarks/methods/common.py computes the same from the file, and from a table)."""
    middles = [f"{_csv_field(c.county)},{_csv_field(c.state)},{c.fips}," for c in counties]
    width = len(counties)
    gone_by_day: dict[int, set[int]] = {}
    for row in gone:
        gone_by_day.setdefault(row // width, set()).add(row % width)
    rows = total_cases = total_deaths = day_hashes = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(HEADER)
        for day in range(days):
            prefix = (FIRST_DATE + timedelta(days=day)).isoformat() + ","
            start = day * width
            skipped = gone_by_day.get(day, ())
            kept = [c for c in range(width) if c not in skipped] if skipped else range(width)
            text = "".join(f"{prefix}{middles[c]}{cases[start + c]},{deaths[start + c]}\n" for c in kept)
            handle.write(text)
            rows += len(kept)
            total_cases += sum(cases[start + c] for c in kept) if skipped else sum(cases[start : start + width])
            total_deaths += sum(deaths[start + c] for c in kept) if skipped else sum(deaths[start : start + width])
            day_hashes += int(hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()[:15], 16)
    return {"rows": rows, "cases": total_cases, "deaths": total_deaths, "day_hashes": day_hashes}


def row_key(counties: list[County], row: int) -> Key:
    """The (date, state, county) of a row of the day-major arrays."""
    day, county = divmod(row, len(counties))
    return (FIRST_DATE + timedelta(days=day)).isoformat(), counties[county].state, counties[county].county


def generate(
    rows: int, seed: int, out_dir: Path, *, derived: bool = True, counties_csv: Path = COUNTIES_CSV
) -> Manifest:
    """Write base.csv (and, when ``derived``, republished.csv and revised.csv) and manifest.json into ``out_dir``."""
    counties = read_counties(counties_csv)
    days = days_for(rows, len(counties))
    out_dir.mkdir(parents=True, exist_ok=True)
    # One day more, for revised.csv and next_day.csv: a longer simulation draws the same first days.
    cases, deaths = simulate(len(counties), days + 1, seed)
    base_rows = days * len(counties)
    last = FIRST_DATE + timedelta(days=days - 1)
    files = {"base": "base.csv"}
    digests = {"base.csv": write_series(out_dir / "base.csv", counties, days, cases, deaths)}
    # The base is committed after its last day; each other file as the publication of the day after.
    published = {"base.csv": published_after(last)}
    revised_rows, step = 0, Step(0, [])
    if derived:
        shutil.copyfile(out_dir / "base.csv", out_dir / "republished.csv")
        digests["republished.csv"] = digests["base.csv"]
        daily_cases, daily_deaths = array("q", cases), array("q", deaths)
        step = daily_step(daily_cases, daily_deaths, days, len(counties), set(), next_day_stream(seed))
        digests["next_day.csv"] = write_series(
            out_dir / "next_day.csv", counties, days + 1, daily_cases, daily_deaths, set(step.deleted)
        )
        revised_rows = revise(cases, deaths, base_rows, seed)
        digests["revised.csv"] = write_series(out_dir / "revised.csv", counties, days + 1, cases, deaths)
        files |= {"republished": "republished.csv", "revised": "revised.csv", "next_day": "next_day.csv"}
        published |= dict.fromkeys(("republished.csv", "revised.csv", "next_day.csv"), published_after(last + ONE_DAY))
    manifest = Manifest(
        rows=base_rows,
        seed=seed,
        counties=len(counties),
        days=days,
        first_date=FIRST_DATE.isoformat(),
        last_date=last.isoformat(),
        revised_rows=revised_rows,
        new_rows=len(counties) if derived else 0,
        files=files,
        next_day_revised_rows=step.revised,
        published_at={name: at.isoformat() for name, at in published.items()},
        digests=digests,
        gone={"next_day.csv": [row_key(counties, row) for row in step.deleted]} if derived else {},
    )
    (out_dir / "manifest.json").write_text(json.dumps(asdict(manifest), indent=2) + "\n")
    return manifest


def generate_backfill(
    rows: int, seed: int, out_dir: Path, publications: int, *, counties_csv: Path = COUNTIES_CSV
) -> Backfill:
    """Write ``publications`` consecutive daily publications after the base of (rows, seed) into
    ``out_dir`` (``pub-01.csv`` ...), each the previous one plus one day with its own revisions and dropped
    keys (:func:`daily_step`), and ``manifest.json`` last."""
    counties = read_counties(counties_csv)
    days = days_for(rows, len(counties))
    out_dir.mkdir(parents=True, exist_ok=True)
    cases, deaths = simulate(len(counties), days + publications, seed)
    rng, gone, written, published, digests, gone_keys = next_day_stream(seed), set(), [], {}, {}, {}
    for number in range(1, publications + 1):
        past = days + number - 1  # the days before this publication's new one
        step = daily_step(cases, deaths, past, len(counties), gone, rng)
        name = f"pub-{number:02d}.csv"
        digests[name] = write_series(out_dir / name, counties, past + 1, cases, deaths, gone)
        last = FIRST_DATE + timedelta(days=past)
        published[name] = published_after(last).isoformat()
        gone_keys[name] = sorted(row_key(counties, row) for row in gone)
        written.append(
            Publication(
                file=name,
                rows=digests[name]["rows"],
                days=past + 1,
                last_date=last.isoformat(),
                revised_rows=step.revised,
                deleted=[row_key(counties, row) for row in step.deleted],
            )
        )
    backfill = Backfill(seed, written, published, digests, gone_keys)
    (out_dir / "manifest.json").write_text(json.dumps(asdict(backfill), indent=2) + "\n")
    return backfill


def read_manifest(folder: Path) -> Manifest | None:
    """The folder's manifest, or None when the folder is absent or was not completed."""
    path = folder / "manifest.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    manifest = Manifest(**data | {"gone": {name: _keys(keys) for name, keys in data.get("gone", {}).items()}})
    return manifest if all((folder / name).is_file() for name in manifest.files.values()) else None


def read_backfill(folder: Path) -> Backfill | None:
    """The backfill folder's manifest, or None when the folder is absent or was not completed."""
    path = folder / "manifest.json"
    if not path.is_file():
        return None
    backfill = Backfill.from_json(json.loads(path.read_text()))
    return backfill if all((folder / p.file).is_file() for p in backfill.publications) else None


def generator_fingerprint(counties_csv: Path = COUNTIES_CSV) -> str:
    """A short hash of this generator and its counties: a cache of files made by another version is not reused."""
    digest = hashlib.sha256(Path(__file__).read_bytes() + counties_csv.read_bytes())
    return digest.hexdigest()[:10]


def backfill_folder(folder: Path, publications: int) -> Path:
    """Where a backfill of ``publications`` after the base in ``folder`` is written."""
    return folder / f"backfill-{publications}"


def cache_folder(rows: int, seed: int, cache_dir: Path, counties_csv: Path = COUNTIES_CSV) -> Path:
    """Where the files for (rows, seed) are cached: a folder per generator version (and county list) too."""
    return cache_dir / f"counties-{rows}-seed{seed}-{generator_fingerprint(counties_csv)}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_500_000, help="rows wanted in base.csv (whole days are kept)")
    parser.add_argument("--seed", type=int, default=20200121)
    parser.add_argument("--out", type=Path, help="folder to write base.csv, republished.csv, revised.csv into")
    parser.add_argument("--base-only", action="store_true", help="write base.csv only")
    parser.add_argument(
        "--counties", type=Path, default=COUNTIES_CSV, help="the county list (state,county,fips); tests use a short one"
    )
    parser.add_argument(
        "--backfill", type=int, metavar="N", help="write N daily publications after the base into OUT/backfill-N only"
    )
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
    if args.backfill:
        folder = backfill_folder(args.out, args.backfill)
        backfill = generate_backfill(args.rows, args.seed, folder, args.backfill, counties_csv=args.counties)
        print(json.dumps(asdict(backfill)))
        return
    manifest = generate(args.rows, args.seed, args.out, derived=not args.base_only, counties_csv=args.counties)
    print(json.dumps(asdict(manifest)))


if __name__ == "__main__":
    main()
