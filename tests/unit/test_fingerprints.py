"""Fingerprints of a day's lines (covid_etl.read.fingerprints): chunks (and blocks of chunks) whose bounds
depend on their own offsets, so a revised line changes its own chunk only and a line a byte longer moves
few bounds; digests keyed with the header, so another layout's prints never match."""

from __future__ import annotations

import pytest

from covid_etl.read.fingerprints import (
    BLOCK,
    DIGEST_SIZE,
    GRID,
    Chunk,
    Fingerprinter,
    KeptChunks,
    clean_day_print,
    compare_day,
    day_print,
    keysum,
)
from support import fixture_bytes

SIGNATURE = b"date,county,state,fips,cases,deaths"


def real_day() -> bytes:
    """The largest day of the county fixture (2020-03-14: 276 lines, 11 kB), as its file has it."""
    lines = fixture_bytes("counties/us-counties.csv").split(b"\n")[1:]
    return b"".join(line + b"\n" for line in lines if line.startswith(b"2020-03-14"))


DAY = real_day()
LINES = DAY.split(b"\n")[:-1]


def with_line(number: int, line: bytes) -> bytes:
    return b"".join(old + b"\n" for old in (*LINES[:number], line, *LINES[number + 1 :]))


def grown(number: int) -> bytes:
    """The day with line ``number``'s cases a digit longer."""
    fields = LINES[number].split(b",")
    fields[4] += b"0"
    return with_line(number, b",".join(fields))


def printed(fingerprinter: Fingerprinter, data: bytes):
    """The day's print as a load records it (each chunk's rows counted; keys are not looked at here)."""
    blocks = [
        (
            block,
            [
                Chunk(c.start, c.end, c.digest, data.count(b"\n", c.start, c.end))
                for c in fingerprinter.chunks(data, block.start, block.end)
            ],
        )
        for block in fingerprinter.blocks(data)
    ]
    return day_print(fingerprinter, blocks)


def compared_chunks(diff) -> list[Chunk]:
    """The new day's chunks as compared: a kept block's count as its chunks, unlooked at."""
    return [chunk for _, chunks in diff.blocks if not isinstance(chunks, KeptChunks) for chunk in chunks]


