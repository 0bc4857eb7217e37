#!/usr/bin/env bash
# Every check of terraform/, offline: format, init, validate, `terraform test`, checkov.
#
#   1. terraform fmt -check -recursive
#   2. terraform init -backend=false against a local provider mirror when there is one (this
#      machine: /opt/tf-plugins, found by searching, or $TF_PLUGIN_MIRROR), otherwise from the
#      registry (GitHub Actions). The lock file terraform/.terraform.lock.hcl is read-only here.
#   3. terraform validate
#   4. terraform test: terraform/tests/*.tftest.hcl, plan-only runs with a mocked AWS provider. The
#      one ephemeral resource (the database password), which Terraform 1.11 cannot mock, gets a real
#      provider whose Secrets Manager endpoint is tests/infra/terraform/password_stub.py on 127.0.0.1.
#   5. checkov, twice: the default variables, then every optional feature switched on (QuickSight,
#      one NAT gateway per AZ, private UI access rules, ...), because checkov does not evaluate
#      resources whose count is 0. Every exemption is an inline `#checkov:skip=CKV_...:reason`
#      comment next to the resource it concerns. checkov pins its own boto3 (and more), which
#      conflicts with Airflow's, so it lives in its own virtualenv, .venv-checkov, installed from
#      the hashed lock requirements-checkov.lock and rebuilt when that lock changes.
#
# Exits non-zero when any step fails. Needs Terraform >= 1.11 on PATH (CI installs 1.11.4).
#
# Usage: scripts/check_terraform.sh [extra checkov arguments]
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tf_dir="$repo_root/terraform"
venv="${CHECKOV_VENV:-$repo_root/.venv-checkov}"
lock="$repo_root/requirements-checkov.lock"
python="${PYTHON:-python3}"
uv_version="0.13.9"
stamp="$venv/.requirements-checkov.lock.sha256"
terraform_version_wanted="1.11.4"
started=$SECONDS

step() { printf '\n== %s\n' "$*"; }
fail() {
    echo "check_terraform: FAILED: $*" >&2
    exit 1
}

###############################################################################
# Terraform
###############################################################################

if ! command -v terraform >/dev/null 2>&1; then
    fail "terraform is not on PATH. Install Terraform $terraform_version_wanted (https://developer.hashicorp.com/terraform/install; CI uses hashicorp/setup-terraform with terraform_version \"$terraform_version_wanted\")."
fi
tf_version="$(terraform version -json 2>/dev/null | "$python" -c 'import json, sys; print(json.load(sys.stdin)["terraform_version"])')"
if ! "$python" -c 'import sys; v = tuple(int(p) for p in sys.argv[1].split("-")[0].split(".")[:2]); sys.exit(v < (1, 11))' "$tf_version"; then
    fail "terraform $tf_version is too old: write-only arguments and ephemeral resources need >= 1.11. Install Terraform $terraform_version_wanted."
fi

