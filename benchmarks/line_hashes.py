"""What telling a revised line from its chunk would cost in Python: a hash per line, beside today's digests.

A compared file sends every line of a chunk (~512 bytes, ~11 lines) that its reference's fingerprints lack
(ADR 0005, ADR 0009): the bench's 1% revision sends 313,707 lines for 28,279 changed rows. Fingerprints
that told lines apart would need a hash of each line of every block that changed. This prints, side by side
and each the median of --repeat runs over the whole file: cutting it into lines, a CRC-32 per line, a 64-bit
CRC-32 + Adler-32 per line, a keyed SHA-256 (8 bytes kept) per line, and today's digest per 512-byte chunk;
then, per case file against --base, the share of the 8 KiB blocks that differ (the blocks whose lines would
be hashed), and so the Python seconds per-line hashes would add to that case. A line is matched against
the ~180 of its old block, tens of thousands of times a load: 32 bits would let a revised line pass for an
old one about once in a thousand loads like the 1% revision, so the estimate takes the cheapest 64-bit hash measured.

    .venv/bin/python benchmarks/line_hashes.py --base build/bench/counties-2500000-…/base.csv \
        --case build/bench/counties-2500000-…/next_day.csv --case build/bench/counties-2500000-…/revised.csv
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "include"))

from covid_etl.read.days import cut_days  # noqa: E402
from covid_etl.read.fingerprints import GRID, Fingerprinter  # noqa: E402


def median_seconds(work: Callable[[], object], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def block_digests(path: Path) -> dict[bytes, set[bytes]]:
    """Per date, the digests of the day's blocks, as the loader cuts them."""
    with path.open("rb") as stream:
        header = stream.readline()
        fingerprinter = Fingerprinter(header.rstrip(b"\r\n"))
        return {
            day.day: {block.digest for block in fingerprinter.blocks(day.data)}
            for day in cut_days(stream, first_line=2, offset=len(header))
        }


def changed_block_share(base: Path, case: Path) -> float:
    """The share of the case's blocks that the base's day of the same date does not have."""
    old, new = block_digests(base), block_digests(case)
    blocks = sum(len(digests) for digests in new.values())
    changed = sum(len(digests - old.get(day, set())) for day, digests in new.items())
    return changed / blocks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=Path, required=True, help="the publication compared with (base.csv)")
    parser.add_argument("--case", type=Path, action="append", default=[], help="a later publication of it")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    data = args.base.read_bytes()
    lines = data.split(b"\n")
    keyed = hashlib.sha256(b"covid_etl line hashes")

    def keyed_sha256() -> list[bytes]:
        digests = []
        for line in lines:
            hasher = keyed.copy()
            hasher.update(line)
            digests.append(hasher.digest()[:8])
        return digests

    view = memoryview(data)
    seconds = {
        "cut into lines": median_seconds(lambda: data.split(b"\n"), args.repeat),
        "CRC-32 per line": median_seconds(lambda: list(map(zlib.crc32, lines)), args.repeat),
        "CRC-32 + Adler-32 per line": median_seconds(
            lambda: list(zip(map(zlib.crc32, lines), map(zlib.adler32, lines), strict=True)), args.repeat
        ),
        "keyed SHA-256 per line": median_seconds(keyed_sha256, args.repeat),
        f"today, about: SHA-256 per {GRID} bytes": median_seconds(
            lambda: [hashlib.sha256(view[at : at + GRID]).digest() for at in range(0, len(data), GRID)], args.repeat
        ),
    }
    print(f"{args.base.name}: {len(data):,} bytes, {len(lines) - 1:,} lines; median of {args.repeat}")
    for name, value in seconds.items():
        print(f"  {name:<40} {value:6.3f} s")
    per_line = seconds["cut into lines"] + min(seconds["CRC-32 + Adler-32 per line"], seconds["keyed SHA-256 per line"])
    for case in args.case:
        share = changed_block_share(args.base, case)
        print(
            f"{case.name}: {share:.1%} of its blocks differ from {args.base.name}'s: 64-bit hashes of their lines"
            f" add about {share * per_line:.2f} s of Python"
        )


if __name__ == "__main__":
    main()
