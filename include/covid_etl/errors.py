"""Errors the pipeline raises on purpose.

:class:`RejectedInputError` and its subclasses mean that no retry can help (a malformed file, a
missing page): the run aborts at once and nothing is written. Anything else may be transient.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager


class RejectedInputError(ValueError):
    """Input that no retry can fix."""


# At most this many characters of the offending value are shown in the message: a value may be a
# whole line of megabytes, and the message goes to XCom and to SNS (whose messages stop at 256 KB).
SHOWN_VALUE = 200


class InvalidSourceError(RejectedInputError):
    """A source file breaks a rule; the message names the source, the file, the line and the value.

    :param source: the source's label, ``NYT`` or ``JHU``.
    :param location: where the file came from (its URL or path).
    :param line: the 1-based line in the file, or None when the problem concerns the whole file.
    :param problem: what is wrong, in words.
    :param value: the offending value, when there is one (the message shows its first SHOWN_VALUE characters).
    """

    def __init__(self, *, source: str, location: str, line: int | None, problem: str, value: str | None = None) -> None:
        self.source = source
        self.location = location
        self.line = line
        self.problem = problem
        self.value = value
        where = f"{source} {location}" + (f", line {line}" if line is not None else "")
        shown = "" if value is None else f": {value[:SHOWN_VALUE]!r}"
        if value is not None and len(value) > SHOWN_VALUE:
            shown += f"… ({len(value)} characters)"
        super().__init__(f"{where}: {problem}{shown}")


class Blame:
    """Builds the :class:`InvalidSourceError` for a line of one file (a value given as bytes is decoded).

    :param source: the source's label.
    :param location: where the file came from (its URL or path).
    """

    def __init__(self, source: str, location: str) -> None:
        self.source, self.location = source, location

    def __call__(self, line: int | None, problem: str, value: bytes | str | None = None) -> InvalidSourceError:
        if isinstance(value, bytes):
            value = value.decode("utf-8", errors="replace")
        return InvalidSourceError(source=self.source, location=self.location, line=line, problem=problem, value=value)


class EmptyMergeError(RejectedInputError):
    """The two sources share no date, so there is nothing to load."""


class DownloadRejectedError(RejectedInputError):
    """The server refused the file (a 4xx status) or it exceeds the size cap."""


class IncompleteDownloadError(IOError):
    """The body ended before the length the server announced: a network fault, worth a retry."""


class RateLimitedError(IOError):
    """The server (GitHub) asks to come back later than we are willing to wait: worth a retry then."""


@contextmanager
def fail_fast() -> Iterator[None]:
    """Re-raise a :class:`RejectedInputError` as Airflow's AirflowFailException, which skips retries."""
    try:
        yield
    except RejectedInputError as exc:
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(str(exc)) from exc


class StagingError(OSError):
    """Writing to the staging store failed (the local disk or S3, not the source): names where and why.

    :param path: the file being written.
    :param cause: the error the store raised.
    """

    def __init__(self, path, cause: OSError) -> None:
        why = "the disk is full" if cause.errno == errno.ENOSPC else (cause.strerror or str(cause))
        super().__init__(cause.errno, f"staging store {path}: {why} ({cause.strerror or cause})")
        self.path = str(path)

    def __str__(self) -> str:
        return self.args[1]


class DatabaseUnreachableError(IOError):
    """The pipeline's database did not accept a connection: a transient fault, named by its connection id."""
