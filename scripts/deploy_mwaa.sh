#!/usr/bin/env bash
# Uploads the artifacts of scripts/package_mwaa.py to the MWAA bucket and points the environment at the
# new plugins.zip and requirements.txt versions.
#
# The bucket and environment come from the Terraform outputs, or from MWAA_BUCKET / MWAA_ENV when set
# (CI, which has no Terraform state). DRY_RUN=1 prints the commands instead of running them.
# MWAA_DIST overrides where the artifacts are (default dist/mwaa, relative to the repository).
# AWS credentials and region come from the environment, as for any aws CLI call.
set -euo pipefail
cd "$(dirname "$0")/.."

DIST="${MWAA_DIST:-dist/mwaa}"
DRY_RUN="${DRY_RUN:-0}"

# Prints a command the way it would be typed: arguments with spaces or shell characters single-quoted.
show() {
  local out="" arg
  for arg in "$@"; do
    if [[ "$arg" =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
      out+=" $arg"
    else
      out+=" '${arg//\'/\'\\\'\'}'"
    fi
  done
  printf '%s\n' "${out# }"
}

run() {
  if [ "$DRY_RUN" = 1 ]; then
    show "$@"
  else
    "$@"
  fi
}

# put_versioned KEY PLACEHOLDER VAR: uploads $DIST/KEY and stores its S3 VersionId, which
# update-environment needs, in VAR (the placeholder on a dry run).
put_versioned() {
  local key="$1" placeholder="$2" version
  if [ "$DRY_RUN" = 1 ]; then
    show aws s3api put-object --bucket "$BUCKET" --key "$key" --body "$DIST/$key" \
      --query VersionId --output text
    version="$placeholder"
  else
    version=$(aws s3api put-object --bucket "$BUCKET" --key "$key" --body "$DIST/$key" \
      --query VersionId --output text)
    if [ -z "$version" ] || [ "$version" = None ]; then
      echo "s3://$BUCKET/$key has no VersionId: MWAA needs a versioned bucket" >&2
      exit 1
    fi
  fi
  printf -v "$3" '%s' "$version"
}

# `terraform output -raw` on a state without outputs prints a warning and exits 0, so the names are
# checked against AWS's own rules for bucket and environment names.
BUCKET="${MWAA_BUCKET:-$(terraform -chdir=terraform output -no-color -raw artifacts_bucket_name)}"
ENV_NAME="${MWAA_ENV:-$(terraform -chdir=terraform output -no-color -raw mwaa_environment_name)}"
if ! [[ "$BUCKET" =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]]; then
  echo "Not an S3 bucket name: '$BUCKET' (terraform apply first, or set MWAA_BUCKET)" >&2
  exit 1
fi
if ! [[ "$ENV_NAME" =~ ^[A-Za-z][A-Za-z0-9_-]{0,79}$ ]]; then
  echo "Not an MWAA environment name: '$ENV_NAME' (terraform apply first, or set MWAA_ENV)" >&2
  exit 1
fi

if [ "$DRY_RUN" != 1 ]; then
  for artifact in dags plugins.zip requirements.txt; do
    if [ ! -e "$DIST/$artifact" ]; then
      echo "$DIST/$artifact is missing: run make package first" >&2
      exit 1
    fi
  done
fi

# MWAA picks up DAG changes from S3 by itself; --delete removes files dropped from the package.
run aws s3 sync --delete "$DIST/dags/" "s3://$BUCKET/dags/"
put_versioned plugins.zip '<VersionId of plugins.zip>' plugins_version
put_versioned requirements.txt '<VersionId of requirements.txt>' requirements_version
# Plugins and requirements only change on an environment update, which restarts Airflow on MWAA.
run aws mwaa update-environment --name "$ENV_NAME" \
  --plugins-s3-path plugins.zip --plugins-s3-object-version "$plugins_version" \
  --requirements-s3-path requirements.txt --requirements-s3-object-version "$requirements_version"
