#!/usr/bin/env bash
# Local Apache Kafka (KRaft, single node, 127.0.0.1) for development and tests.
# usage: kafka.sh install|up|down|status
# Jars come from Maven Central through kafka/pom.xml; state lives in $FLOWBUS_STATE_DIR/kafka.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
state="${FLOWBUS_STATE_DIR:-$repo/.local}/kafka"
port="${FLOWBUS_KAFKA_PORT:-19092}"
controller_port="${FLOWBUS_KAFKA_CONTROLLER_PORT:-19093}"
sasl_port="${FLOWBUS_KAFKA_SASL_PORT:-19094}"
# The SASL listener's user, for tests on loopback only (not a secret of any real system).
sasl_user="flowbus-test"
sasl_password="flowbus-test-password"
libs="$state/libs"
data="$state/data"
pidfile="$state/kafka.pid"
log="$state/kafka.log"
java_bin="${JAVA_HOME:+$JAVA_HOME/bin/}java"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

install() {
  if [ -f "$libs/.complete" ] && cmp -s "$here/kafka/pom.xml" "$libs/.complete"; then return 0; fi
  echo "kafka: resolving broker jars from Maven Central"
  rm -rf "$libs" && mkdir -p "$libs"
  mvn -q -B -Dstyle.color=never -f "$here/kafka/pom.xml" dependency:copy-dependencies -DoutputDirectory="$libs"
  cp "$here/kafka/pom.xml" "$libs/.complete"
}

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

up() {
  install
  if running; then echo "kafka: already running on 127.0.0.1:$port"; return 0; fi
  if port_open "$port"; then echo "kafka: port $port is taken by another process" >&2; exit 1; fi
  mkdir -p "$data"
  sed -e "s#@PORT@#$port#g" -e "s#@CONTROLLER_PORT@#$controller_port#g" -e "s#@SASL_PORT@#$sasl_port#g" \
    -e "s#@DATA_DIR@#$data#g" \
    "$here/kafka/server.properties.template" > "$state/server.properties"
  local cp="$libs/*"
  if [ ! -f "$data/meta.properties" ]; then
    local cluster_id
    cluster_id="$("$java_bin" -cp "$cp" kafka.tools.StorageTool random-uuid)"
    "$java_bin" -cp "$cp" -Dlog4j2.configurationFile="$here/kafka/log4j2.properties" \
      kafka.tools.StorageTool format -t "$cluster_id" -c "$state/server.properties" >/dev/null
  fi
  nohup "$java_bin" -Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$here/kafka/log4j2.properties" \
    -cp "$cp" kafka.Kafka "$state/server.properties" >"$log" 2>&1 &
  echo $! > "$pidfile"
  for _ in $(seq 1 120); do
    if ! running; then echo "kafka: exited during start-up; see $log" >&2; tail -20 "$log" >&2; exit 1; fi
    if port_open "$port" && grep -q "Kafka Server started" "$log"; then
      "$java_bin" -cp "$cp" -Dlog4j2.configurationFile="$here/kafka/log4j2.properties" \
        kafka.admin.ConfigCommand --bootstrap-server "127.0.0.1:$port" --alter --entity-type users \
        --entity-name "$sasl_user" --add-config "SCRAM-SHA-512=[password=$sasl_password]" >/dev/null
      echo "kafka: up on 127.0.0.1:$port, SCRAM-SHA-512 on $sasl_port (pid $(cat "$pidfile"))"; return 0
    fi
    sleep 0.5
  done
  echo "kafka: not healthy after 60 s; see $log" >&2; exit 1
}

down() {
  if ! running; then rm -f "$pidfile"; echo "kafka: not running"; return 0; fi
  local pid; pid="$(cat "$pidfile")"
  kill "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  rm -f "$pidfile"; echo "kafka: stopped"
}

status() { if running; then echo "kafka: running (pid $(cat "$pidfile"))"; else echo "kafka: stopped"; exit 1; fi; }

case "${1:-}" in
  install) install ;; up) up ;; down) down ;; status) status ;;
  *) echo "usage: $0 install|up|down|status" >&2; exit 2 ;;
esac
