# shellcheck shell=bash
# A local server on 127.0.0.1 run from a state folder: pid file, port file, log, a lock,
# start that waits for /-/ready, stop (TERM, then KILL), status and logs. Sourced by
# scripts/prometheus.sh and scripts/alertmanager.sh, which set first:
#   NAME          the server's name in messages (prometheus, alertmanager)
#   SERVER_BIN    the binary `up` runs
#   PORT_VAR      the environment variable naming the port (for messages and known_port)
#   DEFAULT_PORT  the port when neither the argument nor PORT_VAR nor the last `up` names one
#   PID_MARKER    an argument only our server has (its storage flag), against recycled pids
#   HOST PHOME DATA LOG PIDFILE PORTFILE START_TIMEOUT STOP_TIMEOUT
# and define:
#   check_config CONFIG          exit non-zero (output kept in check.log) if CONFIG is unusable
#   server_args CONFIG PORT      set the array SERVER_ARGS: the command line after SERVER_BIN
# and say/die. alive and stop_pid come from scripts/lib/process.sh (shared with scripts/kafka.sh).

# shellcheck source=scripts/lib/process.sh
. "$(dirname "${BASH_SOURCE[0]}")/process.sh"

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

# The pid in the pid file, if that process is alive and is our server.
server_pid() {
  local pid
  [[ -f "$PIDFILE" ]] || return 1
  pid="$(<"$PIDFILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  # Guard against a recycled pid: it must be our server with our storage folder.
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$PID_MARKER " || return 1
  echo "$pid"
}

# The port asked for, else PORT_VAR's, else the one of the last `up`, else DEFAULT_PORT.
known_port() {
  if [[ -n "${1:-}" ]]; then echo "$1"
  elif [[ -n "${!PORT_VAR:-}" ]]; then echo "${!PORT_VAR}"
  elif [[ -s "$PORTFILE" ]]; then cat "$PORTFILE"
  else echo "$DEFAULT_PORT"
  fi
}

lock() {
  mkdir -p "$PHOME"
  exec 9>"$PHOME/.lock"
  flock -w 60 9 || die "could not lock $PHOME/.lock"
}

# up CONFIG PORT: start the server (idempotent) and wait until it is ready.
cmd_up() {
  local config="$1" port="$2" pid
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
  port_open "$port" && die "something already listens on $HOST:$port ($PORT_VAR or the second argument picks another)"
  command -v "$SERVER_BIN" >/dev/null || die "$SERVER_BIN not found: run scripts/$NAME.sh install"
  check_config "$config" >"$PHOME/check.log" 2>&1 || { cat "$PHOME/check.log" >&2; die "$config is not valid"; }

  mkdir -p "$DATA"
  echo "$port" >"$PORTFILE"
  echo "----- scripts/$NAME.sh: starting $(date '+%F %T') with $config on port $port" >>"$LOG"
  server_args "$config" "$port"
  # Detached (own session, no stdin, no lock fd) so it outlives the caller; bash
  # writes its own pid and then execs the server in place.
  # shellcheck disable=SC2016
  nohup setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PIDFILE" "$SERVER_BIN" "${SERVER_ARGS[@]}" \
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
      die "$NAME exited during startup (log: $LOG)"
    fi
    sleep 0.2
  done
  tail -n 30 "$LOG" >&2
  stop_pid "$pid" >/dev/null
  die "$NAME was not ready on $HOST:$port within ${START_TIMEOUT}s; stopped it (log: $LOG)"
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
