#!/usr/bin/env bash
# Validate docker-compose.yml without starting anything: `docker-compose config -q`.
# Installs the Debian package `docker-compose` when it is missing and we are root.
# Uses deploy/env.example as the env file, so the check needs no real secrets.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"

if ! command -v docker-compose >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "check-compose: docker-compose is not installed (apt-get install docker-compose, as root)" >&2
        exit 2
    fi
    echo "check-compose: installing the Debian package docker-compose" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
fi

cd "$repo"
docker-compose --env-file deploy/env.example -f docker-compose.yml config -q
echo "check-compose: docker-compose.yml is valid ($(docker-compose version --short))"
