"""Progress lines of the long steps (covid_etl.progress): a county file's download and load say how far
they have come about every 10 s, in the task log."""

from __future__ import annotations

import io
import logging

from covid_etl import progress as progress_module
from covid_etl.progress import Progress
from covid_etl.sources import fetch
from covid_etl.sources.fetch import download_to
from support import FIXTURES

LOGGER = logging.getLogger("test_progress")


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_line_comes_once_ten_seconds_have_passed_with_the_size_the_total_and_the_rate(caplog):
    clock = FakeClock()
    progress = Progress(LOGGER, "NYT counties: downloaded", total=100_000_000, clock=clock)
    caplog.set_level(logging.INFO, logger=LOGGER.name)

    clock.now += 9.9
    progress.update(20_000_000)
    clock.now += 0.1
    progress.update(25_000_000)

    assert [record.getMessage() for record in caplog.records] == [
        "NYT counties: downloaded 25 MB of 100 MB in 10 s (2.5 MB/s)"
    ]


def test_lines_are_ten_seconds_apart_however_often_progress_is_noted(caplog):
    clock = FakeClock()
    progress = Progress(LOGGER, "counties: read", clock=clock)
    caplog.set_level(logging.INFO, logger=LOGGER.name)

    for _ in range(120):  # 30 s in steps of 0.25 s
        clock.now += 0.25
        progress.update(1_000_000)

    assert len(caplog.records) == 3
    assert caplog.records[-1].getMessage() == "counties: read 1 MB in 30 s (0.0 MB/s)"


def test_a_download_logs_its_progress_in_the_task_log(http_server, caplog, monkeypatch):
    name = "real/nyt-us-2020-08-13.csv"
    size = (FIXTURES / name).stat().st_size
    monkeypatch.setattr(progress_module, "PROGRESS_SECONDS", 0.0)  # a line for every chunk
    caplog.set_level(logging.INFO, logger=fetch.log.name)

    download_to(http_server.url(f"files/{name}"), io.BytesIO(), source="NYT")

    lines = [record.getMessage() for record in caplog.records if "downloaded" in record.getMessage()]
    assert lines, "no progress line"
    assert all(line.startswith("NYT: downloaded ") and f"of {size / 1e6:.0f} MB" in line for line in lines)
