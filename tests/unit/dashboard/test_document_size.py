"""The dashboard's document stays under a megabyte whatever the history's length (docs/adr/0006): every part
at its cap, built by the pipeline's own build_payload from rows shaped as its SQL gives them."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from covid_etl.publish.dashboard import MAX_HISTORY_ENTRIES, MAX_REVISIONS, build_payload
from covid_etl.publish.population import populations

FIRST, DAYS = date(2020, 1, 21), 1158  # NYT's whole national series, 2020-01-21 .. 2023-03-23


def commit(number: int) -> str:
    return f"{number:040x}"  # as long as GitHub's


def at(number: int) -> datetime:
    return datetime(2020, 3, 1, 6, 8, tzinfo=UTC) + timedelta(days=number)


def national_history() -> tuple[list, list]:
    """A publication a day for three years (1,100 NYT and 800 JHU), each revising its last 30 days."""
    publications, history = [], []
    for source, count in (("NYT", 1100), ("JHU", 800)):
        for number in range(count):
            publications.append([source, commit(number), commit(number), at(number)])
            last = min(DAYS, 40 + number)
            for day in range(0 if number == 0 else max(0, last - 30), last):
                history.append([source, commit(number), FIRST + timedelta(days=day), 10**7 + number, 10**6, 10**6])
    return publications, history


def revisions(key: list, total: int) -> dict:
    rows = [
        [
            *key[: len(key) - 1],
            f"{key[-1]} {n % 500}",
            at(n % 300).isoformat(),
            commit(n % 300),
            10**6 + n,
            10**6 + n + 1,
            10**4,
            10**4 + 1,
        ]
        for n in range(MAX_REVISIONS)
    ]
    return {"total": total, "rows": [["2022-01-01", *row] for row in rows]}


def test_every_part_at_its_cap_keeps_the_document_under_a_megabyte():
    by_state, by_county = populations()
    publications, history = national_history()
    assert len(history) > 4 * MAX_HISTORY_ENTRIES  # thinned, twice over
    days = [[FIRST + timedelta(days=d), 10**8 + d, 10**6 + d, None] for d in range(DAYS)]
    runs = [
        {"run_id": f"scheduled__2023-03-{d:02d}T00:00:00+00:00", "status": "failed", "error": "e" * 600}
        for d in range(10)
    ]
    states = [
        [date(2023, 3, 23) - timedelta(days=7 * week), state, "00", 12345.67]
        for week in range(166)
        for state in sorted(by_state)
    ]
    counties = [[state, county, "00000", 10**6, 10**4, 123.45] for state, county in sorted(by_county)]

    payload = build_payload(
        days=days,
        runs=runs,
        last_success_at=None,
        run_id="scheduled__2023-03-23T00:00:00+00:00",
        publications=publications,
        history=history,
        states=states,
        counties=counties,
        revisions={"states": revisions(["state"], 5000), "counties": revisions(["state", "county"], 90_000)},
    )

    size = len(json.dumps(payload))
    changes = sum(len(payload["history"][source]["changes"]) for source in ("NYT", "JHU"))
    assert changes <= MAX_HISTORY_ENTRIES and payload["history"]["thinned_to_every"] >= 4
    assert [len(payload["revisions"][name]["rows"]) for name in ("states", "counties")] == [MAX_REVISIONS] * 2
    assert size < 1_000_000, {name: len(json.dumps(part)) for name, part in payload.items()}
