"""A run's summary: what report_run returns (and `make run` prints), from what its tasks left behind."""

from __future__ import annotations

from collections.abc import Mapping

FAILED_STATES = frozenset({"failed", "upstream_failed"})


def failed_tasks(states: Mapping[str, str | None], *, ignore: set[str]) -> list[str]:
    """The tasks (but those in ``ignore``) that ended failed or upstream_failed, sorted."""
    return sorted(task for task, state in states.items() if state in FAILED_STATES and task not in ignore)


def summarize(
    *,
    run_id: str,
    states: Mapping[str, str | None],
    errors: Mapping[str, str | None],
    publications: Mapping[str, dict] | None,
    skipped: dict | None,
    loaded: dict | None,
    reporter: str,
) -> dict:
    """The run's outcome as one JSON object.

    :param run_id: the run.
    :param states: each task's final state.
    :param errors: the error each failed task recorded (by task id; None where it recorded none).
    :param publications: what resolve_sources pinned, by source (None if it did not get that far).
    :param skipped: resolve_sources' note when every publication had been loaded already.
    :param loaded: upsert_days' counts and dates, when it ran.
    :param reporter: the summarizing task, left out of the failures.
    """
    failed = failed_tasks(states, ignore={reporter})
    publications = publications or (skipped or {}).get("publications") or {}
    summary: dict = {
        "status": "success",
        "inserted": 0,
        "updated": 0,
        "unchanged": 0,
        "stale": 0,
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
    if failed:
        reasons = [f"{task}: {errors[task]}" for task in failed if errors.get(task)]
        summary |= {
            "status": "failed",
            "failed_tasks": failed,
            "error": "; ".join(reasons) or f"failed: {', '.join(failed)}",
        }
    elif skipped:
        summary |= {"status": "skipped", "no_new_publication_since": skipped["since"]}
    elif loaded:
        summary |= {key: loaded[key] for key in ("inserted", "updated", "unchanged", "stale")}
        summary |= {"first_date": loaded["first_date"], "last_date": loaded["last_date"]}
    summary.setdefault("error", None)
    return summary
