"""Build the MWAA bundle: dist/mwaa/{dags/, plugins.zip, requirements.txt}, installable with no network.

MWAA copies dags/ from S3 to /usr/local/airflow/dags (on sys.path), unzips plugins.zip into
/usr/local/airflow/plugins and then installs requirements.txt with pip, on every component. The covid_etl package
and sql/ therefore go inside dags/, siblings as in include/, so `Path(covid_etl.__file__).parent.parent / "sql"`
holds there too, and an .airflowignore keeps the DAG processor from parsing them as DAG files.

A PRIVATE_ONLY web server has no route to PyPI, so, as AWS documents for that mode, whatever ../requirements.txt
needs beyond what MWAA's image already holds ships as wheels in plugins.zip, and the generated requirements.txt
installs from them alone:

    --find-links /usr/local/airflow/plugins
    --no-index
    --constraint /usr/local/airflow/plugins/constraints-3.3.1-python3.12.txt
    <the requirements of ../requirements.txt>

How the wheels are chosen (docs/operations.md, "Deploying to MWAA"):
1. The image: constraints/mwaa-image-packages-<airflow>.txt, the packages of MWAA's image read from its bill of
   materials, resolved with uv for the target (CPython of the constraints URL, manylinux x86_64) under Airflow's
   constraints. The resolution adds what the image's own packages require but the list omits (pip installed those
   with them when the image was built), and fails if the list contradicts the constraints.
2. The requirements: ../requirements.txt resolved together with the image, every image package held at its
   version. A requirement that would move an image package, or one on MWAA's non-overridable list, fails here.
3. The wheels: what (2) holds beyond (1), downloaded by pip as manylinux/any wheels for the target and checked
   against the hashes of the resolution.

The constraints file named by the URL on ../requirements.txt's first line ships too, from constraints/ (the same
file, kept in the repository): the bundle holds no URL for pip to fetch, and the same bundle installs in PUBLIC_ONLY
mode, where the network is there but unused.

Standard library only; it runs uv and pip (`make venv` provides both) and needs PyPI while packaging.
Usage: python scripts/package_mwaa.py [--out DIR]   (default: dist/mwaa)
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements.txt"
CONSTRAINTS_DIR = ROOT / "constraints"
BYTECODE = shutil.ignore_patterns("__pycache__", "*.pyc")
# Fixed timestamp: the same inputs give a byte-identical plugins.zip.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
ARTIFACTS = {"dags", "plugins.zip", "requirements.txt"}

# Where MWAA unzips plugins.zip; pip reads the wheels and the constraints there.
MWAA_PLUGINS = "/usr/local/airflow/plugins"
# MWAA's images are built FROM amazonlinux:2023 (glibc 2.34) for x86_64: a wheel for manylinux_2_34 or older runs.
TARGET_GLIBC_MINOR = 34
OLDEST_GLIBC_MINOR = 5  # manylinux1
# The form of the first line of ../requirements.txt: Airflow's published constraints for one Python version.
CONSTRAINTS_URL = re.compile(
    r"--constraint\s+https://raw\.githubusercontent\.com/apache/airflow/"
    r"constraints-(?P<airflow>\d+\.\d+\.\d+)/constraints-(?P<python>3\.\d+)\.txt"
)
WHEEL_NAME = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)(?:-\d[^-]*)?-[^-]+-[^-]+-[^-]+\.whl$")


def normalize(name: str) -> str:
    """PEP 503 name: what pip compares."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(text: str) -> dict[str, str]:
    """name==version lines of a requirements or constraints file, by normalized name."""
    return {
        normalize(name): version
        for name, version in re.findall(r"^([A-Za-z0-9][A-Za-z0-9_.\-]*)(?:\[[^\]]*\])?==([^\s\\;]+)", text, re.M)
    }


@dataclass(frozen=True)
class Requirements:
    """../requirements.txt: the constraints its URL names (a file in constraints/) and the requirement lines."""

    airflow: str
    python: str
    lines: tuple[str, ...]

    @property
    def constraints(self) -> Path:
        return CONSTRAINTS_DIR / f"constraints-{self.airflow}-python{self.python}.txt"

    @property
    def essential_constraints(self) -> Path:
        """MWAA's non-overridable list: its entrypoint passes it to every pip install (safe-pip-install)."""
        return CONSTRAINTS_DIR / f"mwaa-essential-constraints-{self.airflow}.txt"

    @property
    def image_packages(self) -> Path:
        return CONSTRAINTS_DIR / f"mwaa-image-packages-{self.airflow}.txt"