work="$(mktemp -d)"
stub_pid=""
cleanup() {
    if [[ -n "$stub_pid" ]]; then kill "$stub_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# Keep a developer's own `terraform init` (with a real backend) in terraform/.terraform untouched.
export TF_DATA_DIR="$repo_root/build/terraform-check/.terraform"
export TF_IN_AUTOMATION=1 TF_INPUT=0
# A TF_CLI_CONFIG_FILE pointing at a missing file only produces warnings; use an empty config then.
if [[ -n "${TF_CLI_CONFIG_FILE:-}" && ! -f "$TF_CLI_CONFIG_FILE" ]]; then
    export TF_CLI_CONFIG_FILE="$work/terraformrc"
    : >"$TF_CLI_CONFIG_FILE"
fi
color=()
[[ -t 1 ]] || color=(-no-color)

# The provider mirror: a directory holding registry.terraform.io/hashicorp/aws/<version>/<platform>/
# for this machine's platform. Terraform data directories (.../providers/registry.terraform.io/...)
# have the same shape but are no mirror: skipped.
mirror="${TF_PLUGIN_MIRROR:-}"
if [[ -z "$mirror" ]]; then
    platform="$(terraform version -json | "$python" -c 'import json, sys; print(json.load(sys.stdin)["platform"])')"
    while IFS= read -r found; do
        if compgen -G "$found/*/$platform" >/dev/null; then
            mirror="${found%/registry.terraform.io/hashicorp/aws}"
            break
        fi
    done < <(find / -maxdepth 6 -type d -path '*/registry.terraform.io/hashicorp/aws' \
        -not -path '*/providers/registry.terraform.io/*' -not -path '/proc/*' 2>/dev/null | sort)
fi
init_args=(-backend=false -lockfile=readonly "${color[@]}")
if [[ -n "$mirror" ]]; then
    [[ -d "$mirror/registry.terraform.io/hashicorp/aws" ]] || fail "TF_PLUGIN_MIRROR=$mirror holds no registry.terraform.io/hashicorp/aws"
    init_args+=("-plugin-dir=$mirror")
    source_note="provider mirror $mirror"
else
    source_note="the Terraform registry (no local mirror found; set TF_PLUGIN_MIRROR to use one)"
fi

step "terraform $tf_version: fmt -check -recursive"
terraform -chdir="$tf_dir" fmt -check -recursive -diff || fail "terraform fmt: run \`terraform -chdir=terraform fmt -recursive\`"

step "terraform init -backend=false from $source_note"
terraform -chdir="$tf_dir" init "${init_args[@]}" >"$work/init.log" 2>&1 || {
    cat "$work/init.log" >&2
    fail "terraform init"
}
grep -E '^- (Installed|Using|Reusing)' "$work/init.log" || true

step "terraform validate"
terraform -chdir="$tf_dir" validate "${color[@]}" || fail "terraform validate"

step "terraform test (mocked AWS provider, plan-only runs)"
"$python" "$repo_root/tests/infra/terraform/password_stub.py" "$work/stub.port" "$work/stub.log" &
stub_pid=$!
for _ in $(seq 50); do
    [[ -s "$work/stub.port" ]] && break
    sleep 0.1
done
[[ -s "$work/stub.port" ]] || fail "the GetRandomPassword stub (tests/infra/terraform/password_stub.py) did not start"
# Only the ephemeral password's provider (alias aws.password) calls an AWS API; it goes here.
export AWS_ENDPOINT_URL_SECRETS_MANAGER="http://127.0.0.1:$(cat "$work/stub.port")"
# Dummy credentials for that provider (never validated); a developer's own profile stays unused.
env -u AWS_PROFILE -u AWS_SESSION_TOKEN AWS_ACCESS_KEY_ID=check-terraform-dummy AWS_SECRET_ACCESS_KEY=check-terraform-dummy \
    terraform -chdir="$tf_dir" test "${color[@]}" | tee "$work/test.log" || fail "terraform test"
# "Success! 31 passed, 0 failed." -> "31 passed, 0 failed"
test_summary="$(sed -E 's/\x1b\[[0-9;]*m//g' "$work/test.log" | grep -E '^Success!' | tail -n 1 | sed -E 's/^Success! //; s/\.$//')"

# The ephemeral resource did ask Secrets Manager for the password the database needs.
"$python" - "$work/stub.log" <<'EOF' || fail "the ephemeral password request does not ask for what RDS accepts"
import json, sys
requests = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
asked = [r["body"] for r in requests if r["target"].endswith(".GetRandomPassword")]
assert asked, "no GetRandomPassword request reached the stub"
for body in asked:
    assert body.get("PasswordLength", 0) >= 32, body
    assert body.get("IncludeSpace") is False and body.get("RequireEachIncludedType") is True, body
    assert set('/@"') <= set(body.get("ExcludeCharacters", "")), body
print(f"ephemeral password: {len(asked)} GetRandomPassword requests, all for >= 32 characters without / @ \" or spaces")
EOF

###############################################################################
# checkov
###############################################################################

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

all_features="$work/all-features.tfvars"
cat >"$all_features" <<'EOF'
enable_quicksight            = true
quicksight_principal_arn     = "arn:aws:quicksight:eu-west-1:123456789012:group/default/covid-etl-readers"
one_nat_gateway_per_az       = true
mwaa_webserver_allowed_cidrs = ["10.100.0.0/16"]
notification_emails          = ["ops@example.com"]
plugins_s3_object_version      = "3sL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"
requirements_s3_object_version = "wNnBZwbmPIlmsW7DOE5M7pF2MLoH0vlc"
EOF

run_checkov() {
    "$venv/bin/checkov" \
        --directory "$tf_dir" \
        --framework terraform \
        --skip-download \
        --quiet \
        --compact \
        "$@"
}

status=0
step "checkov: default variables"
run_checkov "$@" || status=1
step "checkov: every optional feature enabled"
run_checkov --var-file "$all_features" "$@" || status=1
[[ $status -eq 0 ]] || fail "checkov"

echo
echo "check_terraform: OK in $((SECONDS - started)) s: fmt, init, validate; terraform test $test_summary; checkov 2 passes, 0 failed checks"
