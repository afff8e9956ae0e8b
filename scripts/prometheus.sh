#!/usr/bin/env bash
# Prometheus, promtool and amtool for the tests and for local use, from Debian's packages.
#
#   scripts/prometheus.sh install   make sure prometheus, promtool and amtool are on PATH
#                                   (apt-get install prometheus prometheus-alertmanager if not)
#   scripts/prometheus.sh check     promtool/amtool checks and rule unit tests of deploy/prometheus
#
# The Debian packages would start system services; a policy-rc.d keeps them from
# doing so, so nothing listens afterwards: tests start their own Prometheus on a
# free port of 127.0.0.1.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

have_all() { command -v prometheus >/dev/null && command -v promtool >/dev/null && command -v amtool >/dev/null; }

install() {
    if have_all; then
        return 0
    fi
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "prometheus.sh: need root or sudo to apt-get install prometheus" >&2; exit 1; }
        sudo="sudo"
    fi
    command -v apt-get >/dev/null || {
        echo "prometheus.sh: no apt-get here; install Prometheus 2.x (prometheus, promtool) and Alertmanager (amtool) yourself" >&2
        exit 1
    }
    echo "prometheus.sh: installing Debian's prometheus and prometheus-alertmanager packages" >&2
    RC=/usr/sbin/policy-rc.d
    SUDO="$sudo"
    if [ ! -e "$RC" ]; then
        printf '#!/bin/sh\nexit 101\n' | $sudo tee "$RC" >/dev/null
        $sudo chmod +x "$RC"
        # shellcheck disable=SC2317  # called through the trap
        trap '$SUDO rm -f "$RC"' EXIT
    fi
    if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            prometheus prometheus-alertmanager >/dev/null; then
        $sudo apt-get update -q >/dev/null
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            prometheus prometheus-alertmanager >/dev/null
    fi
    have_all || { echo "prometheus.sh: install finished but prometheus/promtool/amtool are not on PATH" >&2; exit 1; }
    echo "prometheus.sh: $(prometheus --version 2>&1 | head -1)" >&2
}

check() {
    install
    cd "$ROOT/deploy/prometheus"
    promtool check config prometheus.yml
    promtool check rules rules/*.yml
    promtool test rules tests/*.yml
    amtool check-config alertmanager.yml
}

case "${1:-}" in
    install) install ;;
    check) check ;;
    *) echo "usage: $0 install|check" >&2; exit 2 ;;
esac
