"""Where each source is published: a file in a public GitHub repository, whose history is its publications."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GitHubFile:
    """A file on a branch of a GitHub repository.

    :param label: the source's name in logs, errors and tables (``NYT``, ``JHU``).
    :param owner: the repository's owner.
    :param repo: the repository's name.
    :param branch: the branch its publisher commits to.
    :param path: the file's path in the repository.
    """

    label: str
    owner: str
    repo: str
    branch: str
    path: str

    def raw_url(self, raw_base: str, ref: str | None = None) -> str:
        """The file's bytes at ``ref`` (a commit id), or at the branch's head."""
        return f"{raw_base.rstrip('/')}/{self.owner}/{self.repo}/{ref or self.branch}/{self.path}"

    def commits_url(self, api_base: str) -> str:
        """GitHub's REST endpoint listing the commits of the repository (filtered by path and time)."""
        return f"{api_base.rstrip('/')}/repos/{self.owner}/{self.repo}/commits"


NYT = GitHubFile("NYT", "nytimes", "covid-19-data", "master", "us.csv")
JHU = GitHubFile("JHU", "datasets", "covid-19", "main", "data/time-series-19-covid-combined.csv")
SOURCES = {source.label: source for source in (NYT, JHU)}
