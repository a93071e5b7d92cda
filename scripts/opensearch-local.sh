#!/usr/bin/env bash
# Local single-node OpenSearch + k-NN (lucene engine) for OpenFRS tests and benchmarks.
#
# Everything comes from Maven Central (no Docker): the OpenSearch integ-test zip,
# the k-NN plugin zip, and lang-painless rebuilt from its jars (the integ-test zip
# ships no modules besides transport-netty4, and k-NN extends lang-painless).
# The k-NN zip on Central has no JNI libraries, so only engine "lucene" works here.
#
# Usage: scripts/opensearch-local.sh install | start [STATE_FILE] | stop [STATE_FILE] | status | smoke
#   start  reuses a node already answering on OS_PORT; otherwise installs (if needed) and launches one.
#          With STATE_FILE it writes "started" or "reused" there, so a matching `stop STATE_FILE`
#          stops the node only if this very `start` launched it.
#   stop   stops only a node this script launched (its own pid file); never a foreign node.
# Env: OS_BASE (/opt/openfrs-opensearch, must be outside /root), OS_VERSION (2.19.1), KNN_VERSION,
#      OS_USER (openfrs-os), OS_PORT (9200), OS_HEAP (512m), OS_JAVA_HOME, OS_START_TIMEOUT (180 s).
set -euo pipefail

OS_VERSION="${OS_VERSION:-2.19.1}"
KNN_VERSION="${KNN_VERSION:-${OS_VERSION}.0}"
OS_BASE="${OS_BASE:-/opt/openfrs-opensearch}"
OS_USER="${OS_USER:-openfrs-os}"
OS_PORT="${OS_PORT:-9200}"
OS_HEAP="${OS_HEAP:-512m}"
OS_START_TIMEOUT="${OS_START_TIMEOUT:-180}"
MDP="org.apache.maven.plugins:maven-dependency-plugin:3.6.1"

case "$OS_VERSION" in
  2.*) JH_DEFAULT=/usr/lib/jvm/java-17-openjdk-amd64; DESC_JAVA=11 ;;  # 2.x needs the Security Manager: JDK <= 21
  3.*) JH_DEFAULT=/usr/lib/jvm/temurin-25-jdk-amd64;  DESC_JAVA=21 ;;
  *) echo "unsupported OS_VERSION $OS_VERSION" >&2; exit 2 ;;
esac
export JAVA_HOME="${OS_JAVA_HOME:-$JH_DEFAULT}"
export OPENSEARCH_JAVA_HOME="$JAVA_HOME"

OS_HOME="$OS_BASE/opensearch-$OS_VERSION"
DL="$OS_BASE/download"
RUN="$OS_BASE/run"
PIDFILE="$RUN/opensearch.pid"      # written by OpenSearch itself (-p); exists only for nodes we launched
LOG="$OS_BASE/logs/openfrs-it.log"
STAMP="$OS_HOME/.openfrs-installed-$OS_VERSION-$KNN_VERSION"
URL="http://127.0.0.1:$OS_PORT"

log() { echo "[opensearch-local] $*" >&2; }

log_tail() {
  log "last log lines ($LOG):"
  tail -n "${1:-60}" "$LOG" >&2 2>/dev/null || ls -l "$OS_BASE/logs" >&2 2>/dev/null || true
}

need_user() {
  id -u "$OS_USER" >/dev/null 2>&1 && return 0
  [ "$(id -u)" = 0 ] || { log "user $OS_USER missing and not root to create it"; exit 1; }
  useradd --system --create-home --home-dir "/var/lib/$OS_USER" --shell /usr/sbin/nologin "$OS_USER"
}

# Run as the node user: OpenSearch refuses to run as root.
as_user() {
  if [ "$(id -u)" = 0 ]; then runuser -u "$OS_USER" -- "$@"; else "$@"; fi
}

