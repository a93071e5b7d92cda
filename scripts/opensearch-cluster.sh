#!/usr/bin/env bash
# A local three-node OpenSearch + k-NN cluster for fault tests (tests/cluster, `make test-cluster`).
#
# Same install as scripts/opensearch-local.sh (it installs it if missing), but every node gets its
# own config dir (OPENSEARCH_PATH_CONF), data, log and pid dir under CLUSTER_DIR, owned by OS_USER.
# The shared install (OS_HOME/config) is never modified, so a single node started by
# opensearch-local.sh from the same OS_BASE keeps running untouched. Loopback only.
#
# Usage: scripts/opensearch-cluster.sh start | stop | status | kill-node N | restart-node N | wait-green [S]
#   start         launches the nodes not already running (from this CLUSTER_DIR) and waits for green
#   stop          SIGTERM (then SIGKILL after 60 s) every node this script launched; removes nothing else
#   kill-node N   SIGKILL node N (1..3): a crash, no shutdown handshake
#   restart-node N  starts node N again on its old data dir (it must be down)
#   wait-green [S]  waits up to S s (default OS_START_TIMEOUT) for status green; prints the seconds taken
# Env: OS_BASE (/opt/openfrs-opensearch), OS_VERSION (2.19.1), OS_USER (openfrs-os),
#      CLUSTER_DIR ($OS_BASE/cluster), CLUSTER_HTTP_BASE (9300: nodes on 9301-9303),
#      CLUSTER_TRANSPORT_BASE (9400: 9401-9403), CLUSTER_HEAP (384m), OS_START_TIMEOUT (240 s).
set -euo pipefail

OS_VERSION="${OS_VERSION:-2.19.1}"
OS_BASE="${OS_BASE:-/opt/openfrs-opensearch}"
OS_USER="${OS_USER:-openfrs-os}"
CLUSTER_DIR="${CLUSTER_DIR:-$OS_BASE/cluster}"
HTTP_BASE="${CLUSTER_HTTP_BASE:-9300}"
TRANSPORT_BASE="${CLUSTER_TRANSPORT_BASE:-9400}"
HEAP="${CLUSTER_HEAP:-384m}"
OS_START_TIMEOUT="${OS_START_TIMEOUT:-240}"
NODES=3
CLUSTER_NAME=openfrs-cluster-it  # never the single node's "openfrs-it": they must not join

case "$OS_VERSION" in
  2.*) JH_DEFAULT=/usr/lib/jvm/java-17-openjdk-amd64 ;;
  3.*) JH_DEFAULT=/usr/lib/jvm/temurin-25-jdk-amd64 ;;
  *) echo "unsupported OS_VERSION $OS_VERSION" >&2; exit 2 ;;
esac
export JAVA_HOME="${OS_JAVA_HOME:-$JH_DEFAULT}"
OS_HOME="$OS_BASE/opensearch-$OS_VERSION"
HERE="$(cd "$(dirname "$0")" && pwd)"

log() { echo "[opensearch-cluster] $*" >&2; }

node_dir() { echo "$CLUSTER_DIR/node$1"; }
http_port() { echo $((HTTP_BASE + $1)); }
url() { echo "http://127.0.0.1:$(http_port "$1")"; }
pidfile() { echo "$(node_dir "$1")/run/opensearch.pid"; }

check_n() {
  [[ "${1:-}" =~ ^[1-9][0-9]*$ ]] && [ "$1" -le "$NODES" ] || { log "node number must be 1..$NODES"; exit 2; }
}

as_user() {
  if [ "$(id -u)" = 0 ]; then runuser -u "$OS_USER" -- "$@"; else "$@"; fi
}

