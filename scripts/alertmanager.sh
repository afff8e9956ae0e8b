#!/usr/bin/env bash
# A local Alertmanager on 127.0.0.1 for the demo and for development, from Debian's
# prometheus-alertmanager package (binary /usr/bin/prometheus-alertmanager).
#
#   scripts/alertmanager.sh install              make sure prometheus-alertmanager and amtool are on PATH
#                                                (scripts/prometheus.sh install: apt-get if not)
#   scripts/alertmanager.sh check [CONFIG]       amtool check-config (default deploy/alertmanager/demo.yml)
#   scripts/alertmanager.sh up [CONFIG] [PORT]   start it (idempotent); waits for /-/ready
#   scripts/alertmanager.sh down                 stop it (idempotent)
#   scripts/alertmanager.sh status [PORT]        exit 0 if it answers /-/ready, 1 if not
#   scripts/alertmanager.sh logs                 tail of its log
#
# Clustering is off (--cluster.listen-address=), so nothing listens on 9094.
# Everything `up` writes lives under .local/alertmanager/ at the repo root:
#   data/  silences and notification log    alertmanager.log    alertmanager.pid    port
#
# Environment (arguments win over these):
#   ALERTMANAGER_CONFIG          config file (default deploy/alertmanager/demo.yml: the example routes,
#                                every receiver a webhook that nobody needs to run)
#   ALERTMANAGER_PORT            port on 127.0.0.1 (default 9093)
#   ALERTMANAGER_HOME_DIR        state folder instead of .local/alertmanager
#   ALERTMANAGER_START_TIMEOUT   seconds `up` waits for /-/ready (default 30)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PHOME="${ALERTMANAGER_HOME_DIR:-$ROOT/.local/alertmanager}"
[[ "$PHOME" == /* ]] || PHOME="$PWD/$PHOME"
HOST=127.0.0.1
DATA="$PHOME/data"
LOG="$PHOME/alertmanager.log"
PIDFILE="$PHOME/alertmanager.pid"
PORTFILE="$PHOME/port"
START_TIMEOUT="${ALERTMANAGER_START_TIMEOUT:-30}"
STOP_TIMEOUT=20

say() { printf 'alertmanager: %s\n' "$*"; }
die() { printf 'alertmanager: error: %s\n' "$*" >&2; exit 1; }

# --- install -----------------------------------------------------------------

AM=prometheus-alertmanager
DEFAULT_CONFIG="$ROOT/deploy/alertmanager/demo.yml"

cmd_install() {
  command -v "$AM" >/dev/null && command -v amtool >/dev/null && return 0
  "$ROOT/scripts/prometheus.sh" install
  command -v "$AM" >/dev/null || die "install finished but $AM is not on PATH"
}

cmd_check() {
  cmd_install
  amtool check-config "${1:-${ALERTMANAGER_CONFIG:-$DEFAULT_CONFIG}}"
}

# --- local server (scripts/lib/local-server.sh) --------------------------------

NAME=alertmanager
SERVER_BIN="$AM"
PORT_VAR=ALERTMANAGER_PORT
DEFAULT_PORT=9093
PID_MARKER="--storage.path=$DATA"

check_config() { amtool check-config "$1"; }

# Clustering off: nothing listens on 9094.
server_args() {
  SERVER_ARGS=(--config.file="$1" --storage.path="$DATA" --web.listen-address="$HOST:$2" --cluster.listen-address=)
}

# shellcheck source=scripts/lib/local-server.sh
. "$ROOT/scripts/lib/local-server.sh"

case "${1:-}" in
  install) cmd_install ;;
  check) cmd_check "${2:-}" ;;
  up) cmd_up "${2:-${ALERTMANAGER_CONFIG:-$DEFAULT_CONFIG}}" "${3:-${ALERTMANAGER_PORT:-$DEFAULT_PORT}}" ;;
  down) cmd_down ;;
  status) cmd_status "${2:-}" ;;
  logs) cmd_logs "${2:-50}" ;;
  *) echo "usage: $0 install|check [CONFIG]|up [CONFIG] [PORT]|down|status [PORT]|logs" >&2; exit 2 ;;
esac
