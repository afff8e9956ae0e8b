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

# --- local server ------------------------------------------------------------

# HTTP 200 from /-/ready on the port (plain bash: no curl needed).
ready() {
  # shellcheck disable=SC2016  # expanded by the inner bash
  timeout 3 bash -c '
    exec 3<>"/dev/tcp/$0/$1" || exit 1
    printf "GET /-/ready HTTP/1.0\r\nHost: %s\r\n\r\n" "$0" >&3
    IFS= read -r status <&3
    [[ $status == "HTTP/1."?" 200"* ]]
  ' "$HOST" "$1" 2>/dev/null
}

port_open() {
  # shellcheck disable=SC2016
  timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$HOST" "$1" 2>/dev/null
}

alive() {
  local state
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)"
  [[ -n "$state" && "$state" != Z ]]
}

# The pid in the pid file, if that process is alive and is our Alertmanager.
server_pid() {
  local pid
  [[ -f "$PIDFILE" ]] || return 1
  pid="$(<"$PIDFILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  # Guard against a recycled pid: it must be alertmanager with our storage folder.
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "--storage.path=$DATA " || return 1
  echo "$pid"
}

# The port asked for, else the one of the last `up`, else 9093.
known_port() {
  if [[ -n "${1:-}" ]]; then echo "$1"
  elif [[ -n "${ALERTMANAGER_PORT:-}" ]]; then echo "$ALERTMANAGER_PORT"
  elif [[ -s "$PORTFILE" ]]; then cat "$PORTFILE"
  else echo 9093
  fi
}

lock() {
  mkdir -p "$PHOME"
  exec 9>"$PHOME/.lock"
  flock -w 60 9 || die "could not lock $PHOME/.lock"
}

cmd_up() {
  local config="${1:-${ALERTMANAGER_CONFIG:-$DEFAULT_CONFIG}}"
  local port="${2:-${ALERTMANAGER_PORT:-9093}}" pid
  [[ "$port" =~ ^[0-9]+$ ]] || die "port must be a number, not '$port'"
  [[ -f "$config" ]] || die "no config file $config"
  config="$(cd "$(dirname "$config")" && pwd)/$(basename "$config")"
  lock
  if pid="$(server_pid)"; then
    if ready "$(known_port)"; then
      say "already running on $HOST:$(known_port) (pid $pid); 'down' first to change config or port"
      return 0
    fi
    say "pid $pid is starting; waiting for it ..."
    wait_ready "$pid" "$(known_port)"
    return 0
  fi
  rm -f "$PIDFILE"
  port_open "$port" && die "something already listens on $HOST:$port (ALERTMANAGER_PORT or the second argument picks another)"
  command -v "$AM" >/dev/null || die "$AM not found: run scripts/alertmanager.sh install"
  amtool check-config "$config" >"$PHOME/check.log" 2>&1 || { cat "$PHOME/check.log" >&2; die "$config is not valid"; }

  mkdir -p "$DATA"
  echo "$port" >"$PORTFILE"
  echo "----- scripts/alertmanager.sh: starting $(date '+%F %T') with $config on port $port" >>"$LOG"
  # Detached (own session, no stdin, no lock fd) so it outlives the caller; bash
  # writes its own pid and then execs alertmanager in place.
  # shellcheck disable=SC2016
  nohup setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PIDFILE" \
    "$AM" --config.file="$config" --storage.path="$DATA" \
    --web.listen-address="$HOST:$port" --cluster.listen-address= \
    </dev/null >>"$LOG" 2>&1 9>&- &
  local launcher=$! i
  for i in $(seq 1 40); do
    [[ -s "$PIDFILE" ]] && break
    sleep 0.05
  done
  pid="$(cat "$PIDFILE" 2>/dev/null || true)"
  [[ -n "$pid" ]] || pid="$launcher"
  wait_ready "$pid" "$port"
}

wait_ready() {
  local pid="$1" port="$2" deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ready "$port"; then
      say "ready on http://$HOST:$port (pid $pid; data $DATA)"
      return 0
    fi
    if ! alive "$pid"; then
      tail -n 30 "$LOG" >&2
      rm -f "$PIDFILE"
      die "alertmanager exited during startup (log: $LOG)"
    fi
    sleep 0.2
  done
  tail -n 30 "$LOG" >&2
  stop_pid "$pid" >/dev/null
  die "alertmanager was not ready on $HOST:$port within ${START_TIMEOUT}s; stopped it (log: $LOG)"
}

# SIGTERM (clean shutdown: silences and notification log saved), then SIGKILL after STOP_TIMEOUT seconds.
stop_pid() {
  local pid="$1" i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
    alive "$pid" || { rm -f "$PIDFILE"; echo stopped; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    alive "$pid" || break
    sleep 0.1
  done
  rm -f "$PIDFILE"
  echo killed
}

cmd_down() {
  local pid how
  lock
  if pid="$(server_pid)"; then
    how="$(stop_pid "$pid")"
    say "$how (pid $pid)"
  elif [[ -f "$PIDFILE" ]]; then
    rm -f "$PIDFILE"
    say "not running (removed stale pid file)"
  else
    say "not running"
  fi
}

cmd_status() {
  local port pid
  port="$(known_port "${1:-}")"
  if ready "$port"; then
    if pid="$(server_pid)"; then
      say "ready on http://$HOST:$port (pid $pid)"
    else
      say "ready on http://$HOST:$port (not started by this script)"
    fi
    return 0
  fi
  if pid="$(server_pid)"; then
    say "not ready on $HOST:$port (pid $pid is alive: starting, or listening elsewhere)"
  else
    say "not running"
  fi
  return 1
}

cmd_logs() {
  [[ -s "$LOG" ]] && tail -n "${1:-50}" "$LOG"
  return 0
}

case "${1:-}" in
  install) cmd_install ;;
  check) cmd_check "${2:-}" ;;
  up) cmd_up "${2:-}" "${3:-}" ;;
  down) cmd_down ;;
  status) cmd_status "${2:-}" ;;
  logs) cmd_logs "${2:-50}" ;;
  *) echo "usage: $0 install|check [CONFIG]|up [CONFIG] [PORT]|down|status [PORT]|logs" >&2; exit 2 ;;
esac
