#!/usr/bin/env bash
# Static security scan of terraform/ with checkov, offline.
#
# checkov pins its own boto3 (and more), which conflicts with Airflow's, so it lives in its own
# virtualenv, .venv-checkov, installed from the hashed lock requirements-checkov.lock. The venv is
# (re)built when it is missing or was built from a different lock.
#
# Two passes: the default variables, then every optional feature switched on (QuickSight, one NAT
# gateway per AZ, private UI access rules), because checkov does not evaluate resources whose
# count is 0. Exits non-zero when any check fails in either pass. Every exemption is an inline
# `#checkov:skip=CKV_...:reason` comment next to the resource it concerns.
#
# Usage: scripts/check_terraform.sh [extra checkov arguments]
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${CHECKOV_VENV:-$repo_root/.venv-checkov}"
lock="$repo_root/requirements-checkov.lock"
python="${PYTHON:-python3}"
uv_version="0.13.9"
stamp="$venv/.requirements-checkov.lock.sha256"

lock_hash="$(sha256sum "$lock" | cut -d' ' -f1)"

if [[ ! -x "$venv/bin/checkov" || ! -f "$stamp" || "$(cat "$stamp")" != "$lock_hash" ]]; then
    echo "check_terraform: building $venv from requirements-checkov.lock" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$uv_version"
    "$venv/bin/uv" pip sync --quiet --require-hashes --python "$venv/bin/python" "$lock"
    echo "$lock_hash" >"$stamp"
fi

# Offline: no platform API key, no policy/guideline download, no PyPI version check.
unset BC_API_KEY PRISMA_API_URL
export BC_SKIP_MAPPING=TRUE
export CKV_SKIP_PACKAGE_UPDATE_CHECK=TRUE

all_features="$(mktemp --suffix=.tfvars)"
trap 'rm -f "$all_features"' EXIT
cat >"$all_features" <<'EOF'
enable_quicksight            = true
quicksight_principal_arn     = "arn:aws:quicksight:eu-west-1:123456789012:group/default/covid-etl-readers"
one_nat_gateway_per_az       = true
mwaa_webserver_allowed_cidrs = ["10.100.0.0/16"]
notification_emails          = ["ops@example.com"]
plugins_s3_object_version      = "example-plugins-version"
requirements_s3_object_version = "example-requirements-version"
EOF

run_checkov() {
    "$venv/bin/checkov" \
        --directory "$repo_root/terraform" \
        --framework terraform \
        --skip-download \
        --quiet \
        --compact \
        "$@"
}

status=0
echo "== checkov: default variables"
run_checkov "$@" || status=1
echo "== checkov: every optional feature enabled"
run_checkov --var-file "$all_features" "$@" || status=1

if [[ $status -ne 0 ]]; then
    echo "check_terraform: FAILED" >&2
else
    echo "check_terraform: OK"
fi
exit "$status"
