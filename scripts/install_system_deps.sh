#!/usr/bin/env bash
# Installs the Debian packages named, when missing: `make run` and `make up` need only PostgreSQL's server
# binaries (postgresql); `make test` also Chromium (chromium: the dashboard's browser tests) and
# docker-compose (its static check of docker-compose.yaml).
#
# Usage: scripts/install_system_deps.sh [--missing] PACKAGE...
#   --missing   print the missing packages, one a line, and install nothing
#
# Installing needs root and apt-get; elsewhere it says what to install, in one line, and exits 1.
set -euo pipefail

only_list=0
if [ "${1:-}" = --missing ]; then
  only_list=1
  shift
fi

present() {
  case "$1" in
    # Where scripts/devstack.py looks: $PG_BINDIR, Debian's folders, the PATH.
    postgresql) [[ -n "${PG_BINDIR:-}" && -x "$PG_BINDIR/initdb" ]] || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null ||
      command -v initdb >/dev/null ;;
    # Where tests/dashboard/headless_chromium.py looks: $CHROMIUM, the PATH.
    chromium) [[ -n "${CHROMIUM:-}" && -x "$CHROMIUM" ]] || command -v chromium >/dev/null ;;
    docker-compose) command -v docker-compose >/dev/null ;;
    *)
      echo "install_system_deps.sh: no such package here: $1 (postgresql, chromium, docker-compose)" >&2
      exit 2
      ;;
  esac
}

missing=()
for package in "$@"; do
  present "$package" || missing+=("$package")
done
if [ "$only_list" -eq 1 ]; then
  [ ${#missing[@]} -eq 0 ] || printf '%s\n' "${missing[@]}"
  exit 0
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  declare -A brew=([postgresql]=postgresql@15 [chromium]="--cask chromium" [docker-compose]=docker-compose)
  macos=""
  for package in "${missing[@]}"; do macos+="${macos:+; }brew install ${brew[$package]}"; done
  hint=""
  [[ " ${missing[*]} " == *" postgresql "* ]] && hint=" (or, for make run, set COVID_ETL_DB_URL to a database you have)"
  echo "Missing system packages: ${missing[*]}. Install them: Debian/Ubuntu: sudo apt-get install ${missing[*]};" \
    "macOS: $macos$hint." >&2
  exit 1
fi
echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's postgresql package starts a cluster of its own; this project runs its own servers.
if [[ " ${missing[*]} " == *" postgresql "* ]] && command -v pg_ctlcluster >/dev/null; then
  pg_lsclusters -h 2>/dev/null | while read -r version name _; do pg_ctlcluster "$version" "$name" stop || true; done
fi
