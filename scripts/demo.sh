#!/usr/bin/env bash
# make demo: the local broker, one worker, the on-call board and the simulator,
# with a demo policy whose targets are seconds-to-minutes long; prints alerts as
# they happen. If Alertmanager is installed, a local one and `sla-monitor notify`
# too. Ctrl-C stops the worker, the board and the simulator (the broker keeps
# running: `make kafka-down` stops it).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN="$ROOT/.venv/bin"
DEMO="$ROOT/.local/demo"
mkdir -p "$DEMO"

export SLA_POLICY="${SLA_POLICY:-deploy/policy.demo.yaml}"
export SLA_APP_ID="${SLA_APP_ID:-sla-demo}"
export SLA_WEB_PORT="${SLA_WEB_PORT:-6066}"
export SLA_LOG_FORMAT=json

scripts/kafka.sh up

# The worker's table state belongs to one broker's topics: after `kafka.sh reset`
# the broker has a new cluster id, so the demo starts from fresh state too.
cluster="$(cat "$ROOT/.local/kafka/cluster.id" 2>/dev/null || echo unknown)"
if [ -z "${SLA_DATA_DIR:-}" ]; then
    export SLA_DATA_DIR="$DEMO/state-$cluster"
    find "$DEMO" -maxdepth 1 -name 'state*' ! -name "state-$cluster" -exec rm -rf {} +
fi

pids=()
cleanup() {
    trap - EXIT INT TERM
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    echo
    echo "demo: stopped the worker, the board and the simulator. The broker is still running: 'make kafka-down' stops it."
}
trap cleanup EXIT INT TERM

"$BIN/sla-monitor" worker >"$DEMO/worker.log" 2>&1 &
pids+=($!)
printf 'demo: starting the worker (log: %s) ' "$DEMO/worker.log"
for _ in $(seq 1 120); do
    if curl -fs "http://127.0.0.1:$SLA_WEB_PORT/health/ready" >/dev/null 2>&1; then break; fi
    if ! kill -0 "${pids[0]}" 2>/dev/null; then echo; tail -20 "$DEMO/worker.log"; exit 1; fi
    printf '.'; sleep 0.5
done
echo " ready"

# --- the on-call board (sla-monitor board), reading the worker's clocks topic ---
BOARD_PORT="${SLA_BOARD_PORT:-8080}"
"$BIN/sla-monitor" board --port "$BOARD_PORT" >"$DEMO/board.log" 2>&1 &
pids+=($!)
board_pid=$!
for _ in $(seq 1 60); do
    if curl -fs "http://127.0.0.1:$BOARD_PORT/health/ready" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$board_pid" 2>/dev/null; then echo "demo: the board did not start:"; tail -5 "$DEMO/board.log"; break; fi
    sleep 0.5
done
BOARD_URL="http://127.0.0.1:$BOARD_PORT/"
# --- end of the board ---

# Alerts through Alertmanager, when set-up installed it (Debian's prometheus-alertmanager):
# a local one with the demo routes (scripts/alertmanager.sh; it keeps running afterwards, like
# the broker) and `sla-monitor notify` posting to it.
NOTIFY_INFO="      Alertmanager: not installed (make setup installs it); no notifier started."
if command -v prometheus-alertmanager >/dev/null 2>&1; then
    AM_PORT="${ALERTMANAGER_PORT:-9093}"
    if ALERTMANAGER_PORT="$AM_PORT" scripts/alertmanager.sh up >"$DEMO/alertmanager-up.log" 2>&1; then
        SLA_NOTIFY_WEB_HOST=127.0.0.1 SLA_NOTIFY_BOARD_URL="$BOARD_URL" "$BIN/sla-monitor" notify --alertmanager "http://127.0.0.1:$AM_PORT" \
            >"$DEMO/notify.log" 2>&1 &
        pids+=($!)
        NOTIFY_INFO="      Alertmanager: http://127.0.0.1:$AM_PORT (alerts from sla-monitor notify; log: $DEMO/notify.log;
      'scripts/alertmanager.sh down' stops it)"
    else
        NOTIFY_INFO="      Alertmanager: could not start on port $AM_PORT ($(tail -1 "$DEMO/alertmanager-up.log"));
      set ALERTMANAGER_PORT to a free port. No notifier started."
    fi
fi

"$BIN/sla-monitor" simulate --rate "${DEMO_RATE:-1}" >"$DEMO/simulate.log" 2>&1 &
pids+=($!)

cat <<INFO
demo: the simulator sends ticket events to 'tickets.events' (about ${DEMO_RATE:-1} new ticket a second)
      and probe results of mail, crm and vpn to 'probes.results' (outages every ~2 minutes);
      policy $SLA_POLICY: P1 respond 30s / resolve 2m, P2 1m / 4m, P3 2m / 6m, warnings at 50/75/90 %;
      mail may be down ~26 s a month, crm ~4.3 min, vpn ~43 min.
      Warnings appear after ~15 s, breaches after ~30 s, escalations (ESCAL) soon after.
      Health: http://127.0.0.1:$SLA_WEB_PORT/health/ready   Metrics: http://127.0.0.1:$SLA_WEB_PORT/metrics
      On-call board: $BOARD_URL   (wall mode: ${BOARD_URL}?kiosk=1; log: $DEMO/board.log)
$NOTIFY_INFO
      Press Ctrl-C to stop.

INFO
"$BIN/sla-monitor" tail
