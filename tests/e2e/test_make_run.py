"""`make run`'s driver (scripts/run_pipeline.py) against a given database and locally served files: a line as
each task ends, the run's SNS message as an `SNS:` line, the summary as the closing JSON line, the exit
status."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg

from covid_etl.sources.specs import COUNTIES, STATES
from loads import expected_rows
from oracle import independent_merge, stored_table
from support import ROOT, fixture_text


def messages(lines: list[str]) -> list[dict]:
    return [json.loads(line.removeprefix("SNS: ")) for line in lines if line.startswith("SNS: ")]


def test_exits_non_zero_on_a_malformed_file_and_writes_nothing(make_run, db_url):
    code, lines = make_run("nyt/html-error-page.csv")
    summary = json.loads(lines[-1])
    assert code == 1 and summary["status"] == "failed"
    assert summary["error"].startswith("nyt.load: NYT http://127.0.0.1:") and "not the expected CSV" in summary["error"]
    [message] = messages(lines)
    assert message["subject"].startswith("covid_etl failed in nyt.load: NYT http://127.0.0.1:")
    with psycopg.connect(db_url) as conn:
        assert conn.execute(
            "SELECT (SELECT count(*) FROM covid_us_daily), (SELECT count(*) FROM nyt_us_daily)"
        ).fetchone() == (0, 0)


def test_a_later_day_then_an_earlier_one_keeps_the_later_publications_and_reports_the_stale_days(
    make_run, db_url, real_github
):
    real_github.clear()
    later = independent_merge("real/nyt-us-2023-01-24.csv", "real/jhu-combined-2021-03-17.csv")
    earlier = independent_merge("real/nyt-us-2020-08-13.csv", "real/jhu-combined-2020-12-14.csv")

    code, lines = make_run(None, None, COVID_ETL_LOGICAL_DATE="2023-02-01", **real_github.environment())
    first = json.loads(lines[-1])
    assert code == 0 and (first["status"], first["inserted"], first["stale"]) == ("success", len(later), 0), lines
    assert first["nyt_commit"] == "8fe52ad7c803df0f03d71a97571b608d53529713"

    code, lines = make_run(None, None, COVID_ETL_LOGICAL_DATE="2020-12-20", **real_github.environment())
    second = json.loads(lines[-1])
    stale = sum(1 for day, values in earlier.items() if later[day] != values)
    assert code == 0 and second["jhu_commit"] == "2d989d956ea5fd7c5c43537bb9fc17912c18e02d"
    # The merge counts the whole series: every stored day unchanged (merge_national.sql).
    assert (second["inserted"], second["updated"], second["stale"], second["unchanged"]) == (0, 0, stale, len(later))
    assert stale > 0 and stored_table(db_url) == later
    with psycopg.connect(db_url) as conn:
        between = conn.execute(
            "SELECT date::text, cases, deaths, recovered FROM covid_us_daily_as_of('2021-01-01T00:00:00Z')"
        ).fetchall()
    assert {day: (cases, deaths, recovered) for day, cases, deaths, recovered in between} == earlier


def test_two_runs_at_once_on_the_real_current_files_each_report_their_own_run_and_one_loads_them(make_run, db_url):
    nyt, jhu = "real/nyt-us-2023-01-24.csv", "real/jhu-combined-2021-03-17.csv"
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(lambda _: make_run(nyt, jhu), range(2)))
    summaries = [json.loads(lines[-1]) for _, lines in outcomes]
    assert [code for code, _ in outcomes] == [0, 0], summaries
    assert summaries[0]["run_id"] != summaries[1]["run_id"]
    # The loads take the table's lock in turn: whichever came first inserted every day, the other changed none.
    expected = independent_merge(nyt, jhu)
    assert sorted((s["inserted"], s["updated"], s["unchanged"]) for s in summaries) == [
        (0, 0, len(expected)),
        (len(expected), 0, 0),
    ]
    with psycopg.connect(db_url) as conn:
        recorded = conn.execute("SELECT run_id, rows_inserted FROM etl_runs WHERE dataset = 'national'").fetchall()
    assert sorted(recorded) == sorted((s["run_id"], s["inserted"]) for s in summaries)
    assert stored_table(db_url) == expected  # the current layout (no Lat, Long), exactly


def test_prints_the_national_fields_at_the_top_and_each_dataset_under_its_name(make_run, http_server):
    code, lines = make_run(
        "real/nyt-us-2020-08-13.csv",
        "real/jhu-combined-2020-12-14.csv",
        COVID_ETL_DATASETS="national,states,counties",
        COVID_ETL_STATES_URL=http_server.url("files/states/us-states.csv"),
        COVID_ETL_COUNTIES_URL=http_server.url("files/counties/us-counties.csv"),
    )
    summary = json.loads(lines[-1])
    assert code == 0, lines
    assert (summary["status"], summary["national_status"], summary["inserted"], summary["deleted"]) == (
        "success",
        "success",
        205,
        0,
    )
    for dataset, name in ((STATES, "states/us-states.csv"), (COUNTIES, "counties/us-counties.csv")):
        rows = len(expected_rows(dataset, fixture_text(name)))
        assert summary[dataset.name] == {
            "status": "success",
            "inserted": rows,
            "updated": 0,
            "deleted": 0,
            "unchanged": 0,
            "stale": 0,
            "rows": rows,
        }


# scripts/task_progress.py's line: task, state, duration (none for a task that never ran), counts.
TASK_LINE = re.compile(
    r"  ([\w.]+) +(success|failed|skipped|upstream_failed|up_for_retry|removed)(?: +([\d.]+) s)?(?:  (.+))?"
)


def test_prints_a_line_as_each_task_ends_then_the_runs_one_message_and_its_summary_as_the_closing_json_line(
    make_run_env,
):
    # One run shows both (each `make run` costs ~20 CPU-seconds of `make test`). What a later version
    # updates is read from the same summary in test_national_runs.py (dag.test()).
    from airflow.dag_processing.dagbag import DagBag

    env = make_run_env("real/nyt-us-2022-04-19.csv")
    # jhu.fetch waits 8 s for its file: the lines of the tasks before it must not wait for the run's end.
    env["COVID_ETL_JHU_URL"] = env["COVID_ETL_JHU_URL"].replace("/files/", "/slow/8/")
    run = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "run_pipeline.py")], env=env, stdout=subprocess.PIPE, text=True
    )
    arrived = [(time.monotonic(), line.rstrip("\n")) for line in run.stdout]
    assert run.wait() == 0, arrived
    ended = [(at, match) for at, line in arrived if (match := TASK_LINE.fullmatch(line))]
    line = {match[1]: match for _, match in ended}
    at = {match[1]: when for when, match in ended}

    dag = DagBag(dag_folder=str(ROOT / "dags")).dags["covid_etl"]
    assert sorted(match[1] for _, match in ended) == sorted(dag.task_ids)  # one line for each task
    merged = "rows=609 inserted=609 updated=0 unchanged=0 stale=0 deleted=0"
    assert line["national.merge"].group(2, 4) == ("success", merged)
    assert line["states.fetch"].group(2, 3, 4) == ("skipped", None, None)  # a national-only run
    assert line["jhu.fetch"][2] == "success" and float(line["jhu.fetch"][3]) >= 8
    assert at["jhu.fetch"] - at["jhu.resolve"] > 5

    lines = [text for _, text in arrived]
    summary = json.loads(lines[-1])
    assert (summary["status"], summary["inserted"], summary["updated"], summary["unchanged"]) == ("success", 609, 0, 0)
    assert summary["run_id"].startswith("manual__") and summary["error"] is None
    [message] = messages(lines)
    assert message["subject"] == "covid_etl succeeded: national 609 inserted"
    assert f"covid_etl run {summary['run_id']} succeeded in " in message["message"]
