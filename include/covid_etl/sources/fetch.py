"""Download a source file over HTTP(S), with timeouts, retries, a size cap, a length check, and patience
with rate limits."""

from __future__ import annotations

import hashlib
import io
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import BinaryIO

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from covid_etl.errors import DownloadRejectedError, IncompleteDownloadError, RateLimitedError
from covid_etl.progress import Progress

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 256 * 1024 * 1024
# The longest a request waits for a rate limit to reset before giving up (the task then retries).
MAX_RATE_LIMIT_WAIT = 15 * 60.0
# The longest a body may take to arrive once the server answered: a server that answers but crawls
# cannot hold a task for longer (the county files, ~100 MB, take seconds on a normal link).
DEFAULT_MAX_SECONDS = 5 * 60.0
_CHUNK = 64 * 1024
USER_AGENT = "covid-etl (Apache Airflow pipeline)"


@dataclass(frozen=True)
class Download:
    """A downloaded file: its bytes and their sha256."""

    source: str
    url: str
    body: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


def rate_limit_delay(status: int, headers: Mapping[str, str], now: float) -> float | None:
    """Seconds to wait before retrying a rate-limited answer, as the answer says; None if it is not one.

    GitHub answers 403 or 429 with ``Retry-After`` (seconds, or an HTTP date) or with
    ``X-RateLimit-Remaining: 0`` and ``X-RateLimit-Reset`` (epoch seconds). A 403 without them is a refusal.
    """
    if status not in (403, 429):
        return None
    retry_after = headers.get("Retry-After")
    if retry_after is not None:
        if retry_after.strip().isdigit():
            return float(retry_after)
        return max(0.0, parsedate_to_datetime(retry_after).timestamp() - now)
    if headers.get("X-RateLimit-Remaining") == "0" and headers.get("X-RateLimit-Reset", "").isdigit():
        return max(0.0, int(headers["X-RateLimit-Reset"]) - now)
    return 60.0 if status == 429 else None


def get_patiently(
    session: requests.Session,
    url: str,
    *,
    source: str,
    max_wait: float = MAX_RATE_LIMIT_WAIT,
    sleep=time.sleep,
    **kwargs,
) -> requests.Response:
    """GET ``url``; when rate-limited, wait as long as the answer says (up to ``max_wait``) and ask again.

    :raises RateLimitedError: the limit resets later than ``max_wait`` from now: a transient fault.
    """
    while True:
        response = session.get(url, **kwargs)
        delay = rate_limit_delay(response.status_code, response.headers, time.time())
        if delay is None:
            return response
        response.close()
        if delay > max_wait:
            raise RateLimitedError(f"{source} {url}: rate limited (HTTP {response.status_code}) for {delay:.0f} s more")
        log.warning("%s %s: rate limited (HTTP %s); waiting %.0f s", source, url, response.status_code, delay)
        sleep(delay + 1)


def session_with_retries(retries: int, backoff: float) -> requests.Session:
    retry = Retry(
        total=retries,
        backoff_factor=backoff,
        status_forcelist=(500, 502, 503, 504),
        allowed_methods=frozenset({"GET"}),
        raise_on_status=False,
    )
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    return session


@dataclass(frozen=True)
class Streamed:
    """What a download wrote: its size and sha256."""

    bytes: int
    sha256: str


def download_to(
    url: str,
    target: BinaryIO,
    *,
    source: str,
    connect_timeout: float = 10.0,
    read_timeout: float = 30.0,
    max_seconds: float = DEFAULT_MAX_SECONDS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    retries: int = 3,
    backoff: float = 1.0,
    max_rate_limit_wait: float = MAX_RATE_LIMIT_WAIT,
) -> Streamed:
    """Stream ``url`` into ``target`` a chunk at a time (never whole in memory), hashing as it goes; or raise.

    :param url: the file's address.
    :param target: where the bytes go (a file in the staging store, opened for writing bytes).
    :param source: the source's label (``NYT``, ``JHU``), used in errors and logs.
    :param connect_timeout: seconds to wait for a connection.
    :param read_timeout: seconds to wait between bytes.
    :param max_seconds: the longest the body may take to arrive, once the server answered.
    :param max_bytes: the largest body accepted.
    :param retries: attempts after the first on connection errors and 5xx answers.
    :param backoff: the base of urllib3's exponential back-off between those attempts, in seconds.
    :param max_rate_limit_wait: the longest to wait for a rate limit to reset, in seconds.
    """
    # identity encoding: the body's length must then equal Content-Length, which proves it complete.
    headers = {"Accept-Encoding": "identity", "User-Agent": USER_AGENT}
    with session_with_retries(retries, backoff) as session:
        try:
            response = get_patiently(
                session,
                url,
                source=source,
                max_wait=max_rate_limit_wait,
                headers=headers,
                timeout=(connect_timeout, read_timeout),
                stream=True,
            )
        except requests.RequestException as exc:
            raise OSError(f"{source} {url}: download failed: {exc}") from exc
        with response:
            if response.status_code >= 500:
                raise OSError(f"{source} {url}: HTTP {response.status_code} after {retries} retries")
            if response.status_code >= 400:
                raise DownloadRejectedError(f"{source} {url}: HTTP {response.status_code}")
            announced = response.headers.get("Content-Length")
            if announced is not None and int(announced) > max_bytes:
                raise DownloadRejectedError(f"{source} {url}: {announced} bytes exceeds the cap of {max_bytes}")
            progress = Progress(log, f"{source}: downloaded", total=int(announced) if announced else None)
            streamed = _write_capped(
                response, target, source=source, url=url, max_bytes=max_bytes,
                deadline=time.monotonic() + max_seconds, progress=progress,
            )  # fmt: skip
    if announced is not None and streamed.bytes != int(announced):
        raise IncompleteDownloadError(
            f"{source} {url}: short body, {streamed.bytes} of the {announced} bytes announced by Content-Length"
        )
    log.info("Downloaded %s: %s bytes from %s", source, streamed.bytes, url)
    return streamed


def download(url: str, *, source: str, **options) -> Download:
    """Fetch ``url`` whole into memory (small files: `make check-sources`); options as for :func:`download_to`."""
    body = io.BytesIO()
    download_to(url, body, source=source, **options)
    return Download(source=source, url=url, body=body.getvalue())


def _write_capped(
    response: requests.Response,
    target: BinaryIO,
    *,
    source: str,
    url: str,
    max_bytes: int,
    deadline: float,
    progress: Progress,
) -> Streamed:
    digest, size = hashlib.sha256(), 0
    try:
        # read1 returns what has arrived (iter_content would wait for a whole chunk), so the time
        # allowed is checked as the bytes come, however slowly.
        while chunk := response.raw.read1(_CHUNK):
            if time.monotonic() > deadline:
                raise IncompleteDownloadError(f"{source} {url}: too slow, {size} bytes when the time allowed ran out")
            size += len(chunk)
            if size > max_bytes:
                raise DownloadRejectedError(f"{source} {url}: body exceeds the cap of {max_bytes} bytes")
            digest.update(chunk)
            target.write(chunk)
            progress.update(size)
    except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
        # urllib3 notices a connection closed before Content-Length: the same fault as a short body.
        raise IncompleteDownloadError(f"{source} {url}: short body, the connection broke ({exc})") from exc
    return Streamed(bytes=size, sha256=digest.hexdigest())