node_pid() {  # pid of node N if this script launched it and it is alive
  local f; f=$(pidfile "$1")
  [ -s "$f" ] || return 1
  local pid; pid=$(cat "$f")
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

seeds() {
  local i out=""
  for i in $(seq 1 $NODES); do out="$out${out:+, }\"127.0.0.1:$((TRANSPORT_BASE + i))\""; done
  echo "[$out]"
}

managers() {
  local i out=""
  for i in $(seq 1 $NODES); do out="$out${out:+, }\"frs-n$i\""; done
  echo "[$out]"
}

write_node_config() {
  local n=$1 d; d=$(node_dir "$n")
  mkdir -p "$d/config/jvm.options.d" "$d/data" "$d/logs" "$d/run" "$d/tmp"
  cp "$OS_HOME/config/jvm.options" "$OS_HOME/config/log4j2.properties" "$d/config/"
  [ -f "$d/config/opensearch.keystore" ] || cp "$OS_HOME/config/opensearch.keystore" "$d/config/" 2>/dev/null || true
  cat > "$d/config/opensearch.yml" <<EOF
cluster.name: $CLUSTER_NAME
node.name: frs-n$n
network.host: 127.0.0.1
http.port: $(http_port "$n")
transport.port: $((TRANSPORT_BASE + n))
discovery.seed_hosts: $(seeds)
cluster.initial_cluster_manager_nodes: $(managers)
path.data: $d/data
path.logs: $d/logs
bootstrap.memory_lock: false
bootstrap.system_call_filter: false
cluster.routing.allocation.disk.threshold_enabled: false
action.destructive_requires_name: false
EOF
  printf -- '-Xms%s\n-Xmx%s\n' "$HEAP" "$HEAP" > "$d/config/jvm.options.d/heap.options"
}

launch() {  # launch node N (not waiting for the cluster)
  local n=$1 d pid; d=$(node_dir "$n")
  if pid=$(node_pid "$n"); then log "node $n already runs (pid $pid)"; return 0; fi
  if curl -fsS -m 2 "$(url "$n")/" >/dev/null 2>&1; then
    log "port $(http_port "$n") is taken by a process this script did not launch; set CLUSTER_HTTP_BASE"; exit 1
  fi
  write_node_config "$n"
  rm -f "$(pidfile "$n")"
  chown -R "$OS_USER:" "$d"
  as_user env JAVA_HOME="$JAVA_HOME" OPENSEARCH_JAVA_HOME="$JAVA_HOME" OPENSEARCH_PATH_CONF="$d/config" \
      OPENSEARCH_TMPDIR="$d/tmp" "$OS_HOME/bin/opensearch" -d -p "$(pidfile "$n")" >"$d/run/launch.out" 2>&1 \
    || { log "launch of node $n failed:"; cat "$d/run/launch.out" >&2; tail -n 40 "$d/logs/$CLUSTER_NAME.log" >&2 || true; exit 1; }
  # -d returns once the daemon forked; the node writes its pid file early in bootstrap.
  local t0=$SECONDS
  until node_pid "$n" >/dev/null; do
    if [ $((SECONDS - t0)) -ge 90 ]; then
      log "node $n wrote no pid file within 90 s:"; tail -n 40 "$d/logs/$CLUSTER_NAME.log" >&2 || true; exit 1
    fi
    sleep 0.5
  done
  log "node $n launched (pid $(node_pid "$n"), http $(http_port "$n"), transport $((TRANSPORT_BASE + n)))"
}

health_status() {  # status as seen by any live node, or "none"
  local n s
  for n in $(seq 1 $NODES); do
    s=$(curl -fsS -m 3 "$(url "$n")/_cluster/health?filter_path=status" 2>/dev/null | sed -E 's/.*"status":"([a-z]+)".*/\1/') \
      && [ -n "$s" ] && { echo "$s"; return 0; }
  done
  echo none
}

wait_green() {  # $1 timeout s; prints seconds taken
  local limit=${1:-$OS_START_TIMEOUT} t0=$SECONDS n nodes
  while [ $((SECONDS - t0)) -lt "$limit" ]; do
    for n in $(seq 1 $NODES); do
      nodes=$(curl -fsS -m 5 "$(url "$n")/_cluster/health?wait_for_status=green&wait_for_nodes=$NODES&timeout=2s&filter_path=status,number_of_nodes,timed_out" 2>/dev/null) || continue
      if grep -q '"timed_out":false' <<<"$nodes" && grep -q '"status":"green"' <<<"$nodes"; then
        echo $((SECONDS - t0)); return 0
      fi
      break
    done
    for n in $(seq 1 $NODES); do
      if [ -s "$(node_dir "$n")/run/launched" ] && ! node_pid "$n" >/dev/null; then
        log "node $n exited:"; tail -n 40 "$(node_dir "$n")/logs/$CLUSTER_NAME.log" >&2 || true; return 1
      fi
    done
    sleep 1
  done
  log "cluster not green with $NODES nodes within $limit s (status $(health_status))"
  for n in $(seq 1 $NODES); do log "node $n log tail:"; tail -n 15 "$(node_dir "$n")/logs/$CLUSTER_NAME.log" >&2 || true; done
  return 1
}

start() {
  [ -f "$OS_HOME/.openfrs-installed-$OS_VERSION-${KNN_VERSION:-$OS_VERSION.0}" ] || "$HERE/opensearch-local.sh" install
  mkdir -p "$CLUSTER_DIR"; chown "$OS_USER:" "$CLUSTER_DIR"
  local n
  for n in $(seq 1 $NODES); do launch "$n"; echo 1 > "$(node_dir "$n")/run/launched"; done
  local took
  if ! took=$(wait_green "$OS_START_TIMEOUT"); then stop; exit 1; fi
  log "cluster green with $NODES nodes after $took s: $(url 1) $(url 2) $(url 3)"
}

stop() {
  local n pid pids=()
  for n in $(seq 1 $NODES); do
    rm -f "$(node_dir "$n")/run/launched"
    if pid=$(node_pid "$n"); then kill "$pid"; pids+=("$pid"); log "SIGTERM node $n (pid $pid)"; fi
  done
  for _ in $(seq 1 60); do
    local alive=()
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
    [ ${#alive[@]} -eq 0 ] && { log "all nodes stopped"; return 0; }
    pids=("${alive[@]}"); sleep 1
  done
  for pid in "${pids[@]}"; do log "pid $pid ignored SIGTERM for 60 s; SIGKILL"; kill -9 "$pid" 2>/dev/null || true; done
}

kill_node() {
  check_n "$1"
  local pid
  pid=$(node_pid "$1") || { log "node $1 is not running"; exit 1; }
  rm -f "$(node_dir "$1")/run/launched"
  kill -9 "$pid"
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  log "SIGKILLed node $1 (pid $pid)"
}

restart_node() {
  check_n "$1"
  if node_pid "$1" >/dev/null; then log "node $1 is running; kill it first"; exit 1; fi
  launch "$1"
  echo 1 > "$(node_dir "$1")/run/launched"
}

status() {
  local n pid
  for n in $(seq 1 $NODES); do
    if pid=$(node_pid "$n"); then echo "node $n: pid $pid, $(url "$n")"; else echo "node $n: down"; fi
  done
  echo "health: $(health_status)"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  kill-node) kill_node "${2:-}" ;;
  restart-node) restart_node "${2:-}" ;;
  wait-green) wait_green "${2:-$OS_START_TIMEOUT}" ;;
  *) echo "usage: $0 start | stop | status | kill-node N | restart-node N | wait-green [S]" >&2; exit 2 ;;
esac