mvn_copy() {  # $1 artifact coordinates, $2 expected file name
  if [ -s "$DL/$2" ]; then
    unzip -tq "$DL/$2" >/dev/null 2>&1 && return 0
    log "$DL/$2 is damaged (interrupted download?); fetching it again"; rm -f "$DL/$2"
  fi
  log "downloading $1"
  mvn -B -q "$MDP:copy" -Dartifact="$1" -DoutputDirectory="$DL" -Dmdep.overWriteReleases=true
  [ -s "$DL/$2" ] || { log "download of $1 did not produce $DL/$2"; exit 1; }
}

fetch() {
  mkdir -p "$DL"
  mvn_copy "org.opensearch.distribution.integ-test-zip:opensearch:$OS_VERSION:zip" "opensearch-$OS_VERSION.zip"
  mvn_copy "org.opensearch.plugin:opensearch-knn:$KNN_VERSION:zip" "opensearch-knn-$KNN_VERSION.zip"
  local P="$DL/lang-painless-$OS_VERSION"
  if [ ! -s "$P/jars/lang-painless-$OS_VERSION.jar" ]; then
    log "downloading lang-painless $OS_VERSION jars"
    rm -rf "$P"; mkdir -p "$P/pom"
    # The exclusion keeps the server and Lucene (already in lib/) out of the module.
    cat > "$P/pom/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.openfrs</groupId><artifactId>painless-fetch</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.opensearch.plugin</groupId><artifactId>lang-painless</artifactId><version>$OS_VERSION</version>
      <exclusions><exclusion><groupId>org.opensearch</groupId><artifactId>*</artifactId></exclusion></exclusions>
    </dependency>
  </dependencies>
</project>
EOF
    mvn -B -q -f "$P/pom/pom.xml" "$MDP:copy-dependencies" -DincludeScope=runtime -DoutputDirectory="$P/jars.tmp"
    mv "$P/jars.tmp" "$P/jars"
  fi
}

