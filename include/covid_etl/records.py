"""Plain records passed between the pipeline's steps, and through XCom as JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Publication:
    """One version of one file of a dataset, as a run loads it.

    :param dataset: the dataset's name (covid_etl/sources/specs.py).
    :param part: the file's path in its repository; for a URL override, the dataset's whole file.
    :param url: where the run downloads it.
    :param published_at: the commit time; for an unpinned download, the time its run started.
    :param commit: the commit id, or None when unpinned (a URL override: whatever the URL serves).
    :param sha256: the downloaded bytes' sha256, once known.
    """

    dataset: str
    part: str
    url: str
    published_at: datetime
    commit: str | None = None
    sha256: str | None = None

    @property
    def pinned(self) -> bool:
        return self.commit is not None

    def ident(self, run_id: str) -> str:
        """Its name among the file's publications: the commit, or the run that downloaded it."""
        return self.commit or f"run:{run_id}"

    def to_json(self) -> dict:
        return {**asdict(self), "published_at": self.published_at.isoformat()}

    @classmethod
    def from_json(cls, item: dict) -> Publication:
        fields = {name: item.get(name) for name in cls.__dataclass_fields__}
        return cls(**{**fields, "published_at": datetime.fromisoformat(item["published_at"])})


@dataclass
class LoadResult:
    """What loading a dataset's publication (or merging the national series) did to its table.

    :param inserted: keys added to the table.
    :param updated: rows of the table whose values changed.
    :param deleted: keys the publication no longer has, removed from the table.
    :param unchanged: rows the publication gives as the table held them already.
    :param stale: rows of a publication older than one loaded already that differ from the table: they
        are recorded in the history and lose in the table.
    :param rows: the publication's rows.
    :param sent: rows read, checked and sent to the database (the others were unchanged lines).
    :param first_date: the table's first date after the load (the national series).
    :param last_date: the table's last date after the load (the national series).
    :param files: how each file was read, by its path.
    """

    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    stale: int = 0
    rows: int = 0
    sent: int = 0
    first_date: str | None = None
    last_date: str | None = None
    files: dict[str, str] = field(default_factory=dict)

    COUNTS = ("inserted", "updated", "deleted", "unchanged", "stale")

    def add(self, other: LoadResult) -> None:
        for name in (*self.COUNTS, "rows", "sent"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class RunRecord:
    """One row of ``etl_runs``: a run's outcome for one dataset, whatever it was.

    :param run_id: the Airflow run.
    :param dataset: the dataset (or ``national``, the merge).
    :param started_at: when the run started.
    :param status: ``success``, ``failed`` or ``skipped``.
    :param publications: the files it read, as far as it got.
    :param result: what it did, when it loaded.
    :param error: what went wrong, when it failed.
    """

    run_id: str
    dataset: str
    started_at: datetime
    status: str
    publications: tuple[Publication, ...] = ()
    result: LoadResult | None = None
    error: str | None = None

    def to_json(self) -> dict:
        return {
            "run_id": self.run_id,
            "dataset": self.dataset,
            "started_at": self.started_at.isoformat(),
            "status": self.status,
            "publications": [publication.to_json() for publication in self.publications],
            "result": self.result and self.result.to_json(),
            "error": self.error,
        }

    @classmethod
    def from_json(cls, item: dict) -> RunRecord:
        return cls(
            run_id=item["run_id"],
            dataset=item["dataset"],
            started_at=datetime.fromisoformat(item["started_at"]),
            status=item["status"],
            publications=tuple(Publication.from_json(publication) for publication in item["publications"]),
            result=LoadResult(**item["result"]) if item["result"] else None,
            error=item["error"],
        )
