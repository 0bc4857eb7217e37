"""The benchmark's files (benchmarks/), imported for its tests: they are scripts, not a package."""

from __future__ import annotations

import csv
import importlib.util
import sys
from pathlib import Path

from support import ROOT

BENCHMARKS = ROOT / "benchmarks"
METHODS_DIR = BENCHMARKS / "methods"
EXCEPTIONS_WITHOUT_FIPS = {("New York", "New York City"), ("Missouri", "Kansas City"), ("Missouri", "Joplin")}


def load_module(name: str, path: Path, *search: Path):
    """Import the benchmark file ``path`` as module ``name``, with ``search`` on sys.path while it loads."""
    if name in sys.modules:
        return sys.modules[name]
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
common = load_module("bench_methods_common", METHODS_DIR / "common.py")  # a name of its own in sys.modules


def bench():
    """The harness (bench_counties.py), imported on first use: it imports the methods' registry."""
    return load_module("bench_counties", BENCHMARKS / "bench_counties.py", BENCHMARKS)


def read_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))[1:]


def short_county_list(folder: Path, every: int = 50) -> Path:
    """Every ``every``-th county of the real list (about 65 of 3,273, New York City among them): days of a
    few dozen rows, so that a test's files span many days in a few thousand rows."""
    real = generator.read_counties()
    chosen = [c for i, c in enumerate(real) if i % every == 0 or (c.state, c.county) == ("New York", "New York City")]
    path = folder / "counties.csv"
    generator.write_counties(chosen, path)
    return path