build_painless_module() {
  local M="$OS_HOME/modules/lang-painless" j base cls
  rm -rf "$M"; mkdir -p "$M"
  cp "$DL/lang-painless-$OS_VERSION"/jars/*.jar "$M/"
  for j in "$M"/*.jar; do  # a jar already in lib/ would be jar hell
    base=$(basename "$j" | sed -E 's/-[0-9].*\.jar$//')
    if ls "$OS_HOME/lib/$base"-[0-9]*.jar >/dev/null 2>&1; then log "drop $(basename "$j") (in lib/)"; rm -f "$j"; fi
  done
  cls=$(unzip -Z1 "$M/lang-painless-$OS_VERSION.jar" \
        | grep -E '^org/opensearch/painless/Painless(Module)?Plugin\.class$' | head -1 \
        | sed -e 's#/#.#g' -e 's#\.class$##')
  [ -n "$cls" ] || { log "no Painless plugin class in lang-painless-$OS_VERSION.jar"; exit 1; }
  cat > "$M/plugin-descriptor.properties" <<EOF
description=Painless scripting language (assembled from Maven Central jars by OpenFRS, tests only)
version=$OS_VERSION
name=lang-painless
classname=$cls
java.version=$DESC_JAVA
opensearch.version=$OS_VERSION
has.native.controller=false
EOF
  cat > "$M/plugin-security.policy" <<'EOF'
grant {
  permission java.lang.RuntimePermission "createClassLoader";
  permission java.lang.RuntimePermission "getClassLoader";
};
EOF
}

write_config() {  # rewritten at every start: settings changes need no reinstall
  cat > "$OS_HOME/config/opensearch.yml" <<EOF
cluster.name: openfrs-it
node.name: openfrs-it-node
discovery.type: single-node
network.host: 127.0.0.1
path.data: $OS_BASE/data
path.logs: $OS_BASE/logs
bootstrap.memory_lock: false
bootstrap.system_call_filter: false
# small test disks must not flip indices to read-only
cluster.routing.allocation.disk.threshold_enabled: false
action.destructive_requires_name: false
EOF
  mkdir -p "$OS_HOME/config/jvm.options.d"
  printf -- '-Xms%s\n-Xmx%s\n' "$OS_HEAP" "$OS_HEAP" > "$OS_HOME/config/jvm.options.d/heap.options"
}

install_node() {
  if [ -f "$STAMP" ]; then log "already installed in $OS_HOME"; return 0; fi
  need_user
  fetch
  mkdir -p "$OS_BASE"
  rm -rf "$OS_HOME"
  unzip -q -o "$DL/opensearch-$OS_VERSION.zip" -d "$OS_BASE"
  chmod +x "$OS_HOME"/bin/*
  build_painless_module
  "$OS_HOME/bin/opensearch-plugin" install --batch "file://$DL/opensearch-knn-$KNN_VERSION.zip" >&2
  touch "$STAMP"
  log "installed OpenSearch $OS_VERSION + k-NN $KNN_VERSION in $OS_HOME"
}

is_up() { curl -fsS -m 2 "$URL/" >/dev/null 2>&1; }

# Something answers on the port: reuse it only if it is OpenSearch with k-NN.
check_reusable() {
  local plugins
  plugins=$(curl -fsS -m 5 "$URL/_cat/plugins?h=component" 2>/dev/null) \
    || { log "$URL answers but is not an OpenSearch node; free port $OS_PORT or set OS_PORT"; exit 1; }
  grep -qx opensearch-knn <<<"$plugins" \
    || { log "the node on $URL has no k-NN plugin; stop it or set OS_PORT"; exit 1; }
}

our_pid() {  # prints the pid of the node we launched, if still alive
  [ -s "$PIDFILE" ] || return 1
  local pid; pid=$(cat "$PIDFILE")
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

start_node() {
  local state_file="${1:-}"
  if is_up; then
    check_reusable
    log "reusing the node already answering on $URL"
    [ -z "$state_file" ] || echo reused > "$state_file"
    return 0
  fi
  local pid
  if pid=$(our_pid); then  # one OS_BASE = one data dir = one node (OpenSearch locks it)
    log "node pid $pid from $OS_BASE already runs on port $(cat "$RUN/port" 2>/dev/null || echo '?'), not $OS_PORT;"
    log "stop it first (OS_PORT=$(cat "$RUN/port" 2>/dev/null || echo '?') $0 stop) or use another OS_BASE"
    exit 1
  fi
  install_node
  need_user
  write_config
  mkdir -p "$OS_BASE/data" "$OS_BASE/logs" "$RUN"
  rm -f "$PIDFILE"  # stale: its process is gone (checked above)
  echo "$OS_PORT" > "$RUN/port"
  # The run user needs its data/log/pid dirs and the install (config, keystore) writable.
  chown -R "$OS_USER:" "$OS_HOME" "$OS_BASE/data" "$OS_BASE/logs" "$RUN"
  # Ports on the command line, not in opensearch.yml, so OS_PORT applies at every start.
  as_user env JAVA_HOME="$JAVA_HOME" OPENSEARCH_JAVA_HOME="$JAVA_HOME" \
      "$OS_HOME/bin/opensearch" -d -p "$PIDFILE" -Ehttp.port="$OS_PORT" -Etransport.port=$((OS_PORT + 100)) \
      >"$RUN/launch.out" 2>&1 \
    || { log "launch failed:"; cat "$RUN/launch.out" >&2; log_tail; exit 1; }
  local t0=$SECONDS seen=""
  while [ $((SECONDS - t0)) -lt "$OS_START_TIMEOUT" ]; do
    if curl -fsS -m 2 "$URL/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null 2>&1; then
      log "OpenSearch up at $URL after $((SECONDS - t0)) s (pid $(cat "$PIDFILE"))"
      [ -z "$state_file" ] || echo started > "$state_file"
      return 0
    fi
    # The node writes its pid file early and deletes it when it dies.
    [ -s "$PIDFILE" ] && seen=$(cat "$PIDFILE")
    if { [ -n "$seen" ] && ! kill -0 "$seen" 2>/dev/null; } || { [ -z "$seen" ] && [ $((SECONDS - t0)) -gt 60 ]; }; then
      log "node process exited during startup"; log_tail; exit 1
    fi
    sleep 1
  done
  log "node did not come up within $OS_START_TIMEOUT s"; log_tail
  pid=$(our_pid) && kill "$pid" 2>/dev/null || true
  exit 1
}

stop_node() {
  local state_file="${1:-}"
  if [ -n "$state_file" ]; then
    if [ "$(cat "$state_file" 2>/dev/null)" != started ]; then
      log "node was not started by the matching start; leaving it running"; return 0
    fi
    rm -f "$state_file"
  fi
  local pid
  if ! pid=$(our_pid); then log "no node launched by this script is running"; rm -f "$PIDFILE"; return 0; fi
  kill "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || { log "stopped pid $pid"; rm -f "$PIDFILE"; return 0; }; sleep 1; done
  log "pid $pid ignored SIGTERM for 60 s; sending SIGKILL"; kill -9 "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
}

status() {
  local pid
  if pid=$(our_pid); then echo "launched by this script: pid $pid"; else echo "no node launched by this script"; fi
  if is_up; then
    curl -fsS "$URL/_cluster/health?pretty"; curl -fsS "$URL/_cat/plugins?v"
  else
    echo "nothing answers on $URL"; return 1
  fi
}

smoke() {
  local H='Content-Type: application/json' I=openfrs-smoke out
  is_up || { echo "nothing answers on $URL" >&2; exit 1; }
  curl -fsS "$URL/_cat/plugins" | grep -q opensearch-knn || { echo "k-NN plugin missing" >&2; exit 1; }
  curl -sS -o /dev/null -XDELETE "$URL/$I" || true
  curl -fsS -o /dev/null -XPUT "$URL/$I" -H "$H" -d '{"settings":{"index":{"knn":true,"number_of_shards":1,"number_of_replicas":0}},
    "mappings":{"properties":{"emb":{"type":"knn_vector","dimension":3,
      "method":{"name":"hnsw","engine":"lucene","space_type":"cosinesimil","parameters":{"m":16,"ef_construction":100}}},
      "lib":{"type":"keyword"}}}}'
  curl -fsS -o /dev/null -XPOST "$URL/_bulk?refresh=true" -H 'Content-Type: application/x-ndjson' --data-binary \
    $'{"index":{"_index":"openfrs-smoke","_id":"a"}}\n{"emb":[1,0,0],"lib":"x"}\n{"index":{"_index":"openfrs-smoke","_id":"b"}}\n{"emb":[0.9,0.1,0],"lib":"y"}\n{"index":{"_index":"openfrs-smoke","_id":"c"}}\n{"emb":[0,1,0],"lib":"x"}\n'
  out=$(curl -fsS -XPOST "$URL/$I/_search" -H "$H" -d '{"size":3,"_source":false,
    "query":{"knn":{"emb":{"vector":[1,0,0],"k":3,"filter":{"term":{"lib":"x"}}}}}}')
  curl -sS -o /dev/null -XDELETE "$URL/$I" || true
  # Expect exactly a (cos 1 -> score 1.0) then c (cos 0 -> 0.5); b is filtered out.
  python3 - "$out" <<'EOF'
import json, sys
hits = json.loads(sys.argv[1])["hits"]["hits"]
got = [(h["_id"], round(h["_score"], 4)) for h in hits]
ok = got == [("a", 1.0), ("c", 0.5)]
print(("smoke OK: " if ok else "smoke FAILED: ") + json.dumps(got))
sys.exit(0 if ok else 1)
EOF
}

case "${1:-}" in
  install) install_node ;;
  start) start_node "${2:-}" ;;
  stop) stop_node "${2:-}" ;;
  status) status ;;
  smoke) smoke ;;
  *) echo "usage: $0 install | start [STATE_FILE] | stop [STATE_FILE] | status | smoke" >&2; exit 2 ;;
esac
