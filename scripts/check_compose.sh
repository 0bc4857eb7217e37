#!/usr/bin/env bash
# Validates docker-compose.yaml without a Docker engine: Compose 1.29 (Debian's docker-compose package)
# checks the schema, interpolation, anchors and depends_on conditions.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v docker-compose >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose
fi

# .env.example rather than a developer's .env, so the result does not depend on who runs it.
docker-compose --env-file .env.example -f docker-compose.yaml config -q
echo "docker-compose.yaml: valid"
