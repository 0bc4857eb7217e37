"""scripts/check_secrets.py (`make check-secrets`, part of `make test`): detect-secrets against .secrets.baseline.

Every test runs the real script in a subprocess: on this repository, on a copy of it, or on a small git
repository holding the script and the current baseline's settings. The planted secrets are made up at
run time (random, or assembled from pieces), so this file itself holds nothing a scanner would report.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import string
import subprocess
import sys
from pathlib import Path

import pytest

from support import ROOT

SCRIPT = ROOT / "scripts" / "check_secrets.py"
BASELINE = ROOT / ".secrets.baseline"
DETECT_SECRETS = Path(sys.executable).parent / "detect-secrets"
PRIVATE_KEY_HEADER = "-----BEGIN " + "RSA PRIVATE KEY-----"  # split: not a key block in this file
PRIVATE_KEY_FOOTER = "-----END " + "RSA PRIVATE KEY-----"


def git_env() -> dict[str, str]:
    # No GIT_DIR / GIT_INDEX_FILE from a hook or the caller may point git at another repository.
    return {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}


def run_check(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(repo / "scripts" / "check_secrets.py"), *args],
        cwd=repo,
        env=git_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, env=git_env(), check=True, capture_output=True, text=True).stdout


def fake_aws_secret_access_key() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits + "/+") for _ in range(40))


def fake_private_key_block() -> str:
    body = ["".join(secrets.choice(string.ascii_letters + string.digits + "/+") for _ in range(64)) for _ in range(12)]
    return "\n".join([PRIVATE_KEY_HEADER, *body, PRIVATE_KEY_FOOTER]) + "\n"


def plant_aws_secret(repo: Path, path: str = "leaked/settings.py") -> str:
    """A new file whose line 3 holds a made-up AWS secret access key; returns the file's path."""
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    key = fake_aws_secret_access_key()
    target.write_text(f'"""Deployment settings."""\n\naws_secret_access_key = "{key}"\nREGION = "eu-west-1"\n')
    return path


def problem_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stdout.splitlines() if not line.startswith(("check_secrets:", "skipped:"))]