def test_the_chunks_cover_the_day_each_ending_with_the_line_that_holds_the_next_grid_point():
    chunks = list(Fingerprinter(SIGNATURE).chunks(DAY))
    assert len(chunks) == 24 and (chunks[0].start, chunks[-1].end) == (0, len(DAY))
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert before.end == after.start
    for chunk in chunks:
        grid_point = -(-chunk.start // GRID) * GRID
        assert DAY[chunk.end - 1 : chunk.end] == b"\n"
        if grid_point < len(DAY):  # (the last chunk's grid point may lie past the day's end)
            assert chunk.end - 1 >= grid_point and b"\n" not in DAY[grid_point : chunk.end - 1]


@pytest.mark.parametrize("number", [0, 1, 137, len(LINES) - 1], ids=["first", "second", "middle", "last"])
def test_a_revised_line_changes_only_the_chunk_that_holds_it(number):
    fingerprinter = Fingerprinter(SIGNATURE)
    line = LINES[number]
    revised = with_line(number, line[:-1] + (b"2" if line.endswith(b"1") else b"1"))  # deaths, the same length
    assert len(revised) == len(DAY) and revised != DAY
    diff = compare_day(fingerprinter, revised, printed(fingerprinter, DAY))
    [new] = diff.new
    at = sum(len(line) + 1 for line in LINES[:number])
    assert new.start <= at < new.end
    assert diff.kept_rows == len(LINES) - revised.count(b"\n", new.start, new.end)


def test_a_line_longer_by_a_byte_moves_few_bounds():
    fingerprinter = Fingerprinter(SIGNATURE)
    ends = [chunk.end for chunk in fingerprinter.chunks(DAY)]
    moved, new_chunks = [], []
    for number in range(len(LINES)):
        after = sum(len(line) + 1 for line in LINES[: number + 1])  # where the grown line ended
        data = grown(number)
        new_ends = [chunk.end for chunk in fingerprinter.chunks(data)]
        later = {end - 1 for end in new_ends if end - 1 >= after}  # bounds after the line, shifted back a byte
        moved.append(len(later ^ {end for end in ends if end >= after}) // 2)
        new_chunks.append(len(compare_day(fingerprinter, data, printed(fingerprinter, DAY)).new))
    # A bound moves only where a grid point fell on a line's start: two of the 23 bounds, at most.
    assert max(moved) <= 2 and sum(moved) / len(moved) < 1
    assert max(new_chunks) <= 5 and sum(new_chunks) / len(new_chunks) < 3  # of 24 chunks


def test_an_unchanged_day_compares_as_none_and_a_day_without_a_print_is_all_new():
    fingerprinter = Fingerprinter(SIGNATURE)
    assert compare_day(fingerprinter, DAY, printed(fingerprinter, DAY)) is None
    diff = compare_day(fingerprinter, DAY, None)
    assert diff.new == compared_chunks(diff) and len(diff.new) == 24 and diff.kept_rows == 0


def test_the_digest_depends_on_the_header_signature():
    ours, reordered = Fingerprinter(SIGNATURE), Fingerprinter(b"date,state,county,fips,cases,deaths")
    assert ours.digest(DAY) != reordered.digest(DAY)
    assert ours.digest(DAY) == Fingerprinter(SIGNATURE).digest(DAY)
    diff = compare_day(ours, DAY, printed(reordered, DAY))  # the same bytes printed under another header
    assert diff is not None and diff.new == compared_chunks(diff)


def test_a_days_print_sums_its_chunks_rows_and_keys_and_records_each_block_and_chunk():
    fingerprinter = Fingerprinter(SIGNATURE)
    block = Chunk(0, 20, b"z" * DIGEST_SIZE)
    chunks = [Chunk(0, 10, b"a" * DIGEST_SIZE, 2, 7), Chunk(10, 20, b"b" * DIGEST_SIZE, 3, 11)]
    day = day_print(fingerprinter, [(block, chunks)])
    assert (day.digest, day.rows, day.keysum) == (fingerprinter.digest(b"z" * DIGEST_SIZE), 5, 18)
    assert day.chunk_records() == {b"a" * DIGEST_SIZE: (2, 7), b"b" * DIGEST_SIZE: (3, 11)}
    assert day.block_records() == {b"z" * DIGEST_SIZE: (5, 18, 0, 2)}


def test_a_block_the_old_day_had_is_kept_whole_without_looking_at_its_chunks():
    fingerprinter = Fingerprinter(SIGNATURE)
    assert len(DAY) > BLOCK  # the day has a second block
    number = len(LINES) - 1
    revised = with_line(number, LINES[number][:-1] + (b"2" if LINES[number].endswith(b"1") else b"1"))
    diff = compare_day(fingerprinter, revised, printed(fingerprinter, DAY))
    kept = [chunks for _, chunks in diff.blocks if isinstance(chunks, KeptChunks)]
    assert kept and kept[0].count == len([c for c in fingerprinter.chunks(DAY, 0, diff.blocks[0][0].end)])
    assert len(diff.new) == 1


def test_the_key_sum_is_that_of_the_keys_whatever_their_order_and_counts_a_key_given_twice():
    keys = [b"2020-03-01,Ada,Idaho", b"2020-03-01,Kane,Utah"]
    assert keysum(keys) == keysum(keys[::-1]) != keysum(keys[:1])
    assert keysum([*keys, keys[0]]) == keysum(keys) + keysum(keys[:1])


def key_of(line: bytes) -> bytes:
    return b",".join(line.split(b",")[:3])


def printed_chunk_by_chunk(fingerprinter: Fingerprinter, data: bytes):
    """The day's print from its blocks and chunks, each chunk's keys summed on its own."""
    blocks = [
        (
            block,
            [
                Chunk(c.start, c.end, c.digest, len(keys), keysum(keys))
                for c in fingerprinter.chunks(data, block.start, block.end)
                for keys in [[key_of(line) for line in data[c.start : c.end].split(b"\n")[:-1]]]
            ],
        )
        for block in fingerprinter.blocks(data)
    ]
    return day_print(fingerprinter, blocks)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(DAY, id="a-real-day-of-two-blocks"),
        pytest.param(LINES[0] + b"\n", id="one-line"),
        pytest.param(DAY * 5, id="five-blocks"),
        pytest.param(DAY.replace(b"\n", b"\r\n"), id="crlf"),
        pytest.param(b"".join(line + b"\n" for line in LINES if len(line) < 40), id="short-lines"),
    ],
)
def test_a_clean_days_print_in_one_pass_is_the_print_of_its_blocks_and_chunks(data):
    fingerprinter = Fingerprinter(SIGNATURE)
    keys = [key_of(line) for line in data.split(b"\n")[:-1]]
    assert clean_day_print(fingerprinter, data, keys) == printed_chunk_by_chunk(fingerprinter, data)
