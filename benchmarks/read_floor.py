"""What reading a county file costs before any comparison: the floor under ours' Python time.

Prints, side by side and each the median of --repeat runs, the seconds to read the file's bytes, to read and
SHA-256 them (what a comparison with fingerprints must do at the least), and to parse it with pyarrow's
multi-threaded CSV reader (a columnar reader, ADR 0009), beside ours' Python time in the same case from
latest.json (the loading thread's "Python read/compare" and "Python other": reading, checking and comparing
the file, with the loader's other Python). pyarrow is not a dependency of the DAG: run this with .venv-dlt's
Python, which has it.

    .venv-dlt/bin/python benchmarks/read_floor.py --file build/bench/counties-2500000-…/next_day.csv
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import time
from pathlib import Path

CHUNK = 1024 * 1024


def read_bytes(path: Path) -> None:
    with path.open("rb") as stream:
        while stream.read(CHUNK):
            pass


def read_and_hash(path: Path) -> None:
    hasher = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(CHUNK):
            hasher.update(block)


def pyarrow_csv(path: Path) -> None:
    from pyarrow import csv

    options = csv.ConvertOptions(column_types={"fips": "string"})
    csv.read_csv(path, convert_options=options)


def median_seconds(work, path: Path, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        work(path)
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", type=Path, required=True, help="a county file (e.g. the bench's next_day.csv)")
    parser.add_argument("--case", default="next_day", help="ours' case in latest.json to compare with")
    parser.add_argument("--latest", type=Path, default=Path(__file__).parent / "results" / "latest.json")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    profile = json.loads(args.latest.read_text())["cases"][args.case]["profile"]
    ours = profile["python_read"] + profile["python_other"]
    print(f"{args.file} ({args.file.stat().st_size / 1e6:.1f} MB), median of {args.repeat}")
    print(f"{'ours: Python (' + args.case + ', latest.json)':<52} {ours:7.3f} s  1.00")
    for name, work in (
        ("read the bytes", read_bytes),
        ("read and SHA-256 the bytes", read_and_hash),
        ("pyarrow.csv.read_csv (all cores)", pyarrow_csv),
    ):
        seconds = median_seconds(work, args.file, args.repeat)
        print(f"{name:<52} {seconds:7.3f} s  {seconds / ours:.2f}")


if __name__ == "__main__":
    main()
