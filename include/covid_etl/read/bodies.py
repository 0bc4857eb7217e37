"""What a downloaded body is, when it is not CSV text: recognised from its first bytes, before parsing.

The validator checks the header line with it (covid_etl/read/layout.py), and every line's text with
:func:`text_problem`. Without it such a body would still be rejected, but as a header that lacks its
columns, shown as replacement characters, or as a NUL byte, which does not say what arrived instead.
Pure functions over bytes: no framework, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

UTF8_BOM = b"\xef\xbb\xbf"
LFS_POINTER = b"version https://git-lfs.github.com/spec/v1"
# Byte-order marks of the encodings a spreadsheet may save as "Unicode CSV". UTF-32's are listed
# first: its little-endian mark begins with UTF-16's.
_BYTE_ORDER_MARKS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)
# Without a mark, ASCII text in UTF-16 or UTF-32 has its characters at one place of every 2 or 4
# bytes and NULs at the others (the place tells the byte order): (encoding, width, the text's place).
_WIDE_LAYOUTS = (("UTF-32", 4, 0), ("UTF-32", 4, 3), ("UTF-16", 2, 0), ("UTF-16", 2, 1))
_SAMPLE = 64  # bytes looked at for those patterns
_HEAD = 4096  # bytes looked at for the first line (a body may be hundreds of megabytes, its first line too)
_SHOWN = 80  # characters of the first line shown in the error


@dataclass(frozen=True)
class NotCsv:
    """What a body is instead of CSV text: the problem, and the value to show (its first line or bytes)."""

    problem: str
    value: str


def not_csv_text(head: bytes) -> NotCsv | None:
    """What the body beginning with ``head`` (at least its first line) is, when it is not CSV text; else None."""
    start = head[:_SAMPLE]
    first_bytes = start[:8].hex(" ")
    if start.startswith(b"\x1f\x8b"):
        return NotCsv("not the expected CSV: a gzip body (compressed, without Content-Encoding)", first_bytes)
    if encoding := _wide_encoding(start):
        return NotCsv(f"not the expected CSV: {encoding}, not UTF-8", first_bytes)
    first_line = head[:_HEAD].removeprefix(UTF8_BOM).lstrip().split(b"\n", 1)[0].rstrip()
    shown = first_line[:_SHOWN].decode("utf-8", errors="replace")
    if first_line.startswith(LFS_POINTER):
        return NotCsv("not the expected CSV: a Git LFS pointer, not the file", shown)
    if first_line[:1] in (b"{", b"["):
        return NotCsv("not the expected CSV: a JSON body", shown)
    if first_line[:1] == b"<":
        return NotCsv("not the expected CSV: an HTML page", shown)
    return None


def _wide_encoding(start: bytes) -> str | None:
    """UTF-16 or UTF-32, told by a byte-order mark or by where the NULs are; else None."""
    for mark, encoding in _BYTE_ORDER_MARKS:
        if start.startswith(mark):
            return f"{encoding} text (byte-order mark {mark.hex(' ')})"
    for encoding, width, text_at in _WIDE_LAYOUTS:
        whole = start[: len(start) - len(start) % width]
        nuls = bytes(byte for place, byte in enumerate(whole) if place % width != text_at)
        if whole and all(whole[text_at::width]) and not any(nuls):
            return f"{encoding} text without a byte-order mark"
    return None


def text_problem(data: bytes) -> tuple[int, str] | None:
    """Where (a byte offset) and why ``data`` is not UTF-8 text without NUL bytes; None when it is."""
    nul = data.find(b"\x00")
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            if nul < 0 or exc.start < nul:
                return exc.start, f"not UTF-8 text (byte 0x{data[exc.start]:02x}: {exc.reason})"
    if nul >= 0:
        return nul, "a NUL byte in the line"
    return None
