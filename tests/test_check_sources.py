"""`make check-sources` against a local HTTP server: the real files pass, a renamed column fails."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess

import pytest

from support import ROOT, fixture_bytes, fixture_text


def check_sources(nyt_url: str, jhu_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COVID_ETL_NYT_URL": nyt_url, "COVID_ETL_JHU_URL": jhu_url}
    return subprocess.run(
        ["make", "--no-print-directory", "check-sources"], cwd=ROOT, env=env, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    ("nyt", "jhu", "jhu_kept", "jhu_last"),
    [
        pytest.param(
            "real/nyt-us-2023-01-24.csv", "real/jhu-combined-2021-03-17.csv", 420, "2021-03-16", id="current-layout"
        ),
        pytest.param("real/nyt-us-2023-01-24.csv", "real/jhu-combined-2020-10-12.csv", 264, "2020-10-11", id="old"),
    ],
)
def test_reports_bytes_hash_rows_dates_and_header_of_each_real_file(http_server, nyt, jhu, jhu_kept, jhu_last):
    done = check_sources(http_server.url(f"files/{nyt}"), http_server.url(f"files/{jhu}"))
    assert done.returncode == 0, done.stdout + done.stderr
    found = {item["source"]: item for item in map(json.loads, (ln for ln in done.stdout.splitlines() if ln[:1] == "{"))}
    for source, name, kept, last in (("NYT", nyt, 1100, "2023-01-24"), ("JHU", jhu, jhu_kept, jhu_last)):
        body = fixture_bytes(name)
        lines = fixture_text(name).splitlines()
        assert found[source] == {
            "source": source,
            "url": http_server.url(f"files/{name}"),
            "bytes": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
            "rows": len(lines) - 1,
            "kept": kept,
            "first_date": "2020-01-21" if source == "NYT" else "2020-01-22",
            "last_date": last,
            "header": lines[0],
        }
    assert "NYT: OK 29022 bytes" in done.stdout


def test_fails_naming_the_renamed_column(http_server):
    done = check_sources(
        http_server.url("files/real/nyt-us-2023-01-24.csv"), http_server.url("files/jhu/renamed-recovered-column.csv")
    )
    assert done.returncode != 0
    assert "NYT: OK" in done.stdout
    assert "JHU: FAILED: JHU http://127.0.0.1:" in done.stdout
    assert "renamed-recovered-column.csv, line 1: not the expected CSV: the header lacks Recovered" in done.stdout


def test_fails_on_an_unreachable_source(http_server):
    done = check_sources(http_server.url("status/404/check-sources"), http_server.url("files/jhu/valid-small.csv"))
    assert done.returncode != 0 and "NYT: FAILED" in done.stdout and "HTTP 404" in done.stdout
