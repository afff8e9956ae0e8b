#!/usr/bin/env bash
# Prometheus, promtool and amtool for the tests and for local use, from Debian's
# packages; and a local Prometheus on 127.0.0.1 for development.
#
#   scripts/prometheus.sh install              make sure prometheus, promtool and amtool are on PATH
#                                              (apt-get install prometheus prometheus-alertmanager if not)
#   scripts/prometheus.sh check                promtool/amtool checks and rule unit tests of deploy/prometheus
#   scripts/prometheus.sh up [CONFIG] [PORT]   start a local Prometheus (idempotent); waits for /-/ready
#   scripts/prometheus.sh down                 stop it (idempotent)
#   scripts/prometheus.sh status [PORT]        exit 0 if it answers /-/ready, 1 if not
#   scripts/prometheus.sh logs                 tail of its log
#
# The Debian packages would start system services; a policy-rc.d keeps them from
# doing so, so nothing listens afterwards: tests and `up` start their own.
#
# Everything `up` writes lives under .local/prometheus/ at the repo root:
#   data/  TSDB    prometheus.log    prometheus.pid    port (the port of the last `up`)
#
# Environment (arguments win over these):
#   PROMETHEUS_CONFIG          config file (default deploy/prometheus/local.yml, which scrapes
#                              a worker on 127.0.0.1:6066 such as `make demo`'s; its
#                              rule_files are read relative to it)
#   PROMETHEUS_PORT            port on 127.0.0.1 (default 9090)
#   PROMETHEUS_HOME_DIR        state folder instead of .local/prometheus
#   PROMETHEUS_START_TIMEOUT   seconds `up` waits for /-/ready (default 30)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PHOME="${PROMETHEUS_HOME_DIR:-$ROOT/.local/prometheus}"
[[ "$PHOME" == /* ]] || PHOME="$PWD/$PHOME"
HOST=127.0.0.1
DATA="$PHOME/data"
LOG="$PHOME/prometheus.log"
PIDFILE="$PHOME/prometheus.pid"
PORTFILE="$PHOME/port"
START_TIMEOUT="${PROMETHEUS_START_TIMEOUT:-30}"
STOP_TIMEOUT=20

say() { printf 'prometheus: %s\n' "$*"; }
die() { printf 'prometheus: error: %s\n' "$*" >&2; exit 1; }

# --- install -----------------------------------------------------------------

have_all() { command -v prometheus >/dev/null && command -v promtool >/dev/null && command -v amtool >/dev/null; }

cmd_install() {
  if have_all; then
    return 0
  fi
  local sudo=""
  if [[ "$(id -u)" -ne 0 ]]; then
    command -v sudo >/dev/null || die "need root or sudo to apt-get install prometheus"
    sudo="sudo"
  fi
  command -v apt-get >/dev/null ||
    die "no apt-get here; install Prometheus 2.x (prometheus, promtool) and Alertmanager (amtool) yourself"
  say "installing Debian's prometheus and prometheus-alertmanager packages" >&2
  # Keep the packages' postinst from starting system services (invoke-rc.d and
  # deb-systemd-invoke ask policy-rc.d; 101 = action forbidden).
  RC=/usr/sbin/policy-rc.d
  SUDO="$sudo"
  if [[ ! -e "$RC" ]]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$RC" >/dev/null
    $sudo chmod +x "$RC"
    # shellcheck disable=SC2317  # called through the trap
    trap '$SUDO rm -f "$RC"' EXIT
  fi
  # A fresh machine has no package lists: update once, only when the install needs it.
  if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      prometheus prometheus-alertmanager >/dev/null; then
    $sudo apt-get update -q >/dev/null
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      prometheus prometheus-alertmanager >/dev/null
  fi
  have_all || die "install finished but prometheus/promtool/amtool are not on PATH"
  say "$(prometheus --version 2>&1 | head -1)" >&2
}

cmd_check() {
  cmd_install
  cd "$ROOT/deploy/prometheus"
  promtool check config prometheus.yml
  promtool check config local.yml
  promtool check rules rules/*.yml
  promtool test rules tests/*.yml
  amtool check-config alertmanager.yml
}

# --- local server (scripts/lib/local-server.sh) --------------------------------

NAME=prometheus
SERVER_BIN=prometheus
PORT_VAR=PROMETHEUS_PORT
DEFAULT_PORT=9090
PID_MARKER="--storage.tsdb.path=$DATA"

check_config() { promtool check config "$1"; }

server_args() {
  SERVER_ARGS=(--config.file="$1" --storage.tsdb.path="$DATA" --web.listen-address="$HOST:$2" --web.enable-lifecycle)
}

# shellcheck source=scripts/lib/local-server.sh
. "$ROOT/scripts/lib/local-server.sh"

case "${1:-}" in
  install) cmd_install ;;
  check) cmd_check ;;
  up) cmd_up "${2:-${PROMETHEUS_CONFIG:-$ROOT/deploy/prometheus/local.yml}}" "${3:-${PROMETHEUS_PORT:-$DEFAULT_PORT}}" ;;
  down) cmd_down ;;
  status) cmd_status "${2:-}" ;;
  logs) cmd_logs "${2:-50}" ;;
  *) echo "usage: $0 install|check|up [CONFIG] [PORT]|down|status [PORT]|logs" >&2; exit 2 ;;
esac
