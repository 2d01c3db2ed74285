#!/usr/bin/env bash
# Installs DBOS Transact (a Python library) into its own virtualenv under .local/peers/dbos/, from the
# hashed lock next to this script. Idempotent: a stamp holding the lock's checksum makes a rerun instant.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../../.." && pwd)"
target="$repo/.local/peers/dbos"
venv="$target/venv"
stamp="$target/installed.stamp"
lock="$here/requirements.lock"
python="${PYTHON:-python3.11}"

want="$(sha256sum "$lock" | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$venv/bin/python" ]]; then
    exit 0
fi

mkdir -p "$target"
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --require-hashes -r "$lock"
"$venv/bin/python" -c "import dbos" >/dev/null
echo "$want" >"$stamp"
echo "dbos installed in $venv"
