# shellcheck shell=bash
# A server process by its pid: is it alive, and stop it (TERM, then KILL). Sourced by
# scripts/kafka.sh and scripts/lib/local-server.sh (prometheus, alertmanager), which set first:
#   PIDFILE       the server's pid file, removed once it has stopped
#   STOP_TIMEOUT  seconds between SIGTERM and SIGKILL

# The process exists and is not a zombie.
alive() {
  local state
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)"
  [[ -n "$state" && "$state" != Z ]]
}

# SIGTERM (a clean shutdown: the broker's controlled shutdown, the servers save their data),
# then SIGKILL after STOP_TIMEOUT seconds; prints "stopped" or "killed".
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
