#!/usr/bin/env bash
# Jaeger v2 (an OpenTelemetry Collector distribution, Apache-2.0) built from the Go module proxy into
# .local/bin/jaeger. The end-to-end suite runs it twice: as the collector (with
# deploy/observability/otel-collector.yaml) and as the trace store it exports to, then queries it.
# `go install` refuses the module (its go.mod has a replace directive), so the module's source is
# fetched with `go mod download` and built as the main module, where the replace applies.
# usage: jaeger.sh build
set -euo pipefail
MODULE=github.com/jaegertracing/jaeger
VERSION=v1.76.0  # the module tag; the binary in it is Jaeger v2
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="$root/.local/bin/jaeger"
stamp="$root/.local/bin/.jaeger-$VERSION"

case "${1:-build}" in
  build)
    if [[ -x "$bin" && -f "$stamp" ]]; then exit 0; fi
    command -v go >/dev/null || { echo "jaeger: Go is needed to build Jaeger v2" >&2; exit 1; }
    work="$(mktemp -d)"
    trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
    echo "jaeger: building Jaeger v2 ($MODULE@$VERSION) from the Go module proxy (a few minutes, once)"
    source_dir="$(cd "$work" && go mod download -json "$MODULE@$VERSION" \
      | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
    cp -r "$source_dir" "$work/src"
    chmod -R u+w "$work/src"
    mkdir -p "$(dirname "$bin")"
    (cd "$work/src" && go build -trimpath \
      -ldflags "-X $MODULE/internal/version.latestVersion=$VERSION" -o "$bin" ./cmd/jaeger)
    rm -f "$root"/.local/bin/.jaeger-*
    touch "$stamp"
    ;;
  *) echo "usage: $0 build" >&2; exit 2 ;;
esac
