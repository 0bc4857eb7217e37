"""`make check-sources` offline: the latest publication of every dataset's files, served by a stand-in of
GitHub's raw endpoint (fake_github.py) or by the local HTTP server through the URL variables, is
downloaded, validated with the one validator and summarised; a file that would not load fails the
command naming the file, the line and the problem."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
from datetime import UTC, datetime

import pytest

from fake_github import JHU_PATH, JHU_REPO, NYT_REPO, Commit, FakeGitHub, Repository
from support import ROOT, fixture_bytes

NYT_US, STATES, JHU = (
    "real/nyt-us-2023-01-24.csv",
    "real/nyt-us-states-2021-03-15.csv",
    "real/jhu-combined-2021-03-17.csv",
)
COUNTIES_2020 = "counties/us-counties.csv"  # March 2020
LFS_POINTER = b"version https://git-lfs.github.com/spec/v1\noid sha256:4d7a\nsize 108263547\n"


def counties_2021() -> bytes:
    """A yearly county file of 2021: the fixture's first three days, a year on."""
    lines = fixture_bytes(COUNTIES_2020).decode().splitlines(keepends=True)
    return "".join(
        [lines[0]] + [line.replace("2020-03-0", "2021-03-0", 1) for line in lines[1:] if line < "2020-03-04"]
    ).encode()


def github(nyt_files: dict[str, bytes]) -> FakeGitHub:
    """A GitHub whose NYT branch head holds ``nyt_files`` and whose JHU branch head holds the real file."""
    at = datetime(2023, 3, 24, tzinfo=UTC)
    return FakeGitHub(
        {
            NYT_REPO: Repository("master", [Commit("a" * 40, at, nyt_files)]),
            JHU_REPO: Repository("main", [Commit("b" * 40, at, {JHU_PATH: fixture_bytes(JHU)})]),
        }
    )


def check_sources(**env: str) -> tuple[int, str, dict[str, dict]]:
    """Run `make check-sources`; return its exit code, output, and summaries by dataset and file."""
    base = {name: value for name, value in os.environ.items() if not name.startswith("COVID_ETL_")}
    done = subprocess.run(
        ["make", "--no-print-directory", "check-sources"], cwd=ROOT, env={**base, **env}, capture_output=True, text=True
    )
    found = [json.loads(line) for line in done.stdout.splitlines() if line[:1] == "{"]
    return done.returncode, done.stdout + done.stderr, {f"{item['dataset']} {item['file']}": item for item in found}


def summary(dataset: str, file: str, url: str, body: bytes, *, kept=None) -> dict:
    """What the summary of a file must say, from its bytes and the csv module."""
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    if kept is not None:
        rows = [row for row in rows if kept(row)]
    dates = sorted(row.get("date") or row["Date"] for row in rows)
    return {
        "dataset": dataset,
        "file": file,
        "url": url,
        "bytes": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
        "rows": body.decode().count("\n") - 1 if body.endswith(b"\n") else body.decode().count("\n"),
        "kept": len(rows),
        "first_date": dates[0],
        "last_date": dates[-1],
        "header": body.decode().split("\n", 1)[0],
    }


def jhu_us(row: dict) -> bool:
    return row["Country/Region"] == "US" and not row["Province/State"]


@pytest.fixture(scope="module")
def yearly_github():
    """NYT's files as they are now: the yearly county files (2020 and 2021 here) and, in Git LFS, the old
    single one (raw.githubusercontent.com serves its pointer)."""
    server = github(
        {
            "us.csv": fixture_bytes(NYT_US),
            "us-states.csv": fixture_bytes(STATES),
            "us-counties-2020.csv": fixture_bytes(COUNTIES_2020),
            "us-counties-2021.csv": counties_2021(),
            "us-counties.csv": LFS_POINTER,
        }
    )
    yield server
    server.shutdown()


def test_every_datasets_latest_files_are_fetched_validated_and_summarised(yearly_github):
    code, output, found = check_sources(COVID_ETL_GITHUB_RAW_URL=yearly_github.raw_url)
    assert code == 0, output
    raw = f"{yearly_github.raw_url}/nytimes/covid-19-data/master"
    assert found == {
        "nyt us.csv": summary("nyt", "us.csv", f"{raw}/us.csv", fixture_bytes(NYT_US)),
        "jhu data/time-series-19-covid-combined.csv": summary(
            "jhu",
            JHU_PATH,
            f"{yearly_github.raw_url}/datasets/covid-19/main/{JHU_PATH}",
            fixture_bytes(JHU),
            kept=jhu_us,
        ),
        "states us-states.csv": summary("states", "us-states.csv", f"{raw}/us-states.csv", fixture_bytes(STATES)),
        "counties us-counties-2020.csv": summary(
            "counties", "us-counties-2020.csv", f"{raw}/us-counties-2020.csv", fixture_bytes(COUNTIES_2020)
        ),
        "counties us-counties-2021.csv": summary(
            "counties", "us-counties-2021.csv", f"{raw}/us-counties-2021.csv", counties_2021()
        ),
    }
    assert found["jhu data/time-series-19-covid-combined.csv"]["kept"] == 420
    assert f"counties us-counties-2022.csv: not published ({raw}/us-counties-2022.csv: HTTP 404)" in output
    assert "us-counties.csv" not in output  # the yearly files are what a run loads, not the old single one
    assert "nyt us.csv: OK 29022 bytes, sha256 " in output


