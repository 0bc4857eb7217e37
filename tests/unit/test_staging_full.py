"""A full staging disk is named as such: the store's path and "the disk is full", not the source.

The staged file is a link to /dev/full, whose writes fail with ENOSPC as a full disk's do.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from covid_etl.errors import StagingError
from covid_etl.tasks.steps import stage, staged_path


def test_a_download_onto_a_full_staging_disk_names_the_staged_path_and_says_the_disk_is_full(tmp_path, http_server):
    staging = tmp_path.as_uri()
    item = {"dataset": "nyt", "part": "us.csv", "url": http_server.url("files/real/nyt-us-2020-08-13.csv")}
    target = Path(staged_path(staging, "manual__1", "nyt-us.csv").path)
    target.parent.mkdir(parents=True)
    os.symlink("/dev/full", target)

    with pytest.raises(StagingError) as failure:
        stage(item, staging=staging, run_id="manual__1")

    assert str(failure.value).startswith(f"staging store {target.as_uri()}: the disk is full (")
    assert "NYT" not in str(failure.value)  # the source did nothing wrong
    assert not target.is_symlink() and not target.exists()  # the partial file is removed
