"""Fingerprints of what a dataset's table holds, so that a new publication is compared with the table
without reading the table: per date, a digest of that day's lines as they were loaded, and per chunk of
them a digest, its row count and the sum of its keys' CRC-32s.

A chunk ends with the line that holds each GRID-th byte of the day. The bounds do not depend on the
values, so chunks stay small and even whatever the data; and each bound depends on its own offset only,
so a revised line changes its own chunk, and a line that grows or shrinks by a few bytes moves a later
bound only when a grid point falls that close to a line's start. A day whose digest is unchanged is
skipped whole; in a changed day only the lines of chunks the old day did not have are checked and sent
to the database. Rows and key sums let the database tell how many keys a day dropped, and that no key
was given twice (see covid_etl/load/loader.py). Digests are keyed with the header and a format version:
fingerprints of another layout never match.

Pure functions over bytes: no framework, no I/O.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

FORMAT = b"covid_etl fingerprints 1"
# Bytes of a day per chunk: about a dozen lines of NYT's county file (benchmarks/README.md weighs it).
GRID = 512
DIGEST_SIZE = 16
_RECORD = struct.Struct(f"<{DIGEST_SIZE}sIQ")  # digest, rows, key sum


@dataclass(frozen=True)
class Chunk:
    """A run of a day's lines: where it lies in the day's block, and once known, what it holds."""

    start: int
    end: int
    digest: bytes
    rows: int = -1
    keysum: int = 0


@dataclass(frozen=True)
class DayPrint:
    """A day as the table holds it: its digest, rows, key sum and chunks (digest, rows, key sum)."""

    digest: bytes
    rows: int
    keysum: int
    chunks: bytes

    def chunk_records(self) -> dict[bytes, tuple[int, int]]:
        """Each chunk's digest and its (rows, key sum)."""
        return {digest: (rows, keysum) for digest, rows, keysum in _RECORD.iter_unpack(self.chunks)}


def keysum(keys: Iterable[bytes]) -> int:
    """The sum of the keys' CRC-32s: equal key multisets have equal sums; a key given twice adds twice."""
    return sum(map(zlib.crc32, keys))


class Fingerprinter:
    """Digests for the files of one layout.

    :param signature: the layout's signature (its header): part of every digest's key.
    """

    def __init__(self, signature: bytes) -> None:
        self._key = hashlib.blake2b(FORMAT + b"\0" + signature, digest_size=32).digest()

    def digest(self, data: bytes | memoryview) -> bytes:
        return hashlib.blake2b(data, digest_size=DIGEST_SIZE, key=self._key).digest()

    def chunks(self, data: bytes) -> Iterator[Chunk]:
        """The day block's chunks, in order."""
        view, start, size = memoryview(data), 0, len(data)
        while start < size:
            grid_point = -(-start // GRID) * GRID  # the first at or after the chunk's start
            end = data.find(b"\n", grid_point) + 1 or size
            yield Chunk(start, end, self.digest(view[start:end]))
            start = end


def day_print(fingerprinter: Fingerprinter, data: bytes, chunks: list[Chunk]) -> DayPrint:
    """The print of a day whose every chunk's rows and key sum are known."""
    records = b"".join(_RECORD.pack(chunk.digest, chunk.rows, chunk.keysum) for chunk in chunks)
    return DayPrint(
        digest=fingerprinter.digest(data),
        rows=sum(chunk.rows for chunk in chunks),
        keysum=sum(chunk.keysum for chunk in chunks),
        chunks=records,
    )


@dataclass
class DayDiff:
    """How a day of the new publication compares with the day the table holds.

    :param chunks: the new day's chunks; those the old day had carry its rows and key sum.
    :param new: the chunks the old day did not have: their lines must be checked and sent.
    :param kept_rows: the rows of the chunks the old day had.
    """

    chunks: list[Chunk]
    new: list[Chunk]
    kept_rows: int


def compare_day(fingerprinter: Fingerprinter, data: bytes, old: DayPrint | None) -> DayDiff | None:
    """The day's new chunks against the old day's print; None when the day is unchanged."""
    if old is not None and fingerprinter.digest(data) == old.digest:
        return None
    known = old.chunk_records() if old is not None else {}
    chunks, new, kept_rows = [], [], 0
    for chunk in fingerprinter.chunks(data):
        if chunk.digest in known:
            rows, chunk_keysum = known[chunk.digest]
            chunk = Chunk(chunk.start, chunk.end, chunk.digest, rows, chunk_keysum)
            kept_rows += rows
        else:
            new.append(chunk)
        chunks.append(chunk)
    return DayDiff(chunks, new, kept_rows)
