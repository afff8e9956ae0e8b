#!/usr/bin/env bash
# Local single-node Apache Kafka broker (KRaft: combined broker+controller, no
# ZooKeeper, no Docker) on 127.0.0.1:9092, for development and the integration
# tests.
#
#   scripts/kafka.sh up       start it (idempotent); waits until it answers clients
#   scripts/kafka.sh down     stop it (idempotent)
#   scripts/kafka.sh status   exit 0 if it answers on 127.0.0.1:9092, 1 if not
#   scripts/kafka.sh reset    stop it and delete its data (topics, offsets)
#   scripts/kafka.sh logs     tail of the broker log
#
# The jars come from Maven Central through Maven (deploy/kafka/pom.xml); they are
# copied once into .local/kafka/libs and copied again only when the pom changes.
# Everything it writes lives under .local/kafka/ at the repo root:
#   libs/  jars        data/  KRaft metadata + topic logs      logs/  broker logs
#   server.properties  kafka.pid  cluster.id
#
# Environment:
#   KAFKA_HOME_DIR        state folder instead of .local/kafka
#   KAFKA_PORT            client port (default 9092)
#   KAFKA_CONTROLLER_PORT KRaft controller port (default 19093: clear of Alertmanager's 9093
#                         and 9094 and of Prometheus's 9090); a second broker
#                         next to the first needs its own KAFKA_HOME_DIR and both ports
#   KAFKA_EXTRA_PROPERTIES  lines appended to server.properties (later lines win),
#                         e.g. "auto.create.topics.enable=false" for a test's own broker
#   SLA_KAFKA_RESET=1     with `up`: stop a running broker, wipe data/, start clean
#   KAFKA_START_TIMEOUT   seconds `up` waits for the broker (default 60)
#   KAFKA_HEAP_OPTS       JVM heap (default -Xmx512m -Xms256m)
#   KAFKA_JVM_OPTS        other JVM flags (default: G1 and C1-only JIT, which
#                         starts ~2 s faster on 2 cores; for a throughput
#                         benchmark set it to -XX:+UseG1GC to get the C2 JIT)
#   JAVA_HOME             Java 17+ to run the broker with (default: java on PATH)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KHOME="${KAFKA_HOME_DIR:-$ROOT/.local/kafka}"
[[ "$KHOME" == /* ]] || KHOME="$PWD/$KHOME"
POM="$ROOT/deploy/kafka/pom.xml"
LOG4J_CONF="$ROOT/deploy/kafka/log4j2.properties"

HOST=127.0.0.1
PORT="${KAFKA_PORT:-9092}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"

LIBS="$KHOME/libs"
DATA="$KHOME/data"
LOGS="$KHOME/logs"
PIDFILE="$KHOME/kafka.pid"
PROPS="$KHOME/server.properties"
STAMP="$LIBS/.pom.sha256"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-60}"
STOP_TIMEOUT=20
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m}"
JVM_OPTS="${KAFKA_JVM_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:TieredStopAtLevel=1}"
# Short-lived JVMs (Maven, the storage formatter) start faster with C1 only.
QUICK_JVM="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"

if [[ -n "${JAVA_HOME:-}" ]]; then JAVA="$JAVA_HOME/bin/java"; else JAVA=java; fi

# alive PID, stop_pid PID (SIGTERM, then SIGKILL after STOP_TIMEOUT; removes PIDFILE)
# shellcheck source=scripts/lib/process.sh
. "$ROOT/scripts/lib/process.sh"

say() { printf 'kafka: %s\n' "$*"; }
die() { printf 'kafka: error: %s\n' "$*" >&2; exit 1; }

# --- probing -----------------------------------------------------------------

# A real Kafka round trip, not just an open port: send an ApiVersions v0 request
# (api_key 18, correlation id "SLA1", client id "kprobe") and expect a response
# with that correlation id and error_code 0. The broker only processes requests
# once it has caught up with the metadata log and is unfenced, so an answer
# means clients can use it.
probe() {
  # shellcheck disable=SC2016  # expanded by the inner bash
  timeout 5 bash -c '
    exec 3<>"/dev/tcp/$0/$1" || exit 1
    printf "\x00\x00\x00\x10\x00\x12\x00\x00SLA1\x00\x06kprobe" >&3
    reply=$(timeout 3 head -c 10 <&3 | od -An -tx1 | tr -d " \n")
    [[ $reply == ????????534c41310000 ]]
  ' "$HOST" "$PORT" 2>/dev/null
}

# Something accepts TCP connections on the port (Kafka or not).
port_open() {
  # shellcheck disable=SC2016
  timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$HOST" "$PORT" 2>/dev/null
}

# The pid in the pid file, if that process is alive and is our broker.
broker_pid() {
  local pid state
  [[ -f "$PIDFILE" ]] || return 1
  pid="$(<"$PIDFILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  state="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)"
  [[ "$state" != Z && -n "$state" ]] || return 1
  # Guard against a recycled pid: it must be kafka.Kafka with our properties.
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "kafka.Kafka $PROPS" || return 1
  echo "$pid"
}

MARK="----- scripts/kafka.sh: starting broker"

# The current run's part of a log (from the last start marker on), last n lines.
run_tail() {
  awk -v m="$MARK" -v c="$2" 'index($0, m) == 1 { n = 0 } { buf[n++ % c] = $0 }
    END { for (i = (n > c ? n - c : 0); i < n; i++) print buf[i % c] }' "$1"
}

show_logs() {
  local n="${1:-40}" f
  for f in "$LOGS/server.log" "$LOGS/kafka.out"; do
    [[ -s "$f" ]] || continue
    echo "----- $f (last $n lines of this run)" >&2
    run_tail "$f" "$n" >&2
  done
}

# --- setup -------------------------------------------------------------------

ensure_tools() {
  command -v "$JAVA" >/dev/null 2>&1 || die "java not found (Java 17+ is needed; set JAVA_HOME or install openjdk-17-jre-headless)"
}

# Copy the broker's runtime classpath into libs/ with Maven, only when the pom
# changed since the last copy (its sha256 is kept in libs/.pom.sha256).
ensure_libs() {
  local want
  want="$(sha256sum <"$POM" | cut -d' ' -f1)"
  if [[ -f "$STAMP" && "$(<"$STAMP")" == "$want" ]] && compgen -G "$LIBS/kafka_2.13-*.jar" >/dev/null; then
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || die "mvn not found (needed once to fetch the Kafka jars; apt-get install maven)"
  say "resolving broker jars with Maven (deploy/kafka/pom.xml) ..."
  local tmp="$KHOME/libs.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$LOGS"
  if ! MAVEN_OPTS="${MAVEN_OPTS:-} $QUICK_JVM" mvn -B -q -f "$POM" dependency:copy-dependencies \
        -DoutputDirectory="$tmp" -DincludeScope=runtime >"$LOGS/maven.log" 2>&1; then
    rm -rf "$tmp"
    tail -n 40 "$LOGS/maven.log" >&2
    die "Maven could not resolve the Kafka jars (full output: $LOGS/maven.log)"
  fi
  echo "$want" >"$tmp/.pom.sha256"
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
}

write_properties() {
  mkdir -p "$DATA" "$LOGS"
  cat >"$PROPS.tmp" <<EOF
# Written by scripts/kafka.sh on every 'up'; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$HOST:$CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$DATA

num.partitions=4
default.replication.factor=1
auto.create.topics.enable=true
delete.topic.enable=true

# Single node: every internal topic has one replica.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# Tests: no wait before the first rebalance of a new group.
group.initial.rebalance.delay.ms=0

# Small footprint on a 2-core machine with a 512 MB heap.
num.network.threads=2
num.io.threads=4
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=33554432
EOF
  if [[ -n "${KAFKA_EXTRA_PROPERTIES:-}" ]]; then
    printf '\n# KAFKA_EXTRA_PROPERTIES\n%s\n' "$KAFKA_EXTRA_PROPERTIES" >>"$PROPS.tmp"
  fi
  mv "$PROPS.tmp" "$PROPS"
}

# Kafka's random cluster id: 16 random bytes, URL-safe base64 without padding,
# not starting with '-' (which the command line would take for an option).
new_cluster_id() {
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [[ "$id" != -* ]] && { echo "$id"; return; }
  done
}

# Format the KRaft storage once (standalone dynamic controller quorum).
ensure_formatted() {
  [[ -f "$DATA/meta.properties" ]] && return 0
  rm -rf "$DATA"
  mkdir -p "$DATA"
  local cid
  cid="$(new_cluster_id)"
  # shellcheck disable=SC2086  # QUICK_JVM is a list of flags
  if ! "$JAVA" -Xmx256m $QUICK_JVM -cp "$LIBS/*" \
        -Dlog4j2.configurationFile="$LOG4J_CONF" -Dkafka.logs.dir="$LOGS" \
        kafka.tools.StorageTool format --standalone -t "$cid" -c "$PROPS" \
        >"$LOGS/storage-format.log" 2>&1; then
    cat "$LOGS/storage-format.log" >&2
    rm -rf "$DATA"
    die "formatting the KRaft storage failed"
  fi
  echo "$cid" >"$KHOME/cluster.id"
}

# --- commands ----------------------------------------------------------------

wait_ready() {
  local pid="$1" deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if probe; then return 0; fi
    if ! alive "$pid"; then
      show_logs 40
      rm -f "$PIDFILE"
      die "the broker exited during startup (logs: $LOGS)"
    fi
    sleep 0.25
  done
  show_logs 40
  stop_pid "$pid" >/dev/null
  die "the broker did not answer on $HOST:$PORT within ${START_TIMEOUT}s; stopped it (logs: $LOGS)"
}

cmd_up() {
  mkdir -p "$KHOME"
  # Serialise concurrent 'up'/'down'/'reset' (e.g. parallel test sessions).
  exec 9>"$KHOME/.lock"
  flock -w 180 9 || die "could not lock $KHOME/.lock"

  local pid
  if [[ "${SLA_KAFKA_RESET:-0}" == 1 ]]; then
    do_reset
  fi
  if probe; then
    if pid="$(broker_pid)"; then
      say "already running on $HOST:$PORT (pid $pid)"
    else
      say "already running on $HOST:$PORT (not started by this script)"
    fi
    return 0
  fi
  if pid="$(broker_pid)"; then
    say "broker pid $pid is starting; waiting for it ..."
    wait_ready "$pid"
    say "started on $HOST:$PORT (pid $pid)"
    return 0
  fi
  rm -f "$PIDFILE"
  if port_open; then
    die "something that does not answer Kafka requests already listens on $HOST:$PORT"
  fi

  ensure_tools
  ensure_libs
  write_properties
  ensure_formatted

  # Detached from the calling shell (own session, no stdin, no lock fd) so it
  # survives the caller; bash writes its own pid and then execs java in place.
  # Start markers (java has not opened the logs yet) so failures show this run only.
  echo "$MARK $(date '+%F %T')" | tee -a "$LOGS/kafka.out" >>"$LOGS/server.log"
  local heap jvm
  read -r -a heap <<<"$HEAP_OPTS"
  read -r -a jvm <<<"$JVM_OPTS"
  # shellcheck disable=SC2016
  nohup setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PIDFILE" \
    "$JAVA" "${heap[@]}" "${jvm[@]}" -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$LOG4J_CONF" -Dkafka.logs.dir="$LOGS" \
    -cp "$LIBS/*" kafka.Kafka "$PROPS" \
    </dev/null >>"$LOGS/kafka.out" 2>&1 9>&- &
  local launcher=$!
  local i
  for i in $(seq 1 40); do
    [[ -s "$PIDFILE" ]] && break
    sleep 0.05
  done
  pid="$(cat "$PIDFILE" 2>/dev/null || true)"
  [[ -n "$pid" ]] || pid="$launcher"
  wait_ready "$pid"
  say "started on $HOST:$PORT (pid $pid)"
}

do_down() {
  local pid how
  if pid="$(broker_pid)"; then
    how="$(stop_pid "$pid")"
    if [[ "$how" == killed ]]; then
      say "stopped (pid $pid; killed after ${STOP_TIMEOUT}s without a clean shutdown)"
    else
      say "stopped (pid $pid)"
    fi
    return 0
  fi
  if [[ -f "$PIDFILE" ]]; then
    rm -f "$PIDFILE"
    say "not running (removed stale pid file)"
  else
    say "not running"
  fi
  if probe; then
    say "note: a broker not started by this script answers on $HOST:$PORT; left alone"
  fi
}

do_reset() {
  do_down
  rm -rf "$DATA" "$KHOME/cluster.id"
  say "data deleted ($DATA)"
}

cmd_down() {
  mkdir -p "$KHOME"
  exec 9>"$KHOME/.lock"
  flock -w 60 9 || die "could not lock $KHOME/.lock"
  do_down
}

cmd_reset() {
  mkdir -p "$KHOME"
  exec 9>"$KHOME/.lock"
  flock -w 60 9 || die "could not lock $KHOME/.lock"
  do_reset
}

cmd_status() {
  local pid
  if probe; then
    if pid="$(broker_pid)"; then
      say "running on $HOST:$PORT (pid $pid)"
    else
      say "running on $HOST:$PORT (not started by this script)"
    fi
    return 0
  fi
  if pid="$(broker_pid)"; then
    say "not answering on $HOST:$PORT yet (pid $pid is alive: starting or stuck)"
  else
    say "not running"
  fi
  return 1
}

cmd_logs() {
  show_logs "${1:-50}" 2>&1
}

usage() {
  echo "usage: $0 up|down|status|reset|logs" >&2
  exit 2
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  reset) cmd_reset ;;
  logs) cmd_logs "${2:-50}" ;;
  *) usage ;;
esac
