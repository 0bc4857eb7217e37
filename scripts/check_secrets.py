"""Scan the repository for committed secrets with detect-secrets, against the reviewed .secrets.baseline.

Usage: .venv/bin/python scripts/check_secrets.py [--update-baseline] [--verbose]   (`make check-secrets`)

Scans what git would commit from this repository: the tracked files and the untracked ones that are
not ignored (`git ls-files --cached --others --exclude-standard`), so .venv, .local and build are never
read. Plugins and filters are the baseline's own (`plugins_used`, `filters_used`, including its
`exclude` file patterns), exactly as `detect-secrets-hook --baseline .secrets.baseline` applies them;
detect-secrets' file filters skip binary files (*.gz, *.png, ...) by name, before opening them.

A finding passes only when .secrets.baseline records it and a reviewer marked it a false positive
(`"is_secret": false`, with `detect-secrets audit .secrets.baseline`). Any other finding is printed as
file:line: type and the exit status is 1: one missing from the baseline, one the baseline marks as a
real secret, and one in the baseline that nobody reviewed. Secrets are never printed, and never
verified against their vendors' APIs (the scan stays offline and deterministic).

--update-baseline rewrites .secrets.baseline from a fresh scan of the same files, keeping the review
of every finding still present (what `detect-secrets scan --baseline` does); review the new entries
with `detect-secrets audit .secrets.baseline` afterwards.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from detect_secrets.core import baseline as ds_baseline
from detect_secrets.core import scan as ds_scan
from detect_secrets.core.potential_secret import PotentialSecret
from detect_secrets.core.secrets_collection import SecretsCollection
from detect_secrets.settings import get_settings

BASELINE = ".secrets.baseline"
# Calls the vendors' APIs (AWS STS, Slack, Stripe, ...) with what it found: never from a test run.
VERIFICATION_FILTER = "detect_secrets.filters.common.is_ignored_due_to_verification_policies"


def repository_root() -> Path:
    """The work tree of the repository holding this script."""
    here = Path(__file__).resolve().parent
    top = subprocess.run(
        ["git", "-C", str(here), "rev-parse", "--show-toplevel"], check=True, capture_output=True, text=True
    )
    return Path(top.stdout.strip())


def candidate_files() -> list[str]:
    """What git would commit: tracked plus untracked-not-ignored files, relative to the cwd (the root)."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    # A tracked file deleted in the work tree has nothing to scan; a symbolic link may point outside.
    return sorted({path for path in listing.split("\0") if path and os.path.isfile(path) and not os.path.islink(path)})


def load_baseline() -> SecretsCollection:
    """The baseline's findings; also configures detect-secrets' plugins and filters from it."""
    known = ds_baseline.load(ds_baseline.load_from_file(BASELINE), filename=BASELINE)
    get_settings().disable_filters(VERIFICATION_FILTER)
    return known


def skipped_by_file_filters(path: str) -> bool:
    # The very check detect-secrets' scan_file makes first (binary extensions, lock files, the
    # baseline itself and the baseline's exclude patterns), here only to count what is skipped.
    return ds_scan._is_filtered_out(required_filter_parameters=["filename"], filename=path)


def scan(paths: list[str], jobs: int | None) -> SecretsCollection:
    found = SecretsCollection()
    if len(paths) > 1:
        found.scan_files(*paths, num_processors=jobs)
    elif paths:
        found.scan_file(paths[0])
    return found


def problems(found: SecretsCollection, known: SecretsCollection) -> list[tuple[str, PotentialSecret, str]]:
    """Every finding that is not a reviewed false positive in the baseline, with the reason."""
    reviewed = {secret: secret for _, secret in known}  # equality: file, hash of the secret, type
    result = []
    for path, secret in found:
        entry = reviewed.get(secret)
        if entry is None:
            result.append((path, secret, "not in the baseline"))
        elif entry.is_secret is True:
            result.append((path, secret, "marked in the baseline as a real secret: remove and rotate it"))
        elif entry.is_secret is None:
            result.append((path, secret, "in the baseline but not reviewed: detect-secrets audit " + BASELINE))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--update-baseline",
        action="store_true",
        help="rewrite the baseline from a fresh scan, keeping the reviews of the findings still present",
    )
    parser.add_argument("--jobs", type=int, default=None, help="scanning processes (default: one per CPU)")
    parser.add_argument("--verbose", "-v", action="store_true", help="also list the files the filters skip")
    args = parser.parse_args(argv)

    os.chdir(repository_root())  # the baseline's paths are relative to the root
    known = load_baseline()
    files = candidate_files()
    to_scan = [path for path in files if not skipped_by_file_filters(path)]
    found = scan(to_scan, args.jobs)
    print(
        f"check_secrets: scanned {len(to_scan)} files of {len(files)} "
        f"({len(files) - len(to_scan)} skipped by detect-secrets' file filters and the baseline's excludes)"
    )

    if args.verbose:
        for path in sorted(set(files) - set(to_scan)):
            print(f"skipped: {path}")

    if args.update_baseline:
        found.merge(known)  # keeps is_secret / is_verified of what is still found
        ds_baseline.save_to_file(found, BASELINE)
        unreviewed = sum(1 for _, secret in found if secret.is_secret is None)
        print(f"check_secrets: wrote {BASELINE} ({len(list(found))} entries, {unreviewed} to review)")
        return 0

    still_found = {secret for _, secret in found}
    stale = sum(1 for _, secret in known if secret not in still_found)
    if stale:
        print(f"check_secrets: {stale} baseline entries no longer found (refresh them with --update-baseline)")

    bad = problems(found, known)
    for path, secret, reason in bad:
        print(f"{path}:{secret.line_number}: {secret.type}: {reason}")
    if bad:
        print(f"check_secrets: {len(bad)} potential secrets not reviewed as false positives in {BASELINE}")
        return 1
    print(f"check_secrets: no new secrets ({len(list(known))} reviewed false positives in {BASELINE})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