def listed_files(repo: Path) -> list[str]:
    listing = git(repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    return [path for path in listing.split("\0") if path and (repo / path).is_file()]


@pytest.fixture(scope="module")
def planted_copy_run(tmp_path_factory) -> subprocess.CompletedProcess:
    """The work tree as git sees it (tracked and untracked-not-ignored files, among them the current
    baseline and script) copied into a new git repository, plus two new files with made-up secrets:
    leaked/settings.py (an AWS secret access key on line 3) and deploy/id_rsa (a private key block)."""
    copy = tmp_path_factory.mktemp("copy")
    for path in listed_files(ROOT):
        (copy / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / path, copy / path)
    git(copy, "init", "--quiet")
    assert (copy / ".secrets.baseline").read_bytes() == BASELINE.read_bytes()
    assert (copy / "scripts" / "check_secrets.py").read_bytes() == SCRIPT.read_bytes()
    plant_aws_secret(copy, "leaked/settings.py")
    (copy / "deploy").mkdir()
    (copy / "deploy" / "id_rsa").write_text(fake_private_key_block())
    return run_check(copy)


@pytest.fixture
def small_repo(tmp_path) -> Path:
    """A git repository holding the script and a baseline with this repository's settings and no findings."""
    repo = tmp_path / "small"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy2(SCRIPT, repo / "scripts" / "check_secrets.py")
    baseline = json.loads(BASELINE.read_text())
    baseline["results"] = {}
    (repo / ".secrets.baseline").write_text(json.dumps(baseline, indent=2) + "\n")
    (repo / ".gitignore").write_text("ignored/\n")
    (repo / "README.md").write_text("A small repository.\n")
    git(repo, "init", "--quiet")
    return repo


def baseline_entries(repo: Path) -> dict[str, list[dict]]:
    return json.loads((repo / ".secrets.baseline").read_text())["results"]


def record_with_detect_secrets(repo: Path, path: str, is_secret: bool | None) -> None:
    """Add detect-secrets' own findings for path to the repo's baseline, reviewed as is_secret."""
    scanned = subprocess.run(
        [str(DETECT_SECRETS), "scan", "--no-verify", path], cwd=repo, capture_output=True, text=True, check=True
    )
    findings = json.loads(scanned.stdout)["results"][path]
    assert findings
    for finding in findings:
        if is_secret is not None:
            finding["is_secret"] = is_secret
    baseline = json.loads((repo / ".secrets.baseline").read_text())
    baseline["results"][path] = findings
    (repo / ".secrets.baseline").write_text(json.dumps(baseline, indent=2) + "\n")


# (a) this repository


@pytest.fixture(scope="module")
def repository_run() -> subprocess.CompletedProcess:
    return run_check(ROOT, "--verbose")


def test_the_repository_as_it_is_has_no_secret_outside_the_reviewed_baseline(repository_run):
    result = repository_run
    assert result.returncode == 0, result.stdout + result.stderr
    assert problem_lines(result) == []
    assert "check_secrets: no new secrets" in result.stdout
    scanned = next(line for line in result.stdout.splitlines() if line.startswith("check_secrets: scanned "))
    assert int(scanned.split()[2]) > 100


def test_gzipped_fixtures_lock_files_and_hash_lists_are_skipped_by_name(repository_run):
    result = repository_run
    skipped = {line.removeprefix("skipped: ") for line in result.stdout.splitlines() if line.startswith("skipped: ")}
    real = ROOT / "tests" / "fixtures" / "real"
    gzipped = {str(path.relative_to(ROOT)) for path in real.glob("*.gz")}
    assert len(gzipped) >= 4 and gzipped <= skipped
    assert {
        "requirements-dev.lock",
        "terraform/.terraform.lock.hcl",
        "tests/fixtures/real/SHA256SUMS",
        "tests/fixtures/real/jhu-combined-commits.tsv",
        ".secrets.baseline",
    } <= skipped
    assert not any(path.startswith((".venv", ".local/", "build/")) for path in skipped)


def test_the_baseline_holds_only_findings_reviewed_as_false_positives_and_never_verifies_online():
    baseline = json.loads(BASELINE.read_text())
    entries = [entry for findings in baseline["results"].values() for entry in findings]
    assert entries and all(entry["is_secret"] is False for entry in entries)
    assert all("hashed_secret" in entry and "secret" not in entry for entry in entries)
    filters = {entry["path"]: entry for entry in baseline["filters_used"]}
    assert "detect_secrets.filters.common.is_ignored_due_to_verification_policies" not in filters
    assert filters["detect_secrets.filters.regex.should_exclude_file"]["pattern"] == [
        r"\.lock$",
        r"(^|/)\.terraform\.lock\.hcl$",
        r"(^|/)SHA256SUMS$",
        r"^tests/fixtures/real/[^/]+-commits\.tsv$",
    ]


# (b) a new secret fails


def test_a_fake_aws_secret_access_key_in_a_new_file_of_a_copy_of_the_repository_fails_naming_file_and_line(
    planted_copy_run,
):
    assert planted_copy_run.returncode == 1, planted_copy_run.stdout + planted_copy_run.stderr
    assert "leaked/settings.py:3: AWS Access Key: not in the baseline" in problem_lines(planted_copy_run)


def test_a_private_key_block_in_a_new_file_of_a_copy_of_the_repository_fails_naming_file_and_line(planted_copy_run):
    assert planted_copy_run.returncode == 1, planted_copy_run.stdout + planted_copy_run.stderr
    assert "deploy/id_rsa:1: Private Key: not in the baseline" in problem_lines(planted_copy_run)


def test_in_the_copy_only_the_planted_secrets_are_reported_the_baseline_covering_the_rest(planted_copy_run):
    reported = {line.split(":")[0] for line in problem_lines(planted_copy_run)}
    assert reported == {"leaked/settings.py", "deploy/id_rsa"}
    assert all(
        line.startswith(("leaked/settings.py:3: ", "deploy/id_rsa:1: ")) for line in problem_lines(planted_copy_run)
    )


def test_the_secret_itself_is_never_printed(small_repo):
    path = plant_aws_secret(small_repo)
    secret = (small_repo / path).read_text().split('"')[3]
    result = run_check(small_repo)
    assert result.returncode == 1
    assert secret not in result.stdout + result.stderr


# (c) the baseline


def test_a_finding_recorded_in_the_baseline_as_a_false_positive_does_not_fail(small_repo):
    path = plant_aws_secret(small_repo)
    assert run_check(small_repo).returncode == 1
    record_with_detect_secrets(small_repo, path, is_secret=False)
    result = run_check(small_repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "check_secrets: no new secrets" in result.stdout


def test_a_reviewed_false_positive_still_passes_after_its_line_moves(small_repo):
    path = plant_aws_secret(small_repo)
    record_with_detect_secrets(small_repo, path, is_secret=False)
    target = small_repo / path
    target.write_text("# moved down\n\n\n" + target.read_text())
    assert run_check(small_repo).returncode == 0


def test_a_new_secret_in_a_file_with_a_reviewed_false_positive_fails(small_repo):
    path = plant_aws_secret(small_repo)
    record_with_detect_secrets(small_repo, path, is_secret=False)
    target = small_repo / path
    target.write_text(target.read_text() + f'aws_session_key = "{fake_aws_secret_access_key()}"\n')
    result = run_check(small_repo)
    assert result.returncode == 1
    assert f"{path}:5: AWS Access Key: not in the baseline" in problem_lines(result)
    assert not any(line.startswith(f"{path}:3: ") for line in problem_lines(result))


def test_a_finding_the_baseline_marks_as_a_real_secret_fails(small_repo):
    path = plant_aws_secret(small_repo)
    record_with_detect_secrets(small_repo, path, is_secret=True)
    result = run_check(small_repo)
    assert result.returncode == 1
    assert f"{path}:3: AWS Access Key: marked in the baseline as a real secret: remove and rotate it" in (
        problem_lines(result)
    )


def test_a_finding_in_the_baseline_that_nobody_reviewed_fails(small_repo):
    path = plant_aws_secret(small_repo)
    record_with_detect_secrets(small_repo, path, is_secret=None)
    result = run_check(small_repo)
    assert result.returncode == 1
    assert any(
        line.startswith(f"{path}:3: AWS Access Key: in the baseline but not reviewed") for line in problem_lines(result)
    )


def test_update_baseline_records_new_findings_unreviewed_and_keeps_earlier_reviews(small_repo):
    reviewed = plant_aws_secret(small_repo, "leaked/reviewed.py")
    record_with_detect_secrets(small_repo, reviewed, is_secret=False)
    fresh = plant_aws_secret(small_repo, "leaked/fresh.py")
    update = run_check(small_repo, "--update-baseline")
    assert update.returncode == 0, update.stdout + update.stderr
    entries = baseline_entries(small_repo)
    assert {entry["is_secret"] for entry in entries[reviewed]} == {False}
    assert all("is_secret" not in entry or entry["is_secret"] is None for entry in entries[fresh])
    result = run_check(small_repo)
    assert result.returncode == 1
    assert {line.split(":")[0] for line in problem_lines(result)} == {fresh}


# what is scanned


def test_a_secret_in_a_git_ignored_file_is_not_scanned(small_repo):
    plant_aws_secret(small_repo, "ignored/local_settings.py")
    result = run_check(small_repo)
    assert result.returncode == 0, result.stdout
    assert "scanned 3 files of 4 " in result.stdout  # .gitignore, README.md, the script; not the baseline


def test_an_untracked_file_that_git_would_commit_is_scanned(small_repo):
    path = plant_aws_secret(small_repo, "untracked.py")
    assert git(small_repo, "ls-files", "--cached") == ""
    result = run_check(small_repo)
    assert result.returncode == 1
    assert f"{path}:3: AWS Access Key: not in the baseline" in problem_lines(result)


def test_gzipped_files_are_skipped_by_name_without_being_read(small_repo):
    # Plain text under a .gz name: reported only if detect-secrets opened it.
    (small_repo / "data.csv.gz").write_text(fake_private_key_block())
    result = run_check(small_repo, "--verbose")
    assert result.returncode == 0, result.stdout
    assert "skipped: data.csv.gz" in result.stdout