def read_requirements(path: Path = REQUIREMENTS) -> Requirements:
    found = None
    lines = []
    for raw in path.read_text().splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            match = CONSTRAINTS_URL.fullmatch(line)
            if not match or found:
                # Any other option (an index, a URL, a second constraints file) would reach the network on MWAA.
                raise SystemExit(f"{path.name}: only one Airflow constraints URL line is supported, not {line!r}")
            found = match
            continue
        if "://" in line or " @ " in line:
            raise SystemExit(f"{path.name}: {line!r} is a direct reference: MWAA could not install it offline")
        lines.append(line)
    if not found:
        raise SystemExit(f"{path.name} must name Airflow's constraints: --constraint https://raw.githubusercontent...")
    requirements = Requirements(found["airflow"], found["python"], tuple(lines))
    for local in (requirements.constraints, requirements.essential_constraints, requirements.image_packages):
        if not local.is_file():
            raise SystemExit(f"{local.relative_to(ROOT)} is missing: constraints/ keeps a copy of what MWAA uses")
    return requirements


def tool(name: str) -> str:
    """uv from the interpreter's venv (make venv), else from PATH."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise SystemExit(f"{name} not found: run `make venv` and package with .venv/bin/python")
    return found


def run(command: list[str], failure: str) -> str:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{failure} ({' '.join(command[:3])} …):\n{result.stderr.strip()}")
    return result.stdout


def platforms() -> list[str]:
    """Every manylinux platform tag MWAA's glibc runs, newest first (pip's --platform matches tags exactly)."""
    tags = [f"manylinux_2_{minor}_x86_64" for minor in range(TARGET_GLIBC_MINOR, OLDEST_GLIBC_MINOR - 1, -1)]
    return [*tags, "manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"]


def resolve(
    requirements: Requirements, lines: list[str], constraints: list[Path], failure: str
) -> dict[str, tuple[str, tuple]]:
    """Resolve lines for MWAA's platform with uv: {name: (version, hashes)}. Needs the index (or uv's cache)."""
    with tempfile.TemporaryDirectory() as tmp:
        infile = Path(tmp) / "requirements.in"
        infile.write_text("".join(f"{line}\n" for line in lines))
        output = run(
            [
                tool("uv"),
                "pip",
                "compile",
                "--quiet",
                "--no-header",
                "--no-annotate",
                "--generate-hashes",
                "--python-version",
                requirements.python,
                "--python-platform",
                f"x86_64-manylinux_2_{TARGET_GLIBC_MINOR}",
                *(arg for path in constraints for arg in ("--constraint", str(path))),
                str(infile),
            ],
            failure,
        )
    resolved = {}
    for entry in output.replace("\\\n", " ").splitlines():
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9_.\-]*)(?:\[[^\]]*\])?==(\S+)", entry)
        if match:
            resolved[normalize(match[1])] = (match[2], tuple(re.findall(r"--hash=(\S+)", entry)))
    return resolved


@dataclass(frozen=True)
class Plan:
    """What MWAA's image holds and which wheels the bundle must add to it."""

    image: dict[str, str]  # the image's packages, with what the list omits but its packages require
    omitted_by_list: dict[str, str]  # the latter alone
    wheels: dict[str, tuple[str, tuple]]  # name: (version, hashes) of what requirements.txt adds


def plan(requirements: Requirements) -> Plan:
    listed = pins(requirements.image_packages.read_text())
    constraints = [requirements.constraints, requirements.essential_constraints]
    image_lines = [f"{name}=={version}" for name, version in sorted(listed.items())]
    resolved = resolve(requirements, image_lines, constraints, f"{requirements.image_packages.name} does not resolve")
    image = {name: version for name, (version, _) in resolved.items()}
    moved = {name: (version, image.get(name)) for name, version in listed.items() if image.get(name) != version}
    if moved:
        raise SystemExit(f"{requirements.image_packages.name} contradicts the constraints: {moved}")

    # Every image package pinned at the image's version, and MWAA's non-overridable list as MWAA passes it: a
    # requirement that needs another version fails to resolve here, instead of moving the image on MWAA.
    with tempfile.TemporaryDirectory() as tmp:
        image_pins = Path(tmp) / "image.txt"
        image_pins.write_text("".join(f"{name}=={version}\n" for name, version in sorted(image.items())))
        everything = resolve(
            requirements,
            [*image_lines, *requirements.lines],
            [*constraints, image_pins],
            "requirements.txt needs a version other than MWAA's image or its non-overridable list holds",
        )
    return Plan(
        image=image,
        omitted_by_list={name: version for name, version in image.items() if name not in listed},
        wheels={name: pin for name, pin in sorted(everything.items()) if name not in image},
    )


