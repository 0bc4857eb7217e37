"""A local stand-in for the two GitHub endpoints the pipeline uses, serving commits and files from fixtures.

- ``GET /api/repos/{owner}/{repo}/commits?sha={branch}&path={path}&until={time}&per_page={n}``: the
  commits touching ``path``, newest first, committed at or before ``until``, in the shape of GitHub's
  REST API (``[{"sha": ..., "commit": {"committer": {"date": ...}}}]``); 404 for an unknown
  repository or branch.
- ``GET /raw/{owner}/{repo}/{ref}/{path}``: the file as it was at commit ``ref`` (or the branch head).

Use ``api_url`` and ``raw_url`` as COVID_ETL_GITHUB_API_URL / COVID_ETL_GITHUB_RAW_URL. Every request
is logged in ``requests`` (method and path), so a test can prove that nothing was downloaded. It can
also answer as a rate-limited GitHub does (``rate_limit``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from support import fixture_bytes


@dataclass(frozen=True)
class Commit:
    """One commit of a repository: when, and the files it wrote (path -> bytes, or a callable giving them)."""

    sha: str
    committed_at: datetime
    files: dict[str, bytes | Callable[[], bytes]]

    def content(self, path: str) -> bytes:
        body = self.files[path]
        return body() if callable(body) else body


@dataclass
class Repository:
    branch: str
    commits: list[Commit] = field(default_factory=list)

    def touching(self, path: str, until: datetime | None = None) -> list[Commit]:
        """The commits that wrote ``path``, newest first, at or before ``until``."""
        found = [c for c in self.commits if path in c.files and (until is None or c.committed_at <= until)]
        return sorted(found, key=lambda c: c.committed_at, reverse=True)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class _Handler(BaseHTTPRequestHandler):
    server: FakeGitHub

    def log_message(self, *args) -> None:
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/json", headers=()) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        self.server.requests.append(("GET", unquote(url.path) + (f"?{url.query}" if url.query else "")))
        if self.headers.get("Authorization"):
            self.server.authorizations.add(self.headers["Authorization"])
        limited = self.server.rate_limited()
        if limited is not None:
            self._send(limited[0], b'{"message": "API rate limit exceeded"}', headers=limited[1])
            return
        kind, _, rest = url.path.lstrip("/").partition("/")
        if kind == "api":
            self._commits(rest, parse_qs(url.query))
        elif kind == "raw":
            self._raw(unquote(rest))
        else:
            self._send(404, b'{"message": "Not Found"}')

    def _commits(self, rest: str, query: dict[str, list[str]]) -> None:
        parts = rest.split("/")
        if len(parts) != 4 or parts[0] != "repos" or parts[3] != "commits":
            self._send(404, b'{"message": "Not Found"}')
            return
        repository = self.server.repositories.get((parts[1], parts[2]))
        if repository is None or query.get("sha", [repository.branch])[0] != repository.branch:
            self._send(404, b'{"message": "Not Found"}')
            return
        until = _parse_time(query["until"][0]) if "until" in query else None
        commits = repository.touching(query["path"][0], until)[: int(query.get("per_page", ["30"])[0])]
        body = [{"sha": c.sha, "commit": {"committer": {"date": _iso(c.committed_at)}}} for c in commits]
        self._send(200, json.dumps(body).encode())

    def _raw(self, rest: str) -> None:
        owner, repo, ref, path = (rest.split("/", 3) + ["", "", "", ""])[:4]
        repository = self.server.repositories.get((owner, repo))
        if repository is None:
            self._send(404, b"404: Not Found", "text/plain")
            return
        if ref == repository.branch:
            at = None
        else:
            commit = next((c for c in repository.commits if c.sha == ref), None)
            if commit is None:
                self._send(404, b"404: Not Found", "text/plain")
                return
            at = commit.committed_at
        versions = repository.touching(path, at)
        if not versions:
            self._send(404, b"404: Not Found", "text/plain")
            return
        self._send(200, versions[0].content(path), "text/plain; charset=utf-8")


class FakeGitHub(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, repositories: dict[tuple[str, str], Repository]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.repositories = repositories
        self.requests: list[tuple[str, str]] = []
        self.authorizations: set[str] = set()
        self._limit: tuple[int, int, dict] | None = None
        self._lock = threading.Lock()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api"

    @property
    def raw_url(self) -> str:
        return f"{self.base_url}/raw"

    def environment(self) -> dict[str, str]:
        return {"COVID_ETL_GITHUB_API_URL": self.api_url, "COVID_ETL_GITHUB_RAW_URL": self.raw_url}

    def clear(self) -> None:
        self.requests.clear()
        self.authorizations.clear()

    def downloads(self) -> list[str]:
        return [path for _, path in self.requests if path.startswith("/raw/")]

    def rate_limit(self, *, times: int, status: int = 403, retry_after: int | None = None, reset_in: int = 1) -> None:
        """Answer the next ``times`` requests as rate-limited: with Retry-After, or X-RateLimit-* headers."""
        if retry_after is not None:
            headers = {"Retry-After": str(retry_after)}
        else:
            headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) + reset_in)}
        self._limit = (times, status, headers)

    def rate_limited(self) -> tuple[int, list] | None:
        with self._lock:
            if not self._limit or self._limit[0] <= 0:
                return None
            times, status, headers = self._limit
            self._limit = (times - 1, status, headers)
            return status, list(headers.items())


NYT_REPO, JHU_REPO = ("nytimes", "covid-19-data"), ("datasets", "covid-19")
NYT_PATH, JHU_PATH = "us.csv", "data/time-series-19-covid-combined.csv"

# The real files in tests/fixtures/real under their real commits. The NYT commit times are not
# recorded: each is the day after the file's last date, at noon. The JHU ones are from
# jhu-combined-commits.tsv.
REAL_NYT = [
    ("bc3b51f900f37084a35d0eee4a99624abda54eae", "2020-08-14T12:00:00+00:00", "real/nyt-us-2020-08-13.csv"),
    ("000bd91668de0ec6edef9f439ecd84ffe45f375d", "2022-04-20T12:00:00+00:00", "real/nyt-us-2022-04-19.csv"),
    ("8fe52ad7c803df0f03d71a97571b608d53529713", "2023-01-25T12:00:00+00:00", "real/nyt-us-2023-01-24.csv"),
]
REAL_JHU_COMMITS = {
    "c8aec96d7dc6c0cb731166e2a67291600d005aca": "real/jhu-combined-2020-10-12.csv",
    "adc88e327e01d1bafff75c61eee2759e4445dd20": "real/jhu-combined-2020-10-23.csv",
    "2d989d956ea5fd7c5c43537bb9fc17912c18e02d": "real/jhu-combined-2020-12-14.csv",
    "fff4ca6ec5ea7ae78a63132fd36942832ad07917": "real/jhu-combined-2021-03-17.csv",
}


def real_jhu_commit_times() -> dict[str, datetime]:
    lines = fixture_bytes("real/jhu-combined-commits.tsv").decode().splitlines()[1:]
    return {sha: datetime.fromisoformat(at) for sha, at in (line.split("\t") for line in lines)}


def real_repositories() -> dict[tuple[str, str], Repository]:
    """The publishers' repositories as far as real versions are kept here: 3 NYT and 4 JHU commits."""
    nyt = Repository("master")
    for sha, at, name in REAL_NYT:
        nyt.commits.append(Commit(sha, datetime.fromisoformat(at), {NYT_PATH: fixture_bytes(name)}))
    jhu = Repository("main")
    times = real_jhu_commit_times()
    for sha, name in REAL_JHU_COMMITS.items():
        jhu.commits.append(Commit(sha, times[sha], {JHU_PATH: (lambda name=name: fixture_bytes(name))}))
    return {NYT_REPO: nyt, JHU_REPO: jhu}


