"""`make run`'s line for a task that ended (scripts/task_progress.py): its name, state, duration and the whole
numbers its return value counts."""

from __future__ import annotations

import pytest
from task_progress import task_line


@pytest.mark.parametrize(
    "value, shown",
    [
        pytest.param({"inserted": 3, "updated": 0, "dataset": "states"}, "inserted=3 updated=0", id="counts-in-order"),
        pytest.param({"updated": 1, "bytes": 20, "rows": True}, "bytes=20 updated=1", id="no-booleans"),
        pytest.param({"files": {"rows": 5}}, "", id="top-level-only"),
        pytest.param(["a list"], "", id="not-a-dict"),
        pytest.param(None, "", id="no-return-value"),
    ],
)
def test_a_task_line_shows_the_whole_numbers_its_return_value_counts(value, shown):
    line = task_line("load_states", -1, state="success", duration=1.5, value=value)
    assert line.split() == ["load_states", "success", "1.5", "s", *shown.split()]
