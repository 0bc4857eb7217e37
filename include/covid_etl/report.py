"""A run's summary: what report_run returns (and `make run` prints), from what its tasks left behind."""

from __future__ import annotations

from collections.abc import Mapping

from covid_etl.datasets import CROSS_CHECKS, dataset_of_task

FAILED_STATES = frozenset({"failed", "upstream_failed"})
COUNTS = ("inserted", "updated", "unchanged", "stale")


def failed_tasks(states: Mapping[str, str | None], *, ignore: set[str]) -> list[str]:
    """The tasks (but those in ``ignore``) that ended failed or upstream_failed, sorted."""
    return sorted(task for task, state in states.items() if state in FAILED_STATES and task not in ignore)


def _reasons(failed: list[str], errors: Mapping[str, str | None]) -> str:
    reasons = [f"{task}: {errors[task]}" for task in failed if errors.get(task)]
    return "; ".join(reasons) or f"failed: {', '.join(failed)}"


def dataset_summary(
    name: str,
    *,
    failed: list[str],
    errors: Mapping[str, str | None],
    skipped: dict | None,
    loaded: dict | None,
    states: Mapping[str, str | None] = {},  # noqa: B006 - read only
) -> dict:
    """One generic dataset's outcome: loaded (its counts), skipped (why), or failed (the error)."""
    # A cross-check that fails on its own counts against the dataset it checks; one that did not run
    # because a load upstream failed (upstream_failed) counts against that load only.
    mine = [
        task
        for task in failed
        if dataset_of_task(task) == name and (task not in CROSS_CHECKS or states.get(task) == "failed")
    ]
    if mine:
        return {"status": "failed", "failed_tasks": mine, "error": _reasons(mine, errors)}
    if skipped:
        return {"status": "skipped", "reason": skipped["reason"]}
    if loaded:
        return {"status": "success", **{key: loaded[key] for key in (*COUNTS, "rows")}}
    return {"status": "skipped", "reason": "did not run"}


def summarize(
    *,
    run_id: str,
    states: Mapping[str, str | None],
    errors: Mapping[str, str | None],
    publications: Mapping[str, dict] | None,
    skipped: dict | None,
    loaded: dict | None,
    datasets: Mapping[str, dict] = {},  # noqa: B006 - read only
    comparison: dict | None = None,
    reporter: str,
) -> dict:
    """The run's outcome as one JSON object: the national series' fields at the top, each other dataset
    under its own key.

    :param run_id: the run.
    :param states: each task's final state.
    :param errors: the error each failed task recorded (by task id; None where it recorded none).
    :param publications: what resolve_sources pinned, by source (None if it did not get that far).
    :param skipped: resolve_sources' note when it skipped the national series (and why).
    :param loaded: upsert_days' counts and dates, when it ran.
    :param datasets: per other dataset, its ``skipped`` and ``loaded`` (as for the national series).
    :param comparison: compare_states_with_nation's findings, when it ran.
    :param reporter: the summarizing task, left out of the failures.
    """
    failed = failed_tasks(states, ignore={reporter})
    publications = publications or (skipped or {}).get("publications") or {}
    summary: dict = {
        "status": "success",
        **dict.fromkeys(COUNTS, 0),
        "run_id": run_id,
        "first_date": None,
        "last_date": None,
    }
    for source, publication in sorted(publications.items()):
        prefix = source.lower()
        summary |= {
            f"{prefix}_url": publication.get("url"),
            f"{prefix}_commit": publication.get("commit"),
            f"{prefix}_published_at": publication.get("published_at"),
        }
    others = {
        name: dataset_summary(
            name, failed=failed, errors=errors, skipped=item.get("skipped"), loaded=item.get("loaded"), states=states
        )
        for name, item in datasets.items()
    }
    national_failed = [
        task for task in failed if not any(task in other.get("failed_tasks", ()) for other in others.values())
    ]
    if national_failed:
        summary |= {"national_status": "failed", "error": _reasons(national_failed, errors)}
    elif skipped:
        summary |= {"national_status": "skipped", "reason": skipped["reason"]}
        if "since" in skipped:
            summary["no_new_publication_since"] = skipped["since"]
    elif loaded:
        summary |= {"national_status": "success", **{key: loaded[key] for key in COUNTS}}
        summary |= {"first_date": loaded["first_date"], "last_date": loaded["last_date"]}
    else:
        summary["national_status"] = "skipped"
    statuses = [summary["national_status"], *(other["status"] for other in others.values())]
    if failed:
        summary |= {"status": "failed", "failed_tasks": failed}
        summary.setdefault("error", _reasons(failed, errors))
    elif all(status == "skipped" for status in statuses):
        summary["status"] = "skipped"
    summary |= others
    if comparison is not None:
        summary["states_vs_nation"] = comparison
    summary.setdefault("error", None)
    return summary