def test_without_yearly_county_files_the_single_one_is_checked():
    server = github(
        {
            "us.csv": fixture_bytes(NYT_US),
            "us-states.csv": fixture_bytes(STATES),
            "us-counties.csv": fixture_bytes(COUNTIES_2020),
        }
    )
    try:
        code, output, found = check_sources(COVID_ETL_GITHUB_RAW_URL=server.raw_url)
    finally:
        server.shutdown()
    assert code == 0, output
    assert found["counties us-counties.csv"]["kept"] == 3864
    assert [name for name in found if name.startswith("counties")] == ["counties us-counties.csv"]
    assert output.count("not published") == 4


def local_urls(http_server, **files: str) -> dict[str, str]:
    urls = {"nyt": NYT_US, "jhu": JHU, "states": "states/us-states.csv", "counties": COUNTIES_2020} | files
    served = {name: path if path.startswith("status/") else f"files/{path}" for name, path in urls.items()}
    return {f"COVID_ETL_{name.upper()}_URL": http_server.url(path) for name, path in served.items()}


@pytest.mark.parametrize(
    ("jhu", "kept", "last"),
    [
        pytest.param("real/jhu-combined-2021-03-17.csv", 420, "2021-03-16", id="current-layout"),
        pytest.param("real/jhu-combined-2020-10-12.csv", 264, "2020-10-11", id="old-layout"),
    ],
)
def test_the_url_variables_check_each_datasets_whole_file_in_either_jhu_layout(http_server, jhu, kept, last):
    code, output, found = check_sources(**local_urls(http_server, jhu=jhu))
    assert code == 0, output
    assert sorted(found) == [
        "counties us-counties.csv",
        "jhu data/time-series-19-covid-combined.csv",
        "nyt us.csv",
        "states us-states.csv",
    ]
    jhu_found = found["jhu data/time-series-19-covid-combined.csv"]
    assert jhu_found == summary("jhu", JHU_PATH, http_server.url(f"files/{jhu}"), fixture_bytes(jhu), kept=jhu_us)
    assert (jhu_found["kept"], jhu_found["last_date"]) == (kept, last)
    assert found["states us-states.csv"]["rows"] == found["states us-states.csv"]["kept"] == 784


@pytest.mark.parametrize(
    ("files", "failure"),
    [
        pytest.param(
            {"jhu": "jhu/renamed-recovered-column.csv"},
            "jhu data/time-series-19-covid-combined.csv: FAILED: JHU {url}, line 1: not the expected CSV: the "
            "header lacks Recovered",
            id="renamed-column",
        ),
        pytest.param(
            {"nyt": "status/404/check-sources"},
            "nyt us.csv: FAILED: NYT {url}: HTTP 404",
            id="unreachable",
        ),
        # A key given twice within a day: what the table's primary key finds in a load.
        pytest.param(
            {"states": "corpus/states/duplicate-key.csv"},
            "states us-states.csv: FAILED: NYT states {url}, line 5: date, state already given on line 4",
            id="repeated-key",
        ),
        pytest.param(
            {"counties": "corpus/counties/dates-out-of-order.csv"},
            "counties us-counties.csv: FAILED: NYT counties {url}, line 4: rows are not in date order",
            id="unsorted",
        ),
    ],
)
def test_a_file_that_would_not_load_fails_the_command_naming_it_and_the_others_are_still_checked(
    http_server, files, failure
):
    urls = local_urls(http_server, **files)
    code, output, found = check_sources(**urls)
    [name] = files
    url = urls[f"COVID_ETL_{name.upper()}_URL"]
    assert code != 0
    assert failure.format(url=url) in output, output
    assert len(found) == 3 and not any(key.startswith(name) for key in found)


def test_a_repeated_key_in_a_file_read_row_by_row_fails_too():
    states = b"state,date,fips,cases,deaths\nOhio,2020-03-01,39,1,0\nUtah,2020-03-01,49,1,0\nOhio,2020-03-01,39,2,0\n"
    server = github(
        {"us.csv": fixture_bytes(NYT_US), "us-states.csv": states, "us-counties.csv": fixture_bytes(COUNTIES_2020)}
    )
    try:
        code, output, _ = check_sources(COVID_ETL_GITHUB_RAW_URL=server.raw_url)
    finally:
        server.shutdown()
    assert code != 0
    assert "states us-states.csv: FAILED: NYT states " in output
    assert "us-states.csv, line 4: date, state already given on line 2: 'Ohio,2020-03-01,39,2,0'" in output
