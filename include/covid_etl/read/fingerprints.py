"""Fingerprints of what a dataset's table holds, so that a new publication is compared with the table
without reading the table: per date, digests of that day's lines as they were loaded, with their row
counts and the sums of their keys' CRC-32s.

A day's lines are cut into chunks: a chunk ends with the line that holds each GRID-th byte of the day. The
bounds do not depend on the values, so chunks stay small and even whatever the data; and each bound
depends on its own offset only, so a revised line changes its own chunk, and a line that grows or shrinks
by a few bytes moves a later bound only when a grid point falls that close to a line's start. Chunks are
grouped into blocks the same way, at every BLOCK-th byte (a multiple of GRID, so a block's bounds are
chunks' bounds): a day is compared block by block, and only a block that differs is compared chunk by
chunk. A day whose blocks all match is unchanged; in a changed day only the lines of chunks the old day
did not have are checked and sent to the database. Rows and key sums let the database tell how many keys a
day dropped, and that no key was given twice (covid_etl/load/loader.py). Digests are keyed with the header
and a format version: fingerprints of another layout never match.

Pure functions over bytes: no framework, no I/O.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import accumulate
from typing import NamedTuple

FORMAT = b"covid_etl fingerprints 3"
# Bytes of a day per chunk: about a dozen lines of NYT's county file (benchmarks/README.md weighs it).
GRID = 512
BLOCK = 16 * GRID
# 64 bits: a digest is only ever matched against the few hundred of one day, and every daily load rewrites
# the records of every day it revised (all of them, at NYT's 0.1% spread over the dates), so their size
# is write time.
DIGEST_SIZE = 8
# A chunk ends at the line holding its grid point, so its rows (lines of at least a date) fit 16 bits.
_CHUNK = struct.Struct(f"<{DIGEST_SIZE}sHQ")  # digest, rows, key sum
_BLOCK = struct.Struct(f"<{DIGEST_SIZE}sIQH")  # digest, rows, key sum, chunks


class Chunk(NamedTuple):
    """A run of a day's lines: where it lies in the day's block (-1 when it is an old one), and once known,
    how many rows it holds and the sum of their keys' CRC-32s. (A named tuple: a daily load makes hundreds
    of thousands, and a frozen dataclass costs several times as much to make.)"""

    start: int
    end: int
    digest: bytes
    rows: int = -1
    keysum: int = 0


@dataclass(frozen=True)
class DayPrint:
    """A day as the table holds it: a digest of its blocks, its rows and key sum, its blocks (digest,
    rows, key sum, number of chunks) and its chunks (digest, rows, key sum), in order."""

    digest: bytes
    rows: int
    keysum: int
    blocks: bytes
    chunks: bytes

    def block_records(self) -> dict[bytes, tuple[int, int, int, int]]:
        """Each block's digest: its rows, key sum and the range of its chunks' records."""
        found, first = {}, 0
        for digest, rows, keysum, count in _BLOCK.iter_unpack(self.blocks):
            found[digest] = (rows, keysum, first, first + count)
            first += count
        return found

    def chunk_records(self) -> dict[bytes, tuple[int, int]]:
        """Each chunk's digest and its (rows, key sum)."""
        return {digest: (rows, keysum) for digest, rows, keysum in _CHUNK.iter_unpack(self.chunks)}

    def kept_block(self, first: int, last: int, rows: int, keysum: int) -> KeptChunks:
        """The old chunks of a block (records ``first`` to ``last``) that a new day has unchanged."""
        return KeptChunks(self.chunks[first * _CHUNK.size : last * _CHUNK.size], rows, keysum, last - first)


@dataclass(frozen=True)
class KeptChunks:
    """A block's chunks as the old day had them: their records as stored, and their totals."""

    records: bytes
    rows: int
    keysum: int
    count: int


def keysum(keys: Iterable[bytes]) -> int:
    """The sum of the keys' CRC-32s: equal key multisets have equal sums; a key given twice adds twice."""
    return sum(map(zlib.crc32, keys))


