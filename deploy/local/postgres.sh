#!/usr/bin/env bash
# Local PostgreSQL for development and tests: a cluster of the project's own on a
# non-default loopback port, installed from Debian packages when missing.
# usage: postgres.sh install|up|down|status
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
state="${FLOWBUS_STATE_DIR:-$repo/.local}/postgres"
port="${FLOWBUS_PG_PORT:-55432}"
data="$state/data"
log="$state/postgres.log"
db_user="flowbus"
db_name="flowbus"

bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

install() {
  if [ -n "$(bindir)" ] && [ -x "$(bindir)/initdb" ]; then return 0; fi
  if [ "$(id -u)" != 0 ]; then echo "postgres: not installed; run as root or: apt-get install postgresql" >&2; exit 1; fi
  echo "postgres: installing from Debian packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
}

# The server refuses to run as root, so root runs it as the postgres user.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

running() { as_owner "$(bindir)/pg_ctl" -D "$data" status >/dev/null 2>&1; }

up() {
  install
  local bin; bin="$(bindir)"
  mkdir -p "$state"
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$state"; fi
  if running; then echo "postgres: already running on 127.0.0.1:$port"; return 0; fi
  if [ ! -f "$data/PG_VERSION" ]; then
    as_owner "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    {
      echo "listen_addresses = '127.0.0.1'"
      echo "port = $port"
      echo "unix_socket_directories = '$state'"
      echo "max_connections = 200"
      echo "shared_buffers = 256MB"
      echo "fsync = on"
      echo "synchronous_commit = on"
    } | as_owner tee -a "$data/postgresql.conf" >/dev/null
  fi
  as_owner "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null
  local psql=("$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA)
  if [ "$("${psql[@]}" -c "select 1 from pg_roles where rolname = '$db_user'")" != 1 ]; then
    "${psql[@]}" -c "create role $db_user login createdb"
  fi
  if [ "$("${psql[@]}" -c "select 1 from pg_database where datname = '$db_name'")" != 1 ]; then
    "${psql[@]}" -c "create database $db_name owner $db_user"
  fi
  echo "postgres: up on 127.0.0.1:$port (database $db_name, user $db_user)"
}

down() {
  if [ -z "$(bindir)" ] || ! running; then echo "postgres: not running"; return 0; fi
  as_owner "$(bindir)/pg_ctl" -D "$data" -m fast -w stop >/dev/null
  echo "postgres: stopped"
}

status() { if running; then echo "postgres: running on 127.0.0.1:$port"; else echo "postgres: stopped"; exit 1; fi; }

case "${1:-}" in
  install) install ;; up) up ;; down) down ;; status) status ;;
  *) echo "usage: $0 install|up|down|status" >&2; exit 2 ;;
esac