def _nyt_version(last_day: date, revision: int) -> bytes:
    """The real NYT series of 2023-01-24 cut after ``last_day``, its last 3 days' cases raised by ``revision``
    (as NYT revised recent days from one publication to the next). No trailing newline, like NYT's."""
    lines = fixture_bytes("real/nyt-us-2023-01-24.csv").decode().split("\n")
    kept = [lines[0]] + [line for line in lines[1:] if line[:10] <= last_day.isoformat()]
    for index in range(max(1, len(kept) - 3), len(kept)):
        day, cases, deaths = kept[index].split(",")
        kept[index] = f"{day},{int(cases) + revision},{deaths}"
    return "\n".join(kept).encode()


def _jhu_version(last_day: date) -> bytes:
    """The real JHU combined file of 2021-03-17 cut after ``last_day`` (its rows are grouped by location)."""
    lines = fixture_bytes("real/jhu-combined-2021-03-17.csv").decode().splitlines(keepends=True)
    return "".join([lines[0]] + [line for line in lines[1:] if line[:10] <= last_day.isoformat()]).encode()


def daily_publications(first_day: date, days: int) -> dict[tuple[str, str], list[Commit]]:
    """Fixtures of our own: one NYT and one JHU commit a day from ``first_day`` (noon and 06:08 UTC),
    each holding the series up to the day before, the NYT one revising its last 3 days."""
    nyt, jhu = [], []
    for k in range(days):
        day = first_day + timedelta(days=k)
        cut = day - timedelta(days=1)
        noon = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
        nyt.append(Commit(f"{k + 1:02d}" + "a" * 38, noon, {NYT_PATH: (lambda c=cut, r=k + 1: _nyt_version(c, r))}))
        morning = noon - timedelta(hours=5, minutes=52)
        jhu.append(Commit(f"{k + 1:02d}" + "b" * 38, morning, {JHU_PATH: (lambda c=cut: _jhu_version(c))}))
    return {NYT_REPO: nyt, JHU_REPO: jhu}


def with_daily_publications(first_day: date, days: int) -> dict[tuple[str, str], Repository]:
    """The real repositories plus :func:`daily_publications`."""
    repositories = real_repositories()
    for key, commits in daily_publications(first_day, days).items():
        repositories[key].commits.extend(commits)
    return repositories


