"""Build the MWAA artifacts: dist/mwaa/{dags/, plugins.zip, requirements.txt}.

MWAA copies dags/ from S3 to /usr/local/airflow/dags (on sys.path), unzips plugins.zip into
/usr/local/airflow/plugins and installs requirements.txt. The covid_etl package and sql/ therefore go
inside dags/, siblings as in include/, so `Path(covid_etl.__file__).parent.parent / "sql"` holds there too,
and an .airflowignore keeps the DAG processor from parsing them as DAG files.

Standard library only, so it runs on any Python 3.11+ without the project venv.
Usage: python3 scripts/package_mwaa.py [--out DIR]   (default: dist/mwaa)
"""

from __future__ import annotations

import argparse
import shutil
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BYTECODE = shutil.ignore_patterns("__pycache__", "*.pyc")
# Fixed timestamp: the same plugins/ gives a byte-identical plugins.zip.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
ARTIFACTS = {"dags", "plugins.zip", "requirements.txt"}


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


def build_plugins_zip(out: Path) -> None:
    plugins = ROOT / "plugins"
    files = sorted(p for p in plugins.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
    with zipfile.ZipFile(out / "plugins.zip", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(plugins).as_posix(), date_time=ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist" / "mwaa")
    out = parser.parse_args().out.resolve()

    if out.exists():
        # --out may be mistyped: only a previous build is deleted.
        unexpected = {p.name for p in out.iterdir()} - ARTIFACTS
        if unexpected:
            raise SystemExit(f"{out} holds {sorted(unexpected)}: not a previous build, not deleting it")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    build_dags(out)
    build_plugins_zip(out)
    shutil.copy2(ROOT / "requirements.txt", out / "requirements.txt")
    print(f"MWAA artifacts in {out}")


if __name__ == "__main__":
    main()
