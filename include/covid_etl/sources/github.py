"""Find which publication of a source a run loads: the newest commit of its file at or before a time.

GitHub's REST API answers ``GET /repos/{owner}/{repo}/commits?sha={branch}&path={path}&until={time}
&per_page=1`` with the newest commit touching the path, newest first; the file as it was then is
served at ``{raw base}/{owner}/{repo}/{commit}/{path}``. The same question always has the same answer,
so a rerun of a run loads the same bytes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import requests

from covid_etl.errors import DownloadRejectedError, RejectedInputError
from covid_etl.sources.fetch import USER_AGENT, get_patiently, session_with_retries
from covid_etl.sources.specs import GitHubFile

log = logging.getLogger(__name__)


class NoPublicationError(RejectedInputError):
    """The file had no commit at or before the time asked: nothing was published yet."""


@dataclass(frozen=True)
class Commit:
    """A file as one commit published it: where its bytes are served, and when it was committed."""

    url: str
    published_at: datetime
    commit: str


def resolve_publication(
    source: GitHubFile,
    until: datetime,
    *,
    api_base: str,
    raw_base: str,
    token: str | None = None,
    timeout: float = 30.0,
    retries: int = 3,
) -> Commit:
    """The newest publication of ``source`` committed at or before ``until``.

    :param source: the file and its repository.
    :param until: the run's time (its data interval's end, or its run_after).
    :param api_base: GitHub's REST API, e.g. https://api.github.com.
    :param raw_base: where files are served by commit, e.g. https://raw.githubusercontent.com.
    :param token: a GitHub token, for 5,000 requests an hour instead of 60.
    :param timeout: seconds to wait for a connection and for the answer.
    :param retries: attempts after the first on connection errors and 5xx answers.
    :raises NoPublicationError: the file has no commit that early.
    :raises DownloadRejectedError: GitHub refused (404: no such repository, branch or path).
    :raises RateLimitedError: the rate limit resets too late to wait for: a transient fault.
    """
    url = source.commits_url(api_base)
    params = {
        "sha": source.branch,
        "path": source.path,
        "until": until.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "per_page": "1",
    }
    headers = {
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
        "User-Agent": USER_AGENT,
        **({"Authorization": f"Bearer {token}"} if token else {}),
    }
    with session_with_retries(retries, backoff=1.0) as session:
        try:
            response = get_patiently(session, url, source=source.label, params=params, headers=headers, timeout=timeout)
        except requests.RequestException as exc:
            raise OSError(f"{source.label} {url}: GitHub did not answer: {exc}") from exc
    where = f"{source.label} {source.owner}/{source.repo}@{source.branch}:{source.path}"
    if response.status_code >= 500:
        raise OSError(f"{where}: GitHub answered HTTP {response.status_code} after {retries} retries")
    if response.status_code >= 400:
        raise DownloadRejectedError(f"{where}: GitHub answered HTTP {response.status_code}: {response.text[:200]}")
    commits = response.json()
    if not commits:
        raise NoPublicationError(f"{where}: no commit at or before {params['until']}")
    commit = commits[0]
    published_at = datetime.fromisoformat(commit["commit"]["committer"]["date"].replace("Z", "+00:00"))
    log.info("%s as of %s: commit %s of %s", source.label, params["until"], commit["sha"], published_at)
    return Commit(url=source.raw_url(raw_base, commit["sha"]), published_at=published_at, commit=commit["sha"])
