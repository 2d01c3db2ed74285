#!/usr/bin/env bash
# Installs the Temporal peer under .local/peers/temporal/: the `temporal` CLI (its dev server) built from the
# Go module proxy, and the Python SDK `temporalio` in its own virtualenv from the hashed lock next to this
# script. Idempotent: the binary is kept (the build takes minutes on two cores) and a stamp holding the lock's
# checksum makes a rerun instant.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../../.." && pwd)"
target="$repo/.local/peers/temporal"
venv="$target/venv"
stamp="$target/installed.stamp"
lock="$here/requirements.lock"
python="${PYTHON:-python3.11}"
# v1.9.1 (the newest tag) replaces github.com/temporalio/cli/cliext with ./cliext, a nested module that the
# tag's module zip leaves out and that is not published on its own, so it cannot build from the proxy.
# v1.5.1 has no replace directive and installs as is (dev server = Temporal server v1.29.1).
cli_tag="${TEMPORAL_CLI_TAG:-v1.5.1}"
binary="$target/bin/temporal"

mkdir -p "$target/bin"
if [[ ! -x "$binary" ]]; then
    echo "building temporal CLI $cli_tag (several minutes)"
    # The release builds stamp the version at link time; without it the CLI reports 0.0.0-DEV.
    GOBIN="$target/bin" GOFLAGS=-buildvcs=false go install \
        -ldflags "-s -w -X github.com/temporalio/cli/temporalcli.Version=${cli_tag#v}" \
        "github.com/temporalio/cli/cmd/temporal@$cli_tag"
fi

want="$(sha256sum "$lock" | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$venv/bin/python" ]]; then
    exit 0
fi
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --require-hashes -r "$lock"
"$venv/bin/python" -c "import temporalio" >/dev/null
echo "$want" >"$stamp"
echo "temporalio installed in $venv"
