"""Downloads (covid_etl.sources.fetch) over real HTTP from a local server: retries, caps, short bodies, timeouts."""

from __future__ import annotations

import hashlib
import io
import time

import pytest

from covid_etl.errors import DownloadRejectedError, IncompleteDownloadError
from covid_etl.sources.fetch import download, download_to
from devstack import free_port
from support import FIXTURES

NAME = "real/nyt-us-2020-08-13.csv"


def test_downloads_the_whole_file_with_its_sha256(http_server):
    fetched = download(http_server.url(f"files/{NAME}"), source="NYT")
    assert fetched.body == (FIXTURES / NAME).read_bytes()
    assert fetched.sha256 == hashlib.sha256(fetched.body).hexdigest()


def test_streams_the_file_into_its_target_and_reports_its_size_and_sha256(http_server):
    target = io.BytesIO()
    streamed = download_to(http_server.url(f"files/{NAME}"), target, source="NYT")
    body = (FIXTURES / NAME).read_bytes()
    assert target.getvalue() == body
    assert (streamed.bytes, streamed.sha256) == (len(body), hashlib.sha256(body).hexdigest())


def test_retries_server_errors_until_the_file_comes(http_server):
    path = f"flaky/2/{NAME}"
    fetched = download(http_server.url(path), source="NYT", retries=3, backoff=0)
    assert fetched.body == (FIXTURES / NAME).read_bytes()
    assert http_server.hits[f"/{path}"] == 3


def test_gives_up_on_a_lasting_server_error_as_a_transient_fault(http_server):
    with pytest.raises(IOError, match="HTTP 503 after 2 retries") as caught:
        download(http_server.url(f"flaky/99/{NAME}"), source="NYT", retries=2, backoff=0)
    assert not isinstance(caught.value, DownloadRejectedError)


def test_rejects_a_missing_file_without_retrying(http_server):
    with pytest.raises(DownloadRejectedError, match="NYT .*/status/404/fetch: HTTP 404"):
        download(http_server.url("status/404/fetch"), source="NYT", retries=3, backoff=0)
    assert http_server.hits["/status/404/fetch"] == 1


def test_rejects_a_body_shorter_than_its_content_length(http_server):
    with pytest.raises(IncompleteDownloadError, match="short body"):
        download(http_server.url(f"short/{NAME}"), source="NYT", retries=0)


def test_rejects_a_body_over_the_size_cap(http_server):
    with pytest.raises(DownloadRejectedError, match="exceeds the cap of 1000"):
        download(http_server.url(f"files/{NAME}"), source="NYT", max_bytes=1000)


def test_times_out_on_a_server_that_does_not_answer(http_server):
    with pytest.raises(IOError, match="download failed"):
        download(http_server.url(f"slow/3/{NAME}"), source="JHU", read_timeout=0.5, retries=0)


def test_gives_up_on_a_server_that_answers_but_crawls_once_the_time_allowed_ran_out(http_server):
    started = time.monotonic()
    with pytest.raises(IncompleteDownloadError, match="JHU .*too slow"):
        download(http_server.url(f"drip/0.2/{NAME}"), source="JHU", read_timeout=5, max_seconds=1, retries=0)
    assert time.monotonic() - started < 3  # every line arrives well within the read timeout


def test_reports_a_refused_connection_as_a_transient_fault():
    with pytest.raises(IOError, match="JHU http://127.0.0.1:.*download failed"):
        download(f"http://127.0.0.1:{free_port()}/x.csv", source="JHU", retries=1, backoff=0)
