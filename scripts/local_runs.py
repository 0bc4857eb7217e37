"""What a `make run` leaves while it runs: a record of it under .local/runs/, so that the next `make run`
notices a run that was killed (it says so in one line), ends what that run left running (its local SNS
server: moto runs in a session of its own, which a kill of `make run` does not reach) and removes the
files it had staged. A run that ends, however it ends, removes its record and its staging folder."""

from __future__ import annotations

import json
import os
import shutil
import signal
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class LocalRun:
    """One `make run`, as its record says.

    :param pid: the `make run` driver's process.
    :param started_at: when it started (ISO 8601).
    :param logical_date: the day it ran (ISO 8601).
    :param staging: its staging folder.
    :param sns_pid: its moto server's process (and process group), when it started one.
    """

    pid: int
    started_at: str
    logical_date: str
    staging: str
    sns_pid: int | None = None


def _folder(local: Path) -> Path:
    return local / "runs"


def record(local: Path, run: LocalRun) -> None:
    """Write (or rewrite) the run's record."""
    _folder(local).mkdir(parents=True, exist_ok=True)
    (_folder(local) / f"{run.pid}.json").write_text(json.dumps(asdict(run)))


def begin(local: Path, *, logical_date: datetime) -> LocalRun:
    """Record this process's run, with its own staging folder."""
    pid = os.getpid()
    run = LocalRun(
        pid,
        datetime.now(UTC).isoformat(timespec="seconds"),
        logical_date.isoformat(),
        str(local / "staging" / str(pid)),
    )
    record(local, run)
    return run


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def unfinished(local: Path) -> list[LocalRun]:
    """The runs whose record is still there while their process is gone: killed before they ended."""
    found = []
    for path in sorted(_folder(local).glob("*.json")):
        try:
            run = LocalRun(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            path.unlink(missing_ok=True)  # a record cut short by the kill itself
            continue
        if not _alive(run.pid):
            found.append(run)
    return found


def end(local: Path, run: LocalRun) -> None:
    """Remove what the run left: its moto server if it is still up, its staged files, its record."""
    if run.sns_pid is not None and _alive(run.sns_pid):
        try:
            os.killpg(run.sns_pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    shutil.rmtree(run.staging, ignore_errors=True)
    (_folder(local) / f"{run.pid}.json").unlink(missing_ok=True)