def download_wheels(requirements: Requirements, wheels: dict[str, tuple[str, tuple]], into: Path) -> list[Path]:
    """Download one wheel per package for MWAA's platform, checked against the resolution's hashes."""
    if not wheels:
        return []
    listing = into / "wheels.txt"
    pinned = []
    for name, (version, hashes) in wheels.items():
        pinned.append(" ".join([f"{name}=={version}", *(f"--hash={h}" for h in hashes)]))
    listing.write_text("".join(f"{line}\n" for line in pinned))
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--only-binary=:all:",
            "--require-hashes",
            "--implementation",
            "cp",
            "--python-version",
            requirements.python,
            "--abi",
            f"cp{requirements.python.replace('.', '')}",
            *(arg for tag in platforms() for arg in ("--platform", tag)),
            "--dest",
            str(into / "wheels"),
            "-r",
            str(listing),
        ],
        f"no wheel downloaded for CPython {requirements.python} on manylinux x86_64: none exists (MWAA cannot build"
        " an sdist offline either) or the index is out of reach",
    )
    files = sorted((into / "wheels").glob("*.whl"))
    found = {}
    for path in files:
        match = WHEEL_NAME.match(path.name)
        found[(normalize(match["name"]), match["version"])] = path
    expected = {(name, version) for name, (version, _) in wheels.items()}
    if set(found) != expected:
        raise SystemExit(f"pip downloaded {sorted(found)}, expected one wheel each of {sorted(expected)}")
    return files


def build_dags(out: Path) -> None:
    dags = out / "dags"
    shutil.copytree(ROOT / "dags", dags, ignore=BYTECODE)
    library = sorted(p for p in (ROOT / "include").iterdir() if p.name != "__pycache__")
    for entry in library:
        target = dags / entry.name
        if target.exists():
            raise SystemExit(f"include/{entry.name} would overwrite dags/{entry.name}")
        if entry.is_dir():
            shutil.copytree(entry, target, ignore=BYTECODE)
        else:
            shutil.copy2(entry, target)
    # Glob syntax, Airflow 3's default for .airflowignore; a trailing slash matches a directory.
    ignored = [f"{p.name}/" if p.is_dir() else p.name for p in library]
    (dags / ".airflowignore").write_text("".join(f"{line}\n" for line in ignored))


def build_plugins_zip(out: Path, extras: list[Path]) -> None:
    """plugins/ at the zip's root, and beside it the extras (wheels, constraints) that MWAA's pip reads."""
    plugins = ROOT / "plugins"
    files = {
        p.relative_to(plugins).as_posix(): p
        for p in plugins.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    for extra in extras:
        if extra.name in files:
            raise SystemExit(f"plugins/{extra.name} would collide with {extra.name} in plugins.zip")
        files[extra.name] = extra
    with zipfile.ZipFile(out / "plugins.zip", "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.external_attr = 0o644 << 16
            # A wheel is a zip already: deflating it again costs time and saves nothing.
            info.compress_type = zipfile.ZIP_STORED if name.endswith(".whl") else zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name].read_bytes())


def offline_requirements(requirements: Requirements) -> str:
    """requirements.txt for MWAA: pip reads the wheels and the constraints from the unzipped plugins.zip only."""
    return "".join(
        f"{line}\n"
        for line in (
            "# Generated by scripts/package_mwaa.py from the repository's requirements.txt. MWAA installs it from",
            "# the wheels of plugins.zip, unzipped in /usr/local/airflow/plugins: no package index is used.",
            f"--find-links {MWAA_PLUGINS}",
            "--no-index",
            f"--constraint {MWAA_PLUGINS}/{requirements.constraints.name}",
            *requirements.lines,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist" / "mwaa")
    out = parser.parse_args().out.resolve()

    if out.exists():
        # --out may be mistyped: only a previous build is deleted.
        unexpected = {p.name for p in out.iterdir()} - ARTIFACTS
        if unexpected:
            raise SystemExit(f"{out} holds {sorted(unexpected)}: not a previous build, not deleting it")

    requirements = read_requirements()
    bundle = plan(requirements)
    with tempfile.TemporaryDirectory() as tmp:
        wheels = download_wheels(requirements, bundle.wheels, Path(tmp))
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        build_dags(out)
        build_plugins_zip(out, [*wheels, requirements.constraints])
    (out / "requirements.txt").write_text(offline_requirements(requirements))

    if bundle.omitted_by_list:
        omitted = ", ".join(f"{name}=={version}" for name, version in bundle.omitted_by_list.items())
        print(f"{requirements.image_packages.name} omits what its own packages require, counted as present: {omitted}")
    shipped = ", ".join(f"{name}=={version}" for name, (version, _) in bundle.wheels.items()) or "none"
    size = (out / "plugins.zip").stat().st_size / 2**20
    print(f"Wheels beyond MWAA's image: {shipped}")
    print(f"MWAA artifacts in {out} (plugins.zip {size:.1f} MiB)")


if __name__ == "__main__":
    main()