def _bounds(data: bytes, start: int, end: int, step: int) -> Iterator[tuple[int, int]]:
    """The runs of lines of ``data[start:end]`` that end with the line holding each step-th byte."""
    while start < end:
        point = -(-start // step) * step  # the first grid point at or after the run's start
        stop = min(data.find(b"\n", point) + 1 or end, end)
        yield start, stop
        start = stop


class Fingerprinter:
    """Digests for the files of one layout.

    :param signature: the layout's signature (its header): part of every digest's key.
    """

    def __init__(self, signature: bytes) -> None:
        # SHA-256 of the format and signature, then of the bytes: hashlib's SHA-256 uses the CPU's SHA
        # instructions where it has them (the bench's profile: half of BLAKE2b's time per block), and a copy
        # of the keyed state costs less than keying a new hash.
        self._keyed = hashlib.sha256(hashlib.sha256(FORMAT + b"\0" + signature).digest())

    def digest(self, data: bytes | memoryview) -> bytes:
        hasher = self._keyed.copy()
        hasher.update(data)
        return hasher.digest()[:DIGEST_SIZE]

    def chunks(self, data: bytes, start: int = 0, end: int | None = None) -> list[Chunk]:
        """The chunks of ``data[start:end]`` (whole blocks), in order."""
        view = memoryview(data)
        end = len(data) if end is None else end
        return [Chunk(a, b, self.digest(view[a:b])) for a, b in _bounds(data, start, end, GRID)]

    def blocks(self, data: bytes) -> list[Chunk]:
        """The day's blocks, in order."""
        view = memoryview(data)
        return [Chunk(a, b, self.digest(view[a:b])) for a, b in _bounds(data, 0, len(data), BLOCK)]


Blocks = list[tuple[Chunk, list[Chunk] | KeptChunks]]  # a day's blocks, each with its chunks


def day_print(fingerprinter: Fingerprinter, blocks: Blocks) -> DayPrint:
    """The print of a day from its blocks and their chunks, every chunk's rows and key sum known."""
    block_records, chunk_records, rows, day_keysum = [], [], 0, 0
    for block, chunks in blocks:
        if isinstance(chunks, KeptChunks):
            block_records.append(_BLOCK.pack(block.digest, chunks.rows, chunks.keysum, chunks.count))
            chunk_records.append(chunks.records)
            rows, day_keysum = rows + chunks.rows, day_keysum + chunks.keysum
            continue
        block_rows, block_keysum = sum(chunk.rows for chunk in chunks), sum(chunk.keysum for chunk in chunks)
        block_records.append(_BLOCK.pack(block.digest, block_rows, block_keysum, len(chunks)))
        chunk_records += [_CHUNK.pack(chunk.digest, chunk.rows, chunk.keysum) for chunk in chunks]
        rows, day_keysum = rows + block_rows, day_keysum + block_keysum
    return DayPrint(
        digest=fingerprinter.digest(b"".join(block.digest for block, _ in blocks)),
        rows=rows,
        keysum=day_keysum,
        blocks=b"".join(block_records),
        chunks=b"".join(chunk_records),
    )


def clean_day_print(fingerprinter: Fingerprinter, data: bytes, keys: list[bytes]) -> DayPrint:
    """The print of a day every line of which is a row, given its keys in line order: what
    :func:`day_print` makes of its blocks and chunks, in one pass with no object per chunk (a first
    load prints every chunk of the file)."""
    key_sums = list(accumulate(map(zlib.crc32, keys), initial=0))  # key_sums[n]: the first n lines' sum
    view, digest = memoryview(data), fingerprinter.digest
    block_records, chunk_records, block_digests = [], [], []
    line = 0
    for block_start, block_end in _bounds(data, 0, len(data), BLOCK):
        block_line, chunks = line, 0
        for start, end in _bounds(data, block_start, block_end, GRID):
            rows = data.count(b"\n", start, end)
            chunk_records.append(_CHUNK.pack(digest(view[start:end]), rows, key_sums[line + rows] - key_sums[line]))
            line, chunks = line + rows, chunks + 1
        block_digests.append(digest(view[block_start:block_end]))
        block_records.append(
            _BLOCK.pack(block_digests[-1], line - block_line, key_sums[line] - key_sums[block_line], chunks)
        )
    return DayPrint(
        digest=digest(b"".join(block_digests)),
        rows=line,
        keysum=key_sums[line],
        blocks=b"".join(block_records),
        chunks=b"".join(chunk_records),
    )


@dataclass
class DayDiff:
    """How a day of the new publication compares with the day the table holds.

    :param blocks: the new day's blocks and their chunks; chunks the old day had carry its rows and key
        sum (a block the old day had carries its old chunks' records).
    :param new: the chunks the old day did not have: their lines must be checked and sent.
    :param kept_rows: the rows of the chunks the old day had.
    """

    blocks: Blocks
    new: list[Chunk]
    kept_rows: int


def compare_day(fingerprinter: Fingerprinter, data: bytes, old: DayPrint | None) -> DayDiff | None:
    """The day's blocks and chunks against the old day's print; None when the day is unchanged."""
    blocks = fingerprinter.blocks(data)
    if old is not None and fingerprinter.digest(b"".join(block.digest for block in blocks)) == old.digest:
        return None
    old_blocks = old.block_records() if old is not None else {}
    old_chunks = old.chunk_records() if old is not None else {}
    compared, new, kept_rows = [], [], 0
    view = memoryview(data)
    for block in blocks:
        if block.digest in old_blocks:
            rows, block_keysum, first, last = old_blocks[block.digest]
            compared.append((block, old.kept_block(first, last, rows, block_keysum)))
            kept_rows += rows
            continue
        chunks = []
        for start, end in _bounds(data, block.start, block.end, GRID):
            digest = fingerprinter.digest(view[start:end])
            if (known := old_chunks.get(digest)) is not None:  # (rows, key sum)
                chunks.append(Chunk(start, end, digest, *known))
                kept_rows += known[0]
            else:
                chunks.append(Chunk(start, end, digest))
                new.append(chunks[-1])
        compared.append((block, chunks))
    return DayDiff(compared, new, kept_rows)
