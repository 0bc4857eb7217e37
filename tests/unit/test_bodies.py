"""What a downloaded body is when it is not CSV text (covid_etl.read.bodies), told from its first bytes:
the header check names it (a gzip body, UTF-16, a Git LFS pointer...) rather than a header lacking columns."""

from __future__ import annotations

import gzip

import pytest

from covid_etl.read.bodies import NotCsv, not_csv_text, text_problem

CSV = "date,cases,deaths\n2020-03-01,1,0\n"


@pytest.mark.parametrize(
    ("head", "found"),
    [
        pytest.param(CSV.encode(), None, id="csv"),
        pytest.param(b"\xef\xbb\xbf" + CSV.encode(), None, id="csv-with-utf-8-bom"),
        pytest.param("date,county\n2020-03-01,Doña Ana\n".encode(), None, id="utf-8-names"),
        pytest.param(
            gzip.compress(CSV.encode(), mtime=0),
            NotCsv(
                "not the expected CSV: a gzip body (compressed, without Content-Encoding)", "1f 8b 08 00 00 00 00 00"
            ),
            id="gzip",
        ),
        pytest.param(
            CSV.encode("utf-16"),
            NotCsv("not the expected CSV: UTF-16 text (byte-order mark ff fe), not UTF-8", "ff fe 64 00 61 00 74 00"),
            id="utf-16-le-with-bom",
        ),
        pytest.param(
            b"\xfe\xff" + CSV.encode("utf-16-be"),
            NotCsv("not the expected CSV: UTF-16 text (byte-order mark fe ff), not UTF-8", "fe ff 00 64 00 61 00 74"),
            id="utf-16-be-with-bom",
        ),
        pytest.param(
            CSV.encode("utf-16-le"),
            NotCsv("not the expected CSV: UTF-16 text without a byte-order mark, not UTF-8", "64 00 61 00 74 00 65 00"),
            id="utf-16-le",
        ),
        pytest.param(
            CSV.encode("utf-16-be"),
            NotCsv("not the expected CSV: UTF-16 text without a byte-order mark, not UTF-8", "00 64 00 61 00 74 00 65"),
            id="utf-16-be",
        ),
        pytest.param(
            CSV.encode("utf-32"),
            NotCsv(
                "not the expected CSV: UTF-32 text (byte-order mark ff fe 00 00), not UTF-8", "ff fe 00 00 64 00 00 00"
            ),
            id="utf-32-le-with-bom",
        ),
        pytest.param(
            CSV.encode("utf-32-be"),
            NotCsv("not the expected CSV: UTF-32 text without a byte-order mark, not UTF-8", "00 00 00 64 00 00 00 61"),
            id="utf-32-be",
        ),
        pytest.param(
            b"version https://git-lfs.github.com/spec/v1\noid sha256:4d7a\nsize 108263547\n",
            NotCsv(
                "not the expected CSV: a Git LFS pointer, not the file", "version https://git-lfs.github.com/spec/v1"
            ),
            id="git-lfs-pointer",
        ),
        pytest.param(
            b'\n  {"message": "Not Found"}\n',
            NotCsv("not the expected CSV: a JSON body", '{"message": "Not Found"}'),
            id="json-object-after-white-space",
        ),
        pytest.param(
            b'[{"date": "2020-03-01"}]',
            NotCsv("not the expected CSV: a JSON body", '[{"date": "2020-03-01"}]'),
            id="json-array",
        ),
        pytest.param(
            b"<!DOCTYPE html>\n<html></html>\n",
            NotCsv("not the expected CSV: an HTML page", "<!DOCTYPE html>"),
            id="html",
        ),
        pytest.param(
            b"<" + b"x" * 500, NotCsv("not the expected CSV: an HTML page", "<" + "x" * 79), id="html-shown-short"
        ),
    ],
)
def test_a_body_that_is_not_csv_text_is_named_by_what_it_is(head, found):
    assert not_csv_text(head) == found


@pytest.mark.parametrize(
    ("data", "found"),
    [
        pytest.param(b"2020-03-01,Ohio,39,1,0\n", None, id="ascii"),
        pytest.param("2020-03-01,Doña Ana\n".encode(), None, id="utf-8"),
        pytest.param(
            b"2020-03-01,Do\xf1a Ana\n", (13, "not UTF-8 text (byte 0xf1: invalid continuation byte)"), id="latin-1"
        ),
        pytest.param(b"2020-03-01,New\x00York\n", (14, "a NUL byte in the line"), id="nul"),
        pytest.param(b"a\x00b\xff\n", (1, "a NUL byte in the line"), id="nul-before-a-bad-byte"),
        pytest.param(b"a\xffb\x00\n", (1, "not UTF-8 text (byte 0xff: invalid start byte)"), id="bad-byte-before-nul"),
    ],
)
def test_text_is_utf_8_without_nul_bytes_else_the_first_fault_is_placed(data, found):
    assert text_problem(data) == found
