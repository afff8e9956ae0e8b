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

# The pid in the pid file, if that process is alive and is our Prometheus.
server_pid() {
  local pid
  [[ -f "$PIDFILE" ]] || return 1
  pid="$(<"$PIDFILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  # Guard against a recycled pid: it must be prometheus with our storage folder.
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "--storage.tsdb.path=$DATA " || return 1
  echo "$pid"
}

# The port asked for, else the one of the last `up`, else 9090.
known_port() {
  if [[ -n "${1:-}" ]]; then echo "$1"
  elif [[ -n "${PROMETHEUS_PORT:-}" ]]; then echo "$PROMETHEUS_PORT"
  elif [[ -s "$PORTFILE" ]]; then cat "$PORTFILE"
  else echo 9090
  fi
}

lock() {
  mkdir -p "$PHOME"
  exec 9>"$PHOME/.lock"
  flock -w 60 9 || die "could not lock $PHOME/.lock"
}

cmd_up() {
  local config="${1:-${PROMETHEUS_CONFIG:-$ROOT/deploy/prometheus/local.yml}}"
  local port="${2:-${PROMETHEUS_PORT:-9090}}" pid
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
  port_open "$port" && die "something already listens on $HOST:$port (PROMETHEUS_PORT or the second argument picks another)"
  command -v prometheus >/dev/null || die "prometheus not found: run scripts/prometheus.sh install"
  promtool check config "$config" >"$PHOME/check.log" 2>&1 || { cat "$PHOME/check.log" >&2; die "$config is not valid"; }

  mkdir -p "$DATA"
  echo "$port" >"$PORTFILE"
  echo "----- scripts/prometheus.sh: starting $(date '+%F %T') with $config on port $port" >>"$LOG"
  # Detached (own session, no stdin, no lock fd) so it outlives the caller; bash
  # writes its own pid and then execs prometheus in place.
  # shellcheck disable=SC2016
  nohup setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PIDFILE" \
    prometheus --config.file="$config" --storage.tsdb.path="$DATA" \
    --web.listen-address="$HOST:$port" --web.enable-lifecycle \
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
      die "prometheus exited during startup (log: $LOG)"
    fi
    sleep 0.2
  done
  tail -n 30 "$LOG" >&2
  stop_pid "$pid" >/dev/null
  die "prometheus was not ready on $HOST:$port within ${START_TIMEOUT}s; stopped it (log: $LOG)"
}

# SIGTERM (clean TSDB shutdown), then SIGKILL after STOP_TIMEOUT seconds.
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
  check) cmd_check ;;
  up) cmd_up "${2:-}" "${3:-}" ;;
  down) cmd_down ;;
  status) cmd_status "${2:-}" ;;
  logs) cmd_logs "${2:-50}" ;;
  *) echo "usage: $0 install|check|up [CONFIG] [PORT]|down|status [PORT]|logs" >&2; exit 2 ;;
esac