# NYT's state and county files as commits of nytimes/covid-19-data, each writing both files (as NYT's daily
# commits do), under commit ids and times of our own (the real vintages in tests/fixtures/real were copied
# from third parties; the publisher's commits are not known), a day after each one's last date at 01:00 UTC:
# - oldest: the county vintage of 2020-03-28, and the state vintage of 2020-07-19 cut after that day;
# - middle: the newest's rows cut after 2020-03-29, with a past row revised, a past key dropped (the newest
#   has it again) and a past key added (the newest no longer has it);
# - newest: the county vintage of 2020-03-31, and the state vintage of 2021-03-15 cut after that day.
# The real county vintages differ too: 3 past rows revised, a key dropped (2020-03-25, Hancock, West
# Virginia) and one added (2020-03-24, Kansas City, Missouri). No file ends with a newline, as NYT's.
STATES_PATH, COUNTIES_PATH = "us-states.csv", "us-counties.csv"


@dataclass(frozen=True)
class Edits:
    """What a generated publication changes in the rows it is cut from: each line is named by its key's
    prefix (``2020-03-20,New York,`` for a state, ``2020-03-28,Harris,Texas,`` for a county)."""

    revise: tuple[str, int, str]  # (line, field index, new value)
    drop: str  # line
    add: str  # a whole line, placed after its date's lines


def _lines(name: str, last_day: str) -> list[str]:
    lines = fixture_bytes(name).decode().split("\n")
    return [lines[0]] + [line for line in lines[1:] if line and line[:10] <= last_day]


def _edited(lines: list[str], edits: Edits) -> list[str]:
    revised_line, field, value = edits.revise
    rows = []
    for line in lines[1:]:
        if line.startswith(edits.drop):
            continue
        if line.startswith(revised_line):
            fields = line.split(",")
            fields[field] = value
            line = ",".join(fields)
        rows.append(line)
    assert len(rows) == len(lines) - 2, "an edit names no line"
    rows.append(edits.add)
    return [lines[0]] + sorted(rows, key=lambda line: line[:10])  # stable: a date's lines keep their order


MIDDLE_EDITS = {
    STATES_PATH: Edits(("2020-03-20,New York,", 3, "7213"), "2020-03-15,Alabama,", "2020-03-14,Guam,66,1,0"),
    COUNTIES_PATH: Edits(
        ("2020-03-28,Harris,Texas,", 4, "300"), "2020-03-20,Baldwin,Alabama,", "2020-03-14,Unknown,Guam,,1,0"
    ),
}


@dataclass(frozen=True)
class Vintage:
    """One publication of both files: its commit, its time, and each file's lines."""

    name: str
    sha: str
    at: datetime
    files: dict[str, Callable[[], list[str]]]

    def text(self, path: str) -> str:
        return "\n".join(self.files[path]())

    def commit(self) -> Commit:
        return Commit(self.sha, self.at, {path: (lambda path=path: self.text(path).encode()) for path in self.files})

    def only(self, path: str) -> Vintage:
        """The same commit writing only ``path``."""
        return Vintage(self.name, self.sha, self.at, {path: self.files[path]})


def _at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T01:00:00+00:00")


STATE_COUNTY_VINTAGES = (
    Vintage(
        "oldest",
        "e1" * 20,
        _at("2020-03-29"),
        {
            STATES_PATH: lambda: _lines("real/nyt-us-states-2020-07-19.csv", "2020-03-28"),
            COUNTIES_PATH: lambda: _lines("real/nyt-us-counties-2020-03-28.csv", "2020-03-28"),
        },
    ),
    Vintage(
        "middle",
        "e2" * 20,
        _at("2020-03-30"),
        {
            STATES_PATH: lambda: _edited(
                _lines("real/nyt-us-states-2021-03-15.csv", "2020-03-29"), MIDDLE_EDITS[STATES_PATH]
            ),
            COUNTIES_PATH: lambda: _edited(
                _lines("real/nyt-us-counties-2020-03-31.csv", "2020-03-29"), MIDDLE_EDITS[COUNTIES_PATH]
            ),
        },
    ),
    Vintage(
        "newest",
        "e3" * 20,
        _at("2020-04-01"),
        {
            STATES_PATH: lambda: _lines("real/nyt-us-states-2021-03-15.csv", "2020-03-31"),
            COUNTIES_PATH: lambda: _lines("real/nyt-us-counties-2020-03-31.csv", "2020-03-31"),
        },
    ),
)
# A later state file only (the real vintage of 2021-03-15 cut after 2021-03-04): the local stack's own runs
# load it, so that a backfill of an earlier day would find the newest state file above new, were states chosen.
LATER_STATES = Vintage(
    "later",
    "e4" * 20,
    _at("2021-03-05"),
    {STATES_PATH: lambda: _lines("real/nyt-us-states-2021-03-15.csv", "2021-03-04")},
)


def with_state_and_county_publications(repositories: dict[tuple[str, str], Repository], *vintages: Vintage):
    """The repositories with the vintages' commits added to NYT's (STATE_COUNTY_VINTAGES when none given)."""
    repositories[NYT_REPO].commits.extend(vintage.commit() for vintage in vintages or STATE_COUNTY_VINTAGES)
    return repositories
