"""A run's summary: what report_run returns (and `make run` prints), from what its tasks left behind.

The national series' fields stay at the top (its place in the closing JSON line since the first version);
states and counties are under their names. The run's ``error`` names the first task that failed, in the
DAG's order, and its error: later failures (often consequences) are listed after it in ``failed_tasks``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from covid_etl.sources.specs import CHOICES, DATASETS, NATIONAL

FAILED_STATES = frozenset({"failed", "upstream_failed"})
COUNTS = ("inserted", "updated", "deleted", "unchanged", "stale")
# Tasks that belong to no dataset: they run whatever happened before them.
RUN_TASKS = ("compare_states_with_nation", "publish_dashboard", "report_run")
# A cross-check and the dataset it checks.
CROSS_CHECKS = {"compare_states_with_nation": "states"}


def choice_of_task(task_id: str) -> str | None:
    """The dataset choice (national, states, counties) a task belongs to, or None (the run's own tasks)."""
    if task_id in CROSS_CHECKS:
        return CROSS_CHECKS[task_id]
    group = task_id.split(".", 1)[0]
    if group == NATIONAL.name:
        return NATIONAL.name
    return DATASETS[group].choice if group in DATASETS else None


def failed_tasks(states: Mapping[str, str | None], order: Sequence[str], *, ignore: set[str]) -> list[str]:
    """The tasks that failed (failed, or upstream_failed), in the DAG's order."""
    return [task for task in order if states.get(task) in FAILED_STATES and task not in ignore]


def _error(failed: list[str], errors: Mapping[str, str | None]) -> str:
    """The first failure with its error: tasks that failed because of it recorded none of their own."""
    first = next((task for task in failed if errors.get(task)), failed[0])
    return f"{first}: {errors[first]}" if errors.get(first) else f"{first} failed"


def choice_summary(
    choice: str,
    *,
    chosen: bool,
    failed: list[str],
    errors: Mapping[str, str | None],
    skipped: Sequence[dict | None],
    loaded: dict | None,
) -> dict:
    """One dataset choice's outcome: failed (the first error), skipped (why), or loaded (its counts).

    :param choice: national, states or counties.
    :param chosen: whether the run was asked to load it.
    :param failed: its tasks that failed, in the DAG's order (a cross-check that did not run because a
        load failed is the load's, not the cross-check's).
    :param errors: each failed task's error.
    :param skipped: its resolve tasks' notes, when they skipped the load.
    :param loaded: its table's counts (the merge's, for the national series).
    """
    if not chosen:
        return {"status": "skipped", "reason": "not chosen for this run"}
    if failed:
        return {"status": "failed", "failed_tasks": failed, "error": _error(failed, errors)}
    if loaded:
        return {"status": "success", **{key: loaded.get(key, 0) for key in (*COUNTS, "rows")}}
    notes = [note for note in skipped if note]
    since = max((note["since"] for note in notes if "since" in note), default=None)
    if since and len(notes) == len(skipped):
        return {"status": "skipped", "reason": f"no new publication since {since}", "since": since}
    return {"status": "skipped", "reason": "did not run"}


def summarize(
    *,
    run_id: str,
    states: Mapping[str, str | None],
    order: Sequence[str],
    errors: Mapping[str, str | None],
    chosen: Sequence[str],
    resolved: Mapping[str, dict | None],
    skipped: Mapping[str, dict | None],
    loaded: Mapping[str, dict | None],
    comparison: dict | None = None,
    reporter: str,
) -> dict:
    """The run's outcome as one JSON object.

    :param run_id: the run.
    :param states: each task's final state.
    :param order: the DAG's tasks in order.
    :param errors: the error each failed task recorded (by task id; None where it recorded none).
    :param chosen: the dataset choices the run was asked to load.
    :param resolved: per dataset, what its resolve task pinned (None when it skipped or failed).
    :param skipped: per dataset, its resolve task's note when it skipped.
    :param loaded: per dataset (and ``national``, the merge), the counts of its load.
    :param comparison: compare_states_with_nation's findings, when it ran.
    :param reporter: the summarizing task, left out of the failures.
    """
    failed = failed_tasks(states, order, ignore={reporter})
    outcomes = _outcomes(states, failed, errors=errors, chosen=chosen, skipped=skipped, loaded=loaded)
    national = outcomes.pop(NATIONAL.name)
    summary: dict = {"status": "success", "run_id": run_id, **_national_fields(national, resolved, skipped, loaded)}
    if failed:
        summary |= {"status": "failed", "error": _error(failed, errors), "failed_tasks": failed}
    elif all(outcome["status"] == "skipped" for outcome in (national, *outcomes.values())):
        summary["status"] = "skipped"
    summary |= outcomes
    if comparison is not None:
        summary["states_vs_nation"] = comparison
    summary.setdefault("error", None)
    return summary


def _outcomes(
    states: Mapping[str, str | None],
    failed: list[str],
    *,
    errors: Mapping[str, str | None],
    chosen: Sequence[str],
    skipped: Mapping[str, dict | None],
    loaded: Mapping[str, dict | None],
) -> dict[str, dict]:
    """Each dataset choice's summary (choice_summary), by choice."""
    # A cross-check that did not run because a load upstream failed counts against that load only.
    own = [task for task in failed if task not in CROSS_CHECKS or states.get(task) == "failed"]
    outcomes = {}
    for choice in CHOICES:
        datasets = [name for name, dataset in DATASETS.items() if dataset.choice == choice]
        outcomes[choice] = choice_summary(
            choice,
            chosen=choice in chosen,
            failed=[task for task in own if choice_of_task(task) == choice],
            errors=errors,
            skipped=[skipped.get(name) for name in datasets],
            loaded=loaded.get(NATIONAL.name if choice == NATIONAL.name else datasets[0]),
        )
    return outcomes


def _national_fields(
    national: dict,
    resolved: Mapping[str, dict | None],
    skipped: Mapping[str, dict | None],
    loaded: Mapping[str, dict | None],
) -> dict:
    """The national series' fields at the top of the summary: its counts, dates, status and sources."""
    fields: dict = dict.fromkeys(COUNTS, 0) | {"first_date": None, "last_date": None}
    fields["national_status"] = national["status"]
    for name in NATIONAL.sources:
        item = resolved.get(name) or ((skipped.get(name) or {}).get("publications") or [None])[0] or {}
        fields |= {f"{name}_{field}": item.get(field) for field in ("url", "commit", "published_at")}
    if national["status"] == "success":
        merge = loaded[NATIONAL.name]
        fields |= {key: merge[key] for key in (*COUNTS, "first_date", "last_date")}
    elif national["status"] == "failed":
        fields["national_error"] = national["error"]
    elif national["status"] == "skipped":
        fields["reason"] = national["reason"]
        if "since" in national:
            fields["no_new_publication_since"] = national["since"]
    return fields
