#!/usr/bin/env bash
# `make test`'s first step: checks within seconds everything the suite needs beyond .venv, so that
# nothing missing is found only after minutes of tests:
#
#   - Python >= 3.11 with its venv module (scripts/venv_python.sh chooses it);
#   - PostgreSQL's server binaries, Chromium and docker-compose (scripts/install_system_deps.sh);
#   - Terraform >= 1.11 and the hashicorp/aws provider of terraform/.terraform.lock.hcl, from a local
#     mirror as scripts/check_terraform.sh finds one ($TF_PLUGIN_MIRROR, or a folder under /), or from
#     registry.terraform.io when it can be reached (CI).
#
# When only Debian packages are missing and it runs as root with apt-get, it installs them. Otherwise
# it names everything missing, each with how to get it, and exits 1 before anything is installed.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
started=$SECONDS
terraform_version_wanted="1.11.4" # as scripts/check_terraform.sh and CI
problems=()
found=()

# Python
python=""
if chosen="$(bash "$repo_root/scripts/venv_python.sh" 2>&1)"; then
  python="$chosen"
  found+=("Python $("$python" -c 'import platform; print(platform.python_version())')")
else
  problems+=("${chosen#venv_python.sh: }")
fi

# Debian packages
mapfile -t packages < <(bash "$repo_root/scripts/install_system_deps.sh" --missing postgresql chromium docker-compose)

# Terraform, without asking HashiCorp for a newer version
export CHECKPOINT_DISABLE=1
install_terraform="install Terraform $terraform_version_wanted (https://developer.hashicorp.com/terraform/install), as CI does"
if ! command -v terraform >/dev/null; then
  problems+=("Terraform >= 1.11 is not on the PATH: $install_terraform")
else
  # A TF_CLI_CONFIG_FILE that names a missing file only adds warnings on stderr.
  version_json="$(terraform version -json 2>/dev/null)"
  tf_version="$(sed -n 's/.*"terraform_version": *"\([^"]*\)".*/\1/p' <<<"$version_json")"
  platform="$(sed -n 's/.*"platform": *"\([^"]*\)".*/\1/p' <<<"$version_json")"
  IFS=. read -r major minor _ <<<"$tf_version"
  if ((major < 1 || (major == 1 && minor < 11))); then
    problems+=("Terraform $tf_version is too old (write-only arguments and ephemeral resources need >= 1.11): $install_terraform")
  else
    found+=("Terraform $tf_version")
    aws_version="$(sed -n '/"registry.terraform.io\/hashicorp\/aws"/,/}/s/^ *version *= *"\(.*\)"/\1/p' \
      "$repo_root/terraform/.terraform.lock.hcl")"
    wanted="registry.terraform.io/hashicorp/aws $aws_version for $platform (terraform/.terraform.lock.hcl)"
    # A mirror holds the provider unpacked (<version>/<platform>/) or packed (a zip per version and platform).
    holds() {
      [[ -d "$1/registry.terraform.io/hashicorp/aws/$aws_version/$platform" ||
        -f "$1/registry.terraform.io/hashicorp/aws/terraform-provider-aws_${aws_version}_${platform}.zip" ]]
    }
    mirror=""
    if [[ -n "${TF_PLUGIN_MIRROR:-}" ]]; then
      holds "$TF_PLUGIN_MIRROR" && mirror="$TF_PLUGIN_MIRROR" ||
        problems+=("TF_PLUGIN_MIRROR=$TF_PLUGIN_MIRROR holds no $wanted: fill it with \`terraform -chdir=terraform providers mirror $TF_PLUGIN_MIRROR\` on a machine online, or unset it")
    else
      # As scripts/check_terraform.sh searches; Terraform's own data folders (.../providers/...) are no mirror.
      while IFS= read -r folder; do
        if holds "${folder%/registry.terraform.io/hashicorp/aws}"; then
          mirror="${folder%/registry.terraform.io/hashicorp/aws}"
          break
        fi
      done < <(find / -maxdepth 6 -type d -path '*/registry.terraform.io/hashicorp/aws' \
        -not -path '*/providers/registry.terraform.io/*' -not -path '/proc/*' 2>/dev/null | sort)
      if [[ -z "$mirror" ]]; then
        if [[ -n "$python" ]] && "$python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' \
          https://registry.terraform.io/.well-known/terraform.json 2>/dev/null; then
          mirror="registry.terraform.io"
        else
          problems+=("no local mirror holds $wanted, and registry.terraform.io cannot be reached: on a machine online, run \`terraform -chdir=terraform providers mirror <folder>\`, copy the folder here and set TF_PLUGIN_MIRROR=<folder>")
        fi
      fi
    fi
    [[ -z "$mirror" ]] || found+=("hashicorp/aws $aws_version from $mirror")
  fi
fi

can_install=0
[[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null && can_install=1
if ((${#packages[@]})) && ((${#problems[@]} || !can_install)); then
  how="Debian/Ubuntu: sudo apt-get install ${packages[*]}"
  ((can_install)) && how="make test installs them as root with apt-get once nothing else is missing"
  problems+=("Debian packages missing: ${packages[*]} ($how)")
fi
if ((${#problems[@]})); then
  echo "make test: prerequisites missing (checked in $((SECONDS - started)) s):" >&2
  printf '  - %s\n' "${problems[@]}" >&2
  exit 1
fi
if ((${#packages[@]})); then
  bash "$repo_root/scripts/install_system_deps.sh" "${packages[@]}"
fi
found+=(PostgreSQL Chromium docker-compose)
summary=""
for item in "${found[@]}"; do summary+="${summary:+, }$item"; done
echo "Prerequisites: $summary (checked in $((SECONDS - started)) s)"
