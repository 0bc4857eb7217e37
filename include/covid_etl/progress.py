"""Progress lines for the long steps of a run (a county file's download, its load), written to the task
log, which the Airflow UI shows while the task runs.

No framework: a logger and a clock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

# How often a long step says how far it has come.
PROGRESS_SECONDS = 10.0


class Progress:
    """Logs how many bytes a step has done, at most once every ``every`` seconds.

    :param log: the logger to write to.
    :param what: what the step does, as the line starts (``NYT counties: downloaded``).
    :param total: the bytes the step will do, when known.
    :param every: seconds between two lines (PROGRESS_SECONDS when not given).
    :param clock: the clock, in seconds (monotonic).
    """

    def __init__(
        self,
        log: logging.Logger,
        what: str,
        *,
        total: int | None = None,
        every: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log, self._what, self._total, self._clock = log, what, total, clock
        self._every = PROGRESS_SECONDS if every is None else every
        self._began = self._last = clock()

    def update(self, done: int) -> None:
        """Note that ``done`` bytes are done; log a line when the last one is ``every`` seconds old."""
        now = self._clock()
        if now - self._last < self._every:
            return
        self._last = now
        elapsed = now - self._began
        of_total = f" of {self._total / 1e6:.0f} MB" if self._total else ""
        rate = done / 1e6 / elapsed if elapsed > 0 else 0.0
        self._log.info("%s %.0f MB%s in %.0f s (%.1f MB/s)", self._what, done / 1e6, of_total, elapsed, rate)
