"""The benchmark's generator of NYT-shaped county files (benchmarks/generate_counties.py): the layout, the
publications it derives from the base (republished, 1% revised, the next day's, a backfill's), and the
digests it records as it writes, which the benchmark verifies tables against. No database."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from datetime import date, datetime, timedelta

import pytest

from bench_support import BENCHMARKS, EXCEPTIONS_WITHOUT_FIPS, common, generator, read_rows, short_county_list

SMALL_ROWS = 5000  # two days of the 3,273 counties: 6,546 rows
TEN_DAYS = 30_000  # nine days: 29 next-day revisions, more than one a day


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """The four files for ~5,000 rows, and their manifest."""
    folder = tmp_path_factory.mktemp("counties")
    return folder, generator.generate(SMALL_ROWS, 7, folder)


@pytest.fixture(scope="module")
def days(tmp_path_factory):
    """The four files for nine days of every county."""
    folder = tmp_path_factory.mktemp("days")
    return folder, generator.generate(TEN_DAYS, 3, folder)


@pytest.fixture(scope="module")
def backfill(tmp_path_factory):
    """A base of 45 days of a short county list, its files, and four daily publications after it."""
    folder = tmp_path_factory.mktemp("backfill")
    counties = short_county_list(folder)
    manifest = generator.generate(3000, 5, folder, counties_csv=counties)
    out = generator.backfill_folder(folder, 4)
    return folder, manifest, out, generator.generate_backfill(3000, 5, out, 4, counties_csv=counties)


def keyed(path) -> dict[tuple[str, str, str], list[str]]:
    return {(row[0], row[2], row[1]): row for row in read_rows(path)}


def test_counties_table_has_nyts_areas_without_fips_and_no_new_york_boroughs():
    counties = generator.read_counties()
    by_place = {(c.state, c.county): c.fips for c in counties}
    assert 3200 <= len(counties) <= 3300 and len(by_place) == len(counties)
    assert all(by_place[place] == "" for place in EXCEPTIONS_WITHOUT_FIPS)
    assert by_place[("Alabama", "Unknown")] == "" and ("District of Columbia", "Unknown") not in by_place
    assert not {"36005", "36047", "36061", "36081", "36085"} & set(by_place.values())
    assert by_place[("California", "Orange")] == "06059"
    assert all(
        re.fullmatch(r"\d{5}", fips)
        for (state, county), fips in by_place.items()
        if county != "Unknown" and (state, county) not in EXCEPTIONS_WITHOUT_FIPS
    )


def test_generated_file_is_in_nyts_county_layout(small):
    folder, manifest = small
    text = (folder / "base.csv").read_text(encoding="utf-8")
    assert text.startswith("date,county,state,fips,cases,deaths\n") and text.endswith("\n")
    rows = read_rows(folder / "base.csv")
    assert len(rows) == manifest.rows == manifest.days * manifest.counties
    assert rows == sorted(rows, key=lambda row: (row[0], row[2], row[1]))  # date, then state, then county
    days = sorted({row[0] for row in rows})
    assert days == [(date(2020, 1, 21) + timedelta(n)).isoformat() for n in range(manifest.days)]
    places_by_day = [{(row[2], row[1]) for row in rows if row[0] == day} for day in days]
    assert (
        all(len(places) == manifest.counties for places in places_by_day)
        and len(set(map(frozenset, places_by_day))) == 1
    )
    for _, county, state, fips, cases, deaths in rows:
        assert re.fullmatch(r"\d{5}", fips) or (
            fips == "" and (county == "Unknown" or (state, county) in EXCEPTIONS_WITHOUT_FIPS)
        )
        assert int(cases) >= int(deaths) >= 0


def test_row_count_is_the_whole_number_of_days_nearest_to_the_rows_asked(tmp_path):
    manifest = generator.generate(10_000, 1, tmp_path, derived=False)
    assert (manifest.days, manifest.rows) == (3, 3 * manifest.counties)
    assert generator.days_for(2_500_000, 3273) == 764 and generator.days_for(10, 3273) == 1
    assert sorted(p.name for p in tmp_path.glob("*.csv")) == ["base.csv"]


def test_same_seed_writes_the_same_bytes_and_another_seed_other_counts(small, tmp_path):
    folder, _ = small
    generator.generate(SMALL_ROWS, 7, tmp_path / "same")
    generator.generate(SMALL_ROWS, 8, tmp_path / "other")
    for name in ("base.csv", "revised.csv", "next_day.csv"):
        assert (tmp_path / "same" / name).read_bytes() == (folder / name).read_bytes()
        assert (tmp_path / "other" / name).read_bytes() != (folder / name).read_bytes()


def test_cumulative_counts_mostly_rise_from_day_to_day(tmp_path):
    generator.generate(30 * 3273, 3, tmp_path, derived=False)
    previous, steps, falls = {}, 0, 0
    for _, county, state, _, cases, _ in read_rows(tmp_path / "base.csv"):
        if (state, county) in previous:
            steps, falls = steps + 1, falls + (int(cases) < previous[(state, county)])
        previous[(state, county)] = int(cases)
    assert 0 < falls < steps * 0.01
    assert sum(previous.values()) > 0


def test_republished_file_is_the_base_byte_for_byte(small):
    folder, manifest = small
    assert manifest.files["republished"] == "republished.csv"
    assert (folder / "republished.csv").read_bytes() == (folder / "base.csv").read_bytes()


def test_revised_file_changes_one_percent_of_past_rows_and_adds_one_day_of_every_county(small):
    folder, manifest = small
    base, revised = read_rows(folder / "base.csv"), read_rows(folder / "revised.csv")
    past, new = revised[: len(base)], revised[len(base) :]
    changed = [(old, now) for old, now in zip(base, past, strict=True) if old != now]
    assert len(changed) == manifest.revised_rows == round(len(base) / 100)
    assert all(old[:4] == now[:4] and old[4] != now[4] for old, now in changed)  # cases change, keys do not
    assert any(old[5] != now[5] for old, now in changed)  # and some deaths
    assert len(new) == manifest.new_rows == manifest.counties
    assert {row[0] for row in new} == {(date.fromisoformat(manifest.last_date) + timedelta(1)).isoformat()}
    assert [row[1:4] for row in new] == [row[1:4] for row in base[: manifest.counties]]
    assert all(int(row[4]) >= int(row[5]) >= 0 for row in revised)


def test_next_day_file_revises_a_thousandth_of_past_rows_on_every_day_drops_five_keys_and_adds_a_day(days):
    folder, manifest = days
    base, next_day = keyed(folder / "base.csv"), keyed(folder / "next_day.csv")
    gone = [tuple(key) for key in manifest.next_day_deleted]
    assert len(gone) == len(set(gone)) == 5 and all(key in base and key not in next_day for key in gone)
    revised = [key for key, row in base.items() if key in next_day and next_day[key] != row]
    assert len(revised) == manifest.next_day_revised_rows == round(manifest.rows / 1000)
    assert all(next_day[key][4] != base[key][4] and next_day[key][:4] == base[key][:4] for key in revised)
    per_day = Counter(key[0] for key in revised)
    assert len(per_day) == manifest.days and max(per_day.values()) - min(per_day.values()) <= 1  # every day its share
    new_day = (date.fromisoformat(manifest.last_date) + timedelta(1)).isoformat()
    assert sorted(key for key in next_day if key not in base) == sorted(key for key in next_day if key[0] == new_day)
    assert sum(1 for key in next_day if key[0] == new_day) == manifest.new_rows == manifest.counties
    rows = read_rows(folder / "next_day.csv")
    assert rows == sorted(rows, key=lambda row: (row[0], row[2], row[1]))


def test_each_publication_is_committed_after_its_last_day_and_the_base_a_day_before_the_others(small):
    _, manifest = small
    last = date.fromisoformat(manifest.last_date)
    at = {name: datetime.fromisoformat(text) for name, text in manifest.published_at.items()}
    assert at["base.csv"].date() == last + timedelta(1) and at["base.csv"].utcoffset() == timedelta(0)
    assert at["republished.csv"] == at["revised.csv"] == at["next_day.csv"] == at["base.csv"] + timedelta(1)


def test_backfill_publications_each_add_a_day_to_the_previous_revise_it_and_drop_keys_for_good(backfill):
    folder, manifest, out, made = backfill
    assert made == generator.read_backfill(out)
    assert (out / "pub-01.csv").read_bytes() == (folder / "next_day.csv").read_bytes()
    previous, gone = keyed(folder / "base.csv"), []
    for number, publication in enumerate(made.publications, start=1):
        rows = keyed(out / publication.file)
        assert publication.file == f"pub-{number:02d}.csv" and publication.rows == len(rows)
        assert publication.days == manifest.days + number
        assert {key for key in rows if key not in previous} == {key for key in rows if key[0] == publication.last_date}
        assert {key for key in previous if key not in rows} == set(publication.deleted) and len(
            publication.deleted
        ) == 5
        revised = [key for key in previous if key in rows and rows[key] != previous[key]]
        assert len(revised) == publication.revised_rows > 0
        gone += publication.deleted
        assert sorted(made.gone[publication.file]) == sorted(gone) and not set(gone) & set(rows)
        at = datetime.fromisoformat(made.published_at[publication.file])
        assert at.date() == date.fromisoformat(publication.last_date) + timedelta(1)
        previous = rows


def test_recorded_digests_are_those_read_back_from_the_files(small, backfill):
    folder, manifest = small
    for name in manifest.files.values():
        assert common.read_digest(folder / name) == common.Digest(**manifest.digests[name])
        assert common.file_digest(folder / name) == common.read_digest(folder / name)
    _, _, out, made = backfill
    for publication in made.publications:
        assert common.file_digest(out / publication.file) == common.read_digest(out / publication.file)
    assert common.gone_keys(out / "pub-03.csv") == made.gone["pub-03.csv"]


def test_read_digest_differs_for_one_value_changed_one_row_dropped_or_two_rows_swapped(small, tmp_path):
    folder, _ = small
    lines = (folder / "base.csv").read_text().splitlines(keepends=True)
    digest = common.read_digest(folder / "base.csv")

    def digest_of(text_lines):
        path = tmp_path / "changed.csv"
        path.write_text("".join(text_lines))
        return common.read_digest(path)

    one_value = [*lines[:5], lines[5].replace(",", ",1", 1), *lines[6:]]  # county name changes
    assert digest_of(one_value) != digest
    assert digest_of([*lines[:5], *lines[6:]]) != digest
    head, first, second = lines[:1], lines[1].rsplit(",", 2), lines[2].rsplit(",", 2)
    swapped = [f"{first[0]},{second[1]},{second[2]}", f"{second[0]},{first[1]},{first[2]}"]  # same sums
    assert digest_of([*head, *swapped, *lines[3:]]) != digest
    assert digest_of(lines) == digest


def test_generator_command_line_writes_the_four_files_and_a_manifest(tmp_path):
    command = [sys.executable, str(BENCHMARKS / "generate_counties.py"), "--rows", "4000", "--seed", "5"]
    result = subprocess.run(command + ["--out", str(tmp_path)], capture_output=True, text=True, check=True)
    printed = json.loads(result.stdout)
    assert printed == json.loads((tmp_path / "manifest.json").read_text())
    assert printed["rows"] == len(read_rows(tmp_path / "base.csv"))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "base.csv",
        "manifest.json",
        "next_day.csv",
        "republished.csv",
        "revised.csv",
    ]
    subprocess.run(command + ["--out", str(tmp_path), "--backfill", "2"], capture_output=True, check=True)
    assert sorted(p.name for p in (tmp_path / "backfill-2").iterdir()) == ["manifest.json", "pub-01.csv", "pub-02.csv"]
