#!/usr/bin/env bash
# Installs Restate for the benchmark under .local/peers/restate/ (never committed), idempotently:
# restate-server from the npm registry at the versions pinned in package-lock.json, and the
# Python SDK with hypercorn and httpx in a venv from the hashed requirements.lock.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../../.." && pwd)"
home="$repo/.local/peers/restate"
python="${PYTHON:-python3.11}"
stamp="$home/installed.stamp"
want="$(cat "$here/package.json" "$here/package-lock.json" "$here/requirements.lock" | sha256sum | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    exit 0
fi
mkdir -p "$home"
cp "$here/package.json" "$here/package-lock.json" "$home/"
# --ignore-scripts: the package depends on a telemetry package whose postinstall would call out.
# No CLI: the runner registers the deployment through the admin API over HTTP.
(cd "$home" && SCARF_ANALYTICS=false npm ci --ignore-scripts --no-audit --no-fund --omit-lockfile-registry-resolved)
rm -rf "$home/venv"
"$python" -m venv "$home/venv"
"$home/venv/bin/pip" install --quiet --require-hashes -r "$here/requirements.lock"
"$home/node_modules/.bin/restate-server" --version
echo "$want" > "$stamp"
