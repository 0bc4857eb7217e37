"""README.md's figures, each checked against what it describes: its length, the links of the README and of
docs/, the make targets it names, the GitHub API calls a run makes, the ports and the benchmark numbers it
quotes. (The settings' table is checked in test_settings.py.)"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from covid_etl import config
from covid_etl.sources.github import Commit, NoPublicationError
from covid_etl.sources.specs import DATASETS
from covid_etl.tasks import steps
from support import ROOT

README = ROOT / "README.md"
MAX_README_LINES = 150
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "docs" / "adr").glob("*.md"))]


def readme() -> str:
    return README.read_text()


def readme_words() -> str:
    """The README with every run of blanks and line breaks as one blank, for phrases that wrap."""
    return " ".join(readme().split())


def section(title: str) -> str:
    """The README's section under ``## title``, up to the next one."""
    found = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", readme(), re.M | re.S)
    assert found, f"README.md has no section '## {title}'"
    return found.group(1)


def test_the_readme_is_read_in_five_minutes_at_most_150_lines():
    assert len(readme().splitlines()) <= MAX_README_LINES


# -- links ---------------------------------------------------------------------------------------------

FENCE = re.compile(r"^```.*?^```", re.M | re.S)
LINK = re.compile(r"\]\(([^)\s]+)\)")


def relative_links(document: Path) -> list[str]:
    """The document's links that are not URLs (fenced code left out)."""
    text = FENCE.sub("", document.read_text())
    return [link for link in LINK.findall(text) if not re.match(r"[a-z][a-z0-9+.-]*:", link)]


def anchors(document: Path) -> set[str]:
    """The anchors GitHub gives the document's headings: lower case, punctuation dropped, blanks as '-'."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for heading in re.findall(r"^#{1,6} +(.+?) *$", FENCE.sub("", document.read_text()), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        # A heading met again gets -1, -2, ... as GitHub numbers it.
        found.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    return found


@pytest.mark.parametrize("document", [pytest.param(path, id=str(path.relative_to(ROOT))) for path in DOCUMENTS])
def test_every_relative_link_points_to_a_file_that_exists_and_a_heading_it_has(document):
    broken = []
    for link in relative_links(document):
        path, _, anchor = link.partition("#")
        target = (document.parent / path).resolve() if path else document
        if not target.exists():
            broken.append(f"{link}: no such file")
        elif anchor and target.suffix == ".md" and anchor not in anchors(target):
            broken.append(f"{link}: no such heading")
    assert broken == []


# -- make targets --------------------------------------------------------------------------------------


def makefile_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.M))


def readme_targets() -> list[str]:
    return sorted(set(re.findall(r"(?<![\w/.-])make ([a-z][a-z-]*)", readme())))


# Targets the README names before the Makefile has them: strict, so that the mark goes once the target comes.
@pytest.mark.parametrize(
    "target",
    [pytest.param(target, id=target) for target in readme_targets()],
)
def test_every_make_target_the_readme_names_is_in_the_makefile(target):
    assert target in makefile_targets()


def test_the_readme_names_the_two_commands_and_the_fast_check():
    assert {"run", "test", "check"} <= set(readme_targets())


# -- GitHub API calls per run --------------------------------------------------------------------------

API_CALLS = re.compile(r"(\d+) calls per run with every dataset \((\d+) for a day before the county series was split")


# A day after NYT split its county series by year (May 2022).
AFTER_THE_SPLIT = datetime(2022, 6, 1, tzinfo=UTC)


def api_calls_per_run(monkeypatch, *, yearly_county_files_published: bool) -> int:
    """The commit look-ups a run of every dataset makes, counted by running the resolve step's code against
    a GitHub that has published every file (or, before the split, no yearly county file)."""
    calls = []

    def resolve_publication(file, until, **options):
        calls.append(file.path)
        if not yearly_county_files_published and re.fullmatch(r"us-counties-\d{4}\.csv", file.path):
            raise NoPublicationError(f"{file.path}: no commit at or before {until}")
        return Commit(url=f"https://raw.example/{file.path}", published_at=until, commit="0" * 40)

    monkeypatch.setattr(steps, "resolve_publication", resolve_publication)
    monkeypatch.setattr(steps, "github_token", lambda: None)
    for name in config.SETTINGS:
        monkeypatch.delenv(name, raising=False)
    for dataset in DATASETS.values():
        steps.resolve_files(dataset, until=AFTER_THE_SPLIT, started_at=AFTER_THE_SPLIT, override=None)
    return len(calls)


def test_the_github_api_calls_per_run_the_readme_states_are_those_the_resolve_step_makes(monkeypatch):
    stated = API_CALLS.search(readme())
    assert stated, "README.md no longer states the API calls per run in the form this test reads"
    after_split, before_split = (int(number) for number in stated.groups())
    # One look-up per file of each dataset's publication; the county series also asks for its single file
    # when none of its yearly files was published yet.
    assert after_split == sum(len(dataset.parts) for dataset in DATASETS.values())
    assert before_split == after_split + sum(1 for dataset in DATASETS.values() if dataset.fallback)
    assert api_calls_per_run(monkeypatch, yearly_county_files_published=True) == after_split
    assert api_calls_per_run(monkeypatch, yearly_county_files_published=False) == before_split


# -- ports ---------------------------------------------------------------------------------------------


def compose_ports() -> dict[str, str]:
    """docker-compose.yaml's host ports: the variable that sets each, and its default."""
    text = (ROOT / "docker-compose.yaml").read_text()
    return dict(re.findall(r'- "\$\{(\w+):-(\d+)\}:\d+"', text))


