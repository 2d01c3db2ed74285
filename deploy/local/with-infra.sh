#!/usr/bin/env bash
# Runs a command with local Kafka and PostgreSQL up; stops afterwards whatever it started.
# usage: with-infra.sh COMMAND [ARGS...]
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
started=()
for part in kafka postgres; do
  if ! bash "$here/$part.sh" status >/dev/null 2>&1; then
    bash "$here/$part.sh" up || { for s in "${started[@]}"; do bash "$here/$s.sh" down; done; exit 1; }
    started+=("$part")
  fi
done
"$@"
status=$?
for part in "${started[@]}"; do bash "$here/$part.sh" down >/dev/null; done
exit $status
