"""`make check-sources`: download each live source and run the pipeline's own fetch and parse steps on it.

No database and no SNS: this answers one question, "would today's files load?", before a user's run
finds out. Per source it prints the bytes, sha256, data rows, the rows the pipeline keeps, their date
range and the header it found. It exits non-zero, with the parse error, when any source fails.
The URLs are $COVID_ETL_<SOURCE>_URL, else what the publishers' branches serve now on GitHub.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable

from covid_etl import config
from covid_etl.bodies import decode_csv
from covid_etl.errors import RejectedInputError
from covid_etl.fetch import download
from covid_etl.parsing import parse_jhu_us, parse_nyt

PARSERS: dict[str, Callable] = {"NYT": parse_nyt, "JHU": parse_jhu_us}


def check(source: str, url: str) -> dict:
    """Fetch and parse one source; return what was found (raises on a fault or a rejected file)."""
    fetched = download(url, source=source)
    body = fetched.body
    text = decode_csv(body, source=source, location=url)  # as the parse tasks decode it
    kept = PARSERS[source](text, location=url)
    records = csv.reader(io.StringIO(text, newline=""))
    header = next(records, [])
    return {
        "source": source,
        "url": url,
        "bytes": len(body),
        "sha256": fetched.sha256,
        "rows": sum(1 for row in records if row),
        "kept": len(kept),
        "first_date": kept[0].date.isoformat(),
        "last_date": kept[-1].date.isoformat(),
        "header": ",".join(header),
    }


def main() -> int:
    failed = 0
    for source in PARSERS:
        url = config.live_url(source)
        try:
            found = check(source, url)
        except (RejectedInputError, OSError) as exc:
            print(f"{source}: FAILED: {exc}", flush=True)
            failed += 1
            continue
        print(
            f"{source}: OK {found['bytes']} bytes, sha256 {found['sha256']}, {found['rows']} rows "
            f"({found['kept']} kept), {found['first_date']} to {found['last_date']}, header {found['header']}",
            flush=True,
        )
        print(json.dumps(found), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