STATED_PORTS = [
    pytest.param(str(config.PG_PORT), "COVID_ETL_PG_PORT", id="embedded-postgresql"),
    pytest.param(str(config.API_PORT), "COVID_ETL_API_PORT", id="airflow-ui"),
]
# Ports the README shows only as examples: PostgreSQL's usual one, taken; a local file server.
EXAMPLE_PORTS = {"5432", "8000"}


@pytest.mark.parametrize("port, setting", STATED_PORTS)
def test_the_ports_the_readme_states_are_the_settings_defaults(port, setting):
    assert config.SETTINGS[setting].default.startswith(f"{port}, else")
    assert f"| `{setting}` | {port}, else a free port |" in readme()


def test_the_ports_docker_compose_publishes_are_those_the_readme_states():
    ports = compose_ports()
    assert ports.keys() == {"AIRFLOW_API_PORT", "COVID_DB_PORT", "MOTO_PORT"}
    for name, port in ports.items():
        assert f"{port} (`{name}`)" in readme_words()


def test_every_port_number_in_the_readme_is_one_of_those_checked():
    prose = re.sub(r"\]\([^)]*\)", "]", readme())  # a link's target is a path, not a figure
    numbers = set(re.findall(r"(?<![\d.,-])\d{4,5}(?![\d.,])", prose))
    years = {number for number in numbers if 2019 <= int(number) <= 2030}
    checked = {str(config.PG_PORT), str(config.API_PORT), *compose_ports().values()}
    assert numbers - years - EXAMPLE_PORTS == checked


# -- benchmark -----------------------------------------------------------------------------------------


def latest_benchmark() -> Path:
    """The full benchmark's latest.json when it was run, else make bench-quick's."""
    full = ROOT / "benchmarks" / "results" / "latest.json"
    return full if full.exists() else ROOT / "benchmarks" / "results" / "quick" / "latest.json"


def same(quoted: str, value: float) -> bool:
    """Whether ``quoted`` is ``value`` written to as many decimals as it has."""
    decimals = len(quoted.partition(".")[2])
    return quoted == f"{value:.{decimals}f}"


def test_the_performance_paragraph_names_the_run_its_numbers_come_from():
    path = latest_benchmark()
    results = json.loads(path.read_text())
    text = section("Performance")
    command = "make bench-quick" if path.parent.name == "quick" else "make bench"
    assert f"`{command}` of {results['date']}" in text
    table = f"{path.parent.relative_to(ROOT).as_posix()}/{results['date']}.md"
    assert f"]({table})" in text and (ROOT / table).exists()
    assert re.search(r"([\d,]+) rows", text).group(1) == f"{results['rows']:,}"
    assert re.search(r"(\d+) cores", text).group(1) == str(results["cores"])


CASE = re.compile(r"`(\w+)` (\d+(?:\.\d+)?) s(?: \((\d+(?:\.\d+)?)× the floor\))?")


def test_every_number_the_performance_paragraph_quotes_is_the_benchmarks():
    results = json.loads(latest_benchmark().read_text())
    text = section("Performance")
    quoted = CASE.findall(text)
    assert quoted, "the paragraph quotes no case in the form this test reads"
    for case, seconds, ratio in quoted:
        measured = results["cases"][case]
        assert same(seconds, measured["seconds"]), (case, seconds, measured["seconds"])
        assert not ratio or same(ratio, measured["ratio_to_floor"]), (case, ratio, measured["ratio_to_floor"])
    # Nothing else of the paragraph is a number: the run's date, rows and cores (checked above) aside.
    rest = CASE.sub("", text)
    rest = re.sub(r"\]\([^)]*\)", "]", rest)
    rest = rest.replace(results["date"], "").replace(f"{results['rows']:,} rows", "")
    rest = rest.replace(f"{results['cores']} cores", "").replace("bench-quick", "")
    assert re.findall(r"\d", rest) == []
