#!/usr/bin/env bash
# The four flowbus services as separate local processes (Kafka and PostgreSQL must be up).
# usage: services.sh up|down|status
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
state="${FLOWBUS_STATE_DIR:-$repo/.local}/services"
flowbus="$repo/.venv/bin/flowbus"
services=(orchestrator executor governance llm-gateway)

running() { [ -f "$state/$1.pid" ] && kill -0 "$(cat "$state/$1.pid")" 2>/dev/null; }

up() {
  mkdir -p "$state"
  "$flowbus" db upgrade >/dev/null
  "$flowbus" topics create >/dev/null
  for name in "${services[@]}"; do
    if running "$name"; then echo "$name: already running"; continue; fi
    nohup "$flowbus" serve "$name" >"$state/$name.log" 2>&1 &
    echo $! > "$state/$name.pid"
  done
  for name in "${services[@]}"; do
    for _ in $(seq 1 60); do
      grep -q "started" "$state/$name.log" 2>/dev/null && break
      running "$name" || { echo "$name: exited; see $state/$name.log" >&2; tail -5 "$state/$name.log" >&2; exit 1; }
      sleep 0.5
    done
    echo "$name: running (pid $(cat "$state/$name.pid"), log $state/$name.log)"
  done
  echo "HTTP APIs: orchestrator http://127.0.0.1:8300, llm-gateway :8400, governance :8500, executor :8600"
  echo "a key for them: $flowbus keys create --tenant default --role admin"
}

down() {
  for name in "${services[@]}"; do
    if running "$name"; then
      kill "$(cat "$state/$name.pid")"
      for _ in $(seq 1 40); do running "$name" || break; sleep 0.25; done
      running "$name" && kill -9 "$(cat "$state/$name.pid")"
      echo "$name: stopped"
    fi
    rm -f "$state/$name.pid"
  done
}

status() { for name in "${services[@]}"; do if running "$name"; then echo "$name: running"; else echo "$name: stopped"; fi; done; }

case "${1:-}" in
  up) up ;; down) down ;; status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
