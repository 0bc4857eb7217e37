"""Download a source file over HTTP(S), with timeouts, retries, a size cap and a length check."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from covid_etl.errors import DownloadRejectedError, IncompleteDownloadError

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 256 * 1024 * 1024
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Download:
    """A downloaded file: its bytes and their sha256."""

    source: str
    url: str
    body: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


def _session(retries: int, backoff: float) -> requests.Session:
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


def download(
    url: str,
    *,
    source: str,
    connect_timeout: float = 10.0,
    read_timeout: float = 60.0,
    max_bytes: int = DEFAULT_MAX_BYTES,
    retries: int = 3,
    backoff: float = 1.0,
) -> Download:
    """Fetch ``url`` whole, or raise.

    :param url: the file's address.
    :param source: the source's label (``NYT``, ``JHU``), used in errors and logs.
    :param connect_timeout: seconds to wait for a connection.
    :param read_timeout: seconds to wait between bytes.
    :param max_bytes: the largest body accepted.
    :param retries: attempts after the first on connection errors and 5xx answers.
    :param backoff: the base of urllib3's exponential back-off between those attempts, in seconds.
    """
    # identity encoding: the body's length must then equal Content-Length, which proves it complete.
    headers = {"Accept-Encoding": "identity", "User-Agent": "covid-etl (Apache Airflow pipeline)"}
    with _session(retries, backoff) as session:
        try:
            response = session.get(url, headers=headers, timeout=(connect_timeout, read_timeout), stream=True)
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
            body = _read_capped(response, source=source, url=url, max_bytes=max_bytes)
    if announced is not None and len(body) != int(announced):
        raise IncompleteDownloadError(
            f"{source} {url}: short body, {len(body)} of the {announced} bytes announced by Content-Length"
        )
    log.info("Downloaded %s: %s bytes from %s", source, len(body), url)
    return Download(source=source, url=url, body=body)


def _read_capped(response: requests.Response, *, source: str, url: str, max_bytes: int) -> bytes:
    chunks, size = [], 0
    try:
        for chunk in response.iter_content(_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise DownloadRejectedError(f"{source} {url}: body exceeds the cap of {max_bytes} bytes")
            chunks.append(chunk)
    except requests.RequestException as exc:
        # urllib3 notices a connection closed before Content-Length: the same fault as a short body.
        raise IncompleteDownloadError(f"{source} {url}: short body, the connection broke ({exc})") from exc
    return b"".join(chunks)
